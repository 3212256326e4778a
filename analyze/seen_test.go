package analyze

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

// TestLogSameAsReading checks that the analysis finds the same whether the
// main pass takes the packets from the clock pass' log or reads every
// capture again (the clock sample or the budget cut the log short).
func TestLogSameAsReading(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "captures", "*"))
	tcp := func(r *decode.Record) bool { return r.L4.Proto == decode.ProtoTCP }
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		caps, err := Discover(dir)
		require.NoError(t, err)
		for _, c := range []struct {
			name   string
			sample int
			budget int
			keep   func(*decode.Record) bool
		}{
			{"whole", 0, 1 << 19, nil},
			{"cut", 100, 1 << 19, nil},
			{"over-budget", 0, 150, nil},
			{"filtered", 0, 1 << 19, tcp},
		} {
			t.Run(filepath.Base(dir)+"/"+c.name, func(t *testing.T) {
				run := func(budget int) (*Result, []*Trace) {
					defer func(b int) { logBudget = b }(logBudget)
					logBudget = budget
					var traces []*Trace
					res, err := Analyze(caps, Options{ClockSample: c.sample, Keep: c.keep, Trace: func(tr *Trace) { traces = append(traces, tr) }})
					require.NoError(t, err)
					return res, traces
				}
				want, wantTraces := run(0)
				got, gotTraces := run(c.budget)
				assert.Equal(t, want, got)
				assert.Equal(t, wantTraces, gotTraces)
			})
		}
	}
}
