package analyze

import (
	"math"
	"slices"
	"time"
	"unsafe"
)

// Clock offsets between nodes are estimated the way NTP does it, from
// packets seen on two nodes: a packet from node R to node N arrives
// d1 = delay1 + θ after it left (θ: N's clock minus R's), one from N to R
// arrives d2 = delay2 − θ after it left. With the smallest delays of each
// direction, θ = (min d1 − min d2) / 2, off by at most (min d1 + min d2) / 2.
//
// The sender of a packet is the node that saw it with the highest inner
// TTL (routing decrements it on the way); when both saw the same highest
// TTL (a host that sent it straight to a node's eth0, as an external
// server answering a SNATed request does), the node that also saw it with
// a lower TTL routed it on, so it is the receiver. Where the TTLs are the
// same on both nodes (captures of the wire alone, eth0 on each), the node
// whose links saw it only leave is the sender of one whose links saw it
// only come in (linkdir.go); else the packet gives no sample. The
// identity keys leave addresses out, so NATed packets and ICMP errors
// give samples as well.
//
// Every pair of nodes is estimated. The reference is chosen by the data:
// the node the most others agree with, then the one tied (samples both
// ways) to the most others, then the one with the most samples, then the
// first by name; nodes tied only to others are reached through them,
// their offsets and errors added up.

// reorderSlack is how far a packet may be stamped before the latest
// packet of its capture without a warning. Captures of several interfaces
// (tcpdump -i any) are stamped on several CPUs and interleave by some
// microseconds: the committed lab captures step back by up to 115 µs
// (bulk-offload-off, n2-any.pcap, 191 times), on nearly every incident.
// Beyond a millisecond it is disorder worth saying.
const reorderSlack = 1_000_000

// clockKey identifies a packet for the clock pass: its identity key, where
// its range starts and its digest. An IPv4 datagram's key holds its IP ID
// but not its digest (the analysis compares digests where two pieces start
// at one offset), and unrelated datagrams share IDs: the LAN's datagram to
// node-2 and one of pod A's, stamped 67 ms apart, made one packet "sent"
// by node-1 and seen on node-2 before it left, and node-2's clock 33 ms
// off (TestClockUnrelatedSameIPID). A datagram whose capture holds too
// little for the digest (dig 0) is then matched only with others cut as
// short, as every other key's digest word is.
//
// The digest is folded into the key word (an odd multiple added: keys are
// hashes, fin, so two packets' words still meet by chance once in 2^64).
// The whole analysis of the 1M-sighting incident took 2,298.4M
// instructions before the digest, 2,301.3M with it a field of its own (a
// 16-byte key), 2,299.7M folded (callgrind, --jobs 1, GOMAXPROCS=1).
type clockKey struct {
	key uint64
	lo  uint32
}

// clockKeyOf is o's clockKey.
func clockKeyOf(o *obs) clockKey {
	return clockKey{o.key + uint64(o.dig)*0x9e3779b97f4a7c15, o.lo}
}

// clockSighting summarises one packet's sightings on one node.
type clockSighting struct {
	key         clockKey
	first, last int64  // node clock
	hopTTLs     uint64 // bit per (hop, TTL) seen, hashed
	after       int32  // the next sighting first seen in the same stream, or -1
	chFirst     int32  // the clock chunk of first
	chLast      int32  // and of last
	maxTTL      uint8
	minTTL      uint8
	// flags: clockAmbiguous, seen twice at one hop with one TTL, as a
	// retransmission sharing the key would be (a packet crossing a hop
	// twice, a NodePort request leaving eth0 again inside VXLAN, is seen
	// there with two TTLs); clockSent and clockGot, seen leaving by an
	// interface of the node, and coming in by one (obs.link). One byte for
	// the three keeps an entry at 56 bytes.
	flags  uint8
	stream uint8 // see clockTable
}

// clockTable holds one node's sightings by key. Each capture of a node sees
// a stream of packets (one direction of a flow, say) in the order the
// first one saw it, so the sighting after the last one found in the same
// stream is tried first: most lookups then cost one comparison. The rest go
// through an open-addressing index of 8-byte slots; entries are values in
// fixed chunks. That takes 56 bytes per packet and 11-21 of index where a Go map of
// pointers took over 100, and never copies the entries to grow.
type clockTable struct {
	slots  []clockSlot // linear probing, at most 3/4 full; len a power of 2
	n      int32       // entries
	chunks [][]clockSighting
	next   [clockStreams]int32 // per stream: likely index of the next lookup
	last   [clockStreams]int32 // per stream: the last sighting added
}

// clockSlot indexes one entry: idx+1 (0: empty) and the high half of its
// hash, whose low bits are its home slot: growing the index re-places the
// slots from their tags alone, reading no entry (it read each entry's key
// to hash it again: the 1M-sighting incident's clock pass took 0.0421–
// 0.0428 s of CPU so against 0.0438–0.0461 s, BenchmarkCores -cpu 1,
// least of 10, three alternating rounds).
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
// Unsigned (tuple numbers are never negative), the modulo is a mask: on
// the 300k-sighting incident (bench/genincident -n 20000, callgrind,
// GOMAXPROCS=1, -pgo=off) 0.9M instructions, 2.4M signed.
func stream(o *obs) int { return int(uint32(o.tuple) % clockStreams) }

// at returns entry i, which is never negative: unsigned, the division and
// modulo are a shift and a mask (the 300k-sighting incident: 6.4M
// instructions, 8.5M signed; callgrind, -pgo=off).
func (t *clockTable) at(i int32) *clockSighting {
	return &t.chunks[uint32(i)/clockChunk][uint32(i)%clockChunk]
}

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
		if sl.tag == uint32(h>>32) {
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
				t.insert(sl)
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
	t.insert(clockSlot{idx: i + 1, tag: uint32(cs.key.hash() >> 32)})
	if l := t.last[st]; l >= 0 {
		t.at(l).after = i
	}
	t.last[st] = i
}

// bytes is about what t holds in memory.
func (t *clockTable) bytes() int {
	return len(t.slots)*int(unsafe.Sizeof(clockSlot{})) + len(t.chunks)*clockChunk*int(unsafe.Sizeof(clockSighting{}))
}

func (t *clockTable) insert(sl clockSlot) {
	mask := uint32(len(t.slots) - 1)
	p := sl.tag & mask
	for t.slots[p].idx != 0 {
		p = (p + 1) & mask
	}
	t.slots[p] = sl
}

// estimateClocks reads up to ClockSample packets of every node and sets
// a.offsets and a.clocks (see settleClocks for the reference).
//
// The main pass reads each capture again from its start (source.reread).
// Until 2026-12-04 the clock pass logged what it read, up to 512k
// sightings (about 45 MB), for the main pass to take instead of decoding
// them twice: it saved instructions, but the log's fresh pages cost the
// kernel more (page faults, zeroing) than decoding again costs. On the
// 1M-sighting incident (GOMAXPROCS=1, 15 runs interleaved) 0.23 s of CPU
// least, 0.25 s median without, against 0.25 s and 0.28 s with it; peak
// RSS 63 MB against 125 MB; page faults 15.5k against 31k. On the 10.5M
// one: the same CPU time within the noise (1.92–2.03 s against
// 1.94–2.02 s), RSS 85 MB against 123 MB. The output is the same.
func (a *analysis) estimateClocks() {
	for _, s := range a.srcs {
		s.clk.chunk, s.clk.reanchorAt, s.clk.lastRaw = -1, -1, noRaw
	}
	if len(a.nodes) < 2 {
		for _, s := range a.srcs {
			s.f.Reanchor = true
		}
		return
	}
	gap := a.chunkGap()
	perNode := make([]clockTable, len(a.nodes))
	for i := range perNode {
		perNode[i] = newClockTable()
	}
	count := make([]int, len(a.nodes))
	var o obs
	for i, s := range a.srcs {
		t := &perNode[s.node]
		// What is left of the node's sample, in a local: the loop's check
		// through count and a.opt took 5.9M instructions on the
		// 300k-sighting incident, 2.7M so (callgrind, -pgo=off).
		left := a.opt.ClockSample - count[s.node]
		for left > 0 && s.read() {
			left--
			if d := s.rec.TS - s.clk.lastRaw; newChunkAt(d, gap) {
				a.newChunk(s, int32(i), d, s.packets)
			}
			s.clk.lastRaw = s.rec.TS
			// A capture mostly has one interface: at the last packet's,
			// the hop is the last packet's (the reader numbers straight in
			// the analysis' tables here). Asking hopID for every packet
			// took 11.1M instructions on the 300k-sighting incident, this
			// check 2.7M (callgrind, -pgo=off).
			if s.direct == nil || s.hops == nil || s.ifaceKey() != s.lastIface {
				s.hop = a.hopID(s)
			}
			s.reread = true
			if !s.observeClock(a.tuples, &o) {
				continue
			}
			k := clockKeyOf(&o)
			st := stream(&o)
			ttlBit := uint64(1) << ((uint(s.hop)*37 + uint(o.ttl)) % 64)
			cs := t.find(k, st)
			ts, ch := s.rec.TS, s.clk.chunk
			if cs == nil {
				t.add(clockSighting{key: k, first: ts, last: ts, chFirst: ch, chLast: ch, maxTTL: o.ttl, minTTL: o.ttl, hopTTLs: ttlBit, flags: linkFlags[o.link]}, st)
				continue
			}
			if cs.hopTTLs&ttlBit != 0 {
				cs.flags |= clockAmbiguous
			}
			cs.flags |= linkFlags[o.link]
			cs.hopTTLs |= ttlBit
			if ts < cs.first {
				cs.first, cs.chFirst = ts, ch
			}
			if ts > cs.last {
				cs.last, cs.chLast = ts, ch
			}
			cs.maxTTL = max(cs.maxTTL, o.ttl)
			cs.minTTL = min(cs.minTTL, o.ttl)
		}
		count[s.node] = a.opt.ClockSample - left
		// The main pass re-anchors the steps the clock pass did not see.
		if s.reread {
			s.clk.reanchorAt = s.packets
		} else {
			s.f.Reanchor = true
		}
	}
	a.endChunks()
	a.settleClocks(perNode)
}

// sight adds a sighting at hop (the analysis'), stamped ts (node clock),
// in clock chunk ch, for the piped clock pass (clockpipe.go).
// estimateClocks' loop does the same written out: calling sight there
// made the 300k-sighting incident 655.0M instructions instead of 644.4M
// (valgrind --tool=lackey, GOMAXPROCS=1; sight is over the inliner's
// budget).
func (t *clockTable) sight(o *obs, hop int32, ts int64, ch int32) {
	k := clockKeyOf(o)
	st := stream(o)
	ttlBit := uint64(1) << ((uint(hop)*37 + uint(o.ttl)) % 64)
	cs := t.find(k, st)
	if cs == nil {
		t.add(clockSighting{key: k, first: ts, last: ts, chFirst: ch, chLast: ch, maxTTL: o.ttl, minTTL: o.ttl, hopTTLs: ttlBit, flags: linkFlags[o.link]}, st)
		return
	}
	if cs.hopTTLs&ttlBit != 0 {
		cs.flags |= clockAmbiguous
	}
	cs.flags |= linkFlags[o.link]
	cs.hopTTLs |= ttlBit
	if ts < cs.first {
		cs.first, cs.chFirst = ts, ch
	}
	if ts > cs.last {
		cs.last, cs.chLast = ts, ch
	}
	cs.maxTTL = max(cs.maxTTL, o.ttl)
	cs.minTTL = min(cs.minTTL, o.ttl)
}

// clockPair is what the packets seen on two nodes tell of their clocks.
type clockPair struct {
	samples          int
	minTo, minFrom   int64 // smallest delay from the first node to the second, and back
	offset, errBound int64 // the second node's clock minus the first's, and its bound
	tied             bool  // samples in both directions
}

// pairClocks estimates node b's clock against node a's from the packets
// both saw, and adds each sample to its pair of chunks.
func pairClocks(ta, tb *clockTable, cp *chunkPairs) clockPair {
	p := clockPair{minTo: math.MaxInt64, minFrom: math.MaxInt64}
	to, from := newLowest(), newLowest()
	// In the order first seen, so the first node's streams guess well.
	for i := range tb.n {
		y := tb.at(i)
		x := ta.find(y.key, int(y.stream))
		if x == nil || (x.flags|y.flags)&clockAmbiguous != 0 {
			continue
		}
		switch sender(x, y) {
		case 1: // a → b
			d := y.first - x.last
			if d < to[lowestKept-1] { // most are not among the smallest: add is not inlined
				to.add(d)
			}
			p.samples++
			cp.add(x.chLast, y.chFirst, true, d)
		case -1: // b → a
			d := x.first - y.last
			if d < from[lowestKept-1] {
				from.add(d)
			}
			p.samples++
			cp.add(x.chFirst, y.chLast, false, d)
		}
	}
	p.minTo, p.minFrom = consistentMins(&to, &from)
	if p.minTo != math.MaxInt64 && p.minFrom != math.MaxInt64 {
		p.tied = true
		p.offset = (p.minTo - p.minFrom) / 2
		p.errBound = (p.minTo + p.minFrom) / 2
	}
	return p
}

// lowestKept is how many of the smallest delays of each direction a pair
// of nodes keeps for consistentMins.
const lowestKept = 8

// lowest holds the smallest delays of one direction, smallest first,
// math.MaxInt64 where there are fewer.
type lowest [lowestKept]int64

func newLowest() lowest {
	var l lowest
	for i := range l {
		l[i] = math.MaxInt64
	}
	return l
}

func (l *lowest) add(d int64) {
	if d >= l[lowestKept-1] {
		return
	}
	i := lowestKept - 1
	for ; i > 0 && l[i-1] > d; i-- {
		l[i] = l[i-1]
	}
	l[i] = d
}

// consistentMins returns the smallest delay of each direction that the
// other direction does not contradict. A delay from node a to node b is
// the packet's time in flight plus b's clock offset, one back is its time
// minus the offset: the two smallest add up to a round trip, never below
// zero, whatever the offset. A sum below zero says one of them is no
// packet's delay: a packet taken for another that shares its key, an
// unrelated one stamped earlier on the receiving node (the LAN's datagram
// to node-2 and pod A's, one IP ID and the first payload bytes alike: a
// delay of −67 ms and node-2's clock 33 ms off, TestClockKeyCollision).
// The fewest smallest delays are set aside until the two agree; where no
// kept pair agrees (a clock that stepped while the captures ran:
// clockstep.go sorts that out), the smallest are kept.
func consistentMins(to, from *lowest) (int64, int64) {
	if to[0] == math.MaxInt64 || from[0] == math.MaxInt64 || to[0]+from[0] >= 0 {
		return to[0], from[0]
	}
	best, bi, bj := lowestKept*2, 0, 0
	for i := 0; i < lowestKept && to[i] != math.MaxInt64; i++ {
		for j := 0; j < lowestKept && from[j] != math.MaxInt64 && i+j < best; j++ {
			if to[i]+from[j] >= 0 {
				best, bi, bj = i+j, i, j
				break
			}
		}
	}
	if best == lowestKept*2 {
		return to[0], from[0]
	}
	return to[bi], from[bj]
}

// oneWay returns the offset one direction alone suggests, taking the
// fastest packet to have taken no time; false without samples.
func (p *clockPair) oneWay() (int64, bool) {
	switch {
	case p.tied || p.samples == 0:
		return 0, false
	case p.minTo != math.MaxInt64:
		return p.minTo, true
	default:
		return -p.minFrom, true
	}
}

// Bits of clockSighting.flags.
const (
	clockAmbiguous uint8 = 1 << iota
	clockSent
	clockGot
)

// linkFlags are the flags of a sighting by its obs.link.
var linkFlags = [4]uint8{linkOut: clockSent, linkIn: clockGot}

// sender tells which of two nodes sent a packet both saw: 1 for the
// first, -1 for the second, 0 when neither the TTLs nor the links can
// tell. A node that saw it leave by an interface and never come in by one
// sent it to a node that saw it only come in (linkdir.go).
func sender(x, y *clockSighting) int {
	const out, in = clockSent, clockGot
	switch {
	case x.maxTTL > y.maxTTL:
		return 1
	case y.maxTTL > x.maxTTL:
		return -1
	case x.minTTL > y.minTTL: // same highest TTL: y routed it on
		return 1
	case y.minTTL > x.minTTL:
		return -1
	case x.flags&(out|in) == out && y.flags&(out|in) == in:
		return 1
	case x.flags&(out|in) == in && y.flags&(out|in) == out:
		return -1
	}
	return 0
}

// settleClocks estimates every pair of nodes, picks the reference and
// sets a.offsets and a.clocks.
func (a *analysis) settleClocks(perNode []clockTable) {
	n := len(perNode)
	for i := range perNode {
		a.clockBytes += perNode[i].bytes()
	}
	pairs := make([][]clockPair, n) // pairs[i][j], i < j: j's clock against i's
	cp := chunkPairs{last: -1}
	for i := range pairs {
		pairs[i] = make([]clockPair, n)
		for j := i + 1; j < n; j++ {
			pairs[i][j] = pairClocks(&perNode[i], &perNode[j], &cp)
		}
	}
	// offset returns j's clock minus i's, its error bound and samples.
	edge := func(i, j int) (off, errB int64, samples int, ok bool) {
		if i < j {
			p := &pairs[i][j]
			return p.offset, p.errBound, p.samples, p.tied
		}
		p := &pairs[j][i]
		return -p.offset, p.errBound, p.samples, p.tied
	}
	// The reference is the node whose clock the most others agree with
	// (within a millisecond beyond the bound), then the one tied to the
	// most, then by the most samples: of three nodes one of which is
	// seconds off, one of the two others, so that the odd one out is
	// named. Once the links told which node sent a packet, nodeport-snat's
	// node-1, 4.25 s ahead of both others, was tied to as many as they and
	// took the reference by its samples: "ext's clock is 4.25s behind
	// node-1" and node-2's too.
	ref, best := 0, [3]int{-1, -1, -1}
	for i := range n {
		var score [3]int // agreeing, tied, samples
		for j := range n {
			if off, errB, k, ok := edge(i, j); i != j && ok {
				if max(off, -off) <= errB+int64(time.Millisecond) {
					score[0]++
				}
				score[1]++
				score[2] += k
			}
		}
		if slices.Compare(score[:], best[:]) > 0 {
			ref, best = i, score
		}
	}
	// Breadth first from the reference, through the best-sampled ties.
	clocks := make([]Clock, n)
	reached := make([]bool, n)
	reached[ref] = true
	queue := []int{ref}
	order := []int{ref} // as reached
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for j := range n {
			if reached[j] {
				continue
			}
			off, errB, k, ok := edge(i, j)
			if !ok {
				continue
			}
			reached[j] = true
			a.offsets[j] = a.offsets[i] + off
			clocks[j] = Clock{Node: a.nodes[j], OffsetNS: a.offsets[j], Samples: k, ErrorNS: clocks[i].ErrorNS + errB}
			queue = append(queue, j)
			order = append(order, j)
		}
	}
	// Nodes tied to none: one direction alone cannot separate delay from
	// offset, but an offset of seconds would keep every packet from
	// matching across the nodes; take the fastest packet as instant.
	for again := true; again; {
		again = false
		for j := range n {
			if reached[j] {
				continue
			}
			for i := range n {
				if !reached[i] || i == j {
					continue
				}
				var off int64
				var ok bool
				var k int
				if i < j {
					off, ok = pairs[i][j].oneWay()
					k = pairs[i][j].samples
				} else {
					off, ok = pairs[j][i].oneWay()
					off, k = -off, pairs[j][i].samples
				}
				if !ok {
					continue
				}
				reached[j], again = true, true
				a.offsets[j] = a.offsets[i] + off
				clocks[j] = Clock{Node: a.nodes[j], OffsetNS: a.offsets[j], Samples: k, OneWay: true}
				order = append(order, j)
				break
			}
		}
	}
	// Each node's timeline, in the order reached, against the nodes
	// settled before it.
	for j := range n {
		if !reached[j] {
			order = append(order, j)
		}
	}
	units := a.nodeUnits()
	cp.settle()
	segs := make([][]clockSegment, n)
	solved := make([]bool, n)
	for _, j := range order {
		segs[j] = a.segmentNode(int32(j), units, segs, solved, cp.list, clocks[j], reached[j])
		solved[j] = true
		a.offsets[j] = segs[j][0].offset
		if len(segs[j]) == 1 {
			continue
		}
		c := &clocks[j]
		c.OffsetNS, c.ErrorNS, c.OneWay = segs[j][0].offset, segs[j][0].errBound, segs[j][0].oneWay
		for k := 1; k < len(segs[j]); k++ {
			sg := &segs[j][k]
			c.Steps = append(c.Steps, ClockStep{AtNS: sg.at, StepNS: sg.offset - segs[j][k-1].offset, OffsetNS: sg.offset,
				ErrorNS: sg.errBound, Samples: sg.samples, OneWay: sg.oneWay, Reanchored: sg.reanchored})
		}
	}
	a.applySegments(units, segs)
	a.clockFrom = math.MaxInt64
	for _, ch := range a.chunks {
		a.clockFrom = min(a.clockFrom, ch.first-a.offsets[ch.node])
	}
	a.clockErr = make([]int64, n)
	for j := range n {
		if j == ref {
			continue
		}
		e := &a.clockErr[j]
		for _, sg := range segs[j] {
			switch {
			case !reached[j] || sg.oneWay || sg.reanchored || *e < 0:
				*e = -1
			default:
				*e = max(*e, sg.errBound)
			}
		}
		c := clocks[j]
		if !reached[j] {
			c = Clock{Node: a.nodes[j]}
		}
		c.Reference = a.nodes[ref]
		a.clocks = append(a.clocks, c)
	}
}
