package report

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/hoptrace/hoptrace/analyze"
)

// defaultWaterfalls is how many paths get a waterfall unless asked
// otherwise: the worst few fill a screen; the rest are counted.
const defaultWaterfalls = 5

// waterfalls builds one waterfall per path: flow directions that share
// protocol, addresses, destination port, direction and hops are one path
// (ten connections of a client to one service are one waterfall). Paths
// are ranked by packets dropped, then packets in MTU findings, then the
// time end to end; the first opt.Waterfalls are kept and the rest counted.
func waterfalls(res *analyze.Result, ix *index, opt AnalysisOptions) ([]Waterfall, int) {
	type groupKey struct {
		proto    analyze.Proto
		src, dst string
		dport    uint16
		dir      analyze.Direction
		hops     int32 // the number of the path's hop list
	}
	seed := maphash.MakeSeed()
	keyOf := func(pi int, hops int32) groupKey {
		p := &res.Paths[pi]
		return groupKey{p.Proto, p.Flow.Src, p.Flow.Dst, p.Flow.DPort, p.Direction, hops}
	}
	hash := func(k groupKey) uint64 {
		return maphash.Comparable(seed, k)
	}
	// A SYN scan's paths are mostly groups of one: 1.6M of them for 1M
	// flows. Groups are ranked first and only the kept ones made whole
	// (rows, title); made whole, all of them (and their paths copied by
	// group) were about 450 bytes a path on the 200k-flow scan, more
	// than the Result itself.
	type group struct {
		packets          int
		conns, firstFlow int32
		firstPath, hops  int32 // its key: keyOf(firstPath, hops)
		chosen           bool
	}
	// Groups by a 64-bit hash of their key, checked against the group's
	// own (others by key: a hash another key took first): keyed by the
	// 48-byte key, the map took about 110 MB of a 1M-flow scan's model.
	byHash := map[uint64]int32{}
	others := map[groupKey]int32{}
	hopsID := map[*string]int32{} // hop lists shared by paths (the analysis' are)
	hopsText := map[string]int32{}
	var groups []group
	groupOf := make([]int32, len(res.Paths)) // -1: no hops
	chosen := -1
	nm := newNamer(res)
	if fi, err := chooseFlow(res, opt.Flow, nil, ix.flows); err == nil && fi >= 0 {
		chosen = fi
	}
	for pi, p := range res.Paths {
		groupOf[pi] = -1
		if len(p.Hops) == 0 {
			continue
		}
		h, ok := hopsID[unsafe.SliceData(p.Hops)]
		if !ok || len(p.Hops) != len(res.Paths[h].Hops) {
			text := strings.Join(p.Hops, "\x00")
			if h, ok = hopsText[text]; !ok {
				h = int32(pi) // the first path with these hops
				hopsText[text] = h
			}
			hopsID[unsafe.SliceData(p.Hops)] = h
		}
		k := keyOf(pi, h)
		hk := hash(k)
		i, ok := byHash[hk]
		if ok && keyOf(int(groups[i].firstPath), groups[i].hops) != k {
			i, ok = others[k]
		}
		if !ok {
			i = int32(len(groups))
			if _, taken := byHash[hk]; taken {
				others[k] = i
			} else {
				byHash[hk] = i
			}
			groups = append(groups, group{firstFlow: -1, firstPath: int32(pi), hops: h})
		}
		groupOf[pi] = i
		g := &groups[i]
		g.conns++
		g.packets += p.Packets
		if fi, ok := ix.flows[flowKey{p.Proto, p.Flow}]; ok {
			if g.firstFlow < 0 {
				g.firstFlow = int32(fi)
			}
			if fi == chosen {
				g.chosen = true
			}
		}
	}
	byHash, others, hopsID, hopsText = nil, nil, nil, nil
	// The paths of each group, in order: counting sort of groupOf.
	start := make([]int32, len(groups)+1)
	for _, i := range groupOf {
		if i >= 0 {
			start[i+1]++
		}
	}
	for i := range groups {
		start[i+1] += start[i]
	}
	order := make([]int32, start[len(groups)])
	next := slices.Clone(start[:len(groups)])
	for pi, i := range groupOf {
		if i >= 0 {
			order[next[i]] = int32(pi)
			next[i]++
		}
	}
	groupOf, next = nil, nil
	var members []analyze.Path
	make1 := func(i int) Waterfall {
		g := &groups[i]
		members = members[:0]
		for _, pi := range order[start[i]:start[i+1]] {
			members = append(members, res.Paths[pi])
		}
		w := Waterfall{Conns: int(g.conns), Packets: g.packets, Chosen: g.chosen, firstFlow: int(g.firstFlow)}
		fillWaterfall(&w, members, ix)
		p := members[0]
		if w.Conns == 1 {
			// One connection: name it fully (ports, ICMP echo id).
			w.Title = nm.flow(p.Proto, p.Flow) + " · " + p.Direction.String()
		} else {
			w.Title = serviceText(p.Proto, p.Flow) + nm.suffix(p.Proto, p.Flow) + " · " + p.Direction.String()
		}
		return w
	}
	type rankKey struct {
		dropped, findings, packets int
		totalP50                   int64
	}
	keys := make([]rankKey, len(groups))
	rank := make([]int32, len(groups))
	for i := range groups {
		k := &keys[i]
		k.packets = groups[i].packets
		k.dropped, k.findings, k.totalP50 = rankWaterfall(res.Paths, order[start[i]:start[i+1]], ix)
		rank[i] = int32(i)
	}
	slices.SortStableFunc(rank, func(x, y int32) int {
		a, b := &keys[x], &keys[y]
		return cmp.Or(cmp.Compare(b.dropped, a.dropped), cmp.Compare(b.findings, a.findings),
			cmp.Compare(b.totalP50, a.totalP50), cmp.Compare(b.packets, a.packets))
	})
	limit := opt.Waterfalls
	if limit == 0 {
		limit = defaultWaterfalls
	}
	more := 0
	if limit >= 0 && limit < len(rank) {
		rank, more = rank[:limit], len(rank)-limit
	}
	out := make([]Waterfall, len(rank))
	for j, i := range rank {
		out[j] = make1(int(i))
	}
	return out, more
}

// rankWaterfall returns what fillWaterfall would find of a group of
// paths (by index) to rank it: its packets dropped, packets in MTU
// findings and the sum of its steps' medians, making nothing: filled
// whole, a SYN scan's 1.6M groups of one path were 200 MB of garbage
// beside the result.
func rankWaterfall(paths []analyze.Path, members []int32, ix *index) (dropped, findings int, totalP50 int64) {
	first := &paths[members[0]]
	hops, dir := first.Hops, first.Direction
	for _, pi := range members {
		p := &paths[pi]
		k := flowDirKey{flowKey{p.Proto, p.Flow}, p.Direction}
		for _, d := range ix.drops[k] {
			if i, _ := dropStep(hops, d.From, d.To); i >= 0 && d.Reason != analyze.DropCaptureGap {
				dropped += d.Packets
			}
		}
		for _, f := range ix.mtu[k] {
			findings += f.Packets
		}
	}
	for i := 1; i < len(hops); i++ {
		if l, ok := ix.step(hops[i-1], hops[i], dir); ok && l.Packets > 0 {
			totalP50 += l.P50NS
		}
	}
	return dropped, findings, totalP50
}

// fillWaterfall computes the rows of one path from its member flow
// directions' drops and MTU findings and the hop pairs' latencies.
func fillWaterfall(w *Waterfall, paths []analyze.Path, ix *index) {
	hops := paths[0].Hops
	dir := paths[0].Direction
	pos := map[string]int{} // a hop's first crossing
	for i := len(hops) - 1; i >= 0; i-- {
		pos[hops[i]] = i
	}
	w.Rows = make([]WaterfallRow, len(hops))
	lost := make([]int, len(hops)+1) // packets lost before reaching hop i (len: after the last)
	reasons := make([][]analyze.DropReason, len(hops)+1)
	var trailing []string
	for _, p := range paths {
		k := flowDirKey{flowKey{p.Proto, p.Flow}, p.Direction}
		for _, d := range ix.drops[k] {
			i, j := dropStep(hops, d.From, d.To)
			if i < 0 {
				continue
			}
			at := i + 1
			if d.Reason == analyze.DropCaptureGap {
				// Seen further along: not lost, only missed at d.To.
				if j >= 0 {
					w.Rows[j].Notes = appendOnce(w.Rows[j].Notes, fmt.Sprintf("capture missed %s", count(d.Packets, "packet")))
				}
				continue
			}
			w.Dropped += d.Packets
			lost[at] += d.Packets
			if !slices.Contains(reasons[at], d.Reason) {
				reasons[at] = append(reasons[at], d.Reason)
			}
			if at < len(hops) && hops[at] != d.To {
				w.Rows[at].Notes = appendOnce(w.Rows[at].Notes, "lost before "+d.To)
			}
			if at == len(hops) {
				trailing = appendOnce(trailing, d.To)
			}
		}
		for _, f := range ix.mtu[k] {
			w.Findings += f.Packets
			if j, ok := pos[f.Hop]; ok {
				w.Rows[j].Notes = appendOnce(w.Rows[j].Notes, fmt.Sprintf("%s (MTU %d)", f.Kind, f.MTU))
				w.Rows[j].Severity = max(w.Rows[j].Severity, sevOfMTU(f.Kind))
			}
		}
	}
	reached := w.Packets
	var cum int64
	for i, h := range hops {
		r := &w.Rows[i]
		r.Hop, r.Node = h, ix.node[h]
		reached -= lost[i]
		r.Packets = max(reached, 0)
		if lost[i] > 0 {
			r.Dropped, r.Reason = lost[i], joinReasons(reasons[i])
			r.Severity = SevBad
		}
		if i > 0 {
			if l, ok := ix.step(hops[i-1], h, dir); ok && l.Packets > 0 {
				r.HasStep, r.StepP50, r.StepP99, r.StepN, r.CrossNode = true, l.P50NS, l.P99NS, l.Packets, l.CrossNode
				cum += l.P50NS
				w.TotalP99 += l.P99NS
			}
		}
		r.CumP50 = cum
	}
	w.TotalP50 = cum
	if n := lost[len(hops)]; n > 0 {
		last := &w.Rows[len(hops)-1]
		last.Notes = appendOnce(last.Notes, fmt.Sprintf("✕ %s lost after this hop, never seen at %s (%s)", count(n, "packet"), strings.Join(trailing, ", "), joinReasons(reasons[len(hops)])))
		last.Severity = SevBad
	}
	switch {
	case w.Dropped > 0:
		w.Severity = SevBad
	case w.Findings > 0:
		w.Severity = SevWarn
	}
}

// dropStep returns where a drop from one hop to another sits on a path
// whose hops may repeat (a hop crossed twice): the index of its from and
// of its to, the first crossing of from that to follows, at once if any
// does; -1 for a hop not on the path.
func dropStep(hops []string, from, to string) (i, j int) {
	i, j = -1, -1
	for k := range hops {
		if hops[k] != from {
			continue
		}
		if t := slices.Index(hops[k+1:], to); t >= 0 && (j < 0 || t == 0) {
			i, j = k, k+1+t
			if t == 0 {
				break
			}
		}
		if i < 0 {
			i = k
		}
	}
	return i, j
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// joinReasons writes drop reasons: "unknown, mtu".
func joinReasons(rs []analyze.DropReason) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

func sevOfMTU(kind analyze.MTUKind) Severity {
	switch mtuSeverity(kind) {
	case "bad":
		return SevBad
	}
	return SevWarn
}

// serviceText writes a flow as a path groups it: the client's address, the
// service's address and port (ICMP: the two addresses).
func serviceText(proto analyze.Proto, t analyze.TupleJSON) string {
	if proto.HasPorts() {
		return fmt.Sprintf("%s %s > %s", proto, t.Src, hostPort(t.Dst, t.DPort))
	}
	return fmt.Sprintf("%s %s > %s", proto, t.Src, t.Dst)
}

// Subtitle says how many connections and packets a waterfall covers.
func (w Waterfall) Subtitle() string {
	s := count(w.Conns, "connection") + ", " + count(w.Packets, "packet")
	if w.Dropped > 0 {
		s += fmt.Sprintf(", %d dropped", w.Dropped)
	}
	return s
}

// Cells writes a waterfall row as table cells, in the order of
// WaterfallCols.
func (r WaterfallRow) Cells(i int) []string {
	step, p99, cum := "", "", ""
	if r.HasStep {
		step, p99 = Duration(r.StepP50), Duration(r.StepP99)
	}
	if i > 0 {
		cum = Duration(r.CumP50)
	}
	lost := ""
	if r.Dropped > 0 {
		lost = fmt.Sprintf("%d (%s)", r.Dropped, r.Reason)
	}
	notes := slices.Clone(r.Notes)
	if r.CrossNode {
		notes = append([]string{"cross-node"}, notes...)
	}
	return []string{strconv.Itoa(i + 1), r.Hop, r.Node, strconv.Itoa(r.Packets), lost, step, p99, cum, strings.Join(notes, "; ")}
}

// WaterfallCols are the columns of a waterfall table (":" marks numbers).
var WaterfallCols = []string{"#:", "hop", "node", "packets:", "lost:", "step p50:", "step p99:", "total p50:", "note"}

// sections builds the tables every human-readable format shows after the
// verdict and the waterfalls, most important first.
func sections(res *analyze.Result, ix *index, opt AnalysisOptions) []Section {
	var out []Section
	add := func(id, title string, open bool, header []string, rows []Row) {
		if len(rows) == 0 {
			return
		}
		s := Section{ID: id, Title: title, Open: open, Rows: rows}
		for _, h := range header {
			name, right := strings.CutSuffix(h, ":")
			s.Cols = append(s.Cols, Col{Name: name, Right: right})
		}
		out = append(out, s)
	}
	row := func(sev Severity, cells ...string) Row { return Row{Severity: sev, Cells: cells} }
	nm := newNamer(res)

	var rows []Row
	for _, d := range res.Drops {
		sev := SevBad
		if d.Reason == analyze.DropCaptureGap {
			sev = SevWarn
		}
		rows = append(rows, row(sev, d.From, d.To, nm.flow(d.Proto, d.Flow), d.Direction.String(), strconv.Itoa(d.Packets), d.Reason.String(), strconv.Itoa(d.Retransmitted), d.Detail))
	}
	add("t-drops", "Drops", true, []string{"from", "to", "flow", "dir", "packets:", "reason", "retransmitted:", "detail"}, rows)

	rows = nil
	for _, m := range res.MTU {
		rows = append(rows, row(sevOfMTU(m.Kind), m.Kind.String(), m.Hop, nm.flow(m.Proto, m.Flow), m.Direction.String(), strconv.Itoa(m.MTU), strconv.Itoa(m.Packets), m.Detail))
	}
	add("t-mtu", "MTU and fragmentation", true, []string{"kind", "hop", "flow", "dir", "mtu:", "packets:", "detail"}, rows)

	if opt.AllHops {
		rows = nil
		worst, _ := worstStep(res.Hops)
		for _, h := range hopsByPath(res) {
			sev := SevOK
			if h == worst {
				sev = SevWarn
			}
			rows = append(rows, row(sev, h.From, h.To, h.Direction.String(), strconv.Itoa(h.Packets), Duration(h.MinNS), Duration(h.P50NS), Duration(h.P90NS), Duration(h.P99NS), Duration(h.MaxNS), hopNote(h)))
		}
		add("t-hops", "Hop pairs", false, []string{"from", "to", "dir", "packets:", "min:", "p50:", "p90:", "p99:", "max:", "note"}, rows)

		rows = nil
		for _, p := range res.Paths {
			rows = append(rows, row(SevOK, nm.flow(p.Proto, p.Flow), p.Direction.String(), strconv.Itoa(p.Packets), strings.Join(p.Hops, " → ")))
		}
		add("t-paths", "Paths", false, []string{"flow", "dir", "packets:", "hops"}, rows)
	}

	rows = nil
	for _, r := range nameRows(res) {
		rows = append(rows, row(SevOK, r...))
	}
	add("t-names", "Kubernetes names", true, namesHeader, rows)

	rows = nil
	for _, c := range res.Clocks {
		offset, errText := Duration(c.OffsetNS), "±"+Duration(c.ErrorNS)
		switch {
		case c.OneWay:
			errText = "unbounded (one way)"
		case c.Samples == 0:
			offset, errText = "-", "not estimated"
		}
		rows = append(rows, row(SevOK, c.Node, c.Reference, offset, errText, strconv.Itoa(c.Samples)))
	}
	add("t-clocks", "Clocks", true, []string{"node", "reference", "offset:", "error:", "samples:"}, rows)

	rows = nil
	for _, e := range res.Encap {
		rows = append(rows, row(SevOK, e.Hop, e.Type, vniText(e.VNI), strconv.Itoa(e.Packets), fmt.Sprintf("%d B", e.OverheadBytes), fmt.Sprintf("%.1f%%", 100*e.Share), strconv.Itoa(e.InnerMTU)))
	}
	add("t-encap", "Encapsulation", true, []string{"hop", "type", "vni:", "packets:", "overhead:", "share:", "inner mtu:"}, rows)

	out = append(out, flowSections(res)...)

	rows = nil
	for _, c := range res.Captures {
		first, last := "", ""
		if c.Packets > 0 {
			off := ix.offset[c.Node]
			first, last = offsetFrom(c.FirstNS-off, ix), offsetFrom(c.LastNS-off, ix)
		}
		rows = append(rows, row(SevOK, c.Node, c.Hop, strconv.Itoa(c.Packets), first, last, c.File))
	}
	add("t-captures", "Captures", false, []string{"node", "hop", "packets:", "first:", "last:", "file"}, rows)

	rows = nil
	for _, r := range backgroundRows(res) {
		rows = append(rows, row(SevOK, r...))
	}
	add("t-background", "Background", false, backgroundHeader, rows)
	return out
}

// flowSections builds the flow table, numbered as --flow takes them, and
// the tunnel carriers' table. With Kubernetes names, a "names" column right
// after the tuples names the flow's ends (pods, services, nodes) next to
// their addresses.
func flowSections(res *analyze.Result) []Section {
	var out []Section
	nm := newNamer(res)
	named := len(res.Names) > 0
	// withNames inserts the names column after the reply tuple (column 4 of
	// the flows, 4 of the carriers).
	withNames := func(at int, cells []string, names string) []string {
		if !named {
			return cells
		}
		return slices.Insert(cells, at, names)
	}
	pods, carriers := splitFlows(res.Flows)
	// The rows are made as they are drawn (Section.row).
	if len(pods) > 0 {
		names := []string{"#:", "proto", "orig", "reply", "state", "packets:", "bytes:", "retrans:", "ooo:", "zero win:", "nat"}
		s := Section{ID: "t-flows", Title: "Flows", Cols: cols(withNames(4, names, "names")...), n: len(pods)}
		s.row = func(i int) Row {
			f := pods[i]
			orig, reply := flowTuples(f)
			cells := []string{strconv.Itoa(i + 1), f.Proto.String(), orig, reply, flowState(f), strconv.Itoa(f.Packets), strconv.Itoa(f.Bytes),
				pair(f.OrigStats.Retransmits, f.ReplStats.Retransmits), pair(f.OrigStats.OutOfOrder, f.ReplStats.OutOfOrder),
				pair(f.OrigStats.ZeroWindow, f.ReplStats.ZeroWindow), natText(f.NAT)}
			return Row{Cells: withNames(4, cells, nm.ends(f))}
		}
		out = append(out, s)
	}
	if len(carriers) > 0 {
		s := Section{ID: "t-carriers", Title: "Tunnel carriers", Cols: cols(withNames(4, slices.Clone(carrierHeader), "names")...), n: len(carriers)}
		s.row = func(i int) Row { return Row{Cells: withNames(4, carrierRow(carriers[i]), nm.ends(carriers[i]))} }
		out = append(out, s)
	}
	return out
}

// cols makes columns from names; a name ending in ":" is a number.
func cols(names ...string) []Col {
	out := make([]Col, len(names))
	for i, h := range names {
		name, right := strings.CutSuffix(h, ":")
		out[i] = Col{Name: name, Right: right}
	}
	return out
}

// offsetFrom writes a reference time relative to the incident's start.
func offsetFrom(ns int64, ix *index) string {
	return offsetText(ns - ix.windowStart)
}

// natText writes a flow's translations: "dnat 10.96.0.10:80 → 10.244.1.5:8080".
func natText(ts []analyze.NAT) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Type.String() + " " + t.From + " → " + t.To
	}
	return strings.Join(s, ", ")
}

// hopsByPath returns the hop pairs that carried packets, in the order the
// paths cross them (the first path crossing a pair places it; pairs on no
// path last, as the analysis sorted them).
func hopsByPath(res *analyze.Result) []analyze.HopLatency {
	type key = latKey
	idx := map[key]int{}
	for i, h := range res.Hops {
		idx[key{h.From, h.To, h.Direction}] = i
	}
	placed := make([]bool, len(res.Hops))
	var out []analyze.HopLatency
	place := func(k key) {
		if i, ok := idx[k]; ok && !placed[i] {
			placed[i] = true
			if res.Hops[i].Packets > 0 {
				out = append(out, res.Hops[i])
			}
		}
	}
	for _, p := range res.Paths {
		for i := 1; i < len(p.Hops); i++ {
			place(key{p.Hops[i-1], p.Hops[i], p.Direction})
			place(key{p.Hops[i-1], p.Hops[i], analyze.DirBoth})
		}
	}
	for i, h := range res.Hops {
		if !placed[i] && h.Packets > 0 {
			out = append(out, h)
		}
	}
	return out
}
