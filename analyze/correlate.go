package analyze

import (
	"cmp"
	"slices"
	"sort"
)

// packet is one packet followed across hops: every sighting of it, in the
// order they arrived. GSO and fragmentation make one packet several pieces
// at some hops; GRO makes several packets one, and they are merged.
type packet struct {
	key     uint64
	start   uint32 // the first sighting's lo: the packet's place in its group
	lo, hi  uint32 // union of the pieces' ranges
	byRange bool
	first   int64 // reference time of the first sighting
	obs     []obs
	dead    bool // merged into another packet, or finalized
	// uniform says every sighting has the range and IP ID of the first,
	// and hops which hops saw it (hops below 64; uniform is false once a
	// later one has): then fits needs no loop over the sightings.
	uniform bool
	hops    uint64
	// refs counts the correlator's references to the packet: from its
	// queue and from its group. At zero it is reused.
	refs uint8
}

// group holds the open packets of one key, sorted by start.
type group struct {
	pkts    []*packet
	head    int    // pkts[:head] are dead
	maxSpan uint32 // the widest range any packet of the group had
}

// correlator matches sightings into packets within a time window and hands
// each packet to emit once no later sighting can join it. Memory is bounded
// by the packets seen within one window.
//
// The window adapts: a packet stays open for spanFactor times the longest
// span (first to last sighting) any packet has had so far, at least
// minWindow and at most the configured window. Packets cross a pod network
// in microseconds to milliseconds, so this keeps few packets open.
type correlator struct {
	maxWindow int64
	window    int64 // in force: clamp(spanFactor*maxSpan, minWindow, maxWindow)
	maxSpan   int64
	groups    map[uint64]*group
	queue     []*packet // by creation, hence by first sighting
	qhead     int
	emit      func(*packet)
	cands     []*packet // scratch
	// free holds the sighting slices of finished packets for reuse: emit
	// keeps nothing of a packet once it returns. freeGroups holds emptied
	// groups: most keys are one packet's, so a group per packet.
	free       [][]obs
	freeGroups []*group
	freePkts   []*packet
	// recent caches groups by key in front of the map, direct-mapped by
	// the key's low bits: a bulk flow's data shares one key, and a packet's
	// sightings come close together.
	recent [recentGroups]groupSlot
}

type groupSlot struct {
	key uint64
	g   *group
}

const recentGroups = 16 // a power of 2

// Adaptive window bounds.
const (
	spanFactor = 8
	minWindow  = 50_000_000 // 50 ms
)

func newCorrelator(window int64, emit func(*packet)) *correlator {
	c := &correlator{maxWindow: window, groups: make(map[uint64]*group), emit: emit}
	c.window = min(minWindow, window)
	return c
}

// add takes the next sighting; sightings must come in reference-time order.
func (c *correlator) add(o *obs) {
	c.expire(o.ts - c.window)
	sl := &c.recent[o.key%recentGroups]
	g := sl.g
	if g == nil || sl.key != o.key {
		if g = c.groups[o.key]; g == nil {
			g = c.newGroup()
			c.groups[o.key] = g
		}
		sl.key, sl.g = o.key, g
	}
	if p := c.match(g, o); p != nil {
		if span := o.ts - p.first; span > c.maxSpan {
			c.maxSpan = span
			c.window = min(max(spanFactor*span, minWindow), c.maxWindow)
		}
		p.obs = append(p.obs, *o)
		p.lo, p.hi = min(p.lo, o.lo), max(p.hi, o.hi)
		g.maxSpan = max(g.maxSpan, p.hi-p.lo)
		f := &p.obs[0]
		p.uniform = p.uniform && o.hop < 64 && o.lo == f.lo && o.hi == f.hi && o.ipid == f.ipid
		p.hops |= hopBit(o.hop)
		return
	}
	p := c.newPacket()
	*p = packet{key: o.key, start: o.lo, lo: o.lo, hi: o.hi, byRange: o.byRange, first: o.ts, obs: c.obsSlice(),
		uniform: o.hop < 64, hops: hopBit(o.hop), refs: 2}
	p.obs = append(p.obs, *o)
	g.maxSpan = max(g.maxSpan, o.hi-o.lo)
	g.insert(p)
	c.queue = append(c.queue, p)
}

// match finds the open packet o belongs to, merging packets o joins (GRO).
func (c *correlator) match(g *group, o *obs) *packet {
	c.cands = c.cands[:0]
	if o.byRange && !o.tcpData() {
		// An IPv4 datagram: its key holds the IP ID, so every open packet
		// of the group is the same datagram unless a hop saw it twice.
		for _, p := range g.pkts[g.head:] {
			if !p.dead && fits(p, o) {
				return p
			}
		}
		return nil
	}
	// Packets sorted by start; those overlapping [lo,hi) start before hi
	// and no earlier than lo-maxSpan. i is the first starting at hi or
	// later. A group can hold every packet of a window (a bulk flow's data
	// shares one key), and sightings mostly belong to its latest packets:
	// gallop back from the end, then search the bracket found.
	i, end := g.head, len(g.pkts)
	for step := 1; end-step >= i; step *= 2 {
		if j := end - step; g.pkts[j].start < o.hi {
			i = j + 1
			break
		}
		end -= step
	}
	for i < end {
		m := int(uint(i+end) >> 1)
		if g.pkts[m].start >= o.hi {
			end = m
		} else {
			i = m + 1
		}
	}
	for j := i - 1; j >= g.head; j-- {
		p := g.pkts[j]
		if o.lo > g.maxSpan && p.start < o.lo-g.maxSpan {
			break
		}
		if !p.dead && p.lo < o.hi && o.lo < p.hi && fits(p, o) {
			c.cands = append(c.cands, p)
		}
	}
	if len(c.cands) == 0 {
		return nil
	}
	// The oldest candidate wins: first in, first out per hop.
	if len(c.cands) > 1 {
		slices.SortFunc(c.cands, func(a, b *packet) int { return cmp.Compare(a.first, b.first) })
	}
	p := c.cands[0]
	if !o.byRange {
		return p
	}
	// A sighting wider than p (GRO) also joins the other candidates it
	// covers: from here on they travel as one packet.
	for _, q := range c.cands[1:] {
		if q.lo >= o.lo && q.hi <= o.hi && !sharesHop(p, q) {
			p.obs = append(p.obs, q.obs...)
			p.lo, p.hi = min(p.lo, q.lo), max(p.hi, q.hi)
			p.first = min(p.first, q.first)
			p.uniform = false
			q.dead = true
			c.free = append(c.free, q.obs[:0])
			q.obs = nil
		}
	}
	return p
}

// fits reports whether sighting o can be another sighting of p.
func fits(p *packet, o *obs) bool {
	tcpData := o.tcpData()
	if f := &p.obs[0]; p.uniform && o.hop < 64 && o.lo == f.lo && o.hi == f.hi {
		// o overlaps every sighting, all alike: the loop below would
		// find the same for each.
		return p.hops&hopBit(o.hop) == 0 && (!tcpData || sameSegmentation(f, o))
	}
	for k := range p.obs {
		q := &p.obs[k]
		if q.lo >= o.hi || o.lo >= q.hi {
			continue
		}
		if q.hop == o.hop {
			return false // a hop sees a packet once: this is a new one
		}
		if tcpData && !sameSegmentation(q, o) {
			return false
		}
	}
	return true
}

// sameSegmentation checks the IP IDs of two TCP data sightings with
// overlapping ranges against how GSO numbers segments: segment k of a
// super-frame with ID i and sequence S carries ID i+k and starts at S+k*mss.
// A retransmission covers the same bytes under a new ID and fails the check.
func sameSegmentation(a, b *obs) bool {
	if a.v6 || a.lo == b.lo && a.hi == b.hi {
		return a.ipid == b.ipid
	}
	if b.lo < a.lo || (b.lo == a.lo && b.hi > a.hi) {
		a, b = b, a // a is the earlier-starting (or wider) one
	}
	d := (b.ipid - a.ipid) & 0xffff
	off := b.lo - a.lo
	switch {
	case d == 0:
		return off == 0
	case off%d != 0:
		return false
	}
	mss := off / d
	return mss >= 64 && (b.hi-b.lo == mss || b.hi-b.lo < mss)
}

// sharesHop reports whether two packets overlap at some hop, which makes
// them different packets.
func sharesHop(p, q *packet) bool {
	for i := range p.obs {
		for j := range q.obs {
			a, b := &p.obs[i], &q.obs[j]
			if a.hop == b.hop && a.lo < b.hi && b.lo < a.hi {
				return true
			}
		}
	}
	return false
}

func (g *group) insert(p *packet) {
	n := len(g.pkts)
	if n == g.head || g.pkts[n-1].start <= p.start {
		g.pkts = append(g.pkts, p)
		return
	}
	i := sort.Search(n-g.head, func(i int) bool { return g.pkts[g.head+i].start > p.start }) + g.head
	g.pkts = append(g.pkts, nil)
	copy(g.pkts[i+1:], g.pkts[i:])
	g.pkts[i] = p
}

// expire finalizes every packet first seen before t.
func (c *correlator) expire(t int64) {
	for c.qhead < len(c.queue) && c.queue[c.qhead].first < t {
		p := c.queue[c.qhead]
		c.queue[c.qhead] = nil
		c.qhead++
		c.finalize(p)
		c.release(p)
	}
	if c.qhead > 1024 && c.qhead*2 > len(c.queue) {
		c.queue = append(c.queue[:0], c.queue[c.qhead:]...)
		c.qhead = 0
	}
}

// flush finalizes every open packet.
func (c *correlator) flush() { c.expire(1<<63 - 1) }

func (c *correlator) finalize(p *packet) {
	merged := p.dead
	p.dead = true
	g := c.groups[p.key]
	if g == nil {
		return // merged into a packet finalized before it
	}
	for g.head < len(g.pkts) && g.pkts[g.head].dead {
		q := g.pkts[g.head]
		g.pkts[g.head] = nil
		g.head++
		c.release(q)
	}
	switch {
	case g.head == len(g.pkts):
		delete(c.groups, p.key)
		if sl := &c.recent[p.key%recentGroups]; sl.g == g {
			sl.g = nil
		}
		c.freeGroups = append(c.freeGroups, g)
	case g.head > 64 && g.head*2 > len(g.pkts):
		g.pkts = append(g.pkts[:0], g.pkts[g.head:]...)
		g.head = 0
	}
	if !merged {
		c.emit(p)
	}
	if p.obs != nil {
		c.free = append(c.free, p.obs[:0])
		p.obs = nil
	}
}

// newGroup returns an empty group, reused when one is free.
func (c *correlator) newGroup() *group {
	n := len(c.freeGroups)
	if n == 0 {
		return &group{}
	}
	g := c.freeGroups[n-1]
	c.freeGroups = c.freeGroups[:n-1]
	clear(g.pkts)
	*g = group{pkts: g.pkts[:0]}
	return g
}

// newPacket returns a packet to fill, reused when one is free.
func (c *correlator) newPacket() *packet {
	if n := len(c.freePkts); n > 0 {
		p := c.freePkts[n-1]
		c.freePkts = c.freePkts[:n-1]
		return p
	}
	return new(packet)
}

// release drops one reference to p; the last frees it for reuse.
func (c *correlator) release(p *packet) {
	if p.refs--; p.refs == 0 {
		c.freePkts = append(c.freePkts, p)
	}
}

// obsSlice returns an empty sightings slice, reused when one is free.
func (c *correlator) obsSlice() []obs {
	if n := len(c.free); n > 0 {
		s := c.free[n-1]
		c.free = c.free[:n-1]
		return s
	}
	return make([]obs, 0, 16)
}
