package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/labtruth"
)

// Regression cases of the hostile-input audit (issue 16), end to end.

// stepNode copies a lab incident and steps the clock of every capture of
// node by delta at one instant, as a node's clock set back or forward
// while tcpdump ran does: at the median packet of its first capture, in
// the middle of the traffic. (Re-anchoring puts the packet after a step a
// microsecond after the one before; a step during a pause in the traffic
// shifts the node's later packets by the pause, and a pause longer than
// the correlation window makes drops of them: see README.)
func stepNode(t *testing.T, scenario, node string, delta time.Duration) string {
	t.Helper()
	src := filepath.Join("..", "..", "testdata", "captures", scenario)
	if _, err := os.Stat(src); err != nil {
		t.Skipf("lab capture: %v", err)
	}
	dst := filepath.Join(t.TempDir(), scenario)
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	files, err := filepath.Glob(filepath.Join(dst, node, "*.pcap"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var mid int64
	for i, path := range files {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, uint32(0xa1b23c4d), binary.LittleEndian.Uint32(b), "%s: want a little-endian ns pcap", path)
		var ts []int64
		for off := 24; off+16 <= len(b); off += 16 + int(binary.LittleEndian.Uint32(b[off+8:])) {
			ts = append(ts, int64(binary.LittleEndian.Uint32(b[off:]))*1e9+int64(binary.LittleEndian.Uint32(b[off+4:])))
		}
		if i == 0 {
			mid = slices.Sorted(slices.Values(ts))[len(ts)/2]
		}
		for off, k := 24, 0; off+16 <= len(b); off, k = off+16+int(binary.LittleEndian.Uint32(b[off+8:])), k+1 {
			if ts[k] >= mid {
				t2 := ts[k] + int64(delta)
				binary.LittleEndian.PutUint32(b[off:], uint32(t2/1e9))
				binary.LittleEndian.PutUint32(b[off+4:], uint32(t2%1e9))
			}
		}
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	return dst
}

type analysisDoc struct {
	Drops []struct {
		Packets int `json:"packets"`
	} `json:"drops"`
	Warnings      []string `json:"warnings"`
	InputProblems int      `json:"input_problems"`
}

func analyseJSON(t *testing.T, dir string) (int, analysisDoc, string) {
	t.Helper()
	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	var doc analysisDoc
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stderr)
	return code, doc, stderr
}

func dropped(d analysisDoc) int {
	n := 0
	for _, x := range d.Drops {
		n += x.Packets
	}
	return n
}

// TestClockStepAnalysis: node-2's clock steps back 3 hours, or forward 5
// years, halfway through the drops scenario. The analysis finds the same
// drops as without the step (the kernel's counters), not every
// packet after the step (before: +5 years gave 150,056 false drops and
// exit 0), and reports each step with file and offset (exit 1).
func TestClockStepAnalysis(t *testing.T) {
	_, plain, _ := analyseJSON(t, labDir(t))
	require.Equal(t, labtruth.Read(t, labDir(t)).Dropped(), dropped(plain))
	for _, delta := range []time.Duration{-3 * time.Hour, 5 * 365 * 24 * time.Hour} {
		t.Run(delta.String(), func(t *testing.T) {
			dir := stepNode(t, "drops", "node-2", delta)
			code, doc, stderr := analyseJSON(t, dir)
			assert.Equal(t, exitProblems, code, stderr)
			assert.Equal(t, dropped(plain), dropped(doc), "no drops invented by the step")
			steps := 0
			for _, w := range doc.Warnings {
				if strings.Contains(w, "the clock stepped") {
					steps++
					assert.Regexp(t, `capture .*node-2/\S+\.pcap: the clock stepped (back|forward) by .* at offset \d+ `, w)
				}
			}
			// One step per capture of the node whose packets the analysis
			// reads: not the -i any capture's, every one of whose
			// interfaces is read from its own capture (all of node-2's
			// are captured so, and joined to it by their data).
			files, _ := filepath.Glob(filepath.Join(dir, "node-2", "*.pcap"))
			assert.Equal(t, len(files)-1, steps, "one step per capture of the node:\n%s", strings.Join(doc.Warnings, "\n"))
			for _, f := range files {
				if filepath.Base(f) != "n2-any.pcap" {
					assert.Contains(t, strings.Join(doc.Warnings, "\n"), "capture "+f+": the clock stepped")
				}
			}
		})
	}
}

// TestGzipBombCLI: a gzip-compressed pcapng whose block claims 2 GB (the
// audit's 3 MB file reached 8.2 GB of memory) is read in bounded memory
// and ends with a message naming the file and the offset.
func TestGzipBombCLI(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	le := binary.LittleEndian
	blk := func(typ uint32, body []byte) []byte {
		b := le.AppendUint32(le.AppendUint32(nil, typ), uint32(12+len(body)))
		return le.AppendUint32(append(b, body...), uint32(12+len(body)))
	}
	shb := blk(0x0a0d0d0a, le.AppendUint64(le.AppendUint16(le.AppendUint16(le.AppendUint32(nil, 0x1a2b3c4d), 1), 0), ^uint64(0)))
	idb := blk(1, le.AppendUint32(le.AppendUint32(nil, 1), 0))
	zw.Write(shb)
	zw.Write(idb)
	zw.Write(le.AppendUint32(le.AppendUint32(nil, 6), 0x7ffffff0))
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	dir := filepath.Join(t.TempDir(), "incident", "node-1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "bomb.pcapng.gz")
	require.NoError(t, os.WriteFile(path, gz.Bytes(), 0o644))
	code, _, stderr := hoptrace(t, "decode", path)
	assert.Equal(t, exitProblems, code)
	assert.Contains(t, stderr, fmt.Sprintf("read capture %s at offset %d of the decompressed stream: block type 0x6: length 2147483632 is longer than the 393248-byte limit (--max-record-size raises it)", path, len(shb)+len(idb)))
}

// TestFIFOByName: a FIFO given by name with no writer does not block:
// decode and analyze say it holds no capture (exit 2).
func TestFIFOByName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node-1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	fifo := filepath.Join(dir, "live.pcap")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, args := range [][]string{{"decode", fifo}, {"analyze", "--node", "node-1=" + fifo}} {
		done := make(chan string, 1)
		go func() {
			code, _, stderr := hoptrace(t, args...)
			done <- fmt.Sprint(code, " ", stderr)
		}()
		select {
		case got := <-done:
			assert.True(t, strings.HasPrefix(got, "2 hoptrace: "), "%v: %s", args, got)
			assert.Contains(t, got, fifo)
		case <-time.After(20 * time.Second):
			t.Fatalf("%v blocked on a FIFO without a writer", args)
		}
	}
}

// TestMaxMemory: a budget below what the run holds (64 KiB: less than the
// program holds at start) ends it with exit 2 and a message naming the
// budget; a sufficient one changes nothing. The run is a child process,
// since the watchdog ends the process.
func TestMaxMemory(t *testing.T) {
	if args := os.Getenv("HOPTRACE_TEST_ARGS"); args != "" {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	dir := labDir(t)
	for _, tc := range []struct {
		budget string
		code   int
	}{{"64KiB", exitUsage}, {"4GiB", exitOK}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMaxMemory$")
		cmd.Env = append(os.Environ(), "HOPTRACE_TEST_ARGS="+strings.Join([]string{"analyze", "--max-memory", tc.budget, dir}, "\x1f"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdout = new(bytes.Buffer)
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, tc.code, code, "--max-memory %s: %s", tc.budget, stderr.String())
		if tc.code == exitUsage {
			assert.Contains(t, stderr.String(), "hoptrace: the input needs more memory than --max-memory 64.0 KiB allows")
		}
	}
	code, _, stderr := hoptrace(t, "analyze", "--max-memory", "lots", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `--max-memory: size "lots"`)
}
