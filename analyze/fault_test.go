package analyze_test

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// TestReaderFaultReachesCaller: a capture cut shorter while a reader on
// its own goroutine reads its mapping faults on that goroutine; a caller
// that asked for a panic on faults (as hoptrace does, to name the file
// that shrank) gets it, on its own goroutine, rather than the process
// crashing.
func TestReaderFaultReachesCaller(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "captures", "calico-vxlan", "node-1", "n1-any.pcap"))
	require.NoError(t, err)
	require.Greater(t, len(src), 64<<10, "large enough to be mapped, not read whole")
	path := filepath.Join(t.TempDir(), "n1-any.pcap")
	require.NoError(t, os.WriteFile(path, src, 0o644))
	var cut sync.Once
	keep := func(*decode.Record) bool {
		// Called by the reader's goroutine: the ring of captures rotates.
		cut.Do(func() {
			if err := os.Truncate(path, 0); err != nil {
				t.Error(err) // not FailNow: this is not the test's goroutine
			}
		})
		return true
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var fault any
	func() {
		defer func() { fault = recover() }()
		_, _ = analyze.Analyze([]analyze.Capture{{Node: "node-1", Path: path}}, analyze.Options{Jobs: 2, Keep: keep})
	}()
	require.NotNil(t, fault, "the fault reaches the caller")
	addr, ok := fault.(interface{ Addr() uintptr })
	require.True(t, ok, "a memory fault: %v", fault)
	at, _, ok := decode.MappedAt(addr.Addr())
	require.True(t, ok)
	require.Equal(t, path, at, "the fault names the capture that shrank")
}

// TestClockReaderFaultReachesCaller: the same for the goroutine that reads
// the clock pass' packets (two nodes, Jobs above 1): the capture is cut as
// the clock pass reads it.
func TestClockReaderFaultReachesCaller(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "captures", "calico-vxlan", "node-1", "n1-any.pcap"))
	require.NoError(t, err)
	dir := t.TempDir()
	path, other := filepath.Join(dir, "n1-any.pcap"), filepath.Join(dir, "n2-any.pcap")
	require.NoError(t, os.WriteFile(path, src, 0o644))
	require.NoError(t, os.WriteFile(other, src, 0o644))
	var cut sync.Once
	keep := func(*decode.Record) bool {
		cut.Do(func() {
			if err := os.Truncate(path, 0); err != nil {
				t.Error(err)
			}
		})
		return true
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var fault any
	func() {
		defer func() { fault = recover() }()
		_, _ = analyze.Analyze([]analyze.Capture{{Node: "node-1", Path: path}, {Node: "node-2", Path: other}}, analyze.Options{Jobs: 2, Keep: keep})
	}()
	require.NotNil(t, fault, "the fault reaches the caller")
	addr, ok := fault.(interface{ Addr() uintptr })
	require.True(t, ok, "a memory fault: %v", fault)
	at, _, ok := decode.MappedAt(addr.Addr())
	require.True(t, ok)
	require.Equal(t, path, at, "the fault names the capture that shrank")
}
