package decode

import (
	"encoding/binary"
	"net/netip"
)

// Builders for test frames. Each writes one header in front of its payload
// with the length fields filled in, so a table row reads outermost first:
// eth(0x0800, ip4("10.0.0.1", "10.0.0.2", ProtoUDP, udp(1, 2, nil))).

func eth(ethertype uint16, payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	copy(b, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(b[12:], ethertype)
	return append(b, payload...)
}

func vlan(id, ethertype uint16, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint16(b, id)
	binary.BigEndian.PutUint16(b[2:], ethertype)
	return append(b, payload...)
}

// ip4opt describes the IPv4 header fields a test sets.
type ip4opt struct {
	ttl     uint8
	id      uint16
	df, mf  bool
	fragOff uint16 // bytes
	options int    // bytes of NOP options
	totLen  int    // override the total length; -1 writes 0
}

func ip4(src, dst string, proto uint8, payload []byte, o ...ip4opt) []byte {
	opt := ip4opt{ttl: 64, id: 0x1234}
	if len(o) > 0 {
		opt = o[0]
	}
	hl := 20 + opt.options
	b := make([]byte, hl, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	total := hl + len(payload)
	switch {
	case opt.totLen > 0:
		total = opt.totLen
	case opt.totLen < 0:
		total = 0
	}
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], opt.id)
	frag := opt.fragOff / 8
	if opt.df {
		frag |= 0x4000
	}
	if opt.mf {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8], b[9] = opt.ttl, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	for i := 20; i < hl; i++ {
		b[i] = 1 // NOP
	}
	return append(b, payload...)
}

func ip6(src, dst string, next uint8, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6], b[7] = next, 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(b, payload...)
}

// ip6frag is an IPv6 fragment extension header.
func ip6frag(next uint8, off uint16, more bool, id uint32, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0] = next
	fo := off &^ 7
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(b[2:], fo)
	binary.BigEndian.PutUint32(b[4:], id)
	return append(b, payload...)
}

func udp(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func tcp(sport, dport uint16, flags uint8, seq, ack uint32, mss uint16, payload int) []byte {
	hl := 20
	if mss != 0 {
		hl = 24
	}
	b := make([]byte, hl+payload)
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12], b[13] = byte(hl/4)<<4, flags
	binary.BigEndian.PutUint16(b[14:], 64240)
	if mss != 0 {
		b[20], b[21] = 2, 4
		binary.BigEndian.PutUint16(b[22:], mss)
	}
	return b
}

func icmp4(typ, code uint8, rest uint32, quoted []byte) []byte {
	b := make([]byte, 8, 8+len(quoted))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:], rest)
	return append(b, quoted...)
}

func vxlanHdr(vni uint32, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0] = 0x08
	binary.BigEndian.PutUint32(b[4:], vni<<8)
	return append(b, payload...)
}

func geneveHdr(vni uint32, proto uint16, optWords int, payload []byte) []byte {
	b := make([]byte, 8+4*optWords, 8+4*optWords+len(payload))
	b[0] = byte(optWords)
	binary.BigEndian.PutUint16(b[2:], proto)
	binary.BigEndian.PutUint32(b[4:], vni<<8)
	return append(b, payload...)
}

func greHdr(proto uint16, key uint32, hasKey bool, payload []byte) []byte {
	b := make([]byte, 4, 8+len(payload))
	binary.BigEndian.PutUint16(b[2:], proto)
	if hasKey {
		b[0] = 0x20
		b = binary.BigEndian.AppendUint32(b, key)
	}
	return append(b, payload...)
}

func sll2(proto uint16, ifindex uint32, pkttype uint8, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b, proto)
	binary.BigEndian.PutUint32(b[4:], ifindex)
	binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
	b[10], b[11] = pkttype, 6
	return append(b, payload...)
}

func sll(proto uint16, pkttype uint16, payload []byte) []byte {
	b := make([]byte, 16, 16+len(payload))
	binary.BigEndian.PutUint16(b, pkttype)
	binary.BigEndian.PutUint16(b[2:], 1)
	binary.BigEndian.PutUint16(b[4:], 6)
	binary.BigEndian.PutUint16(b[14:], proto)
	return append(b, payload...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
