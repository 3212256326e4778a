package incident

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// maxAliasScan bounds the packets of a per-interface capture compared with
// an -i any capture to find which interface it is; beyond it the capture
// is not compared (the comparison holds both lists in memory). The live
// join (aliasLive) compares the -i any capture's first maxAliasScan
// packets, and the per-interface captures' within their span.
var maxAliasScan = 1 << 20

// seenAt is a packet as an alias test compares it: its capture time and a
// hash of its bytes from the network layer on (link headers differ between
// a cooked -i any capture and an interface's own).
type seenAt struct {
	ts  int64
	sum uint64
	out bool // it left by its interface (an -i any capture's, anyFrames)
}

// sameSeen reports whether two captures saw the same packet at the same
// instant.
func sameSeen(a, b seenAt) bool { return a.ts == b.ts && a.sum == b.sum }

// l3Offset returns where the network layer starts in a frame of link type
// lt, or -1 for link types not compared.
func l3Offset(lt decode.LinkType, data []byte) int {
	switch lt {
	case decode.LinkSLL2:
		return 20
	case decode.LinkLinuxSLL:
		return 16
	case decode.LinkRaw, decode.LinkRawBSD, decode.LinkRawBSD2, decode.LinkIPv4, decode.LinkIPv6:
		return 0
	case decode.LinkEthernet:
		off := 14
		for len(data) >= off && off <= 22 && binary.BigEndian.Uint16(data[off-2:]) == 0x8100 {
			off += 4 // 802.1Q tags
		}
		return off
	}
	return -1
}

// sumBytes is how much of a packet from the network layer on sumOf
// hashes: as much as two captures of one packet both hold at the snap
// lengths used on nodes. At tcpdump -s 128 an -i any capture (Linux cooked
// v2, a 20-byte header) holds 108 bytes of it and an interface's own
// (Ethernet, 14) 114: hashed whole, the lab's bulk-offload incidents' live
// captures of one interface never held the same packet. At -s 68,
// tcpdump's old default, they hold 48 and 54: 64 bytes, as before, left
// the realistic incident's -i any interfaces unjoined (TestSnapLength/68).
// 40 bytes take an IPv4 header and 20 of what follows (ports, a TCP
// sequence and acknowledgement; VXLAN's ports and header), or an IPv6
// header; with the time stamps they are compared with, every lab join is
// the one `ip -j link` gives (TestLabLiveAlias).
const sumBytes = 40

func sumOf(data []byte, off int) uint64 {
	h := fnv.New64a()
	if off < len(data) {
		h.Write(data[off:min(len(data), off+sumBytes)])
	}
	return h.Sum64()
}

// eachPacket calls fn with each packet of a capture as the comparisons of
// this package see it: its time stamp, its SLL2 interface index (0 for
// other link types) and seenAt.sum; fn returns false to stop. ok is false
// when the capture cannot be opened or holds a link type not compared.
func eachPacket(e *entry, fn func(ts int64, idx int32, sum uint64) bool) bool {
	f, err := openEntry(e)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		data, m, err := f.Next()
		if err != nil {
			return true
		}
		off := l3Offset(m.Link, data)
		if off < 0 {
			return false
		}
		var idx int32
		if m.Link == decode.LinkSLL2 && len(data) >= 8 {
			idx = int32(binary.BigEndian.Uint32(data[4:8]))
		}
		if !fn(m.TS, idx, sumOf(data, off)) {
			return true
		}
	}
}

// packetsOf reads a capture's packets as seenAt, per SLL2 interface index
// (0 for other link types), keeping those within [from, until]; ok is
// false when the capture cannot be read or holds more than limit.
func packetsOf(e *entry, from, until int64, limit int) (map[int32][]seenAt, bool) {
	out := map[int32][]seenAt{}
	n := 0
	ok := eachPacket(e, func(ts int64, idx int32, sum uint64) bool {
		if ts < from || ts > until {
			return true
		}
		out[idx] = append(out[idx], seenAt{ts: ts, sum: sum})
		n++
		return n <= limit
	})
	if !ok || n > limit {
		return nil, false
	}
	return out, true
}

// aliasByData returns the interface of the -i any capture (frames: its
// frames by interface, anyFrames) whose packets are exactly those of the
// single-interface capture (mine: its files read through up to where the
// -i any capture was, framesOf), at the same instants, over the whole span
// of it: the same capture point written twice (an -i any capture split
// by interface, or a per-interface capture made from it). Anything less
// is not certain here, and ok is false: two sockets stamp an incoming
// packet at different instants (aliasLive joins live captures). The files
// of a rotating capture are compared as the one capture they are: one
// file of it holds the packets of an interface within its own span
// whenever the whole does, as the whole may not; and between two of its
// files the -i any capture's packets are not its own (the capture stopped
// and started again: a restart under a new date, not a rotation, which
// loses no packet).
func aliasByData(frames map[int32][]seenAt, mine liveFrames) (int32, bool) {
	packets, last := 0, int64(0)
	for _, o := range mine.ones {
		packets += o.packets
		last = max(last, o.last)
	}
	if len(mine.list) < 2 || last <= mine.until && len(mine.list) != packets || !steady(mine.list) {
		return 0, false
	}
	found, matches := int32(0), 0
	var theirs []seenAt
	for idx, ps := range frames {
		theirs = theirs[:0]
		for _, p := range ps {
			if mine.within(p.ts) {
				theirs = append(theirs, p)
			}
		}
		if slices.EqualFunc(theirs, mine.list, sameSeen) {
			found, matches = idx, matches+1
		}
	}
	return found, matches == 1
}

// steady reports whether a capture's clock ran on without a step: no
// packet stamped more than a millisecond earlier than the one before it,
// and no gap of more than an hour. A stepped clock (the analysis reports
// it) makes "the same instants" uncertain, so such a capture is not taken
// for an alias. Packets a few microseconds out of order are no step: a
// bridge's own router solicitation written after the one it forwarded
// from a pod, stamped 9 µs earlier (df-ping's n2-cni0 with IPv6 on).
func steady(ps []seenAt) bool {
	for i := 1; i < len(ps); i++ {
		if d := ps[i].ts - ps[i-1].ts; d < -int64(time.Millisecond) || d > int64(time.Hour) {
			return false
		}
	}
	return true
}

// heldBetween reports, for each of gaps (in time order, apart), whether
// the -i any capture (its files anys) holds a packet of interface idx
// strictly inside it: there, a capture of that interface whose files
// border the gap was not running.
func heldBetween(anys []*entry, idx int32, gaps []span) []bool {
	held := make([]bool, len(gaps))
	for _, e := range anys {
		eachPacket(e, func(ts int64, i int32, _ uint64) bool {
			if i != idx {
				return true
			}
			k, _ := slices.BinarySearchFunc(gaps, ts, func(g span, t int64) int { return cmp.Compare(g.last, t) })
			if k < len(gaps) && gaps[k].first < ts && ts < gaps[k].last {
				held[k] = true
			}
			return true
		})
	}
	return held
}

// An -i any capture and a live capture of one of its interfaces stamp the
// same outgoing frame at the very same instant: the kernel stamps a frame
// once as it hands it to every packet socket (dev_queue_xmit_nit), each
// socket its own copy of an incoming one. The realistic lab incident's
// node-1: of the -i any capture's outgoing frames on each of its five
// interfaces, every one (55–77 each) is in that interface's own capture
// with the same time stamp to the nanosecond, and in no other capture;
// incoming frames are stamped by each socket apart, a bridged one often
// matching the bridge's capture closer than its port's. Nothing else
// stamps a frame of the same bytes at the same nanosecond: the next
// interface a frame leaves by stamps it again, the peer of a veth as it
// receives it, microseconds later.

// anyFrames returns the frames of an -i any capture (its files, in time
// order) per interface, each marked when it left by it (seenAt.out): by
// Linux cooked v2's index, or for Linux cooked v1 the one analyze takes a
// frame's for (analyze.Cooked, whose copy check it applies: a bridge's
// frame is read at the bridge, not again at the port it leaves by), with
// the link address each such interface's frames carry. It reads the first
// maxAliasScan packets: readTo is the last one's time stamp when there are
// more (math.MaxInt64 otherwise). ok is false when the capture cannot be
// read.
func anyFrames(files []*entry) (frames map[int32][]seenAt, addrs map[int32]analyze.CookedAddr, readTo int64, ok bool) {
	frames, addrs = map[int32][]seenAt{}, map[int32]analyze.CookedAddr{}
	n, last := 0, int64(math.MinInt64)
	for _, e := range files {
		f, err := openEntry(e)
		if err != nil {
			return nil, nil, 0, false
		}
		var cooked analyze.Cooked
		for {
			data, m, err := f.Next()
			if err != nil {
				break
			}
			if n++; n > maxAliasScan {
				f.Close()
				return frames, addrs, last, true
			}
			last = max(last, m.TS)
			var idx int32
			var out bool
			switch {
			case m.Link == decode.LinkSLL2 && len(data) >= 20:
				idx, out = int32(binary.BigEndian.Uint32(data[4:8])), data[10] == 4 // PACKET_OUTGOING
			case m.Link == decode.LinkLinuxSLL && len(data) >= 16:
				r := decode.Record{TS: m.TS, Link: decode.Link{Type: decode.LinkLinuxSLL}}
				if cooked.Take(&r, data) {
					continue
				}
				idx, out = r.Link.IfIndex, binary.BigEndian.Uint16(data) == 4
				if _, ok := addrs[idx]; !ok {
					addrs[idx] = analyze.CookedAddrOf(data)
				}
			default:
				continue
			}
			frames[idx] = append(frames[idx], seenAt{m.TS, sumOf(data, l3Offset(m.Link, data)), out})
		}
		f.Close()
	}
	return frames, addrs, math.MaxInt64, true
}

// sameInstant reports whether two captures' time stamps of one frame are
// the same instant: to the nanosecond, or to the microsecond when either
// is a whole microsecond (a capture at microsecond resolution).
func sameInstant(a, b int64) bool {
	if a == b {
		return true
	}
	return (a%1000 == 0 || b%1000 == 0) && a/1000 == b/1000
}

// liveShare is the share of an interface's outgoing frames, within a
// per-interface capture's span, that must be in it at the same instants
// for the two to be one interface. A capture with a filter holds fewer.
const liveShare = 0.9

// aliasLive returns the interface of an -i any capture (frames: its
// frames by interface, anyFrames) that a live per-interface capture (mine,
// framesOf) took: at least liveShare of its
// outgoing frames within the capture's span, and at least one, are in it,
// byte for byte from the network layer, at the same instants (see above),
// of no other interface; and as many of its incoming ones within a
// millisecond (holds).
func aliasLive(frames map[int32][]seenAt, mine liveFrames) (int32, bool) {
	ks := mine.holding(frames, true, sameInstant)
	if len(ks) != 1 || !mine.holds(frames[ks[0]]) {
		return 0, false
	}
	return ks[0], true
}

// holds reports whether a per-interface capture holds at least liveShare
// of frames (those within its span; none is all of them) within a
// millisecond of theirs: joined to an interface by its outgoing frames, it
// must hold the incoming ones too, or the -i any capture's would be lost
// where it stands in for it (tcpdump -Q out, a filter that takes every
// packet one way).
func (l liveFrames) holds(frames []seenAt) bool {
	n, held := l.count(frames, false, nearInstant)
	return float64(held) >= liveShare*float64(n)
}

// count returns how many of frames that left (out) or did not are within
// the capture's span, and how many of those it holds at an instant same
// takes for theirs.
func (l liveFrames) count(frames []seenAt, out bool, same func(a, b int64) bool) (n, held int) {
	for _, p := range frames {
		if p.out != out || !l.within(p.ts) {
			continue
		}
		n++
		if slices.ContainsFunc(l.ts[p.sum], func(ts int64) bool { return same(ts, p.ts) }) {
			held++
		}
	}
	return n, held
}

// liveFrames are a per-interface capture's packets (its files read
// through) up to a time (where the -i any capture compared was read to),
// by seenAt.sum, for the tests of aliasLive and joinCookedV1.
type liveFrames struct {
	ones  []capInfo
	until int64
	list  []seenAt // in time order
	ts    map[uint64][]int64
}

// framesOf reads a per-interface capture's packets up to until; ok is
// false when it cannot be read, holds more than maxAliasScan of them or
// none.
func framesOf(ones []capInfo, until int64) (liveFrames, bool) {
	l := liveFrames{ones: ones, until: until, ts: map[uint64][]int64{}}
	for _, o := range ones {
		if o.packets == 0 || o.first > until {
			continue
		}
		ps, ok := packetsOf(o.e, o.first, min(o.last, until), maxAliasScan)
		if !ok {
			return l, false
		}
		l.list = append(l.list, ps[0]...)
		for _, p := range ps[0] {
			l.ts[p.sum] = append(l.ts[p.sum], p.ts)
		}
	}
	return l, len(l.list) > 0
}

// within reports whether ts is inside the span of one of the capture's
// files, up to l.until.
func (l liveFrames) within(ts int64) bool {
	if ts > l.until {
		return false
	}
	for _, o := range l.ones {
		if o.packets > 0 && o.first <= ts && ts <= o.last {
			return true
		}
	}
	return false
}

// holding returns the interfaces (of frames) at least liveShare of whose
// frames that left (out) or did not, within the capture's span, and at
// least one, the capture holds at an instant same takes for theirs.
func (l liveFrames) holding(frames map[int32][]seenAt, out bool, same func(a, b int64) bool) []int32 {
	var found []int32
	for idx, ps := range frames {
		if n, held := l.count(ps, out, same); held > 0 && float64(held) >= liveShare*float64(n) {
			found = append(found, idx)
		}
	}
	slices.Sort(found)
	return found
}

// nearInstant reports whether two captures' time stamps of one frame are
// as near as two sockets stamp one incoming frame (each its own copy, as
// the kernel hands it over): within analyze's copy window (1 ms).
func nearInstant(a, b int64) bool {
	return a-b <= 1_000_000 && b-a <= 1_000_000
}
