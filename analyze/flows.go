package analyze

import (
	"fmt"
	"net/netip"
)

// Flow directions.
const (
	dirOrig  = 0
	dirReply = 1
)

// flowState is one connection of the flow table.
type flowState struct {
	id          int32
	orig, reply Tuple // reply starts as orig.Reverse(); NAT rewrites it
	natLearned  bool
	first, last int64
	stats       [2]Dir
	tcp         tcpTrack
	udp         udpTrack
	icmp        icmpTrack
	dirs        [2]tcpDir
	carries     string // the tunnel type a carrier flow carries; "" for others

	// Per direction, for the aggregator: its path, the most encapsulation
	// it was seen with, and the drop group its last packet fell in.
	path     [2]*pathAcc
	tunnel   [2]int
	lastDrop [2]struct {
		key dropKey
		acc *dropAcc
	}
}

// tcpDir follows one direction's sequence space for Wireshark's expert
// analysis: retransmissions, out-of-order segments, zero windows.
type tcpDir struct {
	seen    bool
	nextSeq uint32 // highest sequence number sent plus one
	lastTS  int64  // when nextSeq last advanced
}

// flowTable maps every tuple a flow was seen with, in either direction, to
// the flow.
type flowTable struct {
	byTuple map[Tuple]*flowState
	flows   []*flowState
	// The last tuple found, which the next packet mostly repeats, its flow
	// and direction. Valid while cachedFlow is not nil; learn, the only writer of
	// byTuple and of a flow's reply tuple, clears it.
	cachedTuple Tuple
	cachedFlow  *flowState
	cachedDir   int
}

func newFlowTable() *flowTable { return &flowTable{byTuple: make(map[Tuple]*flowState)} }

// lookup finds the flow of a packet whose tuple was first (closest to its
// sender) and last as given, creating the flow when it is new. It returns
// the flow and the packet's direction.
func (t *flowTable) lookup(first, last Tuple, ts int64) (*flowState, int) {
	if t.cachedFlow != nil && sameTuple(&first, &t.cachedTuple) {
		return t.cachedFlow, t.cachedDir
	}
	if f := t.byTuple[first]; f != nil {
		d := t.dirOf(f, first)
		t.cachedTuple, t.cachedFlow, t.cachedDir = first, f, d
		return f, d
	}
	if f := t.byTuple[last]; f != nil {
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

// learn records that tuple tu belongs to f in direction d, and its reverse
// to the other direction.
func (t *flowTable) learn(f *flowState, tu Tuple, d int) {
	t.cachedFlow = nil
	t.byTuple[tu] = f
	t.byTuple[tu.Reverse()] = f
	if d == dirOrig && !f.natLearned && tu != f.orig {
		// The original direction was translated on the way: replies come
		// back to the translated address.
		f.reply = tu.Reverse()
		f.natLearned = true
	}
}

// nat describes the translation of a flow, if any.
func (f *flowState) nat() string {
	want := f.orig.Reverse()
	var s string
	if f.reply.Src != want.Src || f.reply.SPort != want.SPort {
		s = fmt.Sprintf("dnat %s -> %s", endpoint(f.orig.Dst, f.orig.DPort, f.orig.Proto), endpoint(f.reply.Src, f.reply.SPort, f.orig.Proto))
	}
	if f.reply.Dst != want.Dst || f.reply.DPort != want.DPort {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("snat %s -> %s", endpoint(f.orig.Src, f.orig.SPort, f.orig.Proto), endpoint(f.reply.Dst, f.reply.DPort, f.orig.Proto))
	}
	return s
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
			st.MSS = int(o.mss)
		}
		f.dirs[d].segment(st, o, ts)
	}
	f.last = max(f.last, ts)
	f.first = min(f.first, ts)
	if counted {
		st.Packets++
		st.Bytes += int(size)
		st.MaxSegment = max(st.MaxSegment, int(o.ipLen))
	}
}

// carry counts one tunnel packet of size bytes (its outer IP length) in a
// carrier flow.
func (f *flowState) carry(d int, size uint32, ts int64) {
	if f.orig.Proto == 17 {
		f.udp.update(d, ts)
	}
	st := &f.stats[d]
	st.Packets++
	st.Bytes += int(size)
	st.MaxSegment = max(st.MaxSegment, int(size))
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
	return f.stats[dirReply].Packets > 0
}

// ooThreshold separates out-of-order segments from retransmissions: a
// segment below the highest sequence sent, arriving this soon after it, was
// reordered rather than resent (Wireshark uses 3 ms without an RTT).
const ooThreshold = 3_000_000

// segment applies Wireshark's expert analysis to one TCP segment: data
// (or SYN/FIN) below the highest sequence number already sent is a
// retransmission, or out-of-order if it came within ooThreshold.
func (d *tcpDir) segment(st *Dir, o *obs, ts int64) {
	syn, fin, rst := o.tcpFlags&0x02 != 0, o.tcpFlags&0x01 != 0, o.tcpFlags&0x04 != 0
	if o.win == 0 && !syn && !fin && !rst {
		st.ZeroWindow++
	}
	end := o.seq
	if o.byRange {
		end += o.hi - o.lo
	}
	if syn || fin {
		end++
	}
	if end == o.seq {
		return // a pure ACK or RST occupies no sequence space
	}
	switch {
	case !d.seen:
		d.seen = true
	case seqLT(o.seq, d.nextSeq):
		if ts-d.lastTS < ooThreshold {
			st.OutOfOrder++
		} else {
			st.Retransmits++
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
