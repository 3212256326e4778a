package filter

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/internal/frametest"
)

// Pod and node addresses of the test packets.
const (
	podA, podC   = "10.244.0.5", "10.244.1.5"
	node1, node2 = "192.168.1.10", "192.168.1.11"
)

// tcpSYN is a TCP SYN from sport to dport.
func tcpSYN(sport, dport uint16) []byte {
	return frametest.TCP(sport, dport, decode.TCPSyn, 0, 0, 0, 0)
}

// echo is an ICMP or ICMPv6 echo message of type typ, identifier 7, sequence 1.
func echo(typ uint8) []byte { return frametest.ICMP(typ, 0, 7<<16|1, nil) }

// packets are the records Match is tested on, by name.
var packets = map[string][]byte{
	// pod A to pod C, unencapsulated
	"tcp":  frametest.Eth(0x0800, frametest.IP4(podA, podC, decode.ProtoTCP, tcpSYN(40000, 8080))),
	"udp":  frametest.Eth(0x0800, frametest.IP4(podA, podC, decode.ProtoUDP, frametest.UDP(46063, 9000, []byte("hi")))),
	"icmp": frametest.Eth(0x0800, frametest.IP4(podA, podC, decode.ProtoICMP, echo(8))),
	"sctp": frametest.Eth(0x0800, frametest.IP4(podA, podC, decode.ProtoSCTP, frametest.SCTP(3868, 3868))),
	// a non-first fragment of a UDP datagram: no ports
	"frag": frametest.Eth(0x0800, frametest.IP4(podA, podC, decode.ProtoUDP, make([]byte, 64),
		frametest.IP4Opt{TTL: 64, ID: 0x1234, FragOff: 1480})),
	// the same TCP segment between nodes over flannel VXLAN (UDP 8472, VNI 1)
	"vxlan": frametest.Eth(0x0800, frametest.IP4(node1, node2, decode.ProtoUDP, frametest.UDP(51000, 8472,
		frametest.VXLAN(1, frametest.Eth(0x0800, frametest.IP4(podA, podC, decode.ProtoTCP, tcpSYN(40000, 8080))))))),
	// and over Calico IP-in-IP
	"ipip": frametest.Eth(0x0800, frametest.IP4(node1, node2, decode.ProtoIPIP,
		frametest.IP4(podA, podC, decode.ProtoTCP, tcpSYN(40000, 8080)))),
	// a UDP datagram in GRE with key 42
	"gre": frametest.Eth(0x0800, frametest.IP4(node1, node2, decode.ProtoGRE,
		frametest.GREKey(0x0800, 42, frametest.IP4(podA, podC, decode.ProtoUDP, frametest.UDP(5353, 53, nil))))),
	"icmp6": frametest.Eth(0x86dd, frametest.IP6("fd00::1", "fd00::2", decode.ProtoICMPv6, echo(128))),
	"arp":   frametest.Eth(0x0806, make([]byte, 28)),
}

// records decodes the test packets.
func records(t testing.TB) map[string]*decode.Record {
	t.Helper()
	d := decode.NewDecoder()
	recs := make(map[string]*decode.Record, len(packets))
	for name, frame := range packets {
		r := new(decode.Record)
		d.Decode(r, frame, decode.Meta{WireLen: len(frame), Link: decode.LinkEthernet})
		require.Zero(t, r.NProblem, "%s: %v", name, r.Problems[:r.NProblem])
		recs[name] = r
	}
	return recs
}

func TestRecords(t *testing.T) {
	recs := records(t)
	assert.Equal(t, 2, recs["vxlan"].NIP)
	assert.Equal(t, decode.TunnelVXLAN, recs["vxlan"].Tunnels[0].Type)
	assert.Equal(t, uint16(8472), recs["vxlan"].Tunnels[0].DPort)
	assert.Equal(t, decode.TunnelIPIP, recs["ipip"].Tunnels[0].Type)
	assert.Equal(t, decode.TunnelGRE, recs["gre"].Tunnels[0].Type)
	assert.Equal(t, uint32(42), recs["gre"].Tunnels[0].VNI)
	assert.Equal(t, uint8(decode.ProtoSCTP), recs["sctp"].L4.Proto)
	assert.Zero(t, recs["frag"].L4.Proto)
	assert.Zero(t, recs["arp"].NIP)
}

func TestMatch(t *testing.T) {
	recs := records(t)
	all := make([]string, 0, len(recs))
	for name := range recs {
		all = append(all, name)
	}
	slices.Sort(all)
	without := func(names ...string) string {
		return strings.Join(slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(names, n) }), " ")
	}
	pods := "frag gre icmp ipip sctp tcp udp vxlan" // every packet between pod A and pod C
	tests := []struct {
		expr string
		want string // names of the matching packets, sorted
	}{
		{"", strings.Join(all, " ")},
		{"   ", strings.Join(all, " ")},
		// inner headers by default: the tunnelled packets match their pods
		{"host 10.244.1.5", pods},
		{"src host 10.244.0.5", pods},
		{"dst host 10.244.0.5", ""},
		{"src and dst host 10.244.0.5", ""},
		{"src or dst host 10.244.0.5", pods},
		{"host " + node1, ""},
		{"inner host " + node1, ""},
		// outer headers: the node addresses of tunnelled packets, the only
		// header of the others
		{"outer host " + node1, "gre ipip vxlan"},
		{"outer src host " + node2, ""},
		{"outer dst host " + node2, "gre ipip vxlan"},
		{"outer host " + podC, "frag icmp sctp tcp udp"},
		{"any host " + node1, "gre ipip vxlan"},
		{"any host " + podC, pods},
		{"any host 10.244.1.5 and any host 192.168.1.11", "gre ipip vxlan"},
		// bare addresses and networks
		{"10.244.0.5", pods},
		{"src 10.244.0.5", pods},
		{"outer 192.168.1.0/24", "gre ipip vxlan"},
		{"net 10.244.0.0/16", pods},
		{"net 10.244.1.0/24", pods},
		{"src net 10.244.1.0/24", ""},
		{"net 10.244.1.77/24", pods},
		{"net 192.168.0.0/16", ""},
		{"outer net 192.168.0.0 mask 255.255.0.0", "gre ipip vxlan"},
		{"net 10.244.1.5", pods},
		{"net fd00::/64", "icmp6"},
		{"host fd00::2", "icmp6"},
		// ports: the innermost transport
		{"port 8080", "ipip tcp vxlan"},
		{"dst port 8080", "ipip tcp vxlan"},
		{"src port 8080", ""},
		{"port 9000", "udp"},
		{"port 53", "gre"},
		{"port 3868", "sctp"},
		{"port 8472", ""},
		{"portrange 8000-9000", "ipip tcp udp vxlan"},
		{"tcp port 8080", "ipip tcp vxlan"},
		{"udp port 8080", ""},
		{"udp dst port 53", "gre"},
		{"tcp portrange 1-65535", "ipip tcp vxlan"},
		// outer ports are those of the UDP tunnel, or of the single header
		{"outer port 8472", "vxlan"},
		{"outer udp dst port 8472", "vxlan"},
		{"outer port 8080", "tcp"},
		{"outer tcp", "tcp"},
		{"any port 8472", "vxlan"},
		{"any port 8080", "ipip tcp vxlan"},
		{"any udp port 51000", "vxlan"},
		// protocols
		{"tcp", "ipip tcp vxlan"},
		{"proto tcp", "ipip tcp vxlan"},
		{"proto 6", "ipip tcp vxlan"},
		{"udp", "frag gre udp"},
		{"outer udp", "frag udp vxlan"},
		{"any udp", "frag gre udp vxlan"},
		{"outer proto gre", "gre"},
		{"outer proto 4", "ipip"},
		{"icmp", "icmp"},
		{"icmp6", "icmp6"},
		{"proto icmpv6", "icmp6"},
		{"sctp", "sctp"},
		{"ip", pods},
		{"ip6", "icmp6"},
		{"not ip and not ip6", "arp"},
		// tunnels, at any depth
		{"vxlan", "vxlan"},
		{"ipip", "ipip"},
		{"gre", "gre"},
		{"geneve", ""},
		{"tunnel", "gre ipip vxlan"},
		{"not tunnel", "arp frag icmp icmp6 sctp tcp udp"},
		{"vni 1", "vxlan"},
		{"vni 42", "gre"},
		{"vni 1 or 42", "gre vxlan"},
		// operators, implicit repetition, precedence
		{"host 10.244.1.5 and port 8080", "ipip tcp vxlan"},
		{"udp and port 9000", "udp"},
		{"udp && port 9000", "udp"},
		{"tcp || udp", "frag gre ipip tcp udp vxlan"},
		{"!tcp", without("ipip", "tcp", "vxlan")},
		{"not not tcp", "ipip tcp vxlan"},
		{"port 53 or 9000", "gre udp"},
		{"port 53 or not 9000", without("udp")},
		{"portrange 1-100 or 9000-9001", "gre udp"},
		{"host 10.244.0.5 or fd00::1", "frag gre icmp icmp6 ipip sctp tcp udp vxlan"},
		{"proto 1 or 58", "icmp icmp6"},
		{"host fd00::9 or 10.244.9.9", ""},
		{"vxlan or 10.244.0.5", pods},
		{"tcp or fd00::2", "icmp6 ipip tcp vxlan"},
		// and/or have equal precedence, left to right, as in tcpdump
		{"icmp or tcp and vxlan", "vxlan"},
		{"icmp or (tcp and vxlan)", "icmp vxlan"},
		{"vxlan and tcp or icmp", "icmp vxlan"},
		{"not (tcp or udp) and ip", "icmp sctp"},
		{"HOST 10.244.1.5 AND Port 8080", "ipip tcp vxlan"},
		{"(((port 8080)))", "ipip tcp vxlan"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := Parse(tt.expr)
			require.NoError(t, err)
			var got []string
			for _, name := range all {
				if f.Match(recs[name]) {
					got = append(got, name)
				}
			}
			assert.Equal(t, tt.want, strings.Join(got, " "))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, err string }{
		{"host 10.244.1.5 and port x", `filter: position 26: expected port number, got "x"`},
		{"port", `filter: position 5: expected port number, got the end of the expression`},
		{"port 65536", `filter: position 6: expected port number, got "65536"`},
		{"port and tcp", `filter: position 6: expected port number, got "and"`},
		{"host", `filter: position 5: expected an IP address, got the end of the expression`},
		{"host foo.example", `filter: position 6: expected an IP address, got "foo.example"`},
		{"host 10.0.0.0/8", `filter: position 6: expected an IP address, got the network "10.0.0.0/8" (use net)`},
		{"net 10.0.0.1/33", `filter: position 5: expected a network (CIDR), got "10.0.0.1/33"`},
		{"net 10.0.0.0 mask 255.0.255.0", `filter: position 19: mask "255.0.255.0" is not contiguous`},
		{"net fd00:: mask 255.0.0.0", `filter: position 17: expected an IPv4 mask after an IPv4 network, got "255.0.0.0"`},
		{"portrange 9-1", `filter: position 11: port range "9-1" runs backwards`},
		{"portrange 9", `filter: position 11: expected a port range A-B, got "9"`},
		{"proto x", `filter: position 7: expected a protocol name or number 0-255, got "x"`},
		{"proto 256", `filter: position 7: expected a protocol name or number 0-255, got "256"`},
		{"vni", `filter: position 4: expected a VNI or GRE key, got the end of the expression`},
		{"foo", `filter: position 1: expected a primitive (host, net, port, proto, tcp, vxlan, ...), got "foo"`},
		{"src tcp", `filter: position 5: expected host, net, port or portrange, got "tcp"`},
		{"outer", `filter: position 6: expected host, net, port or portrange, got the end of the expression`},
		{"tcp src host 10.0.0.1", `filter: position 9: expected port or portrange after tcp, got "host"`},
		{"outer vxlan", `filter: position 1: "outer" does not apply to vxlan`},
		{"any vni 3", `filter: position 1: "any" does not apply to vni`},
		{"tcp and", `filter: position 8: expected a primitive (host, net, port, proto, tcp, vxlan, ...), got the end of the expression`},
		{"tcp udp", `filter: position 5: expected and, or or the end of the expression, got "udp"`},
		{"(tcp", `filter: position 5: expected ), got the end of the expression`},
		{"tcp)", `filter: position 4: expected and, or or the end of the expression, got ")"`},
		{"tcp & udp", `filter: position 5: expected &&, got "&"`},
		{"tcp | udp", `filter: position 5: expected ||, got "|"`},
		{"not", `filter: position 4: expected a primitive (host, net, port, proto, tcp, vxlan, ...), got the end of the expression`},
		{"ip or foo", `filter: position 7: expected a primitive (host, net, port, proto, tcp, vxlan, ...), got "foo"`},
		{strings.Repeat("(", 100) + "tcp" + strings.Repeat(")", 100), `filter: position 65: expression nested too deeply`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := Parse(tt.expr)
			assert.Nil(t, f)
			require.EqualError(t, err, tt.err)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Positive(t, se.Pos)
		})
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	assert.True(t, f.Match(&decode.Record{}))
	assert.Equal(t, "", f.String())
	assert.Equal(t, "host 10.0.0.1", MustParse("host 10.0.0.1").String())
	assert.Panics(t, func() { MustParse("host") })
}

func TestMatchDoesNotAllocate(t *testing.T) {
	recs := records(t)
	f := MustParse("(any host 10.244.1.5 or net fd00::/64) and not (outer port 8472 or vni 7) and tcp portrange 1-9000 or icmp6")
	for name, r := range recs {
		allocs := testing.AllocsPerRun(100, func() { f.Match(r) })
		assert.Zero(t, allocs, name)
	}
}

func BenchmarkMatch(b *testing.B) {
	r := records(b)["vxlan"]
	f := MustParse("host 10.244.1.5 and port 8080 and not outer port 4789")
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(r) {
			b.Fatal("no match")
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"host 10.244.1.5 and port 8080", "outer src or dst net 10.0.0.0 mask 255.0.0.0",
		"!(tcp || udp) && any portrange 1-2 or 3-4", "vni 1 or 2", "proto 6 or 17", "src and dst fd00::1",
	} {
		f.Add(s)
	}
	recs := records(f)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !assert.ErrorAs(t, err, &se) || se.Pos < 1 || se.Pos > len(expr)+1 {
				t.Fatalf("%q: bad error %v", expr, err)
			}
			return
		}
		for _, r := range recs {
			flt.Match(r)
		}
	})
}
