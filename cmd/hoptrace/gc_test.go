package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gcSettings returns GOGC (negative: off) and the memory limit in force.
func gcSettings() (gogc, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// TestTuneGC checks that the collector stays off while the heap is small,
// and that a collection finding more than half of startHeap live hands
// back to the defaults.
func TestTuneGC(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: tuneGC leaves the runtime alone")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()

	tuneGC()
	gogc, limit := gcSettings()
	assert.Negative(t, gogc, "GOGC off")
	assert.Equal(t, int64(startHeap), limit)
	checked := gcChecks.Load()
	runtime.GC() // little is live: still off
	require.Eventually(t, func() bool { return gcChecks.Load() > checked }, 5*time.Second, time.Millisecond,
		"tuneGC looks at every collection")
	gogc, limit = gcSettings()
	assert.Negative(t, gogc, "GOGC still off after a collection with little live")
	assert.Equal(t, int64(startHeap), limit)

	live := make([]byte, startHeap*3/4)
	for i := range live {
		live[i] = 1
	}
	runtime.GC()
	require.Eventually(t, func() bool {
		gogc, limit := gcSettings()
		return gogc == 100 && limit == math.MaxInt64
	}, 5*time.Second, time.Millisecond, "the defaults back once the live heap passed half of startHeap")
	runtime.KeepAlive(live)
}

// TestTuneGCBudget checks that --max-memory's budget is the collector's
// memory limit: the lower of it and startHeap while the collector is off,
// the budget once tuneGC hands back to the defaults.
func TestTuneGCBudget(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: tuneGC leaves the runtime alone")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer memBudget.Store(0)
	runtime.GC()

	tuneGC()
	setMemoryBudget(64 << 20)
	_, limit := gcSettings()
	assert.Equal(t, int64(64<<20), limit, "a budget below startHeap while the collector is off")
	const budget = 3 << 30
	setMemoryBudget(budget)
	gogc, limit := gcSettings()
	assert.Negative(t, gogc, "GOGC off")
	assert.Equal(t, int64(startHeap), limit, "startHeap below the budget while the collector is off")

	live := make([]byte, startHeap*3/4)
	for i := range live {
		live[i] = 1
	}
	runtime.GC()
	require.Eventually(t, func() bool {
		gogc, limit := gcSettings()
		return gogc == 100 && limit == budget
	}, 5*time.Second, time.Millisecond, "GOGC 100 and the budget as the limit once the live heap passed half of startHeap")
	runtime.KeepAlive(live)
}
