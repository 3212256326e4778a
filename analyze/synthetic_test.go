package analyze_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyntheticIncident analyses a generated incident whose every figure
// is known: a bulk flow over ten hops on two nodes, fixed per-hop delays,
// node-2's clock 3 ms ahead, and a known number of segments dropped between
// n1-cni0 and n1-flannel.1 (bench/genincident).
func TestSyntheticIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	dir := t.TempDir()
	gen := exec.Command("go", "run", "../bench/genincident", "-o", dir, "-n", "5000", "-drop", "0.01")
	out, err := gen.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var want struct {
		Segments int              `json:"segments"`
		Dropped  int              `json:"dropped"`
		OffsetNS int64            `json:"offset_ns"`
		Hops     []string         `json:"hops"`
		DelayNS  map[string]int64 `json:"delay_ns"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &want))
	require.NotZero(t, want.Dropped, "the generator should have dropped some segments")

	res := analyzeDir(t, dir)

	require.Len(t, res.Clocks, 1)
	assert.Equal(t, want.OffsetNS, res.Clocks[0].OffsetNS, "clock offset of node-2")

	dropped := 0
	for _, d := range res.Drops {
		assert.Equal(t, "n1-cni0", d.From)
		assert.Equal(t, "n1-flannel.1", d.To)
		assert.Equal(t, analyze.DirOrig, d.Direction)
		dropped += d.Packets
	}
	assert.Equal(t, want.Dropped, dropped, "dropped segments")

	for _, p := range res.Paths {
		if p.Direction == analyze.DirOrig {
			assert.Equal(t, want.Hops, p.Hops, "orig path")
		}
	}
	// Every consecutive hop pair shows exactly the generator's delay, in
	// both directions (an ACK crosses the same hop in the same time).
	pairs := 0
	for _, h := range res.Hops {
		delay := want.DelayNS[h.To]
		if h.Direction == analyze.DirReply {
			delay = want.DelayNS[h.From]
		}
		assert.Equal(t, delay, h.MinNS, "%s -> %s %s min", h.From, h.To, h.Direction)
		assert.Equal(t, delay, h.MaxNS, "%s -> %s %s max", h.From, h.To, h.Direction)
		assert.Equal(t, delay, h.P50NS, "%s -> %s %s p50", h.From, h.To, h.Direction)
		pairs++
	}
	assert.Equal(t, 2*(len(want.Hops)-1), pairs, "hop pairs")

	// The pod flow, then the VXLAN carrier of each direction: one UDP
	// source port per inner flow direction, so neither sees a reply.
	require.Len(t, res.Flows, 3)
	f := res.Flows[0]
	assert.Empty(t, f.Tunnel)
	assert.Equal(t, want.Segments, f.OrigStats.Packets, "data segments counted once each, whatever the hops")
	assert.Zero(t, f.OrigStats.OutOfOrder)
	assert.Zero(t, f.OrigStats.Retransmits)
	carried := map[string]int{}
	for _, c := range res.Flows[1:] {
		assert.Equal(t, "vxlan", c.Tunnel)
		assert.Equal(t, analyze.ProtoUDP, c.Proto)
		assert.Equal(t, uint16(8472), c.Orig.DPort)
		assert.True(t, c.Unreplied, "a carrier's replies leave from another source port")
		assert.Zero(t, c.ReplStats.Packets)
		assert.True(t, f.FirstNS < c.FirstNS && c.FirstNS <= c.LastNS,
			"a carrier's packets are seen after the pod flow's first, at a node's eth0: %d..%d, pod flow from %d", c.FirstNS, c.LastNS, f.FirstNS)
		carried[c.Orig.Src] += c.OrigStats.Packets
	}
	assert.Equal(t, want.Segments-want.Dropped, carried["192.168.1.10"], "segments encapsulated: all but those dropped before flannel.1")
	assert.Equal(t, f.ReplStats.Packets, carried["192.168.1.11"], "ACKs encapsulated")
}
