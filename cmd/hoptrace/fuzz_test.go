package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzIncident runs every stage after the reader on mutated captures: a
// two-node incident of two captures per node, each mutated, analysed by
// analyze in every report format, flows, check against a baseline made
// from it (compare and --update), merge and export. Nothing may panic or
// hang; every command must exit 0, 1 or 2, and say why when it exits 2;
// JSON must parse; no temporary file may be left.
//
// Seeds: pairs of the lab's committed captures (testdata/captures), and
// the public corpus (../shared/corpus) when it sits beside the checkout.
// Crashers found are kept in testdata/fuzz/FuzzIncident.
//
//	go test -run '^$' -fuzz=FuzzIncident -fuzztime=5m ./cmd/hoptrace
func FuzzIncident(f *testing.F) {
	labSeeds(f)
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, n1a, n1b, n2a, n2b []byte) {
		stop := time.AfterFunc(2*time.Minute, func() { panic("FuzzIncident: no result after two minutes") })
		defer stop.Stop()
		dir := t.TempDir()
		inc := filepath.Join(dir, "incident")
		for name, b := range map[string][]byte{
			"node-1/n1-eth0.pcap": n1a, "node-1/poda-eth0.pcap": n1b,
			"node-2/n2-eth0.pcap": n2a, "node-2/podc-eth0.pcap": n2b,
		} {
			path := filepath.Join(inc, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(dir, "out")
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := fuzzRun(t, "analyze", "-o", "json", inc)
		if code == exitUsage {
			return // no capture could be read at all: nothing after it runs
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("analyze -o json (exit %d) is not JSON: %v\n%s\nstderr: %s", code, err, stdout, stderr)
		}
		for _, format := range []string{"table", "markdown", "html"} {
			fuzzRun(t, "analyze", "-o", format, inc)
		}
		fuzzRun(t, "analyze", "-o", "html", "--flow", "1", inc)
		for _, format := range []string{"conntrack", "table", "markdown", "json"} {
			fuzzRun(t, "flows", "-o", format, inc)
		}
		fuzzRun(t, "flows", "--extended", inc)
		base := filepath.Join(out, "base.json")
		if err := os.WriteFile(base, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, stdout, _ := fuzzRun(t, "check", "--baseline", base, inc); code == 0 && !strings.Contains(stdout, "check: ok") {
			t.Fatalf("check exits 0 without saying ok:\n%s", stdout)
		}
		fuzzRun(t, "check", "--update", "--baseline", filepath.Join(out, "new.json"), inc)
		fuzzRun(t, "merge", "-o", filepath.Join(out, "merged.pcapng"), inc)
		fuzzRun(t, "export", "--out", filepath.Join(out, "dataset"), inc)
		// What merge wrote reads back as a capture.
		if _, err := os.Stat(filepath.Join(out, "merged.pcapng")); err == nil {
			fuzzRun(t, "decode", "--stats", filepath.Join(out, "merged.pcapng"))
		}
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Fatalf("temporary file %s left behind", e.Name())
			}
		}
	})
}

// fuzzRun runs one command line and checks its exit code and errors.
func fuzzRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	code, stdout, stderr := hoptrace(t, args...)
	if code < 0 || code > 2 {
		t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
	if code == exitUsage && !strings.HasPrefix(stderr, "hoptrace: ") {
		t.Fatalf("%v: exit 2 without saying why: %q", args, stderr)
	}
	return code, stdout, stderr
}

// labSeeds adds the lab scenarios' captures: each node's eth0 and the
// pods' eth0, the hops a cross-node packet crosses.
func labSeeds(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "captures", "*"))
	read := func(glob string) []byte {
		m, _ := filepath.Glob(glob)
		if len(m) == 0 {
			return nil
		}
		b, _ := os.ReadFile(m[0])
		return cutPcap(b, seedSize)
	}
	for _, d := range dirs {
		n1a, n1b := read(filepath.Join(d, "node-1", "n1-eth0.pcap")), read(filepath.Join(d, "node-1", "pod*-eth0.pcap"))
		n2a, n2b := read(filepath.Join(d, "node-2", "n2-eth0.pcap")), read(filepath.Join(d, "node-2", "pod*-eth0.pcap"))
		if n1a != nil {
			f.Add(n1a, n1b, n2a, n2b)
		}
	}
}

// corpusSeeds adds the small files of the public corpus, each as every
// capture of a node, when the corpus is there.
func corpusSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	if len(files) == 0 {
		f.Logf("corpus %s absent: seeding from the lab captures only", corpusDir)
	}
	for _, path := range files {
		st, err := os.Stat(path)
		if err != nil || st.Size() > seedSize {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		f.Add(b, b[:len(b)/2], b, []byte{})
	}
}

// seedSize bounds each seed capture: an execution runs a dozen commands,
// and small captures let the fuzzer try many more mutations (at 1 MB a
// seed it managed one execution in three seconds on the project's VM).
const seedSize = 16 << 10

// cutPcap returns the records of a little-endian pcap file that fit in
// max bytes, or the file as it is when it is not one or is short enough.
func cutPcap(b []byte, max int) []byte {
	if len(b) <= max || len(b) < 24 || (b[0] != 0xd4 && b[0] != 0x4d) || b[1] != 0xc3 && b[1] != 0x3c {
		return b
	}
	end := 24
	for off := 24; off+16 <= len(b); {
		next := off + 16 + int(uint32(b[off+8])|uint32(b[off+9])<<8|uint32(b[off+10])<<16|uint32(b[off+11])<<24)
		if next > max || next > len(b) {
			break
		}
		end, off = next, next
	}
	return b[:end]
}
