package decode

import "encoding/binary"

// InterfaceStats is what a pcapng Interface Statistics Block says of one
// interface of the file: when the capture on it started and ended, and how
// many packets it received and lost. dumpcap writes one per interface when
// it stops; tcpdump and libpcap-based writers of classic pcap have none.
type InterfaceStats struct {
	// Iface is the interface's index in its section (Meta.Iface).
	Iface int
	// TS is when the statistics were taken; Start and End are the block's
	// isb_starttime and isb_endtime: when the capture on the interface
	// started and ended. All ns since the epoch, 0 when not said.
	TS, Start, End int64
	// Received (isb_ifrecv), IfDrop (isb_ifdrop), FilterAccept
	// (isb_filteraccept), OSDrop (isb_osdrop: dropped by the kernel before
	// the capturing program read them), Delivered (isb_usrdeliv): -1 when
	// not said.
	Received, IfDrop, FilterAccept, OSDrop, Delivered int64
}

// isbStats is an Interface Statistics Block as read: its time stamps in
// the units of its interface, converted once the interface is known.
type isbStats struct {
	st               InterfaceStats
	ts, start, end   uint64
	hasStart, hasEnd bool
	fromTail         bool // read at Open from the end of the file
	section          int  // File.sections when it was read (0 from the tail)
}

// ISB option codes (pcapng draft, section 4.6).
const (
	ngOptISBStart        = 2
	ngOptISBEnd          = 3
	ngOptISBIfRecv       = 4
	ngOptISBIfDrop       = 5
	ngOptISBFilterAccept = 6
	ngOptISBOSDrop       = 7
	ngOptISBUsrDeliv     = 8
	ngISBFixed           = 24 // type, length, interface id, time stamp (2 words), trailer
)

// Stats returns the last statistics of each interface of the current
// section that has them, in the order the interfaces first had them.
//
// Statistics blocks come after the packets they describe (dumpcap writes
// them when it stops), so they are known once reading reaches them; for a
// file held in memory or mapped, those at the end of the file are read at
// Open already (a walk back from the end over the trailing statistics
// blocks, a few dozen bytes each), so that a capture's start and end are
// known before its first packet. Those trailing blocks are taken to belong
// to the section being read: true of every file with one section, which is
// what capture programs write.
func (f *File) Stats() []InterfaceStats {
	var out []InterfaceStats
	idx := map[int]int{}
	for i := range f.isb {
		b := &f.isb[i]
		if !b.fromTail && b.section != f.sections {
			continue
		}
		if b.st.Iface >= len(f.ngTime) {
			continue // its interface is not described yet
		}
		st := b.st
		t := &f.ngTime[st.Iface]
		if t.units <= 1e6 || !isbMicros(b) {
			st.TS = t.ts(b.ts)
			if b.hasStart {
				st.Start = t.ts(b.start)
			}
			if b.hasEnd {
				st.End = t.ts(b.end)
			}
		} else {
			st.TS, st.Start, st.End = usToNS(b.ts), usToNS(b.start), usToNS(b.end)
		}
		if j, ok := idx[st.Iface]; ok {
			// A block read in order supersedes one read ahead from the
			// tail only when it is not older.
			if st.TS >= out[j].TS {
				out[j] = st
			}
			continue
		}
		idx[st.Iface] = len(out)
		out = append(out, st)
	}
	return out
}

// isbMicros reports whether the times of a statistics block of an
// interface with a resolution finer than microseconds are microseconds
// all the same: dumpcap 4.0 (seen with 4.0.17, which stamps packets in
// nanoseconds, if_tsresol 9) writes the block's time stamp, isb_starttime
// and isb_endtime in microseconds. Read in nanoseconds they fall in the
// first months of 1970 (11 to 84 days after the epoch); read in
// microseconds, between 2000 and 2200. A block whose times are not all
// there is read in its interface's units.
func isbMicros(b *isbStats) bool {
	const (
		y2000 = 946684800 * 1e6  // µs
		y2200 = 7258118400 * 1e6 // µs
	)
	plausible := func(v uint64) bool { return v >= y2000 && v < y2200 }
	if b.ts == 0 || !plausible(b.ts) {
		return false
	}
	for _, v := range [...]uint64{b.start, b.end} {
		if v != 0 && !plausible(v) {
			return false
		}
	}
	return true
}

// usToNS converts microseconds since the epoch to nanoseconds, 0 staying 0.
func usToNS(v uint64) int64 { return int64(v) * 1e3 }

// ngStats takes an Interface Statistics Block read in file order.
func (f *File) ngStats(blk []byte) {
	b, ok := parseISB(blk, f.ngBig)
	if !ok {
		return
	}
	b.section = f.sections
	// One block per interface is kept, the last: a program that writes
	// statistics now and then must not make them grow with the file.
	if f.isbIdx == nil {
		f.isbIdx = make(map[[2]int]int)
	}
	k := [2]int{f.sections, b.st.Iface}
	if i, ok := f.isbIdx[k]; ok {
		f.isb[i] = b
		return
	}
	f.isbIdx[k] = len(f.isb)
	f.isb = append(f.isb, b)
}

// parseISB reads a whole Interface Statistics Block (header to trailer).
// A block too short or with damaged options gives false: statistics are
// a hint, never a reason to stop reading.
func parseISB(blk []byte, big bool) (isbStats, bool) {
	if len(blk) < ngISBFixed {
		return isbStats{}, false
	}
	var order binary.ByteOrder = binary.LittleEndian
	if big {
		order = binary.BigEndian
	}
	u64 := func(v []byte) uint64 { return uint64(order.Uint32(v))<<32 | uint64(order.Uint32(v[4:])) }
	b := isbStats{st: InterfaceStats{Iface: int(order.Uint32(blk[8:])), Received: -1, IfDrop: -1, FilterAccept: -1, OSDrop: -1, Delivered: -1}}
	b.ts = u64(blk[12:])
	opts := blk[20 : len(blk)-4]
	for len(opts) >= 4 {
		code, n := order.Uint16(opts), int(order.Uint16(opts[2:]))
		if code == ngOptEnd || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		if n == 8 {
			switch code {
			case ngOptISBStart:
				// The same two words, high then low, as a packet block's
				// time stamp.
				b.start, b.hasStart = u64(v), true
			case ngOptISBEnd:
				b.end, b.hasEnd = u64(v), true
			case ngOptISBIfRecv:
				b.st.Received = int64(order.Uint64(v))
			case ngOptISBIfDrop:
				b.st.IfDrop = int64(order.Uint64(v))
			case ngOptISBFilterAccept:
				b.st.FilterAccept = int64(order.Uint64(v))
			case ngOptISBOSDrop:
				b.st.OSDrop = int64(order.Uint64(v))
			case ngOptISBUsrDeliv:
				b.st.Delivered = int64(order.Uint64(v))
			}
		}
		opts = opts[4+(n+3)&^3:]
	}
	return b, true
}

// ngTailStats reads the statistics blocks at the end of a pcapng file held
// in memory, walking back from its end over the blocks' trailing lengths:
// at most maxTailISB blocks, stopping at the first block that is not one.
// The section's byte order is the first section's; a file whose last
// section has the other order has no statistics read ahead.
func (f *File) ngTailStats(mem []byte) {
	end := len(mem)
	var tail []isbStats
	for range maxTailISB {
		if end < ngISBFixed {
			break
		}
		n := int(f.ngU32(mem[end-4:]))
		if n < ngISBFixed || n%4 != 0 || n > end || n > ngOtherBlockMax {
			break
		}
		blk := mem[end-n : end]
		if f.ngU32(blk) != ngISB || int(f.ngU32(blk[4:])) != n {
			break
		}
		b, ok := parseISB(blk, f.ngBig)
		if !ok {
			break
		}
		b.fromTail = true
		tail = append(tail, b)
		end -= n
	}
	// Back in file order: the last block of an interface is its last word.
	for i := len(tail) - 1; i >= 0; i-- {
		f.isb = append(f.isb, tail[i])
	}
}

// maxTailISB bounds the walk back over trailing statistics blocks: one per
// interface, and a capture of more interfaces than this is not one program
// run.
const maxTailISB = 4096
