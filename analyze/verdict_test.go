package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// twoNodes builds a flannel VXLAN incident, pod A on node-1 to pod C on
// node-2, captured at every hop, one file per hop. Packets are sent with
// send; each crosses the hops of its direction up to (not including) cut,
// 10 µs per hop, with its TTL decremented where a node routes it (into
// the tunnel device, out of the bridge) and VXLAN around it on the nodes'
// eth0. Every capture also carries real-node noise for its whole span.
type twoNodes struct {
	frames map[string][]tsFrame // by node/hop
	id     uint16
	// offset is added to the timestamps of a node's captures: its clock
	// minus true time.
	offset map[string]time.Duration
	// extra are captures at hops off the pod-to-pod path, by node/hop.
	extra map[string][]tsFrame
}

// hopsOrig lists the hops pod A → pod C, with whether a router precedes
// them and whether they see the packet in VXLAN.
var hopsOrig = []struct {
	node, hop     string
	routed, vxlan bool
}{
	{"node-1", "poda-eth0", false, false},
	{"node-1", "n1-cni0", false, false},
	{"node-1", "n1-flannel.1", true, false},
	{"node-1", "n1-eth0", false, true},
	{"node-2", "n2-eth0", false, true},
	{"node-2", "n2-flannel.1", false, false},
	{"node-2", "n2-cni0", true, false},
	{"node-2", "podc-eth0", false, false},
}

func newTwoNodes() *twoNodes {
	return &twoNodes{frames: map[string][]tsFrame{}, id: 1, offset: map[string]time.Duration{}, extra: map[string][]tsFrame{}}
}

// send puts one packet on the path at time at: inner builds its IP packet
// for a TTL; reply sends it pod C → pod A. It crosses hops [0, cut).
func (n *twoNodes) send(at time.Duration, reply bool, ttl uint8, inner func(ttl uint8, id uint16) []byte, cut int) {
	n.id++
	order := make([]int, len(hopsOrig))
	for i := range order {
		order[i] = i
		if reply {
			order[i] = len(hopsOrig) - 1 - i
		}
	}
	for step, i := range order[:cut] {
		h := hopsOrig[i]
		// A router precedes the hop going forward; going back, it
		// precedes the hop after it.
		if !reply && h.routed || reply && step > 0 && hopsOrig[order[step-1]].routed {
			ttl--
		}
		frame := frametest.Eth(0x0800, inner(ttl, n.id))
		if h.vxlan {
			src, dst := "192.168.1.10", "192.168.1.11"
			if reply {
				src, dst = dst, src
			}
			frame = frametest.Eth(0x0800, frametest.IP4(src, dst, 17, frametest.UDP(40001, 8472, frametest.VXLAN(1, frame)), frametest.IP4Opt{TTL: 64, ID: n.id}))
		}
		k := h.node + "/" + h.hop
		n.frames[k] = append(n.frames[k], tsFrame{at + time.Duration(step)*10*time.Microsecond, frame})
	}
}

// write writes the captures, each with noise from start to end (unless
// the hop is listed in quiet, which gets only its packets).
func (n *twoNodes) write(t *testing.T, start, end time.Duration, quiet ...string) []Capture {
	return n.writeNodes(t, start, map[string]time.Duration{"node-1": end, "node-2": end}, quiet...)
}

// writeNodes is write with an end of noise per node.
func (n *twoNodes) writeNodes(t *testing.T, start time.Duration, ends map[string]time.Duration, quiet ...string) []Capture {
	dir := t.TempDir()
	var caps []Capture
	for _, h := range hopsOrig {
		k := h.node + "/" + h.hop
		f := n.frames[k]
		isQuiet := false
		for _, q := range quiet {
			isQuiet = isQuiet || q == k
		}
		if !isQuiet {
			end := ends[h.node]
			f = append(f, noise(start, (end-start)/8, 9)...)
		}
		caps = append(caps, writeCapture(t, dir, h.node, h.hop, shift(sortFrames(f), n.offset[h.node])))
	}
	for k, f := range n.extra {
		node, hop, _ := strings.Cut(k, "/")
		f = append(f, noise(start, (ends[node]-start)/8, 9)...)
		caps = append(caps, writeCapture(t, dir, node, hop, shift(sortFrames(f), n.offset[node])))
	}
	return caps
}

// shift moves frames by a clock offset.
func shift(f []tsFrame, by time.Duration) []tsFrame {
	for i := range f {
		f[i].at += by
	}
	return f
}

const podA, podC = "10.244.0.5", "10.244.1.5"

func udpTo(dport uint16, size int, df bool) func(uint8, uint16) []byte {
	return func(ttl uint8, id uint16) []byte {
		return frametest.IP4(podA, podC, 17, frametest.UDP(40000, dport, make([]byte, size)), frametest.IP4Opt{TTL: ttl, ID: id, DF: df})
	}
}

func udpBack(sport uint16, size int) func(uint8, uint16) []byte {
	return func(ttl uint8, id uint16) []byte {
		return frametest.IP4(podC, podA, 17, frametest.UDP(sport, 40000, make([]byte, size)), frametest.IP4Opt{TTL: ttl, ID: id, DF: true})
	}
}

func analyzeCaps(t *testing.T, caps []Capture) *Result {
	t.Helper()
	res, err := Analyze(caps, Options{})
	require.NoError(t, err)
	return res
}

// dropsOf returns the drops of the flow to dport.
func dropsOf(res *Result, dport uint16) []Drop {
	var out []Drop
	for _, d := range res.Drops {
		if d.Flow.DPort == dport {
			out = append(out, d)
		}
	}
	return out
}

// TestDropReasonEvidence: mtu and ttl are given only with their evidence.
func TestDropReasonEvidence(t *testing.T) {
	ms := time.Millisecond
	n := newTwoNodes()
	// Flow 9000: small request/reply pairs, all delivered; each shows the
	// TTL drop across the routers.
	for i := range 10 {
		n.send(time.Duration(i)*10*ms, false, 64, udpTo(9000, 100, true), len(hopsOrig))
		n.send(time.Duration(i)*10*ms+ms, true, 64, udpBack(9000, 100), len(hopsOrig))
	}
	// Flow 9001: DF datagrams of 1472 bytes (1500-byte packets) fit the
	// pods' MTU but not the tunnel (1450): they vanish before flannel.1;
	// smaller ones pass. No frag-needed was captured, but nothing of
	// that size ever crossed: mtu.
	for i := range 5 {
		n.send(time.Duration(i)*10*ms+2*ms, false, 64, udpTo(9001, 1200, true), len(hopsOrig))
		n.send(time.Duration(i)*10*ms+3*ms, false, 64, udpTo(9001, 1472, true), 2)
	}
	// Flow 9002: 1500-byte DF packets that cross (the path carries them),
	// and some of the same size that vanish at the same place: a firewall,
	// not the MTU.
	for i := range 6 {
		cut := len(hopsOrig)
		if i%2 == 1 {
			cut = 2
		}
		n.send(time.Duration(i)*10*ms+4*ms, false, 64, udpTo(9002, 1472, true), cut)
	}
	// Flow 9003: TTL 1 from the pod: vanishes at the router after cni0:
	// ttl. Flow 9004: TTL 1 that vanishes on the bridge (pod eth0 to
	// cni0), where nothing routes it: not ttl.
	n.send(5*ms, false, 1, udpTo(9003, 50, false), 2)
	n.send(6*ms, false, 1, udpTo(9004, 50, false), 1)
	n.send(7*ms, false, 64, udpTo(9004, 50, false), len(hopsOrig)) // shows 9004's path
	caps := n.write(t, -10*ms, 110*ms)
	res := analyzeCaps(t, caps)

	for _, d := range res.Drops {
		t.Logf("drop %s>%s %d %s %d", d.From, d.To, d.Flow.DPort, d.Reason, d.Packets)
	}
	assert.Empty(t, dropsOf(res, 9000), "no false drop of delivered packets")
	if d := dropsOf(res, 9001); assert.Len(t, d, 1) {
		assert.Equal(t, DropMTU, d[0].Reason)
		assert.Equal(t, 5, d[0].Packets)
		assert.Equal(t, "n1-cni0", d[0].From)
	}
	if d := dropsOf(res, 9002); assert.Len(t, d, 1) {
		assert.Equal(t, DropUnknown, d[0].Reason, "same-size packets crossed: no MTU evidence")
		assert.Equal(t, 3, d[0].Packets)
	}
	if d := dropsOf(res, 9003); assert.Len(t, d, 1) {
		assert.Equal(t, DropTTL, d[0].Reason)
	}
	if d := dropsOf(res, 9004); assert.Len(t, d, 1) {
		assert.Equal(t, DropUnknown, d[0].Reason, "a bridge does not decrement the TTL")
		assert.Equal(t, "poda-eth0", d[0].From)
	}
	for _, m := range res.MTU {
		assert.NotEqual(t, uint16(9002), m.Flow.DPort, "no MTU finding without evidence: %+v", m)
		assert.NotEqual(t, uint16(9000), m.Flow.DPort, "no MTU finding on small packets: %+v", m)
	}
	for _, f := range res.Flows {
		assert.Empty(t, f.NAT, "no NAT invented: %+v", f)
	}
	assert.Empty(t, res.Unjudged)
}

// TestCoverageNodeWindow: a capture covers its node's capture window, not
// only its own first to last packet. The tunnel device of node-1 sees
// nothing before 10 ms and nothing after 50 ms (a PMTUD black hole
// stalls the flow there), yet tcpdump ran on it all along: a TTL-1 probe
// before its first packet and the black-holed packets after its last are
// judged. Node-2's captures all stop at 60 ms: packets that left node-1
// after that cannot be judged, and are said to be.
func TestCoverageNodeWindow(t *testing.T) {
	ms := time.Millisecond
	n := newTwoNodes()
	n.send(0, false, 1, udpTo(9003, 50, false), 2) // TTL 1, before flannel.1's first packet
	for i := range 5 {
		n.send(10*ms+time.Duration(i)*10*ms, false, 64, udpTo(9000, 100, true), len(hopsOrig))
		n.send(11*ms+time.Duration(i)*10*ms, true, 64, udpBack(9000, 100), len(hopsOrig))
	}
	for i := range 4 {
		n.send(62*ms+time.Duration(i)*5*ms, false, 64, udpTo(9005, 1472, true), 2) // black-holed
	}
	for i := range 3 {
		n.send(100*ms+time.Duration(i)*ms, false, 64, udpTo(9006, 100, true), 4) // node-2 no longer captures
	}
	caps := n.writeNodes(t, -10*ms, map[string]time.Duration{"node-1": 120 * ms, "node-2": 55 * ms}, "node-1/n1-flannel.1")
	res := analyzeCaps(t, caps)

	for _, d := range res.Drops {
		t.Logf("drop %s>%s %d %s %d", d.From, d.To, d.Flow.DPort, d.Reason, d.Packets)
	}
	assert.Empty(t, dropsOf(res, 9000), "no false drop")
	if d := dropsOf(res, 9003); assert.Len(t, d, 1, "the TTL-1 probe before the tunnel device's first packet") {
		assert.Equal(t, DropTTL, d[0].Reason)
	}
	if d := dropsOf(res, 9005); assert.Len(t, d, 1, "black-holed after the tunnel device's last packet") {
		assert.Equal(t, 4, d[0].Packets, "all of them judged")
		assert.Equal(t, DropMTU, d[0].Reason)
	}
	assert.Empty(t, dropsOf(res, 9006), "not a drop: node-2 was not capturing")
	if assert.Len(t, res.Unjudged, 1) {
		u := res.Unjudged[0]
		assert.Equal(t, uint16(9006), u.Flow.DPort)
		assert.Equal(t, 3, u.Packets)
		assert.Equal(t, "n1-eth0", u.From)
		assert.Equal(t, "n2-eth0", u.To)
	}
	warned := false
	for _, w := range res.Warnings {
		warned = warned || strings.Contains(w, "cannot be judged")
	}
	assert.True(t, warned, "the unjudged packets are said: %q", res.Warnings)
}

// TestClocksChosenByData: three nodes, node-2's clock 3.2 s ahead of
// node-1's and the external host's 1.5 s behind. The external host sees
// only SNATed packets of pod A (node-1 rewrote their source) and answers
// with TTL 64 straight to node-1's eth0, where node-1 sees the same TTL:
// the sender is told by node-1 routing the answer on (TTL 63 at the pod).
// node-1 is tied to both others, so it is the reference, although "ext"
// sorts first; the offsets of seconds are recovered, and the pod traffic
// across them correlates with no false drop.
func TestClocksChosenByData(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	n := newTwoNodes()
	n.offset["node-2"] = 3200 * ms
	n.offset["ext"] = -1500 * ms
	for i := range 10 {
		at := time.Duration(i) * 10 * ms
		n.send(at, false, 64, udpTo(9000, 100, true), len(hopsOrig))
		n.send(at+ms, true, 64, udpBack(9000, 100), len(hopsOrig))
		// SNAT: pod A → 192.168.1.100:80 leaves node-1 as 192.168.1.10.
		n.id++
		req := func(src string, ttl uint8) []byte {
			return frametest.Eth(0x0800, frametest.IP4(src, "192.168.1.100", 17, frametest.UDP(41000, 80, []byte{byte(i), 1, 2, 3}), frametest.IP4Opt{TTL: ttl, ID: n.id, DF: true}))
		}
		n.frames["node-1/poda-eth0"] = append(n.frames["node-1/poda-eth0"], tsFrame{at + 2*ms, req(podA, 64)})
		n.frames["node-1/n1-eth0"] = append(n.frames["node-1/n1-eth0"], tsFrame{at + 2*ms + 10*us, req("192.168.1.10", 63)})
		n.extra["ext/eth0"] = append(n.extra["ext/eth0"], tsFrame{at + 2*ms + 30*us, req("192.168.1.10", 63)})
		n.id++
		resp := func(dst string, ttl uint8) []byte {
			return frametest.Eth(0x0800, frametest.IP4("192.168.1.100", dst, 17, frametest.UDP(80, 41000, []byte{byte(i), 9, 9}), frametest.IP4Opt{TTL: ttl, ID: n.id, DF: true}))
		}
		n.extra["ext/eth0"] = append(n.extra["ext/eth0"], tsFrame{at + 2*ms + 130*us, resp("192.168.1.10", 64)})
		n.frames["node-1/n1-eth0"] = append(n.frames["node-1/n1-eth0"], tsFrame{at + 2*ms + 150*us, resp("192.168.1.10", 64)})
		n.frames["node-1/poda-eth0"] = append(n.frames["node-1/poda-eth0"], tsFrame{at + 2*ms + 160*us, resp(podA, 63)})
	}
	caps := n.writeNodes(t, -10*ms, map[string]time.Duration{"node-1": 110 * ms, "node-2": 110 * ms, "ext": 110 * ms})
	res := analyzeCaps(t, caps)

	require.Len(t, res.Clocks, 2)
	got := map[string]Clock{}
	for _, c := range res.Clocks {
		assert.Equal(t, "node-1", c.Reference, "the node tied to both others")
		got[c.Node] = c
	}
	assert.InDelta(t, int64(3200*ms), got["node-2"].OffsetNS, float64(us), "node-2")
	assert.InDelta(t, int64(-1500*ms), got["ext"].OffsetNS, float64(us), "ext: SNATed packets only")
	assert.NotZero(t, got["ext"].Samples)
	assert.Empty(t, res.Drops, "no false drop across offsets of seconds")
	for _, w := range res.Warnings {
		assert.NotContains(t, w, "not estimated")
	}
	for _, h := range res.Hops {
		assert.Zero(t, h.Negative, "no negative latency after correction: %+v", h)
	}
}

// TestReorderingAbsorbed: a capture of several interfaces whose packets
// interleave by some microseconds (two CPUs) gives no warning; one that
// steps back 5 ms does.
func TestReorderingAbsorbed(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	warnings := func(back time.Duration) []string {
		var f []tsFrame
		for i := range 20 {
			f = append(f, tsFrame{time.Duration(i)*ms + 500*us, frametest.Eth(0x0800, frametest.IP4(podA, podC, 17, frametest.UDP(40000, 9000, []byte{byte(i)}), frametest.IP4Opt{TTL: 64, ID: uint16(i + 1)}))})
		}
		f = sortFrames(append(f, noise(0, 2*ms, 10)...))
		for i := range f {
			if f[i].at == 10*ms+500*us {
				f[i].at = f[i-1].at - back // stamped before the packet before it
			}
		}
		c := writeCapture(t, t.TempDir(), "node-1", "any", f) // file order kept
		return analyzeCaps(t, []Capture{c}).Warnings
	}
	for _, w := range warnings(40 * us) {
		assert.NotContains(t, w, "earlier", "reordering of 40 µs is absorbed")
	}
	found := false
	for _, w := range warnings(5 * ms) {
		found = found || strings.Contains(w, "1 packet is stamped more than 1 ms earlier")
	}
	assert.True(t, found, "a 5 ms step back is said")
}

// TestFindingsGroupFlows: one cause is one finding listing its flows:
// three connections whose ends announce MSS 1460 over a 1450-byte tunnel
// path give one mss-too-large per path (direction), each with 3 flows.
func TestFindingsGroupFlows(t *testing.T) {
	ms := time.Millisecond
	n := newTwoNodes()
	for i := range 3 {
		sport := uint16(41000 + i)
		at := time.Duration(i) * 10 * ms
		n.send(at, false, 64, func(ttl uint8, id uint16) []byte {
			return frametest.IP4(podA, podC, 6, frametest.TCP(sport, 8080, 0x02, 1000, 0, 1460, 0), frametest.IP4Opt{TTL: ttl, ID: id, DF: true})
		}, len(hopsOrig))
		n.send(at+ms, true, 64, func(ttl uint8, id uint16) []byte {
			return frametest.IP4(podC, podA, 6, frametest.TCP(8080, sport, 0x12, 5000, 1001, 1460, 0), frametest.IP4Opt{TTL: ttl, ID: id, DF: true})
		}, len(hopsOrig))
	}
	res := analyzeCaps(t, n.write(t, -10*ms, 50*ms))
	var mss []MTUFinding
	for _, m := range res.MTU {
		if m.Kind == MTUMSSTooLarge {
			mss = append(mss, m)
		}
	}
	if assert.Len(t, mss, 2, "one per path") {
		for _, m := range mss {
			assert.Len(t, m.Flows, 3, "%+v", m)
			assert.Equal(t, 3, m.Packets, "one per connection")
			assert.Equal(t, uint16(41000), m.Flow.SPort, "the first flow")
			assert.Equal(t, 1450, m.MTU)
		}
	}
	assert.Empty(t, res.Drops)
}

// TestClockOneWay: node-2's clock is 3 s ahead and only node-1 sends to
// it (no answers): the offset cannot be bounded, but taking the fastest
// packet as instant keeps the packets matching across the nodes: no false
// drop, a one-way clock said as such.
func TestClockOneWay(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	n := newTwoNodes()
	n.offset["node-2"] = 3 * time.Second
	for i := range 20 {
		n.send(time.Duration(i)*5*ms, false, 64, udpTo(9000, 100, true), len(hopsOrig))
	}
	res := analyzeCaps(t, n.write(t, -10*ms, 110*ms))
	require.Len(t, res.Clocks, 1)
	c := res.Clocks[0]
	assert.True(t, c.OneWay)
	assert.InDelta(t, int64(3*time.Second+10*us), c.OffsetNS, float64(us), "3 s plus the fastest crossing, n1-eth0 to n2-eth0")
	assert.Empty(t, res.Drops, "no false drop across 3 s")
	said := false
	for _, w := range res.Warnings {
		said = said || strings.Contains(w, "one direction only")
	}
	assert.True(t, said, "%q", res.Warnings)
}

// TestUnjudgedSummed: many flows unjudged at one pair of hops are one note
// with their sum, each still listed in Result.Unjudged; a few are named.
func TestUnjudgedSummed(t *testing.T) {
	ms := time.Millisecond
	n := newTwoNodes()
	for i := range 5 {
		n.send(10*ms+time.Duration(i)*10*ms, false, 64, udpTo(9000, 100, true), len(hopsOrig))
	}
	for i := range 6 {
		n.send(100*ms+time.Duration(i)*ms, false, 64, udpTo(uint16(9100+i), 100, true), 4) // node-2 no longer captures
	}
	caps := n.writeNodes(t, -10*ms, map[string]time.Duration{"node-1": 120 * ms, "node-2": 55 * ms})
	res := analyzeCaps(t, caps)
	assert.Empty(t, res.Drops, "not a drop: node-2 was not capturing")
	require.Len(t, res.Unjudged, 6)
	var notes []string
	for _, w := range res.Warnings {
		if strings.Contains(w, "cannot be judged") {
			notes = append(notes, w)
		}
	}
	require.Len(t, notes, 1, "%q", notes)
	assert.Contains(t, notes[0], "6 packets of 6 flow directions last seen at n1-eth0 cannot be judged: the capture at n2-eth0")
}
