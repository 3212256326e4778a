package decode

// Counts are the packet statistics of a run of packets: how many there
// are, and how many of them Decode would find malformed (NProblem > 0),
// cut short by the snap length (Snapped) and carried in a tunnel
// (NTunnel > 0).
type Counts struct {
	Packets, Malformed, Snapped, Tunneled int
}

// Count reads the rest of f, as Next would, and counts its packets: it
// calls emit with the counts of each run of consecutive packets of one
// capture point, named as Point names it, in file order (a point may come
// back in a later run). It returns the error that ended the file, io.EOF
// at its end, as Next does; the packets before it are counted.
//
// The counts are Decode's, but a packet of one of the fast path's shapes
// is only classified (classify), its record not written: hoptrace decode
// --stats on bench/limit.sh's 1M-record incident (80% Ethernet/IPv4/TCP,
// 20% flannel VXLAN) 476.8M -> 284.8M instructions (valgrind
// --tool=callgrind, GOMAXPROCS=1; 477 -> 285 per record, the walk 64).
func (f *File) Count(d *Decoder, emit func(point string, c Counts)) error {
	var (
		rec  Record // for the packets classify does not take
		run  Counts
		key  pointKey // the run's capture point
		link LinkType
	)
	for {
		data, m, err := f.Next()
		if err != nil {
			if run.Packets > 0 {
				emit(f.pointName(key, link), run)
			}
			return err
		}
		ifindex, class := d.classify(data, m)
		if class == classOther {
			d.Decode(&rec, data, m)
			ifindex, class = rec.Link.IfIndex, classOf(&rec)
		}
		if k := (pointKey{iface: m.Iface, ifindex: ifindex}); k != key || run.Packets == 0 {
			if run.Packets > 0 {
				emit(f.pointName(key, link), run)
			}
			run, key, link = Counts{}, k, m.Link
		}
		run.Packets++
		switch class {
		case classPlain:
		case classTunneled:
			run.Tunneled++
		default:
			if class&classMalformed != 0 {
				run.Malformed++
			}
			if class&classSnapped != 0 {
				run.Snapped++
			}
			if class&classTunneled != 0 {
				run.Tunneled++
			}
		}
	}
}

// A packet's class: what Counts counts of it, as bits.
const (
	classPlain     = 0
	classTunneled  = 1
	classMalformed = 2
	classSnapped   = 4
	classOther     = 8 // not classified: decode it
)

// classOf returns the class of a decoded record.
func classOf(r *Record) int {
	c := classPlain
	if r.NTunnel > 0 {
		c |= classTunneled
	}
	if r.NProblem > 0 {
		c |= classMalformed
	}
	if r.Snapped {
		c |= classSnapped
	}
	return c
}

// classify is fast without the record: for a frame of one of the shapes
// fast takes whole, it makes fast's checks, reading only the bytes they
// need, and returns the frame's SLL2 interface index (0 for other links)
// and its class, classPlain or classTunneled: the record fast would write
// has no problem and is not snapped. For any other frame it returns
// classOther. FuzzDecode and TestFastPathEqualsGeneral hold it to
// taking exactly the frames fast takes, with their counts.
//
// Like fast, it makes no call.
func (d *Decoder) classify(frame []byte, m Meta) (ifindex int32, class int) {
	var (
		et  uint16
		off int
	)
	switch m.Link {
	case LinkEthernet:
		if len(frame) < 14 {
			return 0, classOther
		}
		et, off = be16(frame[12:]), 14
	case LinkSLL2:
		if len(frame) < 20 || be16(frame[8:]) == 824 { // 824: netlink
			return 0, classOther
		}
		et, off, ifindex = be16(frame), 20, int32(be32(frame[4:]))
	case LinkLinuxSLL:
		if len(frame) < 16 || be16(frame[2:]) == 824 {
			return 0, classOther
		}
		et, off = be16(frame[14:]), 16
	default:
		return 0, classOther
	}
	b, cut, tunneled := frame[off:], len(frame) < m.WireLen, false
	// Once for the frame's IP header, and once more for the one inside
	// VXLAN.
	for {
		if len(b) < 40 {
			return 0, classOther // an IPv4 header with TCP, or IPv6 alone
		}
		var hl, total int
		var proto uint8
		switch {
		case et == 0x0800 && b[0] == 0x45:
			hl, total, proto = 20, int(be16(b[2:])), b[9]
			if total < 20 || be16(b[6:])&0x3fff != 0 { // MF or a fragment offset
				return 0, classOther
			}
		case et == 0x86dd && b[0]>>4 == 6:
			hl, total, proto = 40, int(be16(b[4:]))+40, b[6]
		default:
			return 0, classOther
		}
		switch {
		case total <= len(b):
			b, cut = b[:total], false
		case !cut:
			return 0, classOther // a length beyond the captured frame
		}
		t := b[hl:]
		switch proto {
		case ProtoTCP:
			if len(t) < 20 {
				return 0, classOther
			}
			// No options, or the timestamps as Linux lays them out.
			if doff := t[12] >> 4; doff != 5 && (doff != 8 || len(t) < 32 || be32(t[20:]) != 0x0101080a) {
				return 0, classOther
			}
		case ProtoUDP:
			if len(t) < 8 {
				return 0, classOther
			}
			sport, dport := be16(t), be16(t[2:])
			ulen := int(be16(t[4:]))
			if ulen < 8 || ulen > len(t) && !cut || sport == PortGeneve || dport == PortGeneve {
				return 0, classOther
			}
			if d.isVXLAN(sport) || d.isVXLAN(dport) {
				if tunneled {
					return 0, classOther // VXLAN in VXLAN: fast does not take it
				}
				if ulen <= len(t) {
					t, cut = t[:ulen], false
				}
				// UDP (8 bytes), VXLAN (8), the inner Ethernet header (14).
				if len(t) < 30 {
					return 0, classOther
				}
				et, b, tunneled = be16(t[28:]), t[30:], true
				continue
			}
		default:
			return 0, classOther
		}
		if tunneled {
			return ifindex, classTunneled
		}
		return ifindex, classPlain
	}
}
