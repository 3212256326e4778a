package analyze

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hoptrace/hoptrace/decode"
)

// Capture is one capture file, or the part of one that a node captured,
// and the node whose clock stamped it. Package incident finds them; the
// zero value of every field but Node and Path means "as the file says".
type Capture struct {
	Node string
	// Path names the capture in reports and errors: a file, or for a
	// member of an archive "ARCHIVE//MEMBER".
	Path string
	// Data, when not nil, holds the capture's bytes (an archive member
	// read into memory); it is read instead of the file at Path.
	Data []byte
	// Point names the capture point of a single-interface capture when its
	// file name does not: the interface it was taken on, or the file's own
	// name where its stem (decode.Stem) would join it to files it is not
	// one capture with. For an -i any capture, it stands for the stem in
	// the names of interfaces not in IfNames ("POINT:ifN").
	Point string
	// IfNames names the interfaces of a Linux cooked capture (tcpdump -i
	// any) by their index, as the node's `ip -j link` lists them; those of
	// a CookedAny one by the index cookedIndex gives them.
	IfNames map[int32]string
	// Ifaces, when not nil, names the pcapng interfaces that belong to
	// this capture's node; packets of other interfaces of the file belong
	// to other nodes and are skipped.
	Ifaces map[int]string
	// Shadows are interfaces of this capture that another capture of the
	// same node took too: their packets are read from that one while it
	// was running, so that one interface is one hop.
	Shadows []Shadow
	// CookedAny marks an -i any capture in Linux cooked v1 (tcpdump before
	// 4.99), which says no interface: its frames are told apart by
	// direction and link address (cooked.go).
	CookedAny bool
	// MACNames names the node's interfaces by link address ("0a:58:..."),
	// as its `ip -j link` lists them: a CookedAny capture's outgoing
	// frames carry their interface's.
	MACNames map[string]string
}

// Shadow is an interface of a Linux cooked capture that a per-interface
// capture of the same node also took, from its first packet to its last
// (node clock, ns). Packets of the interface inside that span are the
// other capture's; outside it they are this one's.
type Shadow struct {
	IfIndex     int32
	From, Until int64
	By          string // the other capture's Path
	// Unjoined is the name the -i any capture's packets of the interface
	// take when nothing joins them to By ("n1-any:if4"), when only their
	// data did (no interface list named it): what earlier analyses, and
	// baselines written from them, call the interface.
	Unjoined string
}

// Open opens the capture for reading.
func (c *Capture) Open() (*decode.File, error) {
	if c.Data != nil {
		return decode.NewFileBytes(c.Path, c.Data)
	}
	return decode.Open(c.Path)
}

// filtered reports whether some packets of the file are not the capture's,
// or are copies (CookedAny).
func (c *Capture) filtered() bool { return c.Ifaces != nil || len(c.Shadows) > 0 || c.CookedAny }

// Skips reports whether r, read from c's file, belongs to another capture
// (another node's interface, or an interface another capture took then).
func (c *Capture) Skips(r *decode.Record) bool {
	if c.Ifaces != nil {
		if _, ok := c.Ifaces[r.Iface]; !ok {
			return true
		}
	}
	for _, sh := range c.Shadows {
		if (r.Link.Type == decode.LinkSLL2 || c.CookedAny && r.Link.Type == decode.LinkLinuxSLL) &&
			r.Link.IfIndex == sh.IfIndex && r.TS >= sh.From && r.TS <= sh.Until {
			return true
		}
	}
	return false
}

// PointOf names the capture point of r, read from f, c's file.
func (c *Capture) PointOf(f *decode.File, r *decode.Record) string {
	if c.Ifaces != nil {
		if name := c.Ifaces[r.Iface]; name != "" {
			return name
		}
	}
	if r.Link.Type == decode.LinkSLL2 {
		if name := c.IfNames[r.Link.IfIndex]; name != "" {
			return name
		}
		if c.Point != "" { // the file's own name (see Point)
			return fmt.Sprintf("%s:if%d", c.Point, r.Link.IfIndex)
		}
	} else if c.Point != "" && len(f.Interfaces()) <= 1 {
		return c.Point
	}
	return f.Point(r)
}

// Options tune an analysis. The zero value is valid.
type Options struct {
	VXLANPorts []uint16
	// Window bounds how long after its first sighting a packet may still be
	// seen at another hop; memory grows with it. Below it the window adapts
	// to eight times the longest span any packet has shown, at least 50 ms.
	// Default 1 s.
	Window time.Duration
	// ClockSample is how many packets per node the clock estimate reads.
	// Default 200000.
	ClockSample int
	// Keep, when set, selects the packets analysed. It is called from
	// several goroutines at once when Jobs is not 1.
	Keep func(*decode.Record) bool
	// Jobs is how many goroutines the main pass runs on: the one merging
	// the captures and Jobs-1 workers reading and decoding them (and one
	// of them aggregating finished packets; the merging goroutine does
	// their work too rather than wait for it); 1 does it all on the
	// merging goroutine. The result is the same whatever the number. Default
	// GOMAXPROCS.
	Jobs int
	// Trace, when set, is called once for every packet followed, with its
	// sightings in path order. ICMP errors, which belong to the flow they
	// quote, are not traced. It is called from one goroutine at a time, in
	// the same order whatever Jobs, but not always the caller's when Jobs
	// is not 1.
	Trace func(*Trace)
}

// Trace is one packet followed across hops.
type Trace struct {
	Flow      TupleJSON // the flow's original tuple
	Proto     Proto
	Direction Direction // orig or reply
	Sightings []Sighting
	// Fate numbers the packet's drop evidence (the hops that saw it, the
	// captures running, its size and TTL), shared by the packets of its
	// flow direction with the same evidence. Result.Fate tells what became
	// of them once every path is known.
	Fate int32
	// Retransmission reports a TCP segment the flow's statistics count as
	// a retransmission.
	Retransmission bool
}

// Sighting is one capture of a traced packet: where and when, and the
// fields of its innermost IP packet there.
type Sighting struct {
	Capture Capture
	Index   int    // the packet's position in its capture file, from 0
	Point   string // the capture point (hop) on the capture's node
	TS      int64  // reference time: the node's clock corrected by its offset
	// Prev is the index in Sightings of the previous hop's sighting, from
	// which this hop's latency is counted (HopLatency); -1 for the first
	// hop and for the further pieces (GSO segments, fragments) a hop saw.
	Prev     int
	IPLen    uint32            // the innermost IP packet's total length
	Overhead uint16            // bytes the tunnels around it add here
	Tunnel   decode.TunnelType // the outermost tunnel around it here, TunnelNone if none
	TTL      uint8             // of the innermost IP header (hop limit in IPv6)
	TCPFlags uint8             // TCP flags (FIN 0x01 ... CWR 0x80), 0 when not TCP
	DF       bool              // IPv4 don't-fragment
	MF       bool              // more fragments follow
	Fragment bool              // a fragment of a larger datagram
}

// Analyze follows the packets of the given captures across hops. It
// returns an error only when no capture can be read; damaged files and
// packets become warnings in the result.
func Analyze(caps []Capture, opt Options) (*Result, error) {
	if opt.Window <= 0 {
		opt.Window = time.Second
	}
	if opt.ClockSample <= 0 {
		opt.ClockSample = 200000
	}
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.GOMAXPROCS(0)
	}
	a := newAnalysis(caps, opt)
	if err := a.openAll(); err != nil {
		return nil, err
	}
	phase("clock")
	a.learnLinks()
	if opt.Jobs > 1 && len(a.nodes) >= 2 {
		a.estimateClocksPiped()
	} else {
		a.estimateClocks()
	}
	phase("main")
	// The clock pass' tables (about 20 MB on the 1M-sighting incident)
	// are garbage now: collected here, their pages take the main pass'
	// first allocations, which otherwise fault in fresh pages (hoptrace
	// starts with the collector off below 128 MB, cmd/hoptrace/gc.go).
	// 1M incident, GOMAXPROCS=1 (perf stat -r 10, three alternating
	// rounds): 233–239 ms of CPU against 244–248 ms, 13.1k page faults
	// against 15.7k; 10.5M: 1.86–1.88 s against 1.90–1.95 s (-r 4).
	// A collection costs about 1,300 page faults and 9M instructions
	// whatever the heap (the first scan of gopacket's tables, see
	// gc.go), more than small tables give back: below gcAfterClocks
	// none is made. perf stat -r 20, GOMAXPROCS=1, two alternating
	// rounds: the bundled front-door incident (tables 0.8 MB) 15.2–16.6
	// ms of CPU and 3.9k page faults with it, 13.0–15.0 ms and 2.4k
	// without; the 300k-sighting one (5.2 MB) 99–109 ms, 8.4k, against
	// 95–101 ms, 9.0k (-r 10, three rounds); the 1M one (17.3 MB) keeps it.
	if a.clockBytes >= gcAfterClocks {
		runtime.GC()
	}
	if err := a.correlate(); err != nil {
		return nil, err
	}
	a.release()
	phase("result")
	res := a.result()
	phase("end")
	return res, nil
}

// release lets go of what the main pass needed and the result does not
// (the tuple numbering, the flows by tuple number, the correlator, the
// readers' numbers), as the result is built beside the flow table: on a
// 200k-flow SYN scan about 75 MB of the 670 MB live at the peak
// (TestReleaseBeforeResult).
func (a *analysis) release() {
	a.tuples, a.corr, a.first = nil, nil, nil
	a.agg.flowIdx, a.agg.carrierIdx = nil, nil
	if a.agg.fold != nil {
		a.agg.fold.queue = nil
	}
	for _, s := range a.srcs {
		s.tupleMap, s.hopMap, s.loc, s.pipe = nil, nil, localTables{}, nil
	}
}

// gcAfterClocks is the size of the clock pass' tables from which Analyze
// collects them before the main pass (see there).
const gcAfterClocks = 8 << 20

// analysis is the state of one Analyze call.
type analysis struct {
	opt     Options
	caps    []Capture
	nodes   []string // sorted; index is the node id
	srcs    []*source
	hops    []*hop
	hopIdx  map[hopKey]int32
	offsets []int64 // per node: node clock minus reference clock
	// clockErr bounds the error of each node's offset (the largest over
	// its steps), -1 where no bound is known (one-way, not estimated,
	// re-anchored), for the correlator's causality check, and clockFrom
	// the reference time the clock pass' packets start at.
	clockErr      []int64
	clockFrom     int64
	clocks        []Clock
	agg           *aggregator
	corr          *correlator // the last correlate pass's, for growth tests
	first         *ahead      // the correlator's emit, holding the first packets (see ahead)
	tuples        *tupleTable
	facts         facts
	background    backgroundAcc
	warn          []string
	inputProblems int
	coverGen      int         // counts hops found and captures starting and ending (see aggregator.coveredAt)
	chunks        []timeChunk // of the captures' timelines, as the clock pass read them (clockstep.go)
	clockBytes    int         // what the clock pass' tables held, garbage once it is done
}

type hopKey struct {
	node  int32
	point string
}

// hopFile is a file a hop is read from: a source and its pcapng interface.
type hopFile struct {
	src   *source
	iface int
}

// hop is one capture point.
type hop struct {
	point string
	node  int32
	file  string
	also  []string // other files that took this capture point (an -i any capture of the same interface)
	src   *source  // the source it is read from
	iface int      // its pcapng interface in src's file
	// more are the further files it is read from whose statistics are
	// its own as well: a rotating capture's (not an -i any capture's,
	// whose interface it is only outside Capture.Shadows).
	more []hopFile
	// backed: an -i any capture gives the hop's packets where its own
	// files do not (Capture.Shadows), so it has no pause between them.
	backed      bool
	packets     int
	first, last int64 // node clock
}

func newAnalysis(caps []Capture, opt Options) *analysis {
	a := &analysis{opt: opt, hopIdx: make(map[hopKey]int32), tuples: newTupleTable(), facts: newFacts()}
	// Deterministic order whatever the order given.
	a.caps = slices.Clone(caps)
	slices.SortFunc(a.caps, func(x, y Capture) int {
		return strings.Compare(x.Node+"\x00"+x.Path, y.Node+"\x00"+y.Path)
	})
	for _, c := range a.caps {
		if !slices.Contains(a.nodes, c.Node) {
			a.nodes = append(a.nodes, c.Node)
		}
	}
	slices.Sort(a.nodes)
	a.offsets = make([]int64, len(a.nodes))
	return a
}

// problemf records an input problem; notef a limit of the analysis.
func (a *analysis) problemf(format string, args ...any) {
	a.inputProblems++
	a.notef(format, args...)
}

func (a *analysis) notef(format string, args ...any) {
	a.warn = append(a.warn, fmt.Sprintf(format, args...))
}

// source is one capture file in the analysis: its reader, and what the
// merging goroutine keeps of it (its numbers in the analysis' tables, its
// counts, the packet it is at).
type source struct {
	reader
	// The reader's goroutine writes the reader's fields for every packet,
	// the merging goroutine those below for every sighting: a cache line
	// between them keeps each core from taking the other's line for every
	// packet (false sharing; reader.nread and source.ts shared one).
	_         [64]byte
	a         *analysis
	idx       int
	node      int32
	ts        int64      // reference time of the current packet
	hop       int32      // the analysis' hop of the current packet
	cur       *seen      // the current packet of the main pass: in buf or a batch
	curFacts  *seenFacts // its facts, or nil
	buf       seen       // cur when read on the merging goroutine (Options.Jobs 1)
	bufFacts  seenFacts  // curFacts then
	pipe      *pipe      // the batches of the reader's goroutine, if it has one
	hopMap    []int32    // by local hop: one more than the analysis' hop, 0 until known
	tupleMap  []int32    // by local tuple from tupleBase: one more than the analysis' tuple, 0 until known
	tupleBase int32      // the first local tuple tupleMap holds (see localDefs.keepFrom)
	reread    bool       // the clock pass read packets: the main pass opens the file again
	done      bool       // read to its end in the main pass
	damaged   int
	backwards int // packets stamped more than reorderSlack before a predecessor
	// lastLocalEncap is one more than the local number of the last
	// encapsulation globalize renumbered, at lastEncapHop, to
	// lastGlobalEncap: a capture mostly sees one.
	lastLocalEncap  int32
	lastEncapHop    int32
	lastGlobalEncap int32
	// undigested counts packets identified by a payload digest whose
	// capture holds less than the digest reads (see identity.go).
	undigested int
	packets    int
	first      int64 // reference time; valid once packets > 0
	last       int64
	// stats are the file's pcapng interface statistics with a span, by
	// interface, as of statsAt (see ifaceStats).
	stats   map[int]decode.InterfaceStats
	statsAt int8
	clk     srcClock // the clock pass's chunks and the offsets of the main pass (clockstep.go)
	// statsStart is what the file's statistics said as the main pass
	// started (see reader.statsFirst).
	statsStart []decode.InterfaceStats
}

func (a *analysis) openAll() error {
	var errs []error
	for i, c := range a.caps {
		node := int32(slices.Index(a.nodes, c.Node))
		s := &source{a: a, idx: i, node: node}
		s.reader = reader{cap: c, filtered: c.filtered(), keep: a.opt.Keep, dec: decode.NewDecoder(a.opt.VXLANPorts...), reanchorAt: -1, direct: s}
		if err := s.open(); err != nil {
			errs = append(errs, err)
			a.problemf("%v", err)
			continue
		}
		a.srcs = append(a.srcs, s)
	}
	if len(a.srcs) == 0 {
		return errors.Join(errs...)
	}
	return nil
}

func (s *source) open() error {
	f, err := s.cap.Open()
	if err != nil {
		return err
	}
	s.f = f
	return nil
}

// restart starts the main pass over the file: from a reopened file when
// the clock pass read packets of it.
func (s *source) restart() error {
	s.damaged, s.backwards, s.packets, s.last = 0, 0, 0, 0
	s.cooked = Cooked{}
	if !s.reread {
		s.statsStart = s.f.Stats()
		return nil
	}
	s.undigested = 0 // fill counts them again
	s.f.Close()
	s.end = nil
	s.nread, s.reanchorAt = 0, s.clk.reanchorAt
	if err := s.open(); err != nil {
		return err
	}
	s.statsStart = s.f.Stats()
	return nil
}

// read reads and decodes the next packet of the file into s.rec for the
// clock pass, numbering it; false at its end, with the reason in s.end.
// The rest of count (times, damage, disorder) is the main pass's, which
// restart starts from zero. Counted here too, the 300k-sighting incident
// (bench/genincident -n 20000, valgrind --tool=lackey, GOMAXPROCS=1) ran
// 722.4M instructions, 697.2M without (767.2M and 758.0M with -pgo=off:
// the profile inlines the smaller read).
func (s *source) read() bool {
	if !s.readRecord() {
		return false
	}
	s.packets++
	return true
}

// count takes one more packet of the file, stamped ts (node clock).
func (s *source) count(ts int64, damaged bool) {
	s.packets++
	ts -= s.clk.off // reference time (the callers move it on: clockstep.go)
	if s.packets == 1 {
		s.first = ts
		s.a.coverGen++
	}
	if ts < s.last-reorderSlack {
		s.backwards++
	}
	s.last = max(s.last, ts)
	if damaged {
		s.damaged++
	}
}

// next moves the main pass to the next packet the analysis keeps, read
// from the file (from the reader's batches when it has a goroutine); false
// at the end of the file, once its input problems are reported.
func (s *source) next() bool {
	for {
		var e *seen
		var f *seenFacts
		var d *localDefs
		if s.pipe != nil {
			if e, f, d = s.pipe.take(); d != nil && d.keepFrom != s.tupleBase {
				s.forgetTuples(d.keepFrom)
			}
		} else {
			e, f = &s.buf, &s.bufFacts
			if ok, facts := s.produce(e, f); !ok {
				e = nil
			} else if !facts {
				f = nil
			}
		}
		if e == nil {
			s.finish()
			return false
		}
		s.clk.offset(s.packets + 1)
		s.count(e.o.ts, e.flags&seenDamaged != 0)
		if e.flags&seenKept == 0 {
			continue
		}
		if s.pipe == nil { // the reader is direct: no need to read it
			s.hop = e.o.hop
			s.settleDirect(e)
		} else {
			if m, l := s.hopMap, e.o.hop; uint(l) < uint(len(m)) && m[l] != 0 {
				s.hop = m[l] - 1 // globalHop, written out: too big to inline
			} else {
				s.hop = s.newGlobalHop(l, d)
			}
			e.o.hop = s.hop
			s.globalize(e, f, d)
		}
		s.cur, s.curFacts = e, f
		s.ts = e.o.ts - s.clk.off
		return true
	}
}

// finish reports the input problems of a file read to its end.
func (s *source) finish() {
	if !errors.Is(s.end, io.EOF) {
		s.a.problemf("%v (%d packets read before it are kept)", s.end, s.packets)
	}
	recs, n := s.f.Recoveries()
	for _, r := range recs {
		s.a.problemf("%s", s.f.Describe(r))
	}
	if n > len(recs) {
		s.a.problemf("%s: %d more damaged records or blocks skipped (%d bytes in all)", s.cap.Path, n-len(recs), s.f.Skipped())
	}
	s.reportSteps()
	if s.damaged > 0 {
		s.a.problemf("%s: %d of %d packets are malformed", s.cap.Path, s.damaged, s.packets)
	}
	s.noteUndigested()
	if s.backwards > 0 {
		what := fmt.Sprintf("%d packets are", s.backwards)
		if s.backwards == 1 {
			what = "1 packet is"
		}
		s.a.notef("%s: %s stamped more than 1 ms earlier than a packet before it; packets are followed in file order, so their hop order and latency may be off", s.cap.Path, what)
	}
}

// hopID returns the hop the source's current packet was captured at,
// finding it when new.
func (a *analysis) hopID(s *source) int32 {
	if s.hops == nil || s.ifaceKey() != s.lastIface { // localHop, written out: too big to inline
		s.lhop = s.newLocalHop()
	} else {
		s.lhop = s.lastHop
	}
	if s.direct != nil {
		return s.lhop
	}
	return s.globalHop(s.lhop, nil)
}

// merger yields the packets of several sources in reference-time order
// (ties by source order, so the order is deterministic): a binary heap of
// each source's next time, written out rather than through container/heap,
// whose interface calls cost more than the comparisons on this per-packet
// path. Its entries are values: comparing them reads no source, and
// moving them stores no pointer.
type merger []mergeEntry

type mergeEntry struct {
	ts  int64 // the source's current packet, reference time
	src int32 // index into analysis.srcs, whose order is the sources' order
}

func (x mergeEntry) before(y mergeEntry) bool {
	return x.ts < y.ts || x.ts == y.ts && x.src < y.src
}

// down restores the heap below i: the entry at i moves down past the
// children that come before it.
func (m merger) down(i int) {
	if i >= len(m) {
		return
	}
	e := m[i]
	for {
		c := 2*i + 1
		if c >= len(m) {
			break
		}
		if r := c + 1; r < len(m) && m[r].before(m[c]) {
			c = r
		}
		if !m[c].before(e) {
			break
		}
		m[i] = m[c]
		i = c
	}
	m[i] = e
}

func (m merger) init() {
	for i := len(m)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
}

// pop removes the first entry.
func (m *merger) pop() {
	old := *m
	n := len(old) - 1
	old[0] = old[n]
	*m = old[:n]
	m.down(0)
}

// correlate is the main pass: every packet of every capture, merged in
// reference-time order, matched across hops within the window.
func (a *analysis) correlate() error {
	a.agg = newAggregator(a)
	emit := a.agg.packet
	var stage *aggStage
	var workers []*worker
	cr := &crew{}
	if a.opt.Jobs > 1 {
		stage = a.agg.newStage()
		stage.crew, cr.stage = cr, stage
		emit = stage.emit
		workers = make([]*worker, a.opt.Jobs-1)
		for i := range workers {
			workers[i] = newWorker()
		}
		workers[0].stage = stage
	}
	c := newCorrelator(int64(a.opt.Window), a.ahead(emit)) // on one line: the profile knows the lines below by their offset
	c.tuples, c.clockErr, c.clockFrom = a.tuples, a.clockErr, a.clockFrom
	a.corr = c
	if stage != nil {
		stage.c = c
	}
	var m merger
	// Every reader starts before the first packet is taken; what a
	// restart reports is reported where one goroutine would have.
	errs := make([]error, len(a.srcs))
	for i, s := range a.srcs {
		if errs[i] = s.restart(); errs[i] == nil && workers != nil {
			s.start(workers[i%len(workers)], cr)
		}
	}
	for _, w := range workers {
		if !idleWorkers {
			w.start()
		}
	}
	for i, s := range a.srcs {
		if errs[i] != nil {
			a.problemf("%v", errs[i])
			continue
		}
		if s.next() {
			m = append(m, mergeEntry{s.ts, int32(i)})
		}
	}
	m.init()
	for len(m) > 0 {
		s := a.srcs[m[0].src]
		e := s.cur
		h := a.hops[e.o.hop]
		h.packets++
		if h.packets == 1 {
			h.first = e.o.ts
		}
		h.last = e.o.ts
		if s.curFacts != nil {
			a.agg.sighting(e.o.hop, s.curFacts)
		}
		if e.bg != BackgroundNone && (a.opt.Keep == nil || alwaysBackground(e.bg)) {
			a.background.add(e.o.hop, e.bg, int(e.wire))
		} else if e.flags&seenObserved != 0 {
			// The sighting is handed over once: complete it in place.
			o := &e.o
			o.ts, o.node = s.ts, s.node
			o.capture, o.index = int32(s.idx), uint32(s.packets-1)
			c.add(o)
		}
		if s.next() {
			m[0].ts = s.ts
			m.down(0)
		} else {
			a.agg.sourceDone(s)
			m.pop()
		}
	}
	c.flush()
	a.first.flush()
	if stage != nil {
		stage.finish()
	}
	return nil
}

// alsoPoints lists the names h's capture point had where the data, not an
// interface list, joined an -i any capture's interface to it
// (Shadow.Unjoined).
func (a *analysis) alsoPoints(h *hop) []string {
	var out []string
	for _, c := range a.caps {
		if a.nodes[h.node] != c.Node {
			continue
		}
		for _, sh := range c.Shadows {
			if sh.Unjoined != "" && c.IfNames[sh.IfIndex] == h.point && !slices.Contains(out, sh.Unjoined) {
				out = append(out, sh.Unjoined)
			}
		}
	}
	slices.Sort(out)
	return out
}

// alsoFiles lists the files other than h.file that took h's capture point:
// those whose packets were read as h's, and the -i any captures whose
// packets of h's interface were all read from h.file (Capture.Shadows).
func (a *analysis) alsoFiles(h *hop) []string {
	also := slices.Clone(h.also)
	for _, c := range a.caps {
		if a.nodes[h.node] != c.Node || c.Path == h.file || slices.Contains(also, c.Path) {
			continue
		}
		for _, sh := range c.Shadows {
			if c.IfNames[sh.IfIndex] == h.point {
				also = append(also, c.Path)
				break
			}
		}
	}
	slices.Sort(also)
	return also
}
