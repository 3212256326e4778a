package baseline

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
)

// Kind names what a change is about.
type Kind string

// The kinds of change, in the order a diff lists them.
const (
	KindInput   Kind = "input"   // input problems of the captures
	KindCapture Kind = "capture" // a capture point
	KindFlow    Kind = "flow"    // a flow (all connections of one service key)
	KindState   Kind = "state"   // the conntrack states or NAT of a flow
	KindPath    Kind = "path"    // the hops one direction of a flow crossed
	KindHop     Kind = "hop"     // a consecutive hop pair
	KindDrop    Kind = "drop"    // packets lost between two hops
	KindMTU     Kind = "mtu"     // an MTU or fragmentation finding
	KindLatency Kind = "latency" // a hop pair's latency percentile
)

var kindOrder = []Kind{KindInput, KindCapture, KindFlow, KindState, KindPath, KindHop, KindDrop, KindMTU, KindLatency}

// Change is one difference between the baseline and the current analysis.
// Before and After are short human-readable values; "none" means absent.
type Change struct {
	Kind       Kind   `json:"kind"`
	Subject    string `json:"subject"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Regression bool   `json:"regression"`
	// Flow and HopPair name the flow (as Diff.Flows lists it) or hop pair
	// (as Diff.HopPairs) the change is about, when it is about one.
	Flow    string `json:"flow,omitempty"`
	HopPair string `json:"hop_pair,omitempty"`
}

// Diff is every change found, regressions first, then by kind and subject.
// An empty Diff means the analyses agree on everything compared.
type Diff struct {
	Changes []Change `json:"changes"`
	// Flows and HopPairs are everything compared, in either analysis, for
	// reports that list what passed as well as what changed (JUnit).
	Flows    []string `json:"flows"`
	HopPairs []string `json:"hop_pairs"`
}

// Regressions returns the changes the tolerances do not allow.
func (d Diff) Regressions() []Change {
	var out []Change
	for _, c := range d.Changes {
		if c.Regression {
			out = append(out, c)
		}
	}
	return out
}

// Tolerated returns the changes the tolerances allow.
func (d Diff) Tolerated() []Change {
	var out []Change
	for _, c := range d.Changes {
		if !c.Regression {
			out = append(out, c)
		}
	}
	return out
}

const none = "none"

// Compare compares the current analysis with a baseline. Things are
// matched by identity, never by position: a flow by protocol, source and
// destination address and destination port, so the connections of one
// client-to-service conversation are one flow whatever ephemeral source
// ports they used (ICMP echo: protocol and addresses); a hop pair by
// from, to and direction; a drop by hops, flow, direction and reason; an
// MTU finding by kind, hop, flow and direction. Counts that vary from one
// capture of a scenario to the next (connections, packets) are reported
// but never regressions, so the same incident re-analysed compares equal
// and a re-capture of the same scenario compares sensibly.
func Compare(base, cur *analyze.Result, tol Tolerances) Diff {
	var d Diff
	base = joinedNames(base, cur)
	compareInput(&d, base, cur)
	compareCaptures(&d, base, cur, tol)
	bf, cf := groupFlows(base), groupFlows(cur)
	compareFlows(&d, bf, cf, tol)
	comparePaths(&d, base, cur, bf, cf, tol)
	compareHops(&d, base, cur, tol)
	compareDrops(&d, base, cur, tol)
	compareMTU(&d, base, cur, tol)
	slices.SortStableFunc(d.Changes, func(a, b Change) int {
		if a.Regression != b.Regression {
			if a.Regression {
				return -1
			}
			return 1
		}
		return cmp.Or(
			cmp.Compare(slices.Index(kindOrder, a.Kind), slices.Index(kindOrder, b.Kind)),
			strings.Compare(a.Subject, b.Subject),
		)
	})
	return d
}

func compareInput(d *Diff, base, cur *analyze.Result) {
	b, c := base.InputProblems, cur.InputProblems
	if b == c {
		return
	}
	d.Changes = append(d.Changes, Change{
		Kind: KindInput, Subject: "input problems",
		Before: fmt.Sprint(b), After: fmt.Sprint(c),
		Regression: c > b,
	})
}

func compareCaptures(d *Diff, base, cur *analyze.Result, tol Tolerances) {
	hops := func(r *analyze.Result) *keyed[string, bool] {
		m := &keyed[string, bool]{}
		for _, c := range r.Captures {
			m.set(c.Hop, true)
		}
		return m
	}
	b, c := hops(base), hops(cur)
	for _, h := range union(b, c) {
		if b.at(h) == c.at(h) {
			continue
		}
		ch := Change{Kind: KindCapture, Subject: h, Before: "captured", After: none, Regression: !tol.PathChanges}
		if c.at(h) {
			ch.Before, ch.After = none, "captured"
		}
		d.Changes = append(d.Changes, ch)
	}
}

// flowKey identifies a flow across runs: what stays the same when a client
// reconnects. For ICMP echo DPort is 0.
type flowKey struct {
	proto    analyze.Proto
	src, dst string
	dport    uint16
}

func keyOf(proto analyze.Proto, t analyze.TupleJSON) flowKey {
	return flowKey{proto: proto, src: t.Src, dst: t.Dst, dport: t.DPort}
}

func (k flowKey) String() string {
	if k.proto.HasPorts() {
		return fmt.Sprintf("%s %s > %s", k.proto, k.src, endpoint(k.dst, k.dport))
	}
	return fmt.Sprintf("%s %s > %s", k.proto, k.src, k.dst)
}

func endpoint(addr string, port uint16) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a, port).String()
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// flowGroup is every connection of one flow key.
type flowGroup struct {
	conns  int
	states keyed[string, bool]
	nat    keyed[string, bool]
}

func groupFlows(r *analyze.Result) *keyed[flowKey, *flowGroup] {
	m := &keyed[flowKey, *flowGroup]{}
	for _, f := range r.Flows {
		if f.Tunnel != "" {
			continue // carriers follow the pod flows they carry
		}
		k := keyOf(f.Proto, f.Orig)
		g := m.at(k)
		if g == nil {
			g = &flowGroup{}
			m.set(k, g)
		}
		g.conns++
		g.states.set(flowState(f), true)
		g.nat.set(natOf(f), true)
	}
	return m
}

// flowState is a flow's end state as conntrack -L would show it.
func flowState(f analyze.Flow) string {
	s := f.State
	switch {
	case f.Unreplied:
		s = strings.TrimSpace(s + " [UNREPLIED]")
	case s == "":
		s = "replied"
	}
	return s
}

// natOf describes a flow's translation without its ephemeral ports: the
// source port an SNAT picks changes with every connection.
func natOf(f analyze.Flow) string {
	o, r := f.Orig, f.Reply
	var parts []string
	if r.Src != o.Dst || (f.Proto.HasPorts() && r.SPort != o.DPort) {
		if f.Proto.HasPorts() {
			parts = append(parts, fmt.Sprintf("dnat %s -> %s", endpoint(o.Dst, o.DPort), endpoint(r.Src, r.SPort)))
		} else {
			parts = append(parts, fmt.Sprintf("dnat %s -> %s", o.Dst, r.Src))
		}
	}
	if r.Dst != o.Src {
		parts = append(parts, fmt.Sprintf("snat %s -> %s", o.Src, r.Dst))
	}
	if len(parts) == 0 {
		return "no nat"
	}
	return strings.Join(parts, ", ")
}

func compareFlows(d *Diff, bf, cf *keyed[flowKey, *flowGroup], tol Tolerances) {
	for _, k := range union(bf, cf) {
		b, c := bf.at(k), cf.at(k)
		fl := k.String()
		d.Flows = append(d.Flows, fl)
		switch {
		case c == nil:
			d.Changes = append(d.Changes, Change{Kind: KindFlow, Subject: fl, Before: conns(b.conns), After: none, Regression: !tol.FlowChanges, Flow: fl})
			continue
		case b == nil:
			d.Changes = append(d.Changes, Change{Kind: KindFlow, Subject: fl, Before: none, After: conns(c.conns), Regression: !tol.FlowChanges, Flow: fl})
			continue
		}
		if b.conns != c.conns {
			d.Changes = append(d.Changes, Change{Kind: KindFlow, Subject: fl, Before: conns(b.conns), After: conns(c.conns), Flow: fl})
		}
		if ch, ok := setChange(KindState, fl+" state", &b.states, &c.states, !tol.StateChanges); ok {
			ch.Flow = fl
			d.Changes = append(d.Changes, ch)
		}
		if ch, ok := setChange(KindState, fl+" nat", &b.nat, &c.nat, !tol.StateChanges); ok {
			ch.Flow = fl
			d.Changes = append(d.Changes, ch)
		}
	}
}

func conns(n int) string {
	if n == 1 {
		return "1 connection"
	}
	return fmt.Sprintf("%d connections", n)
}

// setChange reports a change between two sets of values: before lists
// what only the baseline has, after what only the current analysis has. A
// value only the current analysis has is a regression when strict.
func setChange(kind Kind, subject string, b, c *keyed[string, bool], strict bool) (Change, bool) {
	var gone, added []string
	for _, v := range union(b, c) {
		switch {
		case !c.at(v):
			gone = append(gone, v)
		case !b.at(v):
			added = append(added, v)
		}
	}
	if gone == nil && added == nil {
		return Change{}, false
	}
	list := func(vs []string) string {
		if vs == nil {
			return none
		}
		return strings.Join(vs, "; ")
	}
	return Change{Kind: kind, Subject: subject, Before: list(gone), After: list(added), Regression: strict && added != nil}, true
}

type pathKey struct {
	flow      flowKey
	direction analyze.Direction
}

// comparePaths compares, per flow and direction, the hops its packets
// crossed. The order is left out: taps that see a packet at the same
// kernel timestamp (a device and "tcpdump -i any") are ordered differently
// from one capture to the next, while traffic that really goes another
// way crosses other hops.
func comparePaths(d *Diff, base, cur *analyze.Result, bf, cf *keyed[flowKey, *flowGroup], tol Tolerances) {
	paths := func(r *analyze.Result) *keyed[pathKey, *keyed[string, bool]] {
		m := &keyed[pathKey, *keyed[string, bool]]{}
		for _, p := range r.Paths {
			k := pathKey{keyOf(p.Proto, p.Flow), p.Direction}
			hs := m.at(k)
			if hs == nil {
				hs = &keyed[string, bool]{}
				m.set(k, hs)
			}
			for _, h := range p.Hops {
				hs.set(h, true)
			}
		}
		return m
	}
	bp, cp := paths(base), paths(cur)
	for _, k := range union(bp, cp) {
		if bf.at(k.flow) == nil || cf.at(k.flow) == nil {
			continue // the flow itself appeared or disappeared
		}
		b, c := bp.at(k), cp.at(k)
		var gone, added []string
		for _, h := range union(b, c) {
			switch {
			case !c.at(h):
				gone = append(gone, h)
			case !b.at(h):
				added = append(added, h)
			}
		}
		if gone == nil && added == nil {
			continue
		}
		hops := func(hs []string, verb string) string {
			if hs == nil {
				return none
			}
			return verb + " " + strings.Join(hs, ", ")
		}
		d.Changes = append(d.Changes, Change{
			Kind: KindPath, Subject: k.flow.String() + " " + k.direction.String(),
			Before: hops(gone, "crossed"), After: hops(added, "crosses"),
			Regression: !tol.PathChanges, Flow: k.flow.String(),
		})
	}
}

type hopKey struct {
	from, to  string
	direction analyze.Direction
}

func (k hopKey) String() string { return fmt.Sprintf("%s > %s %s", k.from, k.to, k.direction) }

// compareHops reports hop pairs that appeared or vanished (tolerated: the
// paths say whether traffic went another way) and latency growth.
func compareHops(d *Diff, base, cur *analyze.Result, tol Tolerances) {
	hops := func(r *analyze.Result) *keyed[hopKey, analyze.HopLatency] {
		m := &keyed[hopKey, analyze.HopLatency]{}
		for _, h := range r.Hops {
			m.set(hopKey{h.From, h.To, h.Direction}, h)
		}
		return m
	}
	bh, chops := hops(base), hops(cur)
	ratio := max(tol.LatencyRatio, 1)
	floor := int64(tol.LatencyFloor)
	for _, k := range union(bh, chops) {
		b, inB := bh.get(k)
		c, inC := chops.get(k)
		d.HopPairs = append(d.HopPairs, k.String())
		switch {
		case !inC:
			d.Changes = append(d.Changes, Change{Kind: KindHop, Subject: k.String(), Before: packets(b.Packets), After: none, HopPair: k.String()})
			continue
		case !inB:
			d.Changes = append(d.Changes, Change{Kind: KindHop, Subject: k.String(), Before: none, After: packets(c.Packets), HopPair: k.String()})
			continue
		}
		for _, p := range []struct {
			name string
			b, c int64
		}{{"p50", b.P50NS, c.P50NS}, {"p90", b.P90NS, c.P90NS}, {"p99", b.P99NS, c.P99NS}} {
			grew := p.c-p.b > floor && float64(p.c) > float64(p.b)*ratio
			shrank := p.b-p.c > floor && float64(p.b) > float64(p.c)*ratio
			if !grew && !shrank {
				continue
			}
			d.Changes = append(d.Changes, Change{
				Kind: KindLatency, Subject: k.String() + " " + p.name, HopPair: k.String(),
				Before: time.Duration(p.b).String(), After: time.Duration(p.c).String() + factor(p.b, p.c),
				Regression: grew,
			})
		}
	}
}

func factor(b, c int64) string {
	if b <= 0 {
		return ""
	}
	f := float64(c) / float64(b)
	switch {
	case f >= 10:
		return fmt.Sprintf(" (x%.0f)", f)
	case f >= 1:
		return fmt.Sprintf(" (x%.1f)", f)
	}
	return fmt.Sprintf(" (x%.2f)", f)
}

func packets(n int) string {
	if n == 1 {
		return "1 packet"
	}
	return fmt.Sprintf("%d packets", n)
}

type dropKey struct {
	from, to  string
	flow      flowKey
	direction analyze.Direction
	reason    analyze.DropReason
}

func (k dropKey) String() string {
	return fmt.Sprintf("%s %s %s > %s %s", k.flow, k.direction, k.from, k.to, k.reason)
}

// compareDrops compares dropped packets per drop key. Packets dropped
// beyond the baseline's, summed over all keys, are regressions when they
// exceed tol.NewDrops; capture gaps (a later hop saw the packets after
// all) are reported and never counted.
func compareDrops(d *Diff, base, cur *analyze.Result, tol Tolerances) {
	drops := func(r *analyze.Result) *keyed[dropKey, int] {
		m := &keyed[dropKey, int]{}
		for _, x := range r.Drops {
			k := dropKey{x.From, x.To, keyOf(x.Proto, x.Flow), x.Direction, x.Reason}
			m.set(k, m.at(k)+x.Packets)
		}
		return m
	}
	bd, cd := drops(base), drops(cur)
	keys := union(bd, cd)
	added := 0
	for _, k := range keys {
		if k.reason != analyze.DropCaptureGap && cd.at(k) > bd.at(k) {
			added += cd.at(k) - bd.at(k)
		}
	}
	for _, k := range keys {
		b, c := bd.at(k), cd.at(k)
		if b == c {
			continue
		}
		count := func(n int) string {
			if n == 0 {
				return none
			}
			return packets(n)
		}
		d.Changes = append(d.Changes, Change{
			Kind: KindDrop, Subject: k.String(), Before: count(b), After: count(c), Flow: k.flow.String(),
			Regression: c > b && k.reason != analyze.DropCaptureGap && added > tol.NewDrops,
		})
	}
}

type mtuKey struct {
	kind      analyze.MTUKind
	hop       string
	flow      flowKey
	direction analyze.Direction
}

func (k mtuKey) String() string {
	return fmt.Sprintf("%s at %s %s %s", k.kind, k.hop, k.flow, k.direction)
}

type mtuAgg struct {
	mtus    keyed[int, bool]
	packets int
}

func (a *mtuAgg) String() string {
	if a == nil {
		return none
	}
	mtus := slices.Sorted(slices.Values(a.mtus.keys))
	s := make([]string, len(mtus))
	for i, m := range mtus {
		s[i] = fmt.Sprint(m)
	}
	return fmt.Sprintf("mtu %s, %s", strings.Join(s, "/"), packets(a.packets))
}

// compareMTU reports MTU findings that appeared, vanished or name another
// MTU; packet counts alone are not changes.
func compareMTU(d *Diff, base, cur *analyze.Result, tol Tolerances) {
	findings := func(r *analyze.Result) *keyed[mtuKey, *mtuAgg] {
		m := &keyed[mtuKey, *mtuAgg]{}
		for _, f := range r.MTU {
			k := mtuKey{f.Kind, f.Hop, keyOf(f.Proto, f.Flow), f.Direction}
			a := m.at(k)
			if a == nil {
				a = &mtuAgg{}
				m.set(k, a)
			}
			a.mtus.set(f.MTU, true)
			a.packets += f.Packets
		}
		return m
	}
	bm, cm := findings(base), findings(cur)
	for _, k := range union(bm, cm) {
		b, c := bm.at(k), cm.at(k)
		if b != nil && c != nil && maps.Equal(b.mtus.m, c.mtus.m) {
			continue
		}
		d.Changes = append(d.Changes, Change{
			Kind: KindMTU, Subject: k.String(), Before: b.String(), After: c.String(), Flow: k.flow.String(),
			Regression: c != nil && !tol.NewMTU,
		})
	}
}

// union returns the keys of both maps, in a stable order.
func union[K comparable, V any](a, b *keyed[K, V]) []K {
	var keys []K
	if a != nil {
		keys = slices.Clone(a.keys)
	}
	if b != nil {
		for _, k := range b.keys {
			if !a.has(k) {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(x, y K) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	return keys
}

// keyed is a map that keeps its keys in the order they were first set,
// for union to list. Go ranges over a map in a new order every run, and
// union sorted the keys in the order ranging gave them: the sort's work,
// and with it the coverage the fuzzer measures, changed from one run of
// the same input to the next. The zero value is empty and ready to use; a
// nil *keyed reads as empty.
type keyed[K comparable, V any] struct {
	m    map[K]V
	keys []K
}

// get returns the value of k and whether k is set.
func (s *keyed[K, V]) get(k K) (V, bool) {
	if s == nil {
		var zero V
		return zero, false
	}
	v, ok := s.m[k]
	return v, ok
}

// at returns the value of k, the zero value when it is not set.
func (s *keyed[K, V]) at(k K) V {
	v, _ := s.get(k)
	return v
}

func (s *keyed[K, V]) has(k K) bool {
	_, ok := s.get(k)
	return ok
}

func (s *keyed[K, V]) set(k K, v V) {
	if s.m == nil {
		s.m = make(map[K]V)
	}
	if _, ok := s.m[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.m[k] = v
}
