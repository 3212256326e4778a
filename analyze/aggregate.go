package analyze

import (
	"cmp"
	"math"
	"slices"

	"github.com/hoptrace/hoptrace/decode"
)

// aggregator turns finished packets and single sightings into the
// analysis' figures. Everything it keeps is bounded by the number of flows,
// hops and distinct findings, not by the number of packets.
type aggregator struct {
	a     *analysis
	flows *flowTable
	// carriers are the flows of the tunnel packets that carried others
	// between nodes (VXLAN's UDP, IPIP), as the nodes' conntrack sees them.
	carriers   *flowTable
	carrierIdx []carrierFlow // by obs.carrier
	flowIdx    []flowRef     // by the number of a packet's first tuple: see flowOf
	// fold holds the flows folded while idle (fold.go); nil when tracing.
	fold *foldStore
	lat  map[latKey]*latAcc
	// latKeys, encapKeys, icmpKeys and fragKeys list the keys of lat,
	// encap, icmp and frags in the order they were added, for build to
	// walk: ranging over a map takes a new order every run, and sorting
	// what it gave did a different number of comparisons each time, so
	// the same input never gave the fuzzer the same coverage.
	latKeys   []latKey
	encapKeys []encapKey
	icmpKeys  []icmpKey
	fragKeys  []fragKey
	// latDense indexes lat by from, then to*2+dir.
	latDense [][]*latAcc
	// npaths counts the flow directions with a path (flowState.path): a
	// map of them was about 45 bytes per flow of a SYN scan, read only to
	// list them, as the flows list them.
	npaths   int
	drops    map[dropSlot]*dropAcc
	dropKeys []dropSlot // by dropAcc.id: a packet's Trace.Fate
	// wheres numbers the dropWheres of drop groups (whereIdx), the last
	// few in recentWheres.
	wheres       []dropWhere
	whereIdx     map[dropWhere]int32
	recentWheres [4]struct {
		w  dropWhere
		id int32
	}
	nextRecentWhere int
	frags           map[fragKey]*fragAcc
	encap           map[encapKey]*encapAcc
	encapIdx        []*encapAcc // by facts' number
	icmp            map[icmpKey]*icmpAcc
	// fragNeeded is the smallest MTU an ICMP error quoting a tuple announced.
	fragNeeded map[Tuple]int
	// routed holds the hop pairs (from, to) across which a packet's TTL
	// was seen to drop: a router lies between them.
	routed      map[[2]int32]bool
	routedDense [64]uint64 // routed of hops below 64: bit to of word from
	// tunnels is endpointTunnels, built once drops are placed.
	tunnels map[endpoints]int
	// precIn counts, per hop pair and entry hop (the packet's first hop),
	// how often a packet was seen strictly earlier at one than the other;
	// precOut the same per exit hop. Taps on one receive path share the
	// kernel's timestamp, and this evidence orders such ties: packets
	// entering where a packet entered cross hops in its order, packets
	// leaving where it entered cross them in reverse.
	precIn, precOut precTable
	learned         []int // by entry hop: packets learned from
	// ahead is how many of the next packets were learnt from before
	// being settled (see ahead).
	ahead    int
	learnOps int // sighting pairs compared by learn, for growth tests

	prev    []int   // scratch of packet, for Options.Trace: Sighting.Prev by sighting
	sortIdx []int32 // scratch of sortObs
	sortTmp []obs
	// Scratch of packet and pathOrder, kept here rather than zeroed on the
	// stack for each packet (the 300k-sighting incident, bench/genincident
	// -n 20000: 712.3M to 709.1M instructions; valgrind). firstAt is by
	// hop below 64: the first sighting of it in the packet, read only for
	// hops the packet was seen at. The node arrays are by node (modulo
	// 64), each packet clearing the entries of the nodes it was seen on.
	firstAt             [64]int32
	nodeTTL, nodeMinTTL [64]uint8
	nodeFirst           [64]int64

	// cover and wins are the merging goroutine's, and the fields around
	// them the aggregating goroutine's when it has one (aggStage): a
	// cache line either side keeps them apart.
	_     [64]byte
	cover coverage // the last coveredAt
	wins  []nodeWindow
	_     [64]byte

	// view is what packet reads of the analysis' tables, which the
	// merging goroutine appends to: the tables themselves, or, when the
	// aggregation runs on a goroutine of its own (aggStage), the tables
	// as they were when the batch being aggregated was handed over.
	view aggView
	// staged: packet runs on the aggregating goroutine, and handed is
	// the coveredAt the merging goroutine found for the packet.
	staged bool
	handed uint64

	addrs addrNames // while the result is built
}

// aggView is the part of the analysis' tables a packet's aggregation
// reads: numbers below their lengths never change.
type aggView struct {
	keys   []tupleKey // tupleTable.keys
	tunnel []decode.TunnelType
	hops   []*hop
}

// tuple is tupleTable.tuple.
func (v *aggView) tuple(id int32) Tuple { return v.keys[id].tuple() }

// coverage is which hops' captures were running from one reference time
// until another, as of generation gen of analysis.coverGen.
type coverage struct {
	gen         int
	from, until int64 // [from, until)
	mask        uint64
}

// precLearn is how many packets per entry hop teach the hop order.
const precLearn = 4096

// precTable counts, per hop pair (a, b) and third hop c, how often a
// packet was seen at a strictly before b: a matrix per c while all three
// are below precDense (16 KB each, at most 64), a precSparse per c for
// the rest.
type precTable struct {
	dense  []*[precDense * precDense]int32
	sparse []*precSparse
}

const precDense = 64

// matrix returns the dense counts of third hop c (below precDense).
func (t *precTable) matrix(c int32) *[precDense * precDense]int32 {
	for int(c) >= len(t.dense) {
		t.dense = append(t.dense, nil)
	}
	if t.dense[c] == nil {
		t.dense[c] = new([precDense * precDense]int32)
	}
	return t.dense[c]
}

func (t *precTable) add(a, b, c int32) {
	if a < precDense && b < precDense && c < precDense {
		t.matrix(c)[a*precDense+b]++
		return
	}
	for int(c) >= len(t.sparse) {
		t.sparse = append(t.sparse, nil)
	}
	if t.sparse[c] == nil {
		t.sparse[c] = newPrecSparse()
	}
	t.sparse[c].add(a, b)
}

func (t *precTable) get(a, b, c int32) int32 {
	if a < precDense && b < precDense && c < precDense {
		if int(c) >= len(t.dense) || t.dense[c] == nil {
			return 0
		}
		return t.dense[c][a*precDense+b]
	}
	if int(c) >= len(t.sparse) || t.sparse[c] == nil {
		return 0
	}
	return t.sparse[c].get(a, b)
}

type flowDir struct {
	flow int32
	dir  int8
}

type latKey struct {
	from, to int32
	dir      int8
}

// latAt returns the latency accumulator of a hop pair and direction,
// through a dense index in front of the map.
func (g *aggregator) latAt(from, to int32, d int) *latAcc {
	i := int(to)*2 + d
	if int(from) < len(g.latDense) {
		if row := g.latDense[from]; i < len(row) && row[i] != nil {
			return row[i]
		}
	}
	k := latKey{from, to, int8(d)}
	l := g.lat[k]
	if l == nil {
		l = &latAcc{}
		g.lat[k] = l
		g.latKeys = append(g.latKeys, k)
	}
	if from < maxDenseHops && to < maxDenseHops {
		if int(from) >= len(g.latDense) {
			g.latDense = append(g.latDense, make([][]*latAcc, int(from)+1-len(g.latDense))...)
		}
		row := g.latDense[from]
		if i >= len(row) {
			row = append(row, make([]*latAcc, i+1-len(row))...)
			g.latDense[from] = row
		}
		row[i] = l
	}
	return l
}

// maxDenseHops bounds the dense latency index.
const maxDenseHops = 128

type latAcc struct {
	h        hist
	negative int
}

// pathAcc is what the packets of one flow direction showed of its path.
// A SYN scan has one per flow direction: what only some paths need is
// made when they need it (more), 64 bytes a path and no slice for the
// entries instead of 112 and one (TestPathAccBytes; 200k-flow scan: peak
// live heap 254 -> 246 MB at 80 bytes; the rare parts behind one pointer
// instead of two, 80 -> 64: 1,145 -> 1,119 bytes per flow live after the
// main pass).
type pathAcc struct {
	packets int
	union   uint64 // hops (below 64) any packet was seen at
	pos     hopPos // by hop: the positions its first crossing took
	// more holds the second crossings and entry counts, nil until a
	// packet needs one of them.
	more       *pathMore
	firstEntry int32
}

// pathMore is what few paths need.
type pathMore struct {
	// again is by hop: the positions its second crossing took, for hops
	// (below 64) packets crossed twice (see recrossed); nil until one was.
	again *hopPos
	// entry is by hop the packets entering there (n), from the first
	// packet that entered elsewhere than firstEntry, where all the
	// packets before it entered; nil until then.
	entry *hopPos
}

// againPos returns the positions of second crossings, nil when none was.
func (pa *pathAcc) againPos() *hopPos {
	if pa.more == nil {
		return nil
	}
	return pa.more.again
}

// entryPos returns the entry counts, nil until made.
func (pa *pathAcc) entryPos() *hopPos {
	if pa.more == nil {
		return nil
	}
	return pa.more.entry
}

// moreOf returns pa.more, making it.
func (pa *pathAcc) moreOf() *pathMore {
	if pa.more == nil {
		pa.more = &pathMore{}
	}
	return pa.more
}

// twice reports whether packets of the path crossed hop h twice.
func (pa *pathAcc) twice(h int32) bool {
	again := pa.againPos()
	if again == nil {
		return false
	}
	pc := again.get(h)
	return pc != nil && pc.n > 0
}

// enter counts a packet (counted in packets already) entering at hop h.
func (pa *pathAcc) enter(h int32) {
	switch {
	case pa.entryPos() != nil:
		pa.more.entry.at(h).n++
	case pa.packets == 1:
		pa.firstEntry = h
	case h != pa.firstEntry:
		e := &hopPos{}
		pa.moreOf().entry = e
		e.at(pa.firstEntry).n = pa.packets - 1
		e.at(h).n++
	}
}

// entryHop returns the hop most of its packets entered at (the smallest
// on ties), -1 when none was counted.
func (pa *pathAcc) entryHop() int32 {
	switch {
	case pa.entryPos() != nil:
		return pa.more.entry.mostCommon()
	case pa.packets > 0:
		return pa.firstEntry
	}
	return -1
}

// againAt returns the positions of second crossings, making them.
func (pa *pathAcc) againAt() *hopPos {
	m := pa.moreOf()
	if m.again == nil {
		m.again = &hopPos{}
	}
	return m.again
}

type posAcc struct{ sum, n int }

// hopPos holds a posAcc per hop of one flow direction: a slice indexed by
// hop for hops below pathDense, where the hops of a normal incident are
// (an index costs no more than before), and a map for hops beyond, so a
// flow's state follows the hops it crossed, not the highest hop number (a
// slice to the highest hop per flow direction made 100k interfaces need
// 18 GB; see TestManyHopsGrowth).
type hopPos struct {
	dense []posAcc
	far   map[int32]*posAcc
}

// pathDense bounds the hops a hopPos indexes densely: 1 KB per flow
// direction at most.
const pathDense = 64

// at returns hop h's accumulator, adding it.
func (hp *hopPos) at(h int32) *posAcc {
	if h < pathDense {
		if int(h) >= len(hp.dense) {
			hp.dense = append(hp.dense, make([]posAcc, int(h)+1-len(hp.dense))...)
		}
		return &hp.dense[h]
	}
	pc := hp.far[h]
	if pc == nil {
		if hp.far == nil {
			hp.far = make(map[int32]*posAcc)
		}
		pc = new(posAcc)
		hp.far[h] = pc
	}
	return pc
}

// get returns hop h's accumulator, nil if it has none.
func (hp *hopPos) get(h int32) *posAcc {
	if h < pathDense {
		if int(h) < len(hp.dense) {
			return &hp.dense[h]
		}
		return nil
	}
	return hp.far[h]
}

// appendHops appends the hops with a count to out, in increasing order,
// and returns it.
func (hp *hopPos) appendHops(out []int32) []int32 {
	for h := range hp.dense {
		if hp.dense[h].n > 0 {
			out = append(out, int32(h))
		}
	}
	return hp.appendFar(out)
}

// appendFar appends the hops past pathDense with a count to out, in
// increasing order, and returns it.
func (hp *hopPos) appendFar(out []int32) []int32 {
	if len(hp.far) == 0 {
		return out
	}
	n := len(out)
	for h, pc := range hp.far {
		if pc.n > 0 {
			out = append(out, h)
		}
	}
	slices.Sort(out[n:])
	return out
}

// mostCommon returns the hop with the highest n (the smallest on ties),
// -1 when there is none.
func (hp *hopPos) mostCommon() int32 {
	best, n := int32(-1), 0
	for h := range hp.dense {
		if c := hp.dense[h].n; c > n {
			best, n = int32(h), c
		}
	}
	for _, h := range hp.appendFar(nil) {
		if c := hp.far[h].n; c > n {
			best, n = h, c
		}
	}
	return best
}

// dropKey groups packets of one flow direction by where they were seen and
// which captures were running at the time.
type dropKey struct {
	flow          int32
	dir           int8
	seen, covered uint64 // hop bitmasks (hops 0..63)
	again         uint64 // hops seen a second time (see recrossed)
	dfWhole       bool   // DF and not a fragment: what the MTU may stop
	lowTTL        bool   // TTL 1 or less at its last sighting
}

// dropSlot is a dropKey as the aggregator keeps it: its flow direction
// and the number of the rest (aggregator.wheres), which few distinct
// values take (a SYN scan's million drop groups share a handful). Kept
// whole, the keys and the map of them were about 130 bytes per flow
// direction of a SYN scan (heap profile); so about 60, and the counts
// 48 rather than 64 (TestDropGroupBytes; 200k-flow scan: peak live heap
// 311 -> 284 MB, GOGC=20 GODEBUG=gctrace=1).
type dropSlot struct {
	flow  int32
	where int32
	dir   int8
}

// dropWhere is a dropKey but for its flow direction.
type dropWhere struct {
	seen, covered, again uint64
	dfWhole, lowTTL      bool
}

// whereID returns the number of w, numbering it when new.
func (g *aggregator) whereID(w dropWhere) int32 {
	for i := range g.recentWheres {
		if r := &g.recentWheres[i]; r.w == w && r.id > 0 {
			return r.id - 1
		}
	}
	id, ok := g.whereIdx[w]
	if !ok {
		id = int32(len(g.wheres))
		g.wheres = append(g.wheres, w)
		g.whereIdx[w] = id
	}
	r := &g.recentWheres[g.nextRecentWhere]
	r.w, r.id = w, id+1
	g.nextRecentWhere = (g.nextRecentWhere + 1) % len(g.recentWheres)
	return id
}

// dropKeyOf returns the drop key that s stands for.
func (g *aggregator) dropKeyOf(s dropSlot) dropKey {
	w := &g.wheres[s.where]
	return dropKey{flow: s.flow, dir: s.dir, seen: w.seen, covered: w.covered, again: w.again, dfWhole: w.dfWhole, lowTTL: w.lowTTL}
}

// dropAcc counts the packets of one drop group (a dropSlot).
//
// A SYN scan has a drop group or two per flow, so the counts are 32-bit,
// stopping at their largest value rather than wrapping (a group would
// need 4G packets): 32 bytes a group instead of 48 (TestDropGroupBytes).
type dropAcc struct {
	id      int32 // its index in aggregator.dropKeys
	lastHop int32 // see pieces
	maxLen  uint32
	minLen  uint32 // the smallest packet, as its sender's first hop saw it
	packets uint32
	minSeg  uint32 // the smallest of their segment sizes (see segmentSize)
	// pieces counts the packets as the hop that saw them last had them (a
	// GSO super-frame there is one, the segments it became are several),
	// while lastHop is that hop for all of them; -1 when they differ.
	pieces uint32
	// resent counts pieces whose sequence range their sender sent again
	// later (see watchResend).
	resent uint32
}

// add adds n to counter c, which stops at its largest value.
func add(c *uint32, n int) {
	*c = uint32(min(uint64(*c)+uint64(n), math.MaxUint32))
}

type fragKey struct {
	kind MTUKind
	hop  int32
	flow int32
	dir  int8
}

type fragAcc struct {
	packets int
	mtu     int
}

type encapKey struct {
	hop    int32
	chain  string // tunnel types outermost first, "vxlan" or "gre/vxlan"
	vni    uint32
	hasVNI bool
}

type encapAcc struct {
	packets   int
	overhead  int64
	wireBytes int64
}

type icmpKey struct {
	quoted Tuple
	mtu    uint32
	sender string
	v6     bool
}

type icmpAcc struct {
	hops   uint64 // hops it was seen at
	first  int32  // first hop seen
	perHop []hopCount
}

// hopCount is how many of something one hop saw.
type hopCount struct {
	hop int32
	n   int
}

// packets returns how many ICMP messages there were: as many as the hop
// that saw the most of them saw, as each message is seen at every hop it
// crosses.
func (c *icmpAcc) packets() int {
	n := 0
	for _, h := range c.perHop {
		n = max(n, h.n)
	}
	return n
}

func newAggregator(a *analysis) *aggregator {
	g := &aggregator{
		a:          a,
		flows:      newFlowTable(),
		carriers:   newFlowTable(),
		lat:        make(map[latKey]*latAcc),
		drops:      make(map[dropSlot]*dropAcc),
		whereIdx:   make(map[dropWhere]int32),
		frags:      make(map[fragKey]*fragAcc),
		encap:      make(map[encapKey]*encapAcc),
		icmp:       make(map[icmpKey]*icmpAcc),
		fragNeeded: make(map[Tuple]int),
		routed:     make(map[[2]int32]bool),
	}
	g.foldOn()
	return g
}

// sighting takes what one capture (at hop) saw of one packet, before
// correlation: encapsulation cost and ICMP errors.
func (g *aggregator) sighting(hop int32, f *seenFacts) {
	if f.encap >= 0 {
		c := g.encapAt(f.encap)
		c.packets++
		c.overhead += int64(f.over)
		c.wireBytes += f.wire
	}
	if f.icmp >= 0 {
		k := &g.a.facts.icmps[f.icmp]
		c := g.icmp[*k]
		if c == nil {
			c = &icmpAcc{first: hop}
			g.icmp[*k] = c
			g.icmpKeys = append(g.icmpKeys, *k)
		}
		c.hops |= hopBit(hop)
		i := slices.IndexFunc(c.perHop, func(h hopCount) bool { return h.hop == hop })
		if i < 0 {
			i = len(c.perHop)
			c.perHop = append(c.perHop, hopCount{hop: hop})
		}
		c.perHop[i].n++
		if old, ok := g.fragNeeded[k.quoted]; !ok || int(k.mtu) < old {
			g.fragNeeded[k.quoted] = int(k.mtu)
		}
	}
}

// encapAt returns the accumulator of an encapsulation (numbered by facts),
// through an index in front of the map.
func (g *aggregator) encapAt(id int32) *encapAcc {
	for int(id) >= len(g.encapIdx) {
		g.encapIdx = append(g.encapIdx, nil)
	}
	c := g.encapIdx[id]
	if c == nil {
		k := g.a.facts.encaps[id]
		if c = g.encap[k]; c == nil {
			c = &encapAcc{}
			g.encap[k] = c
			g.encapKeys = append(g.encapKeys, k)
		}
		g.encapIdx[id] = c
	}
	return c
}

// countAt adds one to counts[i], growing counts as needed.
func countAt(counts []int, i int32) []int {
	if int(i) >= len(counts) {
		counts = append(counts, make([]int, int(i)+1-len(counts))...)
	}
	counts[i]++
	return counts
}

// hopBit is the bit of hop h in a hop mask: 0 for hops past 63, as a
// shift of 64 or more gives in Go.
func hopBit(h int32) uint64 { return 1 << uint32(h) }

// sourceDone marks a capture as read to its end.
func (g *aggregator) sourceDone(s *source) {
	s.done = true
	g.a.coverGen++
}

// coveredAt returns the mask of the hops (below 64) whose captures were
// running at reference time t. A node's captures are taken together
// (tcpdump started on every interface, stopped together), so a capture
// covers its node's capture window: from the earliest first packet of any
// capture of the node to the latest last packet, once all of them are read
// (until then, to the end). A quiet tunnel device after a stall thus still
// counts as listening. A capture whose file says when it started and
// ended (pcapng statistics) covers that span instead (statsWindow).
// Packets are finished about in the order they were
// first seen, so the mask is kept with the span of time it holds for,
// until a capture starts or ends (coverGen).
func (g *aggregator) coveredAt(t int64) uint64 {
	c := &g.cover
	if c.gen == g.a.coverGen && c.from <= t && t < c.until {
		return c.mask
	}
	*c = coverage{gen: g.a.coverGen, from: math.MinInt64, until: math.MaxInt64}
	wins := g.nodeWindows()
	for h, hp := range g.a.hops[:min(len(g.a.hops), 64)] {
		w := g.a.statsWindow(hp, wins[hp.node]) // the capture's own span, when its file says it
		if !w.started {
			continue
		}
		if t < w.start {
			c.until = min(c.until, w.start)
			continue
		}
		c.from = max(c.from, w.start)
		if !w.open {
			if t > w.end {
				c.from = max(c.from, w.end+1)
				continue
			}
			c.until = min(c.until, w.end+1)
		}
		if len(hp.more) > 0 && !hp.backed {
			from, until, paused := hp.pause(t)
			c.from, c.until = max(c.from, from), min(c.until, until)
			if paused {
				continue
			}
		}
		c.mask |= hopBit(int32(h))
	}
	return c.mask
}

// pause reports whether reference time t falls between two files of the
// rotating capture h: after the last packet of one, before the first of
// the next. The capture was switching files there (tcpdump -C and dumpcap
// lose no packet doing so: one gap between packets) or stopped and
// started again under a new name, and saw nothing: a packet there is not
// one it missed. from and until bound the span around t where the answer
// holds. Before its first file and after its last, the capture covers its
// node's window, as every capture does.
func (h *hop) pause(t int64) (from, until int64, paused bool) {
	const none, never = math.MinInt64, math.MaxInt64
	before, after, pending := int64(none), int64(never), false
	var in *source // a file whose packets span t
	file := func(s *source) {
		switch {
		case s.packets == 0:
			pending = pending || !s.done // may start anywhere yet
		case s.first <= t && (!s.done || t <= s.last):
			in = s
		case s.first > t:
			after = min(after, s.first)
		default: // done before t
			before = max(before, s.last)
		}
	}
	file(h.src)
	for _, m := range h.more {
		file(m.src)
	}
	switch {
	case in != nil && in.done:
		return in.first, in.last + 1, false
	case in != nil:
		return in.first, never, false
	case before == none: // before the first file
		return none, after, false
	}
	return before + 1, after, after != never || pending
}

// nodeWindow is when a node's captures ran, in reference time.
type nodeWindow struct {
	start, end int64
	started    bool // a capture of the node has a packet
	open       bool // a capture of the node is still being read: no end yet
}

// nodeWindows returns each node's capture window as far as read.
func (g *aggregator) nodeWindows() []nodeWindow {
	wins := g.wins[:0]
	for range g.a.nodes {
		wins = append(wins, nodeWindow{})
	}
	g.wins = wins
	for _, s := range g.a.srcs {
		w := &wins[s.node]
		if !s.done {
			w.open = true
		}
		if s.packets == 0 {
			continue
		}
		if !w.started || s.first < w.start { // reference time
			w.start = s.first
		}
		w.started = true
		w.end = max(w.end, s.last)
	}
	return wins
}

// packet takes one packet followed across hops.
// ends returns a packet's first and last sightings that have ports
// (its first and last sightings when none has: later fragments).
func ends(ord []obs) (first, last *obs) {
	first = &ord[0]
	for i := range ord {
		if ord[i].ports {
			first = &ord[i]
			break
		}
	}
	last = first
	for i := len(ord) - 1; i >= 0; i-- {
		if ord[i].ports {
			last = &ord[i]
			break
		}
	}
	return first, last
}

// cutPiece reports whether a packet every sighting of which a capture cut
// before what tells it apart (obs.cut: they join only others cut as short)
// is a piece of one of its flow direction's packets another capture holds
// whole (noteUndigested says how many a capture cut so). Such a piece was counted again in its flow and in
// the tunnel's carrying it, as a packet seen only where it was cut and
// "lost" after it, and it put that hop out of place on the path (the
// realistic incident's node-2 at -s 96, its interfaces named: 16 false
// drops of DNS answers, IP ID 0, "between n2-eth0 and n2-flannel.1"). It
// is left out; the whole packet shows the cut hop as a capture gap. Where
// no capture holds the direction's packets whole, the pieces are its
// packets, as matched among captures cut as short.
func (g *aggregator) cutPiece(ord []obs) bool {
	first, last := ends(ord)
	f, d := g.flowOf(first.tuple, last.tuple, ord[0].ts)
	return f.digested[f.echoDir(d, first)]
}

// cutOnly reports whether every sighting of a packet was cut before what
// tells it apart.
func cutOnly(ord []obs) bool {
	for i := range ord {
		if !ord[i].cut {
			return false
		}
	}
	return true
}

func (g *aggregator) packet(p *packet) {
	if !g.staged {
		t := g.a.tuples
		g.view = aggView{t.keys, t.tunnel, g.a.hops}
	}
	ord := g.pathOrder(p)
	cut := cutOnly(ord)
	if cut && !ord[0].icmpErr && g.cutPiece(ord) {
		return
	}
	g.carry(ord)
	if ord[0].icmpErr {
		return // ICMP errors belong to the flow they quote; see sighting
	}
	first, last := ends(ord)
	tuples := &g.view
	f, d := g.flowOf(first.tuple, last.tuple, ord[0].ts)
	d = f.echoDir(d, first)
	if !cut {
		f.digested[d] = true
	}
	retrans := f.stats[d].retransmits
	size := ord[0].ipLen
	if ord[0].frag {
		size = p.hi - p.lo + 20 // the whole datagram, as conntrack counts it
	}
	if tr := f.account(d, &ord[0], size, ord[0].ts); tr != nil {
		// A new connection on the same tuples: its first packet is its
		// original direction.
		f = g.flows.create(tuples.tuple(first.tuple), tuples.tuple(last.tuple), ord[0].ts)
		f.tcp, d = *tr, dirOrig
		f.count(d, &ord[0], size, ord[0].ts, true)
		retrans = f.stats[d].retransmits
	}
	tracing := g.a.opt.Trace != nil
	isRetrans := f.stats[d].retransmits > retrans
	if tracing {
		g.prev = g.prev[:0]
	}
	var over uint16
	for i := range ord {
		over = max(over, ord[i].overhead)
	}
	f.tunnel[d] = max(f.tunnel[d], over)

	// Hops in order: the first sighting of each crossing of a hop.
	var seen, again uint64
	firstAt := &g.firstAt
	pa := f.path[d]
	if pa == nil {
		pa = &pathAcc{}
		g.npaths++
		f.path[d] = pa
	}
	pa.packets++
	pa.enter(ord[0].hop)
	pos := 0
	prev := -1
	for i := range ord {
		o := &ord[i]
		b := hopBit(o.hop)
		at := &pa.pos
		switch {
		case prev >= 0 && ord[prev].hop == o.hop:
			at = nil // another piece of the same crossing
		case seen&b == 0:
			seen |= b
			if b != 0 {
				firstAt[o.hop] = int32(i)
			}
		case again&b == 0 && recrossed(&ord[firstAt[o.hop]], o):
			again |= b
			at = pa.againAt()
		default:
			at = nil
		}
		if at == nil {
			if tracing {
				g.prev = append(g.prev, -1)
			}
			continue
		}
		if tracing {
			g.prev = append(g.prev, prev)
		}
		pc := at.at(o.hop)
		pc.sum += pos
		pc.n++
		pos++
		if prev >= 0 {
			// latAt's index and hist.add's bucket counting (a sample
			// within the range seen), written out: too big to inline,
			// the calls took 7.2M instructions more on the 300k-sighting
			// incident (callgrind, GOMAXPROCS=1, -pgo=off).
			from, i := ord[prev].hop, int(o.hop)*2+d
			var l *latAcc
			if uint(from) < uint(len(g.latDense)) {
				if row := g.latDense[from]; uint(i) < uint(len(row)) {
					l = row[i]
				}
			}
			if l == nil {
				l = g.latAt(from, o.hop, d)
			}
			if dt := o.ts - ord[prev].ts; dt < 0 {
				l.negative++
			} else if h := &l.h; h.buckets != nil && dt >= h.min && dt <= h.max {
				h.n++
				h.buckets[bucketOf(dt)]++
			} else {
				h.add(dt)
			}
		}
		prev = i
	}

	// TTL decrements between consecutive hops show where packets are
	// routed, which a packet whose TTL ran out could not be.
	for i := 1; i < len(ord); i++ {
		if ord[i].ttl < ord[i-1].ttl && ord[i].hop != ord[i-1].hop {
			g.setRouted(ord[i-1].hop, ord[i].hop)
		}
	}

	// Where it could have been seen, for drops.
	covered := g.handed
	if !g.staged {
		covered = g.coveredAt(ord[0].ts)
	}
	lastObs := &ord[len(ord)-1]
	w := dropWhere{seen: seen, again: again, covered: covered, lowTTL: lastObs.ttl <= 1, dfWhole: first.df && !first.frag}
	dk := dropSlot{flow: f.id, dir: int8(d), where: g.whereID(w)}
	seg := g.segmentSize(f, d, first)
	// Packets of a flow direction mostly share where they were seen.
	da := f.lastDrop[d]
	if da == nil || g.dropKeys[da.id] != dk {
		if da = g.drops[dk]; da == nil {
			da = &dropAcc{id: int32(len(g.dropKeys)), minLen: first.ipLen, minSeg: uint32(seg), lastHop: lastObs.hop}
			g.drops[dk] = da
			g.dropKeys = append(g.dropKeys, dk)
		}
		f.lastDrop[d] = da
	}
	pieces := 0
	for i := len(ord) - 1; i >= 0 && ord[i].hop == lastObs.hop; i-- {
		pieces++
	}
	inc(&da.packets)
	add(&da.pieces, pieces)
	if da.lastHop != lastObs.hop {
		da.lastHop = -1
	}
	da.maxLen = max(da.maxLen, first.ipLen)
	da.minLen = min(da.minLen, first.ipLen)
	da.minSeg = min(da.minSeg, uint32(seg))
	if len(g.a.nodes) > 1 && ord[0].node != lastObs.node || over > 0 {
		f.passed[d] = max(f.passed[d], first.ipLen) // it crossed the tunnel or the wire
	}
	if ord[0].proto == 6 && !ord[0].frag {
		g.watchResend(f, d, &ord[0], seen, pa, da, pieces)
	}
	pa.union |= seen
	if tracing {
		g.trace(f, d, ord, da.id, isRetrans)
	}

	if p.byRange && !first.tcpData() {
		g.fragments(f.id, int8(d), ord)
	}
	if g.fold != nil {
		g.foldQueue(f, ord[0].ts)
	}
}

// recrossed reports whether sighting y, at the hop of an earlier
// sighting x of the same packet with other hops between them, is the
// packet crossing that hop again (NodePort: in plain on eth0, out again in
// VXLAN after DNAT; a hairpin through a bridge), not another piece of the
// same crossing (a fragment or GSO segment interleaved in time with its
// siblings at other hops): the packet changed in between — routed (TTL),
// encapsulated or decapsulated, or NATed (its ports, where both pieces
// carry them).
func recrossed(x, y *obs) bool {
	return x.ttl != y.ttl || x.overhead != y.overhead || x.ports && y.ports && x.tuple != y.tuple
}

// setRouted records that a router lies between hops from and to: a bit
// of a dense matrix for the first 64 hops (a map write per packet cost
// more than the rest of this loop), a map beyond.
func (g *aggregator) setRouted(from, to int32) {
	if from < 64 && to < 64 {
		g.routedDense[from] |= hopBit(to)
		return
	}
	g.routed[[2]int32{from, to}] = true
}

// isRouted reports whether setRouted saw from, to.
func (g *aggregator) isRouted(from, to int32) bool {
	if from < 64 && to < 64 {
		return g.routedDense[from]&hopBit(to) != 0
	}
	return g.routed[[2]int32{from, to}]
}

// watchLen bounds the segments per flow direction watched for being sent
// again: those seen at fewer hops than the direction's packets before them,
// and its first few, of which a dropped SYN may be one.
const (
	watchLen   = 32
	watchFirst = 4
)

// watchResend corroborates drops segment by segment: a TCP segment whose
// sequence range its sender sends again later was lost, as the sender saw
// it. Each segment (at its sender's first hop o) first settles the watched
// segments of its direction that it sends again, and those the other
// direction has acknowledged since (they arrived); then it is watched
// itself if it may be a drop.
func (g *aggregator) watchResend(f *flowState, d int, o *obs, seen uint64, pa *pathAcc, da *dropAcc, pieces int) {
	syn, fin := o.tcpFlags&0x02 != 0, o.tcpFlags&0x01 != 0
	seq, end := o.seq, o.seq
	if o.byRange {
		end += o.hi - o.lo
	}
	if syn || fin {
		end++
	}
	if end == seq {
		return // a pure ACK: nothing to send again
	}
	rev := &f.dirs[1-d]
	w, n := f.watch[:0], 0 // n: direction d's segments kept
	for _, x := range f.watch {
		switch {
		case int(x.dir) != d:
			w = append(w, x)
		case x.ts < o.ts && seqLT(seq, x.end) && seqLT(x.seq, end):
			add(&x.acc.resent, int(x.pieces))
		case rev.ackSeen && !seqLT(rev.lastAck, x.end) && x.ts < rev.ackTS:
			// acknowledged: it arrived
		default:
			w = append(w, x)
			n++
		}
	}
	f.watch = w
	if pa.packets > watchFirst && seen&pa.union == pa.union {
		return
	}
	if n == watchLen { // direction d's oldest goes
		i := slices.IndexFunc(f.watch, func(x resendWatch) bool { return int(x.dir) == d })
		f.watch = slices.Delete(f.watch, i, i+1)
	}
	f.watch = append(f.watch, resendWatch{seq: seq, end: end, ts: o.ts, acc: da, pieces: int32(pieces), dir: uint8(d)})
}

// segmentSize is the largest packet a sighting becomes on the wire: its
// IP length, or for TCP data the segment size its MSS allows, as a GSO
// super-frame is cut into such segments before the wire.
func (g *aggregator) segmentSize(f *flowState, d int, o *obs) int {
	n := int(o.ipLen)
	if o.proto != 6 || !o.byRange {
		return n
	}
	if mss := int(f.stats[1-d].mss); mss > 0 {
		hdr := 40
		if o.v6 {
			hdr = 60
		}
		n = min(n, mss+hdr)
	}
	return n
}

// carry counts the tunnel packets that carried a packet, each in its
// carrier's flow: as many as the first hop that saw a carrier saw of it (a
// datagram fragmented before encapsulation travels in several).
func (g *aggregator) carry(ord []obs) {
next:
	for i := range ord {
		c := ord[i].carrier
		if c == 0 {
			continue
		}
		for j := range i {
			if ord[j].carrier == c {
				continue next // counted at an earlier hop
			}
		}
		cf := g.carrierAt(c, ord[i].ts)
		for j := i; j < len(ord); j++ {
			if o := &ord[j]; o.carrier == c && o.hop == ord[i].hop {
				cf.f.carry(cf.dir, o.ipLen+uint32(o.overhead), o.ts)
			}
		}
	}
}

// flowRef is a flow (by its id plus one: 0 is none) and a packet's
// direction in it, as flows.lookup answered while flows.gen was gen. The
// id rather than a pointer, as folding (fold.go) replaces a flow's state;
// 12 bytes a tuple.
type flowRef struct {
	id  int32
	d   int32 // 12 bytes a tuple rather than 24: about 20 bytes per flow of a SYN scan
	gen uint32
}

// flowOf is flows.lookup for the tuples numbered first and last, through an
// index by first's number: lookup's answer for a first tuple depends only
// on what learn wrote, so it holds until the next learn. A flow's packets
// alternate between its two directions' tuples, which lookup's one-entry
// cache misses every other packet, each miss hashing a Tuple into the map:
// the index took the 300k-sighting incident (bench/genincident -n 20000)
// from 721.8M to 712.3M instructions (valgrind, GOMAXPROCS=1).
func (g *aggregator) flowOf(first, last int32, ts int64) (*flowState, int) {
	if int(first) < len(g.flowIdx) {
		if r := &g.flowIdx[first]; r.id != 0 && r.gen == g.flows.gen {
			return g.flows.at(r.id - 1), int(r.d)
		}
	}
	gen := g.flows.gen
	tuples := &g.view
	f, d := g.flows.lookup(tuples.tuple(first), tuples.tuple(last), ts)
	if int(first) >= len(g.flowIdx) {
		g.flowIdx = append(g.flowIdx, make([]flowRef, int(first)+1-len(g.flowIdx))...)
	}
	// A lookup that learnt moved gen past the one kept: the entry serves
	// only from the next lookup that learns nothing.
	g.flowIdx[first] = flowRef{f.id + 1, int32(d), gen}
	return f, d
}

// carrierFlow is a carrier tuple's flow and its direction there.
type carrierFlow struct {
	f   *flowState
	dir int
}

// carrierAt returns the flow of carrier c (a tuple number plus one, as in
// obs), seen at ts, indexed by tuple: carriers have no NAT and never
// restart, so a tuple's flow and direction never change.
func (g *aggregator) carrierAt(c int32, ts int64) carrierFlow {
	if int(c) < len(g.carrierIdx) && g.carrierIdx[c].f != nil {
		return g.carrierIdx[c]
	}
	tu := g.view.tuple(c - 1)
	f, d := g.carriers.lookup(tu, tu, ts)
	if f.carries == decode.TunnelNone {
		f.carries = g.view.tunnel[c-1]
	}
	if int(c) >= len(g.carrierIdx) {
		g.carrierIdx = append(g.carrierIdx, make([]carrierFlow, int(c)+1-len(g.carrierIdx))...)
	}
	g.carrierIdx[c] = carrierFlow{f, d}
	return g.carrierIdx[c]
}

// trace hands one packet's sightings to Options.Trace, with g.prev
// filled by packet and the number of its drop group.
func (g *aggregator) trace(f *flowState, d int, ord []obs, fate int32, retrans bool) {
	t := &Trace{Flow: f.orig.JSON(), Proto: f.orig.Proto, Direction: direction(d), Fate: fate, Retransmission: retrans}
	t.Sightings = make([]Sighting, len(ord))
	tunnels := g.view.tunnel
	for i := range ord {
		o := &ord[i]
		s := &t.Sightings[i]
		*s = Sighting{Capture: g.a.caps[o.capture], Index: int(o.index), Point: g.view.hops[o.hop].point, TS: o.ts,
			Prev: g.prev[i], IPLen: o.ipLen, Overhead: o.overhead, TTL: o.ttl, TCPFlags: o.tcpFlags,
			DF: o.df, MF: o.mf, Fragment: o.frag}
		if c := int(o.carrier) - 1; c >= 0 && c < len(tunnels) {
			s.Tunnel = tunnels[c]
		}
	}
	g.a.opt.Trace(t)
}

// pathOrder returns the packet's sightings in the order it crossed them:
// nodes by the highest inner TTL seen there (routing decrements it, so the
// sender's node comes first), then by the lowest (a node that routed the
// packet on comes after one that only passed it on a link), then by time
// within a node, ties ordered by what other packets entering at the same
// hop showed. Clock offsets are never trusted to order nodes. A hop the
// packet crossed twice (NodePort: in plain on eth0, out in VXLAN on the
// same eth0) keeps both sightings, each at its place in time.
func (g *aggregator) pathOrder(p *packet) []obs {
	ord := p.obs // the packet is finished: sort its sightings in place
	nodeTTL, nodeMinTTL, nodeFirst := &g.nodeTTL, &g.nodeMinTTL, &g.nodeFirst
	var cleared uint64 // nodes whose entries this packet has cleared
	for i := range ord {
		n := uint32(ord[i].node) % 64
		if cleared&(1<<n) == 0 {
			cleared |= 1 << n
			nodeTTL[n], nodeMinTTL[n], nodeFirst[n] = 0, 0, 0
		}
		if ord[i].ttl > nodeTTL[n] {
			nodeTTL[n] = ord[i].ttl
		}
		if nodeMinTTL[n] == 0 || ord[i].ttl < nodeMinTTL[n] {
			nodeMinTTL[n] = ord[i].ttl
		}
		if nodeFirst[n] == 0 || ord[i].ts < nodeFirst[n] {
			nodeFirst[n] = ord[i].ts
		}
	}
	byNode := func(x, y *obs) int {
		if x.node == y.node {
			return 0
		}
		nx, ny := uint32(x.node)%64, uint32(y.node)%64
		return cmp.Or(cmp.Compare(nodeTTL[ny], nodeTTL[nx]), cmp.Compare(nodeMinTTL[ny], nodeMinTTL[nx]), cmp.Compare(nodeFirst[nx], nodeFirst[ny]))
	}
	inOrder := func(x, y *obs) int {
		if c := byNode(x, y); c != 0 {
			return c
		}
		if c := cmp.Compare(x.ts, y.ts); c != 0 {
			return c
		}
		return cmp.Compare(y.ttl, x.ttl)
	}
	// Sightings mostly arrive in this order already. The order is a strict
	// weak one (a key per sighting), so sightings in order pairwise are
	// sorted and a stable sort would leave them as they are. The same
	// pass finds ties (two hops of one node stamped alike), and compares
	// sightings of one node in place (inOrder's answer there): checking
	// through inOrder, then looking for ties, took 5.7M instructions more
	// on the 300k-sighting incident (callgrind, GOMAXPROCS=1, -pgo=off).
	tied := false
	for i := 1; i < len(ord); i++ {
		x, y := &ord[i], &ord[i-1]
		if x.node == y.node {
			if x.ts < y.ts || x.ts == y.ts && x.ttl > y.ttl {
				tied = g.sortTied(ord, inOrder)
				break
			}
			tied = tied || x.ts == y.ts && x.hop != y.hop
		} else if inOrder(x, y) < 0 {
			tied = g.sortTied(ord, inOrder)
			break
		}
	}
	entry, exit := ord[0].hop, ord[len(ord)-1].hop
	// Learn from strictly ordered pairs on one node, then settle ties with
	// it. Evidence saturates: each entry hop teaches precLearn packets.
	if g.ahead > 0 {
		g.ahead-- // learnt from already
	} else if int(entry) >= len(g.learned) || g.learned[entry] < precLearn {
		g.learned = countAt(g.learned, entry)
		g.learn(ord, entry, exit)
	}
	if tied {
		g.sortObs(ord, func(x, y *obs) int {
			if c := cmp.Or(byNode(x, y), cmp.Compare(x.ts, y.ts)); c != 0 {
				return c
			}
			return cmp.Or(g.precedence(x.hop, y.hop, entry), cmp.Compare(y.ttl, x.ttl))
		})
	}
	return ord
}

// sortTied sorts sightings by inOrder (see sortObs) and reports whether
// two hops of one node saw the packet at the same time.
func (g *aggregator) sortTied(ord []obs, inOrder func(x, y *obs) int) bool {
	g.sortObs(ord, inOrder)
	for i := 1; i < len(ord); i++ {
		if ord[i-1].node == ord[i].node && ord[i-1].ts == ord[i].ts && ord[i-1].hop != ord[i].hop {
			return true
		}
	}
	return false
}

// sortObs sorts sightings stably: their indexes, then each sighting moved
// once, as sightings are too big to swap around.
func (g *aggregator) sortObs(ord []obs, cmp func(x, y *obs) int) {
	idx := g.sortIdx[:0]
	for i := range ord {
		idx = append(idx, int32(i))
	}
	slices.SortStableFunc(idx, func(i, j int32) int { return cmp(&ord[i], &ord[j]) })
	g.sortTmp = append(g.sortTmp[:0], ord...)
	for i, j := range idx {
		ord[i] = g.sortTmp[j]
	}
	g.sortIdx = idx
}

// precReach is how many following sightings on its node each sighting is
// compared with when learning hop precedence. A packet crosses a handful
// of hops per node, so every pair of a real packet is learnt; a packet
// seen at thousands of interfaces costs linear work instead of quadratic
// (one packet at 5,000 interfaces: 754 MB and 12.5 s when every pair was
// compared; see TestPrecedenceLearningGrowth and BenchmarkManyInterfaces).
const precReach = 16

// learn counts, for each pair of a packet's sightings on one node at
// different hops at most precReach apart, which came strictly first.
func (g *aggregator) learn(ord []obs, entry, exit int32) {
	var in, out *[precDense * precDense]int32
	if entry < precDense && exit < precDense {
		in, out = g.precIn.matrix(entry), g.precOut.matrix(exit)
	}
	for i := range ord {
		a := ord[i].hop
		for j := i + 1; j < len(ord) && j <= i+precReach && ord[j].node == ord[i].node; j++ {
			g.learnOps++
			b := ord[j].hop
			if ord[i].ts >= ord[j].ts || a == b {
				continue
			}
			if in != nil && a < precDense && b < precDense {
				in[a*precDense+b]++
				out[a*precDense+b]++
				continue
			}
			g.precIn.add(a, b, entry)
			g.precOut.add(a, b, exit)
		}
	}
}

// precedence compares two hops by the evidence of packets entering at
// entry: negative when a usually comes first.
func (g *aggregator) precedence(a, b, entry int32) int {
	if a == b {
		return 0
	}
	if c := cmp.Compare(g.precIn.get(b, a, entry), g.precIn.get(a, b, entry)); c != 0 {
		return c
	}
	return cmp.Compare(g.precOut.get(a, b, entry), g.precOut.get(b, a, entry))
}

// fragments records where a datagram was fragmented: the first hop that
// saw it in pieces, and any later hop that cut it at new offsets — after a
// reassembly on the way (conntrack defragments forwarded traffic) or into
// smaller pieces — and whether the last hop that saw it got every piece.
// Only the first 64 hops and 64 pieces per hop are followed.
func (g *aggregator) fragments(flow int32, dir int8, ord []obs) {
	var hops [64]int32 // in path order
	n := 0
	for i := range ord {
		if n == 0 || hops[n-1] != ord[i].hop && !slices.Contains(hops[:n], ord[i].hop) {
			if n == len(hops) {
				break
			}
			hops[n] = ord[i].hop
			n++
		}
	}
	if n > 0 && !reassembles(ord, hops[n-1]) {
		g.fragFinding(MTUIncompleteReassembly, hops[n-1], flow, dir, maxPiece(ord, hops[n-1]))
	}
	var cuts []uint32 // where the pieces began when last seen in pieces
	for _, h := range hops[:n] {
		var starts [64]uint32
		k := 0
		for i := range ord {
			if ord[i].hop == h && ord[i].frag && k < len(starts) {
				starts[k] = ord[i].lo
				k++
			}
		}
		if k == 0 {
			continue // whole here
		}
		switch {
		case cuts == nil:
			g.fragFinding(MTUFragmented, h, flow, dir, maxPiece(ord, h))
		case slices.ContainsFunc(starts[:k], func(s uint32) bool { return !slices.Contains(cuts, s) }):
			g.fragFinding(MTURefragmented, h, flow, dir, maxPiece(ord, h))
		}
		cuts = append(cuts[:0], starts[:k]...)
	}
}

// maxPiece returns the largest IP packet seen of the datagram at hop.
func maxPiece(ord []obs, hop int32) int {
	m := 0
	for i := range ord {
		if ord[i].hop == hop {
			m = max(m, int(ord[i].ipLen))
		}
	}
	return m
}

// reassembles reports whether the pieces seen at hop cover their datagram:
// from offset 0, without a gap, to a last piece (no more fragments).
func reassembles(ord []obs, hop int32) bool {
	var pieces [64]*obs
	n := 0
	for i := range ord {
		if ord[i].hop == hop && n < len(pieces) {
			pieces[n] = &ord[i]
			n++
		}
	}
	slices.SortFunc(pieces[:n], func(a, b *obs) int { return cmp.Compare(a.lo, b.lo) })
	end := uint32(0)
	for _, o := range pieces[:n] {
		if !o.frag {
			return true // the whole datagram, reassembled on the way
		}
		if o.lo > end {
			return false // a gap
		}
		end = max(end, o.hi)
		if !o.mf {
			return true
		}
	}
	return false
}

func (g *aggregator) fragFinding(kind MTUKind, hop, flow int32, dir int8, mtu int) {
	k := fragKey{kind, hop, flow, dir}
	f := g.frags[k]
	if f == nil {
		f = &fragAcc{}
		g.frags[k] = f
		g.fragKeys = append(g.fragKeys, k)
	}
	f.packets++
	f.mtu = max(f.mtu, mtu)
}

// underlayMTU is the MTU assumed for a node's own interface when working
// out how much room a tunnel leaves: the Ethernet default.
const underlayMTU = 1500

// pathMTU is the largest packet the flow direction's path is known to
// carry: the underlay MTU less the encapsulation it was seen with, or less
// if an ICMP frag-needed said so. Unknown paths allow anything.
func (g *aggregator) pathMTU(flow int32, d int) int {
	m := 1 << 30
	f := g.headAt(flow)
	if t := int(f.tunnel[d]); t > 0 {
		m = underlayMTU - t
	}
	if len(g.fragNeeded) == 0 {
		return m // as it mostly is: spare building the tuples
	}
	for _, tu := range [...]Tuple{f.orig, f.reply.Reverse(), f.reply, f.orig.Reverse()} {
		if mtu, ok := g.fragNeeded[tu]; ok {
			m = min(m, mtu)
		}
	}
	return m
}
