package report

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// TestWaterfallHopCrossedTwice: a path that crosses a hop twice (NodePort:
// node-2's eth0 in plain, then again in VXLAN) has a row per crossing, and
// each drop sits at the crossing its hop pair names: between the first
// crossing and flannel.1, or between flannel.1 and the second crossing.
func TestWaterfallHopCrossedTwice(t *testing.T) {
	flow := analyze.TupleJSON{Src: "192.168.1.100", SPort: 50001, Dst: "192.168.1.11", DPort: 30080}
	hops := []string{"ext-eth0", "n2-eth0", "n2-flannel.1", "n2-eth0", "n1-eth0"}
	res := &analyze.Result{
		Paths: []analyze.Path{{Flow: flow, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Hops: hops, Packets: 10}},
		Hops: []analyze.HopLatency{
			{From: "n2-eth0", To: "n2-flannel.1", Direction: analyze.DirOrig, Packets: 9, P50NS: 1000, P99NS: 2000},
			{From: "n2-flannel.1", To: "n2-eth0", Direction: analyze.DirOrig, Packets: 7, P50NS: 3000, P99NS: 4000},
		},
		Drops: []analyze.Drop{
			{From: "n2-eth0", To: "n2-flannel.1", Flow: flow, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Packets: 1},
			{From: "n2-flannel.1", To: "n2-eth0", Flow: flow, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Packets: 2},
		},
	}
	ws, _ := waterfalls(res, newIndex(res), AnalysisOptions{Waterfalls: -1})
	require.Len(t, ws, 1)
	var got []string
	var dropped, reached []int
	for _, r := range ws[0].Rows {
		got = append(got, r.Hop)
		dropped = append(dropped, r.Dropped)
		reached = append(reached, r.Packets)
	}
	assert.Equal(t, hops, got)
	assert.Equal(t, []int{0, 0, 1, 2, 0}, dropped)
	assert.Equal(t, []int{10, 10, 9, 7, 7}, reached)
	assert.Equal(t, int64(1000), ws[0].Rows[2].StepP50)
	assert.Equal(t, int64(3000), ws[0].Rows[3].StepP50, "flannel.1 to the second crossing of eth0")
	assert.Equal(t, 3, ws[0].Dropped)
}

func TestDropStep(t *testing.T) {
	hops := []string{"a", "b", "c", "b", "d"}
	for _, c := range []struct {
		from, to string
		i, j     int
	}{
		{"a", "b", 0, 1},
		{"b", "c", 1, 2},
		{"c", "b", 2, 3},
		{"b", "d", 3, 4},
		{"b", "x", 1, -1}, // to not on the path: the first crossing
		{"a", "d", 0, 4},  // a longer expected path: to further on
		{"x", "b", -1, -1},
	} {
		i, j := dropStep(hops, c.from, c.to)
		assert.Equal(t, [2]int{c.i, c.j}, [2]int{i, j}, "%s > %s", c.from, c.to)
	}
}

// TestLadderHopCrossedTwice: the ladder draws a hop crossed twice as one
// line, which both crossings' arrows reach.
func TestLadderHopCrossedTwice(t *testing.T) {
	orig := analyze.TupleJSON{Src: "192.168.1.100", SPort: 50001, Dst: "192.168.1.11", DPort: 30080}
	res := &analyze.Result{Paths: []analyze.Path{
		{Flow: orig, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Hops: []string{"ext-eth0", "n2-eth0", "n2-flannel.1", "n2-eth0", "n1-eth0"}, Packets: 2},
		{Flow: orig, Proto: analyze.ProtoTCP, Direction: analyze.DirReply, Hops: []string{"n1-eth0", "n2-eth0", "n2-flannel.1", "n2-eth0", "ext-eth0"}, Packets: 2},
	}}
	cols, paths, _ := ladderColumns(res, analyze.Flow{Proto: analyze.ProtoTCP, Orig: orig})
	assert.Equal(t, []string{"ext-eth0", "n2-eth0", "n2-flannel.1", "n1-eth0"}, cols)
	assert.Len(t, paths[0], 5, "the path keeps both crossings")
}

// TestRankWaterfall: the figures waterfalls ranks paths by, read without
// making the rows (rankWaterfall), are those fillWaterfall finds, for
// every path of the committed analyses alone and for each path with
// every path of its flow direction's hops (drops, capture gaps, MTU
// findings, hops crossed twice among them).
func TestRankWaterfall(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("testdata", "analysis", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, matches)
	checked := 0
	for _, path := range matches {
		scenario := strings.TrimSuffix(filepath.Base(path), ".json")
		res := fixture(t, scenario)
		ix := newIndex(res)
		for i := range res.Paths {
			if len(res.Paths[i].Hops) == 0 {
				continue
			}
			group := []int32{int32(i)}
			for j := range res.Paths {
				if j != i && res.Paths[j].Direction == res.Paths[i].Direction && slices.Equal(res.Paths[j].Hops, res.Paths[i].Hops) {
					group = append(group, int32(j))
				}
			}
			var members []analyze.Path
			packets := 0
			for _, pi := range group {
				members = append(members, res.Paths[pi])
				packets += res.Paths[pi].Packets
			}
			w := Waterfall{Packets: packets}
			fillWaterfall(&w, members, ix)
			d, f, p50 := rankWaterfall(res.Paths, group, ix)
			assert.Equal(t, [3]int64{int64(w.Dropped), int64(w.Findings), w.TotalP50}, [3]int64{int64(d), int64(f), p50}, "%s path %d", scenario, i)
			checked++
		}
	}
	t.Logf("%d paths", checked)
	assert.Greater(t, checked, 20)
}
