package incident

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"time"

	"github.com/hoptrace/hoptrace/decode"
)

// maxAliasScan bounds the packets of a per-interface capture compared with
// an -i any capture to find which interface it is; beyond it the capture
// is not compared (the comparison holds both lists in memory).
const maxAliasScan = 1 << 20

// seenAt is a packet as an alias test compares it: its capture time and a
// hash of its bytes from the network layer on (link headers differ between
// a cooked -i any capture and an interface's own).
type seenAt struct {
	ts  int64
	sum uint64
}

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

func sumOf(data []byte, off int) uint64 {
	h := fnv.New64a()
	if off < len(data) {
		h.Write(data[off:])
	}
	return h.Sum64() ^ uint64(len(data)-off)<<48
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
		out[idx] = append(out[idx], seenAt{ts, sum})
		n++
		return n <= limit
	})
	if !ok || n > limit {
		return nil, false
	}
	return out, true
}

// aliasByData returns the interface index of the -i any capture (its
// files anys, in time order) whose packets are exactly those of the
// single-interface capture (its files ones, read through, in time order),
// at the same instants, over the whole span of it: the same capture point
// written twice (an -i any capture split by interface, or a per-interface
// capture made from it). Anything less is not certain, and ok is false:
// two sockets stamp the same packet at different instants, so two live
// captures are never taken for one here. The files of a rotating capture
// are compared as the one capture they are: one file of it holds the
// packets of an interface within its own span whenever the whole does, as
// the whole may not; and between two of its files the -i any capture's
// packets are not its own (the capture stopped and started again: a
// restart under a new date, not a rotation, which loses no packet).
func aliasByData(anys []*entry, ones []capInfo) (int32, bool) {
	packets, first, last := 0, int64(0), int64(0)
	for _, o := range ones {
		if o.packets == 0 {
			continue
		}
		if packets == 0 || o.first < first {
			first = o.first
		}
		last = max(last, o.last)
		packets += o.packets
	}
	if packets < 2 || packets > maxAliasScan {
		return 0, false
	}
	var mine []seenAt
	for _, o := range ones {
		ps, ok := packetsOf(o.e, o.first, o.last, maxAliasScan)
		if !ok {
			return 0, false
		}
		mine = append(mine, ps[0]...)
	}
	if len(mine) != packets || !steady(mine) {
		return 0, false
	}
	within := func(ts int64) bool {
		for _, o := range ones {
			if o.packets > 0 && o.first <= ts && ts <= o.last {
				return true
			}
		}
		return false
	}
	theirs := map[int32][]seenAt{}
	n := 0
	for _, e := range anys {
		ps, ok := packetsOf(e, first, last, maxAliasScan-n)
		if !ok {
			return 0, false
		}
		for idx, l := range ps {
			n += len(l)
			for _, p := range l {
				if within(p.ts) {
					theirs[idx] = append(theirs[idx], p)
				}
			}
		}
	}
	found, matches := int32(0), 0
	for idx, ps := range theirs {
		if slices.Equal(ps, mine) {
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
