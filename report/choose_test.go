package report

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// synScan is the analysis of a SYN scan of n ports: n unreplied flows, each
// with a two-hop path and its SYN dropped between the hops, the shape that
// made choosing the ladder flow quadratic.
func synScan(n int) *analyze.Result {
	res := &analyze.Result{Schema: analyze.SchemaVersion}
	src, dst := netip.MustParseAddr("10.244.0.5"), netip.MustParseAddr("10.244.1.5")
	for i := range n {
		t := analyze.TupleJSON{Src: src.String(), Dst: dst.String(), SPort: 40000, DPort: uint16(1 + i%65535)}
		if i >= 65535 {
			t.SPort += uint16(i / 65535)
		}
		res.Flows = append(res.Flows, analyze.Flow{Proto: analyze.ProtoTCP, Orig: t, Reply: analyze.TupleJSON{Src: t.Dst, Dst: t.Src, SPort: t.DPort, DPort: t.SPort},
			State: "SYN_SENT", Unreplied: true, Packets: 1})
		res.Paths = append(res.Paths, analyze.Path{Flow: t, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Hops: []string{"pod-eth0", "node-eth0"}, Packets: 1})
		res.Drops = append(res.Drops, analyze.Drop{From: "pod-eth0", To: "node-eth0", Flow: t, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Packets: 1 + i%3, Reason: analyze.DropUnknown})
	}
	res.Hops = []analyze.HopLatency{{From: "pod-eth0", To: "node-eth0", Direction: analyze.DirOrig, Packets: n, P50NS: 1000, P99NS: 2000}}
	return res
}

// TestChooseFlowLinear holds the work of choosing the ladder flow linear in
// the number of flows: doubling the flows at most doubles the entries
// visited (a scan of the flow list per path, drop and MTU entry
// quadrupled them).
func TestChooseFlowLinear(t *testing.T) {
	work := func(n int) int {
		steps := 0
		i, err := chooseFlow(synScan(n), "", &steps, nil)
		require.NoError(t, err)
		require.Equal(t, 2, i, "the first flow with 3 dropped packets")
		return steps
	}
	small, large := work(5000), work(10000)
	t.Logf("entries visited: %d for 5000 flows, %d for 10000", small, large)
	assert.LessOrEqual(t, float64(large)/float64(small), 2.1, "choosing the ladder flow grows faster than the input")
}

// BenchmarkChooseFlow measures choosing the ladder flow of a 100k-flow SYN
// scan (before the flow index: 92 s for the whole analyze run).
//
//	go test -run '^$' -bench ChooseFlow -benchmem ./report
func BenchmarkChooseFlow(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		res := synScan(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ChooseFlow(res, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestVerdictOfAScanStaysShort: a scan of 2000 ports nobody answers, with
// no drop seen, gives five no-reply causes and one line for the rest, not
// a cause per port.
func TestVerdictOfAScanStaysShort(t *testing.T) {
	res := synScan(2000)
	res.Drops = nil
	v := BuildModel(res, AnalysisOptions{}).Verdict
	n := 0
	for _, c := range v.Causes {
		if c.Kind == CauseNoReply {
			n++
		}
	}
	assert.Equal(t, maxCausesPerKind+1, n)
	assert.Contains(t, v.Causes[maxCausesPerKind].Text, "1995 more destinations got no reply (1995 connections)")
}
