package incident

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// FuzzOpen finds an incident in a mutated archive (tar, tar.gz, nested,
// or anything else: archives are found by content) beside a node folder
// whose `ip -j link` output is mutated too, and whose -i any capture the
// links name: nothing may panic or hang; an error or problem names what
// it is about; every capture found is in a node, and is either on disk or
// read into memory within the archive limits. Seeds: archives of the
// service-dnat lab captures, and that lab's ip -j link output. Crashers
// found are kept in testdata/fuzz/FuzzOpen.
//
//	go test -run '^$' -fuzz=FuzzOpen -fuzztime=5m ./incident
func FuzzOpen(f *testing.F) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	// The first 4 KB of two captures: enough for their headers and first
	// packets, small enough for a short execution.
	a := read(filepath.Join(lab, "node-1", "poda-eth0.pcap"))[:4096]
	b := read(filepath.Join(lab, "node-2", "podc-eth0.pcap"))[:4096]
	anyCap := read(filepath.Join(lab, "node-1", "n1-any.pcap"))[:4096]
	links := read(filepath.Join(lab, "truth", "n1-ip-link.json"))
	f.Add(tarBytes(true, "incident/node-2/podc-eth0.pcap", string(b), "incident/node-2/ip-link.json", string(links)), links)
	f.Add(tarBytes(false, "node-3/poda-eth0.pcap", string(a), "notes.txt", "hello"), links)
	f.Add(tarBytes(true, "inner.tar.gz", string(tarBytes(true, "podc-eth0.pcap", string(b)))), []byte(`[{"ifindex":2,"ifname":"eth0","mtu":1500}]`))
	f.Add(tarBytes(false, "../escape.pcap", string(a), "/abs.pcap", string(b)), []byte("not json"))
	f.Add(b, links)
	// Files named as a rotating capture's (tcpdump -C, dumpcap -b): their
	// grouping, overlap check and aliasing as one capture.
	f.Add(tarBytes(false, "node-1/poda-eth0.pcap", string(a), "node-1/poda-eth0.pcap1", string(a), "node-1/n1-any.pcap1", string(anyCap)), links)
	f.Add(tarBytes(true, "node-2/x_00001_20261203152253.pcap", string(b), "node-2/x_00002_20261203152254.pcap", string(a)), links)
	f.Add(zipOf(f, "incident/node-1/poda-eth0.pcap", string(a), `incident\node-2\podc-eth0.pcap`, string(b)), links)
	// Copies, and a pile of -i any captures in one folder.
	f.Add(tarBytes(false, "node-2/podc-eth0.pcap", string(b), "node-2/podc-eth0 (1).pcap", string(b)), links)
	f.Add(tarBytes(false, "pile/a-any.pcap", string(anyCap), "pile/b-any.pcap", string(anyCap[:2048]), "pile/a-eth0.pcap", string(a)), links)
	// Compressed with zstd and lz4: a zstd'd tar of a zstd'd capture, an
	// lz4 capture alone.
	zst := func(b []byte) []byte {
		zw, err := zstd.NewWriter(nil)
		if err != nil {
			f.Fatal(err)
		}
		return zw.EncodeAll(b, nil)
	}
	f.Add(zst(tarBytes(false, "node-1/poda-eth0.pcap.zst", string(zst(a)), "node-2/podc-eth0.pcap", string(b))), links)
	var l4 bytes.Buffer
	lw := lz4.NewWriter(&l4)
	lw.Write(b)
	lw.Close()
	f.Add(l4.Bytes(), links)
	dir := f.TempDir()
	// Limits far below the defaults: deflate packs 1,000 to 1 and a
	// mutated archive could otherwise ask for a gigabyte per execution;
	// what is tested is that the limits hold.
	lim := Limits{MaxArchiveBytes: 16 << 20, MaxMemberBytes: 4 << 20, MaxDepth: 3, MaxEntries: 1000}
	f.Fuzz(func(t *testing.T, archive, ipLink []byte) {
		stop := time.AfterFunc(time.Minute, func() { panic("FuzzOpen: no result after a minute") })
		defer stop.Stop()
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		node := filepath.Join(dir, "node-1")
		if err := os.MkdirAll(node, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"n1-any.pcap": anyCap, "ip-link.json": ipLink, "../bundle": archive} {
			if err := os.WriteFile(filepath.Join(node, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		inc, err := Open([]string{dir}, Options{Limits: lim})
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error names no input: %v", err)
			}
			return
		}
		var inMemory int64
		for _, c := range inc.Captures {
			inMemory += int64(len(c.Data))
			if int64(len(c.Data)) > lim.MaxMemberBytes {
				t.Fatalf("capture %s: %d bytes in memory, beyond the member limit", c.Path, len(c.Data))
			}
			if c.Node == "" {
				t.Fatalf("capture %s in no node", c.Path)
			}
			if c.Data == nil && c.Path == "" {
				t.Fatalf("capture with neither a path nor data")
			}
		}
		if inMemory > lim.MaxArchiveBytes {
			t.Fatalf("%d bytes of captures in memory, beyond the archive limit", inMemory)
		}
		for _, p := range inc.Problems {
			if p == "" {
				t.Fatal("empty problem")
			}
		}
	})
}

// tarBytes builds a tar archive (gzip-compressed when gz) of name ->
// content, in the order given.
func tarBytes(gz bool, files ...string) []byte {
	var buf bytes.Buffer
	var zw *gzip.Writer
	tw := tar.NewWriter(&buf)
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	}
	for i := 0; i+1 < len(files); i += 2 {
		tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}
