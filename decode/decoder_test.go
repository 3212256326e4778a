package decode

import (
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// wantIP is the part of an IPHeader a table row checks.
type wantIP struct {
	Src, Dst string
	Proto    uint8
	TTL      uint8
	ID       uint32
	DF, MF   bool
	FragOff  uint16
	Len      uint32
}

type wantTunnel struct {
	Type     TunnelType
	VNI      uint32
	HasVNI   bool
	Ports    [2]uint16
	Overhead uint16
}

type want struct {
	IP       []wantIP
	Tunnels  []wantTunnel
	L4       Transport
	ICMP     ICMP
	Link     Link
	Problems []Problem
	Snapped  bool
}

func project(r *Record) want {
	w := want{L4: r.L4, ICMP: r.ICMP, Link: r.Link, Snapped: r.Snapped}
	w.Link.Type = 0
	for _, h := range r.IP[:r.NIP] {
		w.IP = append(w.IP, wantIP{h.Src.String(), h.Dst.String(), h.Proto, h.TTL, h.ID, h.DF, h.MF, h.FragOffset, h.TotalLen})
	}
	for _, t := range r.Tunnels[:r.NTunnel] {
		w.Tunnels = append(w.Tunnels, wantTunnel{t.Type, t.VNI, t.HasVNI, [2]uint16{t.SPort, t.DPort}, t.Overhead})
	}
	w.Problems = append(w.Problems, r.Problems[:r.NProblem]...)
	return w
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestDecode(t *testing.T) {
	syn := frametest.TCP(40000, 80, TCPSyn, 1000, 0, 1460, 0)
	podTCP := frametest.IP4("10.244.0.5", "10.244.1.5", ProtoTCP, syn, frametest.IP4Opt{TTL: 63, ID: 7, DF: true})
	podTCPIP := wantIP{"10.244.0.5", "10.244.1.5", ProtoTCP, 63, 7, true, false, 0, 44}
	synL4 := Transport{Proto: ProtoTCP, SPort: 40000, DPort: 80, Flags: TCPSyn, Seq: 1000, Window: 64240, MSS: 1460}
	node := func(proto uint8, payload []byte) []byte {
		return frametest.IP4("192.168.1.10", "192.168.1.11", proto, payload, frametest.IP4Opt{TTL: 64, ID: 99})
	}
	nodeIP := func(proto uint8, inner int) wantIP {
		return wantIP{"192.168.1.10", "192.168.1.11", proto, 64, 99, false, false, 0, uint32(20 + inner)}
	}
	ipv4Eth := Link{EtherType: 0x0800}

	tests := []struct {
		name    string
		link    LinkType
		frame   []byte
		wireLen int // 0: len(frame)
		vxlan   []uint16
		want    want
	}{
		{
			name:  "ethernet ipv4 tcp syn with mss",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, podTCP),
			want:  want{IP: []wantIP{podTCPIP}, L4: synL4, Link: ipv4Eth},
		},
		{
			name:  "flannel vxlan on 8472",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(51000, 8472, frametest.VXLAN(1, frametest.Eth(0x0800, podTCP))))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoUDP, 8+8+14+44), podTCPIP},
				Tunnels: []wantTunnel{{TunnelVXLAN, 1, true, [2]uint16{51000, 8472}, 50}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name:  "weave fast datapath vxlan on 6784",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(51000, 6784, frametest.VXLAN(7, frametest.Eth(0x0800, podTCP))))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoUDP, 8+8+14+44), podTCPIP},
				Tunnels: []wantTunnel{{TunnelVXLAN, 7, true, [2]uint16{51000, 6784}, 50}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name: "vxlan on 4789 with inner vlan",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(51000, 4789,
				frametest.VXLAN(42, frametest.Eth(0x8100, frametest.VLAN(7, 0x0800, podTCP)))))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoUDP, 8+8+18+44), podTCPIP},
				Tunnels: []wantTunnel{{TunnelVXLAN, 42, true, [2]uint16{51000, 4789}, 54}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name:  "unconfigured vxlan port stays udp",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(51000, 4790, frametest.VXLAN(1, frametest.Eth(0x0800, podTCP))))),
			want: want{
				IP:   []wantIP{nodeIP(ProtoUDP, 8+8+14+44)},
				L4:   Transport{Proto: ProtoUDP, SPort: 51000, DPort: 4790, PayloadLen: 8 + 14 + 44},
				Link: ipv4Eth,
			},
		},
		{
			name:  "vxlan on a configured port",
			link:  LinkEthernet,
			vxlan: []uint16{4790},
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(51000, 4790, frametest.VXLAN(1, frametest.Eth(0x0800, podTCP))))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoUDP, 8+8+14+44), podTCPIP},
				Tunnels: []wantTunnel{{TunnelVXLAN, 1, true, [2]uint16{51000, 4790}, 50}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name: "geneve with options carrying ethernet",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(40001, 6081,
				frametest.Geneve(0x123456, 0x6558, 2, frametest.Eth(0x0800, podTCP))))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoUDP, 8+16+14+44), podTCPIP},
				Tunnels: []wantTunnel{{TunnelGeneve, 0x123456, true, [2]uint16{40001, 6081}, 20 + 8 + 16 + 14}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name:  "calico ipip",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoIPIP, podTCP)),
			want: want{
				IP:      []wantIP{nodeIP(ProtoIPIP, 44), podTCPIP},
				Tunnels: []wantTunnel{{Type: TunnelIPIP, Overhead: 20}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name: "6in4 udp",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoIPv6,
				frametest.IP6("fd00::1", "fd00::2", ProtoUDP, frametest.UDP(53, 5353, make([]byte, 4))))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoIPv6, 40+12), {"fd00::1", "fd00::2", ProtoUDP, 64, 0, false, false, 0, 52}},
				Tunnels: []wantTunnel{{Type: Tunnel6in4, Overhead: 20}},
				L4:      Transport{Proto: ProtoUDP, SPort: 53, DPort: 5353, PayloadLen: 4},
				Link:    ipv4Eth,
			},
		},
		{
			name: "4in6 and 6in6 nested",
			link: LinkEthernet,
			frame: frametest.Eth(0x86dd, frametest.IP6("2001:db8::1", "2001:db8::2", ProtoIPv6,
				frametest.IP6("fd00::1", "fd00::2", ProtoIPIP, podTCP))),
			want: want{
				IP: []wantIP{
					{"2001:db8::1", "2001:db8::2", ProtoIPv6, 64, 0, false, false, 0, 40 + 40 + 44},
					{"fd00::1", "fd00::2", ProtoIPIP, 64, 0, false, false, 0, 40 + 44},
					podTCPIP,
				},
				Tunnels: []wantTunnel{{Type: Tunnel6in6, Overhead: 40}, {Type: Tunnel4in6, Overhead: 40}},
				L4:      synL4, Link: Link{EtherType: 0x86dd},
			},
		},
		{
			name:  "gre with key carrying ipv4",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoGRE, frametest.GREKey(0x0800, 77, podTCP))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoGRE, 8+44), podTCPIP},
				Tunnels: []wantTunnel{{Type: TunnelGRE, VNI: 77, HasVNI: true, Overhead: 28}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name:  "gre transparent ethernet bridging",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoGRE, frametest.GRE(0x6558, frametest.Eth(0x0800, podTCP)))),
			want: want{
				IP:      []wantIP{nodeIP(ProtoGRE, 4+14+44), podTCPIP},
				Tunnels: []wantTunnel{{Type: TunnelGRETEB, Overhead: 20 + 4 + 14}},
				L4:      synL4, Link: ipv4Eth,
			},
		},
		{
			name: "three nested tunnels: gre, ipip, vxlan",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("1.0.0.1", "1.0.0.2", ProtoGRE, frametest.GRE(0x0800,
				frametest.IP4("2.0.0.1", "2.0.0.2", ProtoIPIP,
					node(ProtoUDP, frametest.UDP(51000, 8472, frametest.VXLAN(3, frametest.Eth(0x0800, podTCP)))))))),
			want: want{
				IP: []wantIP{
					{"1.0.0.1", "1.0.0.2", ProtoGRE, 64, 0x1234, false, false, 0, 20 + 4 + 20 + 20 + 8 + 8 + 14 + 44},
					{"2.0.0.1", "2.0.0.2", ProtoIPIP, 64, 0x1234, false, false, 0, 20 + 20 + 8 + 8 + 14 + 44},
					nodeIP(ProtoUDP, 8+8+14+44),
					podTCPIP,
				},
				Tunnels: []wantTunnel{
					{Type: TunnelGRE, Overhead: 24},
					{Type: TunnelIPIP, Overhead: 20},
					{TunnelVXLAN, 3, true, [2]uint16{51000, 8472}, 50},
				},
				L4: synL4, Link: ipv4Eth,
			},
		},
		{
			name: "first ipv4 fragment keeps ports",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.244.0.5", "10.244.1.5", ProtoUDP,
				frametest.UDP(5000, 53, make([]byte, 100))[:48], frametest.IP4Opt{TTL: 64, ID: 5, MF: true})),
			want: want{
				IP:   []wantIP{{"10.244.0.5", "10.244.1.5", ProtoUDP, 64, 5, false, true, 0, 68}},
				L4:   Transport{Proto: ProtoUDP, SPort: 5000, DPort: 53, PayloadLen: 100},
				Link: ipv4Eth,
			},
		},
		{
			name: "later ipv4 fragment has no transport",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.244.0.5", "10.244.1.5", ProtoUDP,
				make([]byte, 60), frametest.IP4Opt{TTL: 64, ID: 5, FragOff: 1480})),
			want: want{
				IP:   []wantIP{{"10.244.0.5", "10.244.1.5", ProtoUDP, 64, 5, false, false, 1480, 80}},
				Link: ipv4Eth,
			},
		},
		{
			name: "ipv6 fragment header",
			link: LinkEthernet,
			frame: frametest.Eth(0x86dd, frametest.IP6("fd00::1", "fd00::2", 44,
				frametest.IP6Frag(ProtoUDP, 0, true, 0xdeadbeef, frametest.UDP(1000, 2000, make([]byte, 16))))),
			want: want{
				IP:   []wantIP{{"fd00::1", "fd00::2", ProtoUDP, 64, 0xdeadbeef, false, true, 0, 40 + 8 + 24}},
				L4:   Transport{Proto: ProtoUDP, SPort: 1000, DPort: 2000, PayloadLen: 16},
				Link: Link{EtherType: 0x86dd},
			},
		},
		{
			name: "icmp frag-needed quoting a tcp segment",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.244.0.1", "10.244.0.5", ProtoICMP, frametest.ICMP(3, 4, 1450,
				frametest.IP4("10.244.0.5", "10.244.1.5", ProtoTCP, frametest.TCP(40000, 80, TCPAck, 5555, 1, 0, 0)[:8],
					frametest.IP4Opt{TTL: 63, ID: 321, DF: true, TotLen: 1500})))),
			want: want{
				IP: []wantIP{{"10.244.0.1", "10.244.0.5", ProtoICMP, 64, 0x1234, false, false, 0, 56}},
				L4: Transport{Proto: ProtoICMP},
				ICMP: ICMP{Type: 3, Code: 4, MTU: 1450, HasQuoted: true, Quoted: Quoted{
					Src: addr("10.244.0.5"), Dst: addr("10.244.1.5"), Proto: ProtoTCP, ID: 321, SPort: 40000, DPort: 80, Seq: 5555,
				}},
				Link: ipv4Eth,
			},
		},
		{
			name: "icmpv6 packet too big quoting udp",
			link: LinkIPv6,
			frame: frametest.IP6("fd00::1", "fd00::2", ProtoICMPv6, frametest.ICMP(2, 0, 1280,
				frametest.IP6("fd00::2", "fd00::3", ProtoUDP, frametest.UDP(1234, 53, make([]byte, 1400)))[:48])),
			want: want{
				IP: []wantIP{{"fd00::1", "fd00::2", ProtoICMPv6, 64, 0, false, false, 0, 40 + 8 + 48}},
				L4: Transport{Proto: ProtoICMPv6},
				ICMP: ICMP{Type: 2, MTU: 1280, HasQuoted: true, Quoted: Quoted{
					Src: addr("fd00::2"), Dst: addr("fd00::3"), Proto: ProtoUDP, SPort: 1234, DPort: 53,
				}},
			},
		},
		{
			name:  "icmp echo",
			link:  LinkRaw,
			frame: frametest.IP4("10.244.0.5", "10.244.1.5", ProtoICMP, frametest.ICMP(8, 0, 0x00070003, make([]byte, 56))),
			want: want{
				IP:   []wantIP{{"10.244.0.5", "10.244.1.5", ProtoICMP, 64, 0x1234, false, false, 0, 84}},
				L4:   Transport{Proto: ProtoICMP},
				ICMP: ICMP{Type: 8, ID: 7, Seq: 3},
			},
		},
		{
			name:  "sll2 from tcpdump -i any keeps ifindex and direction",
			link:  LinkSLL2,
			frame: frametest.SLL2(0x0800, 5, 4, podTCP),
			want:  want{IP: []wantIP{podTCPIP}, L4: synL4, Link: Link{EtherType: 0x0800, IfIndex: 5, Dir: DirOut}},
		},
		{
			name:  "linux sll v1 incoming",
			link:  LinkLinuxSLL,
			frame: frametest.SLL(0x0800, 0, podTCP),
			want:  want{IP: []wantIP{podTCPIP}, L4: synL4, Link: Link{EtherType: 0x0800, Dir: DirIn}},
		},
		{
			name:  "raw ipv4 link type 228",
			link:  LinkIPv4,
			frame: podTCP,
			want:  want{IP: []wantIP{podTCPIP}, L4: synL4},
		},
		{
			name:  "bsd null loopback little endian",
			link:  LinkNull,
			frame: append([]byte{2, 0, 0, 0}, podTCP...),
			want:  want{IP: []wantIP{podTCPIP}, L4: synL4},
		},
		{
			name:  "qinq",
			link:  LinkEthernet,
			frame: frametest.Eth(0x88a8, frametest.VLAN(100, 0x8100, frametest.VLAN(200, 0x0800, podTCP))),
			want:  want{IP: []wantIP{podTCPIP}, L4: synL4, Link: Link{EtherType: 0x0800, VLANs: [MaxVLANs]uint16{100, 200}, NVLAN: 2}},
		},
		{
			name:  "arp is recognised",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0806, make([]byte, 28)),
			want:  want{Link: Link{EtherType: 0x0806, ARP: true}},
		},
		{
			name: "ipv4 options",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoUDP, frametest.UDP(1, 2, nil),
				frametest.IP4Opt{TTL: 1, ID: 1, Options: 8})),
			want: want{
				IP:   []wantIP{{"10.0.0.1", "10.0.0.2", ProtoUDP, 1, 1, false, false, 0, 36}},
				L4:   Transport{Proto: ProtoUDP, SPort: 1, DPort: 2},
				Link: ipv4Eth,
			},
		},
		{
			name: "snap length cut inside the inner ip is not a problem",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, node(ProtoUDP, frametest.UDP(51000, 8472,
				frametest.VXLAN(1, frametest.Eth(0x0800, podTCP)))))[:14+20+8+8+14+10],
			wireLen: 14 + 20 + 8 + 8 + 14 + 44,
			want: want{
				IP:      []wantIP{nodeIP(ProtoUDP, 8+8+14+44)},
				Tunnels: []wantTunnel{{TunnelVXLAN, 1, true, [2]uint16{51000, 8472}, 50}},
				Link:    ipv4Eth, Snapped: true,
			},
		},
		{
			name: "ip length beyond a complete capture is a problem",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoUDP, frametest.UDP(1, 2, nil),
				frametest.IP4Opt{TTL: 64, TotLen: 200})),
			want: want{
				IP:       []wantIP{{"10.0.0.1", "10.0.0.2", ProtoUDP, 64, 0, false, false, 0, 200}},
				L4:       Transport{Proto: ProtoUDP, SPort: 1, DPort: 2},
				Link:     ipv4Eth,
				Problems: []Problem{{LayerIPv4, FaultBadLength}},
			},
		},
		{
			name:  "truncated tcp header keeps ports and sequence number",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoTCP, syn[:10], frametest.IP4Opt{TTL: 64})),
			want: want{
				IP:       []wantIP{{"10.0.0.1", "10.0.0.2", ProtoTCP, 64, 0, false, false, 0, 30}},
				L4:       Transport{Proto: ProtoTCP, SPort: 40000, DPort: 80, Seq: 1000},
				Link:     ipv4Eth,
				Problems: []Problem{{LayerTCP, FaultTruncated}},
			},
		},
		{
			name:  "wrong ip version",
			link:  LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP6("fd00::1", "fd00::2", ProtoUDP, frametest.UDP(1, 2, nil))),
			want:  want{Link: ipv4Eth, Problems: []Problem{{LayerIPv4, FaultBadVersion}}},
		},
		{
			name:  "unknown link type",
			link:  LinkType(147),
			frame: podTCP,
			want:  want{Problems: []Problem{{LayerLink, FaultUnsupportedLink}}},
		},
		{
			name: "big tcp: total length 0 takes the wire length",
			link: LinkEthernet,
			frame: frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoTCP,
				frametest.TCP(1, 2, TCPAck, 1, 1, 0, 200), frametest.IP4Opt{TTL: 64, TotLen: -1}))[:14+20+20+10],
			// The capture stops after 10 payload bytes; the wire had 70000.
			wireLen: 14 + 20 + 20 + 70000,
			want: want{
				IP:      []wantIP{{"10.0.0.1", "10.0.0.2", ProtoTCP, 64, 0, false, false, 0, 20 + 20 + 70000}},
				L4:      Transport{Proto: ProtoTCP, SPort: 1, DPort: 2, Flags: TCPAck, Seq: 1, Ack: 1, Window: 64240, PayloadLen: 70000},
				Link:    ipv4Eth,
				Snapped: false,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.vxlan...)
			wire := tc.wireLen
			if wire == 0 {
				wire = len(tc.frame)
			}
			var r Record
			d.Decode(&r, tc.frame, Meta{TS: 1, WireLen: wire, Link: tc.link})
			assert.Equal(t, tc.want, project(&r))
			assert.Equal(t, int64(1), r.TS)
			assert.Equal(t, len(tc.frame), r.CapLen)
			assert.Equal(t, wire, r.WireLen)
		})
	}
}

// TestDecodeTooDeep checks that nesting beyond MaxIPDepth stops with a
// problem rather than overrunning the record.
func TestDecodeTooDeep(t *testing.T) {
	frame := frametest.IP4("10.0.0.9", "10.0.0.10", ProtoUDP, frametest.UDP(1, 2, nil))
	for range MaxIPDepth + 2 {
		frame = frametest.IP4("10.0.0.1", "10.0.0.2", ProtoIPIP, frame)
	}
	var r Record
	NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: LinkRaw})
	assert.Equal(t, MaxIPDepth, r.NIP)
	assert.Equal(t, MaxIPDepth-1, r.NTunnel)
	assert.Contains(t, r.Problems[:r.NProblem], Problem{LayerIPv4, FaultTooDeep})
}

// TestDecodeHex decodes frames copied byte for byte from public captures,
// with the fields tcpdump prints for them.
func TestDecodeHex(t *testing.T) {
	tests := []struct {
		name, hex string
		link      LinkType
		want      func(t *testing.T, r *Record)
	}{{
		// tcpdump's vxlan.pcap, frame 1: "IP 192.168.203.1.45149 >
		// 192.168.202.1.4789: VXLAN, flags [I] (0x08), vni 100 / IP
		// 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 1".
		name: "tcpdump vxlan.pcap frame 1",
		link: LinkEthernet,
		hex: "00163e0871cf36dc851eb34008004500" + "0086d2c0400040115152c0a8cb01c0a8" +
			"ca01b05d12b500720000080000000000" + "640000308801000200163e37f6040800" +
			"45000054000040004001234fc0a8cb03" + "c0a8cb050800f6f2050c0001fce29751" +
			"00000000a6f802000000000010111213" + "1415161718191a1b1c1d1e1f20212223" +
			"2425262728292a2b2c2d2e2f30313233" + "34353637",
		want: func(t *testing.T, r *Record) {
			assert.Equal(t, 2, r.NIP)
			assert.Equal(t, addr("192.168.203.1"), r.IP[0].Src)
			assert.Equal(t, addr("192.168.203.5"), r.IP[1].Dst)
			assert.Equal(t, uint32(53952), r.IP[0].ID)
			assert.True(t, r.IP[0].DF)
			assert.Equal(t, uint32(134), r.IP[0].TotalLen)
			assert.Equal(t, uint32(84), r.IP[1].TotalLen)
			assert.Equal(t, TunnelVXLAN, r.Tunnels[0].Type)
			assert.Equal(t, uint32(100), r.Tunnels[0].VNI)
			assert.Equal(t, uint16(45149), r.Tunnels[0].SPort)
			assert.Equal(t, uint8(8), r.ICMP.Type)
			assert.Equal(t, uint16(1292), r.ICMP.ID)
			assert.Equal(t, uint16(1), r.ICMP.Seq)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			var r Record
			NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: tc.link})
			assert.Zero(t, r.NProblem, "problems: %v", r.Problems[:r.NProblem])
			tc.want(t, &r)
		})
	}
}
