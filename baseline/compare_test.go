package baseline

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

func tuple(src string, sport uint16, dst string, dport uint16) analyze.TupleJSON {
	return analyze.TupleJSON{Src: src, Dst: dst, SPort: sport, DPort: dport}
}

// tcpFlow is a replied TCP connection from pod A to pod C port 8080.
func tcpFlow(sport uint16, state string) analyze.Flow {
	return analyze.Flow{
		Proto: analyze.ProtoTCP, State: state, Assured: true, Packets: 10,
		Orig:  tuple("10.244.0.5", sport, "10.244.1.5", 8080),
		Reply: tuple("10.244.1.5", 8080, "10.244.0.5", sport),
	}
}

func path(sport uint16, dir analyze.Direction, hops ...string) analyze.Path {
	return analyze.Path{Flow: tuple("10.244.0.5", sport, "10.244.1.5", 8080), Proto: analyze.ProtoTCP, Direction: dir, Hops: hops, Packets: 5}
}

func hop(from, to string, p50, p90, p99 time.Duration) analyze.HopLatency {
	return analyze.HopLatency{From: from, To: to, Direction: analyze.DirOrig, Packets: 10, P50NS: int64(p50), P90NS: int64(p90), P99NS: int64(p99)}
}

func drop(sport uint16, reason analyze.DropReason, packets int) analyze.Drop {
	return analyze.Drop{From: "n1-cni0", To: "n1-flannel.1", Flow: tuple("10.244.0.5", sport, "10.244.1.5", 8080), Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Packets: packets, Reason: reason}
}

func mtu(sport uint16, kind analyze.MTUKind, mtu int) analyze.MTUFinding {
	return analyze.MTUFinding{Kind: kind, Hop: "n1-flannel.1", Flow: tuple("10.244.0.5", sport, "10.244.1.5", 8080), Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, MTU: mtu, Packets: 3}
}

// incident is two connections of one client to one service, captured at
// three hops; sport offsets the ephemeral ports, as a re-run would.
func incident(sport uint16) *analyze.Result {
	return &analyze.Result{
		Schema: analyze.SchemaVersion,
		Captures: []analyze.CaptureSummary{
			{Hop: "poda-eth0", Node: "node-1"}, {Hop: "n1-cni0", Node: "node-1"}, {Hop: "n1-flannel.1", Node: "node-1"},
		},
		Flows: []analyze.Flow{tcpFlow(sport, "TIME_WAIT"), tcpFlow(sport+1, "TIME_WAIT")},
		Paths: []analyze.Path{
			path(sport, analyze.DirOrig, "poda-eth0", "n1-cni0", "n1-flannel.1"),
			path(sport, analyze.DirReply, "n1-flannel.1", "n1-cni0", "poda-eth0"),
			path(sport+1, analyze.DirOrig, "poda-eth0", "n1-cni0", "n1-flannel.1"),
			path(sport+1, analyze.DirReply, "n1-flannel.1", "n1-cni0", "poda-eth0"),
		},
		Hops: []analyze.HopLatency{
			hop("poda-eth0", "n1-cni0", 5*time.Microsecond, 10*time.Microsecond, 20*time.Microsecond),
			hop("n1-cni0", "n1-flannel.1", 200*time.Microsecond, 400*time.Microsecond, time.Millisecond),
		},
		Drops: []analyze.Drop{drop(sport, analyze.DropUnknown, 2)},
		MTU:   []analyze.MTUFinding{mtu(sport, analyze.MTUFragmented, 1450)},
	}
}

func TestCompareSameIncidentIsEqual(t *testing.T) {
	assert.Empty(t, Compare(incident(40000), incident(40000), DefaultTolerances()).Changes)
}

func TestCompareOtherEphemeralPortsIsEqual(t *testing.T) {
	// A re-run of the scenario: every connection has other source ports.
	assert.Empty(t, Compare(incident(40000), incident(51000), DefaultTolerances()).Changes)
}

// change is a Change without its before and after, for short expectations.
type change struct {
	kind       Kind
	subject    string
	regression bool
}

func changes(d Diff) []change {
	var out []change
	for _, c := range d.Changes {
		out = append(out, change{c.Kind, c.Subject, c.Regression})
	}
	return out
}

func TestCompare(t *testing.T) {
	const flow8080 = "tcp 10.244.0.5 > 10.244.1.5:8080"
	tests := []struct {
		name   string
		edit   func(r *analyze.Result)
		tol    func(t *Tolerances)
		want   []change
		before string // of the first change, when given
		after  string
	}{
		{
			name: "more connections are reported, not a regression",
			edit: func(r *analyze.Result) { r.Flows = append(r.Flows, tcpFlow(1, "TIME_WAIT")) },
			want: []change{{KindFlow, flow8080, false}}, before: "2 connections", after: "3 connections",
		},
		{
			name: "new flow",
			edit: func(r *analyze.Result) {
				f := tcpFlow(1, "TIME_WAIT")
				f.Orig.DPort = 9090
				r.Flows = append(r.Flows, f)
			},
			want: []change{{KindFlow, "tcp 10.244.0.5 > 10.244.1.5:9090", true}}, before: "none", after: "1 connection",
		},
		{
			name: "new flow allowed",
			edit: func(r *analyze.Result) {
				f := tcpFlow(1, "TIME_WAIT")
				f.Orig.Dst = "10.244.1.6"
				r.Flows = append(r.Flows, f)
			},
			tol:  func(t *Tolerances) { t.FlowChanges = true },
			want: []change{{KindFlow, "tcp 10.244.0.5 > 10.244.1.6:8080", false}},
		},
		{
			name: "vanished flow; its paths are not listed again",
			edit: func(r *analyze.Result) { r.Flows, r.Paths = nil, nil },
			want: []change{{KindFlow, flow8080, true}}, before: "2 connections", after: "none",
		},
		{
			name: "new end state",
			edit: func(r *analyze.Result) {
				r.Flows[1].State = "SYN_SENT"
				r.Flows[1].Unreplied = true
			},
			want:   []change{{KindState, flow8080 + " state", true}},
			before: "none", after: "SYN_SENT [UNREPLIED]",
		},
		{
			name: "new end state allowed",
			edit: func(r *analyze.Result) { r.Flows[1].State = "ESTABLISHED" },
			tol:  func(t *Tolerances) { t.StateChanges = true },
			want: []change{{KindState, flow8080 + " state", false}},
		},
		{
			name: "an end state replaced",
			edit: func(r *analyze.Result) {
				for i := range r.Flows {
					r.Flows[i].State = "CLOSE"
				}
			},
			want:   []change{{KindState, flow8080 + " state", true}},
			before: "TIME_WAIT", after: "CLOSE",
		},
		{
			name: "new DNAT",
			edit: func(r *analyze.Result) {
				r.Flows[0].Reply.Src = "10.244.2.9"
				r.Flows[0].Reply.SPort = 80
			},
			want:   []change{{KindState, flow8080 + " nat", true}},
			before: "none", after: "dnat 10.244.1.5:8080 -> 10.244.2.9:80",
		},
		{
			name: "SNAT ports do not matter",
			edit: func(r *analyze.Result) {
				// both connections masqueraded to the node, one port each
				r.Flows[0].Reply.Dst, r.Flows[0].Reply.DPort = "192.168.1.1", 61000
				r.Flows[1].Reply.Dst, r.Flows[1].Reply.DPort = "192.168.1.1", 62000
			},
			want:   []change{{KindState, flow8080 + " nat", true}},
			before: "no nat", after: "snat 10.244.0.5 -> 192.168.1.1",
		},
		{
			name:   "path crosses another hop",
			edit:   func(r *analyze.Result) { r.Paths[0].Hops = []string{"poda-eth0", "n1-cni0", "n1-eth0"} },
			want:   []change{{KindPath, flow8080 + " orig", true}},
			before: "none", after: "crosses n1-eth0",
		},
		{
			name: "path change allowed",
			edit: func(r *analyze.Result) {
				r.Paths[0].Hops = []string{"poda-eth0", "n1-eth0"}
				r.Paths[2].Hops = []string{"poda-eth0", "n1-eth0"}
			},
			tol:    func(t *Tolerances) { t.PathChanges = true },
			want:   []change{{KindPath, flow8080 + " orig", false}},
			before: "crossed n1-cni0, n1-flannel.1", after: "crosses n1-eth0",
		},
		{
			name: "hop order alone is no change",
			edit: func(r *analyze.Result) { r.Paths[0].Hops = []string{"poda-eth0", "n1-flannel.1", "n1-cni0"} },
		},
		{
			name: "missing capture point",
			edit: func(r *analyze.Result) { r.Captures = r.Captures[:2] },
			want: []change{{KindCapture, "n1-flannel.1", true}},
		},
		{
			name: "new hop pair is reported, not a regression",
			edit: func(r *analyze.Result) {
				r.Hops = append(r.Hops, hop("n1-flannel.1", "n1-eth0", time.Microsecond, time.Microsecond, time.Microsecond))
			},
			want: []change{{KindHop, "n1-flannel.1 > n1-eth0 orig", false}},
		},
		{
			name: "latency beyond ratio and floor",
			edit: func(r *analyze.Result) { r.Hops[1].P99NS = int64(2 * time.Millisecond) },
			want: []change{{KindLatency, "n1-cni0 > n1-flannel.1 orig p99", true}}, before: "1ms", after: "2ms (x2.0)",
		},
		{
			name: "latency within ratio",
			edit: func(r *analyze.Result) { r.Hops[1].P90NS = int64(590 * time.Microsecond) },
		},
		{
			name: "latency below the floor",
			edit: func(r *analyze.Result) { r.Hops[0].P50NS = int64(80 * time.Microsecond) },
		},
		{
			name: "latency with a lower floor",
			edit: func(r *analyze.Result) { r.Hops[0].P50NS = int64(80 * time.Microsecond) },
			tol:  func(t *Tolerances) { t.LatencyFloor = 10 * time.Microsecond },
			want: []change{{KindLatency, "poda-eth0 > n1-cni0 orig p50", true}}, before: "5µs", after: "80µs (x16)",
		},
		{
			name: "latency with a larger ratio",
			edit: func(r *analyze.Result) { r.Hops[1].P99NS = int64(2 * time.Millisecond) },
			tol:  func(t *Tolerances) { t.LatencyRatio = 3 },
		},
		{
			name: "faster is reported, not a regression",
			edit: func(r *analyze.Result) { r.Hops[1].P50NS = int64(20 * time.Microsecond) },
			want: []change{{KindLatency, "n1-cni0 > n1-flannel.1 orig p50", false}}, before: "200µs", after: "20µs (x0.10)",
		},
		{
			name: "more drops",
			edit: func(r *analyze.Result) { r.Drops[0].Packets = 3 },
			want: []change{{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 unknown", true}}, before: "2 packets", after: "3 packets",
		},
		{
			name: "drops of two connections add up",
			edit: func(r *analyze.Result) {
				r.Drops = []analyze.Drop{drop(1, analyze.DropUnknown, 1), drop(2, analyze.DropUnknown, 1)}
			},
		},
		{
			name: "new drops within the allowance",
			edit: func(r *analyze.Result) { r.Drops = append(r.Drops, drop(1, analyze.DropTTL, 2)) },
			tol:  func(t *Tolerances) { t.NewDrops = 2 },
			want: []change{{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 ttl", false}},
		},
		{
			name: "new drops beyond the allowance",
			edit: func(r *analyze.Result) {
				r.Drops = append(r.Drops, drop(1, analyze.DropTTL, 2), drop(1, analyze.DropMTU, 1))
			},
			tol: func(t *Tolerances) { t.NewDrops = 2 },
			want: []change{
				{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 mtu", true},
				{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 ttl", true},
			},
		},
		{
			name: "capture gaps are not drops",
			edit: func(r *analyze.Result) { r.Drops = append(r.Drops, drop(1, analyze.DropCaptureGap, 5)) },
			want: []change{{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 capture-gap", false}},
		},
		{
			name: "fewer drops",
			edit: func(r *analyze.Result) { r.Drops = nil },
			want: []change{{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 unknown", false}}, before: "2 packets", after: "none",
		},
		{
			name: "new MTU finding",
			edit: func(r *analyze.Result) { r.MTU = append(r.MTU, mtu(1, analyze.MTUBlackhole, 1450)) },
			want: []change{{KindMTU, "blackhole at n1-flannel.1 " + flow8080 + " orig", true}}, before: "none", after: "mtu 1450, 3 packets",
		},
		{
			name: "new MTU finding allowed",
			edit: func(r *analyze.Result) { r.MTU = append(r.MTU, mtu(1, analyze.MTUBlackhole, 1450)) },
			tol:  func(t *Tolerances) { t.NewMTU = true },
			want: []change{{KindMTU, "blackhole at n1-flannel.1 " + flow8080 + " orig", false}},
		},
		{
			name: "MTU finding with another MTU",
			edit: func(r *analyze.Result) { r.MTU[0].MTU = 1400 },
			want: []change{{KindMTU, "fragmented at n1-flannel.1 " + flow8080 + " orig", true}}, before: "mtu 1450, 3 packets", after: "mtu 1400, 3 packets",
		},
		{
			name: "MTU packet count alone is no change",
			edit: func(r *analyze.Result) { r.MTU[0].Packets = 30 },
		},
		{
			name: "MTU finding gone",
			edit: func(r *analyze.Result) { r.MTU = nil },
			want: []change{{KindMTU, "fragmented at n1-flannel.1 " + flow8080 + " orig", false}},
		},
		{
			name: "input problems",
			edit: func(r *analyze.Result) { r.InputProblems = 1 },
			want: []change{{KindInput, "input problems", true}}, before: "0", after: "1",
		},
		{
			name: "regressions first",
			edit: func(r *analyze.Result) {
				r.Drops = nil
				r.Hops[1].P99NS = int64(5 * time.Millisecond)
			},
			want: []change{
				{KindLatency, "n1-cni0 > n1-flannel.1 orig p99", true},
				{KindDrop, flow8080 + " orig n1-cni0 > n1-flannel.1 unknown", false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tol := DefaultTolerances()
			if tt.tol != nil {
				tt.tol(&tol)
			}
			cur := incident(50000)
			tt.edit(cur)
			d := Compare(incident(40000), cur, tol)
			assert.Equal(t, tt.want, changes(d))
			if tt.before != "" {
				require.NotEmpty(t, d.Changes)
				assert.Equal(t, tt.before, d.Changes[0].Before)
				assert.Equal(t, tt.after, d.Changes[0].After)
			}
		})
	}
}

func TestCompareStateGoneIsTolerated(t *testing.T) {
	base := incident(40000)
	base.Flows[1].State = "SYN_SENT"
	d := Compare(base, incident(50000), DefaultTolerances())
	require.Len(t, d.Changes, 1)
	assert.Equal(t, Change{Kind: KindState, Subject: "tcp 10.244.0.5 > 10.244.1.5:8080 state", Before: "SYN_SENT", After: "none", Flow: "tcp 10.244.0.5 > 10.244.1.5:8080"}, d.Changes[0])
}

func TestLoad(t *testing.T) {
	res, err := Load(strings.NewReader(`{"schema":"hoptrace.analysis/v1","flows":[],"future_key":1}`))
	require.NoError(t, err)
	assert.Equal(t, analyze.SchemaVersion, res.Schema)

	_, err = Load(strings.NewReader(`{"schema":"hoptrace.analysis/v0"}`))
	assert.ErrorIs(t, err, ErrSchema)
	assert.ErrorContains(t, err, `"hoptrace.analysis/v0"`)

	_, err = Load(strings.NewReader(`{"packets":3}`))
	assert.ErrorIs(t, err, ErrSchema)

	_, err = Load(strings.NewReader(`not json`))
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrSchema)
}

// TestLoadV1NAT: a v1 baseline's "nat" string is read into the
// translations v2 writes; a v2 baseline's list is read as it is.
func TestLoadV1NAT(t *testing.T) {
	want := []analyze.NAT{{Type: analyze.DNAT, From: "192.168.1.11:30080", To: "10.244.0.5:8080"}, {Type: analyze.SNAT, From: "192.168.1.100:59846", To: "10.244.1.0:57252"}}
	res, err := Load(strings.NewReader(`{"schema":"hoptrace.analysis/v1","flows":[` +
		`{"proto":"tcp","packets":3,"nat":"dnat 192.168.1.11:30080 -> 10.244.0.5:8080, snat 192.168.1.100:59846 -> 10.244.1.0:57252"},` +
		`{"proto":"udp","packets":2}]}`))
	require.NoError(t, err)
	assert.Equal(t, analyze.SchemaVersion, res.Schema)
	require.Len(t, res.Flows, 2)
	assert.Equal(t, want, res.Flows[0].NAT)
	assert.Equal(t, 3, res.Flows[0].Packets, "the rest of the flow is read too")
	assert.Empty(t, res.Flows[1].NAT)

	res, err = Load(strings.NewReader(`{"schema":"hoptrace.analysis/v2","flows":[{"proto":"tcp","nat":[` +
		`{"type":"dnat","from":"192.168.1.11:30080","to":"10.244.0.5:8080"},{"type":"snat","from":"192.168.1.100:59846","to":"10.244.1.0:57252"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, want, res.Flows[0].NAT)

	_, err = Load(strings.NewReader(`{"schema":"hoptrace.analysis/v1","flows":[{"proto":"tcp"},{"proto":"tcp","nat":"dnat somewhere"}]}`))
	assert.ErrorContains(t, err, "flow 1")
	// Each schema's own shape only.
	_, err = Load(strings.NewReader(`{"schema":"hoptrace.analysis/v2","flows":[{"proto":"tcp","nat":"dnat 10.0.0.1:80 -> 10.0.0.2:80"}]}`))
	assert.Error(t, err)
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	require.NoError(t, WriteText(&b, Diff{}))
	assert.Empty(t, b.String())

	d := Diff{Changes: []Change{
		{Kind: KindDrop, Subject: "tcp a > b:80 orig x > y unknown", Before: "none", After: "3 packets", Regression: true},
		{Kind: KindFlow, Subject: "tcp a > b:80", Before: "2 connections", After: "3 connections"},
	}}
	require.NoError(t, WriteText(&b, d))
	assert.Equal(t, `REGRESSIONS (1)
  KIND  SUBJECT                          BEFORE  AFTER
  drop  tcp a > b:80 orig x > y unknown  none    3 packets

TOLERATED (1)
  KIND  SUBJECT       BEFORE         AFTER
  flow  tcp a > b:80  2 connections  3 connections
`, b.String())
}

// TestJoinedNames: a baseline written before a per-interface capture was
// joined to the -i any capture's view of its interface (two names, a hop
// pair between them, a drop placed at the -i any name) compares equal to
// the analysis that joins them, which lists the old name in also_points;
// the baseline itself is left as it was.
func TestJoinedNames(t *testing.T) {
	base := &analyze.Result{
		Captures: []analyze.CaptureSummary{{Hop: "n1-any:if3", Node: "node-1"}, {Hop: "n1-cni0", Node: "node-1"}, {Hop: "n1-flannel.1", Node: "node-1"}},
		Flows:    []analyze.Flow{tcpFlow(40000, "TIME_WAIT")},
		Paths:    []analyze.Path{path(40000, analyze.DirOrig, "n1-any:if3", "n1-cni0", "n1-flannel.1")},
		Hops: []analyze.HopLatency{
			hop("n1-any:if3", "n1-cni0", time.Microsecond, time.Microsecond, time.Microsecond),
			hop("n1-cni0", "n1-flannel.1", 5*time.Microsecond, 6*time.Microsecond, 7*time.Microsecond),
			hop("n1-any:if3", "n1-flannel.1", 5*time.Microsecond, 6*time.Microsecond, 7*time.Microsecond),
		},
		Drops: []analyze.Drop{drop(40000, analyze.DropUnknown, 2)},
	}
	base.Drops[0].From = "n1-any:if3"
	cur := &analyze.Result{
		Captures: []analyze.CaptureSummary{{Hop: "n1-cni0", Node: "node-1", AlsoPoints: []string{"n1-any:if3"}}, {Hop: "n1-flannel.1", Node: "node-1"}},
		Flows:    []analyze.Flow{tcpFlow(40000, "TIME_WAIT")},
		Paths:    []analyze.Path{path(40000, analyze.DirOrig, "n1-cni0", "n1-flannel.1")},
		Hops:     []analyze.HopLatency{hop("n1-cni0", "n1-flannel.1", 5*time.Microsecond, 6*time.Microsecond, 7*time.Microsecond)},
		Drops:    []analyze.Drop{drop(40000, analyze.DropUnknown, 2)},
	}
	d := Compare(base, cur, DefaultTolerances())
	assert.Empty(t, d.Changes)
	assert.Equal(t, "n1-any:if3", base.Captures[0].Hop, "the baseline is not changed")
	assert.Equal(t, "n1-any:if3", base.Drops[0].From)
	assert.Equal(t, []string{"n1-any:if3", "n1-cni0", "n1-flannel.1"}, base.Paths[0].Hops)

	// Without also_points the old names are changes.
	cur.Captures[0].AlsoPoints = nil
	assert.NotEmpty(t, Compare(base, cur, DefaultTolerances()).Regressions())
}
