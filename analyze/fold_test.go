package analyze_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
)

// TestFoldLossless: folding an idle flow keeps everything its state
// held, so that a later packet of the flow unfolds it into the same state
// and the result reads the same figures: every committed capture
// analysed folding each flow after each of its packets (the most a
// record is written and read back) gives the Result it gives without
// folding, on one goroutine and on several.
func TestFoldLossless(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/captures/*")
	require.NoError(t, err)
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		inc, err := incident.Open([]string{dir}, incident.Options{})
		require.NoError(t, err, dir)
		for _, jobs := range []int{1, 2} {
			run := func(idle int64) *analyze.Result {
				defer analyze.SetFoldIdle(idle)()
				res, err := analyze.Analyze(inc.Captures, analyze.Options{Jobs: jobs})
				require.NoError(t, err, dir)
				return res
			}
			want, got := run(math.MaxInt64), run(0)
			assert.Equal(t, want, got, "%s, %d jobs: the same result folding every flow after each packet", dir, jobs)
			assert.NotEmpty(t, got.Flows, dir)
		}
		n++
	}
	assert.GreaterOrEqual(t, n, 10, "committed capture directories")
}
