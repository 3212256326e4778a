package analyze

import (
	"context"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/internal/prefetch"
)

// Reading in parallel.
//
// Reading a capture, decoding it and taking each packet's sighting
// (observe, fill: identity key, payload digest, background kind) depend on
// that capture alone: a reader does it, run by a worker goroutine in the
// main pass, and hands the sightings over in batches to the goroutine that
// merges the captures in time (correlate). What is shared across captures
// is numbered in the order the packets are taken, as one goroutine reading
// every capture would number it: a reader run by a worker
// numbers tuples, hops, encapsulations and ICMP errors on its own
// (localDefs), and the merging goroutine renumbers each sighting it takes
// in the analysis' tables (source.globalize); a reader the merging
// goroutine runs (the clock pass, Options.Jobs 1) numbers straight in
// them (reader.direct). The output is thus the same whatever the number
// of goroutines (TestJobsSameOutput).

// phaseHook, when set (by BenchmarkCores), is called on the merging
// goroutine as Analyze enters each of its phases: "clock" (the clock
// pass), "main" (the main pass: merge, correlation, aggregation),
// "result" and "end". The benchmark reads the goroutine's thread CPU time
// there to tell the critical path of two cores from the total.
var phaseHook func(phase string)

func phase(name string) {
	if phaseHook != nil {
		phaseHook(name)
	}
}

// reader reads one capture and takes the sightings of its packets,
// numbering what they name in tables of its own (or the analysis', when
// direct). Run by a worker it shares nothing with other
// readers: the merging goroutine reads only the batches it hands over.
type reader struct {
	cap      Capture
	filtered bool // cap.filtered(): some packets of the file are other captures' or copies
	keep     func(*decode.Record) bool
	f        *decode.File
	dec      *decode.Decoder
	rec      decode.Record
	frame    []byte // the bytes rec was decoded from
	cooked   Cooked // a Capture.CookedAny file's copy check (cooked.go)
	end      error  // why reading stopped, once it has
	lhop     int32  // the local hop of rec (see localHop)
	// hops numbers the interfaces (pcapng index, SLL2 ifindex) of the
	// file: the local hop; lastIface is the last one found and lastHop
	// its number, as most captures have one interface.
	hops        map[uint64]int32
	lastIface   uint64
	lastHop     int32
	recent      recentTuples // of inner tuples, numbered in loc
	recentOuter recentTuples // of tunnel carriers
	lastEncap   encapSig     // the last encapsulation seen and its local number
	encapID     int32
	cut         bool // set by sight: the packet's payload digest is unknown
	loc         localTables
	// statsFirst and statsEnd are the file's pcapng interface statistics
	// once the main pass has read a packet of it, and once it is read to
	// its end: what source.ifaceStats reads, never the file, which the
	// reader's goroutine may be reading. The merge reads statsFirst once
	// it has taken a packet of the file, statsEnd once it has taken the
	// last batch.
	statsFirst, statsEnd statsSnapshot
	// direct, when set, is the reader's source, whose analysis' tables it
	// numbers in itself, with nothing to renumber: while the merging
	// goroutine reads the file (the clock pass, Options.Jobs 1). On the
	// 300k-sighting incident, which the clock pass reads whole (valgrind,
	// GOMAXPROCS=1, -pgo=off): 769.3M instructions, against 793.0M with
	// numbers of its own renumbered.
	direct *source
	// nread counts the packets read in this pass; from packet reanchorAt
	// on, the file re-anchors clock steps (-1: not in this pass).
	nread, reanchorAt int
	// ownMAC is the captured interface's link address, when the clock
	// pass found it (learnOwnMAC): an Ethernet frame's direction.
	ownMAC      [6]byte
	ownMACKnown bool
}

// statsSnapshot is what decode.File.Stats said at one point of the file.
type statsSnapshot struct {
	stats []decode.InterfaceStats
	taken bool
}

// localTables are a reader's own numbers.
type localTables struct {
	ready    bool         // made (see tables)
	tuples   *localTuples // nil when direct: the analysis' table numbers them
	hops     []hopDef     // by local hop
	encapIDs map[encapSig]int32
	encaps   []encapSig // hop: the local hop
	icmpIDs  map[icmpKey]int32
	icmps    []icmpKey
}

// localDefs is what a reader has numbered so far: the capture point,
// encapsulation and ICMP error of each of its numbers, and the tuples it
// numbered while filling the batch. A batch carries the lists as they were
// when it was handed over; the reader only appends to them (the tuples to
// a list of the batch's own), so the merging goroutine reads them while
// it goes on.
type localDefs struct {
	// tuples are the tuples numbered from tupleFrom on (localTuples.fresh):
	// a tuple's first sighting with its number is in the batch that
	// numbered it, where the merging goroutine renumbers it.
	tuples    []Tuple
	tupleFrom int32
	// keepFrom is the reader's localTuples.base as the batch was started:
	// its sightings and those of later batches name no tuple below it, so
	// the merging goroutine forgets the numbers below (source.tupleMap).
	keepFrom int32
	hops     []hopDef
	encaps   []encapSig
	icmps    []icmpKey
}

// localTuples numbers the tuples a reader on a goroutine of its own sees,
// for the merging goroutine to renumber in the analysis' table: a cache of
// the tuples seen lately, not a table of every tuple of the capture. Each
// reader's table held every tuple of its capture beside the analysis' own;
// on a 1M-flow SYN scan, two captures, that was about 200 bytes per flow
// and per capture (TestReaderTuplesBounded counts what it holds now).
// When localTupleGen numbers are in use it forgets them all: a tuple seen
// again takes a new number, which the merging goroutine finds in the
// analysis' table once more.
type localTuples struct {
	ids  map[tupleKey]int32
	next int32 // the next number
	base int32 // the first number ids holds; the numbers below are forgotten
	// bg is, by number from base, one more than the background kind of a
	// TCP or UDP tuple, 0 until known (see tupleTable.bg).
	bg []BackgroundKind
	// fresh are the tuples numbered from freshFrom on, for the batch being
	// filled (localDefs.tuples).
	fresh     []Tuple
	freshFrom int32
}

// localTupleGen is how many numbers a reader's localTuples holds at most:
// about 3 MB of map. A capture with more flow directions at once than that
// costs the merging goroutine a lookup in the analysis' table per packet.
// A variable for tests.
var localTupleGen = 1 << 15

func newLocalTuples() *localTuples { return &localTuples{ids: make(map[tupleKey]int32)} }

// tupleID returns the reader's number of tu, numbering it when new: in the
// analysis' table when direct.
func (r *reader) tupleID(tu Tuple) int32 {
	if r.direct != nil {
		return r.direct.a.tuples.id(tu)
	}
	t := r.tables().tuples
	k := keyOf(tu)
	if id, ok := t.ids[k]; ok {
		return id
	}
	if len(t.ids) >= localTupleGen {
		// Forget every number: the recent caches too, which hold some.
		clear(t.ids)
		t.base, t.bg = t.next, t.bg[:0]
		r.recent, r.recentOuter = recentTuples{}, recentTuples{}
	}
	id := t.next
	t.next++
	t.ids[k] = id
	t.fresh = append(t.fresh, tu)
	return id
}

// background returns the background kind of TCP or UDP tuple id, the
// reader's number of the current record's tuple.
func (r *reader) background(id int32) BackgroundKind {
	if r.direct != nil {
		return r.direct.a.tuples.background(id, &r.rec)
	}
	t := r.tables().tuples
	i := id - t.base
	if i < 0 {
		// Forgotten since sight numbered it (numbering the carrier).
		return classify(&r.rec)
	}
	if int(i) < len(t.bg) && t.bg[i] != 0 {
		return t.bg[i] - 1
	}
	if int(i) >= len(t.bg) {
		t.bg = append(t.bg, make([]BackgroundKind, int(i)+1-len(t.bg))...)
	}
	k := classify(&r.rec)
	t.bg[i] = k + 1
	return k
}

// hopDef is a local hop: its capture point and pcapng interface.
type hopDef struct {
	point string
	iface int
}

func (r *reader) tables() *localTables {
	if !r.loc.ready {
		r.loc = localTables{ready: true}
		if r.direct == nil {
			r.loc.tuples, r.loc.encapIDs, r.loc.icmpIDs = newLocalTuples(), make(map[encapSig]int32), make(map[icmpKey]int32)
		}
	}
	return &r.loc
}

// toLocal makes the reader number in tables of its own from now on, to
// run on a goroutine of its own: it forgets the numbers it cached.
func (s *source) toLocal() {
	r := &s.reader
	r.direct, r.loc = nil, localTables{}
	r.recent, r.recentOuter = recentTuples{}, recentTuples{}
	r.hops, r.lastIface, r.lastHop = nil, 0, 0
	r.lastEncap, r.encapID = encapSig{}, 0
	s.hopMap, s.tupleMap, s.tupleBase, s.lastLocalEncap = nil, nil, 0, 0
}

// defs returns the reader's numbers as far as given.
func (r *reader) defs() localDefs {
	l := r.tables()
	d := localDefs{hops: l.hops, encaps: l.encaps, icmps: l.icmps}
	if t := l.tuples; t != nil {
		d.tuples, d.tupleFrom, d.keepFrom = t.fresh, t.freshFrom, t.base
	}
	return d
}

// readRecord reads and decodes the next packet of the file that belongs
// to the capture into r.rec; false at its end, with the reason in r.end.
func (r *reader) readRecord() bool {
	if r.end != nil {
		return false
	}
	if r.nread == r.reanchorAt {
		r.f.Reanchor = true // past what the clock pass read (clockstep.go)
	}
	for {
		data, m, err := r.f.Next()
		if err != nil {
			r.end = err
			r.f.Close()
			return false
		}
		r.dec.Decode(&r.rec, data, m)
		// One test for the files whose every packet is theirs: the cooked
		// v1 copy check apart took 3.0M instructions on the 1M-sighting
		// incident (callgrind, --jobs 1, GOMAXPROCS=1).
		if !r.filtered || !(r.cap.CookedAny && r.cooked.Take(&r.rec, data) || r.cap.Skips(&r.rec)) {
			r.frame = data
			r.nread++
			return true
		}
	}
}

// localHop returns the local number of the hop rec was captured at (the
// analysis' when direct).
func (r *reader) localHop() int32 {
	if r.hops != nil && r.ifaceKey() == r.lastIface {
		return r.lastHop
	}
	return r.newLocalHop()
}

// ifaceKey is rec's interface: its pcapng interface and SLL2 ifindex.
func (r *reader) ifaceKey() uint64 {
	return uint64(uint32(r.rec.Iface))<<32 | uint64(uint32(r.rec.Link.IfIndex))
}

// newLocalHop is localHop past the last interface.
func (r *reader) newLocalHop() int32 {
	ik := r.ifaceKey()
	id, ok := r.hops[ik]
	if !ok {
		d := hopDef{r.cap.PointOfFrame(r.f, &r.rec, r.frame), r.rec.Iface}
		if r.direct != nil {
			id = r.direct.registerHop(d)
		} else {
			l := r.tables()
			id = int32(len(l.hops))
			l.hops = append(l.hops, d)
		}
		if r.hops == nil {
			r.hops = make(map[uint64]int32)
		}
		r.hops[ik] = id
	}
	r.lastIface, r.lastHop = ik, id
	return id
}

// produce reads the next packet into e, and its facts into f: the whole
// sighting, locally numbered, for a packet Options.Keep keeps, its time
// and damage otherwise. It reports false at the end of the file, and
// whether f holds facts.
func (r *reader) produce(e *seen, f *seenFacts) (ok, facts bool) {
	if !r.readRecord() {
		if !r.statsEnd.taken {
			r.statsEnd = statsSnapshot{r.f.Stats(), true}
		}
		return false, false
	}
	if !r.statsFirst.taken {
		r.statsFirst = statsSnapshot{r.f.Stats(), true}
	}
	if r.keep != nil && !r.keep(&r.rec) {
		e.flags, e.fact = 0, -1
		if r.rec.NProblem > 0 {
			e.flags = seenDamaged
		}
		e.o.ts = r.rec.TS
		return true, false
	}
	if r.hops == nil || r.ifaceKey() != r.lastIface { // localHop, written out: too big to inline
		r.lhop = r.newLocalHop()
	} else {
		r.lhop = r.lastHop
	}
	facts = r.fillLocal(e, f)
	e.o.hop = r.lhop
	e.flags |= seenKept
	return true, facts
}

// A batch is a run of a capture's sightings handed from its reader to the
// merging goroutine.
type batch struct {
	ents   []seen
	facts  []seenFacts // seen.fact indexes it
	tuples []Tuple     // the tuples numbered while filling it (defs.tuples)
	defs   localDefs   // the reader's numbers when it handed the batch over
	end    bool        // the file ends after ents
	// fault, when not nil, is the memory fault that stopped the reader
	// (see reader.guard), for the merging goroutine to panic with.
	fault any
}

// Batches: a reader fills some while the merging goroutine takes the
// sightings of another, so a reader runs ahead of the merge by at most
// pipeDepth-1 batches and memory stays bounded by the captures, not their
// size. 256 sightings are 24 KiB.
const pipeDepth = 4

// wakeBelow: the merge wakes a reader's worker when fewer than this many
// of the reader's batches are left to take, so that a worker with nothing
// to do sleeps until it has several batches to fill. In runtime traces of
// BenchmarkCores at GOMAXPROCS=2 the merging goroutine blocked 1,420
// times with three batches and the worker woken for every batch handed
// back (load 6), 803 times with four and this threshold (load 10).
const wakeBelow = 2

// batchLen is how many sightings a batch holds; a variable for tests.
var batchLen = 256

// pipe carries a capture's batches from its reader's goroutine.
type pipe struct {
	full chan *batch // filled, in file order
	free chan *batch // to fill again
	cur  *batch      // the one the merge is reading
	at   int         // the next sighting of cur
	// wake is the reading worker's: the merge kicks it when it hands a
	// batch back.
	wake chan struct{}
	// r is the reader. Whoever holds busy fills its batches: its worker,
	// or the merging goroutine when it would wait (crew.help). ended says
	// the last batch is filled.
	r     *reader
	busy  atomic.Bool
	ended atomic.Bool
	crew  *crew
}

// start makes the source's reader one of w's, reading in tables of its
// own into a pipe of batches.
func (s *source) start(w *worker, c *crew) {
	p := &pipe{full: make(chan *batch, pipeDepth), free: make(chan *batch, pipeDepth), wake: w.wake, r: &s.reader, crew: c}
	for range pipeDepth {
		p.free <- &batch{ents: make([]seen, 0, batchLen)}
	}
	s.pipe = p
	s.toLocal()
	w.pipes = append(w.pipes, p)
	c.pipes = append(c.pipes, p)
}

// tryFill fills a free batch of the pipe's reader and hands it over,
// unless another goroutine is filling one, none is free or the file has
// ended; it reports whether it did. onFault is the calling goroutine's
// panicsOnFault.
func (p *pipe) tryFill(onFault bool) bool {
	if p.ended.Load() || !p.busy.CompareAndSwap(false, true) {
		return false
	}
	defer p.busy.Store(false)
	if p.ended.Load() { // filled to its end as we looked
		return false
	}
	select {
	case b := <-p.free:
		if p.fill(b, onFault) {
			p.ended.Store(true)
			// The worker may be asleep, this reader its last
			// (TestWorkersEnd): it ends once it sees it ended.
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
		return true
	default:
		return false
	}
}

// The crew.
//
// A worker and the merging goroutine each wait when what they need is
// not ready: the worker when every batch of its readers is filled and
// no finished packets are handed over, the merging goroutine when the
// next batch of a capture is not filled yet, or every batch of finished
// packets is handed over and none aggregated back. On the 10.5M-sighting
// incident at GOMAXPROCS=2 the worker had 1.21 s of CPU in the main pass
// and the merging goroutine 0.94 s, which waited about 800 times, 0.22 s
// of a 1.43 s run, for a batch the worker was filling or aggregating.
// So the merging goroutine, rather than wait, does work of the worker's
// that nobody is doing: it fills the batch it waits for, aggregates the
// next batch handed over, or fills a batch of the reader furthest
// behind. Batches are filled one at a time per reader, and aggregated one
// at a time, in order, whoever does it: the output is the same
// (TestJobsSameOutput, with the workers idle too). Since, the merging
// goroutine waits about 150 times and aggregates half the batches; main
// pass CPU 1.09 s merging, 1.05 s the worker; wall 1.24 s against 1.34 s
// (BenchmarkCores -cpu 2, least of 8 and of 3).

// idleWorkers, set by tests, leaves the workers unstarted: the merging
// goroutine, helping, does all their work.
var idleWorkers bool

// crew is what the merging goroutine may do in a worker's stead.
type crew struct {
	pipes []*pipe
	stage *aggStage // nil when nobody aggregates on a worker
}

// help does one piece of the workers' work that nobody is doing, on the
// merging goroutine, and reports whether it found one.
func (c *crew) help() bool {
	if st := c.stage; st != nil {
		if did, _ := st.help(); did {
			if len(st.full) > 0 {
				st.kick()
			}
			return true
		}
	}
	// The reader with the most free batches: the least read ahead.
	var best *pipe
	for _, p := range c.pipes {
		if !p.ended.Load() && (best == nil || len(p.free) > len(best.free)) {
			best = p
		}
	}
	return best != nil && len(best.free) > 0 && best.tryFill(false)
}

// wait returns the next batch of the pipe: filled here when nobody is
// filling it, else once filled, helping meanwhile.
func (p *pipe) wait() *batch {
	for {
		select {
		case b := <-p.full:
			return b
		default:
		}
		if !p.tryFill(false) && !p.crew.help() {
			return <-p.full
		}
	}
}

// Workers.
//
// The main pass has as many goroutines as Options.Jobs: the merging
// goroutine (the caller's) and Jobs-1 workers, each reading some of the
// captures (a batch at a time, whichever of its readers has a batch to
// fill) and one of them aggregating finished packets too (aggStage). A
// goroutine per reader and one more aggregating, twelve goroutines on two
// cores for the 10-capture incident, left the merging goroutine, the
// critical path, waiting for a core behind readers the scheduler ran in
// its stead: in a runtime trace of BenchmarkCores at GOMAXPROCS=2 (load
// about 3), 0.88 s runnable and 0.53 s blocked of its 2.15 s running.

// worker runs readers and, when stage is set, the aggregation of finished
// packets, on a goroutine of its own.
type worker struct {
	pipes   []*pipe // of its readers
	stage   *aggStage
	wake    chan struct{}
	onFault bool
}

func newWorker() *worker { return &worker{wake: make(chan struct{}, 1)} }

// Labels, so that a CPU profile tells the readers' share from the
// aggregation's and the merge's: go tool pprof -tagfocus=analyze=reader.
var (
	readerLabels    = pprof.WithLabels(context.Background(), pprof.Labels("analyze", "reader"))
	aggregateLabels = pprof.WithLabels(context.Background(), pprof.Labels("analyze", "aggregate"))
)

// go starts the worker's goroutine.
func (w *worker) start() {
	w.onFault = panicsOnFault()
	go w.run()
}

// run fills the readers' free batches, one per reader in turn, and
// aggregates the batches handed over, until every file is read and the
// aggregation is finished; it waits when there is nothing to do.
func (w *worker) run() {
	if w.onFault {
		debug.SetPanicOnFault(true)
	}
	for len(w.pipes) > 0 || w.stage != nil {
		did := false
		if len(w.pipes) > 0 {
			pprof.SetGoroutineLabels(readerLabels)
		}
		for i := 0; i < len(w.pipes); {
			p := w.pipes[i]
			if p.ended.Load() {
				w.pipes = slices.Delete(w.pipes, i, i+1)
				continue
			}
			did = p.tryFill(w.onFault) || did
			i++
		}
		if st := w.stage; st != nil {
			pprof.SetGoroutineLabels(aggregateLabels)
			aggregated, ended := st.help()
			if ended {
				w.stage = nil
			}
			did = did || aggregated
		}
		if did {
			continue
		}
		if st := w.stage; st != nil {
			select {
			case <-w.wake:
			case <-st.ready:
			}
		} else if len(w.pipes) > 0 {
			<-w.wake
		}
	}
}

// panicsOnFault reports whether the calling goroutine panics on a memory
// fault (debug.SetPanicOnFault), leaving it so.
func panicsOnFault() bool {
	on := debug.SetPanicOnFault(true)
	debug.SetPanicOnFault(on)
	return on
}

// fill fills batch b of the pipe's reader and hands it over, and reports
// whether the file ended. Captures are mapped into memory, and one cut shorter
// while it is read faults where it used to be: a caller that asked for a
// panic then (debug.SetPanicOnFault, which holds per goroutine; hoptrace
// reports the file that shrank) gets it on the merging goroutine, which
// panics with the fault when it takes the batch the reader hands over in
// its stead. The worker goes on with its other readers.
func (p *pipe) fill(b *batch, onFault bool) (end bool) {
	if onFault {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if _, ok := v.(interface{ Addr() uintptr }); !ok {
				panic(v) // not a fault: a bug, to crash where it happened
			}
			// The reader held b: full has room.
			p.full <- &batch{end: true, fault: v}
			end = true
		}()
	}
	p.r.fill(b)
	p.full <- b
	return b.end
}

// fill fills b with the file's next sightings.
func (r *reader) fill(b *batch) {
	var f seenFacts
	b.ents, b.facts = b.ents[:0], b.facts[:0]
	t := r.tables().tuples
	t.fresh, t.freshFrom = b.tuples[:0], t.next
	keepFrom := t.base
	for len(b.ents) < cap(b.ents) {
		b.ents = b.ents[:len(b.ents)+1]
		e := &b.ents[len(b.ents)-1]
		ok, facts := r.produce(e, &f)
		if !ok {
			b.ents, b.end = b.ents[:len(b.ents)-1], true
			break
		}
		if facts {
			e.fact = int32(len(b.facts))
			b.facts = append(b.facts, f)
		}
	}
	b.defs = r.defs()
	b.tuples, b.defs.keepFrom = t.fresh, keepFrom
}

// take returns the next sighting of the pipe, its facts or nil, and the
// numbers its reader had given then; nil at the end of the file. The
// batch it is in is handed back to the reader once the merge takes the
// next one's first sighting.
func (p *pipe) take() (*seen, *seenFacts, *localDefs) {
	for p.cur == nil || p.at == len(p.cur.ents) {
		if p.cur != nil {
			if p.cur.end {
				return nil, nil, nil
			}
			p.free <- p.cur
			if len(p.full) < wakeBelow {
				// Running low: the reader's worker may be waiting.
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
		}
		p.cur, p.at = p.wait(), 0
		if p.cur.fault != nil {
			panic(p.cur.fault)
		}
	}
	b := p.cur
	e := &b.ents[p.at]
	p.at++
	var f *seenFacts
	if e.fact >= 0 {
		f = &b.facts[e.fact]
	}
	return e, f, &b.defs
}

// The renumbering below runs on the merging goroutine for every sighting.
// On the 300k-sighting incident (valgrind, GOMAXPROCS=1, -pgo=off; all of
// it read by the clock pass on the merging goroutine), building the
// reader's localDefs for every sighting and calling out for every lookup
// made the analysis 815.5M instructions, +8% over one goroutine numbering
// in the analysis' tables as it read (754.8M); reading the lists only
// when a number is new (d nil: the reader's own, when the merging
// goroutine reads the file) and the lookups written out in globalize and
// source.next: 799.6M (+6%: about 70 instructions a sighting in globalize).

// ownDefs returns d, or the reader's numbers when d is nil: when the
// merging goroutine reads the file itself.
func (s *source) ownDefs(d *localDefs) *localDefs {
	if d == nil {
		dd := s.defs()
		d = &dd
	}
	return d
}

// globalHop returns the analysis' hop of local hop l of the source,
// finding it when new, in the order the merge takes packets: the first
// capture to take a capture point is its file, the others its also.
func (s *source) globalHop(l int32, d *localDefs) int32 {
	if m := s.hopMap; uint(l) < uint(len(m)) && m[l] != 0 {
		return m[l] - 1
	}
	return s.newGlobalHop(l, d)
}

func (s *source) newGlobalHop(l int32, d *localDefs) int32 {
	id := s.registerHop(s.ownDefs(d).hops[l])
	s.hopMap = grow(s.hopMap, l)
	s.hopMap[l] = id + 1
	return id
}

// registerHop returns the analysis' hop of a capture point of the source,
// found in it for the first time.
func (s *source) registerHop(d hopDef) int32 {
	a := s.a
	k := hopKey{s.node, d.point}
	id, ok := a.hopIdx[k]
	if !ok {
		id = int32(len(a.hops))
		a.hops = append(a.hops, &hop{point: k.point, node: s.node, file: s.cap.Path, src: s, iface: d.iface, backed: len(s.cap.Shadows) > 0})
		a.hopIdx[k] = id
		a.coverGen++
	} else if h := a.hops[id]; h.src != s && h.file != s.cap.Path && !slices.Contains(h.also, s.cap.Path) {
		h.also = append(h.also, s.cap.Path)
		if len(s.cap.Shadows) == 0 {
			h.more = append(h.more, hopFile{s, d.iface})
		} else {
			h.backed = true
		}
		a.coverGen++
	}
	return id
}

// globalTuple returns the analysis' number of local tuple l.
func (s *source) globalTuple(l int32, d *localDefs) int32 {
	if m, i := s.tupleMap, l-s.tupleBase; uint(i) < uint(len(m)) && m[i] != 0 {
		return m[i] - 1
	}
	return s.newGlobalTuple(l, d)
}

func (s *source) newGlobalTuple(l int32, d *localDefs) int32 {
	d = s.ownDefs(d)
	id := s.a.tuples.id(d.tuples[l-d.tupleFrom])
	i := l - s.tupleBase
	s.tupleMap = grow(s.tupleMap, i)
	s.tupleMap[i] = id + 1
	return id
}

// forgetTuples forgets the analysis' numbers of the local tuples below
// from, which the reader's batches name no more (localDefs.keepFrom).
func (s *source) forgetTuples(from int32) {
	if n := int(from - s.tupleBase); n < len(s.tupleMap) {
		s.tupleMap = s.tupleMap[n:]
	} else {
		s.tupleMap = s.tupleMap[:0]
	}
	s.tupleBase = from
}

// grow extends m to hold index i.
func grow(m []int32, i int32) []int32 {
	if int(i) < len(m) {
		return m
	}
	return append(m, make([]int32, int(i)+1-len(m))...)
}

// globalize renumbers a sighting its reader took (e.o.hop already the
// analysis' hop) in the analysis' tables, and counts it as the reader's
// fill would have: tuples in order (inner, then carrier), a tuple's
// background kind from the first packet taken of it, encapsulation and
// ICMP error. d is nil when the merging goroutine reads the file itself.
func (s *source) globalize(e *seen, f *seenFacts, d *localDefs) {
	if o := &e.o; e.flags&seenObserved != 0 {
		tt := s.a.tuples
		// globalTuple, written out: too big to inline.
		if m, l := s.tupleMap, o.tuple-s.tupleBase; uint(l) < uint(len(m)) && m[l] != 0 {
			o.tuple = m[l] - 1
		} else {
			o.tuple = s.newGlobalTuple(o.tuple, d)
		}
		if o.carrier != 0 {
			var id int32
			if m, l := s.tupleMap, o.carrier-1-s.tupleBase; uint(l) < uint(len(m)) && m[l] != 0 {
				id = m[l] - 1
			} else {
				id = s.newGlobalTuple(o.carrier-1, d)
			}
			if uint(id) >= uint(len(tt.tunnel)) || tt.tunnel[id] != o.carrierType {
				tt.carries(id, o.carrierType)
			}
			o.carrier = id + 1
		}
		if o.ports && (o.proto == decode.ProtoTCP || o.proto == decode.ProtoUDP) {
			if id := o.tuple; uint(id) < uint(len(tt.bg)) && tt.bg[id] != 0 {
				e.bg = tt.bg[id] - 1
			} else {
				e.bg = tt.settle(id, e.bg)
			}
		}
		if e.flags&seenCut != 0 && e.bg == BackgroundNone {
			s.undigested++
		}
	}
	if f != nil {
		s.globalizeFacts(e, f, d)
	}
}

// settleDirect does for a sighting its reader numbered in the analysis'
// tables (reader.direct) what globalize does besides renumbering.
func (s *source) settleDirect(e *seen) {
	if o := &e.o; e.flags&seenObserved != 0 {
		if o.carrier != 0 {
			s.a.tuples.carries(o.carrier-1, o.carrierType)
		}
		if e.flags&seenCut != 0 && e.bg == BackgroundNone {
			s.undigested++
		}
	}
}

// globalizeFacts renumbers a sighting's facts (see globalize).
func (s *source) globalizeFacts(e *seen, f *seenFacts, d *localDefs) {
	if f.encap >= 0 {
		if f.encap+1 != s.lastLocalEncap || e.o.hop != s.lastEncapHop {
			sig := s.ownDefs(d).encaps[f.encap]
			sig.hop = e.o.hop
			s.lastLocalEncap, s.lastEncapHop, s.lastGlobalEncap = f.encap+1, e.o.hop, s.a.facts.encapID(sig)
		}
		f.encap = s.lastGlobalEncap
	}
	if f.icmp >= 0 {
		f.icmp = s.a.facts.icmpID(s.ownDefs(d).icmps[f.icmp])
	}
}

// Aggregating on a worker.
//
// With readers run by workers, the merging goroutine is the
// critical path: merging, correlating and aggregating every packet. The
// aggregation of a finished packet (path order, flows, latency, drops)
// reads nothing the merge changes but the analysis' tables, which only
// grow, and the capture windows of coveredAt, which move with the merge:
// so the merging goroutine works out the packet's coverage as it finishes
// it (the coverage coveredAt holds for a span of time until a capture
// starts or ends, so nearly always from its cache) and hands the packet
// over in batches, with the tables' lengths as they are then, to the
// aggregating worker (or, when it is behind, the merging goroutine
// itself: crew.help), which aggregates the packets in the order
// finished, as the merging goroutine would have. A packet whose coverage
// is not in the cache waits until the aggregating goroutine has taken
// every packet before it and is aggregated on the merging goroutine, so
// that coveredAt runs when and as it runs on one goroutine: the output is
// the same (TestJobsSameOutput).

// aggDepth is how many batches for the aggregating goroutine there are:
// the merging goroutine runs ahead by at most aggDepth-1 of them.
const aggDepth = 4

// aggBatchLen is how many packets such a batch holds (about 300 KB of
// sightings on the generated incident); a variable for tests.
var aggBatchLen = 256

// aggStage hands finished packets from the merging goroutine to the
// aggregating one.
type aggStage struct {
	g    *aggregator
	c    *correlator // whose free sighting slices the batches' come back to
	crew *crew
	cur  *aggBatch // being filled by the merging goroutine
	full chan *aggBatch
	free chan *aggBatch
	// ready wakes the aggregating worker when a batch is handed over.
	ready chan struct{}
	// mu is held while a batch is taken from full and aggregated, by the
	// worker or the merging goroutine (crew.help): batches are
	// aggregated one at a time, in order.
	mu sync.Mutex
}

// aggBatch is a run of finished packets, and the analysis' tables as they
// were when it was handed over.
type aggBatch struct {
	pkts []handedPacket
	view aggView
}

// handedPacket is what aggregator.packet reads of a finished packet, and
// its coverage.
type handedPacket struct {
	obs     []obs
	lo, hi  uint32
	byRange bool
	covered uint64
}

// newStage makes the hand-over to a worker aggregating (worker.stage).
func (g *aggregator) newStage() *aggStage {
	st := &aggStage{g: g, full: make(chan *aggBatch, aggDepth), free: make(chan *aggBatch, aggDepth), ready: make(chan struct{}, 1)}
	for range aggDepth {
		st.free <- &aggBatch{pkts: make([]handedPacket, 0, aggBatchLen)}
	}
	st.cur = st.take()
	return st
}

// aggregate aggregates a batch handed over, on the aggregating worker,
// and hands it back.
func (st *aggStage) aggregate(b *aggBatch) {
	g := st.g
	var p packet
	g.staged, g.view = true, b.view
	for i := range b.pkts {
		h := &b.pkts[i]
		// The sightings of a finished packet were written on the merging
		// goroutine up to a correlation window ago: on this core they
		// are in no cache. Loading the next packet's while this one is
		// aggregated: 10.5M incident at GOMAXPROCS=2, aggregator.packet
		// (pathOrder inlined) 13.4% -> 7.4% of perf samples, the prefetch
		// 0.8%; CPU time least of 15 alternating runs 1.94 -> 1.84 s,
		// median 2.18 -> 2.03 s; least wall of 10, 1.02 -> 1.00 s.
		if i+1 < len(b.pkts) {
			prefetch.Slice(b.pkts[i+1].obs)
		}
		p = packet{obs: h.obs, lo: h.lo, hi: h.hi, byRange: h.byRange}
		g.handed = h.covered
		g.packet(&p)
	}
	g.staged, g.view = false, aggView{}
	st.free <- b
}

// help aggregates the next batch handed over, unless another goroutine
// is aggregating one or none is waiting; it reports whether it did, and
// whether the stage has ended (finish).
func (st *aggStage) help() (did, ended bool) {
	if !st.mu.TryLock() {
		return false, false
	}
	defer st.mu.Unlock()
	select {
	case b, ok := <-st.full:
		if !ok {
			return false, true
		}
		st.aggregate(b)
		return true, false
	default:
		return false, false
	}
}

// take returns an empty batch, once it is aggregated, its sighting slices
// back in the correlator's free list; it helps while none is.
func (st *aggStage) take() *aggBatch {
	var b *aggBatch
	for b == nil {
		select {
		case b = <-st.free:
		default:
			if st.crew == nil || !st.crew.help() {
				b = <-st.free
			}
		}
	}
	if st.c != nil {
		for i := range b.pkts {
			st.c.free = append(st.c.free, b.pkts[i].obs[:0])
		}
	}
	clear(b.pkts)
	b.pkts = b.pkts[:0]
	return b
}

// send hands the batch being filled over, if it holds packets.
func (st *aggStage) send() {
	if len(st.cur.pkts) == 0 {
		return
	}
	t := st.g.a.tuples
	st.cur.view = aggView{t.keys, t.tunnel, st.g.a.hops}
	st.full <- st.cur
	st.kick()
	st.cur = st.take()
}

// kick wakes the aggregating worker, if it waits.
func (st *aggStage) kick() {
	select {
	case st.ready <- struct{}{}:
	default:
	}
}

// emit takes a finished packet on the merging goroutine (the correlator's
// emit): it hands it over, its sightings with it, or, when its coverage
// is not in coveredAt's cache, aggregates it here once the aggregating
// goroutine has taken every packet before it.
func (st *aggStage) emit(p *packet) {
	g := st.g
	var covered uint64
	if p.mixedErr || !p.icmpErr { // else packet returns before coveredAt
		c := &g.cover
		if p.mixedErr || c.gen != g.a.coverGen || p.tsLo < c.from || p.tsHi >= c.until {
			// coveredAt's cache may not hold: aggregate it here, in turn.
			st.drain()
			g.packet(p)
			st.mu.Unlock()
			return
		}
		covered = c.mask // coveredAt(t) for the first sighting's t, whichever it is
	}
	st.cur.pkts = append(st.cur.pkts, handedPacket{obs: p.obs, lo: p.lo, hi: p.hi, byRange: p.byRange, covered: covered})
	p.obs = nil // handed over with the packet
	if len(st.cur.pkts) == aggBatchLen {
		st.send()
	}
}

// drain aggregates on the merging goroutine every packet handed over that
// the worker has not, and returns holding st.mu: the worker aggregates
// nothing until it is let go.
func (st *aggStage) drain() {
	st.send()
	st.mu.Lock()
	for {
		select {
		case b := <-st.full:
			st.aggregate(b)
		default:
			return
		}
	}
}

// finish aggregates the last packets and ends the stage: the worker
// aggregates nothing after it.
func (st *aggStage) finish() {
	st.drain()
	close(st.full)
	st.mu.Unlock()
	st.kick()
}
