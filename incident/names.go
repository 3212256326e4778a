package incident

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

func absDir(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.Dir(a), nil
}

var _ = os.Stat

// captures turns one node's capture files into captures: Inspektor Gadget
// files split by node and pod, Linux cooked captures' interfaces named
// from the node's interface list (or --ifname), and a per-interface
// capture of an interface that an -i any capture also took made the
// primary source of that one hop.
func (c *collector) captures(inc *Incident, acc *nodeAcc, manual map[int32]string) {
	n := acc.node
	ifNames := map[int32]string{}
	for _, l := range n.Links {
		ifNames[l.Index] = l.Name
	}
	for i, name := range manual {
		ifNames[i] = name
	}
	var infos []capInfo
	for _, e := range acc.caps {
		ci := c.inspect(e, false)
		if ci.err == nil && isPcapNG(e) {
			// A pcapng file may describe interfaces as it goes (Inspektor
			// Gadget adds one at the first packet of each pod): read its
			// blocks through to know them all.
			ci = c.inspect(e, true)
		}
		if ci.err != nil {
			// analyze reports it as an input problem with its offset.
			inc.Captures = append(inc.Captures, captureOf(e, n.Name))
			continue
		}
		if gadgetFile(ci.ifaces) {
			c.gadget(inc, e, ci)
			continue
		}
		infos = append(infos, ci)
	}
	c.cookedV1(inc, n.Name, infos)
	infos = c.duplicates(inc, n.Name, infos)
	groups := c.rotations(inc, n.Name, infos)
	// The -i any captures, and the prefix of their file names ("n1-" of
	// "n1-any.pcap"), which per-interface captures beside them share.
	var anys [][]int
	prefixes := map[string]bool{}
	for _, g := range groups {
		if ci := infos[g[0]]; ci.sll2 {
			anys = append(anys, g)
			if p, ok := strings.CutSuffix(ci.stem, "any"); ok {
				prefixes[p] = true
			}
		}
	}
	caps := make([]analyze.Capture, len(infos))
	for i, ci := range infos {
		caps[i] = captureOf(ci.e, n.Name)
		if ci.stem != decode.Stem(ci.e.name) {
			caps[i].Point = ci.stem // kept apart from files sharing its stem
		}
		if ci.sll2 && len(ifNames) > 0 {
			caps[i].IfNames = ifNames
		}
		if ci.cooked {
			caps[i].CookedAny, caps[i].MACNames = true, macNames(n.Links)
		}
	}
	var merged []string
	byName := map[string]int32{}
	for i, name := range ifNames {
		byName[name] = i
	}
	// Each -i any capture's frames, read once for every capture compared
	// with it (anyFrames).
	anyRead := make([]bool, len(anys))
	anyFramesOf := make([]map[int32][]seenAt, len(anys)) // nil when unreadable
	anyReadTo := make([]int64, len(anys))
	anyOf := func(ai int) (map[int32][]seenAt, int64) {
		if !anyRead[ai] {
			anyRead[ai] = true
			anyFramesOf[ai], _, anyReadTo[ai], _ = anyFrames(entriesOf(infos, anys[ai]))
		}
		return anyFramesOf[ai], anyReadTo[ai]
	}
	liveJoined := make([][]string, len(anys)) // the captures so joined, for the note
	live := map[int32]bool{}                  // interfaces named by a live capture of theirs
	for _, g := range groups {
		ci := infos[g[0]]
		if ci.sll2 || ci.cooked {
			continue
		}
		name := c.interfaceOf(ci, byName, prefixes)
		idx, known := byName[name]
		renamed := false   // the data named the interface (Shadow.Unjoined)
		var full []capInfo // g's files read through
		if (name == "" || !known) && len(anys) > 0 {
			// No metadata says which interface it is: the data may, when
			// certain.
			full = c.scanAll(infos, g)
			// found takes interface k of -i any capture a for g's.
			found := func(k int32, a []int) {
				idx, known = k, true
				if name == "" {
					name = cmpOr(ifNames[k], ci.stem)
				}
				if ifNames[k] == "" {
					ifNames[k] = name
					byName[name] = k
					renamed = true
				}
				for _, m := range a {
					caps[m].IfNames = ifNames
				}
			}
			for ai, a := range anys {
				frames, readTo := anyOf(ai)
				mine, ok := framesOf(full, readTo)
				if !ok {
					continue
				}
				if k, ok := aliasByData(frames, mine); ok {
					found(k, a)
					verb := "holds"
					if len(g) > 1 {
						verb = "hold"
					}
					inc.Notes = append(inc.Notes, fmt.Sprintf("%s: %s %s exactly the packets of interface %d of %s at the same instants: one capture point, %s", n.Name, filesOf(infos, g), verb, k, filesOf(infos, a), name))
					break
				}
				// A live capture of one of the -i any capture's
				// interfaces: the one whose outgoing frames it holds at
				// the same instants (alias.go), named after it; a pcapng of
				// several interfaces is none of them.
				if k, ok := aliasLive(frames, mine); ok && len(ci.ifaces) == 1 && !live[k] {
					live[k] = true
					found(k, a)
					liveJoined[ai] = append(liveJoined[ai], fmt.Sprintf("%s=%d", filesOf(infos, g), k))
					break
				}
			}
		}
		if name == "" {
			continue
		}
		for _, m := range g {
			caps[m].Point = name
		}
		if !known || len(anys) == 0 {
			continue
		}
		if full == nil {
			full = c.scanAll(infos, g)
		}
		// One window per piece of the capture's timeline (see
		// capInfo.pieces): after a step back, its smallest and largest time
		// stamps are those of different pieces, and one window between them
		// would start at the first packet after the step, in the middle of
		// the traffic. A piece's edge at a step is widened by stepEdgeSlack:
		// the capture ran on across the step, and the -i any capture may
		// stamp the same packet a little earlier or later. The files of a
		// rotating capture are one timeline: tcpdump and dumpcap start the
		// next file between two packets, losing none, so a file's last
		// piece and the next file's first are one (and an -i any capture
		// compares one window per piece, not per file, for each packet),
		// unless the -i any capture holds packets of the interface between
		// them: then the capture was stopped and started again, and those
		// packets are the -i any capture's to give (heldBetween).
		var anyFiles []*entry
		for _, a := range anys {
			anyFiles = append(anyFiles, entriesOf(infos, a)...)
		}
		restarted := restarts(full, anyFiles, idx)
		var pieces []span
		var restart []bool // piece k starts after a restart: its edge is exact
		for j, m := range g {
			for k, p := range full[j].pieces {
				again := k == 0 && j > 0 && restarted[j-1]
				if k == 0 && len(pieces) > 0 && !again {
					pieces[len(pieces)-1].last = max(pieces[len(pieces)-1].last, p.last)
					continue
				}
				pieces = append(pieces, p)
				restart = append(restart, again)
			}
			if full[j].packets > 0 {
				merged = append(merged, fmt.Sprintf("%s=%s", infos[m].e.name, name))
			}
		}
		for _, a := range anys {
			for _, am := range a {
				for k, p := range pieces {
					from, until := p.first, p.last
					if k > 0 && !restart[k] {
						from -= stepEdgeSlack
					}
					if k < len(pieces)-1 && !restart[k+1] {
						until += stepEdgeSlack
					}
					sh := analyze.Shadow{IfIndex: idx, From: from, Until: until, By: ci.e.path}
					if renamed {
						sh.Unjoined = fmt.Sprintf("%s:if%d", cmpOr(caps[am].Point, decode.Stem(infos[am].e.name)), idx)
					}
					caps[am].Shadows = append(caps[am].Shadows, sh)
				}
			}
		}
	}
	for ai, js := range liveJoined {
		if len(js) > 0 {
			inc.Notes = append(inc.Notes, fmt.Sprintf("%s: per-interface captures holding every frame %s saw leave by one of its interfaces, at the same instant, and those that came in by it: that interface (by index): %s", n.Name, filesOf(infos, anys[ai]), strings.Join(js, ", ")))
		}
	}
	if len(merged) > 0 {
		inc.Notes = append(inc.Notes, fmt.Sprintf("%s: per-interface captures of interfaces the -i any capture also took, one hop each (read from the per-interface file while it ran): %s", n.Name, strings.Join(merged, ", ")))
	}
	c.joinCookedV1(inc, n.Name, infos, groups, caps)
	inc.Captures = append(inc.Captures, caps...)
	c.observability(inc, n, infos, groups)
}

// joinCookedV1 joins the capture points a node's Linux cooked v1 -i any
// captures tell apart by direction and link address (analyze's Cooked) to
// the node's per-interface captures, as captures joins an SLL2 capture's
// interfaces: each "interface" the frames leaving with one address stand
// for is the per-interface capture holding every one of them at the same
// instant (as aliasLive tests them), read from it while it ran (a Shadow)
// and named after it (IfNames, by analyze's index for it). An incoming
// frame says its sender's address, not its interface, and two sockets
// stamp it apart: frames coming in from one address are the interface
// whose capture alone, of the node's, holds them all within a millisecond,
// if it is an interface of the node's (a pod's own capture, which no frame
// leaving the node is in at its instant, is none), or, where a bridge's
// and its port's do, the port's (see below); otherwise they stay a point
// of their own ("n1-any:in from 0a:58:…"). Beside
// the realistic incident's per-interface captures, its tcpdump 4.9
// captures' "n1-any:out 0e:00:0a:f4:00:00" was flannel.1 seen again under
// another name, and the kernel's TTL drops were placed before it rather
// than before n1-flannel.1 (TestCookedV1AnyCaptures); underlay-loss's
// packets lost on the wire were placed before "n2-any:in from
// 02:00:c0:a8:01:0a", node-2's eth0 (TestLabCookedV1).
func (c *collector) joinCookedV1(inc *Incident, node string, infos []capInfo, groups [][]int, caps []analyze.Capture) {
	for _, a := range groups {
		if !infos[a[0]].cooked {
			continue
		}
		frames, addrs, until, ok := anyFrames(entriesOf(infos, a))
		if !ok || len(frames) == 0 {
			continue
		}
		names := map[int32]string{}
		var joined []string
		join := func(k int32, g []int, full []capInfo, point, dir string) {
			names[k] = point
			for _, w := range windowsOf(full) {
				for _, am := range a {
					stem := cmpOr(caps[am].Point, decode.Stem(caps[am].Path))
					caps[am].Shadows = append(caps[am].Shadows, analyze.Shadow{IfIndex: k, From: w.first, Until: w.last, By: infos[g[0]].e.path,
						Unjoined: analyze.CookedPoint(stem, dir == "out", addrs[k], caps[am].MACNames)})
				}
			}
			joined = append(joined, fmt.Sprintf("%s %s=%s", dir, addrs[k], point))
		}
		type capture struct {
			g     []int
			full  []capInfo
			point string
			live  liveFrames
			// outgoing: it holds the frames of an outgoing point at its
			// instants, an interface of the node's (a bridge's port holds
			// the frames the bridge sent through it, the point joined to
			// the bridge's capture, read first)
			outgoing bool
		}
		var ones []capture
		for _, g := range groups {
			ci := infos[g[0]]
			if ci.sll2 || ci.cooked || len(ci.ifaces) != 1 {
				continue
			}
			full := c.scanAll(infos, g)
			live, ok := framesOf(full, until)
			if !ok {
				continue
			}
			one := capture{g: g, full: full, point: cmpOr(caps[g[0]].Point, ci.stem), live: live}
			for _, k := range live.holding(frames, true, sameInstant) {
				if names[k] == "" {
					join(k, g, full, one.point, "out")
				}
				one.outgoing = true
			}
			ones = append(ones, one)
		}
		// An incoming point is the capture holding its frames within a
		// millisecond that is an interface of this capture's (holding
		// outgoing frames at their instants; a pod's own capture, which
		// holds what its pod sent, is none). Where several are, a bridge
		// and its port (the bridge takes in what its ports do), the port
		// holds those of fewer addresses: pod A's frames are its veth's,
		// which holds no other pod's, as the node's bridge forwarding
		// table says (TestLabCookedV1 …/beside); the bridge's copy of
		// them is read once, the port's, first (Cooked.Take). Joined so,
		// they were a hop of their own on pod A's paths ("poda-eth0 >
		// n1-any:in from 0a:58:0a:f4:00:05 > n1-veth-pod-a"). Where the
		// counts tie (a bridge of one port) they still are.
		in := map[int32][]int{}
		held := make([]int, len(ones))
		for i, one := range ones {
			for _, k := range one.live.holding(frames, false, nearInstant) {
				in[k] = append(in[k], i)
				held[i]++
			}
		}
		for k, is := range in {
			best, tie, n := -1, false, 0
			for _, i := range is {
				if !ones[i].outgoing {
					continue
				}
				n++
				switch {
				case best < 0 || held[i] < held[best]:
					best, tie = i, false
				case held[i] == held[best]:
					tie = true
				}
			}
			// One capture alone holding them, or the port of a bridge
			// both of which hold outgoing frames: a bridge whose port
			// holds none (its only pod's frames all pass the bridge
			// first) is not told from it.
			if best >= 0 && !tie && (len(is) == 1 || n > 1) && names[k] == "" {
				one := ones[best]
				join(k, one.g, one.full, one.point, "in from")
			}
		}
		if len(names) == 0 {
			continue
		}
		for _, am := range a {
			caps[am].IfNames = names
		}
		slices.Sort(joined)
		inc.Notes = append(inc.Notes, fmt.Sprintf("%s: per-interface captures holding the frames %s saw leave with a link address at the same instant (and those coming in from one, where one such capture alone holds them, or a bridge's port rather than the bridge), are that capture point (read from the per-interface file while it ran): %s", node, filesOf(infos, a), strings.Join(joined, ", ")))
	}
}

// windowsOf returns the spans a per-interface capture (its files, read
// through, in time order) covers, one per piece of its timeline, an edge at
// a step widened by stepEdgeSlack (as captures does for SLL2 captures, but
// for restarts: the frames of a cooked v1 capture say no interface to tell
// one by).
func windowsOf(full []capInfo) []span {
	var ws []span
	for j, ci := range full {
		for k, p := range ci.pieces {
			if k == 0 && j > 0 && len(ws) > 0 {
				ws[len(ws)-1].last = max(ws[len(ws)-1].last, p.last)
				continue
			}
			ws = append(ws, p)
		}
	}
	for k := range ws {
		if k > 0 {
			ws[k].first -= stepEdgeSlack
		}
		if k < len(ws)-1 {
			ws[k].last += stepEdgeSlack
		}
	}
	return ws
}

// restarts reports, for each file of a rotating capture (full, read
// through, in time order) but the first, whether the capture was stopped
// before it and started again: the -i any capture (its files anyFiles)
// holds packets of the capture's interface idx between it and the files
// before it, which the capture would have held had it run (tcpdump and
// dumpcap lose no packet switching files).
func restarts(full []capInfo, anyFiles []*entry, idx int32) []bool {
	if len(full) < 2 {
		return nil
	}
	var gaps []span // before each file but the first, from the end of the files before it
	end := int64(math.MinInt64)
	for j, ci := range full {
		ps := ci.pieces
		if j > 0 {
			gap := span{end, end} // nothing between, when the file is empty
			if len(ps) > 0 {
				gap.last = ps[0].first
			}
			gaps = append(gaps, gap)
		}
		if len(ps) > 0 {
			end = max(end, ps[len(ps)-1].last)
		}
	}
	return heldBetween(anyFiles, idx, gaps)
}

// rotations groups a node's captures by the rotating capture they belong
// to, each group's files in time order: files whose names differ only by
// the counter or time stamp the rotating tool adds (decode.Stem), read one
// after the other in time, are one capture, and a note says so. Files
// that share such a stem but overlap in time are not one capture: each
// keeps its own name (capInfo.stem), and a note says that too. Every other
// capture is a group of its own.
func (c *collector) rotations(inc *Incident, node string, infos []capInfo) [][]int {
	var groups [][]int
	byStem := map[string]int{} // the group of a stem, among single-interface captures
	for i, ci := range infos {
		if len(ci.ifaces) > 1 {
			groups = append(groups, []int{i})
			continue
		}
		k := ci.stem
		if ci.sll2 {
			k += "\x00any" // an -i any capture and an interface's never share one
		}
		if g, ok := byStem[k]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		byStem[k] = len(groups)
		groups = append(groups, []int{i})
	}
	var out [][]int
	for _, g := range groups {
		rotated := false
		for _, i := range g {
			_, plain := decode.StemOf(infos[i].e.name)
			rotated = rotated || plain != infos[i].stem
		}
		if len(g) < 2 || !rotated {
			c.sameNames(inc, node, infos, g)
			for _, i := range g {
				out = append(out, []int{i})
			}
			continue
		}
		full := make(map[int]capInfo, len(g))
		for _, i := range g {
			full[i] = c.inspect(infos[i].e, true)
		}
		slices.SortStableFunc(g, func(a, b int) int { return cmp.Compare(full[a].first, full[b].first) })
		overlap := ""
		latest := -1 // the file read so far that ends last
		for _, i := range g {
			if full[i].packets == 0 {
				continue
			}
			if latest >= 0 && full[i].first < full[latest].last-rotationSlack {
				overlap = fmt.Sprintf("%s and %s", infos[latest].e.name, infos[i].e.name)
				break
			}
			if latest < 0 || full[i].last > full[latest].last {
				latest = i
			}
		}
		names := make([]string, len(g))
		for k, i := range g {
			names[k] = infos[i].e.name
		}
		if overlap != "" {
			slices.Sort(names)
			for _, i := range g {
				_, infos[i].stem = decode.StemOf(infos[i].e.name)
				out = append(out, []int{i})
			}
			inc.Notes = append(inc.Notes, fmt.Sprintf("%s: %s are named as the files of one rotating capture, but %s overlap in time: each is a capture point of its own", node, strings.Join(names, ", "), overlap))
			continue
		}
		out = append(out, g)
		inc.Notes = append(inc.Notes, fmt.Sprintf("%s: %s are the files of one rotating capture, one after the other in time: one capture point, %s", node, strings.Join(names, ", "), infos[g[0]].stem))
	}
	return out
}

// sameNames tells apart the captures of group g, which share a stem and
// are no rotation, when they sit in different folders of the node: a
// pod's eth0.pcap in the node's poda/ beside the node's own eth0.pcap
// (kubectl debug and ksniff name a pod's capture after its interface).
// One capture point, they mixed two interfaces' packets in one hop. The
// files of the shallowest folder keep the stem; the others are named
// after their folder too ("poda/eth0"), and a note says so. Files of one
// folder sharing a stem (eth0.pcap and its conversion eth0.pcapng) are
// left as they are.
func (c *collector) sameNames(inc *Incident, node string, infos []capInfo, g []int) {
	dirOf := func(i int) string { return path.Dir(filepath.ToSlash(infos[i].e.path)) }
	dirs := map[string]bool{}
	top := -1
	for _, i := range g {
		dirs[dirOf(i)] = true
		if d := strings.Count(dirOf(i), "/"); top < 0 || d < top {
			top = d
		}
	}
	if len(dirs) < 2 {
		return
	}
	tops := map[string]bool{}
	for _, i := range g {
		if strings.Count(dirOf(i), "/") == top {
			tops[dirOf(i)] = true
		}
	}
	var renamed []string
	for _, i := range g {
		d := dirOf(i)
		if len(tops) == 1 && tops[d] {
			continue
		}
		infos[i].stem = path.Base(d) + "/" + infos[i].stem
		renamed = append(renamed, fmt.Sprintf("%s as %s", infos[i].e.path, infos[i].stem))
	}
	inc.Notes = append(inc.Notes, fmt.Sprintf("%s: captures named alike in different folders are different capture points: %s", node, strings.Join(renamed, ", ")))
}

// scanAll reads the files of group g through (capInfo.pieces).
func (c *collector) scanAll(infos []capInfo, g []int) []capInfo {
	full := make([]capInfo, len(g))
	for j, i := range g {
		full[j] = c.inspect(infos[i].e, true)
		full[j].stem = infos[i].stem
	}
	return full
}

// entriesOf returns the entries of group g.
func entriesOf(infos []capInfo, g []int) []*entry {
	es := make([]*entry, len(g))
	for j, i := range g {
		es[j] = infos[i].e
	}
	return es
}

// filesOf names the files of a group of captures.
func filesOf(infos []capInfo, g []int) string {
	names := make([]string, len(g))
	for k, i := range g {
		names[k] = infos[i].e.name
	}
	return strings.Join(names, ", ")
}

// rotationSlack is how far a rotating capture's file may start before the
// file before it ends: a capture's time stamps step back by some
// microseconds where several CPUs stamp (the lab's -i any captures by up
// to 115 µs; analyze's reorderSlack), and the rotation falls between
// any two packets.
const rotationSlack = int64(time.Millisecond)

// stepEdgeSlack widens a shadow window at a step of its capture's clock.
// Two captures of one interface stamp a packet apart by microseconds (the
// -i any copy of n2-eth0's first packet after the step back in
// TestClockStepInPause's drops incident: 1.7 µs earlier), and an -i any
// capture reorders by milliseconds (decode.StepBack); 10 ms holds both and
// is short beside the pause around a step the analysis reads.
const stepEdgeSlack = int64(10 * time.Millisecond)

// interfaceOf returns the interface a single-interface capture was taken
// on, when certain: the name its pcapng block gives (dumpcap), its file
// name when that is the name of one of the node's interfaces, or its file
// name after the prefix of the node's -i any capture ("n1-eth0.pcap" beside
// "n1-any.pcap").
func (c *collector) interfaceOf(ci capInfo, byName map[string]int32, prefixes map[string]bool) string {
	if len(ci.ifaces) == 1 {
		if name := ci.ifaces[0].Name; name != "" && name != "any" {
			return name
		}
	}
	stem := ci.stem
	if _, ok := byName[stem]; ok {
		return stem
	}
	// The longest prefix that names a known interface: ranging over the
	// map took the first in Go's random order, so two -i any captures
	// whose prefixes both fit ("n1-", "n1-b-") named the capture by chance.
	best, bestLen := "", -1
	for p := range prefixes {
		if p == "" || len(p) <= bestLen {
			continue
		}
		if name, ok := strings.CutPrefix(stem, p); ok {
			if _, known := byName[name]; known {
				best, bestLen = name, len(p)
			}
		}
	}
	return best
}

// gadgetFile reports whether a pcapng file is Inspektor Gadget's: its
// interfaces are described as k8s.node=...;k8s.podName=...
// (pkg/operators/cli/clioperator.go, ModePCAPNG; gadgets/tcpdump/gadget.yaml).
func gadgetFile(ifaces []decode.Interface) bool {
	for _, f := range ifaces {
		if strings.Contains(f.Description, "k8s.node=") {
			return true
		}
	}
	return false
}

// gadgetVars parses an Inspektor Gadget interface description: key=value
// pairs joined by ';', values query-escaped.
func gadgetVars(desc string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(desc, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		out[k] = v
	}
	return out
}

// gadget splits an Inspektor Gadget pcapng file into one capture per node,
// each keeping the interfaces of that node's pods. A pod's containers
// share its network namespace, so one interface per pod is read; the
// others hold the same packets.
func (c *collector) gadget(inc *Incident, e *entry, ci capInfo) {
	full := c.inspect(e, true)
	if full.packets > 1 && full.first == full.last {
		c.w.problemf("%s: all %d packets carry the same timestamp (%d ns): an Inspektor Gadget capture whose timestamps were lost cannot give hop order or latency; not analysed", e.path, full.packets, full.first)
		return
	}
	type podKey struct{ node, pod string }
	perNode := map[string]map[int]string{}
	taken := map[podKey][]int{}
	for i, f := range full.ifaces {
		v := gadgetVars(f.Description)
		node := v["k8s.node"]
		if node == "" {
			continue
		}
		pod := cmpOr(v["k8s.podName"], "host")
		k := podKey{node, pod}
		if len(taken[k]) > 0 && v["k8s.containerName"] != "" {
			// Another container of the same pod: the same namespace.
			continue
		}
		taken[k] = append(taken[k], i)
		name := pod
		if len(taken[k]) > 1 {
			name = fmt.Sprintf("%s#%d", pod, len(taken[k]))
		}
		if perNode[node] == nil {
			perNode[node] = map[int]string{}
		}
		perNode[node][i] = name
	}
	nodes := make([]string, 0, len(perNode))
	for n := range perNode {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		cp := captureOf(e, n)
		cp.Ifaces = perNode[n]
		inc.Captures = append(inc.Captures, cp)
		if c.nodes[n] == nil {
			c.node(n)
			inc.Nodes = append(inc.Nodes, c.nodes[n].node)
		}
	}
	inc.Notes = append(inc.Notes, fmt.Sprintf("%s: Inspektor Gadget capture split into %d nodes by its interface descriptions", e.path, len(nodes)))
}

// isPcapNG reports whether a capture is pcapng (plain or compressed).
func isPcapNG(e *entry) bool {
	f, err := openEntry(e)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Format == decode.FormatPcapNG
}
