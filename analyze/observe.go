package analyze

import (
	"encoding/binary"

	"github.com/hoptrace/hoptrace/decode"
)

// obs is one sighting of a packet at one hop: the few fields of a decoded
// record that correlation and the flow table need. It holds no pointer,
// so the garbage collector never scans the sightings of open packets, and
// is small, as every open packet holds one per hop.
type obs struct {
	ts   int64 // reference time (node clock minus the node's offset)
	hop  int32
	node int32
	// capture and index say which packet of which capture (index into
	// analysis.caps) this is, for Options.Trace.
	capture int32
	// carrier is one more than the number (see tupleTable) of the tuple of
	// the outermost tunnel's carrying header, the packet a node's conntrack
	// tracks on the wire; 0 when the packet is not tunneled here.
	carrier int32
	// index is the packet's position in its capture: 32 bits keep obs at
	// 88 bytes with the digest beside it (a capture of 4G packets is
	// hundreds of GB).
	index uint32
	// dig is a digest of the first digestBytes of what the packet carries
	// from byte lo of its datagram on (past the transport header at 0),
	// with its low bit set; 0 when unknown (TCP data, snapped short). Only
	// ranged keys need it here: the others hold it in the key.
	dig uint32

	// The identity of the packet: packets with the same key whose ranges
	// overlap are the same packet (or pieces of it). The range is the TCP
	// sequence range for TCP data, the fragment's byte range within its
	// datagram for other IPv4, and [0,1) otherwise.
	key    uint64
	lo, hi uint32

	tuple    int32 // innermost, as seen here (see tupleTable); no ports on later fragments
	ipid     uint32
	seq      uint32 // TCP sequence number
	ack      uint32 // TCP acknowledgement number
	ipLen    uint32 // innermost IP total length
	win      uint16
	mss      uint16
	overhead uint16 // bytes all tunnels around it add here
	proto    uint8  // the tuple's protocol
	ttl      uint8
	tcpFlags uint8
	// byRange marks keys whose ranges may be split or merged on the way
	// (TCP data by GSO/GRO, IPv4 datagrams by fragmentation).
	byRange bool
	v6      bool // the tuple's addresses are IPv6
	ports   bool // tuple has ports (not a later fragment)
	df      bool
	frag    bool // a fragment of a larger datagram
	mf      bool // more fragments follow this one
	icmpErr bool // an ICMP error: related to the flow it quotes
	// echoReply marks an echo reply, whose tuple is its request's reversed:
	// the type tells them apart when the tuple is its own reverse (see
	// flowState.echoDir).
	echoReply bool
	// carrierType is the tunnel the carrier tuple carries here, for the
	// tuple table (it fits in the struct's padding).
	carrierType decode.TunnelType
	// cut: the capture cut the packet before what tells it apart (its
	// payload digest, for a packet without a sequence number: reader.cut),
	// so it is keyed as undigested (identity.go). In the padding too.
	cut bool
	// link is what the frame's link layer says of its direction (linkOut,
	// linkIn, 0: nothing), set by the clock pass only. The last byte of
	// padding.
	link uint8
}

// tcpData reports a TCP segment carrying data, matched by sequence range.
func (o *obs) tcpData() bool { return o.byRange && o.proto == 6 && !o.frag }

// Key kinds, the top byte of a key's first word: one-word keys of different
// kinds never collide; longer ones may, as any 64-bit hash may.
const (
	kindTCPData = iota + 1
	kindTCPCtl
	kindIPv4
	kindIPv4NoID
	kindIPv6
)

// fin is splitmix64's finaliser: a bijection of 64-bit words that spreads
// every input bit over the whole word.
func fin(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Keys fold one to three words into one. Each word packs some of a
// packet's invariant fields without loss, the first its kind in the top
// byte; a key of one word is a bijection of it, so distinct fields give
// distinct keys.
func key1(a uint64) uint64    { return fin(a) }
func key2(a, b uint64) uint64 { return fin(a ^ fin(b)) }
func key4(a, b, c, d uint64) uint64 {
	return fin(a ^ fin(b^fin(c^fin(d))))
}

// observe fills o from the source's current record, numbering its tuples
// in tt, the analysis' table. It reports false for packets without an IP
// header, which cannot be followed.
func (s *source) observe(tt *tupleTable, o *obs) bool {
	if !s.sight(o) {
		return false
	}
	if s.direct != nil {
		if o.carrier != 0 {
			tt.carries(o.carrier-1, o.carrierType)
		}
		return true
	}
	o.tuple = s.globalTuple(o.tuple, nil)
	if o.carrier != 0 {
		id := s.globalTuple(o.carrier-1, nil)
		tt.carries(id, o.carrierType)
		o.carrier = id + 1
	}
	return true
}

// sight fills o from the reader's current record, numbering its tuples in
// the reader's own table. It reports false for packets without an IP
// header, which cannot be followed.
func (s *reader) sight(o *obs) bool {
	r := &s.rec
	h := r.Inner()
	if h == nil {
		return false
	}
	l4 := &r.L4
	if r.Snapped && (h.FragOffset == 0 && len(s.frame) < int(h.Offset)+int(h.HdrLen)+transportNeed(h.Proto) ||
		r.NTunnel > 0 && r.Tunnels[0].Outer == r.NIP-1) {
		// A TCP header cut before its window (tcpdump -s 96 of VXLAN):
		// keyed without its window and length, the segment would be a
		// packet of its own, seen only here and lost after it (the
		// realistic incident's node-2 at -s 96: 60 false drops). A
		// tunnel whose inner IP header is cut (IPv6, 40 bytes, inside
		// VXLAN at -s 96) left its carrier's header innermost, without
		// ports: a flow "udp 192.168.1.10:0 > 192.168.1.11:0" of 33
		// packets each way there. A transport header cut before its
		// ports (IPv6 in Ethernet at -s 54) made flows without them:
		// "udp fd00:10:244::5:0 > fd00:10:244:1::5:0" beside pod A's
		// DNS flow. None is followed here; the snap length's warning
		// says so.
		return false
	}
	s.cut = false
	*o = obs{
		ipid:  h.ID,
		ttl:   h.TTL,
		df:    h.DF,
		frag:  h.IsFragment(),
		mf:    h.MF,
		ipLen: h.TotalLen,
		proto: h.Proto,
		v6:    h.Src.Is6(),
		lo:    0, hi: 1,
	}
	var sport, dport uint16
	if l4.Proto != 0 && h.FragOffset == 0 {
		switch l4.Proto {
		case decode.ProtoTCP, decode.ProtoUDP, decode.ProtoSCTP:
			sport, dport, o.ports = l4.SPort, l4.DPort, true
		case decode.ProtoICMP, decode.ProtoICMPv6:
			v6 := l4.Proto == decode.ProtoICMPv6
			o.icmpErr = r.ICMP.IsError(v6)
			if isEcho(&r.ICMP, v6) {
				sport, o.ports = r.ICMP.ID, true
				o.echoReply = r.ICMP.Type == 0 || r.ICMP.Type == 129
			}
		}
	}
	o.tuple = s.recent.id(s, h, sport, dport)
	if r.NTunnel > 0 {
		// ARP inside VXLAN leaves the carrier innermost: its flow is the
		// carrier's already.
		if t := &r.Tunnels[0]; t.Outer < r.NIP-1 {
			id := s.recentOuter.id(s, &r.IP[t.Outer], t.SPort, t.DPort)
			o.carrier, o.carrierType = id+1, t.Type
		}
	}
	payload := uint32(0)
	if h.TotalLen > uint32(h.HdrLen) {
		payload = h.TotalLen - uint32(h.HdrLen)
	}
	if l4.Proto == decode.ProtoTCP && !o.frag {
		o.tcpFlags, o.seq, o.ack, o.win, o.mss = l4.Flags, l4.Seq, l4.Ack, l4.Window, l4.MSS
		if l4.PayloadLen > 0 {
			// Data: the sequence range, which GSO splits and GRO joins.
			o.key = key1(kindTCPData<<56 | uint64(l4.Ack))
			o.lo, o.hi, o.byRange = l4.Seq, l4.Seq+uint32(l4.PayloadLen), true
		} else {
			o.key = key2(kindTCPCtl<<56|uint64(l4.Flags)<<48|uint64(l4.Window)<<32|uint64(h.ID), uint64(l4.Seq)<<32|uint64(l4.Ack))
		}
	} else {
		// No sequence number: what the packet carries tells it apart
		// (see identity.go), and a link-scoped one its addresses.
		dig, known := s.payloadDigest(h, payload)
		s.cut, o.cut = !known, !known
		var scope uint64
		if linkScoped(r, h) {
			scope = scopeWord(h, sport, dport)
		}
		switch {
		case h.Version == 4 && (h.ID != 0 || o.frag):
			// The datagram is identified by its IP ID; fragments and
			// re-fragments cover byte ranges of it, and the digest of
			// each piece is compared where two start at one offset.
			o.key = key2(kindIPv4<<56|uint64(h.Proto)<<48|uint64(h.ID), scope)
			o.lo, o.hi, o.byRange = uint32(h.FragOffset), uint32(h.FragOffset)+payload, true
			if known {
				o.dig = uint32(fin(dig)) | 1
			}
		case h.Version == 4:
			// DF packets of unconnected sockets carry ID 0: the length,
			// the ICMP type and sequence and the payload tell them apart,
			// and matching is first in, first out per hop. The echo
			// identifier is left out: NAT rewrites it.
			o.key = key4(kindIPv4NoID<<56|uint64(h.Proto)<<48|uint64(r.ICMP.Type)<<40|uint64(h.TotalLen),
				uint64(r.ICMP.Seq), digestWord(dig, known), scope)
		default:
			o.key = key4(kindIPv6<<56|uint64(h.Proto)<<48|uint64(r.ICMP.Type)<<40|uint64(h.TotalLen),
				uint64(h.ID)<<32|uint64(h.FragOffset)<<16|uint64(r.ICMP.Seq), digestWord(dig, known), scope)
		}
	}
	for i := range r.NTunnel {
		o.overhead += r.Tunnels[i].Overhead
	}
	if o.hi <= o.lo {
		o.hi = o.lo + 1
	}
	return true
}

// transportNeed is how much of a transport header a packet is followed
// by: what names its flow (ports; an ICMP message's type, code and echo
// identifier and sequence) and, for TCP, what keys a segment without data
// (flags and window).
func transportNeed(proto uint8) int {
	switch proto {
	case decode.ProtoTCP:
		return 16
	case decode.ProtoUDP, decode.ProtoSCTP:
		return 4
	case decode.ProtoICMP, decode.ProtoICMPv6:
		return 8
	}
	return 0
}

// scopeWord is the tuple of a link-scoped packet as a key word, never 0:
// its addresses, ports and protocol folded like a key's words. It was the
// tuple's number, which depends on the order the captures are read in,
// and so on the goroutines reading them.
func scopeWord(h *decode.IPHeader, sport, dport uint16) uint64 {
	src, dst := h.Src.As16(), h.Dst.As16()
	v6 := uint64(0)
	if h.Src.Is6() {
		v6 = 1
	}
	be := binary.BigEndian
	return key4(be.Uint64(src[:8]), be.Uint64(src[8:]), be.Uint64(dst[:8]),
		be.Uint64(dst[8:])^fin(uint64(sport)<<32|uint64(dport)<<16|uint64(h.Proto)<<8|v6)) | 1
}

func isEcho(m *decode.ICMP, v6 bool) bool {
	if v6 {
		return m.Type == 128 || m.Type == 129
	}
	return m.Type == 0 || m.Type == 8
}

// tupleTable numbers the tuples seen, so that a sighting holds a number
// rather than two addresses. Like the flow table, it grows with the flows,
// not with the packets.
type tupleTable struct {
	// ids numbers the tuples by a 64-bit hash of their key (tupleKey.hash),
	// keys holding each number's key to tell the rare tuple whose hash
	// another took first, which collided numbers. Keyed by Tuple, with a
	// list of Tuples, the table held 118 MB after the analysis of a
	// 200k-flow SYN scan (TestScanGrowth's synScan, heap profile); keyed
	// by tupleKey 73 MB with the list (about 150 bytes a tuple); so about
	// 70 bytes a tuple (TestTupleTableBytes), and the collector scans none
	// of it. 200k-flow scan: peak live heap 284 -> 254 MB.
	ids      map[uint64]int32
	collided map[tupleKey]int32
	keys     []tupleKey // by number
	// tunnel is, by number, the tunnel a carrier tuple was seen carrying.
	tunnel []decode.TunnelType
	// bg is, by number, one more than the background kind of a TCP or UDP
	// tuple, 0 until known: classifying each packet cost about 80
	// instructions of the 2,300 a packet of the generated incident costs
	// (valgrind), looking it up here a few.
	bg []BackgroundKind
}

// background returns the background kind of TCP or UDP tuple id, whose
// packet r is.
func (t *tupleTable) background(id int32, r *decode.Record) BackgroundKind {
	if int(id) < len(t.bg) && t.bg[id] != 0 {
		return t.bg[id] - 1
	}
	if int(id) >= len(t.bg) {
		t.bg = append(t.bg, make([]BackgroundKind, int(id)+1-len(t.bg))...)
	}
	k := classify(r)
	t.bg[id] = k + 1
	return k
}

// settle returns the background kind of TCP or UDP tuple id, k when it
// is not known yet: k is the kind of the first packet of the tuple taken.
func (t *tupleTable) settle(id int32, k BackgroundKind) BackgroundKind {
	if int(id) < len(t.bg) && t.bg[id] != 0 {
		return t.bg[id] - 1
	}
	if int(id) >= len(t.bg) {
		t.bg = append(t.bg, make([]BackgroundKind, int(id)+1-len(t.bg))...)
	}
	t.bg[id] = k + 1
	return k
}

func newTupleTable() *tupleTable { return &tupleTable{ids: make(map[uint64]int32)} }

// id returns the number of tu, numbering it when new.
func (t *tupleTable) id(tu Tuple) int32 {
	k := keyOf(tu)
	h := k.hash()
	id, ok := t.ids[h]
	if ok && t.keys[id] == k {
		return id
	}
	if ok {
		if id, found := t.collided[k]; found {
			return id
		}
	}
	id = int32(len(t.keys))
	t.keys = append(t.keys, k)
	if !ok {
		t.ids[h] = id
	} else {
		if t.collided == nil {
			t.collided = make(map[tupleKey]int32)
		}
		t.collided[k] = id
	}
	return id
}

// tuple returns the tuple numbered id.
func (t *tupleTable) tuple(id int32) Tuple { return t.keys[id].tuple() }

// carries records that tuple id carries a tunnel of type typ.
func (t *tupleTable) carries(id int32, typ decode.TunnelType) {
	if int(id) >= len(t.tunnel) {
		t.tunnel = append(t.tunnel, make([]decode.TunnelType, int(id)+1-len(t.tunnel))...)
	}
	t.tunnel[id] = typ
}

// sameTuple is a == b, field by field: the compiler's equality for Tuple
// goes through memequal, several times slower on this per-packet path.
func sameTuple(a, b *Tuple) bool {
	return a.SPort == b.SPort && a.DPort == b.DPort && a.Src == b.Src && a.Dst == b.Dst && a.Proto == b.Proto
}

// recentTuples remembers a capture's last few tuples and their numbers: a
// capture sees a few flow directions at a time, so most packets find their
// tuple here without hashing it.
type recentTuples struct {
	tu   [4]Tuple
	ids  [4]int32
	n    int // valid entries
	next int // entry replaced next
}

// id returns rd's number of the tuple of IP header h and ports sport and
// dport. It compares them in place: building a Tuple for each packet cost
// as much as the comparisons.
func (r *recentTuples) id(rd *reader, h *decode.IPHeader, sport, dport uint16) int32 {
	for i := range r.n {
		t := &r.tu[i]
		if t.SPort == sport && t.DPort == dport && t.Src == h.Src && t.Dst == h.Dst && t.Proto == Proto(h.Proto) {
			return r.ids[i]
		}
	}
	tu := Tuple{Proto: Proto(h.Proto), Src: h.Src, Dst: h.Dst, SPort: sport, DPort: dport}
	id := rd.tupleID(tu) // may empty r (localTuples.forget)
	r.tu[r.next], r.ids[r.next] = tu, id
	r.next = (r.next + 1) % len(r.tu)
	r.n = min(r.n+1, len(r.tu))
	return id
}
