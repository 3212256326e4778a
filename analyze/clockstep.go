package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hoptrace/hoptrace/decode"
)

// A node's clock can step while its captures run: NTP steps it by seconds,
// a VM resumes hours later, a board without a battery finds the year. When
// it happens while the node's captures are busy, a capture shows it (a
// packet stamped far before the one before it); when it happens in a
// pause, the time stamps after the pause look like a longer or shorter
// pause, and only the packets the node shares with other nodes tell: from
// there on they disagree with the node's offset by the size of the step.
//
// So the clock pass cuts each capture into chunks at every pause longer
// than chunkGap (and every step back), joins the chunks of a node's
// captures that overlap in time into units (the node was not quiet
// between them), and keeps the cross-node samples per pair of chunks.
// Walking a node's units in time order, a unit whose samples disagree with
// the offset of the units before it by more than chunkGap starts a new
// segment of the node's timeline, with its own offset (the samples bound
// the offset from both sides, so a disagreement is a change of the clock,
// not a slow packet; the correlation window adapts down to 50 ms, so a
// step smaller than the window may still keep packets from matching); a unit after a step
// its captures show (back by more than decode.StepBack, forward by more
// than decode.StepForward) with no sample to tell its offset starts one
// re-anchored to follow the unit before by a microsecond. The main pass
// subtracts from each packet the offset of its segment, and each capture
// that crosses a segment boundary reports the step with its offset.
//
// What the clock pass does not read (beyond Options.ClockSample packets
// per node) keeps the offset of the capture's last chunk; a step there
// that the capture shows is re-anchored by the reader (decode.File's
// Reanchor), one in a pause is not found.

// timeChunk is a run of one capture's packets, as the clock pass read
// them, without a pause longer than chunkGap or a step back.
type timeChunk struct {
	src         int32 // index into analysis.srcs
	node        int32
	start       int   // the capture's packet number (source.packets) of its first packet
	off         int64 // where its first packet starts in the file
	first, last int64 // node clock
	epoch       int32 // steps back before it in its capture
	jump        bool  // it starts after a step its capture shows
	unit        int32 // index into the node's units
}

// clockUnit is a span of a node's time in which some capture of the node
// was busy: its chunks overlap or follow within chunkGap.
type clockUnit struct {
	first, last int64
	epoch       int32
	jump        bool  // one of its chunks starts after a step its capture shows
	seg         int32 // the segment of the node's timeline it is in
}

// clockSegment is a part of a node's timeline with one clock offset.
type clockSegment struct {
	offset, errBound int64
	samples          int
	oneWay           bool
	reanchored       bool  // no sample: placed after the segment before
	at               int64 // reference time of its first packet
}

// chunkPair is what the packets seen in two chunks of different nodes tell
// of their clocks (a before b in node order).
type chunkPair struct {
	a, b           int32
	minTo, minFrom int64 // smallest delay a → b and b → a (settle: consistentMins of to, from)
	to, from       lowest
	samples        int
}

// chunkPairs collects the chunk pairs; consecutive samples mostly share
// theirs, so the last one is tried first.
type chunkPairs struct {
	idx  map[[2]int32]int32
	list []chunkPair
	last int32
}

func (c *chunkPairs) add(a, b int32, to bool, d int64) {
	if a < 0 || b < 0 {
		return
	}
	i := c.last
	if i < 0 || int(i) >= len(c.list) || c.list[i].a != a || c.list[i].b != b {
		var ok bool
		if c.idx == nil {
			c.idx = make(map[[2]int32]int32)
		}
		if i, ok = c.idx[[2]int32{a, b}]; !ok {
			i = int32(len(c.list))
			c.list = append(c.list, chunkPair{a: a, b: b, minTo: math.MaxInt64, minFrom: math.MaxInt64, to: newLowest(), from: newLowest()})
			c.idx[[2]int32{a, b}] = i
		}
		c.last = i
	}
	p := &c.list[i]
	p.samples++
	if to {
		if d < p.to[lowestKept-1] {
			p.to.add(d)
		}
	} else if d < p.from[lowestKept-1] {
		p.from.add(d)
	}
}

// settle sets each chunk pair's smallest delays: those the other
// direction does not contradict (consistentMins). Two chunks are two
// stretches of time without a step: a contradiction there is a packet
// taken for another, which would have split a node's timeline.
func (c *chunkPairs) settle() {
	for i := range c.list {
		p := &c.list[i]
		p.minTo, p.minFrom = consistentMins(&p.to, &p.from)
	}
}

// chunkGap is the pause that starts a new chunk (a step hides in a pause,
// and shows only when the pause is longer than the step is short), and the
// disagreement that splits a node's timeline: 100 ms, at most the window.
// A clock slewed by NTP (at most 500 ppm) drifts that far in 200 s.
func (a *analysis) chunkGap() int64 { return min(int64(a.opt.Window), int64(100*time.Millisecond)) }

// newChunkAt reports whether a packet stamped ts, d after the one before
// it in its capture, starts a new chunk: after a pause longer than gap or
// a step back of more than reorderSlack. Before the first packet,
// srcClock.lastRaw is far enough back (noRaw) for any packet to start one.
// One unsigned comparison, inlined: with its bookkeeping 10 instructions
// per packet of the clock pass (callgrind, 300k-packet incident: 3.0M;
// 5.1M with a chunk maximum kept, 4 more with the call not inlined).
func newChunkAt(d, gap int64) bool { return uint64(d+reorderSlack) > uint64(gap+reorderSlack) }

// newChunk starts a chunk at the source's current packet, d after the one
// before it.
// start is the capture's packet number (source.packets) of the packet.
func (a *analysis) newChunk(s *source, src int32, d int64, start int) {
	c := &s.clk
	jump := false
	if c.chunk >= 0 {
		a.chunks[c.chunk].last = c.lastRaw
		jump = d < -int64(decode.StepBack) || d > int64(decode.StepForward)
		if d < -int64(decode.StepBack) {
			c.epoch++
		}
	}
	c.chunk = int32(len(a.chunks))
	a.chunks = append(a.chunks, timeChunk{src: src, node: s.node, start: start, off: s.f.Offset(),
		first: s.rec.TS, last: s.rec.TS, epoch: c.epoch, jump: jump})
}

// endChunks closes the last chunk of every source, once the clock pass has
// read what it reads.
func (a *analysis) endChunks() {
	for _, s := range a.srcs {
		if c := &s.clk; c.chunk >= 0 {
			a.chunks[c.chunk].last = c.lastRaw
		}
	}
}

// nodeUnits groups the chunks of each node into units and returns them
// per node, in time order.
func (a *analysis) nodeUnits() [][]clockUnit {
	units := make([][]clockUnit, len(a.nodes))
	byNode := make([][]int32, len(a.nodes))
	for i := range a.chunks {
		byNode[a.chunks[i].node] = append(byNode[a.chunks[i].node], int32(i))
	}
	gap := a.chunkGap()
	for n, ids := range byNode {
		a.placeEpochs(ids)
		slices.SortFunc(ids, func(x, y int32) int {
			cx, cy := &a.chunks[x], &a.chunks[y]
			return cmp.Or(cmp.Compare(cx.epoch, cy.epoch), cmp.Compare(cx.first, cy.first), cmp.Compare(x, y))
		})
		var us []clockUnit
		for _, id := range ids {
			c := &a.chunks[id]
			if k := len(us) - 1; k >= 0 && us[k].epoch == c.epoch && c.first <= us[k].last+gap {
				us[k].last = max(us[k].last, c.last)
				us[k].jump = us[k].jump || c.jump
			} else {
				us = append(us, clockUnit{first: c.first, last: c.last, epoch: c.epoch, jump: c.jump})
			}
			c.unit = int32(len(us) - 1)
		}
		units[n] = us
	}
	return units
}

// placeEpochs places the chunks of a node's captures that show no step
// back among the node's timelines before and after the steps the others
// show: a capture whose packets all came after the node's clock went back
// (or all before) counts no step, yet belongs after it. Each such chunk
// goes to the epoch whose chunks it lies nearest to in time.
func (a *analysis) placeEpochs(ids []int32) {
	fileEpoch := map[int32]int32{} // the last epoch of each capture
	for _, id := range ids {
		c := &a.chunks[id]
		fileEpoch[c.src] = max(fileEpoch[c.src], c.epoch)
	}
	type span struct{ first, last int64 }
	var spans []span // by epoch, of the captures that show steps back
	for _, id := range ids {
		c := &a.chunks[id]
		if fileEpoch[c.src] == 0 {
			continue
		}
		for int(c.epoch) >= len(spans) {
			spans = append(spans, span{math.MaxInt64, math.MinInt64})
		}
		sp := &spans[c.epoch]
		sp.first, sp.last = min(sp.first, c.first), max(sp.last, c.last)
	}
	if len(spans) < 2 {
		return
	}
	for _, id := range ids {
		c := &a.chunks[id]
		if fileEpoch[c.src] != 0 {
			continue
		}
		best, dist := int32(0), int64(math.MaxInt64)
		for e, sp := range spans {
			if sp.first > sp.last {
				continue
			}
			d := max(sp.first-c.last, c.first-sp.last, 0)
			if d < dist {
				best, dist = int32(e), d
			}
		}
		c.epoch = best
	}
}

// bounds is what samples say of one clock's offset: lo ≤ offset ≤ hi.
type bounds struct {
	lo, hi  int64 // math.MinInt64 and math.MaxInt64 when unknown
	samples int
}

func noBounds() bounds { return bounds{lo: math.MinInt64, hi: math.MaxInt64} }

func (b *bounds) known() bool { return b.lo != math.MinInt64 || b.hi != math.MaxInt64 }

func (b *bounds) and(c bounds) {
	b.lo, b.hi, b.samples = max(b.lo, c.lo), min(b.hi, c.hi), b.samples+c.samples
}

// apart returns how far c lies outside b (0 when they meet).
func (b *bounds) apart(c bounds) int64 {
	d := int64(0)
	if c.lo != math.MinInt64 && b.hi != math.MaxInt64 {
		d = max(d, c.lo-b.hi)
	}
	if c.hi != math.MaxInt64 && b.lo != math.MinInt64 {
		d = max(d, b.lo-c.hi)
	}
	return d
}

// segmentNode splits node n's units into segments and sets their offsets,
// from its chunk pairs with the nodes already settled (solved, whose
// segments are set). base is the offset the node-level estimate gives
// (used when the node has a single segment), found tells whether there is
// one.
func (a *analysis) segmentNode(n int32, units [][]clockUnit, segs [][]clockSegment, solved []bool, pairs []chunkPair, base Clock, found bool) []clockSegment {
	us := units[n]
	if len(us) == 0 {
		return []clockSegment{{offset: base.OffsetNS, errBound: base.ErrorNS, samples: base.Samples, oneWay: base.OneWay}}
	}
	ev := make([]bounds, len(us))
	for i := range ev {
		ev[i] = noBounds()
	}
	for _, p := range pairs {
		ca, cb := &a.chunks[p.a], &a.chunks[p.b]
		var mine, other *timeChunk
		switch {
		case ca.node == n && solved[cb.node]:
			mine, other = ca, cb
		case cb.node == n && solved[ca.node]:
			mine, other = cb, ca
		default:
			continue
		}
		ot := segs[other.node][units[other.node][other.unit].seg].offset
		b := noBounds()
		b.samples = p.samples
		// p.minTo is a delay a → b: the b clock minus the a clock is at most it.
		if mine == cb {
			if p.minTo != math.MaxInt64 {
				b.hi = ot + p.minTo
			}
			if p.minFrom != math.MaxInt64 {
				b.lo = ot - p.minFrom
			}
		} else {
			if p.minTo != math.MaxInt64 {
				b.lo = ot - p.minTo
			}
			if p.minFrom != math.MaxInt64 {
				b.hi = ot + p.minFrom
			}
		}
		ev[mine.unit].and(b)
	}
	window := a.chunkGap()
	var out []clockSegment
	var cur bounds
	for i := range us {
		u := &us[i]
		e := ev[i]
		switch {
		case i == 0:
			cur = e
		case e.known() && cur.known() && cur.apart(e) > window:
			out = append(out, segmentOf(cur))
			cur = e
		case !e.known() && u.jump:
			out = append(out, segmentOf(cur))
			cur = noBounds()
		case e.known():
			if cur.apart(e) > 0 { // within the window: keep the tighter side of each
				lo, hi := max(cur.lo, e.lo), min(cur.hi, e.hi)
				cur = bounds{lo: min(lo, hi), hi: max(lo, hi), samples: cur.samples + e.samples}
			} else {
				cur.and(e)
			}
		}
		u.seg = int32(len(out))
	}
	out = append(out, segmentOf(cur))
	if len(out) == 1 && found {
		return []clockSegment{{offset: base.OffsetNS, errBound: base.ErrorNS, samples: base.Samples, oneWay: base.OneWay}}
	}
	// Segments without samples: the first takes the node-level estimate
	// or the next one's; one after a step its captures show follows the
	// segment before by a microsecond.
	for k := range out {
		sg := &out[k]
		if sg.samples > 0 || k == 0 && !found {
			continue
		}
		if k == 0 {
			sg.offset, sg.errBound, sg.oneWay = base.OffsetNS, base.ErrorNS, base.OneWay
			continue
		}
		var prevLast, first int64
		for i := range us {
			if us[i].seg == int32(k-1) {
				prevLast = us[i].last
			}
			if us[i].seg == int32(k) && first == 0 {
				first = us[i].first
			}
		}
		sg.offset = out[k-1].offset + first - prevLast - int64(time.Microsecond)
		sg.reanchored = true
	}
	for i := len(us) - 1; i >= 0; i-- {
		out[us[i].seg].at = us[i].first - out[us[i].seg].offset
	}
	return out
}

// segmentOf makes a segment of what its samples say: the middle of the
// bounds, or the one bound (the fastest packet taken to have taken no
// time), as the node-level estimate does.
func segmentOf(b bounds) clockSegment {
	s := clockSegment{samples: b.samples}
	switch {
	case b.lo != math.MinInt64 && b.hi != math.MaxInt64:
		s.offset, s.errBound = b.lo+(b.hi-b.lo)/2, max(0, (b.hi-b.lo)/2)
	case b.hi != math.MaxInt64:
		s.offset, s.oneWay = b.hi, true
	case b.lo != math.MinInt64:
		s.offset, s.oneWay = b.lo, true
	}
	return s
}

// srcClock is a source's part in the clock pass, and the offsets the main
// pass subtracts from its packets.
type srcClock struct {
	chunk   int32 // the chunk the clock pass is in; -1 before the first packet
	epoch   int32
	lastRaw int64 // the last packet's time stamp; noRaw before the first
	// shifts are where the offset changes, by packet number; next is the
	// next one to come and off the offset of the current packet.
	shifts []srcShift
	next   int
	nextAt int // shifts[next].at, or math.MaxInt
	off    int64
	steps  []string // to report once the capture is read
	nSteps int
	// reanchorAt is the packet number from which the reader re-anchors
	// steps (the clock pass read the packets before it); -1: from the start.
	reanchorAt int
}

// noRaw is srcClock.lastRaw before the first packet: any time stamp is
// more than a chunk gap after it.
const noRaw = math.MinInt64 / 4

type srcShift struct {
	at  int // packet number
	off int64
}

// offset moves the offset on to the capture's packet number n (n only
// grows), before source.count takes the packet: one comparison per packet.
func (c *srcClock) offset(n int) {
	if n >= c.nextAt {
		c.advance()
	}
}

// advance takes the next shift, if any; the zero srcClock has none.
func (c *srcClock) advance() {
	if c.next < len(c.shifts) {
		c.off = c.shifts[c.next].off
		c.next++
	}
	c.nextAt = math.MaxInt
	if c.next < len(c.shifts) {
		c.nextAt = c.shifts[c.next].at
	}
}

// applySegments gives every source its offsets and the steps to report.
// The chunks of a source are consecutive: the clock pass reads one source
// after the other.
func (a *analysis) applySegments(units [][]clockUnit, segs [][]clockSegment) {
	for _, s := range a.srcs {
		s.clk.off = segs[s.node][0].offset // for what the clock pass did not read
	}
	var prev *timeChunk
	var prevOff int64
	for i := range a.chunks {
		ch := &a.chunks[i]
		s := a.srcs[ch.src]
		c := &s.clk
		sg := &segs[ch.node][units[ch.node][ch.unit].seg]
		if prev == nil || prev.src != ch.src {
			c.off = sg.offset
		} else if sg.offset != prevOff {
			c.shifts = append(c.shifts, srcShift{at: ch.start, off: sg.offset})
			if len(c.steps) < maxStepNotes {
				c.steps = append(c.steps, a.describeStep(s, prev, ch, sg.offset-prevOff, sg))
			}
			c.nSteps++
		}
		prev, prevOff = ch, sg.offset
	}
	for _, s := range a.srcs {
		c := &s.clk
		c.next, c.nextAt = 0, math.MaxInt
		if len(c.shifts) > 0 {
			c.nextAt = c.shifts[0].at
		}
	}
}

// maxStepNotes is how many clock steps a capture reports in detail.
const maxStepNotes = 16

// describeStep says what the step of s's node between chunks prev and ch
// is, naming the file and where in it.
func (a *analysis) describeStep(s *source, prev, ch *timeChunk, size int64, sg *clockSegment) string {
	where := fmt.Sprintf("offset %d", ch.off)
	if s.f.Compression != decode.Uncompressed {
		where += " of the decompressed stream"
	}
	dir := "forward"
	if size < 0 {
		dir = "back"
	}
	stamp := func(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
	msg := fmt.Sprintf("capture %s: the clock stepped %s by %v at %s (packets stamped %s, then %s)", s.cap.Path, dir,
		time.Duration(size).Abs(), where, stamp(prev.last), stamp(ch.first))
	if sg.reanchored {
		return msg + "; no packet seen on another node tells by how much, so the packets after it are re-anchored to follow the one before, and latencies across it are estimates"
	}
	return msg + fmt.Sprintf("; %s's packets after it are placed by the %d it shares with other nodes", a.nodes[s.node], sg.samples)
}

// reportSteps reports the clock steps of a capture read to its end: those
// the clock pass placed, and those beyond it that the reader re-anchored.
func (s *source) reportSteps() {
	for _, m := range s.clk.steps {
		s.a.problemf("%s", m)
	}
	if s.clk.nSteps > len(s.clk.steps) {
		s.a.problemf("%s: %d more clock steps", s.cap.Path, s.clk.nSteps-len(s.clk.steps))
	}
	steps, n := s.f.ClockSteps()
	for _, st := range steps {
		if st.Shift != 0 { // re-anchored, past the clock pass
			s.a.problemf("%s", s.f.DescribeStep(st))
		}
	}
	if n > len(steps) {
		s.a.problemf("%s: %d more clock steps", s.cap.Path, n-len(steps))
	}
}
