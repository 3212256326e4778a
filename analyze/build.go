package analyze

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// result assembles the analysis' figures into a sorted Result.
func (a *analysis) result() *Result {
	g := a.agg
	names := a.hopNames()
	r := &Result{Schema: SchemaVersion}
	g.addrs = addrNames{}
	defer func() { g.addrs = nil }()

	for i, h := range a.hops {
		start, end := a.captureSpan(h)
		r.Captures = append(r.Captures, CaptureSummary{
			Hop: names[i], Node: a.nodes[h.node], File: h.file, AlsoFiles: a.alsoFiles(h), AlsoPoints: a.alsoPoints(h),
			Packets: h.packets, FirstNS: h.first, LastNS: h.last, StartNS: start, EndNS: end,
			SnapLen: h.shortSnap(),
		})
	}
	slices.SortFunc(r.Captures, func(x, y CaptureSummary) int {
		return cmp.Or(cmp.Compare(x.Node, y.Node), cmp.Compare(x.Hop, y.Hop))
	})

	// Paths first: drops and findings are placed on them. Lists sized up
	// front: grown by appending, a 1M-flow SYN scan's copies of them
	// weighed about as much as the lists. Paths with the same hops share
	// their lists (a SYN scan's million paths have a handful), and are
	// sorted through an index rather than beside a sortable copy of each;
	// the paths' accumulators go once read. On a 200k-flow SYN scan that
	// was about 100 MB of the 670 MB live at the peak (heap profile).
	paths := &flowPaths{of: make([]int32, 2*len(g.flows.flows))}
	lists := make(map[string]int32) // by hops: the index in paths.lists
	var listNames [][]string        // by index in paths.lists
	r.Paths = make([]Path, 0, g.npaths)
	firsts := make([]int64, 0, g.npaths)
	var key []byte
	for id := range g.flows.flows {
		f := g.flowAt(int32(id))
		for d, pa := range f.path {
			if pa == nil {
				continue
			}
			hops := pa.steps(g, names)
			key = key[:0]
			for _, h := range hops {
				key = binary.LittleEndian.AppendUint32(key, uint32(h))
			}
			l, ok := lists[string(key)]
			if !ok {
				l = int32(len(paths.lists))
				lists[string(key)] = l
				paths.lists = append(paths.lists, hops)
				listNames = append(listNames, hopList(names, hops))
			}
			paths.of[int(f.id)*2+d] = l + 1
			firsts = append(firsts, f.first)
			r.Paths = append(r.Paths, Path{
				Flow: g.tupleJSON(f.orig), Proto: f.orig.Proto, Direction: direction(d),
				Hops: listNames[l], Packets: pa.packets,
			})
			f.path[d] = nil
		}
	}
	sortPaths(r.Paths, firsts)

	for _, k := range g.latKeys {
		l := g.lat[k]
		hl := HopLatency{
			From: names[k.from], To: names[k.to], Direction: direction(k.dir),
			Packets: l.h.n, Negative: l.negative,
			CrossNode: a.hops[k.from].node != a.hops[k.to].node,
		}
		if l.h.n > 0 {
			hl.MinNS, hl.MaxNS = l.h.min, l.h.max
			hl.P50NS, hl.P90NS, hl.P99NS = l.h.percentile(50), l.h.percentile(90), l.h.percentile(99)
		}
		r.Hops = append(r.Hops, hl)
	}
	slices.SortFunc(r.Hops, func(x, y HopLatency) int {
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To), cmp.Compare(x.Direction, y.Direction))
	})

	r.Clocks = slices.Clone(a.clocks)
	for _, c := range a.clocks {
		switch {
		case c.Samples == 0:
			a.notef("clock of node %s: no packet seen both ways between it and another node whose clock is known; its offset is not estimated and cross-node latencies use its raw clock", c.Node)
		case c.OneWay:
			a.notef("clock of node %s: packets seen in one direction only (%d); its offset takes the fastest of them to have taken no time, so cross-node latencies are relative to it", c.Node, c.Samples)
		}
	}

	for _, k := range g.encapKeys {
		e := g.encap[k]
		over := int(e.overhead / int64(e.packets))
		en := Encap{
			Hop: names[k.hop], Type: k.chain, Packets: e.packets, OverheadBytes: over,
			WireBytes: e.wireBytes, InnerMTU: underlayMTU - over,
		}
		if k.hasVNI {
			v := k.vni
			en.VNI = &v
		}
		if e.wireBytes > 0 {
			en.Share = float64(e.overhead) / float64(e.wireBytes)
		}
		r.Encap = append(r.Encap, en)
	}
	slices.SortFunc(r.Encap, func(x, y Encap) int {
		return cmp.Or(cmp.Compare(x.Hop, y.Hop), cmp.Compare(x.Type, y.Type), cmp.Compare(vniOf(x.VNI), vniOf(y.VNI)))
	})

	expected := g.expectedPaths(paths)
	r.Drops, r.Unjudged = g.buildDrops(expected, names)
	if a.opt.Trace != nil {
		r.fates = g.buildFates(expected, names) // what the traces' Fate numbers
	}
	a.noteUnjudged(r.Unjudged)
	a.noteCaptureLosses(r.Drops, names)
	r.MTU = g.buildMTU(paths, names, r.Drops)
	r.Background = a.background.result(a, names)

	// The flows last, each flow's state let go once exported, and the
	// drop groups and tuple index before: the flows of the result take the
	// place of the flow table's rather than adding to all the analysis
	// holds (on a 200k-flow SYN scan, the peak of the live heap went from
	// about 430 to 355 MB: GOGC=20 GODEBUG=gctrace=1).
	g.drops, g.dropKeys = nil, nil
	g.flows.byHash, g.flows.others, g.carriers.byHash, g.carriers.others = nil, nil, nil, nil
	byTime := func(x, y Flow) int {
		return cmp.Or(cmp.Compare(x.FirstNS, y.FirstNS), compareTuple(x.Proto, x.Orig, y.Proto, y.Orig))
	}
	r.Flows = make([]Flow, 0, len(g.flows.flows)+len(g.carriers.flows))
	for i := range g.flows.flows {
		r.Flows = append(r.Flows, g.flowAt(int32(i)).export(g))
		if g.flows.flows[i] == nil {
			g.fold.drop(int32(i))
		}
		g.flows.flows[i] = nil
	}
	slices.SortFunc(r.Flows, byTime)
	pods := len(r.Flows)
	for i, f := range g.carriers.flows {
		r.Flows = append(r.Flows, f.export(g))
		g.carriers.flows[i] = nil
	}
	slices.SortFunc(r.Flows[pods:], byTime)
	a.markEncrypted(r)
	r.Warnings = append([]string{}, a.warn...)
	r.InputProblems = a.inputProblems
	return r
}

// hopNames gives each hop its display name: its capture point, qualified
// with its node when another node has a hop of the same name.
func (a *analysis) hopNames() []string {
	// The node of each point's first hop, and whether another node has one
	// of the same name: a map of sets cost 250 ms of 3.3 s CPU for 100k
	// interleaved pcapng interfaces (one set each).
	const shared = -1
	nodeOf := make(map[string]int32, len(a.hops))
	for _, h := range a.hops {
		switch n, ok := nodeOf[h.point]; {
		case !ok:
			nodeOf[h.point] = h.node
		case n != h.node:
			nodeOf[h.point] = shared
		}
	}
	names := make([]string, len(a.hops))
	for i, h := range a.hops {
		names[i] = h.point
		if nodeOf[h.point] == shared {
			names[i] = a.nodes[h.node] + "/" + h.point
		}
	}
	return names
}

// flowPaths are the hops of each flow direction's path: by flow and
// direction, the number of its list of hops, which the paths with the same
// hops share. Two maps by flow direction (the paths and the paths
// expected) were about 100 bytes per flow of a SYN scan at the peak of
// building its result (heap profile); this is 8.
type flowPaths struct {
	of    []int32   // by flow*2+dir: one more than the index in lists; 0: no path
	lists [][]int32 // distinct
}

// get returns the hops of fd's path, nil when it has none.
func (p *flowPaths) get(fd flowDir) []int32 {
	if i := int(fd.flow)*2 + int(fd.dir); i < len(p.of) && p.of[i] > 0 {
		return p.lists[p.of[i]-1]
	}
	return nil
}

// sortPaths sorts paths by flow, direction, the first packet of their
// flow (firsts, beside them), hops and packets: two flows may share a
// tuple (a connection reusing it, or a flow's halves on two nodes whose
// clocks could not be tied), so the order never depends on the order the
// flows were aggregated in (a map of the paths once made it depend on the
// map's: realistic-vxlan with a 100-packet clock sample, found by a test
// that went with the clock pass' log).
func sortPaths(paths []Path, firsts []int64) {
	idx := make([]int32, len(paths))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		x, y := &paths[i], &paths[j]
		return cmp.Or(compareTuple(x.Proto, x.Flow, y.Proto, y.Flow), cmp.Compare(x.Direction, y.Direction),
			cmp.Compare(firsts[i], firsts[j]), slices.Compare(x.Hops, y.Hops), cmp.Compare(x.Packets, y.Packets))
	})
	// Put each path in its place, following the cycles of the permutation:
	// position i takes the path at idx[i].
	for i := range idx {
		if idx[i] < 0 {
			continue
		}
		tmp := paths[i]
		j := i
		for {
			k := int(idx[j])
			idx[j] = -1
			if k == i {
				paths[j] = tmp
				break
			}
			paths[j] = paths[k]
			j = k
		}
	}
}

// addrNames holds the text of each address a Result names, so that its
// flows, paths and drops share one string per address (a SYN scan's
// million flows name a few thousand): a string per address of each flow
// and path was about 100 bytes per flow of a SYN scan's result (heap
// profile). Bounded, as an incident of only distinct addresses gains
// nothing.
type addrNames map[netip.Addr]string

const maxAddrNames = 1 << 16

// tupleJSON returns t in schema form, sharing the addresses' text.
func (g *aggregator) tupleJSON(t Tuple) TupleJSON {
	return TupleJSON{Src: g.addrs.name(t.Src), Dst: g.addrs.name(t.Dst), SPort: t.SPort, DPort: t.DPort}
}

func (m addrNames) name(x netip.Addr) string {
	if s, ok := m[x]; ok {
		return s
	}
	s := x.String()
	if m != nil && len(m) < maxAddrNames {
		m[x] = s
	}
	return s
}

func hopList(names []string, hops []int32) []string {
	out := make([]string, len(hops))
	for i, h := range hops {
		out[i] = names[h]
	}
	return out
}

func vniOf(v *uint32) int64 {
	if v == nil {
		return -1
	}
	return int64(*v)
}

func compareTuple(px Proto, x TupleJSON, py Proto, y TupleJSON) int {
	return cmp.Or(cmp.Compare(px.String(), py.String()), cmp.Compare(x.Src, y.Src), cmp.Compare(x.Dst, y.Dst),
		cmp.Compare(x.SPort, y.SPort), cmp.Compare(x.DPort, y.DPort))
}

// export renders a flow for the result.
func (f *flowState) export(g *aggregator) Flow {
	out := Flow{
		Proto: f.orig.Proto, Orig: g.tupleJSON(f.orig), Reply: g.tupleJSON(f.reply),
		Packets:   int(f.stats[0].packets + f.stats[1].packets),
		Bytes:     int(f.stats[0].bytes + f.stats[1].bytes),
		OrigStats: f.stats[0].dir(), ReplStats: f.stats[1].dir(),
		FirstNS: f.first, LastNS: f.last,
		NAT:       f.nat(),
		Unreplied: !f.seenReply(),
		Tunnel:    f.carries.String(),
	}
	switch f.orig.Proto {
	case 6:
		out.State = f.tcp.State.String()
		out.Assured = f.tcp.Assured
	case 17:
		out.Assured = f.udp.Assured
	}
	return out
}

// expectedPaths returns, for every flow direction, the hops its packets
// should have crossed: its own path, or the longest path seen between the
// same two endpoints when that one contains it. A flow whose every packet
// vanished at one place (a SYN a network policy drops, a DF ping too big
// for the tunnel) has a path that stops there; other traffic between the
// same pods shows where it should have gone on. A path that ends where the
// other direction of its flow starts reached its destination, and is
// never lengthened: a longer path between the same addresses (one whose
// packets a stray sighting joined to another pod's) is no expectation for
// it.
func (g *aggregator) expectedPaths(paths *flowPaths) *flowPaths {
	ends := func(fd flowDir) endpoints {
		f := g.headAt(fd.flow)
		if fd.dir == dirReply {
			return endpoints{f.reply.Src, f.reply.Dst}
		}
		return endpoints{f.orig.Src, f.orig.Dst}
	}
	fdOf := func(i int) flowDir { return flowDir{int32(i / 2), int8(i % 2)} }
	longest := map[endpoints]int32{} // one more than the index in paths.lists
	for i, n := range paths.of {
		if n == 0 {
			continue
		}
		e := ends(fdOf(i))
		hops := paths.lists[n-1]
		var l []int32
		if m := longest[e]; m > 0 {
			l = paths.lists[m-1]
		}
		if len(hops) > len(l) || len(hops) == len(l) && slices.Compare(hops, l) < 0 {
			longest[e] = n
		}
	}
	out := &flowPaths{of: slices.Clone(paths.of), lists: paths.lists}
	for i, n := range paths.of {
		if n == 0 {
			continue
		}
		fd := fdOf(i)
		hops := paths.lists[n-1]
		if back := paths.get(flowDir{fd.flow, 1 - fd.dir}); len(hops) > 0 && len(back) > 0 && back[0] == hops[len(hops)-1] {
			continue // it reached the hop its answers leave from
		}
		if m := longest[ends(fd)]; m > 0 {
			if l := paths.lists[m-1]; len(l) > len(hops) && isSubsequence(hops, l) {
				out.of[i] = m
			}
		}
	}
	return out
}

// seenAt reports whether the packets of k were seen at step i of path: at
// its hop's first crossing, or its second when the hop appears earlier on
// the path too.
func (k *dropKey) seenAt(path []int32, i int) bool {
	b := hopBit(path[i])
	if b == 0 {
		return false // past hop 63, which the masks do not hold: spare the scan of the path (100k hops: 5 s)
	}
	if slices.Contains(path[:i], path[i]) {
		return k.again&b != 0
	}
	return k.seen&b != 0
}

// steps returns the path's hops in order, a hop crossed twice twice: each
// crossing is placed by the mean position it took in its packets' paths;
// ties of shared timestamps between hops of one node, which skew mean
// positions, are settled first by what other packets showed (precedence),
// except for hops crossed twice, whose order against their neighbours
// differs between the two crossings.
func (pa *pathAcc) steps(g *aggregator, names []string) []int32 {
	type step struct {
		hop   int32
		again bool
	}
	var steps []step
	var buf [pathDense]int32
	for _, h := range pa.pos.appendHops(buf[:0]) {
		steps = append(steps, step{h, false})
	}
	again := pa.againPos()
	if again != nil {
		for _, h := range again.appendHops(buf[:0]) {
			steps = append(steps, step{h, true})
		}
	}
	at := func(s step) *posAcc {
		if s.again {
			return again.get(s.hop)
		}
		return pa.pos.get(s.hop)
	}
	entry := pa.entryHop()
	hops := g.a.hops
	slices.SortStableFunc(steps, func(x, y step) int {
		if x.hop == y.hop {
			return boolCompare(x.again, y.again) // the first crossing first
		}
		px, py := at(x), at(y)
		if hops[x.hop].node == hops[y.hop].node && !pa.twice(x.hop) && !pa.twice(y.hop) {
			if c := g.precedence(x.hop, y.hop, entry); c != 0 {
				return c
			}
		}
		// Mean positions without division.
		return cmp.Or(cmp.Compare(px.sum*py.n, py.sum*px.n), cmp.Compare(names[x.hop], names[y.hop]))
	})
	out := make([]int32, len(steps))
	for i, s := range steps {
		out[i] = s.hop
	}
	return out
}

// boolCompare orders false before true.
func boolCompare(x, y bool) int {
	switch {
	case x == y:
		return 0
	case y:
		return -1
	}
	return 1
}

// isSubsequence reports whether a's hops appear in b in the same order.
func isSubsequence(a, b []int32) bool {
	i := 0
	for _, h := range b {
		if i < len(a) && a[i] == h {
			i++
		}
	}
	return i == len(a)
}

type dropGroup struct {
	from, to int32
	flow     int32
	dir      int8
	reason   DropReason
}

// buildDrops places every group of packets on its flow direction's path:
// a packet seen at hop i and not at hop i+1 while hop i+1's capture was
// running vanished there, unless a hop further along saw it (a capture
// gap). Packets last seen before a hop whose capture was not running then
// cannot be judged: they are counted in Result.Unjudged. See placeDrop
// for the reasons.
func (g *aggregator) buildDrops(paths *flowPaths, names []string) ([]Drop, []Unjudged) {
	type acc struct{ packets, resent int }
	// Groups and unjudged are walked in the order they were first met
	// (groupKeys, unjudgedKeys), as drops are (dropKeys): see
	// aggregator.latKeys.
	groups := make(map[dropGroup]*acc)
	unjudged := make(map[dropGroup]int)
	var groupKeys, unjudgedKeys []dropGroup
	g.eachDrop(func(s dropSlot, da *dropAcc) {
		gk, unjudgedHere, ok := g.placeDrop(g.dropKeyOf(s), da, paths.get(flowDir{s.flow, s.dir}))
		if !ok {
			return
		}
		n := int(da.packets)
		if gk.from == da.lastHop {
			n = int(da.pieces) // as they were where they vanished
		}
		if unjudgedHere {
			if _, ok := unjudged[gk]; !ok {
				unjudgedKeys = append(unjudgedKeys, gk)
			}
			unjudged[gk] += n
			return
		}
		a := groups[gk]
		if a == nil {
			a = &acc{}
			groups[gk] = a
			groupKeys = append(groupKeys, gk)
		}
		a.packets += n
		a.resent += int(da.resent)
	})
	var out []Drop
	for _, k := range groupKeys {
		a := groups[k]
		f := g.headAt(k.flow)
		d := Drop{
			From: names[k.from], To: names[k.to], Flow: g.tupleJSON(f.orig), Proto: f.orig.Proto,
			Direction: direction(k.dir), Packets: a.packets, Reason: k.reason,
			flow: k.flow, dir: int(k.dir),
		}
		if f.orig.Proto == ProtoTCP && k.reason != DropCaptureGap {
			d.Retransmitted = min(a.packets, a.resent)
		}
		d.Detail = dropDetail(d, g.pathMTU(k.flow, int(k.dir)))
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y Drop) int {
		return cmp.Or(cmp.Compare(y.Packets, x.Packets), cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To),
			compareTuple(x.Proto, x.Flow, y.Proto, y.Flow), cmp.Compare(x.Direction, y.Direction), cmp.Compare(x.Reason.String(), y.Reason.String()))
	})
	var un []Unjudged
	for _, k := range unjudgedKeys {
		n := unjudged[k]
		f := g.headAt(k.flow)
		un = append(un, Unjudged{From: names[k.from], To: names[k.to], Flow: g.tupleJSON(f.orig), Proto: f.orig.Proto,
			Direction: direction(k.dir), Packets: n})
	}
	slices.SortFunc(un, func(x, y Unjudged) int {
		return cmp.Or(cmp.Compare(y.Packets, x.Packets), cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To),
			compareTuple(x.Proto, x.Flow, y.Proto, y.Flow), cmp.Compare(x.Direction, y.Direction))
	})
	return out, un
}

// endpoints are the addresses of one direction of a flow.
type endpoints struct{ src, dst netip.Addr }

// endpointTunnels returns, per pair of addresses, the most encapsulation
// any flow between them was seen with, for either direction.
func (g *aggregator) endpointTunnels() map[endpoints]int {
	m := make(map[endpoints]int)
	for id := range g.flows.flows {
		f := g.headAt(int32(id))
		for d, e := range [2]endpoints{{f.orig.Src, f.orig.Dst}, {f.reply.Src, f.reply.Dst}} {
			m[e] = max(m[e], int(f.tunnel[d]))
			r := endpoints{e.dst, e.src}
			m[r] = max(m[r], int(f.tunnel[d]))
		}
	}
	return m
}

// dropMTU is the path MTU a dropped packet of a flow direction met: its
// own path's (pathMTU), or, when none of the flow's packets was seen
// encapsulated (all vanished before the tunnel), the underlay MTU less the
// encapsulation other flows between the same addresses were seen with.
func (g *aggregator) dropMTU(flow int32, d int) int {
	if g.tunnels == nil {
		g.tunnels = g.endpointTunnels() // once, at the end
	}
	tunnels := g.tunnels
	m := g.pathMTU(flow, d)
	f := g.headAt(flow)
	if f.tunnel[d] == 0 {
		e := endpoints{f.orig.Src, f.orig.Dst}
		if d == dirReply {
			e = endpoints{f.reply.Src, f.reply.Dst}
		}
		if t := tunnels[e]; t > 0 {
			m = min(m, underlayMTU-t)
		}
	}
	return m
}

// quotedMTU reports whether an ICMP frag-needed or packet-too-big quoted
// the flow, in either direction or form (before or after NAT).
func (g *aggregator) quotedMTU(flow int32) bool {
	if len(g.fragNeeded) == 0 {
		return false
	}
	f := g.headAt(flow)
	for _, tu := range [...]Tuple{f.orig, f.reply.Reverse(), f.reply, f.orig.Reverse()} {
		if _, ok := g.fragNeeded[tu]; ok {
			return true
		}
	}
	return false
}

// placeDrop places the packets of a drop group on their flow direction's
// path: at the first hop that saw them whose next hop did not. It reports
// false when no hop missed them, and unjudged when the next hop's capture
// was not running then and no hop further on saw them.
//
// A reason is given only with its evidence: mtu when the packets' segments
// (not a GSO super-frame's length) exceed the path MTU and either an ICMP
// error quoted the flow or no packet of that size of the flow direction
// crossed the tunnel or the wire; ttl when their TTL ran out before a hop
// pair across which other packets' TTL was seen to drop (a router).
func (g *aggregator) placeDrop(k dropKey, da *dropAcc, path []int32) (gk dropGroup, unjudged, ok bool) {
	lastAt := -2 // where on the path the group's last sighting was; -1 unknown
	for i := 0; i+1 < len(path); i++ {
		cur, next := path[i], path[i+1]
		if !k.seenAt(path, i) || k.seenAt(path, i+1) {
			continue
		}
		later := false
		for j := i + 2; j < len(path) && !later; j++ {
			later = k.seenAt(path, j)
		}
		if next >= 64 && !later {
			// The masks do not say whether the packets were seen past hop
			// 63, but their last hop does: a packet seen at 20,000
			// interfaces, all capturing throughout, was not "left
			// unjudged at hop 64".
			if lastAt == -2 {
				lastAt = -1
				for j := len(path) - 1; j >= 0 && da.lastHop >= 0; j-- {
					if path[j] == da.lastHop {
						lastAt = j
						break
					}
				}
			}
			if lastAt > i {
				continue // seen further on
			}
		}
		if next >= 64 || k.covered&hopBit(next) == 0 {
			if !later {
				return dropGroup{cur, next, k.flow, k.dir, DropUnknown}, true, true
			}
			continue // not captured there, seen further on
		}
		reason := DropUnknown
		switch {
		case later:
			reason = DropCaptureGap
		case k.dfWhole && int(da.minSeg) > g.dropMTU(k.flow, int(k.dir)) &&
			(g.quotedMTU(k.flow) || da.minLen > g.headAt(k.flow).passed[k.dir]):
			reason = DropMTU
		case k.lowTTL && g.isRouted(cur, next):
			reason = DropTTL
		}
		return dropGroup{cur, next, k.flow, k.dir, reason}, false, true
	}
	return dropGroup{}, false, false
}

// Verdict is what became of a packet.
type Verdict uint8

// Verdicts.
const (
	// VerdictUnjudged: neither delivered nor dropped; the capture of the
	// hop after its last sighting was not running then (Result.Unjudged),
	// or a capture gap hides how it ended.
	VerdictUnjudged Verdict = iota
	// VerdictDelivered: seen at the last hop of the path packets of its
	// flow direction take.
	VerdictDelivered
	// VerdictDropped: counted in Result.Drops for a reason other than
	// capture-gap.
	VerdictDropped
)

var verdictNames = [...]string{VerdictUnjudged: "unjudged", VerdictDelivered: "delivered", VerdictDropped: "dropped"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// MarshalText writes the verdict's name.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Fate is what became of the packets of one Trace.Fate.
type Fate struct {
	Verdict Verdict
	// InDrops reports that a drop of Result.Drops counts the packets:
	// the one From, To and Reason name.
	InDrops  bool
	From, To string
	Reason   DropReason
	// Pieces reports that the drop counts each packet as the pieces its
	// last hop saw of it (the GSO segments it became there), not as one.
	Pieces bool
}

// Fate returns what became of the packets of a Trace's Fate number; the
// zero Fate for a number no trace of this analysis carried.
func (r *Result) Fate(id int32) Fate {
	if id < 0 || int(id) >= len(r.fates) {
		return Fate{}
	}
	return r.fates[id]
}

// buildFates resolves every drop group, by its number, as buildDrops
// counts it.
func (g *aggregator) buildFates(paths *flowPaths, names []string) []Fate {
	out := make([]Fate, len(g.dropKeys))
	for id, s := range g.dropKeys {
		k, da := g.dropKeyOf(s), g.drops[s]
		path := paths.get(flowDir{k.flow, k.dir})
		f := &out[id]
		if n := len(path); n > 0 && k.seenAt(path, n-1) && path[n-1] < 64 {
			f.Verdict = VerdictDelivered
		}
		gk, unjudged, ok := g.placeDrop(k, da, path)
		if !ok || unjudged {
			continue
		}
		f.InDrops, f.From, f.To, f.Reason = true, names[gk.from], names[gk.to], gk.reason
		f.Pieces = gk.from == da.lastHop
		if gk.reason != DropCaptureGap {
			f.Verdict = VerdictDropped
		}
	}
	return out
}

func dropDetail(d Drop, pathMTU int) string {
	switch d.Reason {
	case DropMTU:
		return fmt.Sprintf("DF packets larger than the path MTU %d", pathMTU)
	case DropTTL:
		return "TTL expired"
	case DropCaptureGap:
		return fmt.Sprintf("seen further along the path: %s missed them", d.To)
	}
	if d.Retransmitted > 0 {
		return fmt.Sprintf("%d retransmitted by the sender", d.Retransmitted)
	}
	return ""
}

// buildMTU lists the MTU and fragmentation findings.
func (g *aggregator) buildMTU(paths *flowPaths, names []string, drops []Drop) []MTUFinding {
	var out []MTUFinding
	reached := make(map[int32]bool) // flows whose sender got a frag-needed
	for _, k := range g.icmpKeys {
		c := g.icmp[k]
		kind := MTUFragNeeded
		if k.v6 {
			kind = MTUPacketTooBig
		}
		fi := MTUFinding{Kind: kind, Hop: names[c.first], Flow: k.quoted.JSON(), Proto: k.quoted.Proto, MTU: int(k.mtu), Packets: c.packets()}
		f := g.flows.get(k.quoted)
		if f == nil {
			fi.Detail = fmt.Sprintf("sent by %s; the quoted flow was not seen", k.sender)
			out = append(out, fi)
			continue
		}
		fi.Flow, fi.Proto = f.orig.JSON(), f.orig.Proto
		d := g.flows.dirOf(f, k.quoted)
		fi.Direction = direction(d)
		path := paths.get(flowDir{f.id, int8(d)})
		switch {
		case len(path) == 0:
			fi.Detail = fmt.Sprintf("sent by %s", k.sender)
		case c.hops&hopBit(path[0]) != 0:
			reached[f.id] = true
			fi.Detail = fmt.Sprintf("sent by %s; reached the sender (seen at %s)", k.sender, names[path[0]])
		default:
			fi.Detail = fmt.Sprintf("sent by %s; never seen at %s, the sender's side", k.sender, names[path[0]])
		}
		out = append(out, fi)
	}
	for _, k := range g.fragKeys {
		fa := g.frags[k]
		f := g.headAt(k.flow)
		what := "fragmented into pieces of up to %d bytes"
		switch k.kind {
		case MTURefragmented:
			what = "fragmented again, into pieces of up to %d bytes"
		case MTUIncompleteReassembly:
			what = "the last hop that saw the datagram lacks fragments to reassemble it (pieces of up to %d bytes)"
		}
		out = append(out, MTUFinding{Kind: k.kind, Hop: names[k.hop], Flow: f.orig.JSON(), Proto: f.orig.Proto,
			Direction: direction(k.dir), MTU: fa.mtu, Packets: fa.packets, Detail: fmt.Sprintf(what, fa.mtu)})
	}
	// Findings of one cause are one finding listing its flows: a black
	// hole per place and MTU, an MSS too large per path and MSS.
	grouped := map[string]int{} // cause -> index in out
	group := func(cause string, fi MTUFinding) {
		i, ok := grouped[cause]
		if !ok {
			grouped[cause] = len(out)
			fi.Flows = []TupleJSON{fi.Flow}
			out = append(out, fi)
			return
		}
		g := &out[i]
		g.Packets += fi.Packets
		g.Flows = append(g.Flows, fi.Flow)
		if compareTuple(fi.Proto, fi.Flow, g.Proto, g.Flow) < 0 {
			g.Flow = fi.Flow
		}
	}
	// A black hole: DF packets too big for the path vanish and no
	// frag-needed reaches their sender.
	for _, d := range drops {
		if d.Reason != DropMTU {
			continue
		}
		if reached[d.flow] {
			continue
		}
		mtu := g.dropMTU(d.flow, d.dir)
		group(fmt.Sprintf("blackhole %s %s %s %s %d", d.From, d.To, d.Proto, d.Direction, mtu),
			MTUFinding{Kind: MTUBlackhole, Hop: d.To, Flow: d.Flow, Proto: d.Proto, Direction: d.Direction, MTU: mtu, Packets: d.Packets})
	}
	// MSS larger than the path allows: the MSS a side announces is what the
	// other side sends, over the other direction's path.
	for id := range g.flows.flows {
		f := g.headAt(int32(id))
		if f.orig.Proto != ProtoTCP {
			continue
		}
		for d := range 2 {
			mss := int(f.mss[d])
			back := g.pathMTU(int32(id), 1-d)
			if mss == 0 || back >= 1<<30 || mss+40 <= back {
				continue
			}
			hop, route := "", ""
			if p := paths.get(flowDir{int32(id), int8(1 - d)}); len(p) > 0 {
				hop = names[g.tunnelHop(p)]
				route = strings.Join(hopList(names, p), ">")
			}
			group(fmt.Sprintf("mss %s %d %d %d", route, 1-d, mss, back),
				MTUFinding{Kind: MTUMSSTooLarge, Hop: hop, Flow: f.orig.JSON(), Proto: ProtoTCP, Direction: direction(1 - d), MTU: back, Packets: 1,
					Detail: fmt.Sprintf("%s side announced MSS %d; the %s path carries at most %d-byte packets (MSS %d)", direction(d), mss, direction(1-d), back, back-40)})
		}
	}
	for _, i := range grouped {
		fi := &out[i]
		slices.SortFunc(fi.Flows, func(x, y TupleJSON) int { return compareTuple(fi.Proto, x, fi.Proto, y) })
	}
	for cause, i := range grouped {
		fi := &out[i]
		if fi.Kind != MTUBlackhole {
			continue
		}
		from := strings.Fields(cause)[1]
		fi.Detail = fmt.Sprintf("%d DF packets larger than the path MTU vanished between %s and %s and no ICMP frag-needed reached the sender", fi.Packets, from, fi.Hop)
		if n := len(fi.Flows); n > 1 {
			fi.Detail += fmt.Sprintf(" (%d flows)", n)
		}
	}
	for _, i := range grouped {
		if fi := &out[i]; fi.Kind == MTUMSSTooLarge && len(fi.Flows) > 1 {
			fi.Detail += fmt.Sprintf("; %d connections", len(fi.Flows))
		}
	}
	slices.SortFunc(out, func(x, y MTUFinding) int {
		return cmp.Or(cmp.Compare(x.Kind.Rank(), y.Kind.Rank()), cmp.Compare(x.Hop, y.Hop),
			compareTuple(x.Proto, x.Flow, y.Proto, y.Flow), cmp.Compare(x.Direction, y.Direction), cmp.Compare(x.MTU, y.MTU), strings.Compare(x.Detail, y.Detail))
	})
	return out
}

// tunnelHop returns the first hop of a path where packets were seen
// encapsulated, or the path's first hop.
func (g *aggregator) tunnelHop(path []int32) int32 {
	for _, h := range path {
		for _, k := range g.encapKeys {
			if k.hop == h {
				return h
			}
		}
	}
	return path[0]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// unjudgedListed is how many flow directions unjudged at one pair of hops
// are named one by one; more are summed in one note (a SYN scan's captures
// starting late gave one line per flow, tens of thousands of them), and
// Result.Unjudged lists them all.
const unjudgedListed = 3

// noteUnjudged says which packets could not be judged, per pair of hops in
// the order of their first entry.
func (a *analysis) noteUnjudged(us []Unjudged) {
	type pair struct{ from, to string }
	var order []pair
	groups := map[pair][]Unjudged{}
	for _, u := range us {
		k := pair{u.From, u.To}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], u)
	}
	for _, k := range order {
		g := groups[k]
		if len(g) <= unjudgedListed {
			for _, u := range g {
				a.notef("%d %s of %s %s (%s) last seen at %s cannot be judged: the capture at %s, the next hop, was not running then",
					u.Packets, plural(u.Packets, "packet", "packets"), u.Proto, u.Flow.endpoints(u.Proto), u.Direction, u.From, u.To)
			}
			continue
		}
		n := 0
		for _, u := range g {
			n += u.Packets
		}
		a.notef("%d packets of %d flow directions last seen at %s cannot be judged: the capture at %s, the next hop, was not running then (each is listed under unjudged)",
			n, len(g), k.from, k.to)
	}
}

// shortSnap returns the snap length of hop h's capture when it is shorter
// than ShortSnap, else 0.
func (h *hop) shortSnap() int {
	if h.src == nil || h.src.f == nil {
		return 0
	}
	ifs := h.src.f.Interfaces()
	if h.iface < 0 || h.iface >= len(ifs) {
		return 0
	}
	if n := int(ifs[h.iface].SnapLen); n > 0 && n < ShortSnap {
		return n
	}
	return 0
}
