package analyze

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCorrelatorReusesPackets follows packets through GRO merging and a
// retransmission, twice, and checks that every packet the correlator
// made is free again once flushed, and that reused packets start clean.
func TestCorrelatorReusesPackets(t *testing.T) {
	seg := func(hop int32, ts int64, lo, hi, ipid uint32) *obs {
		return &obs{ts: ts, hop: hop, key: key1(kindTCPData<<56 | 7), lo: lo, hi: hi, ipid: ipid, proto: 6, byRange: true}
	}
	type got struct {
		lo, hi uint32
		hops   int
	}
	var emitted []got
	c := newCorrelator(int64(time.Second), func(p *packet) {
		emitted = append(emitted, got{p.lo, p.hi, len(p.obs)})
	})
	for round := range 2 {
		base := int64(round) * 10 * int64(time.Second)
		c.add(seg(0, base+1, 0, 1000, 10))    // A
		c.add(seg(0, base+2, 1000, 2000, 11)) // B and C: GSO segments at hop 0 ...
		c.add(seg(0, base+3, 2000, 3000, 12))
		c.add(seg(1, base+4, 0, 1000, 10))    // A at hop 1
		c.add(seg(1, base+5, 1000, 3000, 11)) // ... one GRO frame at hop 1
		c.add(seg(0, base+6, 0, 1000, 13))    // D: A retransmitted
		c.flush()
		assert.Equal(t, []got{{0, 1000, 2}, {1000, 3000, 3}, {0, 1000, 1}}, emitted, "round %d", round)
		emitted = emitted[:0]
		assert.Len(t, c.freePkts, 4, "round %d: A, B, C and D are free again", round)
		for _, p := range c.freePkts {
			assert.Zero(t, p.refs)
		}
		assert.Empty(t, c.groups)
	}
}

// TestCoveredAt checks the cached coverage mask against its definition,
// every capture of a node covering its node's window: from the earliest
// first packet of the node's captures to the latest last one, in
// reference time (to the end while one of them is still read), at times
// walking forward and back as captures start, end and gain hops.
func TestCoveredAt(t *testing.T) {
	a := &analysis{offsets: []int64{0, 7}, nodes: []string{"node-0", "node-1"}}
	g := &aggregator{a: a}
	want := func(ts int64) uint64 {
		var m uint64
		for h, hp := range a.hops {
			nt := ts // sources count in reference time
			started, open := false, false
			var first, last int64
			for _, s := range a.srcs {
				if s.node != hp.node {
					continue
				}
				open = open || !s.done
				if s.packets > 0 {
					if !started || s.first < first {
						first = s.first
					}
					started, last = true, max(last, s.last)
				}
			}
			if started && first <= nt && (open || nt <= last) {
				m |= 1 << uint(h)
			}
		}
		return m
	}
	srcs := []*source{{a: a}, {a: a}, {a: a, node: 1, clk: srcClock{off: 7}}}
	a.srcs = srcs
	for _, s := range srcs {
		a.hops = append(a.hops, &hop{src: s, node: s.node})
	}
	check := func(step string) {
		for _, ts := range []int64{100, -5, 0, 5, 9, 10, 11, 19, 20, 21, 30, 25, 12, 3, 40, 100} { // first the last one: cached
			require.Equal(t, want(ts), g.coveredAt(ts), "%s: t=%d", step, ts)
		}
	}
	check("nothing read")
	srcs[0].count(10, false)
	srcs[0].count(20, false)
	check("one capture started")
	srcs[2].count(15, false) // node 1's clock: 8 in reference time
	check("another")
	g.sourceDone(srcs[0])
	check("the first ended")
	srcs[1].count(12, false)
	a.hops = append(a.hops, &hop{src: srcs[1]})
	a.coverGen++ // as hopID does
	check("a hop found")
	srcs[2].count(40, false)
	g.sourceDone(srcs[2])
	check("all ended but one")
	g.sourceDone(srcs[1])
	check("all ended")
	// Node 0's first capture (10..20) covers its node's window, 10..20
	// and the second's 12: whatever the second capture's own span.
	assert.Equal(t, uint64(0b1011), g.coveredAt(10)&0b1011, "node 0's captures from the node's first packet")
}
