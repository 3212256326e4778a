package analyze

import (
	"github.com/hoptrace/hoptrace/decode"
)

// obs is one sighting of a packet at one hop: the few fields of a decoded
// record that correlation and the flow table need.
type obs struct {
	ts   int64 // reference time (node clock minus the node's offset)
	hop  int32
	node int32
	// src and index say which packet of which capture this is, for
	// Options.Trace.
	src   *source
	index int

	// The identity of the packet: packets with the same key whose ranges
	// overlap are the same packet (or pieces of it). The range is the TCP
	// sequence range for TCP data, the fragment's byte range within its
	// datagram for other IPv4, and [0,1) otherwise.
	key    uint64
	lo, hi uint32
	// byRange marks keys whose ranges may be split or merged on the way
	// (TCP data by GSO/GRO, IPv4 datagrams by fragmentation).
	byRange bool

	tuple    Tuple // innermost, as seen here; no ports on later fragments
	ports    bool  // tuple has ports (not a later fragment)
	ipid     uint32
	ttl      uint8
	df       bool
	frag     bool // a fragment of a larger datagram
	mf       bool // more fragments follow this one
	tcpFlags uint8
	seq      uint32 // TCP sequence number
	win      uint16
	mss      uint16
	ipLen    uint32 // innermost IP total length
	overhead uint16 // bytes all tunnels around it add here
	icmpErr  bool   // an ICMP error: related to the flow it quotes
}

// tcpData reports a TCP segment carrying data, matched by sequence range.
func (o *obs) tcpData() bool { return o.byRange && o.tuple.Proto == 6 && !o.frag }

// Key kinds, mixed into every key so that kinds never collide.
const (
	kindTCPData = iota + 1
	kindTCPCtl
	kindIPv4
	kindIPv4NoID
	kindIPv6
)

// mix folds values into a 64-bit key (splitmix64 finaliser per word).
func mix(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// observe fills o from r. It reports false for packets without an IP
// header, which cannot be followed.
func observe(r *decode.Record, o *obs) bool {
	h := r.Inner()
	if h == nil {
		return false
	}
	l4 := &r.L4
	*o = obs{
		ipid:  h.ID,
		ttl:   h.TTL,
		df:    h.DF,
		frag:  h.IsFragment(),
		mf:    h.MF,
		ipLen: h.TotalLen,
		tuple: Tuple{Proto: h.Proto, Src: h.Src, Dst: h.Dst},
		lo:    0, hi: 1,
	}
	if l4.Proto != 0 && h.FragOffset == 0 {
		switch l4.Proto {
		case decode.ProtoTCP, decode.ProtoUDP, decode.ProtoSCTP:
			o.tuple.SPort, o.tuple.DPort, o.ports = l4.SPort, l4.DPort, true
		case decode.ProtoICMP, decode.ProtoICMPv6:
			v6 := l4.Proto == decode.ProtoICMPv6
			o.icmpErr = r.ICMP.IsError(v6)
			if isEcho(&r.ICMP, v6) {
				o.tuple.SPort, o.ports = r.ICMP.ID, true
			}
		}
	}
	payload := uint32(0)
	if h.TotalLen > uint32(h.HdrLen) {
		payload = h.TotalLen - uint32(h.HdrLen)
	}
	switch {
	case l4.Proto == decode.ProtoTCP && !o.frag:
		o.tcpFlags, o.seq, o.win, o.mss = l4.Flags, l4.Seq, l4.Window, l4.MSS
		if l4.PayloadLen > 0 {
			// Data: the sequence range, which GSO splits and GRO joins.
			o.key = mix(kindTCPData, uint64(l4.Ack))
			o.lo, o.hi, o.byRange = l4.Seq, l4.Seq+uint32(l4.PayloadLen), true
			break
		}
		o.key = mix(kindTCPCtl, uint64(l4.Seq), uint64(l4.Ack), uint64(l4.Flags), uint64(l4.Window), uint64(h.ID))
	case h.Version == 4 && (h.ID != 0 || o.frag):
		// The datagram is identified by its IP ID; fragments and
		// re-fragments cover byte ranges of it.
		o.key = mix(kindIPv4, uint64(h.Proto), uint64(h.ID))
		o.lo, o.hi, o.byRange = uint32(h.FragOffset), uint32(h.FragOffset)+payload, true
	case h.Version == 4:
		// DF packets of unconnected sockets carry ID 0; the ICMP echo
		// fields and the length tell them apart, and matching is first in,
		// first out per hop.
		o.key = mix(kindIPv4NoID, uint64(h.Proto), uint64(h.TotalLen), uint64(r.ICMP.Type), uint64(r.ICMP.ID), uint64(r.ICMP.Seq))
	default:
		o.key = mix(kindIPv6, uint64(h.Proto), uint64(h.TotalLen), uint64(h.ID), uint64(h.FragOffset), uint64(r.ICMP.Type), uint64(r.ICMP.ID), uint64(r.ICMP.Seq))
	}
	for i := range r.NTunnel {
		o.overhead += r.Tunnels[i].Overhead
	}
	if o.hi <= o.lo {
		o.hi = o.lo + 1
	}
	return true
}

func isEcho(m *decode.ICMP, v6 bool) bool {
	if v6 {
		return m.Type == 128 || m.Type == 129
	}
	return m.Type == 0 || m.Type == 8
}
