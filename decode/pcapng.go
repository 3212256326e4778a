package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// pcapng blocks are read here, from memory or from the read buffer, not by
// pcapgo: a damaged block must not end the file (pcapgo's state is lost
// after one), every length must be checked against the limits before it
// costs memory, and interfaces must be appended as they come (rebuilding
// the list per interface made a file of 100k interleaved interfaces
// quadratic).
//
//	 0                   1                   2                   3
//	+---------------------------------------------------------------+
//	|                          Block Type                           |
//	+---------------------------------------------------------------+
//	|                      Block Total Length                       |
//	+---------------------------------------------------------------+
//	/                          Block Body                           /
//	+---------------------------------------------------------------+
//	|                      Block Total Length                       |
//	+---------------------------------------------------------------+

// pcapng block types.
const (
	ngSHB = 0x0a0d0d0a // section header
	ngIDB = 1          // interface description
	ngPB  = 2          // packet (obsolete)
	ngSPB = 3          // simple packet
	ngNRB = 4          // name resolution
	ngISB = 5          // interface statistics
	ngEPB = 6          // enhanced packet
	ngJEB = 9          // systemd journal export
	ngDSB = 10         // decryption secrets
	ngCB  = 0x00000bad // custom, copiable
	ngCBN = 0x40000bad // custom, not to be copied

	ngByteOrderMagic = 0x1a2b3c4d
)

// pcapng option codes the reader uses.
const (
	ngOptEnd         = 0
	ngOptComment     = 1
	ngOptIfName      = 2
	ngOptIfDesc      = 3
	ngOptIfTsresol   = 9
	ngOptIfTsoffset  = 14
	ngSHBFixed       = 28 // type, length, magic, versions, section length, trailer
	ngIDBFixed       = 20 // type, length, link type, reserved, snap length, trailer
	ngEPBFixed       = 32
	ngPBFixed        = 32
	ngSPBFixed       = 16
	ngMinBlockLength = 12
)

// ngTime converts the time stamps of one pcapng interface, as pcapgo does.
type ngTime struct {
	units  uint64 // time stamp units per second
	up     uint64 // ns = units * up / down
	down   uint64
	offset uint64 // seconds added to every time stamp
	fast   bool   // a resolution of 10^-k s, k <= 9: units*up is ns, no time.Time needed
}

// ts converts a time stamp to ns since the epoch; 0 for time.Time{}, as a
// simple packet block has no time stamp.
func (t *ngTime) ts(v uint64) int64 {
	sec, frac := int64(v/t.units+t.offset), int64(v%t.units*t.up/t.down)
	if t.fast {
		if sec == zeroUnix && frac == 0 {
			return 0
		}
		return sec*1e9 + frac
	}
	tm := time.Unix(sec, frac)
	if tm.IsZero() {
		return 0
	}
	return tm.UnixNano()
}

// zeroUnix is time.Time{}.Unix(): an interface's time stamp offset can bring
// a time stamp there.
var zeroUnix = time.Time{}.Unix()

func (f *File) ngU32(b []byte) uint32 {
	if f.ngBig {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *File) ngU16(b []byte) uint16 {
	if f.ngBig {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

// ngPeek returns the next n bytes of a pcapng file without consuming them:
// fewer at the end of the file, with io.EOF, and nil when, read from a
// stream, they do not fit in the buffer.
func (f *File) ngPeek(n int) ([]byte, error) {
	if f.ngMem != nil {
		rest := f.ngMem[min(f.ngOff, int64(len(f.ngMem))):]
		if n > len(rest) {
			return rest, io.EOF
		}
		return rest[:n], nil
	}
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	if n > f.br.Size() {
		return nil, nil
	}
	b, err := f.br.Peek(n)
	if err != nil && len(b) < n {
		return b, io.EOF
	}
	return b, nil
}

// ngConsume moves past n bytes that ngPeek returned.
func (f *File) ngConsume(n int) {
	if f.ngMem == nil {
		f.pending = n
	}
	f.ngOff += int64(n)
}

// readFirstSection reads the section header a pcapng file starts with.
func (f *File) readFirstSection() error {
	b, _ := f.ngPeek(12)
	if len(b) < 12 {
		return io.ErrUnexpectedEOF
	}
	if err := f.ngSectionOrder(b); err != nil {
		return err
	}
	n := f.ngU32(b[4:])
	if n < ngSHBFixed || n%4 != 0 || n > f.limits.maxPacketBlock() {
		return fmt.Errorf("section header block length %d is not plausible", n)
	}
	blk, err := f.ngBlockBytes(int(n))
	if err != nil {
		return err
	}
	if err := f.ngSection(blk); err != nil {
		return err
	}
	if f.ngMem == nil {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	return nil
}

// ngSectionOrder sets the byte order from a section header's magic.
func (f *File) ngSectionOrder(b []byte) error {
	switch {
	case binary.BigEndian.Uint32(b[8:]) == ngByteOrderMagic:
		f.ngBig = true
	case binary.LittleEndian.Uint32(b[8:]) == ngByteOrderMagic:
		f.ngBig = false
	default:
		return errors.New("wrong byte order value in section header")
	}
	return nil
}

// ngBlockBytes returns the whole block of n bytes at ngOff, consumed, or
// an error when the file ends inside it. Blocks longer than the read
// buffer of a stream are copied into f.big, growing as bytes arrive.
func (f *File) ngBlockBytes(n int) ([]byte, error) {
	b, err := f.ngPeek(n)
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if b != nil {
		f.ngConsume(n)
		return b, nil
	}
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	f.big, err = readLarge(f.br, f.big, n)
	f.ngOff += int64(len(f.big))
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return f.big, nil
}

// ngSection takes a section header block: a new section, whose interfaces
// start again from index 0.
func (f *File) ngSection(blk []byte) error {
	if major, minor := f.ngU16(blk[12:]), f.ngU16(blk[14:]); major != 1 || (minor != 0 && minor != 2) {
		// libpcap reads 1.0 and 1.2 (1.1 was never written).
		return fmt.Errorf("%w %d.%d", pcapgo.ErrNgVersionMismatch, major, minor)
	}
	if err := f.ngOptions(blk[24:len(blk)-4], nil); err != nil {
		return fmt.Errorf("section header: %w", err)
	}
	f.ifaces, f.ngTime = f.ifaces[:0], f.ngTime[:0]
	f.sections++
	f.points = nil // names cached by interface index are stale
	f.clock.section()
	return nil
}

// ngOptions walks the options of a block, calling fn (when not nil) with
// each option's code and value.
func (f *File) ngOptions(opts []byte, fn func(code uint16, v []byte)) error {
	for len(opts) > 0 {
		if len(opts) < 4 {
			return errors.New("options end inside an option header")
		}
		code, n := f.ngU16(opts), int(f.ngU16(opts[2:]))
		if code == ngOptEnd {
			return nil
		}
		padded := 4 + (n+3)&^3
		if padded > len(opts) {
			return fmt.Errorf("option %d of %d bytes runs past the end of the block", code, n)
		}
		if fn != nil {
			fn(code, opts[4:4+n])
		}
		opts = opts[padded:]
	}
	return nil
}

// ngInterface takes an interface description block: one more interface.
func (f *File) ngInterface(blk []byte) error {
	ifc := Interface{Link: LinkType(f.ngU16(blk[8:])), SnapLen: f.ngU32(blk[12:])}
	res, offset := uint8(0), uint64(0)
	err := f.ngOptions(blk[16:len(blk)-4], func(code uint16, v []byte) {
		switch code {
		case ngOptIfName:
			ifc.Name = string(v)
		case ngOptIfDesc:
			ifc.Description = string(v)
		case ngOptComment:
			ifc.Comment = string(v)
		case ngOptIfTsresol:
			if len(v) >= 1 {
				res = v[0]
			}
		case ngOptIfTsoffset:
			if len(v) >= 8 {
				if f.ngBig {
					offset = binary.BigEndian.Uint64(v)
				} else {
					offset = binary.LittleEndian.Uint64(v)
				}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("interface description: %w", err)
	}
	if res == 0 {
		res = 6 // pcapgo's reading of an absent or zero if_tsresol
	}
	exp := uint64(res & 0x7f)
	if exp > 63 {
		return fmt.Errorf("interface description: time stamp resolution exponent %d is too high", exp)
	}
	t := ngTime{units: 1, up: 1, down: 1, offset: offset}
	if res&0x80 != 0 {
		t.units = 1 << exp
	} else {
		for range exp {
			t.units *= 10 // wraps above 10^19, as pcapgo's does
		}
		t.fast = exp <= 9
	}
	if t.units < 1e9 {
		t.up = 1e9 / t.units
	} else {
		t.down = t.units / 1e9
	}
	f.ifaces = append(f.ifaces, ifc)
	f.ngTime = append(f.ngTime, t)
	return nil
}

// ngCheck looks at a block header, before anything of the block is
// buffered: the length must be a multiple of 4, hold the block's fixed
// fields, stay within the limits.
func (f *File) ngCheck(typ, n uint32) error {
	fixed, limit := uint32(ngMinBlockLength), uint32(ngOtherBlockMax)
	switch typ {
	case ngSHB:
		fixed, limit = ngSHBFixed, f.limits.maxPacketBlock()
	case ngIDB:
		fixed, limit = ngIDBFixed, f.limits.maxPacketBlock()
	case ngEPB:
		fixed, limit = ngEPBFixed, f.limits.maxPacketBlock()
	case ngPB:
		fixed, limit = ngPBFixed, f.limits.maxPacketBlock()
	case ngSPB:
		fixed, limit = ngSPBFixed, f.limits.maxPacketBlock()
	}
	limit = max(limit, f.limits.maxPacketBlock())
	switch {
	case n%4 != 0:
		return fmt.Errorf("block type %#x: length %d is not a multiple of 4", typ, n)
	case n < fixed:
		return fmt.Errorf("block type %#x: length %d is shorter than its fixed fields (%d)", typ, n, fixed)
	case n > limit:
		return fmt.Errorf("block type %#x: length %d is longer than the %d-byte limit (--max-record-size raises it)", typ, n, limit)
	}
	return nil
}

// ngKnown reports whether typ is a block type a pcapng writer emits.
func ngKnown(typ uint32) bool {
	switch typ {
	case ngSHB, ngIDB, ngPB, ngSPB, ngNRB, ngISB, ngEPB, ngJEB, ngDSB, ngCB, ngCBN:
		return true
	}
	return false
}

// ngSkipped reports whether the reader skips blocks of type typ: all but
// section headers, interface descriptions and packet blocks (unknown types
// too, as the format asks).
func ngSkipped(typ uint32) bool {
	switch typ {
	case ngSHB, ngIDB, ngEPB, ngPB, ngSPB:
		return false
	}
	return true
}

// ngPlausible reports whether b starts with a plausible block of the
// current section (or a new section header): a known type, a length the
// limits allow and, where it can be seen, the same length at its end; a
// packet block names a known interface and holds its packet.
func (f *File) ngPlausible(b []byte, atEOF bool) bool {
	typ := f.ngU32(b)
	if !ngKnown(typ) {
		return false
	}
	big := f.ngBig
	defer func() { f.ngBig = big }()
	if typ == ngSHB {
		if len(b) < 12 || f.ngSectionOrder(b) != nil {
			return false
		}
	}
	n := f.ngU32(b[4:])
	if f.ngCheck(typ, n) != nil {
		return false
	}
	if int(n) <= len(b) {
		if f.ngU32(b[n-4:]) != n {
			return false
		}
	} else if atEOF {
		return false
	}
	switch typ {
	case ngEPB, ngPB:
		if len(b) < 24 {
			return !atEOF
		}
		iface := f.ngU32(b[8:])
		if typ == ngPB {
			iface = uint32(f.ngU16(b[8:]))
		}
		return iface < uint32(len(f.ifaces)) && f.ngU32(b[20:]) <= n-ngEPBFixed
	case ngSPB:
		return len(f.ifaces) > 0
	}
	return true
}

// nextNG returns the next packet of a pcapng file: a view of the file held
// in memory or of the read buffer, valid until the next call.
func (f *File) nextNG() (data []byte, m Meta, err error) {
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	f.releaseRead(int(f.ngOff))
	for {
		start := f.ngOff
		hdr, err := f.ngPeek(12)
		if len(hdr) < 8 {
			if len(hdr) == 0 && err != nil {
				return nil, m, f.fail(io.EOF, start)
			}
			return nil, m, f.fail(io.ErrUnexpectedEOF, start)
		}
		typ := f.ngU32(hdr)
		if typ == ngSHB {
			if len(hdr) < 12 {
				return nil, m, f.fail(io.ErrUnexpectedEOF, start)
			}
			if err := f.ngSectionOrder(hdr); err != nil {
				if f.resync(&f.ngOff, err, 12, f.ngPlausible) {
					continue
				}
				return nil, m, f.fail(io.EOF, f.ngOff)
			}
		}
		n := f.ngU32(hdr[4:])
		if err := f.ngCheck(typ, n); err != nil {
			if f.resync(&f.ngOff, err, 12, f.ngPlausible) {
				continue
			}
			return nil, m, f.fail(io.EOF, f.ngOff)
		}
		if n > readBufSize && ngSkipped(typ) {
			// A long block the reader does not use: skipped without
			// buffering it, its trailing length checked all the same.
			if err := f.ngSkip(int64(n) - 4); err != nil {
				return nil, m, f.fail(err, start)
			}
			t, _ := f.ngPeek(4)
			if len(t) < 4 {
				return nil, m, f.fail(io.ErrUnexpectedEOF, start)
			}
			got := f.ngU32(t)
			f.ngConsume(4)
			if got != n {
				if f.resyncFrom(start, fmt.Errorf("block type %#x: length %d at its start, %d at its end", typ, n, got)) {
					continue
				}
				return nil, m, f.fail(io.EOF, f.ngOff)
			}
			continue
		}
		blk, err := f.ngBlockBytes(int(n))
		if err != nil {
			return nil, m, f.fail(err, start)
		}
		if t := f.ngU32(blk[n-4:]); t != n {
			err := fmt.Errorf("block type %#x: length %d at its start, %d at its end", typ, n, t)
			if f.resyncFrom(start, err) {
				continue
			}
			return nil, m, f.fail(io.EOF, f.ngOff)
		}
		if typ == ngISB {
			f.ngStats(blk)
			continue
		}
		if ngSkipped(typ) {
			continue
		}
		switch typ {
		case ngSHB:
			if err := f.ngSection(blk); err != nil {
				// A section of another version cannot be read at all.
				return nil, m, f.fail(err, start)
			}
			continue
		case ngIDB:
			err = f.ngInterface(blk)
		case ngEPB, ngPB:
			data, m, err = f.ngPacket(typ, blk, start)
		case ngSPB:
			data, m, err = f.ngSimple(blk)
		}
		if err != nil {
			if f.resyncFrom(start, err) {
				continue
			}
			return nil, m, f.fail(io.EOF, f.ngOff)
		}
		if typ == ngIDB {
			continue
		}
		if f.ngMem != nil {
			prefetchRecord(f.ngMem, int(f.ngOff))
		}
		if !f.clock.see(&m, start) {
			f.clock.jump(f, &m, start)
		}
		return data, m, nil
	}
}

// resyncFrom resynchronises after a block at start that was read whole. A
// block up to readBufSize long was only looked at, and the search starts
// again after its first byte; a longer one, which a stream copies out of
// its buffer, is skipped whole (from memory too, so that both read the
// same).
func (f *File) resyncFrom(start int64, err error) bool {
	if n := f.ngOff - start; n <= readBufSize {
		f.ngOff, f.pending = start, 0
		return f.resync(&f.ngOff, err, 12, f.ngPlausible)
	}
	return f.resyncAfter(start, &f.ngOff, err, 12, f.ngPlausible)
}

// ngSkip moves past a block of n bytes the reader does not use, without
// buffering it.
func (f *File) ngSkip(n int64) error {
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	if f.ngMem != nil {
		if n > int64(len(f.ngMem))-f.ngOff {
			return io.ErrUnexpectedEOF
		}
		f.ngOff += n
		return nil
	}
	k, err := f.br.Discard(int(n))
	f.ngOff += int64(k)
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// ngPacket reads an enhanced or obsolete packet block, which starts at
// offset start. Its options are not read. A block that claims fewer bytes
// on the wire than it holds is kept as a pcap record is, with the wire
// length raised to the captured length and a recovery noted.
func (f *File) ngPacket(typ uint32, blk []byte, start int64) ([]byte, Meta, error) {
	n := uint32(len(blk))
	iface := f.ngU32(blk[8:])
	if typ == ngPB {
		iface = uint32(f.ngU16(blk[8:]))
	}
	caplen, wire := f.ngU32(blk[20:]), f.ngU32(blk[24:])
	switch {
	case iface >= uint32(len(f.ifaces)):
		return nil, Meta{}, fmt.Errorf("packet block names interface %d; the section has %d", iface, len(f.ifaces))
	case caplen > n-ngEPBFixed:
		return nil, Meta{}, fmt.Errorf("packet block of %d bytes claims %d captured", n, caplen)
	case caplen > uint32(f.limits.MaxRecord):
		return nil, Meta{}, fmt.Errorf("packet of %d bytes is longer than the %d-byte limit (--max-record-size raises it)", caplen, f.limits.MaxRecord)
	}
	if caplen > wire {
		f.recover(Recovery{Offset: start, Err: fmt.Errorf("packet block claims %d bytes on the wire but holds %d; taken as %d", wire, caplen, caplen)})
		wire = caplen
	}
	ts := uint64(f.ngU32(blk[12:]))<<32 | uint64(f.ngU32(blk[16:]))
	m := Meta{TS: f.ngTime[iface].ts(ts), WireLen: int(wire), Iface: int(iface), Link: f.ifaces[iface].Link}
	return blk[28 : 28+caplen : 28+caplen], m, nil
}

// ngSimple reads a simple packet block: interface 0, no time stamp, the
// captured length what the snap length and the block allow.
func (f *File) ngSimple(blk []byte) ([]byte, Meta, error) {
	if len(f.ifaces) == 0 {
		return nil, Meta{}, errors.New("simple packet block before any interface")
	}
	wire := f.ngU32(blk[8:])
	caplen := min(wire, uint32(len(blk)-ngSPBFixed))
	if s := f.ifaces[0].SnapLen; s != 0 {
		caplen = min(caplen, s)
	}
	return blk[12 : 12+caplen : 12+caplen], Meta{WireLen: int(wire), Link: f.ifaces[0].Link}, nil
}
