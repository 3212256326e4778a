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
// stream is tried first: most lookups then cost one comparison. The rest go
// through an open-addressing index of 8-byte slots; entries are values in
// fixed chunks. That takes about 60 bytes per packet where a Go map of
// pointers took over 100, and never copies the entries to grow.
type clockTable struct {
	slots  []clockSlot // linear probing, at most 3/4 full; len a power of 2
	n      int32       // entries
	chunks [][]clockSighting
	next   [clockStreams]int32 // per stream: likely index of the next lookup
	last   [clockStreams]int32 // per stream: the last sighting added
}

// clockSlot indexes one entry: idx+1 (0: empty) and bits of its hash.
type clockSlot struct {
	idx int32
	tag uint32
}

// clockStreams is how many streams are told apart, by their tuple.
const clockStreams = 16

const clockChunk = 4096

func newClockTable() clockTable {
	t := clockTable{slots: make([]clockSlot, 1024)}
	for i := range t.last {
		t.next[i], t.last[i] = -1, -1
	}
	return t
}

// stream returns the stream of a sighting: its tuple. It only steers the
// guess.
func stream(o *obs) int { return int(o.tuple) % clockStreams }

func (t *clockTable) at(i int32) *clockSighting { return &t.chunks[i/clockChunk][i%clockChunk] }

func (k clockKey) hash() uint64 {
	return (k.key ^ uint64(k.lo)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
}

// find returns the entry of k in stream st, or nil.
func (t *clockTable) find(k clockKey, st int) *clockSighting {
	if i := t.next[st]; i >= 0 {
		if e := t.at(i); e.key == k {
			t.next[st] = e.after
			return e
		}
	}
	h := k.hash()
	mask := uint64(len(t.slots) - 1)
	for p := h >> 32 & mask; ; p = (p + 1) & mask {
		sl := t.slots[p]
		if sl.idx == 0 {
			return nil
		}
		if sl.tag == uint32(h) {
			if e := t.at(sl.idx - 1); e.key == k {
				t.next[st] = e.after
				return e
			}
		}
	}
}

// add appends the first sighting of a packet (not in t) to stream st.
func (t *clockTable) add(cs clockSighting, st int) {
	if 4*int(t.n+1) > 3*len(t.slots) {
		old := t.slots
		t.slots = make([]clockSlot, 2*len(old))
		for _, sl := range old {
			if sl.idx != 0 {
				t.insert(t.at(sl.idx-1).key.hash(), sl.idx)
			}
		}
	}
	i := t.n
	t.n++
	if i%clockChunk == 0 {
		var c []clockSighting // the first grows from small, for small captures
		if i > 0 {
			c = make([]clockSighting, 0, clockChunk)
		}
		t.chunks = append(t.chunks, c)
	}
	cs.stream, cs.after = uint8(st), -1
	c := &t.chunks[len(t.chunks)-1]
	*c = append(*c, cs)
	t.insert(cs.key.hash(), i+1)
	if l := t.last[st]; l >= 0 {
		t.at(l).after = i
	}
	t.last[st] = i
}

func (t *clockTable) insert(h uint64, idx int32) {
	mask := uint64(len(t.slots) - 1)
	p := h >> 32 & mask
	for t.slots[p].idx != 0 {
		p = (p + 1) & mask
	}
	t.slots[p] = clockSlot{idx: idx, tag: uint32(h)}
}

// estimateClocks reads up to ClockSample packets of every node and sets
// a.offsets and a.clocks. The first node (sorted by name) is the reference.
//
// It logs what it reads, up to logBudget sightings in all, so that the
// main pass takes those packets from the log and reads each file on from
// where the clock pass stopped. A capture whose sample (what the clock
// pass reads of it) does not fit in what is left of the budget is not
// logged, and the main pass reads it again from its start.
func (a *analysis) estimateClocks() {
	if len(a.nodes) < 2 {
		return
	}
	perNode := make([]clockTable, len(a.nodes))
	for i := range perNode {
		perNode[i] = newClockTable()
	}
	count := make([]int, len(a.nodes))
	var scratch seen
	var facts seenFacts
	budget := logBudget
	for _, s := range a.srcs {
		t := &perNode[s.node]
		for count[s.node] < a.opt.ClockSample && s.read() {
			count[s.node]++
			s.hop = a.hopID(s)
			if !s.reread && s.log.n == budget {
				s.log, s.reread = sightingLog{}, true // the main pass reads it all again
			}
			e := &scratch
			if !s.reread {
				e = s.log.add()
				if s.fill(e, &facts) {
					s.log.addFacts(e, &facts)
				}
				if a.opt.Keep == nil || a.opt.Keep(&s.rec) {
					e.flags |= seenKept
				}
				if e.flags&seenObserved == 0 {
					continue
				}
			} else if !s.observe(a.tuples, &e.o) {
				continue
			}
			o := &e.o
			k := clockKey{o.key, o.lo}
			st := stream(o)
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
		budget -= s.log.n
	}
	ref := &perNode[0]
	for n := 1; n < len(a.nodes); n++ {
		minTo, minFrom := int64(math.MaxInt64), int64(math.MaxInt64)
		samples := 0
		// In the order first seen, so the reference's streams guess well.
		for i := range perNode[n].n {
			b := perNode[n].at(i)
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
