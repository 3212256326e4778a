package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// The section model: everything a human-readable report shows, computed once
// from an analysis and read by the table, Markdown and HTML renderers (and
// its verdict by JSON), so the formats never disagree and no renderer
// re-derives or re-parses another's text.

// Severity grades a cause, a table row or a whole report.
type Severity uint8

// Severities, least severe first.
const (
	SevOK   Severity = iota // nothing wrong
	SevInfo                 // worth knowing, not a fault (NAT, a corrected clock)
	SevWarn                 // suspicious or partial (capture gaps, unanswered flows)
	SevBad                  // packets lost or a path that cannot work
)

var severityNames = [...]string{SevOK: "ok", SevInfo: "info", SevWarn: "warn", SevBad: "bad"}

// String returns "ok", "info", "warn" or "bad".
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "severity-" + strconv.Itoa(int(s))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// CauseKind says what a cause is about.
type CauseKind uint8

// Kinds of cause, in the order a verdict lists them within one severity.
const (
	CauseDrop       CauseKind = iota // packets vanished between two hops
	CauseMTU                         // an MTU or fragmentation problem
	CauseInput                       // the captures had problems
	CauseCaptureGap                  // a capture missed packets a later hop saw
	CauseNoReply                     // connections nobody answered, no drop seen
	CauseRetransmit                  // retransmissions without a drop seen
	CauseClock                       // a node's clock was off, and corrected
	CauseNAT                         // a translation (Service DNAT, SNAT)
	CauseLatency                     // where the time went
)

var causeNames = [...]string{
	CauseDrop: "drop", CauseMTU: "mtu", CauseInput: "input", CauseCaptureGap: "capture-gap", CauseNoReply: "no-reply",
	CauseRetransmit: "retransmissions", CauseClock: "clock", CauseNAT: "nat", CauseLatency: "latency",
}

// String returns the kind's name as JSON writes it.
func (k CauseKind) String() string {
	if int(k) < len(causeNames) {
		return causeNames[k]
	}
	return "cause-" + strconv.Itoa(int(k))
}

// MarshalText writes the kind's name.
func (k CauseKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Cause is one entry of a verdict: what happened in one sentence, the
// evidence for it and the next step a network engineer would take.
type Cause struct {
	Kind     CauseKind `json:"kind"`
	Severity Severity  `json:"severity"`
	Text     string    `json:"text"`
	Evidence string    `json:"evidence,omitempty"`
	Next     string    `json:"next_step,omitempty"`
	Packets  int       `json:"packets,omitempty"`
	Flows    int       `json:"flows,omitempty"`
	Hops     []string  `json:"hops,omitempty"`
	Nodes    []string  `json:"nodes,omitempty"`
}

// Verdict is what a report opens with: one line, then the causes, most
// severe first.
type Verdict struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Causes   []Cause  `json:"causes"`
}

// Window is the time the captures of an incident cover, on the reference
// node's clock (other nodes' clocks corrected by their estimated offsets).
type Window struct {
	FirstNS int64 `json:"first_ns"`
	LastNS  int64 `json:"last_ns"`
}

// NodeCoverage is the time one node's captures cover, in reference time,
// and the capture points that started late or ended early against the
// incident's window (packets there cannot be judged outside their span).
type NodeCoverage struct {
	Node     string   `json:"node"`
	Captures int      `json:"captures"`
	FirstNS  int64    `json:"first_ns"`
	LastNS   int64    `json:"last_ns"`
	Partial  []string `json:"partial,omitempty"`
}

// Waterfall is one path: the hops a group of flow directions crossed in
// order, with the packets that reached each hop, each step's latency and
// the cumulative time, like one mtr report.
type Waterfall struct {
	Title     string // flow and direction, e.g. "tcp 10.244.0.5 > 10.244.1.5:8080 orig"
	Conns     int    // connections sharing this path
	Packets   int
	Dropped   int // packets lost on this path (capture gaps aside)
	Findings  int // packets in MTU findings of these flows
	Severity  Severity
	Rows      []WaterfallRow
	TotalP50  int64 // sum of the steps' medians
	TotalP99  int64 // sum of the steps' 99th percentiles: a pessimistic bound
	Chosen    bool  // the flow the HTML ladder follows is in this group
	firstFlow int   // flow table index of the group's first connection
}

// WaterfallRow is one hop of a waterfall.
type WaterfallRow struct {
	Hop       string
	Node      string
	Packets   int   // packets of the path that reached this hop
	HasStep   bool  // a latency was measured from the previous hop
	StepP50   int64 // from the previous hop, over all flows crossing the pair
	StepP99   int64
	StepN     int   // samples behind the step's figures
	CumP50    int64 // sum of the medians up to here
	Dropped   int   // packets lost between the previous hop and this one
	Reason    string
	CrossNode bool
	Notes     []string // MTU findings here, packets lost after the last hop
	Severity  Severity
}

// Section is one table of a report.
type Section struct {
	ID    string // HTML anchor
	Title string
	Cols  []Col
	Rows  []Row
	Open  bool // shown unfolded in HTML
	// n and row, when row is set, make the rows one at a time instead of
	// Rows (Len, RowAt): the text and Markdown tables draw one row at a
	// time, so a flow table is never held whole, as Rows it was about 350
	// bytes a flow (a 1M-flow SYN scan's analyze -o table peaked at 2.7
	// GB of RSS).
	n   int
	row func(i int) Row
}

// Len returns the number of rows.
func (s *Section) Len() int {
	if s.row != nil {
		return s.n
	}
	return len(s.Rows)
}

// RowAt returns row i.
func (s *Section) RowAt(i int) Row {
	if s.row != nil {
		return s.row(i)
	}
	return s.Rows[i]
}

// held returns s with its rows in Rows, for renderers that read them
// all at once (HTML's template).
func (s Section) held() Section {
	if s.row != nil {
		s.Rows = make([]Row, s.n)
		for i := range s.Rows {
			s.Rows[i] = s.row(i)
		}
		s.row = nil
	}
	return s
}

// Col is a table column; Right aligns numbers.
type Col struct {
	Name  string
	Right bool
}

// Row is a table row with the severity it is highlighted with.
type Row struct {
	Severity Severity
	Cells    []string
}

// Model is everything a human-readable report of one analysis shows.
type Model struct {
	Version        string
	Summary        string // "21 capture points on 2 nodes, 3400 packets, 11 flows"
	Window         Window
	Coverage       []NodeCoverage
	Clocks         []string // one sentence per node clock
	Verdict        Verdict
	Waterfalls     []Waterfall
	MoreWaterfalls int // paths left out (see AnalysisOptions.Waterfalls)
	Sections       []Section
	Warnings       []string
	res            *analyze.Result
}

// partialMin is the least a capture file must start late or end early,
// besides a tenth of the window, to be listed as partial: captures stopped
// by hand a moment apart are not.
const partialMin = 100 * time.Millisecond

// minWorstPackets is how many packets a hop pair needs before the verdict
// names it the slowest step: a p99 over a handful of samples is one
// unlucky packet, not a trend.
const minWorstPackets = 20

// BuildModel computes the section model of an analysis.
func BuildModel(res *analyze.Result, opt AnalysisOptions) *Model {
	m := &Model{Version: opt.Version, Summary: strings.TrimPrefix(summaryLine(res), "hoptrace: "), Warnings: res.Warnings, res: res}
	if m.Version == "" {
		m.Version = "unknown"
	}
	ix := newIndex(res)
	m.Window, m.Coverage = coverage(res, ix)
	ix.windowStart = m.Window.FirstNS
	m.Clocks = clockSentences(res)
	m.Verdict = verdict(res, ix)
	if opt.headerOnly {
		return m
	}
	m.Waterfalls, m.MoreWaterfalls = waterfalls(res, ix, opt)
	m.Sections = sections(res, ix, opt)
	return m
}

// index holds the lookups the model's parts share.
type index struct {
	node    map[string]string // hop -> node
	snap    map[string]int    // hop -> its capture's snap length, when short (CaptureSummary.SnapLen)
	offset  map[string]int64  // node -> clock offset
	flows   map[flowKey]int   // pod flows by original tuple
	pods    []analyze.Flow
	lat     map[latKey]int32
	hops    []analyze.HopLatency // by lat's values
	drops   map[flowDirKey][]analyze.Drop
	mtu     map[flowDirKey][]analyze.MTUFinding
	encapBy map[int]string // inner MTU -> tunnel type

	nm          namer              // Kubernetes names beside addresses
	firstHops   map[flowKey]string // by firstHop, on first use
	windowStart int64              // the incident's first packet, reference time
}

type flowDirKey struct {
	flowKey
	dir analyze.Direction
}

// latKey names a hop pair's latency in one direction (or both).
type latKey struct {
	from, to string
	dir      analyze.Direction
}

func newIndex(res *analyze.Result) *index {
	// Sized up front, and the latencies by their index: growing them cost
	// 0.56 s of 3.3 s CPU for 100k interleaved pcapng interfaces.
	ix := &index{node: make(map[string]string, len(res.Captures)), offset: map[string]int64{}, lat: make(map[latKey]int32, len(res.Hops)), hops: res.Hops,
		drops: map[flowDirKey][]analyze.Drop{}, mtu: map[flowDirKey][]analyze.MTUFinding{}, encapBy: map[int]string{}}
	for _, c := range res.Captures {
		ix.node[c.Hop] = c.Node
		if c.SnapLen > 0 {
			if ix.snap == nil {
				ix.snap = map[string]int{}
			}
			ix.snap[c.Hop] = c.SnapLen
		}
	}
	for _, c := range res.Clocks {
		ix.offset[c.Node] = c.OffsetNS
	}
	ix.pods, _ = splitFlows(res.Flows)
	ix.nm = newNamer(res)
	ix.flows = flowIndexOf(ix.pods)
	for i, h := range res.Hops {
		ix.lat[latKey{h.From, h.To, h.Direction}] = int32(i)
	}
	for _, d := range res.Drops {
		k := flowDirKey{flowKey{d.Proto, d.Flow}, d.Direction}
		ix.drops[k] = append(ix.drops[k], d)
	}
	for _, f := range res.MTU {
		k := flowDirKey{flowKey{f.Proto, f.Flow}, f.Direction}
		ix.mtu[k] = append(ix.mtu[k], f)
	}
	for _, e := range res.Encap {
		if _, ok := ix.encapBy[e.InnerMTU]; !ok {
			ix.encapBy[e.InnerMTU] = e.Type
		}
	}
	return ix
}

// step returns the latency of a hop pair in a direction, or of both
// directions together when only that was measured.
func (ix *index) step(from, to string, dir analyze.Direction) (analyze.HopLatency, bool) {
	i, ok := ix.lat[latKey{from, to, dir}]
	if !ok {
		if i, ok = ix.lat[latKey{from, to, analyze.DirBoth}]; !ok {
			return analyze.HopLatency{}, false
		}
	}
	return ix.hops[i], true
}

// coverage computes the incident's window and each node's coverage in
// reference time.
func coverage(res *analyze.Result, ix *index) (Window, []NodeCoverage) {
	var w Window
	byNode := map[string]*NodeCoverage{}
	var order []string
	for _, c := range res.Captures {
		if c.Packets == 0 {
			continue
		}
		first, last := captureSpan(c, ix.offset[c.Node])
		if w.FirstNS == 0 || first < w.FirstNS {
			w.FirstNS = first
		}
		w.LastNS = max(w.LastNS, last)
		nc := byNode[c.Node]
		if nc == nil {
			nc = &NodeCoverage{Node: c.Node, FirstNS: first, LastNS: last}
			byNode[c.Node] = nc
			order = append(order, c.Node)
		}
		nc.Captures++
		nc.FirstNS, nc.LastNS = min(nc.FirstNS, first), max(nc.LastNS, last)
	}
	// A capture file that covers less than 90% of the window, by starting
	// late or ending early, may make packets outside its span look lost
	// (the analysis counts a drop only while the next capture ran). The
	// interfaces of one file (tcpdump -i any) share its span.
	span := w.LastNS - w.FirstNS
	type fileSpan struct {
		node        string
		first, last int64
		rotated     int // further files of its rotating capture
	}
	files := map[string]*fileSpan{}
	var fileOrder []string
	for _, c := range res.Captures {
		if c.Packets == 0 {
			continue
		}
		first, last := captureSpan(c, ix.offset[c.Node])
		f := files[c.File]
		if f == nil {
			f = &fileSpan{node: c.Node, first: first, last: last}
			files[c.File] = f
			fileOrder = append(fileOrder, c.File)
		}
		f.first, f.last = min(f.first, first), max(f.last, last)
		stem := decode.Stem(c.File)
		n := 0
		for _, also := range c.AlsoFiles {
			if decode.Stem(also) == stem {
				n++
			}
		}
		f.rotated = max(f.rotated, n)
	}
	// A file is named by its base name, and its folder's where two of a
	// node share one (a pod's poda/eth0.pcap beside the node's eth0.pcap).
	bases := map[[2]string]int{}
	for _, name := range fileOrder {
		bases[[2]string{files[name].node, baseName(name)}]++
	}
	for _, name := range fileOrder {
		f := files[name]
		late, early := f.first-w.FirstNS, w.LastNS-f.last
		if span > 0 && max(late, early) > max(span/10, int64(partialMin)) {
			nc := byNode[f.node]
			label := baseName(name)
			if bases[[2]string{f.node, label}] > 1 {
				dir := strings.TrimRight(name[:len(name)-len(label)], `/\`)
				label = baseName(dir) + "/" + label
			}
			switch f.rotated {
			case 0:
			case 1:
				label += " (and 1 more file)"
			default:
				label += fmt.Sprintf(" (and %d more files)", f.rotated)
			}
			nc.Partial = append(nc.Partial, fmt.Sprintf("%s %s–%s", label, offsetText(f.first-w.FirstNS), offsetText(f.last-w.FirstNS)))
		}
	}
	var out []NodeCoverage
	for _, n := range order {
		out = append(out, *byNode[n])
	}
	return w, out
}

// captureSpan is when a capture ran, in reference time: from its first to
// its last packet, or longer when its file says it started earlier or
// ended later (pcapng statistics; CaptureSummary.StartNS, EndNS).
func captureSpan(c analyze.CaptureSummary, offset int64) (first, last int64) {
	first, last = c.FirstNS, c.LastNS
	if c.StartNS != 0 {
		first = min(first, c.StartNS)
	}
	if c.EndNS != 0 {
		last = max(last, c.EndNS)
	}
	return first - offset, last - offset
}

// offsetText writes a time since the window's start: "+0s", "+12.3 ms".
func offsetText(ns int64) string {
	if ns == 0 {
		return "+0s"
	}
	return "+" + Duration(ns)
}

// WindowText writes the window as a person reads it: "2026-11-22 20:21:44.837 UTC, 236 ms".
func (w Window) Text() string {
	if w.FirstNS == 0 && w.LastNS == 0 {
		return "no packets"
	}
	t := time.Unix(0, w.FirstNS).UTC()
	return fmt.Sprintf("%s – %s UTC (%s)", t.Format("2006-01-02 15:04:05.000"),
		time.Unix(0, w.LastNS).UTC().Format("15:04:05.000"), Duration(w.LastNS-w.FirstNS))
}

// clockSentences says per node how its clock compared with the reference.
func clockSentences(res *analyze.Result) []string {
	var out []string
	for _, c := range res.Clocks {
		out = append(out, clockText(c))
	}
	return out
}

func clockText(c analyze.Clock) string {
	off := c.OffsetNS
	rel := "ahead of"
	if off < 0 {
		rel = "behind"
	}
	switch {
	case c.OneWay:
		// Its error is unbounded: no "agrees", no "±".
		return fmt.Sprintf("%s's clock is %s %s %s (corrected from %s seen one way only, the fastest taken as instant: the error is not bounded)",
			c.Node, Duration(abs(off)), rel, c.Reference, count(c.Samples, "packet"))
	case c.Samples == 0:
		return fmt.Sprintf("%s's clock is not estimated: no packet seen both ways between it and another node; its own clock is used", c.Node)
	}
	if abs(off) <= c.ErrorNS {
		return fmt.Sprintf("%s's clock agrees with %s within ±%s (%d packets seen on both)", c.Node, c.Reference, Duration(c.ErrorNS), c.Samples)
	}
	return fmt.Sprintf("%s's clock is %s %s %s (corrected; ±%s, %d packets seen on both)", c.Node, Duration(abs(off)), rel, c.Reference, Duration(c.ErrorNS), c.Samples)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// verdict builds the verdict: the summary line and the causes.
func verdict(res *analyze.Result, ix *index) Verdict {
	v := Verdict{Summary: strings.TrimPrefix(verdictLine(res), "verdict: ")}
	v.Causes = append(v.Causes, dropCauses(res, ix)...)
	v.Causes = append(v.Causes, mtuCauses(res, ix)...)
	if res.InputProblems > 0 {
		v.Causes = append(v.Causes, Cause{Kind: CauseInput, Severity: SevWarn,
			Text:     fmt.Sprintf("%s in the captures: results are partial", count(res.InputProblems, "input problem")),
			Evidence: "damaged files or malformed packets; everything read before them was kept",
			Next:     "see the warnings at the end; re-copy the captures if a file was cut short"})
	}
	v.Causes = append(v.Causes, noReplyCauses(ix)...)
	v.Causes = append(v.Causes, retransmitCauses(res, ix)...)
	for _, c := range res.Clocks {
		if abs(c.OffsetNS) > c.ErrorNS && abs(c.OffsetNS) >= int64(time.Millisecond) {
			evidence := "the minimum one-way delays of packets seen on both nodes in both directions"
			if c.OneWay {
				evidence = "the fastest of the packets seen on both nodes, all going one way"
			}
			v.Causes = append(v.Causes, Cause{Kind: CauseClock, Severity: SevInfo, Text: clockText(c),
				Evidence: evidence,
				Next:     fmt.Sprintf("check time sync on %s (chronyc tracking); cross-node latencies here are already corrected", c.Node),
				Nodes:    []string{c.Node, c.Reference}})
		}
	}
	v.Causes = append(v.Causes, capCauses(natCauses(res, ix), "translations")...)
	if h, ok := worstStep(res.Hops); ok {
		c := Cause{Kind: CauseLatency, Severity: SevInfo,
			Text: fmt.Sprintf("slowest step: %s → %s (%s), p99 %s, p50 %s over %s", h.From, h.To, h.Direction,
				Duration(h.P99NS), Duration(h.P50NS), count(h.Packets, "packet")),
			Evidence: fmt.Sprintf("hop pairs with at least %d packets, by p99", minWorstPackets),
			Hops:     []string{h.From, h.To}, Packets: h.Packets}
		if h.CrossNode {
			c.Evidence += "; this pair crosses nodes, so it depends on the clock estimate"
			c.Next = "compare with the underlay's round trip (ping between the nodes)"
		} else {
			c.Next = "see the path waterfalls for where it sits; a slow step inside a node is often a busy CPU (softirq) or qdisc"
		}
		v.Causes = append(v.Causes, c)
	}
	slices.SortStableFunc(v.Causes, func(a, b Cause) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Kind, b.Kind), cmp.Compare(b.Packets, a.Packets))
	})
	for _, c := range v.Causes {
		v.Severity = max(v.Severity, c.Severity)
	}
	if v.Severity == SevInfo {
		v.Severity = SevOK
	}
	return v
}

// maxCausesPerKind is how many causes of one kind a verdict lists before
// it counts the rest in one line: a port scan has a destination per port.
const maxCausesPerKind = 5

// capCauses keeps the causes with the most flows and sums the rest up.
func capCauses(cs []Cause, what string) []Cause {
	if len(cs) <= maxCausesPerKind {
		return cs
	}
	slices.SortStableFunc(cs, func(a, b Cause) int { return cmp.Compare(b.Flows, a.Flows) })
	rest := Cause{Kind: cs[0].Kind, Severity: cs[0].Severity}
	for _, c := range cs[maxCausesPerKind:] {
		rest.Flows += c.Flows
		rest.Packets += c.Packets
		rest.Severity = max(rest.Severity, c.Severity)
	}
	rest.Text = fmt.Sprintf("%d more %s (%s)", len(cs)-maxCausesPerKind, what, count(rest.Flows, "connection"))
	rest.Evidence = "listed in the flow table"
	return append(cs[:maxCausesPerKind:maxCausesPerKind], rest)
}

// worstStep is the hop pair with the largest p99 among those with enough
// packets to mean something.
func worstStep(hops []analyze.HopLatency) (analyze.HopLatency, bool) {
	best, found := analyze.HopLatency{}, false
	for _, h := range hops {
		if h.Packets < minWorstPackets || h.P99NS <= 0 {
			continue
		}
		if !found || h.P99NS > best.P99NS || (h.P99NS == best.P99NS && h.MaxNS > best.MaxNS) {
			best, found = h, true
		}
	}
	return best, found
}

// where names the place between two hops: "inside node-1 between a and b"
// or "between node-1's a and node-2's b".
func (ix *index) where(from, to string) (text string, sameNode bool) {
	nf, nt := ix.node[from], ix.node[to]
	if nf == nt {
		return fmt.Sprintf("inside %s between %s and %s", nf, from, to), true
	}
	return fmt.Sprintf("between %s (%s) and %s (%s)", from, nf, to, nt), false
}

func dropCauses(res *analyze.Result, ix *index) []Cause {
	var out []Cause
	type groupKey struct {
		from, to string
		reason   analyze.DropReason
	}
	flowsOf := map[groupKey]map[flowKey]bool{}
	for _, d := range res.Drops {
		k := groupKey{d.From, d.To, d.Reason}
		if flowsOf[k] == nil {
			flowsOf[k] = map[flowKey]bool{}
		}
		flowsOf[k][flowKey{d.Proto, d.Flow}] = true
	}
	for _, g := range groupDrops(res.Drops) {
		nf := len(flowsOf[groupKey{g.From, g.To, g.Reason}])
		place, same := ix.where(g.From, g.To)
		c := Cause{Kind: CauseDrop, Severity: SevBad, Packets: g.Packets, Flows: nf, Hops: []string{g.From, g.To}}
		c.Nodes = uniq(ix.node[g.From], ix.node[g.To])
		c.Evidence = fmt.Sprintf("seen at %s, never at %s while both captures ran", g.From, g.To)
		if g.Retransmitted > 0 {
			c.Evidence += fmt.Sprintf("; the sender retransmitted %d of them", g.Retransmitted)
		}
		switch g.Reason {
		case analyze.DropCaptureGap:
			c.Kind, c.Severity = CauseCaptureGap, SevWarn
			c.Text = fmt.Sprintf("the capture at %s missed %s of %s that later hops saw: not a network drop", g.To, count(g.Packets, "packet"), count(nf, "flow"))
			c.Evidence = fmt.Sprintf("seen at %s and further along the path, not at %s", g.From, g.To)
			c.Next = "tcpdump dropped them: check its \"packets dropped by kernel\" line and raise its buffer (-B 8192)"
			if n := ix.snap[g.To]; n > 0 {
				c.Next = fmt.Sprintf("its snap length (%d bytes) cut them before what tells them apart from other packets: capture with -s 0 (or at least %d bytes) to follow them there; else tcpdump dropped them (its \"packets dropped by kernel\" line)", n, analyze.ShortSnap)
			}
			out = append(out, c)
			continue
		case analyze.DropMTU:
			c.Text = fmt.Sprintf("%s of %s too big for the path vanished %s", count(g.Packets, "packet"), count(nf, "flow"), place)
			c.Next = "DF packets larger than the next hop's MTU: lower the pod MTU to the path's (see the MTU cause) or clamp the TCP MSS"
		case analyze.DropTTL:
			c.Text = fmt.Sprintf("%s of %s ran out of TTL %s", count(g.Packets, "packet"), count(nf, "flow"), place)
			c.Next = fmt.Sprintf("a routing loop or a too-low TTL: check `ip route get <destination>` on %s", ix.node[g.From])
		default:
			c.Text = fmt.Sprintf("%s of %s vanished %s", count(g.Packets, "packet"), count(nf, "flow"), place)
			if same {
				c.Text += " (a forwarding step)"
				c.Next = fmt.Sprintf("on %s: check `iptables -L FORWARD -v -x` and `nft list ruleset` for a DROP whose counter matches, `ip -s link` for device drops, `conntrack -S` for insert_failed", ix.node[g.From])
			} else {
				c.Text += " (the wire or the underlay)"
				c.Next = "check the underlay between the nodes: `ip -s link show` on both uplinks, firewalls or security groups for the tunnel's port"
			}
		}
		out = append(out, c)
	}
	return out
}

// baseName is a file's name without its directory.
func baseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}

func uniq(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// mtuCauses groups the MTU findings by kind and MTU.
func mtuCauses(res *analyze.Result, ix *index) []Cause {
	type key struct {
		kind analyze.MTUKind
		mtu  int
	}
	type agg struct {
		packets int
		flows   map[flowKey]bool
		hops    []string
		podMTU  int
	}
	groups := map[key]*agg{}
	var order []key
	for _, f := range res.MTU {
		k := key{f.Kind, f.MTU}
		a := groups[k]
		if a == nil {
			a = &agg{flows: map[flowKey]bool{}}
			groups[k] = a
			order = append(order, k)
		}
		a.packets += f.Packets
		a.flows[flowKey{f.Proto, f.Flow}] = true
		if !slices.Contains(a.hops, f.Hop) {
			a.hops = append(a.hops, f.Hop)
		}
		if i, ok := ix.flows[flowKey{f.Proto, f.Flow}]; ok {
			fl := ix.pods[i]
			st := fl.OrigStats
			if f.Direction == analyze.DirReply {
				st = fl.ReplStats
			}
			hdr := 40
			if strings.Contains(fl.Orig.Src, ":") {
				hdr = 60
			}
			// The MSS, not the largest segment: with offloads a capture
			// shows super-frames far above any MTU.
			if st.MSS > 0 {
				a.podMTU = max(a.podMTU, st.MSS+hdr)
			}
		}
	}
	var out []Cause
	for _, k := range order {
		a := groups[k]
		c := Cause{Kind: CauseMTU, Severity: SevWarn, Packets: a.packets, Flows: len(a.flows), Hops: a.hops}
		for _, h := range a.hops {
			c.Nodes = uniq(append(c.Nodes, ix.node[h])...)
		}
		at := strings.Join(a.hops, ", ")
		tunnel := strings.ToUpper(ix.encapBy[k.mtu])
		if tunnel == "" {
			tunnel = "path"
		}
		flows := count(len(a.flows), "flow")
		switch k.kind {
		case analyze.MTUMSSTooLarge:
			if a.podMTU > k.mtu {
				c.Text = fmt.Sprintf("pod MTU %d > %s MTU %d on this path: set the CNI MTU to %d", a.podMTU, tunnel, k.mtu, k.mtu)
			} else {
				c.Text = fmt.Sprintf("TCP MSS too large for the %s MTU %d on this path", tunnel, k.mtu)
			}
			c.Evidence = fmt.Sprintf("%s announced an MSS the path cannot carry (seen at %s)", flows, at)
			c.Next = fmt.Sprintf("set the CNI MTU to %d (flannel net-conf \"MTU\", Calico veth_mtu) or clamp the MSS (iptables -t mangle … TCPMSS --clamp-mss-to-pmtu)", k.mtu)
		case analyze.MTUBlackhole:
			c.Severity = SevBad
			c.Text = fmt.Sprintf("PMTUD black hole at %s: DF packets larger than MTU %d vanish and no frag-needed reaches the sender", at, k.mtu)
			c.Evidence = fmt.Sprintf("%s in %s", count(a.packets, "packet"), flows)
			c.Next = fmt.Sprintf("let ICMP frag-needed (type 3 code 4) through to the pods, or set the CNI MTU to %d", k.mtu)
		case analyze.MTUFragNeeded, analyze.MTUPacketTooBig:
			c.Severity = SevInfo
			c.Text = fmt.Sprintf("ICMP %s (MTU %d) for %s, seen at %s", k.kind, k.mtu, flows, at)
			c.Evidence = count(a.packets, "ICMP error") + " quoting the flow"
			c.Next = fmt.Sprintf("path MTU discovery at work; if the sender keeps sending large packets, check that the ICMP reaches it, or set the MTU to %d", k.mtu)
		case analyze.MTUIncompleteReassembly:
			c.Severity = SevBad
			c.Text = fmt.Sprintf("fragments of %s never all arrived at %s: the datagrams cannot be reassembled", flows, at)
			c.Evidence = count(a.packets, "datagram")
			c.Next = "a fragment was lost on the way: check the drops, and avoid fragmentation with a lower MTU"
		default: // fragmented, refragmented
			c.Severity = SevInfo
			c.Text = fmt.Sprintf("%s of %s %s at %s (MTU %d)", count(a.packets, "datagram"), flows, k.kind, at, k.mtu)
			c.Evidence = "fragments seen at that hop"
			c.Next = fmt.Sprintf("fragmentation costs CPU and breaks on loss; a sender MTU of %d avoids it", k.mtu)
		}
		out = append(out, c)
	}
	return out
}

// noReplyCauses lists TCP and ICMP echo conversations that got no answer
// and lost no packet on the captured hops (drops explain the others).
// One-way UDP is common (syslog, metrics) and left out.
func noReplyCauses(ix *index) []Cause {
	type key struct {
		proto analyze.Proto
		dst   string
	}
	groups := map[key]int{}
	var order []key
	for _, f := range ix.pods {
		if !f.Unreplied || (f.Proto != analyze.ProtoTCP && !f.Proto.IsICMP()) {
			continue
		}
		if len(ix.drops[flowDirKey{flowKey{f.Proto, f.Orig}, analyze.DirOrig}]) > 0 {
			continue
		}
		k := key{f.Proto, f.Orig.Dst}
		if f.Proto == analyze.ProtoTCP {
			k.dst = hostPort(f.Orig.Dst, f.Orig.DPort)
		}
		if groups[k] == 0 {
			order = append(order, k)
		}
		groups[k]++
	}
	// Capped as capCauses does, without making the causes it would sum
	// up: a SYN scan has one per unanswered destination (1M-flow scan:
	// about 400k, some 100 MB).
	const what = "destinations got no reply"
	var rest []key
	if len(order) > maxCausesPerKind {
		slices.SortStableFunc(order, func(a, b key) int { return cmp.Compare(groups[b], groups[a]) })
		order, rest = order[:maxCausesPerKind], order[maxCausesPerKind:]
	}
	var out []Cause
	for _, k := range order {
		n := groups[k]
		out = append(out, Cause{Kind: CauseNoReply, Severity: SevWarn, Flows: n,
			Text:     fmt.Sprintf("%d %s %s to %s got no reply, and no packet was lost on the captured hops", n, k.proto, plural(n, "connection", "connections"), k.dst),
			Evidence: "no packet was seen in the reply direction",
			Next:     "check that the server listens (ss -ltn in its pod) and that no NetworkPolicy or firewall rejects it; capture inside the server's pod"})
	}
	if len(rest) > 0 {
		c := Cause{Kind: CauseNoReply, Severity: SevWarn}
		for _, k := range rest {
			c.Flows += groups[k]
		}
		c.Text = fmt.Sprintf("%d more %s (%s)", len(rest), what, count(c.Flows, "connection"))
		c.Evidence = "listed in the flow table"
		out = append(out, c)
	}
	return out
}

// retransmitCauses reports TCP retransmissions the drops do not explain.
func retransmitCauses(res *analyze.Result, ix *index) []Cause {
	retrans, conns := 0, 0
	for _, f := range ix.pods {
		if f.Proto != analyze.ProtoTCP {
			continue
		}
		if n := f.OrigStats.Retransmits + f.ReplStats.Retransmits; n > 0 {
			retrans += n
			conns++
		}
	}
	explained := 0
	for _, d := range res.Drops {
		explained += d.Retransmitted
	}
	if retrans <= explained {
		return nil
	}
	n := retrans - explained
	return []Cause{{Kind: CauseRetransmit, Severity: SevWarn, Packets: n, Flows: conns,
		Text:     fmt.Sprintf("%s in %s without a drop on the captured hops", count(n, "retransmission"), count(conns, "TCP connection")),
		Evidence: fmt.Sprintf("%d retransmitted segments in all, %d of them explained by drops", retrans, explained),
		Next:     "the loss happened before the first or after the last capture point, or the retransmissions were spurious (a delayed ACK): capture closer to the ends"}}
}

// natCauses names each translation seen, once per service.
func natCauses(res *analyze.Result, ix *index) []Cause {
	type key struct {
		typ                              analyze.NATKind
		from, to, node, fromName, toName string
	}
	n := map[key]int{}
	var order []key
	for _, f := range ix.pods {
		if len(f.NAT) == 0 {
			continue // spare the index of first hops (1M-flow scan: about 70 MB)
		}
		node := ""
		if p := ix.firstHop(res, f); p != "" {
			node = ix.node[p]
		}
		for _, t := range f.NAT {
			k := key{typ: t.Type, from: t.From, to: t.To, node: node}
			if t.Type == analyze.DNAT {
				k.fromName = nameOf(res, f.Orig.Dst, f.Orig.DPort, f.Proto, f.FirstNS)
				k.toName = nameOf(res, f.Reply.Src, f.Reply.SPort, f.Proto, f.FirstNS)
			}
			if t.Type == analyze.SNAT {
				// The source port an SNAT picks changes per connection.
				k.from, k.to = hostOnly(t.From), hostOnly(t.To)
			}
			if n[k] == 0 {
				order = append(order, k)
			}
			n[k]++
		}
	}
	var out []Cause
	for _, k := range order {
		c := Cause{Kind: CauseNAT, Severity: SevInfo, Flows: n[k]}
		on := ""
		if k.node != "" {
			on = " on " + k.node
			c.Nodes = []string{k.node}
		}
		if k.typ == analyze.DNAT {
			c.Text = fmt.Sprintf("Service %s%s → %s%s (DNAT%s, %s)", k.from, k.fromName, k.to, k.toName, on, count(n[k], "connection"))
			c.Evidence = "the reply came from the backend, not from the address the client called"
			c.Next = fmt.Sprintf("`conntrack -L -d %s`%s shows the translations; kube-proxy's rules: `iptables -t nat -L KUBE-SERVICES -n`", hostOnly(k.from), on)
		} else {
			c.Text = fmt.Sprintf("SNAT %s → %s%s (%s)", k.from, k.to, on, count(n[k], "connection"))
			c.Evidence = "the reply went to another address than the one the client sent from"
			c.Next = "masquerading: `iptables -t nat -L POSTROUTING -v -n` on the node"
		}
		out = append(out, c)
	}
	return out
}

// nameOf writes the Kubernetes name of an address as " (name)", or ""
// without one.
func nameOf(res *analyze.Result, addr string, port uint16, proto analyze.Proto, ts int64) string {
	if len(res.Names) == 0 {
		return ""
	}
	if n, ok := res.NameOf(addr, port, proto, ts); ok {
		return " (" + n.Name + ")"
	}
	return ""
}

// firstHop returns the first hop of a flow's original path, where its
// sender's packets entered.
func (ix *index) firstHop(res *analyze.Result, f analyze.Flow) string {
	if ix.firstHops == nil {
		ix.firstHops = map[flowKey]string{}
		for _, p := range res.Paths {
			if p.Direction == analyze.DirOrig && len(p.Hops) > 0 {
				ix.firstHops[flowKey{p.Proto, p.Flow}] = p.Hops[0]
			}
		}
	}
	return ix.firstHops[flowKey{f.Proto, f.Orig}]
}

func hostOnly(end string) string {
	if strings.HasPrefix(end, "[") {
		if i := strings.Index(end, "]"); i > 0 {
			return end[1:i]
		}
	}
	if i := strings.LastIndexByte(end, ':'); i > 0 && strings.Count(end, ":") == 1 {
		return end[:i]
	}
	return end
}
