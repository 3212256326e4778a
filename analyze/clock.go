package analyze

import (
	"math"
)

// Clock offsets between nodes are estimated the way NTP does it, from
// packets seen on two nodes: a packet from node R to node N arrives
// d1 = delay1 + θ after it left (θ: N's clock minus R's), one from N to R
// arrives d2 = delay2 − θ after it left. With the smallest delays of each
// direction, θ = (min d1 − min d2) / 2, off by at most (min d1 + min d2) / 2.
//
// The sender of a packet is the node that saw it with the highest inner
// TTL (routing decrements it on the way); packets whose TTL is the same on
// both nodes give no sample.

// clockKey identifies a packet for the clock pass: its identity key and
// where its range starts.
type clockKey struct {
	key uint64
	lo  uint32
}

// clockSighting summarises one packet's sightings on one node.
type clockSighting struct {
	first, last int64 // node clock
	maxTTL      uint8
	hops        uint64 // bit (hop mod 64) per hop seen
	ambiguous   bool   // seen twice at one hop: a retransmission shares the key
}

// estimateClocks reads up to ClockSample packets of every node and sets
// a.offsets and a.clocks. The first node (sorted by name) is the reference.
func (a *analysis) estimateClocks() {
	if len(a.nodes) < 2 {
		return
	}
	perNode := make([]map[clockKey]*clockSighting, len(a.nodes))
	for i := range perNode {
		perNode[i] = make(map[clockKey]*clockSighting)
	}
	count := make([]int, len(a.nodes))
	var o obs
	for _, s := range a.srcs {
		for count[s.node] < a.opt.ClockSample && s.next(false) {
			count[s.node]++
			if !observe(&s.rec, &o) {
				continue
			}
			k := clockKey{o.key, o.lo}
			cs := perNode[s.node][k]
			bit := uint64(1) << (uint(s.hop) % 64)
			if cs == nil {
				perNode[s.node][k] = &clockSighting{first: s.rec.TS, last: s.rec.TS, maxTTL: o.ttl, hops: bit}
				continue
			}
			cs.ambiguous = cs.ambiguous || cs.hops&bit != 0
			cs.hops |= bit
			cs.first, cs.last = min(cs.first, s.rec.TS), max(cs.last, s.rec.TS)
			cs.maxTTL = max(cs.maxTTL, o.ttl)
		}
	}
	ref := perNode[0]
	for n := 1; n < len(a.nodes); n++ {
		minTo, minFrom := int64(math.MaxInt64), int64(math.MaxInt64)
		samples := 0
		for k, b := range perNode[n] {
			r := ref[k]
			if r == nil || r.ambiguous || b.ambiguous {
				continue
			}
			switch {
			case r.maxTTL > b.maxTTL: // reference → n
				minTo = min(minTo, b.first-r.last)
				samples++
			case b.maxTTL > r.maxTTL: // n → reference
				minFrom = min(minFrom, r.first-b.last)
				samples++
			}
		}
		c := Clock{Node: a.nodes[n], Reference: a.nodes[0], Samples: samples}
		if minTo != math.MaxInt64 && minFrom != math.MaxInt64 {
			c.OffsetNS = (minTo - minFrom) / 2
			c.ErrorNS = (minTo + minFrom) / 2
			a.offsets[n] = c.OffsetNS
		} else {
			c.Samples = 0 // one direction alone cannot separate delay from offset
		}
		a.clocks = append(a.clocks, c)
	}
}
