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
	key         clockKey
	first, last int64  // node clock
	hops        uint64 // bit (hop mod 64) per hop seen
	after       int32  // the next sighting first seen in the same stream, or -1
	maxTTL      uint8
	ambiguous   bool  // seen twice at one hop: a retransmission shares the key
	stream      uint8 // see clockTable
}

// clockTable holds one node's sightings by key. Each capture of a node sees
// a stream of packets (one direction of a flow, say) in the order the
// first one saw it, so the sighting after the last one found in the same
// stream is tried before the map: most lookups then cost one comparison.
// Entries are values, not one allocation each.
type clockTable struct {
	idx  map[clockKey]int32  // index into s
	s    []clockSighting     // in order of first sighting
	next [clockStreams]int32 // per stream: likely index of the next lookup
	last [clockStreams]int32 // per stream: the last sighting added
}

// clockStreams is how many streams are told apart, by their tuple.
const clockStreams = 16

func newClockTable() clockTable {
	t := clockTable{idx: make(map[clockKey]int32)}
	for i := range t.last {
		t.next[i], t.last[i] = -1, -1
	}
	return t
}

// stream returns the stream of a sighting: its tuple. It only steers the
// guess.
func stream(o *obs) int { return int(o.tuple) % clockStreams }

// find returns the entry of k in stream st, or nil.
func (t *clockTable) find(k clockKey, st int) *clockSighting {
	i := t.next[st]
	if i < 0 || t.s[i].key != k {
		j, ok := t.idx[k]
		if !ok {
			return nil
		}
		i = j
	}
	t.next[st] = t.s[i].after
	return &t.s[i]
}

// add appends the first sighting of a packet to stream st.
func (t *clockTable) add(cs clockSighting, st int) {
	i := int32(len(t.s))
	cs.stream, cs.after = uint8(st), -1
	t.idx[cs.key] = i
	t.s = append(t.s, cs)
	if l := t.last[st]; l >= 0 {
		t.s[l].after = i
	}
	t.last[st] = i
}

// estimateClocks reads up to ClockSample packets of every node and sets
// a.offsets and a.clocks. The first node (sorted by name) is the reference.
func (a *analysis) estimateClocks() {
	if len(a.nodes) < 2 {
		return
	}
	perNode := make([]clockTable, len(a.nodes))
	for i := range perNode {
		perNode[i] = newClockTable()
	}
	count := make([]int, len(a.nodes))
	var o obs
	for _, s := range a.srcs {
		t := &perNode[s.node]
		for count[s.node] < a.opt.ClockSample && s.next(false) {
			count[s.node]++
			if !s.observe(a.tuples, &o) {
				continue
			}
			k := clockKey{o.key, o.lo}
			st := stream(&o)
			bit := uint64(1) << (uint(s.hop) % 64)
			cs := t.find(k, st)
			if cs == nil {
				t.add(clockSighting{key: k, first: s.rec.TS, last: s.rec.TS, maxTTL: o.ttl, hops: bit}, st)
				continue
			}
			cs.ambiguous = cs.ambiguous || cs.hops&bit != 0
			cs.hops |= bit
			cs.first, cs.last = min(cs.first, s.rec.TS), max(cs.last, s.rec.TS)
			cs.maxTTL = max(cs.maxTTL, o.ttl)
		}
	}
	ref := &perNode[0]
	for n := 1; n < len(a.nodes); n++ {
		minTo, minFrom := int64(math.MaxInt64), int64(math.MaxInt64)
		samples := 0
		// In the order first seen, so the reference's streams guess well.
		for i := range perNode[n].s {
			b := &perNode[n].s[i]
			r := ref.find(b.key, int(b.stream))
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
