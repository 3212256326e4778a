package analyze

import (
	"encoding/binary"
	"math"
	"net/netip"

	"github.com/hoptrace/hoptrace/decode"
)

// Flow directions.
const (
	dirOrig  = 0
	dirReply = 1
)

// flowState is one connection of the flow table. A SYN scan makes a
// million of them, so the fields are packed into 416 bytes, a size class
// (448 with the result's Dir as counters, see dirStats; 480 with a list
// of watched segments per direction; 512 before: the
// carried tunnel's name as a 16-byte string, and 28 bytes of padding
// around the small fields, now kept together; 632
// before that, allocated as 640: the drop group's key kept per direction,
// wider TCP counters); see TestFlowStateBytes.
type flowState struct {
	orig, reply Tuple // reply starts as orig.Reverse(); NAT rewrites it
	first, last int64
	stats       [2]dirStats
	udp         udpTrack
	dirs        [2]tcpDir
	irtt        int64 // the TCP handshake's round trip, SYN to its last ACK; 0 until seen
	// watch holds segments of either direction that may have been
	// dropped, until a later segment sends their sequence range again or
	// the other direction acknowledges it (see aggregator.watchResend):
	// one list rather than one per direction, 24 bytes less a flow.
	watch []resendWatch

	// Per direction, for the aggregator: its path, the most encapsulation
	// it was seen with, and the drop group its last packet fell in.
	path [2]*pathAcc
	// lastDrop is the drop group the direction's last packet fell in (its
	// key is the aggregator's dropKeys[lastDrop.id]).
	lastDrop [2]*dropAcc
	// passed is the largest packet (at its sender's first hop) that
	// crossed the tunnel or the wire, per direction.
	passed [2]uint32
	tunnel [2]uint16

	// The small fields last, together, so that no padding comes between.
	id         int32
	tcp        tcpTrack
	icmp       icmpTrack
	natLearned bool
	carries    decode.TunnelType // the tunnel type a carrier flow carries; TunnelNone for others
	queued     bool              // in the fold queue (foldStore.queue)
	// digested: per direction, a packet was seen whole enough to be told
	// apart (not only cut short: obs.cut) somewhere.
	digested [2]bool
}

// dirStats is a direction's Dir as the flow table counts it, in 40 bytes
// rather than 56: the counters of retransmissions, out-of-order segments
// and zero windows are at most the packets, and stop at 2^32-1 rather
// than wrap (a direction would need 4G packets); the largest packet and
// the MSS fit their 32 and 16 bits. flowState 448 -> 416 bytes.
type dirStats struct {
	packets, bytes                      int64
	retransmits, outOfOrder, zeroWindow uint32
	maxSegment                          uint32
	mss                                 uint16
}

// inc adds one to counter c, which stops at its largest value.
func inc(c *uint32) {
	if *c != math.MaxUint32 {
		*c++
	}
}

// dir returns the counts as the result's Dir.
func (s *dirStats) dir() Dir {
	return Dir{Packets: int(s.packets), Bytes: int(s.bytes), Retransmits: int(s.retransmits), OutOfOrder: int(s.outOfOrder),
		ZeroWindow: int(s.zeroWindow), MaxSegment: int(s.maxSegment), MSS: int(s.mss)}
}

// tcpDir follows one direction's sequence space for Wireshark's expert
// analysis: retransmissions, out-of-order segments, zero windows.
type tcpDir struct {
	lastTS int64 // when nextSeq last advanced
	// What this direction acknowledges, for the other direction's fast
	// retransmissions: the last acknowledgement, when it was sent, how
	// many duplicates of it followed, and the window that came with it.
	ackTS   int64
	synTS   int64  // when this direction sent its last SYN
	nextSeq uint32 // highest sequence number sent plus one
	lastAck uint32
	dupAcks int32
	win     uint16
	seen    bool
	ackSeen bool
}

// resendWatch is one segment of direction dir waiting to be seen sent
// again.
type resendWatch struct {
	seq, end uint32
	ts       int64
	acc      *dropAcc
	pieces   int32
	dir      uint8
}

// flowTable maps every tuple a flow was seen with, in either direction, to
// the flow.
type flowTable struct {
	// byHash holds the index in flows of each tuple's flow, keyed by a
	// 64-bit hash of the tuple (tupleKey.hash) for the tuples the flow
	// owns (its original and reply tuples and their reverses: see owns),
	// which tell a tuple whose hash another took first. The rest, tuples
	// a flow learnt beside its own (a translated flow's untranslated form
	// seen late) and those whose hash was taken, are in others by key,
	// nil until one comes. Keyed by the 40-byte tupleKey, the index took
	// about 120 bytes per flow of a SYN scan (TestFlowStateBytes, 200k
	// flows: 615 -> 537 bytes per flow).
	byHash map[uint64]int32
	others map[tupleKey]int32
	flows  []*flowState
	// The last tuple found, which the next packet mostly repeats, its flow
	// and direction. Valid while cachedFlow is not nil; learn, the only writer of
	// the index and of a flow's reply tuple, clears it.
	cachedTuple Tuple
	cachedFlow  *flowState
	cachedDir   int
	// gen counts the calls of learn: a lookup's answer for a tuple holds
	// while gen stays (see aggregator.flowOf).
	gen uint32
	// fold holds the records of the folded flows, whose entry in flows is
	// nil, and unfold gives one its state back (nil: nothing is folded).
	fold   *foldStore
	unfold func(id int32) *flowState
}

func newFlowTable() *flowTable { return &flowTable{byHash: make(map[uint64]int32)} }

// tupleKey is a Tuple as a map key of the flow table: the addresses' 16
// bytes (an IPv4 address mapped, told apart by v4), no zone, as packets
// carry none.
type tupleKey struct {
	src, dst     [16]byte
	sport, dport uint16
	proto        Proto
	v4           bool
}

func keyOf(t Tuple) tupleKey {
	return tupleKey{src: t.Src.As16(), dst: t.Dst.As16(), sport: t.SPort, dport: t.DPort, proto: t.Proto, v4: t.Src.Is4()}
}

// tuple returns the tuple of k, whose addresses are valid (a packet's).
func (k *tupleKey) tuple() Tuple {
	src, dst := netip.AddrFrom16(k.src), netip.AddrFrom16(k.dst)
	if k.v4 {
		src, dst = src.Unmap(), dst.Unmap()
	}
	return Tuple{Proto: k.proto, Src: src, Dst: dst, SPort: k.sport, DPort: k.dport}
}

// hash folds k into a 64-bit word (see key4).
func (k *tupleKey) hash() uint64 {
	le := binary.LittleEndian
	v4 := uint64(0)
	if k.v4 {
		v4 = 1
	}
	return key4(le.Uint64(k.src[:8]), le.Uint64(k.src[8:]), le.Uint64(k.dst[:8]),
		le.Uint64(k.dst[8:])^fin(uint64(k.sport)<<32|uint64(k.dport)<<16|uint64(k.proto)<<8|v4))
}

// get returns the flow of tuple tu, nil when none has it, unfolding it.
func (t *flowTable) get(tu Tuple) *flowState {
	k := keyOf(tu)
	if len(t.others) > 0 {
		if i, ok := t.others[k]; ok {
			return t.at(i)
		}
	}
	if i, ok := t.byHash[k.hash()]; ok && t.owns(i, &tu) {
		return t.at(i)
	}
	return nil
}

// at returns flow i, unfolding it.
func (t *flowTable) at(i int32) *flowState {
	if f := t.flows[i]; f != nil || t.unfold == nil {
		return f
	}
	return t.unfold(i)
}

// owns reports whether tu is one of flow i's tuples, folded or not.
func (t *flowTable) owns(i int32, tu *Tuple) bool {
	if f := t.flows[i]; f != nil {
		return f.owns(tu)
	}
	o, r := t.tuplesAt(i)
	return ownsTuple(&o, &r, tu)
}

// owns reports whether tu is one of f's tuples: its original or reply
// tuple or the reverse of one.
func (f *flowState) owns(tu *Tuple) bool { return ownsTuple(&f.orig, &f.reply, tu) }

func ownsTuple(orig, reply, tu *Tuple) bool {
	if sameTuple(tu, orig) || sameTuple(tu, reply) {
		return true
	}
	ro, rr := orig.Reverse(), reply.Reverse()
	return sameTuple(tu, &ro) || sameTuple(tu, &rr)
}

// index makes tu's flow f, the flow learnt last for it.
func (t *flowTable) index(f *flowState, tu Tuple) {
	k := keyOf(tu)
	h := k.hash()
	i, taken := t.byHash[h]
	if !f.owns(&tu) || taken && i != f.id && !t.owns(i, &tu) {
		// Not f's own tuple, or its hash is another tuple's.
		if t.others == nil {
			t.others = make(map[tupleKey]int32)
		}
		t.others[k] = f.id
		return
	}
	if taken && i != f.id {
		// tu moves from the flow it was learnt for (a connection reopened
		// by a SYN, see aggregator.packet); that flow's other tuples of
		// the same hash, if any, keep it through others.
		oo, or := t.tuplesAt(i)
		for _, o := range [...]Tuple{oo, or, oo.Reverse(), or.Reverse()} {
			if ok := keyOf(o); ok != k && ok.hash() == h {
				if t.others == nil {
					t.others = make(map[tupleKey]int32)
				}
				if _, in := t.others[ok]; !in {
					t.others[ok] = i
				}
			}
		}
	}
	t.byHash[h] = f.id
	if len(t.others) > 0 {
		delete(t.others, k)
	}
}

// lookup finds the flow of a packet whose tuple was first (closest to its
// sender) and last as given, creating the flow when it is new. It returns
// the flow and the packet's direction.
func (t *flowTable) lookup(first, last Tuple, ts int64) (*flowState, int) {
	if t.cachedFlow != nil && sameTuple(&first, &t.cachedTuple) {
		return t.cachedFlow, t.cachedDir
	}
	if f := t.get(first); f != nil {
		d := t.dirOf(f, first)
		t.cachedTuple, t.cachedFlow, t.cachedDir = first, f, d
		return f, d
	}
	if f := t.get(last); f != nil {
		// Seen before only in its translated form (the capture near the
		// sender began late): learn the untranslated one too.
		d := t.dirOf(f, last)
		t.learn(f, first, d)
		return f, d
	}
	return t.create(first, last, ts), dirOrig
}

// create starts a flow whose first packet had these tuples.
func (t *flowTable) create(first, last Tuple, ts int64) *flowState {
	f := &flowState{id: int32(len(t.flows)), orig: first, reply: last.Reverse(), first: ts, last: ts}
	f.natLearned = first != last
	t.flows = append(t.flows, f)
	t.learn(f, first, dirOrig)
	t.learn(f, last, dirOrig)
	t.learn(f, f.reply, dirReply)
	return f
}

func (t *flowTable) dirOf(f *flowState, tu Tuple) int {
	if tu == f.orig || tu == f.reply.Reverse() {
		return dirOrig
	}
	return dirReply
}

// echoDir returns the direction of echo o in flow f, which the flow table
// found to be d. A ping to the host's own address (on lo) has the same
// source and destination, so its tuple is its own reverse and the table
// puts its replies in the original direction. The kernel tells them apart
// by the ICMP type, which its tuple holds and which inverting a tuple maps
// from request to reply (nf_conntrack_proto_icmp's invmap); so does echoDir.
// TCP and UDP between one address and itself differ in their ports.
func (f *flowState) echoDir(d int, o *obs) int {
	if !f.orig.Proto.IsICMP() || f.orig.Src != f.orig.Dst || !o.ports {
		return d
	}
	if o.echoReply {
		return dirReply
	}
	return dirOrig
}

// learn records that tuple tu belongs to f in direction d, and its reverse
// to the other direction.
func (t *flowTable) learn(f *flowState, tu Tuple, d int) {
	t.cachedFlow = nil
	t.gen++
	if d == dirOrig && !f.natLearned && tu != f.orig {
		// The original direction was translated on the way: replies come
		// back to the translated address.
		f.reply = tu.Reverse()
		f.natLearned = true
	}
	t.index(f, tu)
	t.index(f, tu.Reverse())
}

// nat describes the translation of a flow, if any.
func (f *flowState) nat() []NAT {
	want := f.orig.Reverse()
	// An echo's identifier (SPort of both tuples) is rewritten by SNAT,
	// like a source port: a changed identifier is no DNAT.
	idChanged := f.orig.Proto.IsICMP() && f.reply.SPort != want.SPort
	var out []NAT
	if f.reply.Src != want.Src || f.reply.SPort != want.SPort && !idChanged {
		out = append(out, NAT{Type: DNAT, From: endpoint(f.orig.Dst, f.orig.DPort, f.orig.Proto), To: endpoint(f.reply.Src, f.reply.SPort, f.orig.Proto)})
	}
	if f.reply.Dst != want.Dst || f.reply.DPort != want.DPort || idChanged {
		out = append(out, NAT{Type: SNAT, From: endpoint(f.orig.Src, f.orig.SPort, f.orig.Proto), To: endpoint(f.reply.Dst, f.reply.DPort, f.orig.Proto)})
	}
	return out
}

func endpoint(a netip.Addr, port uint16, proto Proto) string {
	if hasPorts(proto) {
		return netip.AddrPortFrom(a, port).String()
	}
	return a.String()
}

// account updates the flow with one packet as its sender's first hop saw
// it; size is the packet's IP length (a fragmented datagram's whole length).
// Packet and byte counts follow conntrack: packets its tracker ignores or
// finds invalid are not counted. When conntrack would start a new entry from
// this packet (a SYN reopening a closed connection), account leaves the flow
// as it was and returns the new entry's tracker.
func (f *flowState) account(d int, o *obs, size uint32, ts int64) (restart *tcpTrack) {
	counted := true
	switch o.proto {
	case 6:
		if o.frag {
			break
		}
		prev := f.tcp
		switch f.tcp.update(d, o.tcpFlags) {
		case ctIgnore, ctInvalid:
			counted = false
		case ctRestart:
			next := f.tcp
			f.tcp = prev
			return &next
		}
	case 17:
		f.udp.update(d, ts)
	case 1, 58:
		f.icmp.update(d, ts)
	}
	f.count(d, o, size, ts, counted)
	return nil
}

// count adds a packet the trackers have seen to the flow's statistics.
func (f *flowState) count(d int, o *obs, size uint32, ts int64, counted bool) {
	st := &f.stats[d]
	if o.proto == 6 && !o.frag {
		if o.mss != 0 {
			st.mss = o.mss
		}
		if f.irtt == 0 && d == dirOrig && o.tcpFlags&0x12 == 0x10 && f.dirs[dirReply].synTS != 0 && f.dirs[dirOrig].synTS != 0 {
			f.irtt = max(ts-f.dirs[dirOrig].synTS, 1) // the handshake's last ACK
		}
		f.dirs[d].segment(st, &f.dirs[1-d], o, ts, f.irtt)
	}
	f.last = max(f.last, ts)
	f.first = min(f.first, ts)
	if counted {
		st.packets++
		st.bytes += int64(size)
		st.maxSegment = max(st.maxSegment, o.ipLen)
	}
}

// carry counts one tunnel packet of size bytes (its outer IP length) in a
// carrier flow.
func (f *flowState) carry(d int, size uint32, ts int64) {
	if f.orig.Proto == 17 {
		f.udp.update(d, ts)
	}
	st := &f.stats[d]
	st.packets++
	st.bytes += int64(size)
	st.maxSegment = max(st.maxSegment, size)
	f.first, f.last = min(f.first, ts), max(f.last, ts)
}

// seenReply reports whether conntrack saw the flow's reply direction.
func (f *flowState) seenReply() bool {
	switch f.orig.Proto {
	case 6:
		return f.tcp.SeenReply
	case 17:
		return f.udp.SeenReply
	case 1, 58:
		return f.icmp.SeenReply
	}
	return f.stats[dirReply].packets > 0
}

// ooThreshold separates out-of-order segments from retransmissions when
// the connection's handshake was not seen: Wireshark's 3 ms. With a
// handshake, its round trip is the threshold, as in Wireshark.
const ooThreshold = 3_000_000

// fastRetransWindow is how soon after the duplicate acknowledgement that
// asked for it a fast retransmission comes (Wireshark: 20 ms).
const fastRetransWindow = 20_000_000

// segment applies Wireshark's expert analysis (tcp.analysis.*) to one TCP
// segment of direction d, as its sender's first hop saw it; rev is the
// other direction and irtt the handshake's round trip (0: not seen). Data
// (or SYN/FIN) below the highest sequence number already sent is a
// retransmission — a fast one when it answers two duplicate
// acknowledgements, a spurious one when already acknowledged — or
// out-of-order when it came sooner than the threshold after the sequence
// number last advanced and does not end where the sent data ends. The
// kernel's TcpRetransSegs counts all three kinds of retransmission.
func (d *tcpDir) segment(st *dirStats, rev *tcpDir, o *obs, ts, irtt int64) {
	syn, fin, rst := o.tcpFlags&0x02 != 0, o.tcpFlags&0x01 != 0, o.tcpFlags&0x04 != 0
	if o.win == 0 && !syn && !fin && !rst {
		inc(&st.zeroWindow)
	}
	end := o.seq
	if o.byRange {
		end += o.hi - o.lo
	}
	if syn {
		d.synTS = ts
	}
	if syn || fin {
		end++
	}
	if o.tcpFlags&0x10 != 0 { // ACK: duplicate acknowledgements
		dup := end == o.seq && !syn && !fin && !rst && d.ackSeen && o.ack == d.lastAck && o.win == d.win && o.win != 0
		switch {
		case dup:
			d.dupAcks++
			d.ackTS = ts
		case !d.ackSeen || seqLT(d.lastAck, o.ack):
			d.lastAck, d.dupAcks, d.ackTS = o.ack, 0, ts
		}
		d.ackSeen, d.win = true, o.win
	}
	if end == o.seq {
		return // a pure ACK or RST occupies no sequence space
	}
	switch {
	case !d.seen:
		d.seen = true
	case seqLT(o.seq, d.nextSeq):
		thres := int64(ooThreshold)
		if irtt > 0 {
			thres = irtt
		}
		switch {
		case rev.dupAcks >= 2 && rev.lastAck == o.seq && ts-rev.ackTS < fastRetransWindow:
			inc(&st.retransmits) // fast retransmission
		case ts-d.lastTS < thres && d.nextSeq != end:
			inc(&st.outOfOrder)
		default:
			inc(&st.retransmits) // retransmission, spurious or not
		}
		if !seqLT(d.nextSeq, end) {
			return
		}
	}
	d.nextSeq, d.lastTS = end, ts
}

// seqLT compares sequence numbers modulo 2^32.
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

func hasPorts(proto Proto) bool { return proto.HasPorts() }
