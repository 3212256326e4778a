package analyze

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
)

// Folding: a flow that has had no packet for a while (foldIdle) gives up
// its working state, about 680 bytes of a SYN scan's flow (its flowState,
// its paths' accumulators, its drop groups), for a record of varints in
// an append-only store, about 117 bytes: the 200k-flow SYN scan's live
// heap after the main pass went from 1,061 to 469 bytes per flow with
// its flows folded 1 ms after their last packet, 601 with the default
// 250 ms (the scan lasts 2 s; TestFoldBytes). The record holds everything the
// state held, so a later packet of the flow unfolds it into the same
// state (TestFoldLossless runs every analysis folding each flow after
// each of its packets and finds the same Result), and the result is built
// from the records one flow at a time.

// foldIdleOverride replaces foldIdle for tests: 0 folds every flow after
// each of its packets, math.MaxInt64 never folds; -1 (the default)
// leaves foldIdle alone.
var foldIdleOverride int64 = -1

// foldIdle is how long a flow must have had no packet to be folded: a
// quarter of the correlation window. A packet of a folded flow costs an
// unfold and a fold again (about 1 µs), so a flow whose packets come
// further apart pays that once per gap.
func foldIdle(window int64) int64 {
	if foldIdleOverride >= 0 {
		return foldIdleOverride
	}
	return window / 4
}

// foldChunkBits: records go in chunks of 1 MB, so the store grows without
// copying and a record's place fits 32 bits (4096 chunks).
const (
	foldChunkBits = 20
	foldChunk     = 1 << foldChunkBits
	foldMaxChunks = 1<<(32-foldChunkBits) - 1
	foldMaxRecord = 64 << 10 // a flow with a larger state stays unfolded
)

// foldStore holds the records of folded flows, and the flows that may be
// folded, oldest packet first.
type foldStore struct {
	idle   int64
	base   int64 // the times of a record's head are written against it
	based  bool  // base is set
	chunks [][]byte
	// at is by flow id: one more than the place of the flow's record
	// (chunk<<foldChunkBits | offset), 0 while it is not folded.
	at        []uint32
	chunkRecs []int32 // records per chunk still in use, for release
	queue     []foldEntry
	head      int
	buf       []byte
	// live is the bytes of the records in use, garbage those let go.
	live, garbage int
}

// foldEntry is a flow queued for folding with the time of its last packet
// when queued.
type foldEntry struct {
	last int64
	id   int32
}

// record returns the record of flow id, nil when it is not folded.
func (s *foldStore) record(id int32) []byte {
	if s == nil || int(id) >= len(s.at) || s.at[id] == 0 {
		return nil
	}
	p := s.at[id] - 1
	rec := s.chunks[p>>foldChunkBits][p&(foldChunk-1):]
	n, k := binary.Uvarint(rec)
	return rec[k : k+int(n)]
}

// put stores rec as flow id's record; false when the store is full.
func (s *foldStore) put(id int32, rec []byte) bool {
	if s.garbage > foldChunk && s.garbage > s.live {
		s.compact()
	}
	n := len(s.chunks)
	if n == 0 || len(s.chunks[n-1])+len(rec)+binary.MaxVarintLen32 > foldChunk {
		if n == foldMaxChunks {
			return false
		}
		s.chunks = append(s.chunks, make([]byte, 0, foldChunk))
		s.chunkRecs = append(s.chunkRecs, 0)
		n++
	}
	c := &s.chunks[n-1]
	p := uint32(n-1)<<foldChunkBits | uint32(len(*c))
	*c = append(binary.AppendUvarint(*c, uint64(len(rec))), rec...)
	s.chunkRecs[n-1]++
	s.live += len(rec)
	for int(id) >= len(s.at) {
		s.at = append(s.at, 0)
	}
	s.at[id] = p + 1
	return true
}

// drop forgets flow id's record; its chunk goes when none of its records
// is in use. The last chunk, still being filled, stays.
func (s *foldStore) drop(id int32) {
	n := len(s.record(id))
	s.live -= n
	s.garbage += n
	p := s.at[id] - 1
	s.at[id] = 0
	c := int(p >> foldChunkBits)
	s.chunkRecs[c]--
	if s.chunkRecs[c] == 0 && c != len(s.chunks)-1 {
		s.chunks[c] = nil
	}
}

// compact copies the records in use into new chunks, once the records
// let go (flows unfolded by a later packet) outweigh them: a flow folded
// and unfolded again and again would otherwise grow the store by a
// record each time.
func (s *foldStore) compact() {
	old := *s
	s.chunks, s.chunkRecs, s.live, s.garbage = nil, nil, 0, 0
	at := s.at
	s.at = make([]uint32, len(at))
	for id, p := range at {
		if p == 0 {
			continue
		}
		old.at = at
		s.put(int32(id), old.record(int32(id)))
	}
}

// rd reads a record.
type rd struct {
	b    []byte
	off  int
	base int64 // foldStore.base
}

func (r *rd) u() uint64 {
	v, n := binary.Uvarint(r.b[r.off:])
	r.off += n
	return v
}

func (r *rd) i() int64 {
	v, n := binary.Varint(r.b[r.off:])
	r.off += n
	return v
}

func (r *rd) byte() byte {
	v := r.b[r.off]
	r.off++
	return v
}

// ts reads a time written by putTS against base.
func (r *rd) ts(base int64) int64 {
	v := r.u()
	if v == 0 {
		return 0
	}
	v--
	return base + (int64(v>>1) ^ -int64(v&1))
}

func (r *rd) addr() netip.Addr {
	switch r.byte() {
	case 4:
		a := netip.AddrFrom4([4]byte(r.b[r.off : r.off+4]))
		r.off += 4
		return a
	case 16:
		a := netip.AddrFrom16([16]byte(r.b[r.off : r.off+16]))
		r.off += 16
		return a
	}
	return netip.Addr{}
}

func (r *rd) tuple() Tuple {
	t := Tuple{Proto: Proto(r.byte())}
	t.Src, t.Dst = r.addr(), r.addr()
	t.SPort, t.DPort = uint16(r.u()), uint16(r.u())
	return t
}

// putTS writes a time as its difference from a base (zigzag, wrapping:
// exact for any two int64), one more, or 0 for the time 0, which the
// state uses for "not yet": a SYN scan's flow has seven times of which
// four are 0, 10 bytes each against base. A difference the encoding
// cannot tell from 0 (-2^63) makes the flow unfoldable (bad).
func putTS(b []byte, ts, base int64, bad *bool) []byte {
	if ts == 0 {
		return append(b, 0)
	}
	d := ts - base
	v := uint64(d<<1) ^ uint64(d>>63)
	if v == math.MaxUint64 {
		*bad = true
	}
	return binary.AppendUvarint(b, v+1)
}

func putAddr(b []byte, a netip.Addr) []byte {
	switch {
	case a.Is4():
		v := a.As4()
		return append(append(b, 4), v[:]...)
	case a.IsValid():
		v := a.As16()
		return append(append(b, 16), v[:]...)
	}
	return append(b, 0)
}

func putTuple(b []byte, t Tuple) []byte {
	b = append(b, byte(t.Proto))
	b = putAddr(putAddr(b, t.Src), t.Dst)
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(t.SPort)), uint64(t.DPort))
}

func foldable(t Tuple) bool { return t.Src.Zone() == "" && t.Dst.Zone() == "" }

// Bits of a record's first byte.
const (
	fhReplyRev = 1 << iota // the reply tuple is the original reversed, not written
	fhNAT                  // natLearned
	fhPath0                // a path accumulator per direction
	fhPath1
	fhDrop0 // a last drop group per direction
	fhDrop1
)

// flowHead is what the result reads of most flows: their tuples, first
// packet, encapsulation, largest packets across, and MSS (a record starts
// with it, to be read without the rest).
type flowHead struct {
	orig, reply Tuple
	first       int64
	tunnel      [2]uint16
	passed      [2]uint32
	mss         [2]uint16
}

// encodeFlow writes flow f's record to b: its state, its paths'
// accumulators and its last drop groups (the groups' counts included:
// they leave the aggregator's map with it).
func encodeFlow(b []byte, f *flowState, base int64) (_ []byte, ok bool) {
	bad := false
	var h byte
	if f.reply == f.orig.Reverse() {
		h |= fhReplyRev
	}
	if f.natLearned {
		h |= fhNAT
	}
	for d := range 2 {
		if f.path[d] != nil {
			h |= fhPath0 << d
		}
		if f.lastDrop[d] != nil {
			h |= fhDrop0 << d
		}
	}
	b = append(b, h)
	// The head.
	b = putTuple(b, f.orig)
	if h&fhReplyRev == 0 {
		b = putTuple(b, f.reply)
	}
	b = putTS(b, f.first, base, &bad)
	for d := range 2 {
		b = binary.AppendUvarint(b, uint64(f.tunnel[d]))
		b = binary.AppendUvarint(b, uint64(f.passed[d]))
		b = binary.AppendUvarint(b, uint64(f.stats[d].mss))
	}
	// The rest of the state.
	b = putTS(b, f.last, f.first, &bad)
	for d := range 2 {
		s := &f.stats[d]
		for _, v := range [...]uint64{uint64(s.packets), uint64(s.bytes), uint64(s.retransmits), uint64(s.outOfOrder), uint64(s.zeroWindow), uint64(s.maxSegment)} {
			b = binary.AppendUvarint(b, v)
		}
	}
	b = append(b, boolBits(f.udp.SeenReply, f.udp.Assured, f.udp.started, f.icmp.SeenReply))
	b = putTS(b, f.udp.streamTS, f.first, &bad)
	t := &f.tcp
	b = append(b, byte(t.State), boolBits(t.Assured, t.SeenReply, t.Deleted, t.closeInit[0], t.closeInit[1], t.simOpen, t.challenge), byte(t.lastIndex), byte(t.lastDir))
	for d := range 2 {
		x := &f.dirs[d]
		b = putTS(b, x.lastTS, f.first, &bad)
		b = putTS(b, x.ackTS, f.first, &bad)
		b = putTS(b, x.synTS, f.first, &bad)
		b = binary.AppendUvarint(b, uint64(x.nextSeq))
		b = binary.AppendUvarint(b, uint64(x.lastAck))
		b = binary.AppendVarint(b, int64(x.dupAcks))
		b = binary.AppendUvarint(b, uint64(x.win))
		b = append(b, boolBits(x.seen, x.ackSeen))
	}
	b = binary.AppendVarint(b, f.irtt)
	b = binary.AppendUvarint(b, uint64(len(f.watch)))
	for _, w := range f.watch {
		b = binary.AppendUvarint(b, uint64(w.seq))
		b = binary.AppendUvarint(b, uint64(w.end))
		b = putTS(b, w.ts, f.first, &bad)
		b = binary.AppendUvarint(b, uint64(w.acc.id))
		b = binary.AppendVarint(b, int64(w.pieces))
		b = append(b, w.dir)
	}
	for d := range 2 {
		if pa := f.path[d]; pa != nil {
			b = binary.AppendVarint(b, int64(pa.packets))
			b = binary.AppendUvarint(b, pa.union)
			b = binary.AppendVarint(b, int64(pa.firstEntry))
			b = putHopPos(b, &pa.pos)
			again, entry := pa.againPos(), pa.entryPos()
			b = append(b, boolBits(pa.more != nil, again != nil, entry != nil))
			if again != nil {
				b = putHopPos(b, again)
			}
			if entry != nil {
				b = putHopPos(b, entry)
			}
		}
		if da := f.lastDrop[d]; da != nil {
			b = binary.AppendUvarint(b, uint64(da.id))
			b = binary.AppendVarint(b, int64(da.lastHop))
			for _, v := range [...]uint32{da.maxLen, da.minLen, da.packets, da.minSeg, da.pieces, da.resent} {
				b = binary.AppendUvarint(b, uint64(v))
			}
		}
	}
	return b, !bad
}

func putHopPos(b []byte, hp *hopPos) []byte {
	b = binary.AppendUvarint(b, uint64(len(hp.dense)))
	for _, pc := range hp.dense {
		b = binary.AppendVarint(b, int64(pc.sum))
		b = binary.AppendVarint(b, int64(pc.n))
	}
	far := hp.appendFarAll(nil)
	b = binary.AppendUvarint(b, uint64(len(far)))
	for _, h := range far {
		pc := hp.far[h]
		b = binary.AppendVarint(b, int64(h))
		b = binary.AppendVarint(b, int64(pc.sum))
		b = binary.AppendVarint(b, int64(pc.n))
	}
	if hp.far != nil && len(far) == 0 {
		b = append(b, 1) // an empty map made
	} else {
		b = append(b, 0)
	}
	return b
}

func (r *rd) hopPos() hopPos {
	var hp hopPos
	if n := r.u(); n > 0 {
		hp.dense = make([]posAcc, n)
		for i := range hp.dense {
			hp.dense[i] = posAcc{sum: int(r.i()), n: int(r.i())}
		}
	}
	if n := r.u(); n > 0 {
		hp.far = make(map[int32]*posAcc, n)
		for range n {
			h := int32(r.i())
			hp.far[h] = &posAcc{sum: int(r.i()), n: int(r.i())}
		}
	}
	if r.byte() == 1 {
		hp.far = make(map[int32]*posAcc)
	}
	return hp
}

// appendFarAll appends every hop of hp.far, counted or not, in
// increasing order.
func (hp *hopPos) appendFarAll(out []int32) []int32 {
	for h := range hp.far {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

func boolBits(bs ...bool) byte {
	var v byte
	for i, b := range bs {
		if b {
			v |= 1 << i
		}
	}
	return v
}

func bit(v byte, i int) bool { return v&(1<<i) != 0 }

// head reads a record's head.
func (r *rd) head() (fh flowHead, h byte) {
	h = r.byte()
	fh.orig = r.tuple()
	fh.reply = fh.orig.Reverse()
	if h&fhReplyRev == 0 {
		fh.reply = r.tuple()
	}
	fh.first = r.ts(r.base)
	for d := range 2 {
		fh.tunnel[d] = uint16(r.u())
		fh.passed[d] = uint32(r.u())
		fh.mss[d] = uint16(r.u())
	}
	return fh, h
}

// decodeFlow reads a record into a new flowState of flow id. Its drop
// groups are new too; the watched segments' groups are found by acc
// (nil: left nil).
func decodeFlow(rec []byte, base int64, id int32, acc func(int32) *dropAcc) *flowState {
	r := rd{b: rec, base: base}
	fh, h := r.head()
	f := &flowState{id: id, orig: fh.orig, reply: fh.reply, first: fh.first, tunnel: fh.tunnel, passed: fh.passed, natLearned: h&fhNAT != 0}
	f.stats[0].mss, f.stats[1].mss = fh.mss[0], fh.mss[1]
	f.last = r.ts(f.first)
	for d := range 2 {
		s := &f.stats[d]
		s.packets, s.bytes = int64(r.u()), int64(r.u())
		s.retransmits, s.outOfOrder, s.zeroWindow, s.maxSegment = uint32(r.u()), uint32(r.u()), uint32(r.u()), uint32(r.u())
	}
	v := r.byte()
	f.udp.SeenReply, f.udp.Assured, f.udp.started, f.icmp.SeenReply = bit(v, 0), bit(v, 1), bit(v, 2), bit(v, 3)
	f.udp.streamTS = r.ts(f.first)
	t := &f.tcp
	t.State = tcpState(r.byte())
	v = r.byte()
	t.Assured, t.SeenReply, t.Deleted, t.closeInit[0], t.closeInit[1], t.simOpen, t.challenge = bit(v, 0), bit(v, 1), bit(v, 2), bit(v, 3), bit(v, 4), bit(v, 5), bit(v, 6)
	t.lastIndex, t.lastDir = int8(r.byte()), int8(r.byte())
	for d := range 2 {
		x := &f.dirs[d]
		x.lastTS, x.ackTS, x.synTS = r.ts(f.first), r.ts(f.first), r.ts(f.first)
		x.nextSeq, x.lastAck = uint32(r.u()), uint32(r.u())
		x.dupAcks = int32(r.i())
		x.win = uint16(r.u())
		v := r.byte()
		x.seen, x.ackSeen = bit(v, 0), bit(v, 1)
	}
	f.irtt = r.i()
	type watchAcc struct {
		i  int
		id int32
	}
	var wacc [4]watchAcc
	waccs := wacc[:0]
	if n := r.u(); n > 0 {
		f.watch = make([]resendWatch, n)
		for i := range f.watch {
			w := &f.watch[i]
			w.seq, w.end = uint32(r.u()), uint32(r.u())
			w.ts = r.ts(f.first)
			waccs = append(waccs, watchAcc{i, int32(r.u())})
			w.pieces = int32(r.i())
			w.dir = r.byte()
		}
	}
	for d := range 2 {
		if h&(fhPath0<<d) != 0 {
			pa := &pathAcc{packets: int(r.i()), union: r.u(), firstEntry: int32(r.i())}
			pa.pos = r.hopPos()
			v := r.byte()
			if bit(v, 0) {
				pa.more = &pathMore{}
			}
			if bit(v, 1) {
				hp := r.hopPos()
				pa.more.again = &hp
			}
			if bit(v, 2) {
				hp := r.hopPos()
				pa.more.entry = &hp
			}
			f.path[d] = pa
		}
		if h&(fhDrop0<<d) != 0 {
			da := &dropAcc{id: int32(r.u()), lastHop: int32(r.i())}
			da.maxLen, da.minLen, da.packets = uint32(r.u()), uint32(r.u()), uint32(r.u())
			da.minSeg, da.pieces, da.resent = uint32(r.u()), uint32(r.u()), uint32(r.u())
			f.lastDrop[d] = da
		}
	}
	if acc != nil {
		for _, w := range waccs {
			switch id := w.id; {
			case f.lastDrop[0] != nil && f.lastDrop[0].id == id:
				f.watch[w.i].acc = f.lastDrop[0]
			case f.lastDrop[1] != nil && f.lastDrop[1].id == id:
				f.watch[w.i].acc = f.lastDrop[1]
			default:
				f.watch[w.i].acc = acc(id)
			}
		}
	}
	return f
}

// foldOn starts folding for the flow table, unless tracing (a trace's
// fate is a drop group's number, read from the aggregator's map).
func (g *aggregator) foldOn() {
	if g.a.opt.Trace != nil || foldIdleOverride == math.MaxInt64 {
		return
	}
	g.fold = &foldStore{idle: foldIdle(int64(g.a.opt.Window))}
	g.flows.fold = g.fold
	g.flows.unfold = g.unfold
}

// foldQueue queues flow f to be folded once idle, and folds the flows
// idle at now.
func (g *aggregator) foldQueue(f *flowState, now int64) {
	s := g.fold
	if !f.queued {
		f.queued = true
		s.queue = append(s.queue, foldEntry{f.last, f.id})
	}
	for s.head < len(s.queue) && s.queue[s.head].last <= now-s.idle {
		e := s.queue[s.head]
		s.head++
		x := g.flows.flows[e.id]
		if x.last > now-s.idle {
			s.queue = append(s.queue, foldEntry{x.last, e.id}) // it had packets since
			continue
		}
		if !g.foldFlow(x) {
			x.queued = false // it stays as it is
		}
	}
	if s.head > 1024 && s.head*2 > len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		s.queue, s.head = s.queue[:n], 0
	}
}

// foldFlow folds flow f, unless it cannot be.
func (g *aggregator) foldFlow(f *flowState) bool {
	if f.carries != 0 || !foldable(f.orig) || !foldable(f.reply) {
		return false
	}
	s := g.fold
	if !s.based {
		s.base, s.based = f.first, true
	}
	var ok bool
	s.buf, ok = encodeFlow(s.buf[:0], f, s.base)
	if !ok || len(s.buf) > foldMaxRecord || !s.put(f.id, s.buf) {
		return false
	}
	for _, da := range f.lastDrop {
		if da != nil {
			delete(g.drops, g.dropKeys[da.id])
		}
	}
	g.flows.flows[f.id] = nil
	if g.flows.cachedFlow == f {
		g.flows.cachedFlow = nil
	}
	return true
}

// unfold gives flow id its state back, with its drop groups.
func (g *aggregator) unfold(id int32) *flowState {
	f := decodeFlow(g.fold.record(id), g.fold.base, id, func(a int32) *dropAcc { return g.drops[g.dropKeys[a]] })
	g.fold.drop(id)
	for _, da := range f.lastDrop {
		if da != nil {
			g.drops[g.dropKeys[da.id]] = da
		}
	}
	g.flows.flows[id] = f
	return f
}

// flowAt returns flow id's state for the result: the flow table's, or a
// copy read from its record.
func (g *aggregator) flowAt(id int32) *flowState {
	if f := g.flows.flows[id]; f != nil {
		return f
	}
	return decodeFlow(g.fold.record(id), g.fold.base, id, nil)
}

// headAt returns what the result reads of most flows, without making a
// copy of a folded one's state.
func (g *aggregator) headAt(id int32) flowHead {
	if f := g.flows.flows[id]; f != nil {
		return flowHead{orig: f.orig, reply: f.reply, first: f.first, tunnel: f.tunnel, passed: f.passed, mss: [2]uint16{f.stats[0].mss, f.stats[1].mss}}
	}
	r := rd{b: g.fold.record(id), base: g.fold.base}
	fh, _ := r.head()
	return fh
}

// tuplesAt returns flow i's original and reply tuples.
func (t *flowTable) tuplesAt(i int32) (orig, reply Tuple) {
	if f := t.flows[i]; f != nil {
		return f.orig, f.reply
	}
	r := rd{b: t.fold.record(i), base: t.fold.base}
	fh, _ := r.head()
	return fh.orig, fh.reply
}

// eachDrop calls fn for every drop group, the aggregator's or a folded
// flow's, in the order of their numbers (dropKeys).
func (g *aggregator) eachDrop(fn func(dropSlot, *dropAcc)) {
	for id, s := range g.dropKeys {
		da := g.drops[s]
		if da == nil && g.fold != nil && g.flows.flows[s.flow] == nil {
			if x := decodeFlow(g.fold.record(s.flow), g.fold.base, s.flow, nil).lastDrop[s.dir]; x != nil && x.id == int32(id) {
				da = x
			}
		}
		if da != nil {
			fn(s, da)
		}
	}
}
