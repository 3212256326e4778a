package decode

import "encoding/binary"

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
// is only classified (classify), its record not written, and a pcap file
// held in memory is walked by countMapped rather than Next. hoptrace
// decode --stats on bench/limit.sh's 1M-record incident (80%
// Ethernet/IPv4/TCP, 20% flannel VXLAN; valgrind --tool=callgrind,
// GOMAXPROCS=1): 476.8M instructions decoding every packet, 284.8M
// classifying, 213.7M with countMapped, 170.4M with classify's two
// common shapes at fixed offsets (477 -> 285 -> 214 -> 170 per record;
// the walk 64).
func (f *File) Count(d *Decoder, emit func(point string, c Counts)) error {
	r := countRun{key: pointKey{iface: -1}, emit: emit}
	for {
		if f.mem != nil && f.err == nil {
			f.countMapped(d, &r)
		}
		data, m, err := f.Next()
		if err != nil {
			r.flush()
			return err
		}
		ifindex, class := d.classify(data, m.Link, m.WireLen)
		if class == classOther {
			d.Decode(&r.rec, data, m)
			ifindex, class = r.rec.Link.IfIndex, classOf(&r.rec)
		}
		// A pcapng section numbers its interfaces anew, and forgets
		// the names (points).
		if k := (pointKey{iface: m.Iface, ifindex: ifindex}); k != r.key || f.points == nil {
			r.start(f, k, m.Link)
		}
		r.n[class&7]++
	}
}

// countMapped is Count over a pcap file held in memory, for as long as
// its records are whole and need no recovery: Next's common case and
// Count's loop in one, with no call but classify's, and no Meta kept in
// memory for the clock watch (clock.within). Anything else it leaves to
// Next, at the record where it stops. 284.8M -> 213.7M instructions, as
// Count says.
func (f *File) countMapped(d *Decoder, r *countRun) {
	mem, off, at := f.mem, int(f.off), -1
	relAt := int(^uint(0) >> 1) // where to release the pages read
	if f.mapped != nil {
		relAt = f.released + releaseEvery
	}
	for {
		if off >= relAt {
			f.release(off) // which may find the file shrunk
			mem, relAt = f.mem, f.released+releaseEvery
		}
		if len(mem)-off < pcapRecordHeader {
			break
		}
		h := (*[pcapRecordHeader]byte)(mem[off : off+pcapRecordHeader])
		var sec, frac, caplen, wire uint32
		if f.bigEndian {
			sec, frac, caplen, wire = binary.BigEndian.Uint32(h[0:4]), binary.BigEndian.Uint32(h[4:8]), binary.BigEndian.Uint32(h[8:12]), binary.BigEndian.Uint32(h[12:16])
		} else {
			sec, frac, caplen, wire = binary.LittleEndian.Uint32(h[0:4]), binary.LittleEndian.Uint32(h[4:8]), binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16])
		}
		start := off + pcapRecordHeader
		if caplen > uint32(f.limits.MaxRecord) || caplen > wire || int(caplen) > len(mem)-start {
			break
		}
		if !f.nanos {
			frac *= 1000
		}
		ts := int64(sec)*1e9 + int64(frac)
		if !f.clock.within(ts) {
			f.clockJump(ts, off)
		}
		at, off = off, start+int(caplen)
		data := mem[start:off:off]
		// The next record's header and first lines into the cache while
		// this one is classified, as Next does, but only after a large
		// record: after a small one they are in lines the hardware
		// prefetcher streams anyway. Full 1,064-byte frames (bench/gencap,
		// 300k, 12 alternating runs, load average 10, median CPU): 53.5 ms
		// without, 50.0 ms prefetching after every record, 49.4 ms after
		// records over 256 bytes. The 125-byte records of bench/limit.sh's
		// incident: prefetching after every one cost 18 instructions per
		// record (159.3M -> 177.4M) and 28.1 -> 29.8 ms (best of 15); the
		// test on the length costs nothing measurable (159.3M).
		if caplen > 256 {
			prefetchRecord(mem, off)
		}
		// Two shapes make most of a pod network's frames: Ethernet, IPv4
		// without options and TCP (an interface's capture), and the same
		// in flannel's VXLAN (node eth0). Their headers are where they
		// always are, so that classify's checks are a few loads here: a
		// frame that passes them is one classify takes, with the same
		// class (TestCount, FuzzReader and FuzzDecode hold them to it);
		// anything else goes to classify. On bench/limit.sh's 1M-record
		// incident, as Count says: 213.7M -> 188.1M instructions with the
		// first shape taken in classify, 170.4M with both (classify 103 ->
		// 60 instructions per record), 159.3M with them here, where no
		// call spills the loop's registers.
		ifindex, class := int32(0), classOther
	shapes:
		for n := len(data); ; {
			if f.link == LinkEthernet && n >= 54 {
				v := (*[54]byte)(data)
				if be16(v[12:14]) == 0x0800 && v[14] == 0x45 && be16(v[20:22])&0x3fff == 0 {
					// The IPv4 length ends the frame, or the snap length cut it.
					total, cut := int(be16(v[16:18])), false
					switch {
					case total <= n-14:
						n = 14 + total
					case n < int(wire):
						cut = true
					default:
						class = classOther
						break shapes // a length beyond the captured frame
					}
					switch v[23] {
					case ProtoTCP:
						// Room for TCP; no options, or the timestamps as Linux
						// lays them out.
						if doff := v[46] >> 4; n >= 54 && (doff == 5 || doff == 8 && n >= 66 && be32(data[54:58]) == 0x0101080a) {
							class = classPlain
							break shapes
						}
					case ProtoUDP:
						// UDP (at 34), VXLAN (at 42), the inner Ethernet header
						// (at 50), IPv4 (at 64), TCP (at 84).
						if n < 104 {
							break
						}
						w := (*[104]byte)(data)
						sport, dport, ulen := be16(w[34:36]), be16(w[36:38]), int(be16(w[38:40]))
						if sport == PortGeneve || dport == PortGeneve || !d.isVXLAN(sport) && !d.isVXLAN(dport) {
							break
						}
						switch {
						case ulen <= n-34:
							n, cut = 34+ulen, false
						case !cut:
							class = classOther
							break shapes
						}
						if n < 104 || be16(w[62:64]) != 0x0800 || w[64] != 0x45 || be16(w[70:72])&0x3fff != 0 || w[73] != ProtoTCP {
							break
						}
						switch total := int(be16(w[66:68])); {
						case total <= n-64:
							n = 64 + total
						case !cut:
							class = classOther
							break shapes
						}
						if doff := w[96] >> 4; n >= 104 && (doff == 5 || doff == 8 && n >= 116 && be32(data[104:108]) == 0x0101080a) {
							class = classTunneled
							break shapes
						}
					}
				}
			}
			ifindex, class = d.classify(data, f.link, int(wire))
			break
		}
		if class == classOther {
			class = r.decode(d, data, Meta{TS: ts, WireLen: int(wire), Link: f.link})
			ifindex = r.rec.Link.IfIndex
		}
		if ifindex != r.key.ifindex || r.key.iface != 0 {
			r.start(f, pointKey{ifindex: ifindex}, f.link)
		}
		r.n[class&7]++
	}
	f.off = int64(off)
	if at >= 0 {
		f.clock.off = int64(at)
	}
}

// countRun is the run of packets of one capture point that Count counts.
type countRun struct {
	key   pointKey // iface -1 before the first packet
	point string   // the name of key
	n     [8]int   // packets by class
	emit  func(point string, c Counts)
	rec   Record // for the packets classify does not take
}

// decode decodes a packet classify did not take and returns its class.
func (r *countRun) decode(d *Decoder, data []byte, m Meta) int {
	d.Decode(&r.rec, data, m)
	return classOf(&r.rec)
}

// clockJump is clockWatch.jump for the time stamp ts of the record at off,
// which countMapped's clock.within did not take.
func (f *File) clockJump(ts int64, off int) {
	m := Meta{TS: ts}
	f.clock.off = int64(off)
	f.clock.jump(f, &m, int64(off))
}

// start ends the run and starts one of capture point key, of link type
// link. The point is named now, as its first packet is read: a pcapng
// file's next section may number its interfaces anew.
func (r *countRun) start(f *File, key pointKey, link LinkType) {
	r.flush()
	r.key, r.point = key, f.pointName(key, link)
}

// flush hands the run's counts, if any, to emit and empties the run.
func (r *countRun) flush() {
	var c Counts
	for class, n := range r.n {
		c.Packets += n
		if class&classTunneled != 0 {
			c.Tunneled += n
		}
		if class&classMalformed != 0 {
			c.Malformed += n
		}
		if class&classSnapped != 0 {
			c.Snapped += n
		}
	}
	if c.Packets > 0 {
		r.emit(r.point, c)
	}
	r.n = [8]int{}
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
func (d *Decoder) classify(frame []byte, link LinkType, wire int) (ifindex int32, class int) {
	// Offsets into frame rather than slices of it: a slice costs a
	// pointer, a length and a capacity to compute and keep.
	var (
		et uint16
		o  int // where the header being looked at starts
	)
	n := len(frame) // where what the headers so far claim ends
	switch link {
	case LinkEthernet:
		if n < 14 {
			return 0, classOther
		}
		et, o = be16(frame[12:14]), 14
	case LinkSLL2:
		if n < 20 || be16(frame[8:10]) == 824 { // 824: netlink
			return 0, classOther
		}
		et, o, ifindex = be16(frame[0:2]), 20, int32(be32(frame[4:8]))
	case LinkLinuxSLL:
		if n < 16 || be16(frame[2:4]) == 824 {
			return 0, classOther
		}
		et, o = be16(frame[14:16]), 16
	default:
		return 0, classOther
	}
	cut, tunneled := n < wire, false
	// Once for the frame's IP header, and once more for the one inside
	// VXLAN.
	for {
		if n-o < 40 {
			return 0, classOther // an IPv4 header with TCP, or IPv6 alone
		}
		ip := (*[40]byte)(frame[o : o+40])
		var hl, total int
		var proto uint8
		switch {
		case et == 0x0800 && ip[0] == 0x45:
			hl, total, proto = 20, int(be16(ip[2:4])), ip[9]
			if total < 20 || be16(ip[6:8])&0x3fff != 0 { // MF or a fragment offset
				return 0, classOther
			}
		case et == 0x86dd && ip[0]>>4 == 6:
			hl, total, proto = 40, int(be16(ip[4:6]))+40, ip[6]
		default:
			return 0, classOther
		}
		switch {
		case total <= n-o:
			n, cut = o+total, false
		case !cut:
			return 0, classOther // a length beyond the captured frame
		}
		o += hl
		switch proto {
		case ProtoTCP:
			if n-o < 20 {
				return 0, classOther
			}
			// No options, or the timestamps as Linux lays them out.
			if doff := frame[o+12] >> 4; doff != 5 && (doff != 8 || n-o < 32 || be32(frame[o+20:o+24]) != 0x0101080a) {
				return 0, classOther
			}
		case ProtoUDP:
			if n-o < 8 {
				return 0, classOther
			}
			u := (*[8]byte)(frame[o : o+8])
			sport, dport, ulen := be16(u[0:2]), be16(u[2:4]), int(be16(u[4:6]))
			if ulen < 8 || ulen > n-o && !cut || sport == PortGeneve || dport == PortGeneve {
				return 0, classOther
			}
			if d.isVXLAN(sport) || d.isVXLAN(dport) {
				if tunneled {
					return 0, classOther // VXLAN in VXLAN: fast does not take it
				}
				if ulen <= n-o {
					n, cut = o+ulen, false
				}
				// UDP (8 bytes), VXLAN (8), the inner Ethernet header (14).
				if n-o < 30 {
					return 0, classOther
				}
				et, o, tunneled = be16(frame[o+28:o+30]), o+30, true
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
