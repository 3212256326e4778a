package decode

import "net/netip"

// The fast path. Nearly every packet of a pod network's capture is one of a
// few shapes: Ethernet (an interface's capture), Linux SLL or SLL2 (tcpdump
// -i any), then IPv4 that is not a fragment or IPv6 without extension
// headers, then TCP with no options but timestamps, or UDP; and, for a
// node's eth0 in a flannel cluster, the same inside VXLAN (fastVXLAN).
// fast decodes those straight into the record, with the checks the
// general decoder makes but without its walk through the layers. Whatever
// else a frame holds, or anything the general decoder would note in it (a
// length that lies, a header cut short), makes fast hand the frame to the
// general decoder before it writes anything. TestFastPathEqualsGeneral and
// FuzzDecode hold the two to the same records.
//
// fast makes no call on its way: Go's calling convention keeps no register
// across a call, so every call spills whatever is live, and a fast path
// built from per-layer helpers cost more than the general decoder. It
// hands VXLAN over to fastVXLAN as it returns, when nothing is live, and a
// frame it does not take to the general decoder likewise, so that Decode
// is one call and inlines into its callers (503.9M -> 482.0M, as below;
// Decode calling fast, then general when fast said no, did not inline).
//
// Measured (valgrind --tool=callgrind, GOMAXPROCS=1, hoptrace decode
// --stats on bench/limit.sh's 1M-record incident, of which 80% are plain
// Ethernet/IPv4/TCP and 20% flannel VXLAN): 665.0M instructions before,
// 629.9M with fast taking the plain frames (35 per record), 581.1M after
// --stats stopped naming each packet's point, 520.8M with fastVXLAN taking
// the VXLAN frames too (60 per record, 300 per VXLAN frame). Built from
// helpers per layer (a call each), fast took 698M-755M; with VXLAN as a
// second turn of a loop in fast, 595.6M.

// fast decodes frame into r, itself when the frame has one of the common
// shapes, otherwise by the general decoder; it reports whether it did it
// itself. See Decode for r.
func (d *Decoder) fast(r *Record, frame []byte, m Meta) bool {
	var (
		et      uint16
		off     int
		ifindex int32
		dir     Direction
	)
	switch m.Link {
	case LinkEthernet:
		if len(frame) < 14 {
			d.general(r, frame, m)
			return false
		}
		et, off = be16(frame[12:]), 14
	case LinkSLL2:
		if len(frame) < 20 || be16(frame[8:]) == 824 { // 824: netlink
			d.general(r, frame, m)
			return false
		}
		et, off = be16(frame), 20
		ifindex, dir = int32(be32(frame[4:])), direction(uint16(frame[10]))
	case LinkLinuxSLL:
		if len(frame) < 16 || be16(frame[2:]) == 824 {
			d.general(r, frame, m)
			return false
		}
		et, off, dir = be16(frame[14:]), 16, direction(be16(frame))
	default:
		d.general(r, frame, m)
		return false
	}
	// fastIP, written out: it is too big to inline, and calling it here
	// cost 13 instructions per packet it took (531.2M -> 520.8M).
	b := frame[off:]
	if len(b) < 40 {
		d.general(r, frame, m)
		return false // an IPv4 header with TCP, or IPv6 alone
	}
	var hl, total int
	var proto uint8
	switch {
	case et == 0x0800 && b[0] == 0x45:
		hl, total, proto = 20, int(be16(b[2:])), b[9]
		if total < 20 || be16(b[6:])&0x3fff != 0 { // MF or a fragment offset
			d.general(r, frame, m)
			return false
		}
	case et == 0x86dd && b[0]>>4 == 6:
		hl, total, proto = 40, int(be16(b[4:]))+40, b[6]
	default:
		d.general(r, frame, m)
		return false
	}
	cut := len(frame) < m.WireLen
	switch {
	case total <= len(b):
		b, cut = b[:total], false
	case !cut:
		d.general(r, frame, m)
		return false // a length beyond the captured frame
	}
	t := b[hl:]
	var doff, ulen int
	switch proto {
	case ProtoTCP:
		if len(t) < 20 {
			d.general(r, frame, m)
			return false
		}
		doff = int(t[12]>>4) * 4
		// No options, or the timestamps as Linux lays them out.
		if doff != 20 && (doff != 32 || len(t) < 32 || be32(t[20:]) != 0x0101080a) {
			d.general(r, frame, m)
			return false
		}
	case ProtoUDP:
		if len(t) < 8 {
			d.general(r, frame, m)
			return false
		}
		sport, dport := be16(t), be16(t[2:])
		ulen = int(be16(t[4:]))
		if ulen < 8 || ulen > len(t) && !cut || sport == PortGeneve || dport == PortGeneve {
			d.general(r, frame, m)
			return false
		}
		if d.isVXLAN(sport) || d.isVXLAN(dport) {
			return d.fastVXLAN(r, frame, m, et, off, ifindex, dir)
		}
	default:
		d.general(r, frame, m)
		return false
	}

	// The frame is one fast decodes whole: write the record, first
	// clearing what the previous packet left and this one does not write.
	if r.L4.Proto == ProtoICMP || r.L4.Proto == ProtoICMPv6 {
		r.ICMP = ICMP{}
	}
	if r.NIP > 1 {
		clear(r.IP[1:r.NIP])
	}
	if r.NTunnel > 0 {
		clear(r.Tunnels[:r.NTunnel])
	}
	if r.NProblem > 0 {
		clear(r.Problems[:r.NProblem])
	}
	r.TS, r.WireLen, r.CapLen, r.Iface = m.TS, m.WireLen, len(frame), m.Iface
	r.Link = Link{Type: m.Link, EtherType: et, IfIndex: ifindex, Dir: dir}
	r.NIP, r.NTunnel, r.NProblem, r.Snapped = 1, 0, 0, false
	h := &r.IP[0]
	if hl == 20 {
		v := (*[20]byte)(b)
		frag := be16(v[6:])
		h.Src, h.Dst = netip.AddrFrom4([4]byte(v[12:16])), netip.AddrFrom4([4]byte(v[16:20]))
		h.Version, h.Proto, h.TTL = 4, proto, v[8]
		h.DF, h.MF, h.Frag = frag&0x4000 != 0, false, false
		h.ID, h.FragOffset, h.HdrLen = uint32(be16(v[4:])), 0, 20
	} else {
		v := (*[40]byte)(b)
		h.Src, h.Dst = netip.AddrFrom16([16]byte(v[8:24])), netip.AddrFrom16([16]byte(v[24:40]))
		h.Version, h.Proto, h.TTL = 6, proto, v[7]
		h.DF, h.MF, h.Frag = false, false, false
		h.ID, h.FragOffset, h.HdrLen = 0, 0, 40
	}
	h.TotalLen, h.Offset = uint32(total), uint32(off)
	l4 := &r.L4
	if proto == ProtoTCP {
		v := (*[20]byte)(t)
		l4.Proto, l4.SPort, l4.DPort = ProtoTCP, be16(v[0:]), be16(v[2:])
		l4.Flags, l4.Seq, l4.Ack, l4.Window = v[13], be32(v[4:]), be32(v[8:]), be16(v[14:])
		l4.MSS, l4.PayloadLen = 0, max(total-hl-doff, 0)
		return true
	}
	*l4 = Transport{Proto: ProtoUDP, SPort: be16(t), DPort: be16(t[2:]), PayloadLen: ulen - 8}
	return true
}

// fastIP checks the IP header b, of ethertype et, for the fast path: IPv4
// with no options and not a fragment, or IPv6 (whose extension headers
// show in proto), with room for a TCP header after it. It returns the
// header's length, 0 when the fast path cannot take it, the length the
// header claims and the protocol it carries.
func fastIP(b []byte, et uint16) (hl, total int, proto uint8) {
	if len(b) < 40 {
		return 0, 0, 0
	}
	switch {
	case et == 0x0800 && b[0] == 0x45:
		// Not MF, no fragment offset.
		if total := int(be16(b[2:])); total >= 20 && be16(b[6:])&0x3fff == 0 {
			return 20, total, b[9]
		}
	case et == 0x86dd && b[0]>>4 == 6:
		return 40, int(be16(b[4:])) + 40, b[6]
	}
	return 0, 0, 0
}

// fastVXLAN is fast for a frame whose UDP header, at frame[off:] after an
// IP header of ethertype et, fast found to carry VXLAN: it takes the frame
// when the VXLAN payload is Ethernet with IPv4 or IPv6 and TCP or UDP as
// fast takes them, and hands it to the general decoder otherwise. A
// separate function, called as fast returns, so that fast keeps its
// registers; it costs two calls of setFast.
//
// Measured as fast's comment says: 581.1M -> 531.2M (then 520.8M with
// fast's own IP checks written out).
func (d *Decoder) fastVXLAN(r *Record, frame []byte, m Meta, et uint16, off int, ifindex int32, dir Direction) bool {
	b := frame[off:]
	hl, total, _ := fastIP(b, et)
	cut := len(frame) < m.WireLen
	if total <= len(b) {
		b, cut = b[:total], false
	}
	// fast checked the UDP header.
	u := b[hl:]
	if ulen := int(be16(u[4:])); ulen <= len(u) {
		u, cut = u[:ulen], false
	}
	// UDP (8 bytes), VXLAN (8), the inner Ethernet header (14).
	if len(u) < 30 {
		d.general(r, frame, m)
		return false
	}
	iet, ioff, ib := be16(u[28:]), off+hl+30, u[30:]
	ihl, itotal, proto := fastIP(ib, iet)
	switch {
	case ihl == 0:
		d.general(r, frame, m)
		return false
	case itotal <= len(ib):
		ib, cut = ib[:itotal], false
	case !cut:
		d.general(r, frame, m)
		return false // a length beyond the captured frame
	}
	t := ib[ihl:]
	var doff, ulen int
	switch proto {
	case ProtoTCP:
		if len(t) < 20 {
			d.general(r, frame, m)
			return false
		}
		doff = int(t[12]>>4) * 4
		if doff != 20 && (doff != 32 || len(t) < 32 || be32(t[20:]) != 0x0101080a) {
			d.general(r, frame, m)
			return false
		}
	case ProtoUDP:
		if len(t) < 8 {
			d.general(r, frame, m)
			return false
		}
		sport, dport := be16(t), be16(t[2:])
		ulen = int(be16(t[4:]))
		if ulen < 8 || ulen > len(t) && !cut ||
			d.isVXLAN(sport) || d.isVXLAN(dport) || sport == PortGeneve || dport == PortGeneve {
			d.general(r, frame, m)
			return false
		}
	default:
		d.general(r, frame, m)
		return false
	}

	if r.L4.Proto == ProtoICMP || r.L4.Proto == ProtoICMPv6 {
		r.ICMP = ICMP{}
	}
	if r.NIP > 2 {
		clear(r.IP[2:r.NIP])
	}
	if r.NTunnel > 1 {
		clear(r.Tunnels[1:r.NTunnel])
	}
	if r.NProblem > 0 {
		clear(r.Problems[:r.NProblem])
	}
	r.TS, r.WireLen, r.CapLen, r.Iface = m.TS, m.WireLen, len(frame), m.Iface
	r.Link = Link{Type: m.Link, EtherType: et, IfIndex: ifindex, Dir: dir}
	r.NIP, r.NTunnel, r.NProblem, r.Snapped = 2, 1, 0, false
	r.IP[0].setFast(frame, off, et, total)
	r.IP[1].setFast(frame, ioff, iet, itotal)
	r.Tunnels[0] = Tunnel{
		Type: TunnelVXLAN, VNI: be32(u[12:]) >> 8, HasVNI: true,
		SPort: be16(u[0:]), DPort: be16(u[2:]), Overhead: uint16(ioff - off),
	}
	l4 := &r.L4
	if proto == ProtoTCP {
		v := (*[20]byte)(t)
		l4.Proto, l4.SPort, l4.DPort = ProtoTCP, be16(v[0:]), be16(v[2:])
		l4.Flags, l4.Seq, l4.Ack, l4.Window = v[13], be32(v[4:]), be32(v[8:]), be16(v[14:])
		l4.MSS, l4.PayloadLen = 0, max(itotal-ihl-doff, 0)
		return true
	}
	*l4 = Transport{Proto: ProtoUDP, SPort: be16(t), DPort: be16(t[2:]), PayloadLen: ulen - 8}
	return true
}

// setFast fills h from the IP header at frame[off:] of ethertype et that
// fastIP took, which claims total bytes.
func (h *IPHeader) setFast(frame []byte, off int, et uint16, total int) {
	if et == 0x0800 {
		v := (*[20]byte)(frame[off:])
		frag := be16(v[6:])
		h.Src, h.Dst = netip.AddrFrom4([4]byte(v[12:16])), netip.AddrFrom4([4]byte(v[16:20]))
		h.Version, h.Proto, h.TTL = 4, v[9], v[8]
		h.DF, h.MF, h.Frag = frag&0x4000 != 0, false, false
		h.ID, h.FragOffset, h.HdrLen = uint32(be16(v[4:])), 0, 20
	} else {
		v := (*[40]byte)(frame[off:])
		h.Src, h.Dst = netip.AddrFrom16([16]byte(v[8:24])), netip.AddrFrom16([16]byte(v[24:40]))
		h.Version, h.Proto, h.TTL = 6, v[6], v[7]
		h.DF, h.MF, h.Frag = false, false, false
		h.ID, h.FragOffset, h.HdrLen = 0, 0, 40
	}
	h.TotalLen, h.Offset = uint32(total), uint32(off)
}
