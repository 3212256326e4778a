// Package filter selects decoded packets with tcpdump-style expressions
// evaluated on decode.Records, so that decode, analyze and the commands
// built on them keep only the packets a user asks about.
//
// # Language
//
// An expression combines primitives with not/!, and/&&, or/|| and
// parentheses. As in pcap-filter(7), negation binds tightest while and and
// or have equal precedence and associate left to right: "host a or host b
// and port 80" means "(host a or host b) and port 80". Use parentheses.
//
// Primitives:
//
//	host ADDR            the IP header's source or destination is ADDR (IPv4 or IPv6)
//	net CIDR             ... lies in CIDR (host bits are ignored)
//	net ADDR mask MASK   ... the same with an IPv4 dotted mask
//	port N               the transport's source or destination port is N
//	portrange A-B        ... lies in A..B
//	proto P              the IP header carries protocol P: tcp, udp, icmp, icmp6,
//	                     sctp, gre, esp, ah or a number 0-255
//	tcp udp sctp icmp icmp6   short for proto P
//	ip ip6               the IP header is IPv4 / IPv6
//	vxlan geneve ipip gre     the packet carries such a tunnel at any depth
//	                     (ipip: IPv4/IPv6 in IPv4/IPv6; gre: GRE, GRE/TEB,
//	                     ERSPAN and PPTP's enhanced GRE)
//	tunnel               the packet carries any tunnel
//	vni N                a tunnel's VXLAN/Geneve VNI or GRE key is N
//
// host, net, port and portrange take a direction, src or dst (or "src or
// dst", the default, and "src and dst"): "src host 10.244.1.5". port and
// portrange may be restricted to one transport: "tcp dst port 8080", "udp
// port 53". A bare address or CIDR is a host or net primitive, and after an
// and/or/not a bare value repeats the previous primitive's qualifiers, as in
// tcpdump: "host 10.0.0.1 or 10.0.0.2", "port 53 or 5353".
//
// # Layers
//
// In a pod network most packets are encapsulated, and a user asking for
// "host 10.244.1.5" means the pod, not the node carrying its traffic. So a
// primitive looks at the innermost IP header and its transport by default.
// A leading qualifier picks another layer:
//
//	inner   the innermost IP header and its transport (the default)
//	outer   the outermost IP header; its ports are the tunnel's UDP ports
//	        (VXLAN, Geneve), or the transport's when the packet has a single
//	        IP header
//	any     any IP header of the packet, each with its ports
//
// "outer host 192.168.1.10" finds the traffic between nodes; "any host
// 10.0.0.1" finds an address wherever it appears. An unencapsulated packet
// has one IP header, which is both inner and outer. A packet without an IP
// header (ARP) matches no primitive but tunnel ones. Ports are those of
// TCP, UDP and SCTP; a non-first fragment has none.
//
// Addresses are compared as given: no name resolution, and an IPv4 address
// does not match its IPv4-mapped IPv6 form.
package filter

import (
	"fmt"
	"net/netip"

	"github.com/hoptrace/hoptrace/decode"
)

// Filter is a compiled expression. Match does not allocate and does not
// modify the Filter, so one Filter may be shared between goroutines. A nil
// *Filter matches every packet.
type Filter struct {
	nodes []node
	root  int32
	expr  string
}

// SyntaxError is an expression Parse could not read. Pos is the 1-based
// byte position in the expression where the problem was found.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg)
}

// String returns the expression the filter was parsed from.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.expr
}

// Match reports whether the packet satisfies the filter.
func (f *Filter) Match(r *decode.Record) bool {
	if f == nil || len(f.nodes) == 0 {
		return true
	}
	return f.eval(f.root, r)
}

// op is what a node does.
type op uint8

const (
	opPrim op = iota
	opNot
	opAnd
	opOr
)

// node is one node of the expression tree; children are indices into
// Filter.nodes, so the tree is one allocation and evaluation chases no
// interfaces.
type node struct {
	op   op
	l, r int32 // children: l for not, l and r for and/or
	p    prim
}

func (f *Filter) eval(i int32, r *decode.Record) bool {
	n := &f.nodes[i]
	switch n.op {
	case opNot:
		return !f.eval(n.l, r)
	case opAnd:
		return f.eval(n.l, r) && f.eval(n.r, r)
	case opOr:
		return f.eval(n.l, r) || f.eval(n.r, r)
	}
	return n.p.match(r)
}

// kind is what a primitive tests.
type kind uint8

const (
	kHost kind = iota
	kNet
	kPort    // port and portrange
	kProto   // IP protocol
	kVersion // ip, ip6
	kTunnel  // tunnel types, by bit
	kVNI
)

// layer is which IP headers a primitive looks at.
type layer uint8

const (
	layerInner layer = iota
	layerOuter
	layerAny
)

// dir is which end of a header a primitive looks at.
type dir uint8

const (
	dirEither dir = iota
	dirSrc
	dirDst
	dirBoth
)

// prim is one primitive test.
type prim struct {
	kind   kind
	layer  layer
	dir    dir
	proto  uint8 // kProto: the protocol; kPort: the transport required, 0 for any
	ver    uint8 // kVersion
	lo, hi uint16
	rng    bool // kPort: given as a portrange (only the parser reads it)
	addr   netip.Addr
	pfx    netip.Prefix
	tunnel uint16 // kTunnel: bit set of decode.TunnelType
	vni    uint32
}

func (p *prim) match(r *decode.Record) bool {
	switch p.kind {
	case kTunnel:
		for i := range r.NTunnel {
			if p.tunnel&(1<<r.Tunnels[i].Type) != 0 {
				return true
			}
		}
		return false
	case kVNI:
		for i := range r.NTunnel {
			if t := &r.Tunnels[i]; t.HasVNI && t.VNI == p.vni {
				return true
			}
		}
		return false
	}
	if r.NIP == 0 {
		return false
	}
	switch p.layer {
	case layerOuter:
		return p.matchAt(r, 0)
	case layerAny:
		for i := range r.NIP {
			if p.matchAt(r, i) {
				return true
			}
		}
		return false
	}
	return p.matchAt(r, r.NIP-1)
}

// matchAt tests IP header i of the record and the transport above it.
func (p *prim) matchAt(r *decode.Record, i int) bool {
	h := &r.IP[i]
	switch p.kind {
	case kHost:
		return p.ends(h.Src == p.addr, h.Dst == p.addr)
	case kNet:
		return p.ends(p.pfx.Contains(h.Src), p.pfx.Contains(h.Dst))
	case kProto:
		return h.Proto == p.proto
	case kVersion:
		return h.Version == p.ver
	case kPort:
		proto, sport, dport, ok := ports(r, i)
		if !ok || p.proto != 0 && proto != p.proto {
			return false
		}
		return p.ends(p.lo <= sport && sport <= p.hi, p.lo <= dport && dport <= p.hi)
	}
	return false
}

// ends combines the source and destination outcomes by direction.
func (p *prim) ends(src, dst bool) bool {
	switch p.dir {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return src && dst
	}
	return src || dst
}

// ports returns the transport ports above IP header i: the decoded
// transport for the innermost header, the outer UDP ports of a VXLAN or
// Geneve tunnel the header carries otherwise.
func ports(r *decode.Record, i int) (proto uint8, sport, dport uint16, ok bool) {
	if i == r.NIP-1 {
		switch r.L4.Proto {
		case decode.ProtoTCP, decode.ProtoUDP, decode.ProtoSCTP:
			return r.L4.Proto, r.L4.SPort, r.L4.DPort, true
		}
		return 0, 0, 0, false
	}
	for k := range r.NTunnel {
		t := &r.Tunnels[k]
		if t.Outer == i && (t.Type == decode.TunnelVXLAN || t.Type == decode.TunnelGeneve) {
			return decode.ProtoUDP, t.SPort, t.DPort, true
		}
	}
	return 0, 0, 0, false
}
