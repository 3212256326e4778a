package merge_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/merge"
)

// reanalysed analyses the lab scenario name, merges it, and analyses the
// merged file: the two results.
func reanalysed(t *testing.T, name string) (res, merged *analyze.Result) {
	t.Helper()
	inc, err := incident.Open([]string{filepath.Join("..", "testdata", "captures", name)}, incident.Options{})
	require.NoError(t, err)
	res, err = analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "merged.pcapng")
	f, err := os.Create(out)
	require.NoError(t, err)
	require.NoError(t, merge.Write(f, inc.Captures, res.Clocks, &merge.Notes{}, nil))
	require.NoError(t, f.Close())
	merged, err = analyze.Analyze([]analyze.Capture{{Node: "merged", Path: out}}, analyze.Options{})
	require.NoError(t, err)
	return res, merged
}

// TestMergeKeepsStats: a merged file keeps each interface's pcapng
// statistics (when its capture started and ended, what it lost), so that
// analysing it judges coverage as analysing the captures did. In
// isb-quiet-end the server's capture ran on past the 5 datagrams the router
// dropped: 5 drops. In isb-stopped-early it stopped before the last 5: 5
// unjudged, no drop. Without the statistics the merged file's window, which
// its other interfaces keep open, would make the first case's drops stay
// and the second's unjudged packets drops.
func TestMergeKeepsStats(t *testing.T) {
	for _, name := range []string{"isb-quiet-end", "isb-stopped-early"} {
		t.Run(name, func(t *testing.T) {
			res, mres := reanalysed(t, name)

			type judged struct {
				from, to string
				n        int
			}
			// Hops of the merged file are named node/hop already.
			hop := func(h string) string { return h[strings.LastIndex(h, "/")+1:] }
			sum := func(r *analyze.Result) (drops, unjudged []judged) {
				for _, d := range r.Drops {
					drops = append(drops, judged{hop(d.From), hop(d.To), d.Packets})
				}
				for _, u := range r.Unjudged {
					unjudged = append(unjudged, judged{hop(u.From), hop(u.To), u.Packets})
				}
				return
			}
			wd, wu := sum(res)
			gd, gu := sum(mres)
			assert.Equal(t, wd, gd, "drops")
			assert.Equal(t, wu, gu, "unjudged")
			n := 0
			for _, j := range append(wd, wu...) {
				n += j.n
			}
			assert.Equal(t, 5, n, "the 5 last datagrams: dropped or not judged")
		})
	}
}

// TestMergedAnyReanalysed: a merged incident whose hops include -i any
// captures' interfaces is analysed again as the incident was: the same
// drops (realistic-vxlan's 8 TTL expiries; none in cross-vxlan), the same
// hops. Its SLL2 interfaces were named by their index ("merged:if4"), so
// the two nodes' interfaces of one index were one hop, and cross-vxlan's
// merged file showed 18 false drops.
func TestMergedAnyReanalysed(t *testing.T) {
	for _, name := range []string{"cross-vxlan", "realistic-vxlan"} {
		t.Run(name, func(t *testing.T) {
			res, mres := reanalysed(t, name)

			var hops, mhops []string
			for _, c := range res.Captures {
				hops = append(hops, c.Node+"/"+c.Hop[strings.LastIndex(c.Hop, "/")+1:])
			}
			for _, c := range mres.Captures {
				mhops = append(mhops, c.Hop)
			}
			assert.ElementsMatch(t, hops, mhops)
			drops := func(r *analyze.Result) map[string]int {
				m := map[string]int{}
				for _, d := range r.Drops {
					m[d.From[strings.LastIndex(d.From, "/")+1:]+" > "+d.To[strings.LastIndex(d.To, "/")+1:]+" "+d.Reason.String()] += d.Packets
				}
				return m
			}
			assert.Equal(t, drops(res), drops(mres))
		})
	}
}
