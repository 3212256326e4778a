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
// packets and the clock pass' tables of a bounded sample, and reuses
// the window's. Its
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
// default (GOGC=100, no limit but --max-memory's). GOGC or GOMEMLIMIT in
// the environment leave the runtime's defaults alone.
const startHeap = 128 << 20

// memBudget is --max-memory's budget in bytes, 0 for none. The watchdog
// (memwatch.go) ends a run whose live heap passes it; the collector is
// asked to keep the whole heap under it too, as its soft memory limit, so
// that garbage (which GOGC 100 lets grow as large as what is live) does
// not take the process past the budget on its own: a 1M-flow SYN scan
// holding about 1.3 GB live reached 2.4-2.7 GB of RSS.
var memBudget atomic.Int64

// gcStarting is set while tuneGC keeps the collector off below startHeap.
var gcStarting atomic.Bool

// budgetLimit is the memory limit outside tuneGC's start: the budget, or
// none.
func budgetLimit() int64 {
	if b := memBudget.Load(); b > 0 {
		return b
	}
	return math.MaxInt64
}

// setMemoryBudget makes limit the collector's soft memory limit (the
// lower of it and startHeap while tuneGC's start holds), unless
// GOMEMLIMIT says otherwise. It is called as the command starts, before
// the heap is large enough for tuneGC to hand back.
func setMemoryBudget(limit int64) {
	memBudget.Store(limit)
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
	case gcStarting.Load():
		debug.SetMemoryLimit(min(limit, startHeap))
	default:
		debug.SetMemoryLimit(limit)
	}
}

func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	gcStarting.Store(true)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(min(startHeap, budgetLimit()))
	afterGC(func() bool {
		gcChecks.Add(1)
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() <= startHeap/2 {
			return true
		}
		gcStarting.Store(false)
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(budgetLimit())
		afterGC(paceLarge)
		return false
	})
}

// largeHeap is the live heap past which the collector lets garbage grow
// to half what is live (GOGC 50) rather than as much (GOGC 100), and past
// twice that to a quarter (GOGC 25): only an input of hundreds of
// thousands of flows holds that much. A 1M-flow SYN scan, about 620 MB
// live at its peak, reached 1.3-1.7 GB of RSS at GOGC 100, 0.92-1.35 GB
// with GOGC 50 past 256 MB, 0.80-1.04 GB with 25 past 512 MB too, its CPU
// time within the noise of a loaded machine (bench/README.md). It
// changes when the collector runs, never what the analysis finds.
const largeHeap = 256 << 20

// paceLarge sets GOGC from the live heap after a collection: 25 from
// twice largeHeap on, 50 from largeHeap, 100 below. It keeps watching for the rest of the run.
func paceLarge() bool {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() != metrics.KindUint64 {
		return false
	}
	pct := 100
	switch live := live[0].Value.Uint64(); {
	case live >= 2*largeHeap:
		pct = 25
	case live >= largeHeap:
		pct = 50
	}
	if pct != gcPercent {
		gcPercent = pct
		debug.SetGCPercent(pct)
	}
	return true
}

// gcPercent is the GOGC paceLarge set last (only its goroutine, the
// runtime's cleanup goroutine, writes it).
var gcPercent = 100

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
