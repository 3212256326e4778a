package analyze_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// A two-node flannel incident as real nodes carry it, written as pcap
// files: IPv6 link-local traffic (ND, MLD, router solicitation) on every
// interface, ARP, mDNS between the nodes, captures that start before and
// end after the traffic, and beside it the cases that fooled identity:
// two pods sending byte-identical IPv6 UDP at one moment, DNS answers with
// IP ID 0 and equal lengths to two pods, a masqueraded ping whose reply
// has IP ID 0, and a NodePort request that crosses node-2's eth0 twice.
// Every packet is delivered: any drop is false.

const (
	podA, podB, podC = "10.244.0.5", "10.244.0.6", "10.244.1.5"
	podA6, podB6     = "fd00::5", "fd00::6"
	podC6            = "fd00::1:5"
	node1, node2     = "192.168.1.10", "192.168.1.11"
	node2Flannel     = "10.244.1.0"
	extHost          = "192.168.1.100"
)

// capWriter collects one capture file's packets.
type capWriter struct {
	node, hop string
	recs      []rec
	snap      int // bytes kept of each frame; 0: all
}

type rec struct {
	us    int64 // microseconds from the incident's start
	frame []byte
}

type incidentBuilder struct {
	caps map[string]*capWriter
}

func (b *incidentBuilder) at(node, hop string) *capWriter {
	if b.caps == nil {
		b.caps = map[string]*capWriter{}
	}
	c := b.caps[hop]
	if c == nil {
		c = &capWriter{node: node, hop: hop}
		b.caps[hop] = c
	}
	return c
}

// see records frame at hop at time us.
func (b *incidentBuilder) see(node, hop string, us int64, frame []byte) {
	c := b.at(node, hop)
	c.recs = append(c.recs, rec{us, frame})
}

// write writes every capture as a pcap file (microsecond stamps, Ethernet)
// in dir/node/hop.pcap and returns the captures.
func (b *incidentBuilder) write(t *testing.T, dir string) []analyze.Capture {
	var caps []analyze.Capture
	for _, c := range b.caps {
		slices.SortStableFunc(c.recs, func(x, y rec) int { return int(x.us - y.us) })
		var buf []byte
		buf = binary.LittleEndian.AppendUint32(buf, 0xa1b2c3d4)
		buf = binary.LittleEndian.AppendUint16(buf, 2)
		buf = binary.LittleEndian.AppendUint16(buf, 4)
		buf = binary.LittleEndian.AppendUint64(buf, 0)
		buf = binary.LittleEndian.AppendUint32(buf, 262144)
		buf = binary.LittleEndian.AppendUint32(buf, 1)
		const start = 1_790_000_000
		for _, r := range c.recs {
			kept := r.frame
			if c.snap > 0 && c.snap < len(kept) {
				kept = kept[:c.snap]
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(start+r.us/1e6))
			buf = binary.LittleEndian.AppendUint32(buf, uint32(r.us%1e6))
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(kept)))
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(r.frame)))
			buf = append(buf, kept...)
		}
		d := filepath.Join(dir, c.node)
		require.NoError(t, os.MkdirAll(d, 0o755))
		p := filepath.Join(d, c.hop+".pcap")
		require.NoError(t, os.WriteFile(p, buf, 0o644))
		caps = append(caps, analyze.Capture{Node: c.node, Path: p})
	}
	return caps
}

// Frames.
func ip4(src, dst string, proto uint8, ttl uint8, id uint16, l4 []byte) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, proto, l4, ft.IP4Opt{TTL: ttl, ID: id, DF: true}))
}

func ip6(src, dst string, next uint8, hl uint8, l4 []byte) []byte {
	b := ft.IP6(src, dst, next, l4)
	b[7] = hl
	return ft.Eth(0x86dd, b)
}

func inVXLAN(src, dst string, inner []byte) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, 17, ft.UDP(45000, 8472, ft.VXLAN(1, inner)), ft.IP4Opt{TTL: 64, ID: 1, DF: false}))
}

func dnsMsg(id uint16, answer bool) []byte {
	b := make([]byte, 60) // queries and answers of one length
	binary.BigEndian.PutUint16(b, id)
	if answer {
		binary.BigEndian.PutUint16(b[2:], 0x8180)
	}
	copy(b[12:], "\x07example\x03com\x00")
	return b
}

// node-1's path from a pod to node-2's pod C, and back.
var (
	n1Out = []struct {
		hop   string
		dttl  uint8
		vxlan bool
	}{{"n1-cni0", 0, false}, {"n1-flannel.1", 1, false}, {"n1-eth0", 1, true}}
	n2In = []struct {
		hop   string
		dttl  uint8
		vxlan bool
	}{{"n2-eth0", 1, true}, {"n2-flannel.1", 1, false}, {"n2-cni0", 2, false}, {"podc-eth0", 2, false}}
)

// crossPodToC sends an inner packet built by mk(ttl) from pod hop (on
// node-1) to pod C, each hop 10 us after the one before.
func (b *incidentBuilder) crossPodToC(pod string, us int64, mk func(ttl uint8) []byte) {
	b.see("node-1", pod, us, mk(64))
	for i, h := range n1Out {
		f := mk(64 - h.dttl)
		if h.vxlan {
			f = inVXLAN(node1, node2, f)
		}
		b.see("node-1", h.hop, us+int64(10*(i+1)), f)
	}
	for i, h := range n2In {
		f := mk(64 - h.dttl)
		if h.vxlan {
			f = inVXLAN(node1, node2, f)
		}
		b.see("node-2", h.hop, us+int64(40+10*i), f)
	}
}

// crossCToPod sends from pod C back to a pod on node-1.
func (b *incidentBuilder) crossCToPod(pod string, us int64, mk func(ttl uint8) []byte) {
	back := []struct {
		node, hop string
		ttl       uint8
		vxlan     bool
	}{
		{"node-2", "podc-eth0", 64, false}, {"node-2", "n2-cni0", 64, false}, {"node-2", "n2-flannel.1", 63, false},
		{"node-2", "n2-eth0", 63, true}, {"node-1", "n1-eth0", 63, true}, {"node-1", "n1-flannel.1", 63, false},
		{"node-1", "n1-cni0", 62, false}, {"node-1", pod, 62, false},
	}
	for i, h := range back {
		f := mk(h.ttl)
		if h.vxlan {
			f = inVXLAN(node2, node1, f)
		}
		b.see(h.node, h.hop, us+int64(10*i), f)
	}
}

// realisticIncident builds the incident; the returned end is its last
// microsecond.
func realisticIncident() *incidentBuilder {
	b := &incidentBuilder{}
	type iface struct{ node, hop, ll string }
	ifaces := []iface{
		{"node-1", "poda-eth0", "fe80::a"}, {"node-1", "podb-eth0", "fe80::b"}, {"node-1", "n1-cni0", "fe80::1:1"},
		{"node-1", "n1-flannel.1", "fe80::1:2"}, {"node-1", "n1-eth0", "fe80::1:3"},
		{"node-2", "n2-eth0", "fe80::2:3"}, {"node-2", "n2-flannel.1", "fe80::2:2"}, {"node-2", "n2-cni0", "fe80::2:1"},
		{"node-2", "podc-eth0", "fe80::c"}, {"ext", "ext-eth0", "fe80::e"},
	}
	mld := func(ll string) []byte {
		return ip6(ll, "ff02::16", 58, 1, ft.ICMP(143, 0, 1, make([]byte, 20)))
	}
	arp := ft.Eth(0x0806, make([]byte, 28))
	// Every capture starts before and ends after the traffic with its own
	// interface's MLD report and an ARP.
	for _, f := range ifaces {
		b.see(f.node, f.hop, 0, mld(f.ll))
		b.see(f.node, f.hop, 5, arp)
		b.see(f.node, f.hop, 900_000, mld(f.ll))
		b.see(f.node, f.hop, 900_005, arp)
	}
	// Pod A's neighbour solicitation floods the bridge: pod B's eth0
	// sees it too (fan-out, not a drop); pod C solicits a router.
	ns := ip6("fe80::a", "ff02::1:ff00:1", 58, 255, ft.ICMP(135, 0, 0, make([]byte, 24)))
	for i, h := range []string{"poda-eth0", "n1-cni0", "podb-eth0"} {
		b.see("node-1", h, 1000+int64(i), ns)
	}
	rs := ip6("fe80::c", "ff02::2", 58, 255, ft.ICMP(133, 0, 0, nil))
	b.see("node-2", "podc-eth0", 1500, rs)
	b.see("node-2", "n2-cni0", 1502, rs)
	// mDNS between the nodes' eth0, on one LAN.
	mdns := ip6("fe80::1:3", "ff02::fb", 17, 255, ft.UDP(5353, 5353, make([]byte, 40)))
	b.see("node-1", "n1-eth0", 2000, mdns)
	b.see("node-2", "n2-eth0", 2030, mdns)

	// Two pods send byte-identical IPv6 UDP at the same moment.
	same := []byte("byte-identical payload of two pods")
	for _, p := range []struct{ hop, addr string }{{"poda-eth0", podA6}, {"podb-eth0", podB6}} {
		b.crossPodToC(p.hop, 100_000, func(ttl uint8) []byte { return ip6(p.addr, podC6, 17, ttl, ft.UDP(5000, 6000, same)) })
	}
	// DNS: queries from two pods, answers from an unconnected socket (IP
	// ID 0) of one length, sent at one moment; the two clients chose the
	// same transaction ID, so the answers are byte-identical but for
	// their destinations.
	for i, p := range []struct{ hop, addr string }{{"poda-eth0", podA}, {"podb-eth0", podB}} {
		id := uint16(0x1000)
		b.crossPodToC(p.hop, 200_000+int64(i)*3, func(ttl uint8) []byte {
			return ip4(p.addr, podC, 17, ttl, 0, ft.UDP(40000, 53, dnsMsg(id, false)))
		})
		b.crossCToPod(p.hop, 200_200, func(ttl uint8) []byte {
			return ip4(podC, p.addr, 17, ttl, 0, ft.UDP(53, 40000, dnsMsg(id, true)))
		})
	}
	// A ping from pod A to an outside host, masqueraded on node-1, which
	// also rewrites the echo identifier (0x77 to 0x99, as conntrack -L
	// shows it); the reply has IP ID 0.
	body := make([]byte, 56)
	binary.LittleEndian.PutUint64(body, 1790000300)
	req := func(src string, id uint32, ttl uint8) []byte {
		return ip4(src, extHost, 1, ttl, 0x4242, ft.ICMP(8, 0, id<<16|1, body))
	}
	rep := func(dst string, id uint32, ttl uint8) []byte {
		return ip4(extHost, dst, 1, ttl, 0, ft.ICMP(0, 0, id<<16|1, body))
	}
	b.see("node-1", "poda-eth0", 300_000, req(podA, 0x77, 64))
	b.see("node-1", "n1-cni0", 300_010, req(podA, 0x77, 64))
	b.see("node-1", "n1-eth0", 300_020, req(node1, 0x99, 63))
	b.see("ext", "ext-eth0", 300_040, req(node1, 0x99, 63))
	b.see("ext", "ext-eth0", 300_060, rep(node1, 0x99, 64))
	b.see("node-1", "n1-eth0", 300_080, rep(node1, 0x99, 64))
	b.see("node-1", "n1-cni0", 300_090, rep(podA, 0x77, 63))
	b.see("node-1", "poda-eth0", 300_100, rep(podA, 0x77, 63))
	// NodePort: the outside host connects to node-2:30080; node-2 DNATs
	// to pod A on node-1 and SNATs to its flannel.1 address, so the SYN
	// leaves node-2's eth0 again inside VXLAN. The SYN-ACK comes back the
	// same way.
	syn := func(src, dst string, sport, dport uint16, ttl uint8) []byte {
		return ip4(src, dst, 6, ttl, 0, ft.TCP(sport, dport, 0x02, 1000, 0, 1460, 0))
	}
	synack := func(src, dst string, sport, dport uint16, ttl uint8) []byte {
		return ip4(src, dst, 6, ttl, 0, ft.TCP(sport, dport, 0x12, 5000, 1001, 1410, 0))
	}
	t0 := int64(400_000)
	b.see("ext", "ext-eth0", t0, syn(extHost, node2, 50000, 30080, 64))
	b.see("node-2", "n2-eth0", t0+20, syn(extHost, node2, 50000, 30080, 64))
	b.see("node-2", "n2-flannel.1", t0+30, syn(node2Flannel, podA, 61000, 8080, 63))
	b.see("node-2", "n2-eth0", t0+40, inVXLAN(node2, node1, syn(node2Flannel, podA, 61000, 8080, 63)))
	b.see("node-1", "n1-eth0", t0+60, inVXLAN(node2, node1, syn(node2Flannel, podA, 61000, 8080, 63)))
	b.see("node-1", "n1-flannel.1", t0+70, syn(node2Flannel, podA, 61000, 8080, 63))
	b.see("node-1", "n1-cni0", t0+80, syn(node2Flannel, podA, 61000, 8080, 62))
	b.see("node-1", "poda-eth0", t0+90, syn(node2Flannel, podA, 61000, 8080, 62))
	t1 := t0 + 200
	b.see("node-1", "poda-eth0", t1, synack(podA, node2Flannel, 8080, 61000, 64))
	b.see("node-1", "n1-cni0", t1+10, synack(podA, node2Flannel, 8080, 61000, 64))
	b.see("node-1", "n1-flannel.1", t1+20, synack(podA, node2Flannel, 8080, 61000, 63))
	b.see("node-1", "n1-eth0", t1+30, inVXLAN(node1, node2, synack(podA, node2Flannel, 8080, 61000, 63)))
	b.see("node-2", "n2-eth0", t1+50, inVXLAN(node1, node2, synack(podA, node2Flannel, 8080, 61000, 63)))
	b.see("node-2", "n2-flannel.1", t1+60, synack(podA, node2Flannel, 8080, 61000, 63))
	b.see("node-2", "n2-eth0", t1+70, synack(node2, extHost, 30080, 50000, 62))
	b.see("ext", "ext-eth0", t1+90, synack(node2, extHost, 30080, 50000, 62))
	return b
}

func TestRealisticIncident(t *testing.T) {
	dir := t.TempDir()
	caps := realisticIncident().write(t, dir)
	var synTrace []string
	res, err := analyze.Analyze(caps, analyze.Options{Trace: func(tr *analyze.Trace) {
		if tr.Flow.SPort == 50000 && tr.Direction == analyze.DirOrig {
			for _, s := range tr.Sightings {
				synTrace = append(synTrace, s.Point)
			}
		}
	}})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)

	// Nothing was dropped: no drop row at all.
	assert.Empty(t, res.Drops, "false drops")

	// The flows are exactly the traffic sent: no flow of link-local or
	// multicast traffic, two UDP flows for two pods' identical datagrams,
	// one DNS flow per pod.
	type fl struct {
		proto                    string
		src, dst                 string
		sport, dport             uint16
		origPackets, replPackets int
	}
	var got []fl
	for _, f := range res.Flows {
		if f.Tunnel != "" {
			continue
		}
		got = append(got, fl{f.Proto.String(), f.Orig.Src, f.Orig.Dst, f.Orig.SPort, f.Orig.DPort, f.OrigStats.Packets, f.ReplStats.Packets})
		assert.False(t, strings.HasPrefix(f.Orig.Src, "fe80") || strings.HasPrefix(f.Orig.Dst, "ff02"), "a flow of link-scoped traffic: %+v", f)
	}
	want := []fl{
		{"udp", "fd00::5", "fd00::1:5", 5000, 6000, 1, 0},
		{"udp", "fd00::6", "fd00::1:5", 5000, 6000, 1, 0},
		{"udp", podA, podC, 40000, 53, 1, 1},
		{"udp", podB, podC, 40000, 53, 1, 1},
		{"icmp", podA, extHost, 0x77, 0, 1, 1},
		{"tcp", extHost, node2, 50000, 30080, 1, 1},
	}
	assert.ElementsMatch(t, want, got)

	// NAT only where it happened, as it happened.
	for _, f := range res.Flows {
		switch {
		case f.Orig.SPort == 50000:
			assert.Equal(t, []analyze.NAT{{Type: analyze.DNAT, From: "192.168.1.11:30080", To: "10.244.0.5:8080"},
				{Type: analyze.SNAT, From: "192.168.1.100:50000", To: "10.244.1.0:61000"}}, f.NAT)
		case f.Proto.String() == "icmp":
			assert.Equal(t, []analyze.NAT{{Type: analyze.SNAT, From: "10.244.0.5", To: "192.168.1.10"}}, f.NAT, "no dnat X -> X on a masqueraded ping whose identifier was rewritten")
			assert.Equal(t, uint16(0x99), f.Reply.SPort, "the reply's echo identifier, as conntrack -L shows it")
		default:
			assert.Empty(t, f.NAT, "invented NAT on %v", f.Orig)
		}
	}

	// No path of a pod's packet strays into the other pod's eth0.
	for _, p := range res.Paths {
		switch p.Flow.Src {
		case "fd00::5", podA:
			assert.NotContains(t, p.Hops, "podb-eth0", "%v", p)
		case "fd00::6", podB:
			assert.NotContains(t, p.Hops, "poda-eth0", "%v", p)
		}
	}
	for _, p := range res.Paths {
		if p.Flow.Src == "fd00::5" && p.Direction == analyze.DirOrig {
			assert.Equal(t, []string{"poda-eth0", "n1-cni0", "n1-flannel.1", "n1-eth0", "n2-eth0", "n2-flannel.1", "n2-cni0", "podc-eth0"}, p.Hops)
		}
	}

	// The NodePort SYN crossed node-2's eth0 twice, each in its place.
	assert.Equal(t, []string{"ext-eth0", "n2-eth0", "n2-flannel.1", "n2-eth0", "n1-eth0", "n1-flannel.1", "n1-cni0", "poda-eth0"}, synTrace)

	// Background: counted per hop, by kind.
	bg := map[string]int{}
	for _, x := range res.Background {
		bg[x.Hop+" "+x.Kind.String()] += x.Packets
	}
	assert.Equal(t, 2, bg["poda-eth0 mld"])
	assert.Equal(t, 2, bg["ext-eth0 arp"])
	assert.Equal(t, 1, bg["podb-eth0 nd"], "the solicitation flooded to pod B")
	assert.Equal(t, 1, bg["n2-cni0 rs-ra"])
	assert.Equal(t, 1, bg["n1-eth0 mdns"])
	assert.Equal(t, 1, bg["n2-eth0 mdns"])
	total := 0
	for _, x := range res.Background {
		total += x.Packets
	}
	assert.Equal(t, 10*4+3+2+2, total, "every background packet counted once, at its hop")
}

// TestSnappedCaptureNoted: a capture cut before the payload digest's
// bytes cannot tell datagrams of one length apart; the analysis says so,
// naming the capture, instead of guessing.
func TestSnappedCaptureNoted(t *testing.T) {
	b := &incidentBuilder{}
	for i := range 3 {
		payload := []byte("datagram number 0 of three")
		payload[16] = byte('0' + i)
		b.crossPodToC("poda-eth0", int64(1000*(i+1)), func(ttl uint8) []byte { return ip6(podA6, podC6, 17, ttl, ft.UDP(5000, 6000, payload)) })
	}
	b.at("node-1", "n1-eth0").snap = 14 + 20 + 8 + 8 + 14 + 40 + 8 + 4 // 4 bytes of payload inside VXLAN
	res, err := analyze.Analyze(b.write(t, t.TempDir()), analyze.Options{})
	require.NoError(t, err)
	var notes []string
	for _, w := range res.Warnings {
		if strings.Contains(w, "cut by the snap length") {
			notes = append(notes, w)
		}
	}
	require.Len(t, notes, 1, "%v", res.Warnings)
	assert.Contains(t, notes[0], "n1-eth0.pcap: 3 packets")
	assert.Zero(t, res.InputProblems, "a short snap length is a limit, not damage")
}

// TestRealisticIncidentFiltered: a filter that selects everything brings
// the background traffic that can be a flow (mDNS, link-local and
// multicast UDP) into the analysis, as the user asked; ND, MLD and router
// discovery stay counted, never flows, and nothing is a drop.
func TestRealisticIncidentFiltered(t *testing.T) {
	caps := realisticIncident().write(t, t.TempDir())
	res, err := analyze.Analyze(caps, analyze.Options{Keep: func(*decode.Record) bool { return true }})
	require.NoError(t, err)
	assert.Empty(t, res.Drops, "false drops")
	mdns := 0
	for _, f := range res.Flows {
		assert.NotEqual(t, analyze.ProtoICMPv6, f.Proto, "an ICMPv6 flow, yet no echo was sent: %+v", f.Orig)
		if f.Orig.DPort == 5353 {
			mdns++
			assert.Equal(t, 1, f.OrigStats.Packets, "one mDNS query, seen on both nodes' eth0")
		}
	}
	assert.Equal(t, 1, mdns)
	kinds := map[analyze.BackgroundKind]int{}
	for _, b := range res.Background {
		kinds[b.Kind] += b.Packets
	}
	assert.Zero(t, kinds[analyze.BackgroundMDNS], "selected by the filter: followed, not counted")
	assert.Equal(t, 20, kinds[analyze.BackgroundMLD], "two reports on each of ten interfaces")
	assert.Equal(t, 3, kinds[analyze.BackgroundND])
}
