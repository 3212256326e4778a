package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzIncident runs every stage after the reader on mutated captures: a
// two-node incident of two captures per node, each mutated, with the
// Kubernetes objects of testdata/incidents/front-door (not mutated: they
// name the lab's pods), analysed by analyze in every report format, flows
// in every format, check against a baseline made from it (compare with
// JUnit, and --update), merge (whose output must read back, and is
// printed by decode as text and, filtered, as JSON) and export. Nothing may panic or hang; every
// command must exit 0, 1 or 2, and say why when it exits 2; JSON must
// parse; no temporary file may be left. The commands see one analysis of
// one input, so they must agree: each exits as analyze -o json did, and
// check against the baseline analyze just wrote finds no change.
//
// Seeds: the lab's committed captures (testdata/captures) and the public
// corpus (../shared/corpus) when it sits beside the checkout, each cut to
// its first seedPackets packets when the test starts (see trimCapture).
// Crashers found are kept in testdata/fuzz/FuzzIncident, beside a minimal
// corpus at the coverage plateau (bench/fuzzcov.sh, README.md Fuzzing).
//
//	go test -run '^$' -fuzz=FuzzIncident -fuzztime=5m -fuzzminimizetime=10x ./cmd/hoptrace
//
// An execution runs a dozen commands on four files; README.md (Fuzzing)
// says how long a run takes to stop finding new coverage.
func FuzzIncident(f *testing.F) {
	labSeeds(f)
	corpusSeeds(f)
	// One directory for the whole run, emptied before each execution: the
	// same paths every time keep coverage a function of the input alone
	// (a new temporary directory's random name changed the lengths the
	// path code loops over), and spare a directory tree per execution.
	root := fuzzDir(f)
	inc, out := filepath.Join(root, "incident"), filepath.Join(root, "out")
	files := []string{"node-1/n1-eth0.pcap", "node-1/poda-eth0.pcap", "node-2/n2-eth0.pcap", "node-2/podc-eth0.pcap"}
	cluster, err := os.ReadFile(filepath.Join("..", "..", "testdata", "incidents", "front-door", "k8s", "cluster.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n1a, n1b, n2a, n2b []byte) {
		stop := time.AfterFunc(2*time.Minute, func() { panic("FuzzIncident: no result after two minutes") })
		defer stop.Stop()
		for _, d := range []string{inc, out} {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
		}
		for i, b := range [][]byte{n1a, n1b, n2a, n2b} {
			path := filepath.Join(inc, files[i])
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(inc, "k8s"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inc, "k8s", "cluster.json"), cluster, 0o644); err != nil {
			t.Fatal(err)
		}
		// One reading goroutine: with several, their interleaving changes
		// the coverage of the same input, and the fuzzer would keep
		// scheduling noise as new inputs. TestJobs holds the output the
		// same for any --jobs.
		const jobs = "--jobs=1"
		code, stdout, stderr := fuzzRun(t, "analyze", jobs, "-o", "json", inc)
		if code == exitUsage {
			return // no capture could be read at all: nothing after it runs
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("analyze -o json (exit %d) is not JSON: %v\n%s\nstderr: %s", code, err, stdout, stderr)
		}
		// The same analysis, told differently: each exits as -o json did.
		same := func(args ...string) {
			t.Helper()
			if c, _, stderr := fuzzRun(t, append(args, inc)...); c != code {
				t.Fatalf("%v: exit %d, analyze -o json exits %d\nstderr: %s", args, c, code, stderr)
			}
		}
		same("analyze", jobs, "-o", "table", "--all-hops")
		same("analyze", jobs, "-o", "markdown", "--all-hops", "--waterfalls=-1")
		same("analyze", jobs, "-o", "html")
		fuzzRun(t, "analyze", jobs, "-o", "html", "--flow", "1", inc) // exit 2 when there is no flow 1
		same("flows", jobs)
		same("flows", jobs, "-o", "json")
		same("flows", jobs, "-o", "table")
		same("flows", jobs, "-o", "markdown")
		same("flows", jobs, "--extended")
		base := filepath.Join(out, "base.json")
		if err := os.WriteFile(base, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		if c, stdout, stderr := fuzzRun(t, "check", jobs, "--baseline", base, "--junit", filepath.Join(out, "check.xml"), inc); code == exitOK && (c != exitOK || !strings.Contains(stdout, "check: ok: no changes")) {
			t.Fatalf("check against the baseline analyze -o json just wrote: exit %d\n%s\nstderr: %s", c, stdout, stderr)
		}
		fuzzRun(t, "check", jobs, "--update", "--baseline", filepath.Join(out, "new.json"), inc) // exit 2 on input problems
		merged := filepath.Join(out, "merged.pcapng")
		switch c, _, stderr := fuzzRun(t, "merge", jobs, "--out", merged, inc); {
		case c == code:
			// What merge wrote reads back as a capture.
			if c, _, stderr := fuzzRun(t, "decode", "--stats", merged); c == exitUsage {
				t.Fatalf("merge wrote what decode cannot read: %s", stderr)
			}
			// Every packet printed, and (filtered) as JSON lines.
			fuzzRun(t, "decode", merged)
			if _, stdout, _ := fuzzRun(t, "decode", "-o", "json", "-f", "tcp or icmp or vxlan", merged); stdout != "" {
				for line := range strings.Lines(stdout) {
					if !json.Valid([]byte(line)) {
						t.Fatalf("decode -o json: not a JSON line: %q", line)
					}
				}
			}
		case c != exitUsage || !strings.Contains(stderr, "no packets to merge"):
			t.Fatalf("merge: exit %d, analyze -o json exits %d\nstderr: %s", c, code, stderr)
		}
		same("export", jobs, "--out", filepath.Join(out, "dataset"))
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Fatalf("temporary file %s left behind", e.Name())
			}
		}
	})
}

// fuzzDir returns a directory for the run, removed when it ends: under
// $TMPDIR when set, else in /dev/shm when the machine has one. Commands
// sync what they write (internal/outfile) and an execution writes four
// outputs: on the project's VM, on disk, that made the seed corpus take
// 17 s instead of 4 s in memory. Its name is random but of one length
// and one kind of character (16 letters g to v) in every run: os.MkdirTemp
// and f.TempDir add a decimal number of 1 to 10 digits, and the path's
// length and characters, through the messages, table cells and HTML
// escaping that quote it, changed the coverage of one input from one run
// to the next.
func fuzzDir(f *testing.F) string {
	parent := os.TempDir()
	if st, err := os.Stat("/dev/shm"); os.Getenv("TMPDIR") == "" && err == nil && st.IsDir() {
		parent = "/dev/shm"
	}
	for range 100 {
		name := []byte("hoptrace-fuzz-................")
		for i, r := 14, rand.Uint64(); i < len(name); i, r = i+1, r>>4 {
			name[i] = 'g' + byte(r&15)
		}
		dir := filepath.Join(parent, string(name))
		err := os.Mkdir(dir, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	f.Fatalf("no directory for the run in %s", parent)
	return ""
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

// seedPackets is how many packets each seed capture keeps. An execution
// runs every command on four captures; at 16 KB a capture (some hundred
// packets) the fuzzer managed under ten executions a second on the
// project's 2-core VM, and spent its first minute measuring the seeds. A
// few dozen packets still cross every hop of a lab scenario (a TCP
// connection is about 12), and mutation makes more of what they hold.
const seedPackets = 24

// labSeeds adds the lab scenarios' captures: each node's eth0 and a pod's
// eth0, the hops a cross-node packet crosses, cut to the same stretch of
// time (from the first packet of node-1's pod). One scenario adds its
// tcpdump -i any captures (Linux SLL2, an interface per packet) in place
// of the nodes' eth0.
func labSeeds(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "captures", "*"))
	read := func(path string) []byte {
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	for _, d := range dirs {
		n1, n2 := nodeCaptures(filepath.Join(d, "node-1")), nodeCaptures(filepath.Join(d, "node-2"))
		if n1[0] == "" {
			continue
		}
		from, _ := firstTime(read(n1[1]))
		cut := func(path string) []byte { return trimCapture(read(path), from, seedPackets) }
		f.Add(cut(n1[0]), cut(n1[1]), cut(n2[0]), cut(n2[1]))
		if filepath.Base(d) == "cross-vxlan" {
			f.Add(cut(filepath.Join(d, "node-1", "n1-any.pcap")), cut(n1[1]), cut(filepath.Join(d, "node-2", "n2-any.pcap")), cut(n2[1]))
		}
	}
}

// nodeCaptures picks two captures of a lab node directory: the node's
// eth0 and a pod's eth0, or else the first captures in name order ("" for
// none).
func nodeCaptures(dir string) [2]string {
	var all []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		all = append(all, m...)
	}
	slices.Sort(all)
	rank := func(p string) int {
		switch b := filepath.Base(p); {
		case strings.HasPrefix(b, "pod") && strings.Contains(b, "-eth0."):
			return 1
		case strings.Contains(b, "-eth0."):
			return 0
		}
		return 2
	}
	slices.SortStableFunc(all, func(a, b string) int { return rank(a) - rank(b) })
	var two [2]string
	copy(two[:], all)
	return two
}

// corpusSeeds adds the captures of the public corpus, when it is there,
// each cut to its first seedPackets packets, four to a seed (one per
// capture of the incident): every capture seeds, in a quarter of the
// seeds. CI fuzzes each target for 5 s from a fresh cache; one corpus
// capture per seed (87 seeds) did not finish measuring the seeds in it
// at a load of 5 on the project's 2-core VM.
func corpusSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	if len(files) == 0 {
		f.Logf("corpus %s absent: seeding from the lab captures only", corpusDir)
	}
	for i := 0; i < len(files); i += 4 {
		var seed [4][]byte
		for j := range seed {
			if i+j == len(files) {
				break
			}
			b, err := os.ReadFile(files[i+j])
			if err != nil {
				f.Fatal(err)
			}
			seed[j] = trimCapture(b, 0, seedPackets)
		}
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
}

// trimCapture returns capture b cut to its first n packets: for pcap
// (either byte order, micro- or nanosecond) the file header and the first
// n records stamped at or after from (Unix nanoseconds; 0 takes them from
// the start); for pcapng every block but the packet blocks after the
// first n (timestamps are not read). Anything else, or what follows a
// damaged record or block, is cut to 4 KB: malformed files stay seeds.
func trimCapture(b []byte, from int64, n int) []byte {
	const rest = 4 << 10
	if len(b) < 24 {
		return b
	}
	switch magic := binary.LittleEndian.Uint32(b); magic {
	case 0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1:
		var bo binary.ByteOrder = binary.LittleEndian
		if magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1 {
			bo = binary.BigEndian
		}
		frac := int64(1000)
		if magic == 0xa1b23c4d || magic == 0x4d3cb2a1 {
			frac = 1
		}
		out := slices.Clone(b[:24])
		for off, kept := 24, 0; off+16 <= len(b) && kept < n; {
			end := off + 16 + int(bo.Uint32(b[off+8:]))
			if end > len(b) || end < off+16 {
				return append(out, b[off:min(len(b), off+rest)]...)
			}
			if int64(bo.Uint32(b[off:]))*1e9+int64(bo.Uint32(b[off+4:]))*frac >= from {
				out = append(out, b[off:end]...)
				kept++
			}
			off = end
		}
		return out
	case 0x0a0d0d0a:
		var bo binary.ByteOrder = binary.LittleEndian
		var out []byte
		for off, kept := 0, 0; off+12 <= len(b); {
			typ := bo.Uint32(b[off:])
			if typ == 0x0a0d0d0a || bo.Uint32(b[off:]) == 0x0a0d0d0a {
				if binary.BigEndian.Uint32(b[off+8:]) == 0x1a2b3c4d {
					bo = binary.BigEndian
				} else {
					bo = binary.LittleEndian
				}
			}
			size := int(bo.Uint32(b[off+4:]))
			if size < 12 || size%4 != 0 || off+size > len(b) {
				return append(out, b[off:min(len(b), off+rest)]...)
			}
			switch typ {
			case 2, 3, 6: // packet, simple packet and enhanced packet blocks
				if kept >= n {
					off += size
					continue
				}
				kept++
			}
			out = append(out, b[off:off+size]...)
			off += size
		}
		return out
	}
	return b[:min(len(b), rest)]
}

// firstTime returns the time of the first record of a pcap file in Unix
// nanoseconds, and false for anything else.
func firstTime(b []byte) (int64, bool) {
	c := trimCapture(b, 0, 1)
	if len(c) < 40 || binary.LittleEndian.Uint32(c) == 0x0a0d0d0a {
		return 0, false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if m := bo.Uint32(c); m == 0xd4c3b2a1 || m == 0x4d3cb2a1 {
		bo = binary.BigEndian
	}
	frac := int64(1000)
	if m := binary.LittleEndian.Uint32(c); m == 0xa1b23c4d || m == 0x4d3cb2a1 {
		frac = 1
	}
	return int64(bo.Uint32(c[24:]))*1e9 + int64(bo.Uint32(c[28:]))*frac, true
}
