package analyze

import (
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mainPass runs an analysis up to the end of its main pass.
func mainPass(tb testing.TB, caps []Capture, jobs int) *analysis {
	tb.Helper()
	a := newAnalysis(caps, Options{Window: time.Second, ClockSample: 200000, Jobs: jobs})
	require.NoError(tb, a.openAll())
	a.estimateClocks()
	require.NoError(tb, a.correlate())
	return a
}

// TestFoldScan: a SYN scan's flows are folded once idle, their state,
// paths' and drop groups' accumulators then in records, which the result
// reads and lets go; the result is the same as without folding, folded
// after each packet or once idle for 1 ms (the scan lasts 0.2 s, less
// than foldIdle of the default window).
func TestFoldScan(t *testing.T) {
	const n = 20000
	caps, _ := synScan(t, n)
	defer func(old int64) { foldIdleOverride = old }(foldIdleOverride)
	foldIdleOverride = math.MaxInt64
	want := mainPass(t, caps, 2).result()
	for _, idle := range []int64{0, 1_000_000} {
		foldIdleOverride = idle
		a := mainPass(t, caps, 2)
		folded := 0
		for _, f := range a.agg.flows.flows {
			if f == nil {
				folded++
			}
		}
		t.Logf("idle %d ns: %d of %d flows folded at the end of the main pass", idle, folded, len(a.agg.flows.flows))
		assert.Greater(t, folded, n*9/10, "idle %d ns: flows folded", idle)
		assert.Equal(t, want, a.result(), "idle %d ns: the same result", idle)
		for id, p := range a.agg.fold.at {
			require.Zero(t, p, "idle %d ns: flow %d's record let go as the result is built", idle, id)
		}
	}
}

// TestFoldBytes: what a SYN scan holds per flow at the end of its main
// pass, its flows folded, grows by a few hundred bytes a flow: the
// difference between two sizes, as the window's open packets and the
// readers' buffers do not follow the flows (1,062 bytes per flow
// unfolded, 200k flows).
func TestFoldBytes(t *testing.T) {
	defer func(old int64) { foldIdleOverride = old }(foldIdleOverride)
	foldIdleOverride = 1_000_000 // 1 ms: the scan lasts a fraction of the window; fold as in a long one
	live := func(n int) int64 {
		caps, _ := synScan(t, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := mainPass(t, caps, 2)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(a)
		return int64(after.HeapAlloc) - int64(before.HeapAlloc)
	}
	small, large := live(20000), live(60000)
	perFlow := (large - small) / 40000
	t.Logf("live after the main pass: %d bytes at 20k flows, %d at 60k: %d bytes per flow more", small, large, perFlow)
	assert.Less(t, perFlow, int64(400), "bytes per flow")
}
