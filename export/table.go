package export

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// batchRows is how many rows a partition gathers before handing them to
// its Parquet writer in one call.
const batchRows = 1024

// rowGroupRows bounds a row group, which the Parquet writer holds in
// memory until it is full: each open partition holds at most one.
const rowGroupRows = 128 << 10

// table writes the Parquet files of one table of one incident: one or
// more part files per partition directory. It is not safe for concurrent
// use.
type table[T any] struct {
	dir   string // the table's incident partition, in the staging area
	parts map[string]*part[T]
	next  map[string]int // per partition: the number of its next file
	files []string       // every file written, relative to dir
}

// part is one open file of a partition.
type part[T any] struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	w    *parquet.GenericWriter[T]
	rows []T
	// key orders partitions for closing: sightings and packets close the
	// hours the stream has left behind.
	key int64
}

func newTable[T any](dir string) *table[T] {
	return &table[T]{dir: dir, parts: make(map[string]*part[T]), next: make(map[string]int)}
}

// add appends a row to partition rel ("" for the table's incident
// directory itself, else "node=a/hour=b"), opening it when needed. key
// orders partitions for closeBefore.
func (t *table[T]) add(rel string, key int64, row T) error {
	p := t.parts[rel]
	if p == nil {
		var err error
		if p, err = t.open(rel, key); err != nil {
			return err
		}
	}
	p.rows = append(p.rows, row)
	if len(p.rows) == cap(p.rows) {
		return p.flush()
	}
	return nil
}

// open starts the next file of partition rel.
func (t *table[T]) open(rel string, key int64) (*part[T], error) {
	dir := filepath.Join(t.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create partition: %w", err)
	}
	n := t.next[rel]
	t.next[rel] = n + 1
	name := fmt.Sprintf("part-%05d.parquet", n)
	path := filepath.Join(dir, name)
	// O_EXCL: a file of the staging area is never written twice.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := parquet.NewGenericWriter[T](bw,
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.CreatedBy("hoptrace", SchemaVersion, ""),
		parquet.KeyValueMetadata(SchemaKey, SchemaVersion),
	)
	p := &part[T]{path: path, f: f, bw: bw, w: w, rows: make([]T, 0, batchRows), key: key}
	t.parts[rel] = p
	t.files = append(t.files, filepath.ToSlash(filepath.Join(rel, name)))
	return p, nil
}

func (p *part[T]) flush() error {
	if len(p.rows) == 0 {
		return nil
	}
	if _, err := p.w.Write(p.rows); err != nil {
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	clear(p.rows)
	p.rows = p.rows[:0]
	return nil
}

func (p *part[T]) close() error {
	err := p.flush()
	if err == nil {
		if err = p.w.Close(); err != nil {
			err = fmt.Errorf("write %s: %w", p.path, err)
		}
	}
	if err == nil {
		if err = p.bw.Flush(); err != nil {
			err = fmt.Errorf("write %s: %w", p.path, err)
		}
	}
	if cerr := p.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", p.path, cerr)
	}
	return err
}

// closeBefore closes the open partitions whose key is below k: the
// stream has left them behind. A late row opens a new file there.
func (t *table[T]) closeBefore(k int64) error {
	for rel, p := range t.parts {
		if p.key < k {
			delete(t.parts, rel)
			if err := p.close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// close closes every open partition.
func (t *table[T]) close() error {
	var first error
	for rel, p := range t.parts {
		delete(t.parts, rel)
		if err := p.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// writeAll writes the rows of a small table in one file.
func writeAll[T any](dir string, rows []T) error {
	t := newTable[T](dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	if len(rows) == 0 {
		// An empty file still tells readers the columns.
		if _, err := t.open("", 0); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := t.add("", 0, r); err != nil {
			t.close()
			return err
		}
	}
	return t.close()
}

// escape writes a partition value as Hive does: characters other than
// letters, digits and ._- as %XX, so any node or incident name makes one
// path element that Spark, Trino and DuckDB decode back.
func escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
