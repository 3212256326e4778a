package decode

import "net/netip"

// The fast path. Nearly every packet of a pod network's capture is one of a
// few shapes: Ethernet (an interface's capture), Linux SLL or SLL2 (tcpdump
// -i any), then IPv4 that is not a fragment or IPv6 without extension
// headers, then TCP with no options but timestamps, or UDP that carries no
// tunnel. fast decodes those straight into the record, with the checks the
// general decoder makes but without its walk through the layers. Whatever
// else a frame holds, or anything the general decoder would note in it (a
// length that lies, a header cut short), makes fast return false before it
// writes anything, and the general decoder starts over. TestFastPathEqualsGeneral
// and FuzzDecode hold the two to the same records.
//
// fast makes no call on its way: Go's calling convention keeps no register
// across a call, so every call spills whatever is live, and a fast path
// built from per-layer helpers cost more than the general decoder.
//
// Measured (valgrind --tool=callgrind, GOMAXPROCS=1, hoptrace decode
// --stats on bench/limit.sh's 1M-record incident, of which 80% are plain
// Ethernet/IPv4/TCP and 20% flannel VXLAN, which fast leaves to the
// general decoder): 665.0M instructions before, 629.9M with it, 35 per
// record. Built from helpers per layer (a call each), it took 698M-755M.

// fast decodes frame into r when it has one of the common shapes and
// reports whether it did; see Decode for r.
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
			return false
		}
		et, off = be16(frame[12:]), 14
	case LinkSLL2:
		if len(frame) < 20 || be16(frame[8:]) == 824 { // 824: netlink
			return false
		}
		et, off = be16(frame), 20
		ifindex, dir = int32(be32(frame[4:])), direction(uint16(frame[10]))
	case LinkLinuxSLL:
		if len(frame) < 16 || be16(frame[2:]) == 824 {
			return false
		}
		et, off, dir = be16(frame[14:]), 16, direction(be16(frame))
	default:
		return false
	}
	b := frame[off:]
	if len(b) < 40 {
		return false // an IPv4 header with TCP, or IPv6 alone
	}
	var hl, total int
	var proto uint8
	switch {
	case et == 0x0800 && b[0] == 0x45:
		hl, total, proto = 20, int(be16(b[2:])), b[9]
		if total < 20 || be16(b[6:])&0x3fff != 0 { // MF or a fragment offset
			return false
		}
	case et == 0x86dd && b[0]>>4 == 6:
		hl, total, proto = 40, int(be16(b[4:]))+40, b[6]
	default:
		return false
	}
	cut := len(frame) < m.WireLen
	switch {
	case total <= len(b):
		b, cut = b[:total], false
	case !cut:
		return false // a length beyond the captured frame
	}
	t := b[hl:]
	var doff, ulen int
	switch proto {
	case ProtoTCP:
		if len(t) < 20 {
			return false
		}
		doff = int(t[12]>>4) * 4
		// No options, or the timestamps as Linux lays them out.
		if doff != 20 && (doff != 32 || len(t) < 32 || be32(t[20:]) != 0x0101080a) {
			return false
		}
	case ProtoUDP:
		if len(t) < 8 {
			return false
		}
		sport, dport := be16(t), be16(t[2:])
		ulen = int(be16(t[4:]))
		if ulen < 8 || ulen > len(t) && !cut ||
			d.isVXLAN(sport) || d.isVXLAN(dport) || sport == PortGeneve || dport == PortGeneve {
			return false
		}
	default:
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
