package analyze

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// The identity rules as a specification: frames built header by header,
// what key, kind and match each must get.

// rig decodes frames as one capture would and fills their sightings.
type rig struct {
	a *analysis
	s *source
}

func newRig() *rig {
	a := newAnalysis(nil, Options{})
	return &rig{a: a, s: &source{a: a, reader: reader{dec: decode.NewDecoder()}}}
}

// see decodes an Ethernet frame captured at hop, cut to snap bytes when
// snap > 0, and returns its sighting.
func (r *rig) see(hop int32, frame []byte, snap int) seen {
	wire := len(frame)
	if snap > 0 && snap < len(frame) {
		frame = frame[:snap]
	}
	r.s.dec.Decode(&r.s.rec, frame, decode.Meta{WireLen: wire, Link: decode.LinkEthernet})
	r.s.frame, r.s.hop = frame, hop
	var e seen
	var f seenFacts
	facts := r.s.fillLocal(&e, &f)
	e.o.hop = hop
	if facts {
		r.s.globalize(&e, &f, nil)
	} else {
		r.s.globalize(&e, nil, nil)
	}
	return e
}

func (r *rig) key(frame []byte) uint64 { return r.see(0, frame, 0).o.key }

// Frame builders for the tables.
func udp4(src, dst string, sport, dport uint16, id uint16, ttl uint8, payload []byte) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, 17, ft.UDP(sport, dport, payload), ft.IP4Opt{TTL: ttl, ID: id, DF: id == 0}))
}

func udp6(src, dst string, sport, dport uint16, payload []byte) []byte {
	return ft.Eth(0x86dd, ft.IP6(src, dst, 17, ft.UDP(sport, dport, payload)))
}

func icmp4(src, dst string, typ uint8, id, seq uint16, ttl uint8, body []byte) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, 1, ft.ICMP(typ, 0, uint32(id)<<16|uint32(seq), body), ft.IP4Opt{TTL: ttl, DF: true}))
}

// icmp6 is an ICMPv6 message with hop limit hl.
func icmp6(src, dst string, typ uint8, rest uint32, hl uint8, body []byte) []byte {
	f := ft.Eth(0x86dd, ft.IP6(src, dst, 58, ft.ICMP(typ, 0, rest, body)))
	f[14+7] = hl
	return f
}

// vxlan4 wraps an inner Ethernet frame in flannel's VXLAN between two nodes.
func vxlan4(src, dst string, inner []byte) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, 17, ft.UDP(40000, 8472, ft.VXLAN(1, inner))))
}

// dnsAnswer is a DNS answer of transaction id, the same length whatever id.
func dnsAnswer(id uint16) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint16(b, id)
	binary.BigEndian.PutUint16(b[2:], 0x8180)
	return b
}

// pingBody is what Linux ping carries: the send time, then a pattern.
func pingBody(sec, usec uint64) []byte {
	b := make([]byte, 56)
	binary.LittleEndian.PutUint64(b, sec)
	binary.LittleEndian.PutUint64(b[8:], usec)
	return b
}

// nsBody is a neighbour solicitation's body after the ICMPv6 header: the
// target address and a source link-layer address option.
func nsBody(target string) []byte {
	b := make([]byte, 24)
	copy(b, ipBytes(target))
	b[16], b[17] = 1, 1
	return b
}

func ipBytes(s string) []byte {
	f := ft.IP6(s, s, 59, nil)
	return f[8:24]
}

func TestKeys(t *testing.T) {
	same := []struct {
		name string
		a, b []byte
		why  string
	}{
		{"dns answer before and after SNAT",
			udp4("10.96.0.10", "10.244.0.5", 53, 40000, 0, 64, dnsAnswer(7)),
			udp4("192.168.1.10", "10.244.0.5", 31000, 40000, 0, 63, dnsAnswer(7)),
			"NAT rewrites addresses and ports; the payload and length stay"},
		{"ping before and after masquerade",
			icmp4("10.244.0.5", "192.168.1.100", 8, 0x1234, 3, 64, pingBody(100, 5)),
			icmp4("192.168.1.10", "192.168.1.100", 8, 0x9999, 3, 63, pingBody(100, 5)),
			"masquerade rewrites the echo identifier: it is left out of the key"},
		{"pod udp plain and inside vxlan",
			udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("identical bytes!")),
			vxlan4("192.168.1.10", "192.168.1.11", udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("identical bytes!"))),
			"the key is the innermost packet's"},
		{"two pods' byte-identical ipv6 udp",
			udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("identical bytes!")),
			udp6("fd00::b", "fd00:1::c", 5000, 6000, []byte("identical bytes!")),
			"nothing in the key tells them apart: matching does (TestCompatible)"},
		{"payload past the digest",
			udp4("10.0.0.1", "10.0.0.2", 1, 2, 0, 64, []byte("12345678 differs here")),
			udp4("10.0.0.1", "10.0.0.2", 1, 2, 0, 64, []byte("12345678 DIFFERS HERE")),
			"the digest reads 8 bytes, what every plausible snap length holds"},
	}
	for _, tc := range same {
		t.Run("same/"+tc.name, func(t *testing.T) {
			r := newRig()
			assert.Equal(t, r.key(tc.a), r.key(tc.b), tc.why)
		})
	}
	differ := []struct {
		name string
		a, b []byte
		why  string
	}{
		{"dns answers with IP ID 0, equal lengths, to two pods",
			udp4("10.96.0.10", "10.244.0.5", 53, 40000, 0, 64, dnsAnswer(7)),
			udp4("10.96.0.10", "10.244.0.6", 53, 40000, 0, 64, dnsAnswer(8)),
			"the transaction ID is in the digest"},
		{"ipv6 udp of one length, different payloads",
			udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("payload number 1")),
			udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("PAYLOAD number 1")),
			"all IPv6 is keyed with its digest"},
		{"two pings of one second and sequence",
			icmp4("10.244.0.5", "10.244.1.5", 8, 1, 3, 64, pingBody(100, 5)),
			icmp4("10.244.0.6", "10.244.1.5", 8, 1, 3, 64, pingBody(101, 5)),
			"the send time is in the digest"},
		{"neighbour solicitations of two interfaces",
			icmp6("fe80::1", "ff02::1:ff00:9", icmp6NS, 0, 255, nsBody("fe80::9")),
			icmp6("fe80::2", "ff02::1:ff00:9", icmp6NS, 0, 255, nsBody("fe80::9")),
			"link-scoped: the addresses stay in the key"},
		{"mld reports of two interfaces",
			icmp6("fe80::1", "ff02::16", icmp6MLDv2Report, 1, 1, make([]byte, 20)),
			icmp6("fe80::2", "ff02::16", icmp6MLDv2Report, 1, 1, make([]byte, 20)),
			"link-scoped: the addresses stay in the key"},
		{"echo replies of two hosts to one multicast echo",
			icmp6("fe80::a", "fe80::1", 129, 1<<16|1, 64, pingBody(100, 5)),
			icmp6("fe80::b", "fe80::1", 129, 1<<16|1, 64, pingBody(100, 5)),
			"link-local: the addresses stay in the key, no snat fe80::a -> fe80::b"},
		{"echo request and reply",
			icmp4("10.244.0.5", "10.244.1.5", 8, 1, 3, 64, pingBody(100, 5)),
			icmp4("10.244.1.5", "10.244.0.5", 0, 1, 3, 64, pingBody(100, 5)),
			"the ICMP type is in the key"},
	}
	for _, tc := range differ {
		t.Run("differ/"+tc.name, func(t *testing.T) {
			r := newRig()
			assert.NotEqual(t, r.key(tc.a), r.key(tc.b), tc.why)
		})
	}
}

// TestKeySnapped: a capture that holds less than the digest reads keys
// the packet as undigested, alike for every capture that short, never
// as a digest of what it happens to hold.
func TestKeySnapped(t *testing.T) {
	r := newRig()
	full := udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("payload number 1"))
	other := udp6("fd00::a", "fd00:1::c", 5000, 6000, []byte("PAYLOAD number 1"))
	hdr := 14 + 40 + 8
	assert.Equal(t, r.see(0, full, hdr+8).o.key, r.see(0, full, 0).o.key, "a snap holding the 8 bytes digests them")
	cut, cutOther := r.see(0, full, hdr+4).o.key, r.see(0, other, hdr+4).o.key
	assert.NotEqual(t, r.see(0, full, 0).o.key, cut, "4 bytes of 8: not comparable with a full capture")
	assert.Equal(t, cut, cutOther, "two captures cut short agree they know nothing of the payload")
}

// TestRangedDigest: an IPv4 datagram with an IP ID is keyed by it and its
// byte range; pieces starting at one offset must carry the same bytes.
func TestRangedDigest(t *testing.T) {
	r := newRig()
	a := r.see(0, udp4("10.0.0.1", "10.0.0.2", 1, 2, 77, 64, []byte("aaaaaaaa-payload")), 0).o
	b := r.see(1, udp4("10.0.0.3", "10.0.0.2", 1, 2, 77, 64, []byte("bbbbbbbb-payload")), 0).o
	c := r.see(1, udp4("10.0.0.1", "10.0.0.2", 1, 2, 77, 63, []byte("aaaaaaaa-payload")), 0).o
	require.Equal(t, a.key, b.key, "one IP ID, one protocol: one key")
	assert.True(t, a.byRange && a.dig != 0 && b.dig != 0)
	assert.NotEqual(t, a.dig, b.dig)
	assert.Equal(t, a.dig, c.dig)
}

func TestBackgroundKinds(t *testing.T) {
	arp := ft.Eth(0x0806, make([]byte, 28))
	lldp := ft.Eth(0x88cc, make([]byte, 30))
	stp := ft.Eth(0x0027, make([]byte, 38))
	tests := []struct {
		name  string
		frame []byte
		want  BackgroundKind
	}{
		{"arp", arp, BackgroundARP},
		{"arp inside vxlan", vxlan4("192.168.1.10", "192.168.1.11", arp), BackgroundARP},
		{"lldp", lldp, BackgroundLLDP},
		{"other non-ip", stp, BackgroundNonIP},
		{"neighbour solicitation", icmp6("fe80::1", "ff02::1:ff00:9", icmp6NS, 0, 255, nsBody("fe80::9")), BackgroundND},
		{"neighbour advertisement", icmp6("fe80::9", "fe80::1", icmp6NA, 0, 255, nsBody("fe80::9")), BackgroundND},
		{"router solicitation", icmp6("fe80::1", "ff02::2", icmp6RS, 0, 255, nil), BackgroundRouterDiscovery},
		{"router advertisement", icmp6("fe80::fe", "ff02::1", icmp6RA, 0, 255, make([]byte, 8)), BackgroundRouterDiscovery},
		{"mldv2 report", icmp6("fe80::1", "ff02::16", icmp6MLDv2Report, 1, 1, make([]byte, 20)), BackgroundMLD},
		{"igmp", ft.Eth(0x0800, ft.IP4("10.0.0.1", "224.0.0.22", protoIGMP, make([]byte, 16), ft.IP4Opt{TTL: 1})), BackgroundIGMP},
		{"mdns", udp6("fe80::1", "ff02::fb", 5353, 5353, make([]byte, 12)), BackgroundMDNS},
		{"mdns ipv4", udp4("10.0.0.1", "224.0.0.251", 5353, 5353, 1, 255, make([]byte, 12)), BackgroundMDNS},
		{"dhcp discover", udp4("0.0.0.0", "255.255.255.255", 68, 67, 1, 64, make([]byte, 240)), BackgroundDHCP},
		{"dhcpv6 solicit", udp6("fe80::1", "ff02::1:2", 546, 547, make([]byte, 20)), BackgroundDHCP},
		{"link-local unicast udp", udp6("fe80::1", "fe80::2", 4000, 4001, make([]byte, 20)), BackgroundLinkLocal},
		{"link-local echo", icmp6("fe80::a", "fe80::1", 129, 1<<16|1, 64, pingBody(100, 5)), BackgroundLinkLocal},
		{"multicast udp", udp4("10.0.0.1", "239.1.1.1", 4000, 4001, 1, 8, make([]byte, 20)), BackgroundMulticast},
		{"ipv6 multicast echo", icmp6("fd00::1", "ff02::1", 128, 1<<16|1, 1, pingBody(100, 5)), BackgroundMulticast},
		{"ipv6 node information query", icmp6("fd00::1", "fd00::2", 139, 0, 64, make([]byte, 16)), BackgroundICMP},
		{"ipv4 router advertisement", icmp4("10.0.0.1", "10.0.0.2", icmpRouterAdvert, 0, 0, 1, nil), BackgroundICMP},
		// Not background: the flows under study.
		{"pod tcp", ft.Eth(0x0800, ft.IP4("10.244.0.5", "10.244.1.5", 6, ft.TCP(40000, 80, 0x02, 1, 0, 1460, 0))), BackgroundNone},
		{"pod ipv6 udp", udp6("fd00::a", "fd00:1::c", 5000, 6000, make([]byte, 16)), BackgroundNone},
		{"dns on 5353 behind a service", udp4("10.244.1.5", "10.244.0.5", 5353, 40000, 0, 64, dnsAnswer(1)), BackgroundNone},
		{"echo request", icmp4("10.244.0.5", "10.244.1.5", 8, 1, 1, 64, pingBody(1, 1)), BackgroundNone},
		{"icmpv6 packet too big", icmp6("fd00::fe", "fd00::a", 2, 1400, 64, make([]byte, 48)), BackgroundNone},
		{"ttl-1 traceroute probe", udp4("10.244.0.5", "10.244.1.5", 40000, 33434, 1, 1, make([]byte, 32)), BackgroundNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			e := r.see(0, tc.frame, 0)
			assert.Equal(t, tc.want, e.bg, "kind %v", e.bg)
			if e.flags&seenObserved != 0 && (e.o.proto == decode.ProtoTCP || e.o.proto == decode.ProtoUDP) {
				assert.Equal(t, tc.want, r.see(0, tc.frame, 0).bg, "the tuple's cached kind")
			}
		})
	}
	b, err := BackgroundND.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "nd", string(b))
	var k BackgroundKind
	require.NoError(t, k.UnmarshalText([]byte("rs-ra")))
	assert.Equal(t, BackgroundRouterDiscovery, k)
	assert.Error(t, k.UnmarshalText([]byte("echo")))
}

// TestLinkScoped: what keeps a packet's addresses in its key.
func TestLinkScoped(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"link-local source", udp6("fe80::1", "fd00::2", 1, 2, nil), true},
		{"multicast destination", udp4("10.0.0.1", "239.0.0.1", 1, 2, 1, 8, nil), true},
		{"broadcast", udp4("10.0.0.1", "255.255.255.255", 1, 2, 1, 64, nil), true},
		{"ttl 1 to a unicast address: routed here maybe, dropped by the next router", udp4("10.0.0.1", "10.0.0.2", 1, 2, 1, 1, nil), false},
		{"ttl 1 to a multicast address", udp4("10.0.0.1", "239.0.0.1", 1, 2, 1, 1, nil), true},
		{"neighbour solicitation to a global address", icmp6("fd00::1", "fd00::2", icmp6NS, 0, 255, nsBody("fd00::2")), true},
		{"global ipv6 udp with hop limit 255", ft.Eth(0x86dd, func() []byte {
			b := ft.IP6("fd00::1", "fd00::2", 17, ft.UDP(1, 2, nil))
			b[7] = 255
			return b
		}()), false},
		{"pod udp", udp4("10.244.0.5", "10.244.1.5", 1, 2, 1, 64, nil), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			r.see(0, tc.frame, 0)
			assert.Equal(t, tc.want, linkScoped(&r.s.rec, r.s.rec.Inner()))
		})
	}
}

// TestCompatible: which two sightings of one key can be one packet.
func TestCompatible(t *testing.T) {
	r := newRig()
	c := newCorrelator(1e9, func(*packet) {})
	c.tuples = r.a.tuples
	tu := func(src, dst string) int32 {
		return r.see(0, udp4(src, dst, 1000, 53, 0, 64, nil), 0).o.tuple
	}
	aS, bS := tu("10.244.0.5", "10.96.0.10"), tu("10.244.0.6", "10.96.0.10")
	aC := tu("10.244.0.5", "10.244.1.5")   // after DNAT
	mc := tu("10.244.0.5", "239.1.1.1")    // multicast
	nC := tu("192.168.1.10", "10.244.1.5") // after DNAT and SNAT
	sight := func(hop int32, tuple int32, ttl uint8, carrier int32) *obs {
		return &obs{hop: hop, tuple: tuple, ttl: ttl, carrier: carrier, ports: true, lo: 0, hi: 1}
	}
	tests := []struct {
		name string
		q, o *obs
		want bool
	}{
		{"next hop, same packet", sight(0, aS, 64, 0), sight(1, aS, 64, 0), true},
		{"same hop, same form: a new packet", sight(1, aS, 64, 0), sight(1, aS, 64, 0), false},
		{"two senders at one TTL", sight(0, aS, 64, 0), sight(1, bS, 64, 0), false},
		{"DNAT before routing (br_netfilter on cni0)", sight(0, aS, 64, 0), sight(1, aC, 64, 0), true},
		{"DNAT and SNAT after routing", sight(0, aS, 64, 0), sight(2, nC, 63, 0), true},
		{"SNAT without routing", sight(0, aS, 64, 0), sight(2, nC, 64, 0), false},
		{"NodePort: eth0 again, inside VXLAN", sight(3, aS, 64, 0), sight(3, nC, 63, 5), true},
		{"decap and re-encap on one NIC", sight(3, aC, 63, 5), sight(3, aC, 63, 7), true},
		{"hairpin: translated and routed back to the same veth", sight(0, aS, 64, 0), sight(0, aC, 63, 0), true},
		{"same hop, other tuple, same TTL", sight(0, aS, 64, 0), sight(0, bS, 64, 0), false},
		{"multicast on its segment", sight(0, mc, 8, 0), sight(1, mc, 8, 0), true},
		{"multicast at another TTL: never routed, another packet", sight(0, mc, 8, 0), sight(1, mc, 7, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, c.compatible(tc.q, tc.o))
		})
	}
	t.Run("digests of pieces at one offset", func(t *testing.T) {
		x, y := sight(0, aS, 64, 0), sight(1, aS, 64, 0)
		x.dig, y.dig = 3, 5
		assert.False(t, c.compatible(x, y), "known and different")
		y.dig = 0
		assert.True(t, c.compatible(x, y), "one unknown: the key decides")
		y.dig, y.lo, y.hi = 5, 1480, 2960
		assert.True(t, c.compatible(x, y), "other offsets hold other bytes")
	})
}

// TestPathOrderCrossingTwice: a NodePort request enters node-2's eth0
// plain and leaves it again inside VXLAN after DNAT and SNAT; each
// crossing is a step of its path, in order.
func TestPathOrderCrossingTwice(t *testing.T) {
	const (
		extEth0 = iota
		n2Eth0
		n2Flannel
		n1Eth0
		n1Flannel
		n1Cni0
		podA
	)
	g := &aggregator{}
	// node 0: ext; node 1: node-2; node 2: node-1. Clocks say nothing.
	ord := []obs{
		{hop: n1Cni0, node: 2, ttl: 62, ts: 90},
		{hop: n2Eth0, node: 1, ttl: 63, ts: 30, carrier: 4},
		{hop: podA, node: 2, ttl: 62, ts: 95},
		{hop: n2Flannel, node: 1, ttl: 63, ts: 20},
		{hop: n1Eth0, node: 2, ttl: 63, ts: 80, carrier: 4},
		{hop: extEth0, node: 0, ttl: 64, ts: 1000},
		{hop: n2Eth0, node: 1, ttl: 64, ts: 10},
		{hop: n1Flannel, node: 2, ttl: 63, ts: 85},
	}
	p := &packet{obs: ord}
	var got []int32
	for _, o := range g.pathOrder(p) {
		got = append(got, o.hop)
	}
	assert.Equal(t, []int32{extEth0, n2Eth0, n2Flannel, n2Eth0, n1Eth0, n1Flannel, n1Cni0, podA}, got,
		"ext and node-2 both saw TTL 64: node-2 routed it on (its lowest TTL is 63), so ext comes first whatever its clock")
}

// TestSameSegmentation: how GSO numbers the segments of a super-frame
// (segment k of a frame with IP ID i and sequence S carries ID i+k and
// starts at S+k*mss), and what a retransmission looks like.
func TestSameSegmentation(t *testing.T) {
	seg := func(seq, n, id uint32) *obs { return &obs{lo: seq, hi: seq + n, ipid: id} }
	super := seg(1000, 4*1448, 10) // a 4-segment GSO frame at the veth
	tests := []struct {
		name string
		a, b *obs
		want bool
	}{
		{"the frame and its first segment", super, seg(1000, 1448, 10), true},
		{"the frame and its third segment", super, seg(1000+2*1448, 1448, 12), true},
		{"the frame and a short last segment", seg(1000, 3*1448+100, 10), seg(1000+3*1448, 100, 13), true},
		{"a segment with the wrong ID for its place", super, seg(1000+2*1448, 1448, 11), false},
		{"a retransmission: same bytes, new ID", seg(1000, 1448, 10), seg(1000, 1448, 40), false},
		{"the same segment at two hops", seg(1000, 1448, 10), seg(1000, 1448, 10), true},
		{"a segment off the mss grid", super, seg(1000+1000, 1448, 11), false},
		{"an mss below 64 is no GSO", seg(1000, 200, 10), seg(1010, 10, 11), false},
		{"ipv6 has no IP ID: only equal ranges", &obs{lo: 1000, hi: 2448, v6: true}, &obs{lo: 1000, hi: 2448, v6: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, sameSegmentation(tc.a, tc.b))
			assert.Equal(t, tc.want, sameSegmentation(tc.b, tc.a), "symmetric")
		})
	}
}
