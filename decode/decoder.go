package decode

import (
	"encoding/binary"
	"net/netip"
)

// Well-known tunnel ports. Linux and flannel use 8472 for VXLAN (the port
// chosen before IANA assigned 4789), Weave Net's fast datapath VXLAN on
// 6784 (its sleeve mode, 6783, is its own format); all three are decoded
// out of the box.
const (
	PortVXLAN        = 4789
	PortVXLANFlannel = 8472
	PortVXLANWeave   = 6784
	PortGeneve       = 6081
)

// Meta is what the capture file says about a packet besides its bytes.
type Meta struct {
	TS      int64 // ns since the Unix epoch
	WireLen int
	Iface   int
	Link    LinkType
}

// Decoder turns captured frames into Records. Configure it before use; after
// that it is read-only and may be shared between goroutines.
type Decoder struct {
	vxlan [1 << 16 / 64]uint64 // bitmap of UDP ports decoded as VXLAN
}

// NewDecoder returns a decoder that treats UDP 4789, 8472, 6784 and the
// given extra ports as VXLAN.
func NewDecoder(vxlanPorts ...uint16) *Decoder {
	d := &Decoder{}
	d.AddVXLANPort(PortVXLAN)
	d.AddVXLANPort(PortVXLANFlannel)
	d.AddVXLANPort(PortVXLANWeave)
	for _, p := range vxlanPorts {
		d.AddVXLANPort(p)
	}
	return d
}

// AddVXLANPort makes UDP port p decode as VXLAN.
func (d *Decoder) AddVXLANPort(p uint16) { d.vxlan[p>>6] |= 1 << (p & 63) }

func (d *Decoder) isVXLAN(p uint16) bool { return d.vxlan[p>>6]&(1<<(p&63)) != 0 }

// Decode decodes frame into r, overwriting all of r. It never fails and never
// allocates: whatever cannot be decoded is recorded in r.Problems, or in
// r.Snapped when the snap length cut the frame short.
//
// r must be the zero Record or hold what Decode last put there (a copy will
// do): a Record is 808 bytes, most of them arrays of which a packet uses the
// first entry or two, so Decode clears only the entries the previous packet
// used and the new one does not. Clearing all of it took a third of Decode.
func (d *Decoder) Decode(r *Record, frame []byte, m Meta) {
	d.fast(r, frame, m) // which calls the general decoder when it must (fast.go)
}

// general is Decode for any frame: it walks the layers one by one, noting
// whatever it finds wrong.
func (d *Decoder) general(r *Record, frame []byte, m Meta) {
	nip, ntun, nprob := r.NIP, r.NTunnel, r.NProblem
	r.TS, r.WireLen, r.CapLen, r.Iface = m.TS, m.WireLen, len(frame), m.Iface
	r.Link = Link{Type: m.Link}
	r.NIP, r.NTunnel, r.NProblem, r.Snapped = 0, 0, 0, false
	r.clearTransport()
	p := parser{d: d, r: r, frame: frame, cut: len(frame) < m.WireLen, wireEnd: m.WireLen}
	p.link(frame)
	// Every entry up to the new counts was written whole; clear the rest of
	// what the previous packet used.
	if nip > r.NIP {
		clear(r.IP[r.NIP:nip])
	}
	if ntun > r.NTunnel {
		clear(r.Tunnels[r.NTunnel:ntun])
	}
	if nprob > r.NProblem {
		clear(r.Problems[r.NProblem:nprob])
	}
}

// clearTransport empties L4 and ICMP. ICMP is set only together with an
// ICMP L4.Proto, so it needs clearing only then.
func (r *Record) clearTransport() {
	if r.L4.Proto == ProtoICMP || r.L4.Proto == ProtoICMPv6 {
		r.ICMP = ICMP{}
	}
	r.L4 = Transport{}
}

// parser holds the state of one Decode call.
type parser struct {
	d     *Decoder
	r     *Record
	frame []byte
	// cut reports that the bytes being decoded run to the end of the capture
	// and that the snap length cut the capture short, so a header that does
	// not fit is snapped rather than malformed.
	cut bool
	// wireEnd is where the packet being decoded ends on the wire while cut:
	// the wire length, or less where an enclosing length field says so.
	wireEnd int
	// tunnel is the tunnel whose payload is being decoded; its inner IP
	// header, when found, completes its overhead.
	tunnel *Tunnel
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// offset returns where b starts in the frame; b must be a sub-slice of it.
func (p *parser) offset(b []byte) int { return cap(p.frame) - cap(b) }

func (p *parser) problem(l Layer, f Fault) {
	if p.r.NProblem < MaxProblems {
		p.r.Problems[p.r.NProblem] = Problem{l, f}
		p.r.NProblem++
	}
}

// short records that a header of layer l does not fit in what is left.
func (p *parser) short(l Layer) {
	if p.cut {
		p.r.Snapped = true
		return
	}
	p.problem(l, FaultTruncated)
}

// clip limits b to the n bytes a length field claims.
func (p *parser) clip(b []byte, n int, l Layer) []byte {
	switch {
	case n <= len(b): // all of it captured
		p.cut = false
		return b[:n]
	case n > len(b) && !p.cut:
		p.problem(l, FaultBadLength)
	case n > len(b):
		p.wireEnd = min(p.wireEnd, p.offset(b)+n)
	}
	return b
}

func (p *parser) link(b []byte) {
	l := &p.r.Link
	switch l.Type {
	case LinkEthernet:
		p.ethernet(b, true)
	case LinkLinuxSLL:
		if len(b) < 16 {
			p.short(LayerLink)
			return
		}
		l.Dir = direction(be16(b))
		if hatype := be16(b[2:]); hatype == 824 { // netlink
			return
		}
		p.ethertype(be16(b[14:]), b[16:], true)
	case LinkSLL2:
		if len(b) < 20 {
			p.short(LayerLink)
			return
		}
		l.IfIndex = int32(be32(b[4:]))
		l.Dir = direction(uint16(b[10]))
		if hatype := be16(b[8:]); hatype == 824 {
			return
		}
		p.ethertype(be16(b), b[20:], true)
	case LinkRaw, LinkRawBSD, LinkRawBSD2:
		if !p.ipByVersion(b) {
			p.problem(LayerLink, FaultBadVersion)
		}
	case LinkIPv4:
		p.ipv4(b)
	case LinkIPv6:
		p.ipv6(b)
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			p.short(LayerLink)
			return
		}
		// The family is in the capturing host's byte order for NULL and in
		// network order for LOOP; a small value tells which.
		fam := be32(b)
		if l.Type == LinkNull && fam > 0xffff {
			fam = binary.LittleEndian.Uint32(b)
		}
		switch fam {
		case 2:
			p.ipv4(b[4:])
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			p.ipv6(b[4:])
		}
	default:
		p.problem(LayerLink, FaultUnsupportedLink)
	}
}

// direction maps a Linux PACKET_* type to a Direction.
func direction(pkttype uint16) Direction {
	if pkttype <= 4 {
		return Direction(pkttype + 1)
	}
	return DirUnknown
}

// ethernet decodes an Ethernet header; top is false for frames inside a
// tunnel.
func (p *parser) ethernet(b []byte, top bool) {
	if len(b) < 14 {
		p.short(LayerLink)
		return
	}
	p.ethertype(be16(b[12:]), b[14:], top)
}

// ethertype dispatches a payload by ethertype, first skipping VLAN tags.
func (p *parser) ethertype(et uint16, b []byte, top bool) {
	l := &p.r.Link
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if len(b) < 4 {
			p.short(LayerVLAN)
			return
		}
		if top && l.NVLAN < MaxVLANs {
			l.VLANs[l.NVLAN] = be16(b) & 0x0fff
			l.NVLAN++
		}
		et, b = be16(b[2:]), b[4:]
	}
	if top {
		l.EtherType = et
	}
	switch et {
	case 0x0800:
		p.ipv4(b)
	case 0x86dd:
		p.ipv6(b)
	case 0x0806:
		l.ARP = true
	case 0x8847, 0x8848: // MPLS unicast, multicast
		p.mpls(b)
	case 0x8864: // PPPoE session: version, type, code, session ID, length
		if len(b) < 6 {
			p.short(LayerPPP)
			return
		}
		p.ppp(b[6:])
	}
}

// mpls skips an MPLS label stack and decodes the IP packet under it, which
// carries no type: like routers, tell IPv4 from IPv6 by the version.
func (p *parser) mpls(b []byte) {
	for {
		if len(b) < 4 {
			p.short(LayerLink)
			return
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	p.ipByVersion(b)
}

// ipByVersion decodes an IP packet that nothing in front of it types (raw
// IP link types, MPLS) by its version nibble. It reports false when the
// bytes are neither IPv4 nor IPv6; a missing first byte is a short packet.
func (p *parser) ipByVersion(b []byte) bool {
	if len(b) < 1 {
		p.short(LayerLink)
		return true
	}
	switch b[0] >> 4 {
	case 4:
		p.ipv4(b)
	case 6:
		p.ipv6(b)
	default:
		return false
	}
	return true
}

// pushIP appends an IP header at offset off and completes the overhead of
// the tunnel that carries it. It returns nil when the packet nests deeper
// than the decoder keeps.
func (p *parser) pushIP(off int) *IPHeader {
	r := p.r
	if r.NIP == MaxIPDepth {
		p.problem(LayerIPv4, FaultTooDeep)
		return nil
	}
	if t := p.tunnel; t != nil {
		d := off - p.offsetOfIP(t.Outer)
		if d > 0xffff {
			// Only thousands of VLAN tags or MPLS labels put an inner
			// header this far in; the Overhead could not say how far.
			p.problem(LayerLink, FaultTooDeep)
			return nil
		}
		t.Overhead = uint16(d)
		p.tunnel = nil
	}
	// The transport belongs to the innermost header; it is empty here, as
	// an IP header is only pushed first or inside a tunnel just started.
	h := &r.IP[r.NIP]
	r.NIP++
	return h
}

// offsetOfIP returns where IP header i starts in the frame.
func (p *parser) offsetOfIP(i int) int { return int(p.r.IP[i].Offset) }

func (p *parser) ipv4(b []byte) {
	if len(b) < 20 {
		p.short(LayerIPv4)
		return
	}
	if b[0]>>4 != 4 {
		p.problem(LayerIPv4, FaultBadVersion)
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		p.problem(LayerIPv4, FaultBadHeaderLen)
		return
	}
	off := p.offset(b)
	h := p.pushIP(off)
	if h == nil {
		return
	}
	total := int(be16(b[2:]))
	h.setIPv4(b, off)
	// Segmentation offload (TSO, BIG TCP) leaves the length to the NIC: the
	// packet is as long as what is left of it on the wire, options cut or not.
	offload := total == 0 && h.FragOffset == 0 && !h.MF
	if offload {
		h.TotalLen = uint32(p.wireLeft(b))
	}
	if len(b) < ihl {
		p.short(LayerIPv4)
		return
	}
	switch {
	case offload:
	case total < ihl:
		p.problem(LayerIPv4, FaultBadLength)
		return
	default:
		b = p.clip(b, total, LayerIPv4)
	}
	if h.FragOffset != 0 {
		return // no transport header in a later fragment
	}
	p.transport(h, b[ihl:])
}

// setIPv4 fills h from the IPv4 header b, at least 20 bytes, found at
// offset off of the frame. Every field is set, one by one: building the
// header aside and copying it in costs 10 ns a header.
func (h *IPHeader) setIPv4(b []byte, off int) {
	_ = b[19]
	frag := be16(b[6:])
	h.Src, h.Dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	h.Version, h.Proto, h.TTL = 4, b[9], b[8]
	h.DF, h.MF, h.Frag = frag&0x4000 != 0, frag&0x2000 != 0, false
	h.ID, h.FragOffset, h.HdrLen = uint32(be16(b[4:])), (frag&0x1fff)*8, uint16(b[0]&0x0f)*4
	h.TotalLen, h.Offset = uint32(be16(b[2:])), uint32(off)
}

// wireLeft returns how many bytes of the packet on the wire remain from the
// start of b.
func (p *parser) wireLeft(b []byte) int {
	if p.cut {
		return p.wireEnd - p.offset(b)
	}
	return len(b)
}

// maxExtHeaders bounds the IPv6 extension header chain walked per header.
const maxExtHeaders = 8

func (p *parser) ipv6(b []byte) {
	if len(b) < 40 {
		p.short(LayerIPv6)
		return
	}
	if b[0]>>4 != 6 {
		p.problem(LayerIPv6, FaultBadVersion)
		return
	}
	off := p.offset(b)
	h := p.pushIP(off)
	if h == nil {
		return
	}
	plen := int(be16(b[4:]))
	*h = IPHeader{
		Src:      netip.AddrFrom16([16]byte(b[8:24])),
		Dst:      netip.AddrFrom16([16]byte(b[24:40])),
		Version:  6,
		TTL:      b[7],
		HdrLen:   40,
		TotalLen: uint32(plen) + 40,
		Offset:   uint32(off),
	}
	next := b[6]
	if plen == 0 && next == 0 {
		// A jumbogram (or BIG TCP) carries its length in a hop-by-hop
		// option; take the packet as long as the wire says.
		h.TotalLen = uint32(p.wireLeft(b))
	} else {
		b = p.clip(b, plen+40, LayerIPv6)
	}
	b = b[40:]
	for range maxExtHeaders {
		// Proto follows the chain, so a chain cut short still names the
		// header where it stops.
		h.Proto = next
		var n int
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 2 {
				p.short(LayerIPv6)
				return
			}
			n = (int(b[1]) + 1) * 8
		case 51: // authentication header
			if len(b) < 2 {
				p.short(LayerIPv6)
				return
			}
			n = (int(b[1]) + 2) * 4
		case 44: // fragment
			if len(b) < 8 {
				p.short(LayerIPv6)
				return
			}
			fo := be16(b[2:])
			h.Frag, h.MF, h.FragOffset, h.ID = true, fo&1 != 0, fo&0xfff8, be32(b[4:])
			n = 8
		default:
			if h.FragOffset != 0 {
				return
			}
			p.transport(h, b)
			return
		}
		if len(b) < n {
			p.short(LayerIPv6)
			return
		}
		next, b = b[0], b[n:]
		h.HdrLen += uint16(n)
	}
	p.problem(LayerIPv6, FaultBadOption)
}

// startTunnel records a tunnel carried by the innermost IP header whose
// payload starts at payload.
func (p *parser) startTunnel(t TunnelType, payload []byte) *Tunnel {
	r := p.r
	if r.NTunnel == MaxTunnels {
		p.problem(LayerIPv4, FaultTooDeep)
		return nil
	}
	tu := &r.Tunnels[r.NTunnel]
	r.NTunnel++
	outer := r.NIP - 1
	*tu = Tunnel{Type: t, Outer: outer, Overhead: uint16(p.offset(payload) - p.offsetOfIP(outer))}
	p.tunnel = tu
	r.clearTransport() // the carrier's UDP ports live in the tunnel
	return tu
}

// transport decodes what IP header h carries.
func (p *parser) transport(h *IPHeader, b []byte) {
	switch h.Proto {
	case ProtoIPIP:
		t := TunnelIPIP
		if h.Version == 6 {
			t = Tunnel4in6
		}
		if p.startTunnel(t, b) != nil {
			p.ipv4(b)
		}
	case ProtoIPv6:
		t := Tunnel6in4
		if h.Version == 6 {
			t = Tunnel6in6
		}
		if p.startTunnel(t, b) != nil {
			p.ipv6(b)
		}
	case ProtoGRE:
		p.gre(b)
	case ProtoUDP:
		p.udp(h, b)
	case ProtoTCP:
		p.tcp(h, b)
	case ProtoICMP:
		p.icmp(b, false)
	case ProtoICMPv6:
		p.icmp(b, true)
	case ProtoSCTP:
		p.r.L4.Proto = ProtoSCTP
		if len(b) < 4 {
			p.short(LayerIPv4)
			return
		}
		p.r.L4.SPort, p.r.L4.DPort = be16(b), be16(b[2:])
	case 51:
		// An IPv4 authentication header; like IPv6, which walks it with
		// its extension headers, take the protocol behind it.
		if len(b) < 2 || len(b) < (int(b[1])+2)*4 {
			p.short(LayerIPv4)
			return
		}
		n := (int(b[1]) + 2) * 4
		h.Proto, h.HdrLen = b[0], h.HdrLen+uint16(n)
		if h.Proto != 51 {
			p.transport(h, b[n:])
		}
	}
}

func (p *parser) udp(h *IPHeader, b []byte) {
	l4 := &p.r.L4
	l4.Proto = ProtoUDP
	if len(b) < 8 {
		if len(b) >= 4 {
			l4.SPort, l4.DPort = be16(b), be16(b[2:])
		}
		p.short(LayerUDP)
		return
	}
	l4.SPort, l4.DPort = be16(b), be16(b[2:])
	ulen := int(be16(b[4:]))
	switch {
	case ulen >= 8 && h.MF:
		// A first fragment holds only the start of the datagram.
		l4.PayloadLen = ulen - 8
	case ulen >= 8:
		b = p.clip(b, ulen, LayerUDP)
		l4.PayloadLen = ulen - 8
	default:
		l4.PayloadLen = p.wireLeft(b) - 8 // jumbogram or bogus length
	}
	sport, dport := l4.SPort, l4.DPort
	switch {
	case p.d.isVXLAN(dport) || p.d.isVXLAN(sport):
		p.vxlan(b[8:], sport, dport)
	case dport == PortGeneve || sport == PortGeneve:
		p.geneve(b[8:], sport, dport)
	}
}

func (p *parser) vxlan(b []byte, sport, dport uint16) {
	if len(b) < 8 {
		p.short(LayerVXLAN)
		return
	}
	t := p.startTunnel(TunnelVXLAN, b[8:])
	if t == nil {
		return
	}
	t.SPort, t.DPort = sport, dport
	t.VNI, t.HasVNI = be32(b[4:])>>8, true
	t.Overhead += 14 // the inner Ethernet header, until the inner IP is found
	p.ethernet(b[8:], false)
}

func (p *parser) geneve(b []byte, sport, dport uint16) {
	if len(b) < 8 {
		p.short(LayerGeneve)
		return
	}
	if b[0]>>6 != 0 {
		p.problem(LayerGeneve, FaultUnsupported)
		return
	}
	hl := 8 + int(b[0]&0x3f)*4
	// The VNI is in the fixed part: a tunnel whose options are cut short
	// is still a tunnel.
	t := p.startTunnel(TunnelGeneve, b[min(hl, len(b)):])
	if t == nil {
		return
	}
	t.SPort, t.DPort = sport, dport
	t.VNI, t.HasVNI = be32(b[4:])>>8, true
	if len(b) < hl {
		t.Overhead += uint16(hl - len(b))
		p.short(LayerGeneve)
		return
	}
	switch proto := be16(b[2:]); proto {
	case 0x6558:
		t.Overhead += 14
		p.ethernet(b[hl:], false)
	default:
		p.ethertype(proto, b[hl:], false)
	}
}

// GRE header flag bits.
const (
	greChecksum = 0x8000
	greRouting  = 0x4000
	greKey      = 0x2000
	greSeq      = 0x1000
	greAck      = 0x0080 // version 1 (PPTP) only
)

func (p *parser) gre(b []byte) {
	if len(b) < 4 {
		p.short(LayerGRE)
		return
	}
	flags, proto := be16(b), be16(b[2:])
	ver := flags & 7
	if ver > 1 || flags&greRouting != 0 {
		p.problem(LayerGRE, FaultUnsupported)
		return
	}
	hl := 4
	if flags&greChecksum != 0 {
		hl += 4
	}
	keyAt := hl
	if flags&greKey != 0 {
		hl += 4
	}
	if flags&greSeq != 0 {
		hl += 4
	}
	if ver == 1 && flags&greAck != 0 {
		hl += 4
	}
	if len(b) < hl {
		p.short(LayerGRE)
		return
	}
	payload := b[hl:]
	typ := TunnelGRE
	switch {
	case ver == 1:
		typ = TunnelPPTP
	case proto == 0x6558:
		typ = TunnelGRETEB
	case proto == 0x88be || proto == 0x22eb:
		typ = TunnelERSPAN
	}
	t := p.startTunnel(typ, payload)
	if t == nil {
		return
	}
	if flags&greKey != 0 && ver == 0 {
		t.VNI, t.HasVNI = be32(b[keyAt:]), true
	}
	switch {
	case ver == 1:
		p.ppp(payload)
	case proto == 0x6558:
		t.Overhead += 14
		p.ethernet(payload, false)
	case proto == 0x88be && flags&greSeq == 0:
		// ERSPAN type I has no header of its own.
		t.Overhead += 14
		p.ethernet(payload, false)
	case proto == 0x88be: // ERSPAN type II
		p.erspan(t, payload, 8)
	case proto == 0x22eb: // ERSPAN type III
		hl := 12
		if len(payload) >= 12 && payload[11]&1 != 0 {
			hl += 8 // platform-specific subheader
		}
		p.erspan(t, payload, hl)
	case proto == 0x880b:
		p.ppp(payload)
	case proto == 0x8909:
		// Cisco MetaData (a TrustSec SGT tag): in GRE, the payload's
		// ethertype comes first, then version, length, option and SGT.
		if len(payload) < 8 {
			p.short(LayerGRE)
			return
		}
		p.ethertype(be16(payload), payload[8:], false)
	default:
		p.ethertype(proto, payload, false)
	}
}

func (p *parser) erspan(t *Tunnel, b []byte, hl int) {
	if len(b) < hl {
		p.short(LayerERSPAN)
		return
	}
	t.VNI, t.HasVNI = uint32(be16(b[2:])&0x03ff), true
	t.Overhead += uint16(hl) + 14
	p.ethernet(b[hl:], false)
}

// ppp decodes a PPP frame as PPTP carries it, with optional address and
// control fields and a possibly compressed protocol field.
func (p *parser) ppp(b []byte) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		p.short(LayerPPP)
		return
	}
	proto := uint16(b[0])
	if proto&1 == 1 {
		b = b[1:]
	} else {
		if len(b) < 2 {
			p.short(LayerPPP)
			return
		}
		proto, b = be16(b), b[2:]
	}
	switch proto {
	case 0x21:
		p.ipv4(b)
	case 0x57:
		p.ipv6(b)
	}
}

func (p *parser) tcp(h *IPHeader, b []byte) {
	l4 := &p.r.L4
	l4.Proto = ProtoTCP
	if len(b) >= 4 {
		l4.SPort, l4.DPort = be16(b), be16(b[2:])
	}
	if len(b) < 20 {
		// A header cut short still gives the fields it holds; through its
		// window (16 bytes), the payload's length too, from its data
		// offset and the IP header's length, as tshark gives them. A
		// snap length of 128 ends 18 bytes into the TCP header of IPv6
		// inside VXLAN in an -i any capture: with these the analysis
		// keys the segment as at every other hop (TestSnapLength128).
		if len(b) >= 8 {
			l4.Seq = be32(b[4:])
		}
		if len(b) >= 12 {
			l4.Ack = be32(b[8:])
		}
		if len(b) >= 14 {
			l4.Flags = b[13]
		}
		if len(b) >= 16 {
			l4.Window = be16(b[14:])
			if doff := int(b[12]>>4) * 4; doff >= 20 {
				if n := int(h.TotalLen) - int(h.HdrLen) - doff; n > 0 {
					l4.PayloadLen = n
				}
			}
		}
		p.short(LayerTCP)
		return
	}
	l4.Seq, l4.Ack = be32(b[4:]), be32(b[8:])
	l4.Flags, l4.Window = b[13], be16(b[14:])
	doff := int(b[12]>>4) * 4
	if doff < 20 {
		p.problem(LayerTCP, FaultBadHeaderLen)
		return
	}
	if n := int(h.TotalLen) - int(h.HdrLen) - doff; n > 0 {
		l4.PayloadLen = n
	}
	if len(b) < doff {
		p.short(LayerTCP)
		return
	}
	mss, ok := tcpMSS(b[20:doff])
	l4.MSS = mss
	if !ok {
		p.problem(LayerTCP, FaultBadOption)
	}
}

// tcpMSS returns the MSS option of the TCP options opts, 0 when there is
// none; ok is false when an option is malformed (the MSS is then the one
// found before it).
func tcpMSS(opts []byte) (mss uint16, ok bool) {
	// Only the MSS matters here. Most segments carry just the timestamps,
	// as Linux lays them out (NOP, NOP, TS): skip those at once.
	if len(opts) == 12 && be32(opts) == 0x0101080a {
		return 0, true
	}
	for len(opts) > 0 {
		kind := opts[0]
		if kind == 0 {
			break
		}
		if kind == 1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return mss, false
		}
		if kind == 2 && opts[1] == 4 {
			mss = be16(opts[2:])
		}
		opts = opts[opts[1]:]
	}
	return mss, true
}

func (p *parser) icmp(b []byte, v6 bool) {
	l4, m := &p.r.L4, &p.r.ICMP
	layer := LayerICMP
	l4.Proto = ProtoICMP
	if v6 {
		layer, l4.Proto = LayerICMPv6, ProtoICMPv6
	}
	if len(b) < 8 {
		if len(b) >= 2 {
			m.Type, m.Code = b[0], b[1]
		}
		p.short(layer)
		return
	}
	m.Type, m.Code = b[0], b[1]
	switch {
	case !v6 && (m.Type == 0 || m.Type == 8), v6 && (m.Type == 128 || m.Type == 129):
		m.ID, m.Seq = be16(b[4:]), be16(b[6:])
	case !v6 && m.Type == 3 && m.Code == 4:
		m.MTU = uint32(be16(b[6:]))
	case v6 && m.Type == 2:
		m.MTU = be32(b[4:])
	}
	if m.IsError(v6) {
		m.HasQuoted = quote(&m.Quoted, b[8:])
	}
}

// quote decodes the start of the packet an ICMP error quotes. It reports
// whether at least the quoted addresses were present.
func quote(q *Quoted, b []byte) bool {
	if len(b) < 1 {
		return false
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return false
		}
		ihl := int(b[0]&0x0f) * 4
		q.Src, q.Dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		q.Proto, q.ID = b[9], uint32(be16(b[4:]))
		if ihl < 20 || len(b) < ihl || be16(b[6:])&0x1fff != 0 {
			return true
		}
		l4 = b[ihl:]
	case 6:
		if len(b) < 40 {
			return false
		}
		q.Src, q.Dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		next, rest := b[6], b[40:]
	ext:
		for range maxExtHeaders {
			switch next {
			case 0, 43, 60, 44:
				if len(rest) < 8 {
					break ext
				}
				n := (int(rest[1]) + 1) * 8
				if next == 44 {
					n = 8
					q.ID = be32(rest[4:])
					if be16(rest[2:])&0xfff8 != 0 {
						q.Proto = rest[0]
						return true
					}
				}
				if len(rest) < n {
					break ext
				}
				next, rest = rest[0], rest[n:]
			default:
				break ext
			}
		}
		q.Proto, l4 = next, rest
	default:
		return false
	}
	switch q.Proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
		if len(l4) >= 4 {
			q.SPort, q.DPort = be16(l4), be16(l4[2:])
		}
		if q.Proto == ProtoTCP && len(l4) >= 8 {
			q.Seq = be32(l4[4:])
		}
	case ProtoICMP, ProtoICMPv6:
		if len(l4) >= 6 && (l4[0] == 8 || l4[0] == 128) {
			q.SPort = be16(l4[4:]) // the echo request's identifier
		}
	}
	return true
}
