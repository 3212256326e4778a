package analyze

import (
	"runtime/debug"
	"runtime/pprof"
)

// The clock pass on two goroutines.
//
// With Options.Jobs above 1 the clock pass reads, decodes and observes the
// captures' first packets on a goroutine of its own (readClocks), as a
// worker's reader does in the main pass, numbering what the packets name
// in each reader's own tables, and hands them over in batches; the merging
// goroutine takes them in the order the serial pass reads them (capture by
// capture), renumbers their hops and tuples in the analysis' tables (as
// the serial pass numbers them) and adds half the nodes' sightings to the
// clock tables (mergeTables; the reading goroutine adds the others').
// The reading goroutine decides how many packets of each capture the pass
// reads and where its chunks start, as the serial pass does, and numbers
// the hops as the merge does, so the tables and chunks are the same
// (TestJobsSameOutput). Before, the
// whole pass ran on the merging goroutine while the other cores waited
// (0.10 s of the 2.24 s one core takes on the 10.5M-sighting incident);
// now the merging goroutine's part is 0.06–0.11 s of 0.15–0.22 s
// (BenchmarkCores, GOMAXPROCS=2, load average 11–17, every figure
// stretched by the load), the reading goroutine's at the same time.

// clockBatch is a batch of the clock pass: a run of one capture's packets.
type clockBatch struct {
	batch
	src    int     // index into analysis.srcs
	chunks []int32 // by entry: its clock chunk, when the merge adds it to the tables
}

// estimateClocksPiped is estimateClocks with the captures read on a
// goroutine of its own. Apart, so that estimateClocks is as the profile
// default.pgo was taken from says (a branch to this at its start made the
// 300k-sighting incident 653.1M instructions instead of 643.2M: valgrind
// --tool=lackey, GOMAXPROCS=1).
func (a *analysis) estimateClocksPiped() {
	for _, s := range a.srcs {
		s.clk.chunk, s.clk.reanchorAt, s.clk.lastRaw = -1, -1, noRaw
	}
	perNode := make([]clockTable, len(a.nodes))
	for i := range perNode {
		perNode[i] = newClockTable()
	}
	a.clockPiped(perNode, a.chunkGap())
	a.endChunks()
	a.settleClocks(perNode)
}

// clockPiped is the loop of estimateClocks with the captures read on a
// goroutine of its own.
func (a *analysis) clockPiped(perNode []clockTable, gap int64) {
	full := make(chan *clockBatch, pipeDepth)
	free := make(chan *clockBatch, pipeDepth)
	for range pipeDepth {
		free <- &clockBatch{batch: batch{ents: make([]seen, 0, batchLen)}, chunks: make([]int32, 0, batchLen)}
	}
	for _, s := range a.srcs {
		s.toLocal()
	}
	onFault := panicsOnFault()
	go a.readClocks(full, free, perNode, gap, onFault)
	for i, s := range a.srcs {
		var t *clockTable
		if mergeTables(s.node) {
			t = &perNode[s.node]
		}
		for {
			b := <-full
			if b.fault != nil {
				panic(b.fault)
			}
			if b.src != i {
				panic("clock pass: batches out of order")
			}
			d := &b.defs
			if d.keepFrom != s.tupleBase {
				s.forgetTuples(d.keepFrom)
			}
			for k := range b.ents {
				e := &b.ents[k]
				s.packets++
				// globalHop, for every packet: the serial pass numbers
				// the hop of each.
				if m, l := s.hopMap, e.o.hop; uint(l) < uint(len(m)) && m[l] != 0 {
					s.hop = m[l] - 1
				} else {
					s.hop = s.newGlobalHop(l, d)
				}
				e.o.hop = s.hop
				s.reread = true // the main pass reads the file again
				if o := &e.o; e.flags&seenObserved != 0 {
					s.globalizeTuples(o, d) // as observe numbers them
					if t != nil {
						t.sight(o, s.hop, o.ts, b.chunks[k])
					}
				}
			}
			end := b.end
			free <- b
			if end {
				break
			}
		}
		if s.reread {
			s.clk.reanchorAt = s.packets
		}
	}
}

// mergeTables reports whether the merging goroutine adds node n's
// sightings to its clock table (the reading goroutine adds the others'),
// so that the two share the pass: the tables take about half of it, the
// reading a third. On the 10.5M-sighting incident (two nodes; BenchmarkCores,
// GOMAXPROCS=2, load about 11) the clock pass' merging goroutine took
// 0.10–0.17 s of 0.15–0.23 s with every table on it, 0.014–0.03 s of
// 0.10–0.17 s with none, the reading goroutine then bounding the pass.
func mergeTables(n int32) bool { return n%2 == 0 }

// globalizeTuples renumbers the tuples of a sighting its reader took in
// the analysis' table, as observe numbers them there (globalize, less
// the background kind and the facts).
func (s *source) globalizeTuples(o *obs, d *localDefs) {
	o.tuple = s.globalTuple(o.tuple, d)
	if o.carrier != 0 {
		id := s.globalTuple(o.carrier-1, d)
		s.a.tuples.carries(id, o.carrierType)
		o.carrier = id + 1
	}
}

// readClocks reads what the clock pass reads of every capture, in order,
// into batches (see clockPiped), deciding as estimateClocks does how many
// packets of each capture it reads.
func (a *analysis) readClocks(full, free chan *clockBatch, perNode []clockTable, gap int64, onFault bool) {
	pprof.SetGoroutineLabels(readerLabels)
	if onFault {
		debug.SetPanicOnFault(true)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if _, ok := v.(interface{ Addr() uintptr }); !ok {
				panic(v) // not a fault: a bug, to crash where it happened
			}
			full <- &clockBatch{batch: batch{end: true, fault: v}} // it held b: full has room
		}()
	}
	count := make([]int, len(a.nodes))
	// The analysis' hops (none when the clock pass starts: openAll
	// registers none), numbered as the merging goroutine numbers them
	// (registerHop: in the order first read, from none), for the clock
	// tables; hops by the reader's local hop.
	hopIdx := make(map[hopKey]int32)
	var hops []int32
	for i, s := range a.srcs {
		r := &s.reader
		var ct *clockTable
		if !mergeTables(s.node) {
			ct = &perNode[s.node]
		}
		hops = hops[:0]
		left := a.opt.ClockSample - count[s.node]
		read := false
		for {
			b := <-free
			b.src, b.end = i, false
			b.ents, b.chunks = b.ents[:0], b.chunks[:0]
			t := r.tables().tuples
			t.fresh, t.freshFrom = b.tuples[:0], t.next
			keepFrom := t.base
			for len(b.ents) < cap(b.ents) {
				if left == 0 || !r.readRecord() {
					b.end = true
					break
				}
				left--
				if d := r.rec.TS - s.clk.lastRaw; newChunkAt(d, gap) {
					a.newChunk(s, int32(i), d, r.nread)
				}
				s.clk.lastRaw = r.rec.TS
				read = true
				b.ents = b.ents[:len(b.ents)+1]
				e := &b.ents[len(b.ents)-1]
				r.lhop = r.localHop()
				if int(r.lhop) >= len(hops) {
					k := hopKey{s.node, r.loc.hops[r.lhop].point}
					id, ok := hopIdx[k]
					if !ok {
						id = int32(len(hopIdx))
						hopIdx[k] = id
					}
					hops = append(hops, id)
				}
				// The sighting alone, as the serial pass observes it: its
				// kind and facts are the main pass' (taking them here too,
				// fillLocal, cost the 1M-sighting incident 2,639.1M
				// instructions against 2,581.2M: callgrind, --jobs 2,
				// GOMAXPROCS=1).
				e.flags = 0
				if r.sightClock(&e.o) {
					e.flags = seenObserved
				}
				e.o.ts, e.o.hop = r.rec.TS, r.lhop
				if ct == nil {
					b.chunks = append(b.chunks, s.clk.chunk)
				} else if e.flags&seenObserved != 0 {
					ct.sight(&e.o, hops[r.lhop], r.rec.TS, s.clk.chunk)
				}
			}
			b.defs = r.defs()
			b.tuples, b.defs.keepFrom = t.fresh, keepFrom
			if b.end {
				// What the main pass reads on re-anchors the steps the
				// clock pass did not see (set before the merge can
				// restart the source).
				count[s.node] = a.opt.ClockSample - left
				if !read {
					s.f.Reanchor = true
				}
			}
			end := b.end
			full <- b
			if end {
				break
			}
		}
	}
}
