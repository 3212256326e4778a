package merge

import (
	"encoding/binary"
	"slices"
)

// The inputs' pcapng statistics (Interface Statistics Blocks) say when the
// capture on each interface started and ended and what it lost; the
// analysis takes a hop's coverage from them (a capture stopped early leaves
// later packets unjudged, one running on past a silence makes the missing
// packets drops). The merged file keeps them: one block per output
// interface, after the packets, as dumpcap writes them when it stops.

// pcapng Interface Statistics Block type and options (pcapng draft,
// section 4.6). pcapgo's NgWriter writes neither isb_osdrop nor times in
// the interface's units by design, so the block is written here.
const (
	blockISB     = 5
	optISBStart  = 2
	optISBEnd    = 3
	optISBIfRecv = 4
	optISBIfDrop = 5
	optISBOSDrop = 7
)

// outStats is the statistics of one output interface, gathered from the
// input interfaces written to it.
type outStats struct {
	id                 int
	ts, start, end     int64 // reference time, ns; 0 when not said
	recv, drop, osDrop int64 // -1 when not said
}

// stats returns the statistics of each output interface whose input
// interfaces had statistics, by output interface. Times move by the node's
// clock offset, as the packets' did. A hop written from several input
// interfaces (rare: an interface of two captures) gets the earliest start,
// the latest end and the counts added up. Inputs read as another capture's
// shadow (Capture.Shadows) are left out: their statistics are not one
// hop's, and the analysis does not use them either. The streams were read
// to their ends, so their files' statistics are all known.
func (m *merger) stats(streams []*stream) []outStats {
	// byID in the order first met (ids): Go's random map order made the
	// sort's work, and the fuzzer's coverage, differ from run to run.
	byID := map[int]*outStats{}
	var ids []int
	for _, s := range streams {
		if len(s.cap.Shadows) > 0 || s.out == nil {
			continue
		}
		at := func(v int64) int64 {
			if v == 0 {
				return 0
			}
			return v - s.offset
		}
		for _, st := range s.f.Stats() {
			id, ok := s.out[st.Iface]
			if !ok {
				continue // no packet of it was written: no interface
			}
			o := byID[id]
			if o == nil {
				ids = append(ids, id)
				byID[id] = &outStats{id: id, ts: at(st.TS), start: at(st.Start), end: at(st.End), recv: st.Received, drop: st.IfDrop, osDrop: st.OSDrop}
				continue
			}
			o.ts = max(o.ts, at(st.TS))
			if a := at(st.Start); a != 0 && (o.start == 0 || a < o.start) {
				o.start = a
			}
			o.end = max(o.end, at(st.End))
			o.recv, o.drop, o.osDrop = addCount(o.recv, st.Received), addCount(o.drop, st.IfDrop), addCount(o.osDrop, st.OSDrop)
		}
	}
	out := make([]outStats, 0, len(byID))
	for _, id := range ids {
		out = append(out, *byID[id])
	}
	slices.SortFunc(out, func(a, b outStats) int { return a.id - b.id })
	return out
}

// addCount adds two counts of which either may be unknown (-1).
func addCount(a, b int64) int64 {
	if a < 0 {
		return b
	}
	if b < 0 {
		return a
	}
	return a + b
}

// isbBlock encodes o as a little-endian Interface Statistics Block, as
// the NgWriter writes its other blocks; times are in nanoseconds, the
// resolution of the merged file's interfaces (if_tsresol 9).
func isbBlock(o *outStats) []byte {
	le := binary.LittleEndian
	b := make([]byte, 20, 96)
	le.PutUint32(b, blockISB)
	le.PutUint32(b[8:], uint32(o.id))
	putTS(b[12:], o.ts)
	opt := func(code uint16, v int64, ts bool) {
		var o [12]byte
		le.PutUint16(o[:], code)
		le.PutUint16(o[2:], 8)
		if ts {
			putTS(o[4:], v)
		} else {
			le.PutUint64(o[4:], uint64(v))
		}
		b = append(b, o[:]...)
	}
	if o.start != 0 {
		opt(optISBStart, o.start, true)
	}
	if o.end != 0 {
		opt(optISBEnd, o.end, true)
	}
	if o.recv >= 0 {
		opt(optISBIfRecv, o.recv, false)
	}
	if o.drop >= 0 {
		opt(optISBIfDrop, o.drop, false)
	}
	if o.osDrop >= 0 {
		opt(optISBOSDrop, o.osDrop, false)
	}
	b = append(b, 0, 0, 0, 0) // opt_endofopt
	b = le.AppendUint32(b, 0) // the trailing length
	le.PutUint32(b[4:], uint32(len(b)))
	le.PutUint32(b[len(b)-4:], uint32(len(b)))
	return b
}

// putTS writes a pcapng time stamp, the high 32 bits first.
func putTS(b []byte, ns int64) {
	binary.LittleEndian.PutUint32(b, uint32(uint64(ns)>>32))
	binary.LittleEndian.PutUint32(b[4:], uint32(ns))
}
