package analyze

import (
	"cmp"
	"slices"
	"sort"

	"github.com/hoptrace/hoptrace/decode"
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
	// tsLo and tsHi are the earliest and the latest reference times of
	// its sightings (a capture's packets may step back a little), for
	// aggStage.emit.
	tsLo, tsHi int64
	obs        []obs
	dead       bool // merged into another packet, or finalized
	// uniform says every sighting has the range and IP ID of the first,
	// and hops which hops saw it (hops below 64, farHops the others, kept
	// while uniform): then fits needs no loop over the sightings (one
	// packet at 20,000 interfaces spent 1.2 s in that loop).
	uniform bool
	hops    uint64
	farHops map[int32]bool
	// refs counts the correlator's references to the packet: from its
	// queue and from its group. At zero it is reused.
	refs uint8
	// icmpErr is the first sighting's obs.icmpErr, and mixedErr says
	// some sightings are ICMP errors and some not (a fragmented ICMP
	// error), for aggStage.emit, which thus reads none of the sightings.
	icmpErr, mixedErr bool
}

// group holds the open packets of one key, sorted by start.
type group struct {
	pkts    []*packet
	head    int    // pkts[:head] are dead
	maxSpan uint32 // the widest range any packet of the group had
	// cur holds, by hop and form (see formSlot), where first-in-first-out
	// matching starts: every packet before it is dead or was seen at that
	// hop in that form, so no later sighting there can join it. Absolute
	// indexes into pkts; below head (or absent) means head.
	cur []int32
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
	cands     []*packet   // scratch
	tuples    *tupleTable // what obs.tuple numbers; nil: compare the numbers
	// clockErr and clockFrom are analysis': how far two nodes' reference
	// times may be from the truth (causal).
	clockErr  []int64
	clockFrom int64
	// work counts the open packets matching looked at, for tests of
	// its growth.
	work int
	// fitsOps counts the sightings fits compared a sighting with.
	fitsOps int
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

// maxOverlapping bounds how many open packets of one key overlapping a TCP
// data sighting's range matching looks at, newest first. Real traffic has
// a few (a segment, its retransmissions, the GRO super-frame holding it);
// a flood of identical segments has as many as the window holds, and
// looking at all of them for every sighting made matching quadratic. Past
// the bound a sighting joins among the newest, or starts a packet.
const maxOverlapping = 256

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
		p.tsLo, p.tsHi = min(p.tsLo, o.ts), max(p.tsHi, o.ts)
		g.maxSpan = max(g.maxSpan, p.hi-p.lo)
		f := &p.obs[0]
		p.uniform = p.uniform && o.lo == f.lo && o.hi == f.hi && o.ipid == f.ipid && o.tuple == f.tuple && o.dig == f.dig
		p.mixedErr = p.mixedErr || o.icmpErr != p.icmpErr
		p.addHop(o.hop)
		return
	}
	p := c.newPacket()
	*p = packet{key: o.key, start: o.lo, lo: o.lo, hi: o.hi, byRange: o.byRange, first: o.ts, tsLo: o.ts, tsHi: o.ts, obs: c.obsSlice(),
		uniform: true, refs: 2, icmpErr: o.icmpErr}
	p.addHop(o.hop)
	p.obs = append(p.obs, *o)
	g.maxSpan = max(g.maxSpan, o.hi-o.lo)
	g.insert(p)
	c.queue = append(c.queue, p)
}

// match finds the open packet o belongs to, merging packets o joins (GRO).
func (c *correlator) match(g *group, o *obs) *packet {
	if !o.tcpData() {
		return c.matchFIFO(g, o)
	}
	c.cands = c.cands[:0]
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
	overlapping := 0
	for j := i - 1; j >= g.head; j-- {
		p := g.pkts[j]
		c.work++
		if o.lo > g.maxSpan && p.start < o.lo-g.maxSpan {
			break
		}
		if p.dead || p.hi <= o.lo || o.hi <= p.lo {
			continue
		}
		if overlapping++; overlapping > maxOverlapping {
			break
		}
		if c.fits(p, o) {
			c.cands = append(c.cands, p)
		}
	}
	if len(c.cands) == 0 {
		return nil
	}
	// The oldest candidate wins, first in, first out per hop; one already
	// seen with o's tuple before one that fits only translated.
	if len(c.cands) > 1 {
		slices.SortFunc(c.cands, func(a, b *packet) int { return cmp.Compare(a.first, b.first) })
		if !hasTuple(c.cands[0], o.tuple) {
			if k := slices.IndexFunc(c.cands, func(q *packet) bool { return hasTuple(q, o.tuple) }); k > 0 {
				c.cands[0], c.cands[k] = c.cands[k], c.cands[0]
			}
		}
	}
	p := c.cands[0]
	// A sighting wider than p (GRO) also joins the other candidates it
	// covers: from here on they travel as one packet.
	for _, q := range c.cands[1:] {
		if q.lo >= o.lo && q.hi <= o.hi && !sharesHop(p, q) {
			p.mixedErr = p.mixedErr || q.mixedErr || q.icmpErr != p.icmpErr
			p.obs = append(p.obs, q.obs...)
			p.lo, p.hi = min(p.lo, q.lo), max(p.hi, q.hi)
			p.first = min(p.first, q.first)
			p.tsLo, p.tsHi = min(p.tsLo, q.tsLo), max(p.tsHi, q.tsHi)
			p.uniform = false
			q.dead = true
			c.free = append(c.free, q.obs[:0])
			q.obs = nil
		}
	}
	return p
}

// matchFIFO finds the oldest open packet o fits, for keys without a
// sequence range: datagrams, whose pieces a hop sees in the order sent,
// and packets of one range, [0,1). It starts at the group's cursor for o's
// hop and form and moves the cursor past the packets o found already seen
// there, so n sightings at a hop look at O(n) packets in all, not O(n²).
func (c *correlator) matchFIFO(g *group, o *obs) *packet {
	slot := formSlot(o)
	start := g.head
	if slot < len(g.cur) {
		start = max(start, int(g.cur[slot]))
	}
	cur, advancing := start, true
	var found *packet
	looked := 0
	for i := start; i < len(g.pkts); i++ {
		p := g.pkts[i]
		c.work++
		if !p.dead && c.fits(p, o) {
			if found == nil {
				found = p
			}
			if hasTuple(p, o.tuple) {
				found = p
				break
			}
			// p fits only translated: a younger packet already seen
			// with o's tuple is o's packet rather than p.
			if advancing = false; looked >= maxTranslated {
				break
			}
			looked++
			continue
		}
		if advancing && found == nil && (p.dead || closedAt(p, o)) {
			cur = i + 1
		} else {
			advancing = false
		}
	}
	if cur > start {
		g.setCursor(slot, cur)
	}
	return found
}

// maxTranslated bounds how many younger packets matching looks at for one
// already seen with a sighting's tuple, once an older one fits only
// through a translation.
const maxTranslated = 16

// hasTuple reports whether p was seen with tuple tu somewhere. Two pods'
// byte-identical datagrams of one sender (DNS answers from an unconnected
// socket) differ only in their destinations, as a packet before and after
// DNAT does: the packet already seen with the sighting's own tuple is the
// one it belongs to.
func hasTuple(p *packet, tu int32) bool {
	if p.uniform {
		return p.obs[0].tuple == tu
	}
	for k := range p.obs {
		if p.obs[k].tuple == tu {
			return true
		}
	}
	return false
}

// formSlot numbers a sighting's hop and form (carried in a tunnel or
// not): a packet crosses one hop twice only in two forms (NodePort: in
// plain, out inside VXLAN).
func formSlot(o *obs) int {
	s := int(o.hop) * 2
	if o.carrier != 0 {
		s++
	}
	return s
}

func (g *group) setCursor(slot, at int) {
	if slot >= len(g.cur) {
		g.cur = append(g.cur, make([]int32, slot+1-len(g.cur))...)
	}
	g.cur[slot] = int32(at)
}

// closedAt reports whether p was seen at o's hop in o's form, whole: no
// later sighting there in that form can join it.
func closedAt(p *packet, o *obs) bool {
	for k := range p.obs {
		q := &p.obs[k]
		if q.hop == o.hop && (!q.byRange || !q.frag) && (q.carrier != 0) == (o.carrier != 0) {
			return true
		}
	}
	return false
}

// addHop records that a sighting at hop h joined p, for fits.
func (p *packet) addHop(h int32) {
	if h < 64 {
		p.hops |= hopBit(h)
		return
	}
	if !p.uniform {
		return
	}
	if p.farHops == nil {
		p.farHops = make(map[int32]bool)
	}
	p.farHops[h] = true
}

// seenAt reports whether a sighting at hop h joined p, while p.uniform.
func (p *packet) seenAt(h int32) bool {
	if h < 64 {
		return p.hops&hopBit(h) != 0
	}
	return p.farHops[h]
}

// fits reports whether sighting o can be another sighting of p: it
// overlaps none of p's sightings in a way one packet cannot (see
// compatible).
func (c *correlator) fits(p *packet, o *obs) bool {
	tcpData := o.tcpData()
	if f := &p.obs[0]; p.uniform && !p.seenAt(o.hop) && o.lo == f.lo && o.hi == f.hi &&
		o.tuple == f.tuple && o.dig == f.dig {
		// o overlaps every sighting, all alike, at a new hop: the loop
		// below would find the same for each.
		return !tcpData || sameSegmentation(f, o)
	}
	c.fitsOps += len(p.obs)
	for k := range p.obs {
		q := &p.obs[k]
		if q.lo >= o.hi || o.lo >= q.hi {
			continue
		}
		if !c.compatible(q, o) {
			return false
		}
		if tcpData && !sameSegmentation(q, o) {
			return false
		}
	}
	return true
}

// compatible reports whether two sightings with overlapping ranges and one
// key can be of one packet:
//   - a hop sees a packet once in one form: a second sighting there with
//     the same encapsulation and tuple is a new packet. A packet crosses a
//     hop twice only changed: encapsulated since (NodePort: in plain on
//     eth0, out in VXLAN on eth0), or translated and routed (hairpin). A
//     second sighting there with another tuple and the same TTL is a new
//     packet too, whatever carries it: not routed, it was not translated
//     between the two (flannel's VXLAN source port follows the inner
//     tuple, so two pods' byte-alike DNS answers crossed eth0 in two
//     carriers: with the server's node not captured, one joined the
//     other's packet, and the other's path ended at the bridge, 16 false
//     drops).
//   - the source address changes only after routing, which lowers the TTL
//     (SNAT and the reverse of DNAT are done in POSTROUTING): two sightings
//     with one TTL and two sources are two senders' packets (two pods'
//     byte-identical datagrams). The destination may change without it:
//     DNAT in PREROUTING, which a bridge with br_netfilter applies before
//     the bridge device's capture sees the packet.
//   - a link-scoped packet (link-local, multicast or broadcast addresses)
//     is never routed, so it keeps one TTL on its segment: at another TTL
//     it is another packet (checked for keys without a range only, where
//     such packets are).
//   - pieces starting at one offset carry the same bytes.
func (c *correlator) compatible(q, o *obs) bool {
	sameTuple := q.tuple == o.tuple || q.ports != o.ports // a later fragment has no ports
	if q.hop == o.hop && (q.carrier == o.carrier && q.overhead == o.overhead && (sameTuple || q.ttl == o.ttl) || !sameTuple && q.ttl == o.ttl) {
		return false
	}
	if q.ttl == o.ttl && !sameTuple && !c.sameSource(q.tuple, o.tuple) {
		return false
	}
	if q.ttl != o.ttl && !o.byRange && o.proto != decode.ProtoTCP && c.linkTuple(o.tuple) {
		return false
	}
	if q.ttl != o.ttl && !c.causal(q, o) {
		return false
	}
	return q.dig == 0 || o.dig == 0 || q.lo != o.lo || q.dig == o.dig
}

// causal reports whether two sightings at different TTLs can be one
// packet's in time: the one routed fewer times (the higher TTL) came
// first, give or take the nodes' clock errors and a capture's reordering.
// Two pods' byte-alike DNS queries (IP ID 0, the lab's fixed transaction
// IDs) 11.9 ms apart: with node-1 captured only at pod B's veth, pod B's
// query there joined pod A's seen on node-2 11.9 ms before (its source
// "translated" after routing), and a SNAT of pod B's flow to pod A's
// address was reported, its answers lost (TestCausalOrder). Byte-alike
// packets closer than the slack (a fresh lab run sends the two queries 1
// ms apart) are not told apart so, where the captures that would anchor
// each are missing.
func (c *correlator) causal(q, o *obs) bool {
	up, down := q, o
	if o.ttl > q.ttl {
		up, down = o, q
	}
	slack := int64(reorderSlack)
	if up.node != down.node {
		eu, ed := c.errOf(up.node), c.errOf(down.node)
		if eu < 0 || ed < 0 {
			return true // no bound: any order
		}
		// The offsets hold when the clock pass' packets were taken; a
		// clock drifts from them, by at most 500 ppm (NTP's slew), which
		// this check is not to take for a violation (a 10-minute
		// capture: 300 ms).
		slack += eu + ed + max(0, up.ts-c.clockFrom)/2000
	}
	return up.ts-down.ts <= slack
}

// errOf is the error bound of node n's clock, -1 if unknown.
func (c *correlator) errOf(n int32) int64 {
	if int(n) < len(c.clockErr) {
		return c.clockErr[n]
	}
	return -1
}

// linkTuple reports a tuple (numbered in c.tuples) with a link-local,
// multicast or broadcast address.
func (c *correlator) linkTuple(id int32) bool {
	if c.tuples == nil {
		return false
	}
	t := c.tuples.tuple(id)
	return linkAddr(t.Src) || linkAddr(t.Dst)
}

// sameSource reports whether two tuples (numbered in c.tuples) have one
// source address.
func (c *correlator) sameSource(a, b int32) bool {
	if c.tuples == nil {
		return a == b
	}
	k := c.tuples.keys
	return k[a].src == k[b].src && k[a].v4 == k[b].v4
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
	// Every segment but the last is mss long.
	return mss >= 64 && (b.hi-b.lo == mss || b.hi-b.lo < mss && b.hi >= a.hi)
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
	for k, at := range g.cur {
		g.cur[k] = min(at, int32(i)) // p is open at every hop
	}
}

// expire finalizes every packet first seen before t. It runs for every
// sighting and mostly finds nothing to do: the check is inlined at add and
// the work is in expireQueue (the 300k-sighting incident, bench/genincident
// -n 20000: 709.1M to 702.0M instructions; valgrind).
func (c *correlator) expire(t int64) {
	if c.qhead < len(c.queue) && c.queue[c.qhead].first < t {
		c.expireQueue(t)
	}
}

func (c *correlator) expireQueue(t int64) {
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
		for k, at := range g.cur {
			g.cur[k] = max(0, at-int32(g.head))
		}
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
	*g = group{pkts: g.pkts[:0], cur: g.cur[:0]}
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
