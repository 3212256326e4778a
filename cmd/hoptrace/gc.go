package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// startHeap is how large the heap may grow before the first garbage
// collection.
//
// A run of hoptrace is a batch job whose heap stays small whatever the
// size of its input: the analysis holds one correlation window of
// packets and a clock-pass log of bounded size, and reuses both. Its
// collections are mostly fixed cost: gopacket's layers package, which
// pcapgo imports, keeps 5 MB of tables holding pointers in its global
// variables, and every cycle scans them (about 9 million instructions),
// besides the write barriers the analysis pays while a cycle marks. Left
// to the default, a 300k-packet analysis collected three or four times,
// about a quarter of its instructions; a 10M-packet one peaks at about
// 100 MB either way.
//
// So, like the Go compiler (cmd/compile's AdjustStartingHeap), hoptrace
// starts with the collector off below a memory limit of startHeap, and
// once a collection finds more than half of it live, hands back to the
// default (GOGC=100, no limit). GOGC or GOMEMLIMIT in the environment
// leave the runtime's defaults alone.
const startHeap = 128 << 20

func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(startHeap)
	afterGC(func() bool {
		gcChecks.Add(1)
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() <= startHeap/2 {
			return true
		}
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		return false
	})
}

// gcChecks counts the collections tuneGC looked at, for its test.
var gcChecks atomic.Int32

// afterGC calls f after each garbage collection for as long as f
// returns true.
func afterGC(f func() bool) {
	// The sentinel holds a pointer, so it is never one of the tiny
	// allocator's batched objects, whose cleanups may never run.
	type sentinel struct{ _ *int }
	runtime.AddCleanup(&sentinel{}, func(struct{}) {
		if f() {
			afterGC(f)
		}
	}, struct{}{})
}
