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

func newTwoNodes() *twoNodes { return &twoNodes{frames: map[string][]tsFrame{}, id: 1} }

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
		caps = append(caps, writeCapture(t, dir, h.node, h.hop, sortFrames(f)))
	}
	return caps
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
