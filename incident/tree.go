package incident

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/hoptrace/hoptrace/decode"
)

// Limits bound what discovery may read into memory from archives. The zero
// value means the defaults.
type Limits struct {
	// MaxArchiveBytes bounds the bytes taken out of all archives of an
	// incident together (after decompression). Default 4 GiB.
	MaxArchiveBytes int64
	// MaxMemberBytes bounds one archive member. Default 2 GiB.
	MaxMemberBytes int64
	// MaxDepth bounds archives inside archives. Default 4.
	MaxDepth int
	// MaxEntries bounds the entries of all archives. Default 100000.
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxArchiveBytes <= 0 {
		l.MaxArchiveBytes = 4 << 30
	}
	if l.MaxMemberBytes <= 0 {
		l.MaxMemberBytes = 2 << 30
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 4
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100000
	}
	return l
}

// entry is one file or directory of an incident: on disk, or a member of
// an archive held in memory.
type entry struct {
	name string   // base name
	path string   // names it in reports: a path, or ARCHIVE//MEMBER
	disk string   // on disk: the path to open; empty for archive members
	data []byte   // archive member contents
	dir  bool     // a directory (on disk, or in an archive)
	kids []*entry // a directory's entries, sorted by name
}

// open reads the entry from its start: the archive member in memory, or
// the file on disk.
func (e *entry) open() (io.ReadCloser, error) {
	if e.disk == "" {
		return io.NopCloser(bytes.NewReader(e.data)), nil
	}
	return os.Open(e.disk)
}

// head returns the first n bytes of the entry (fewer when it is shorter).
func (e *entry) head(n int) []byte {
	if e.disk == "" {
		return e.data[:min(n, len(e.data))]
	}
	f, err := e.open()
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	k, _ := io.ReadFull(f, b)
	return b[:k]
}

// bytes returns the whole entry; for a file on disk, at most max bytes.
func (e *entry) bytes(max int64) ([]byte, error) {
	if e.disk == "" {
		return e.data, nil
	}
	f, err := e.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", e.path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", e.path, max)
	}
	return b, nil
}

// walker builds entry trees, recording what it could not read.
type walker struct {
	lim      Limits
	problems []string
	seen     map[fileID]bool // directories on the current path (symlink loops)
	taken    int64           // archive bytes taken so far
	entries  int
}

type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

func (w *walker) problemf(format string, args ...any) {
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

// disk returns the entry of a path on disk, following symlinks (a loop is
// reported, not followed). Directories are read whole; FIFOs, sockets and
// devices are reported as input problems, never opened.
func (w *walker) disk(p string) *entry {
	fi, err := os.Stat(p) // follows symlinks
	if err != nil {
		if lfi, lerr := os.Lstat(p); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			w.problemf("%s: a symlink that cannot be followed: %v", p, err)
		} else {
			w.problemf("%s: %v", p, err)
		}
		return nil
	}
	e := &entry{name: filepath.Base(p), path: p, disk: p}
	switch {
	case fi.IsDir():
		id, ok := idOf(fi)
		if ok && w.seen[id] {
			w.problemf("%s: a symlink loop (this directory contains itself); not followed again", p)
			return nil
		}
		if ok {
			w.seen[id] = true
			defer delete(w.seen, id)
		}
		des, err := os.ReadDir(p)
		if err != nil {
			w.problemf("read directory %s: %v", p, err)
			return nil
		}
		e.dir = true
		for _, de := range des {
			if k := w.disk(filepath.Join(p, de.Name())); k != nil {
				e.kids = append(e.kids, k)
			}
		}
	case fi.Mode().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			w.problemf("%s: %v", p, err)
			return nil
		}
		f.Close()
	default:
		w.problemf("%s: not a regular file (%s); not read (a FIFO or device may never end)", p, fi.Mode().Type())
		return nil
	}
	return e
}

// kind is what an entry's content says it is.
type kind uint8

const (
	kindOther   kind = iota
	kindCapture      // pcap or pcapng, plain or compressed (decode.Compression)
	kindTar          // an archive: tar, plain or compressed, or zip
)

var magicPcapNG = []byte{0x0a, 0x0d, 0x0d, 0x0a}

func isPcapMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	if bytes.Equal(b[:4], magicPcapNG) {
		return true
	}
	switch uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return true
	case 0xa1b2cd34, 0x34cdb2a1:
		// Modified (Kuznetzov) pcap: a capture, which decode declines
		// with the way to convert it; taken as one, that is what the
		// user reads rather than "not a capture".
		return true
	}
	return false
}

// isTarHeader reports whether b starts with a POSIX/GNU tar header.
func isTarHeader(b []byte) bool {
	return len(b) >= 262 && bytes.Equal(b[257:262], []byte("ustar"))
}

// kindOf tells an entry by its first bytes (decompressed when compressed).
func kindOf(e *entry) kind {
	if e.dir {
		return kindOther
	}
	h := e.head(512)
	if c := decode.CompressionOf(h); c != decode.Uncompressed {
		src, err := e.open()
		if err != nil {
			return kindOther
		}
		defer src.Close()
		dc, done, err := decode.Decompress(c, src)
		if err != nil {
			return kindOther
		}
		defer done()
		h = make([]byte, 512)
		n, _ := io.ReadFull(dc, h)
		h = h[:n]
	}
	switch {
	case isPcapMagic(h):
		return kindCapture
	case isTarHeader(h), isZip(h):
		return kindTar
	}
	return kindOther
}

// isZip reports whether b starts a zip archive: a local file header, or
// the end record of an empty archive.
func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// errLimit reports an archive beyond the limits.
var errLimit = errors.New("beyond the archive limits")

// expand reads a tar archive (plain or compressed) into a directory entry of
// members held in memory. Member names are cleaned; absolute names and
// names climbing out of the archive ("../") are refused. Links, devices and
// FIFOs inside are skipped and reported.
func (w *walker) expand(e *entry, depth int) (*entry, error) {
	if depth > w.lim.MaxDepth {
		return nil, fmt.Errorf("archive %s: nested deeper than %d archives: %w", e.path, w.lim.MaxDepth, errLimit)
	}
	if isZip(e.head(4)) {
		return w.expandZip(e)
	}
	f, err := e.open()
	if err != nil {
		return nil, fmt.Errorf("open archive %s: %w", e.path, err)
	}
	defer f.Close()
	src, done, err := decode.Decompress(decode.CompressionOf(e.head(4)), f)
	if err != nil {
		return nil, fmt.Errorf("open archive %s: %w", e.path, err)
	}
	defer done()
	root := &entry{name: e.name, path: e.path, dir: true}
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return root, fmt.Errorf("read archive %s: %w (members before it are kept)", e.path, err)
		}
		w.entries++
		if w.entries > w.lim.MaxEntries {
			return root, fmt.Errorf("archive %s: more than %d entries: %w", e.path, w.lim.MaxEntries, errLimit)
		}
		name, ok := w.memberName(e, h.Name, h.Name)
		if !ok {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			root.mkdir(name, e.path)
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			w.problemf("archive %s: member %q is not a regular file (tar type %q); not read", e.path, h.Name, h.Typeflag)
			continue
		}
		if h.Size > w.lim.MaxMemberBytes {
			return root, fmt.Errorf("archive %s: member %q has %d bytes, more than %d: %w", e.path, h.Name, h.Size, w.lim.MaxMemberBytes, errLimit)
		}
		if w.taken+h.Size > w.lim.MaxArchiveBytes {
			return root, fmt.Errorf("archive %s: members beyond %d bytes in all: %w", e.path, w.lim.MaxArchiveBytes, errLimit)
		}
		b := make([]byte, 0, min(h.Size, 1<<20))
		buf := bytes.NewBuffer(b)
		n, err := io.Copy(buf, io.LimitReader(tr, h.Size))
		w.taken += n
		if err != nil {
			return root, fmt.Errorf("read archive %s: member %q: %w", e.path, h.Name, err)
		}
		root.addMember(e.path, name, buf.Bytes())
	}
	root.sort()
	return root, nil
}

// memberName cleans the name raw of an archive member (given as the
// archive says it, for messages); ok is false for the archive's root, and
// for a name climbing out of the archive (absolute, or "../"), which is
// said.
func (w *walker) memberName(e *entry, raw, given string) (string, bool) {
	name := path.Clean(strings.TrimPrefix(raw, "./"))
	switch {
	case name == "." || name == "":
		return "", false
	case path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../"):
		w.problemf("archive %s: member %q names a path outside the archive; not read", e.path, given)
		return "", false
	}
	return name, true
}

// addMember files the bytes of member name of archive under root.
func (root *entry) addMember(archive, name string, data []byte) {
	dir, base := path.Split(name)
	d := root.mkdir(strings.TrimSuffix(dir, "/"), archive)
	d.kids = append(d.kids, &entry{name: base, path: archive + "//" + name, data: data})
}

// expandZip is expand for a zip archive (what a ticket's attachments and
// a folder sent from a desktop mostly are), under the same limits and
// rules; a member's size is what it inflates to, not what its header
// says. Backslashes in member names (Windows tools) are separators.
func (w *walker) expandZip(e *entry) (*entry, error) {
	var zr *zip.Reader
	if e.disk != "" {
		rc, err := zip.OpenReader(e.disk)
		if err != nil {
			return nil, fmt.Errorf("open archive %s: zip: %w", e.path, err)
		}
		defer rc.Close()
		zr = &rc.Reader
	} else {
		r, err := zip.NewReader(bytes.NewReader(e.data), int64(len(e.data)))
		if err != nil {
			return nil, fmt.Errorf("open archive %s: zip: %w", e.path, err)
		}
		zr = r
	}
	root := &entry{name: e.name, path: e.path, dir: true}
	for _, f := range zr.File {
		w.entries++
		if w.entries > w.lim.MaxEntries {
			return root, fmt.Errorf("archive %s: more than %d entries: %w", e.path, w.lim.MaxEntries, errLimit)
		}
		raw := strings.ReplaceAll(f.Name, "\\", "/")
		name, ok := w.memberName(e, raw, f.Name)
		if !ok {
			continue
		}
		switch mode := f.Mode(); {
		case mode.IsDir() || strings.HasSuffix(raw, "/"):
			root.mkdir(name, e.path)
			continue
		case !mode.IsRegular():
			w.problemf("archive %s: member %q is not a regular file (mode %v); not read", e.path, f.Name, mode)
			continue
		case f.Flags&0x1 != 0:
			w.problemf("archive %s: member %q is encrypted; not read", e.path, f.Name)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			w.problemf("archive %s: member %q: %v; not read", e.path, f.Name, err)
			continue
		}
		left := min(w.lim.MaxMemberBytes, w.lim.MaxArchiveBytes-w.taken)
		buf := bytes.NewBuffer(make([]byte, 0, min(f.UncompressedSize64, 1<<20)))
		n, err := io.Copy(buf, io.LimitReader(rc, left+1))
		rc.Close()
		w.taken += min(n, left)
		switch {
		case n > left && left == w.lim.MaxMemberBytes:
			return root, fmt.Errorf("archive %s: member %q has more than %d bytes: %w", e.path, f.Name, w.lim.MaxMemberBytes, errLimit)
		case n > left:
			return root, fmt.Errorf("archive %s: members beyond %d bytes in all: %w", e.path, w.lim.MaxArchiveBytes, errLimit)
		case err != nil:
			return root, fmt.Errorf("read archive %s: member %q: %w (members before it are kept)", e.path, f.Name, err)
		}
		root.addMember(e.path, name, buf.Bytes())
	}
	root.sort()
	return root, nil
}

// mkdir returns the directory at the slash-separated rel below d, made as
// needed.
func (d *entry) mkdir(rel, archive string) *entry {
	if rel == "" || rel == "." {
		return d
	}
	cur := d
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		var next *entry
		for _, k := range cur.kids {
			if k.name == p && k.dir {
				next = k
				break
			}
		}
		if next == nil {
			next = &entry{name: p, path: archive + "//" + strings.Join(parts[:i+1], "/"), dir: true}
			cur.kids = append(cur.kids, next)
		}
		cur = next
	}
	return cur
}

func (d *entry) sort() {
	slices.SortFunc(d.kids, func(x, y *entry) int { return strings.Compare(x.name, y.name) })
	for _, k := range d.kids {
		if k.dir {
			k.sort()
		}
	}
}
