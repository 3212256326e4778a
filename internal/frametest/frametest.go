// Package frametest builds packet frames for tests, one header at a time.
//
// Each builder returns its header followed by the payload it is given,
// with the length fields filled in, so that a frame reads outermost header
// first:
//
//	frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", 17, frametest.UDP(1, 2, nil)))
//
// Checksums are left zero. The builders know no decoder: protocol numbers,
// ethertypes and TCP flags are the caller's to give. A builder panics on an
// address it cannot parse, as a test table is wrong then.
package frametest

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"net/netip"
)

// Eth is an Ethernet II header from 02:00:00:00:00:01 to 02:00:00:00:00:02.
func Eth(ethertype uint16, payload []byte) []byte {
	dst, src := [6]byte{0x02, 0, 0, 0, 0, 2}, [6]byte{0x02, 0, 0, 0, 0, 1}
	return header(payload, dst, src, ethertype)
}

// VLAN is an 802.1Q tag with VLAN id (priority 0): the four bytes after the
// ethertype 0x8100 (or 0x88a8) of the header before it.
func VLAN(id, ethertype uint16, payload []byte) []byte {
	return header(payload, id, ethertype)
}

// SLL is a Linux cooked capture (v1) header of an Ethernet device with an
// empty address; pkttype 0 is incoming, 4 outgoing.
func SLL(proto uint16, pkttype uint16, payload []byte) []byte {
	const arphrdEther, addrLen = uint16(1), uint16(6)
	return header(payload, pkttype, arphrdEther, addrLen, [8]byte{}, proto)
}

// SLL2 is a Linux cooked capture v2 header (tcpdump -i any) of an Ethernet
// device with a zero address; pkttype 0 is incoming, 4 outgoing.
func SLL2(proto uint16, ifindex uint32, pkttype uint8, payload []byte) []byte {
	const arphrdEther, addrLen = uint16(1), uint8(6)
	return header(payload, proto, uint16(0), ifindex, arphrdEther, pkttype, addrLen, [8]byte{})
}

// IP4Opt holds the IPv4 header fields a test sets. Given to IP4, it
// replaces the defaults whole: a field left zero is written as zero.
type IP4Opt struct {
	TTL     uint8
	ID      uint16
	DF, MF  bool
	FragOff uint16 // in bytes, a multiple of 8
	Options int    // bytes of NOP options after the fixed header, a multiple of 4
	TotLen  int    // the total length to write instead of the real one; -1 writes 0
}

// IP4 is an IPv4 header from src to dst carrying protocol proto. Without
// an IP4Opt it has TTL 64, ID 0x1234 and no flags.
func IP4(src, dst string, proto uint8, payload []byte, o ...IP4Opt) []byte {
	opt := IP4Opt{TTL: 64, ID: 0x1234}
	if len(o) > 0 {
		opt = o[0]
	}
	hl := 20 + opt.Options
	total := hl + len(payload)
	switch {
	case opt.TotLen > 0:
		total = opt.TotLen
	case opt.TotLen < 0:
		total = 0
	}
	frag := opt.FragOff / 8
	if opt.DF {
		frag |= 0x4000
	}
	if opt.MF {
		frag |= 0x2000
	}
	nops := bytes.Repeat([]byte{1}, opt.Options)
	return header(payload, uint8(0x40|hl/4), uint8(0), uint16(total), opt.ID, frag, opt.TTL, proto, uint16(0),
		netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4(), nops)
}

// IP6 is an IPv6 header from src to dst with next header next and hop
// limit 64.
func IP6(src, dst string, next uint8, payload []byte) []byte {
	return header(payload, uint32(6<<28), uint16(len(payload)), next, uint8(64),
		netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16())
}

// IP6Frag is an IPv6 fragment extension header (next header 44 in the
// header before it) for the fragment at byte offset off of datagram id.
func IP6Frag(next uint8, off uint16, more bool, id uint32, payload []byte) []byte {
	fo := off &^ 7
	if more {
		fo |= 1
	}
	return header(payload, next, uint8(0), fo, id)
}

// UDP is a UDP header with its length.
func UDP(sport, dport uint16, payload []byte) []byte {
	return header(payload, sport, dport, uint16(8+len(payload)), uint16(0))
}

// TCP is a TCP segment with window 64240 and payload zero bytes of data.
// A nonzero mss adds an MSS option.
func TCP(sport, dport uint16, flags uint8, seq, ack uint32, mss uint16, payload int) []byte {
	var opts []byte
	if mss != 0 {
		opts = binary.BigEndian.AppendUint16([]byte{2, 4}, mss)
	}
	hl := 20 + len(opts)
	return header(make([]byte, payload), sport, dport, seq, ack, uint8(hl/4<<4), flags, uint16(64240), uint32(0), opts)
}

// SCTP is an SCTP common header with no chunks.
func SCTP(sport, dport uint16) []byte {
	return header(nil, sport, dport, uint32(0), uint32(0))
}

// ICMP is an ICMP or ICMPv6 header, which share a layout: type, code and
// the four bytes after the checksum (rest: identifier and sequence number
// of an echo, the MTU of a frag-needed or packet-too-big), then the body,
// such as the start of the packet an error quotes.
func ICMP(typ, code uint8, rest uint32, body []byte) []byte {
	return header(body, typ, code, uint16(0), rest)
}

// VXLAN is a VXLAN header with the VNI flag set; the payload is an
// Ethernet frame.
func VXLAN(vni uint32, payload []byte) []byte {
	return header(payload, uint32(0x08<<24), vni<<8)
}

// Geneve is a Geneve header carrying protocol proto (0x6558: Ethernet),
// followed by optWords four-byte words of zero options.
func Geneve(vni uint32, proto uint16, optWords int, payload []byte) []byte {
	return header(payload, uint8(optWords), uint8(0), proto, vni<<8, make([]byte, 4*optWords))
}

// GRE is a GRE header without options carrying protocol proto (an
// ethertype; 0x6558: Ethernet).
func GRE(proto uint16, payload []byte) []byte {
	return header(payload, uint16(0), proto)
}

// GREKey is a GRE header with a key carrying protocol proto.
func GREKey(proto uint16, key uint32, payload []byte) []byte {
	const keyPresent = uint16(0x2000)
	return header(payload, keyPresent, proto, key)
}

// header returns a new slice holding fields, in network byte order, then
// payload. A field is a fixed-size value (uint8, uint16, an array of
// bytes…) or a byte slice.
func header(payload []byte, fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		var err error
		if b, err = binary.Append(b, binary.BigEndian, f); err != nil {
			panic(err) // a field of a type without a fixed size: a bug here
		}
	}
	return append(b, payload...)
}

// VXLANSourcePort picks the outer UDP source port of a VXLAN packet as
// Linux's udp_flow_src_port does in spirit: a hash of the inner flow
// (addresses and ports) scaled into the local port range 32768–60999, so
// each direction of a flow has one carrier tuple.
func VXLANSourcePort(src, dst []byte, sport, dport uint16) uint16 {
	h := fnv.New32a()
	h.Write(src)
	h.Write(dst)
	binary.Write(h, binary.BigEndian, [2]uint16{sport, dport})
	return uint16(32768 + uint64(h.Sum32())*(61000-32768)>>32)
}
