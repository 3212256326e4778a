package decode

import (
	"net/netip"
)

// Limits on how deep the decoder descends. Real pod networks nest at most two
// or three tunnels; the limits only bound the work a hostile packet can cause.
const (
	MaxIPDepth  = 6 // IP headers kept per packet, outermost first
	MaxTunnels  = MaxIPDepth - 1
	MaxVLANs    = 3
	MaxProblems = 4
)

// Record is one decoded packet. It is a plain value: decoding fills it in
// place and never allocates. The zero value is an empty record. A Record is
// not safe for concurrent use.
type Record struct {
	TS      int64 // capture time, ns since the Unix epoch, UTC
	WireLen int   // length on the wire
	CapLen  int   // bytes captured (less than WireLen when cut by the snap length)
	Iface   int   // pcapng interface index; 0 for pcap

	Link Link

	IP  [MaxIPDepth]IPHeader // IP headers, outermost first; valid up to NIP
	NIP int

	Tunnels [MaxTunnels]Tunnel // tunnel chain, outermost first; valid up to NTunnel
	NTunnel int
	// L4 is the transport of the innermost IP header; empty when that header
	// carries a tunnel whose payload is not IP (ARP inside VXLAN, say).
	L4       Transport
	ICMP     ICMP // valid iff L4.Proto is ICMP or ICMPv6
	Problems [MaxProblems]Problem
	NProblem int
	// Snapped reports that decoding stopped because the snap length cut the
	// packet short. It is not a problem: bulk captures are snapped on purpose.
	Snapped bool
}

// Inner returns the innermost IP header, or nil when the packet has none.
func (r *Record) Inner() *IPHeader {
	if r.NIP == 0 {
		return nil
	}
	return &r.IP[r.NIP-1]
}

// Outer returns the outermost IP header, or nil when the packet has none.
func (r *Record) Outer() *IPHeader {
	if r.NIP == 0 {
		return nil
	}
	return &r.IP[0]
}

// Direction is the packet direction a Linux cooked capture records.
type Direction uint8

// Directions, from the kernel's PACKET_* packet types.
const (
	DirUnknown   Direction = iota
	DirIn                  // PACKET_HOST: addressed to this host
	DirBroadcast           // PACKET_BROADCAST
	DirMulticast           // PACKET_MULTICAST
	DirOtherHost           // PACKET_OTHERHOST: seen in promiscuous mode
	DirOut                 // PACKET_OUTGOING: sent by this host
)

var dirNames = [...]string{"", "in", "broadcast", "multicast", "otherhost", "out"}

func (d Direction) String() string {
	if int(d) < len(dirNames) {
		return dirNames[d]
	}
	return "unknown"
}

// Link is what the outermost link layer says about the packet.
type Link struct {
	Type      LinkType
	EtherType uint16 // the ethertype of the outermost payload, after VLAN tags
	VLANs     [MaxVLANs]uint16
	NVLAN     int
	// IfIndex is the interface index a Linux SLL2 capture records (tcpdump -i
	// any); 0 when the link type carries none.
	IfIndex int32
	Dir     Direction // Linux SLL and SLL2 only
	ARP     bool      // the packet is ARP (recognised, not decoded further)
}

// LinkType is a pcap LINKTYPE_ value.
type LinkType uint16

// Link types the decoder understands.
const (
	LinkNull     LinkType = 0   // BSD loopback, host-order address family
	LinkEthernet LinkType = 1   //
	LinkRawBSD   LinkType = 12  // raw IP on some BSDs (DLT_RAW)
	LinkRawBSD2  LinkType = 14  // raw IP on OpenBSD (DLT_RAW)
	LinkRaw      LinkType = 101 // raw IPv4 or IPv6
	LinkLoop     LinkType = 108 // OpenBSD loopback, network-order address family
	LinkLinuxSLL LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	LinkSLL2     LinkType = 276 // Linux cooked capture v2, tcpdump -i any
)

// IPHeader is one IPv4 or IPv6 header. For IPv6, ID, MF and FragOffset come
// from the fragment extension header when there is one.
type IPHeader struct {
	Src, Dst netip.Addr
	Version  uint8 // 4 or 6
	// Proto is the protocol carried, after any IPv6 extension headers and
	// authentication header; when the chain is cut short, the header where
	// it stops.
	Proto  uint8
	TTL    uint8 // TTL or hop limit
	DF, MF bool
	// Frag reports an IPv6 fragment header (IPv4 fragments show in MF and
	// FragOffset).
	Frag       bool
	ID         uint32 // IPv4 identification, or IPv6 fragment identification
	FragOffset uint16 // in bytes
	HdrLen     uint16 // header length including options and extension headers
	// TotalLen is the length the header claims: IPv4 total length, or the
	// IPv6 payload length plus 40. A zero IPv4 total length on a large
	// packet (BIG TCP) is replaced by the captured length.
	TotalLen uint32
	Offset   uint32 // where the header starts in the captured frame
}

// IsFragment reports whether the header belongs to a fragment of a larger
// datagram.
func (h *IPHeader) IsFragment() bool { return h.MF || h.FragOffset != 0 }

// TunnelType names an encapsulation.
type TunnelType uint8

// Tunnel types.
const (
	TunnelNone   TunnelType = iota
	TunnelVXLAN             // UDP 4789, 8472 or a configured port
	TunnelGeneve            // UDP 6081
	TunnelIPIP              // IPv4 in IPv4 (Calico tunl0)
	Tunnel6in4              // IPv6 in IPv4 (SIT)
	Tunnel4in6              // IPv4 in IPv6
	Tunnel6in6              // IPv6 in IPv6
	TunnelGRE               // GRE carrying IP
	TunnelGRETEB            // GRE transparent Ethernet bridging
	TunnelERSPAN            // GRE-carried ERSPAN type II or III
	TunnelPPTP              // enhanced GRE (version 1) carrying PPP
)

var tunnelNames = [...]string{"", "vxlan", "geneve", "ipip", "6in4", "4in6", "6in6", "gre", "gretap", "erspan", "pptp"}

func (t TunnelType) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "unknown"
}

// Tunnel is one encapsulation layer: the outer IP header IP[Outer] carries
// the tunnel, whose payload starts with IP[Outer+1].
type Tunnel struct {
	Type  TunnelType
	Outer int // index of the carrying IP header in Record.IP
	// VNI is the VXLAN or Geneve network identifier, or the GRE key; valid iff
	// HasVNI.
	VNI    uint32
	HasVNI bool
	// SPort and DPort are the outer UDP ports of VXLAN and Geneve.
	SPort, DPort uint16
	// Overhead is the bytes the tunnel adds to the packet it carries: outer
	// IP header, UDP, tunnel header and any inner Ethernet header.
	Overhead uint16
}

// IP protocol numbers used by the decoder.
const (
	ProtoICMP   = 1
	ProtoIPIP   = 4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41
	ProtoGRE    = 47
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// TCP flag bits as they appear in the header.
const (
	TCPFin = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
	TCPEce
	TCPCwr
)

// Transport is the transport header of the innermost IP packet.
type Transport struct {
	Proto uint8 // IP protocol; 0 when there is no transport header
	// SPort and DPort are valid iff Proto is TCP, UDP or SCTP.
	SPort, DPort uint16
	// The remaining fields are valid iff Proto is TCP; a header the snap
	// length cuts short leaves those it does not hold 0.
	Flags  uint8
	Seq    uint32
	Ack    uint32
	Window uint16
	MSS    uint16 // the MSS option, 0 when absent
	// PayloadLen is the transport payload length the headers claim (TCP and
	// UDP), which may exceed what was captured.
	PayloadLen int
}

// ICMP is an ICMP or ICMPv6 message. For error messages (destination
// unreachable, time exceeded, packet too big, …) Quoted describes the packet
// that caused the error, so the error can be tied to its flow.
type ICMP struct {
	Type, Code uint8
	// MTU is the next-hop MTU of an ICMP fragmentation-needed or ICMPv6
	// packet-too-big message; 0 otherwise.
	MTU uint32
	// ID and Seq identify echo requests and replies.
	ID, Seq   uint16
	HasQuoted bool
	Quoted    Quoted
}

// Quoted is the start of the packet an ICMP error quotes.
type Quoted struct {
	Src, Dst netip.Addr
	Proto    uint8
	ID       uint32 // IPv4 identification of the quoted packet
	// SPort and DPort are valid iff Proto is TCP, UDP or SCTP and quoted;
	// for a quoted ICMP echo request SPort is its identifier.
	SPort, DPort uint16
	Seq          uint32 // TCP sequence number of the quoted segment, if quoted
}

// IsError reports whether the message is an ICMP error rather than a query.
func (m *ICMP) IsError(v6 bool) bool {
	if v6 {
		return m.Type < 128
	}
	switch m.Type {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// FragNeeded reports whether the message tells the sender to lower its MTU:
// ICMP destination unreachable/fragmentation needed or ICMPv6 packet too big.
func (m *ICMP) FragNeeded(v6 bool) bool {
	if v6 {
		return m.Type == 2
	}
	return m.Type == 3 && m.Code == 4
}

// Layer names where a problem was found.
type Layer uint8

// Layers.
const (
	LayerLink Layer = iota
	LayerVLAN
	LayerARP
	LayerIPv4
	LayerIPv6
	LayerGRE
	LayerUDP
	LayerVXLAN
	LayerGeneve
	LayerTCP
	LayerICMP
	LayerICMPv6
	LayerPPP
	LayerERSPAN
)

var layerNames = [...]string{"link", "vlan", "arp", "ipv4", "ipv6", "gre", "udp", "vxlan", "geneve", "tcp", "icmp", "icmpv6", "ppp", "erspan"}

func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return "unknown"
}

// Fault is a kind of malformation.
type Fault uint8

// Faults.
const (
	FaultTruncated       Fault = iota + 1 // the header does not fit in the packet
	FaultBadVersion                       // IP version does not match the link's claim
	FaultBadHeaderLen                     // header length field too small
	FaultBadLength                        // length field larger than the packet
	FaultTooDeep                          // more nested tunnels than the decoder keeps
	FaultUnsupportedLink                  // link type the decoder does not know
	FaultBadOption                        // malformed option or extension header
	FaultUnsupported                      // unsupported version or flags
)

var faultNames = [...]string{"", "truncated", "bad version", "bad header length", "length exceeds packet", "too many nested tunnels", "unsupported link type", "bad option", "unsupported"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "unknown"
}

// Problem is one thing wrong with a packet: where and what.
type Problem struct {
	Layer Layer
	Fault Fault
}

func (p Problem) String() string { return p.Layer.String() + ": " + p.Fault.String() }
