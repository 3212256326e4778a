package analyze

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAheadSettlesEarlyTies: packets entering at hop 0 are seen at hops 1
// and 2 of the same node; the first ten at one instant there (a port and
// its bridge), the rest at hop 2 strictly first. Settled as they came,
// the ten took the order hops are numbered in; held ahead, they take the
// order the later ones showed. Every packet is handed on once, in order,
// its sightings its own (capped, as a handed slice is reused).
func TestAheadSettlesEarlyTies(t *testing.T) {
	g := &aggregator{}
	var got [][]int32
	var keys []uint64
	h := newAhead(g, func(p *packet) {
		assert.Equal(t, len(p.obs), cap(p.obs), "packet %d's sightings capped", p.key)
		var hops []int32
		for _, o := range g.pathOrder(p) {
			hops = append(hops, o.hop)
		}
		got = append(got, hops)
		keys = append(keys, p.key)
	})
	const n = 50
	for i := range n {
		ts := int64(i) * 1000
		second := ts + 5 // hop 2, then hop 1
		if i < 10 {
			second = ts + 2 // hop 1 and hop 2 alike
		}
		h.take(&packet{key: uint64(i), obs: []obs{
			{ts: ts, hop: 0, ttl: 64},
			{ts: second, hop: 1, ttl: 64},
			{ts: ts + 2, hop: 2, ttl: 64},
		}})
	}
	assert.Empty(t, got, "nothing handed on before enough is held or the end")
	h.flush()
	require.Len(t, got, n)
	for i := range n {
		assert.Equal(t, uint64(i), keys[i], "handed on in order")
		assert.Equal(t, []int32{0, 2, 1}, got[i], "packet %d", i)
	}
	assert.Zero(t, g.ahead, "the held packets were not learnt from twice")
}

// TestAheadBound: ahead holds at most aheadSightings sightings (or
// aheadPackets packets), then hands everything on as it comes.
func TestAheadBound(t *testing.T) {
	g := &aggregator{}
	handed := 0
	h := newAhead(g, func(*packet) { handed++ })
	const per = 100
	sightings := make([]obs, per)
	for i := range sightings {
		sightings[i] = obs{ts: int64(i), hop: int32(i), ttl: 64}
	}
	held := aheadSightings / per
	for i := range held + 1 {
		h.take(&packet{key: uint64(i), obs: sightings})
	}
	assert.Equal(t, held+1, handed, "handed on once %d sightings were held", aheadSightings)
	h.take(&packet{key: 1 << 40, obs: sightings})
	assert.Equal(t, held+2, handed, "then as it comes")
	assert.Nil(t, h.obs, "nothing kept")
}
