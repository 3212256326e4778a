package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gopacket/gopacket/pcapgo"
)

// Format is a capture file format.
type Format uint8

// Capture file formats.
const (
	FormatPcap Format = iota + 1
	FormatPcapNG
)

func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// Interface is one capture interface of a file: the single one of a pcap
// file, or a pcapng Interface Description Block.
type Interface struct {
	Name        string // empty when the file does not say
	Description string
	Comment     string
	Link        LinkType
	SnapLen     uint32
}

// ReadError is a problem reading a capture file. Packets read before it
// remain valid.
type ReadError struct {
	Path      string
	Offset    int64 // byte offset of the record that could not be read
	Truncated bool  // the file ends inside a record
	Err       error
	// Decompressed reports that Offset counts bytes of the decompressed
	// stream of a compressed file.
	Decompressed bool
}

func (e *ReadError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Decompressed {
		where += " of the decompressed stream"
	}
	if e.Truncated && !errors.Is(e.Err, ErrShrunk) {
		return fmt.Sprintf("read capture %s: truncated: file ends inside the record at %s", e.Path, where)
	}
	return fmt.Sprintf("read capture %s at %s: %v", e.Path, where, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ErrShrunk reports a capture file that became shorter while it was read
// (a ring of captures rotated under the reader). It ends the read like a
// truncation: the packets before it are kept.
var ErrShrunk = errors.New("the file shrank while it was read")

// ErrNotCapture reports a file that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// File reads the packets of one capture file, in file order. It is not safe
// for concurrent use.
//
// Damage inside a file does not end it where the format allows carrying
// on: after a record or block that cannot be right (a length beyond the
// limits or the block, a pcapng block whose trailing length disagrees) the
// reader looks for the next plausible record or block, skips to it and
// goes on; Recoveries says where and why. Only a cut file, a failing read
// or a header it cannot parse end the file early, with a *ReadError.
type File struct {
	Path   string
	Format Format
	// Compression is how the file is compressed; a compressed file is
	// read through its decompressor, and offsets count the bytes of the
	// decompressed stream.
	Compression Compression
	// Reanchor shifts the time stamps after a clock step (see ClockSteps)
	// so that the file's timeline goes on from the packet before the step:
	// what an analysis that follows packets across captures needs when it
	// cannot tell the step's size. Off, time stamps are what the file says.
	// It may be set between two calls of Next: the steps from then on are
	// re-anchored.
	Reanchor bool

	limits       Limits
	f            *os.File
	mapped       []byte // the whole file, when Open could map it
	undecompress func() // releases the decompressor's, when the file is compressed
	count        *countingReader
	br           *bufio.Reader
	pcap         *pcapgo.Reader
	ifaces       []Interface
	points       map[pointKey]string
	off          int64 // pcap: where the next record starts
	err          error // the first read error; sticky

	// pcapng: the byte order of the current section and how each of its
	// interfaces stamps time. The file is read from ngMem when it is held
	// in memory, otherwise from br; ngOff is where the next block starts
	// either way.
	ngBig  bool
	ngTime []ngTime
	ngMem  []byte
	ngOff  int64

	// Classic pcap records are read here rather than by pcapgo: from mem
	// when the file is mapped, otherwise from br.
	mem       []byte
	released  int   // mapped[:released] has been handed back to the kernel
	shrunk    int64 // the size the file shrank to while mapped, or -1
	link      LinkType
	bigEndian bool   // the file's byte order
	nanos     bool   // nanosecond timestamps
	snaplen   uint32 // from the file header
	pending   int    // bytes of the last packet still in the buffer
	big       []byte // packets longer than the buffer

	recoveries  []Recovery
	nRecoveries int
	skipped     int64
	clock       clockWatch

	// pcapng interface statistics (isb.go): the blocks read, by section
	// and interface, and how many sections were read.
	isb      []isbStats
	isbIdx   map[[2]int]int
	sections int

	// last is the capture point of the previous packet, which the next one
	// almost always shares: it spares Point a map lookup per packet. It is
	// valid while points is not nil.
	last     pointKey
	lastName string
}

// readBufSize is the buffer of a capture read as a stream. pcapgo, which
// reads a pcap file header, wraps its input in bufio.NewReader, which
// returns a *bufio.Reader at least this size unchanged.
const readBufSize = 64 << 10

// memBufSize is the buffer for a capture held in memory, whose packets are
// views of it and do not go through the buffer: only the file header does.
// It is bufio's default size, the least pcapgo takes as it is.
const memBufSize = 4096

// smallFile is the size below which Open reads a capture whole rather than
// map it: mapping and unmapping cost about 18 µs a file here, reading 6 KB
// about 9 µs, and a pod's capture of a short incident is often that small.
const smallFile = 32 << 10

// Open opens a pcap or pcapng file, plain or compressed (Compression),
// telling the format by its magic number. A regular file under 32 KB is read whole; on
// Linux a larger one is mapped into memory rather than read, and one that
// shrinks while it is read ends with ErrShrunk when the reader sees it in
// time (see MappedAt when it does not).
func Open(path string) (*File, error) { return OpenLimits(path, DefaultLimits) }

// OpenLimits is Open with other limits than DefaultLimits.
func OpenLimits(path string, lim Limits) (*File, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("open capture %s: %w", path, err)
	}
	size := int64(-1) // not a regular file, or unknown
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	if size > 0 && size < smallFile {
		// Cheaper to copy than to map and unmap. What the file holds by
		// the time it is read is the capture.
		b := make([]byte, size)
		n, err := io.ReadFull(f, b)
		f.Close()
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, fmt.Errorf("open capture %s: %w", path, err)
		}
		return NewFileBytesLimits(path, b[:n], lim)
	}
	mem := mapFile(f, size)
	if CompressionOf(mem[:min(len(mem), 4)]) != Uncompressed {
		// Compressed: read through the decompressor, which copies anyway.
		unmapFile(mem)
		mem = nil
	}
	if mem == nil {
		cf, err := newFile(path, f, readBufSize, lim)
		if err != nil {
			f.Close()
			return nil, err
		}
		cf.f = f
		return cf, nil
	}
	mappings.add(path, mem) // before the first byte is read
	cf, err := NewFileBytesLimits(path, mem, lim)
	if err != nil {
		unmapFile(mem)
		f.Close()
		return nil, err
	}
	cf.f, cf.mapped = f, mem
	return cf, nil
}

// NewFile reads a capture from r; path names it in errors.
func NewFile(path string, r io.Reader) (*File, error) {
	return newFile(path, r, readBufSize, DefaultLimits)
}

// NewFileLimits is NewFile with other limits than DefaultLimits.
func NewFileLimits(path string, r io.Reader, lim Limits) (*File, error) {
	return newFile(path, r, readBufSize, lim)
}

// NewFileBytes reads a capture held in memory; path names it in errors. The
// packets are views of b, which must not change while they are in use.
func NewFileBytes(path string, b []byte) (*File, error) {
	return NewFileBytesLimits(path, b, DefaultLimits)
}

// NewFileBytesLimits is NewFileBytes with other limits than DefaultLimits.
func NewFileBytesLimits(path string, b []byte, lim Limits) (*File, error) {
	cf, err := newFile(path, bytes.NewReader(b), memBufSize, lim) // a decompressor gets a buffer of its own
	if err != nil {
		return nil, err
	}
	switch {
	case cf.Compression != Uncompressed:
	case cf.Format == FormatPcap:
		cf.mem = b
	case cf.Format == FormatPcapNG:
		cf.ngMem = b
		cf.ngTailStats(b)
	}
	return cf, nil
}

func newFile(path string, r io.Reader, bufSize int, lim Limits) (_ *File, err error) {
	cf := &File{Path: path, shrunk: -1, limits: lim.orDefault()}
	defer func() {
		if err != nil && cf.undecompress != nil {
			cf.undecompress()
		}
	}()
	cf.count = &countingReader{r: r}
	cf.br = bufio.NewReaderSize(cf.count, bufSize)
	magic, err := cf.br.Peek(4)
	if c := CompressionOf(magic); c != Uncompressed {
		dc, release, dErr := Decompress(c, cf.br)
		if dErr != nil {
			return nil, fmt.Errorf("open capture %s: %w", path, dErr)
		}
		cf.Compression, cf.undecompress = c, release
		cf.count = &countingReader{r: &ratioGuard{r: dc, in: cf.count, max: cf.limits.MaxRatio}}
		cf.br = bufio.NewReaderSize(cf.count, readBufSize)
		magic, err = cf.br.Peek(4)
	}
	if err != nil {
		switch {
		case cf.Compression != Uncompressed && err != io.EOF:
			// The decompressor failed (a stream cut short, corrupt):
			// not what the file holds, which is unknown.
			return nil, fmt.Errorf("open capture %s: %s stream ends before a capture header: %w", path, cf.Compression, err)
		case cf.Compression != Uncompressed:
			return nil, fmt.Errorf("open capture %s: %w (decompresses to %d bytes)", path, ErrNotCapture, len(magic))
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil, fmt.Errorf("open capture %s: %w (file has %d bytes)", path, ErrNotCapture, len(magic))
		}
		return nil, fmt.Errorf("open capture %s: %w", path, err)
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		cf.Format = FormatPcap
		// pcapgo keeps the low 16 bits of the link type field; libpcap
		// rejects a file whose reserved bits 16-25 are set.
		if hdr, _ := cf.br.Peek(24); len(hdr) == 24 {
			lt := binary.BigEndian.Uint32(hdr[20:])
			if m == 0xa1b2c3d4 || m == 0xa1b23c4d {
				lt = binary.LittleEndian.Uint32(hdr[20:])
			}
			if lt&0x03ff0000 != 0 {
				return nil, fmt.Errorf("open capture %s: bad pcap header: link type field %#08x has reserved bits set", path, lt)
			}
		}
		cf.bigEndian = m == 0xd4c3b2a1 || m == 0x4d3cb2a1
		cf.nanos = m == 0xa1b23c4d || m == 0x4d3cb2a1
		cf.pcap, err = pcapgo.NewReader(cf.br)
		if err == nil {
			cf.snaplen = cf.pcap.Snaplen()
			cf.off = 24
			cf.link = LinkType(cf.pcap.LinkType())
			cf.ifaces = []Interface{{Link: cf.link, SnapLen: cf.pcap.Snaplen()}}
		}
	case ngSHB:
		cf.Format = FormatPcapNG
		err = cf.readFirstSection()
	case 0xa1b2cd34, 0x34cdb2a1:
		return nil, fmt.Errorf("open capture %s: modified (Kuznetzov) pcap format is not supported; convert it with: editcap -F pcap %s out.pcap", path, path)
	default:
		return nil, fmt.Errorf("open capture %s: %w (starts with % x)", path, ErrNotCapture, magic)
	}
	if err != nil {
		return nil, fmt.Errorf("open capture %s: bad %s header: %w", path, cf.Format, err)
	}
	return cf, nil
}

// Close closes the underlying file, if Open opened it. Packets read from
// the file are invalid afterwards.
func (f *File) Close() error {
	if f.undecompress != nil {
		f.undecompress()
		f.undecompress = nil
	}
	if f.mapped != nil {
		unmapFile(f.mapped)
		f.mapped, f.mem, f.ngMem = nil, nil, nil
		if f.err == nil {
			f.err = fmt.Errorf("read capture %s: %w", f.Path, errClosed)
		}
	}
	if f.f == nil {
		return nil
	}
	return f.f.Close()
}

var errClosed = errors.New("capture file closed")

// Interfaces returns the interfaces seen so far. A pcapng file may describe
// more interfaces as it goes on.
func (f *File) Interfaces() []Interface { return f.ifaces }

// Next returns the next packet. The data is valid until the following call.
// At the end of the file it returns io.EOF; a damaged or truncated file ends
// with a *ReadError, after which Next keeps returning it.
func (f *File) Next() (data []byte, m Meta, err error) {
	if f.err != nil {
		return nil, m, f.err
	}
	if f.mem != nil {
		// The common case of a plain capture held in memory, a whole
		// record with nothing to recover, read here; anything else (and
		// the end) by nextMapped from the same offset. Reading through
		// nextMapped and pcapRecord, which return the Meta and an error
		// up two calls, cost 31 instructions per record more (valgrind,
		// GOMAXPROCS=1: hoptrace decode --stats on bench/limit.sh's
		// 1M-record incident 715.1M to 684.2M; analyze on the 300k-record
		// one, bench/genincident -n 20000, 702.0M to 692.8M).
		off := int(f.off)
		f.releaseRead(off)
		if len(f.mem)-off >= pcapRecordHeader {
			h := f.mem[off : off+pcapRecordHeader]
			var sec, frac, caplen, wire uint32
			if f.bigEndian {
				sec, frac, caplen, wire = binary.BigEndian.Uint32(h), binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
			} else {
				sec, frac, caplen, wire = binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:])
			}
			start := off + pcapRecordHeader
			if caplen <= uint32(f.limits.MaxRecord) && caplen <= wire && int(caplen) <= len(f.mem)-start {
				end := start + int(caplen)
				if !f.nanos {
					frac *= 1000
				}
				m = Meta{TS: int64(sec)*1e9 + int64(frac), WireLen: int(wire), Link: f.link}
				f.off = int64(end)
				if !f.clock.see(&m, int64(off)) {
					f.clock.jump(f, &m, int64(off))
				}
				// The prefetch last, where the fewest values live across
				// its call: 3 instructions per record fewer than before
				// the clock watch (520.8M -> 517.8M, as above).
				data = f.mem[start:end:end]
				prefetchRecord(f.mem, end)
				return data, m, nil
			}
		}
		return f.nextMapped()
	}
	if f.pcap != nil {
		return f.nextPcap()
	}
	return f.nextNG()
}

// Classic pcap records are read here rather than by pcapgo, which has read
// and checked the file header: its record path copies every packet once
// more, which cost a third of read+decode.

const pcapRecordHeader = 16

// nextMapped returns the next pcap record of a file held in memory: a view
// of it, with no copy.
func (f *File) nextMapped() (data []byte, m Meta, err error) {
	for {
		off := int(f.off)
		f.releaseRead(off)
		if len(f.mem)-off < pcapRecordHeader {
			err = io.EOF
			if off < len(f.mem) {
				err = io.ErrUnexpectedEOF // the file ends inside a record header
			}
			return nil, m, f.fail(err, f.off)
		}
		n, m, err := f.pcapRecord(f.mem[off : off+pcapRecordHeader])
		if err != nil {
			if f.resync(&f.off, err, pcapRecordHeader, f.pcapPlausible) {
				continue
			}
			return nil, m, f.fail(io.EOF, f.off)
		}
		start := off + pcapRecordHeader
		end := start + n
		if end > len(f.mem) {
			return nil, Meta{}, f.fail(io.ErrUnexpectedEOF, f.off) // the file ends inside the packet
		}
		f.off = int64(end)
		prefetchRecord(f.mem, end)
		if !f.clock.see(&m, int64(off)) {
			f.clock.jump(f, &m, int64(off))
		}
		return f.mem[start:end:end], m, nil
	}
}

// nextPcap returns the next pcap record of a stream: a view of the read
// buffer, valid until the next call, or a copy when the packet is longer
// than the buffer.
func (f *File) nextPcap() (data []byte, m Meta, err error) {
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	for {
		hdr, err := f.br.Peek(pcapRecordHeader)
		if err != nil {
			if len(hdr) > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF // the file ends inside a record header
			}
			return nil, m, f.fail(err, f.off)
		}
		n, m, err := f.pcapRecord(hdr)
		if err != nil {
			if f.resync(&f.off, err, pcapRecordHeader, f.pcapPlausible) {
				continue
			}
			return nil, m, f.fail(io.EOF, f.off)
		}
		f.br.Discard(pcapRecordHeader)
		if n <= f.br.Size() {
			data, err = f.br.Peek(n)
			f.pending = len(data)
		} else {
			f.big, err = readLarge(f.br, f.big, n)
			data = f.big
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the file ends inside the packet
			}
			return nil, Meta{}, f.fail(err, f.off)
		}
		if !f.clock.see(&m, f.off) {
			f.clock.jump(f, &m, f.off)
		}
		f.off += pcapRecordHeader + int64(n)
		return data, m, nil
	}
}

// readLarge reads n bytes into buf, growing it as they arrive: a record
// may claim more than the file holds, and only what the file holds should
// cost memory.
func readLarge(r io.Reader, buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		k := min(n-len(buf), max(len(buf), 64<<10))
		buf = slices.Grow(buf, k)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// pcapRecord reads a pcap record header: the captured length and the
// packet's meta. A record longer than the limit is an error (libpcap
// refuses one above its MAXIMUM_SNAPLEN as well); one that claims fewer
// bytes on the wire than it captured is kept, as libpcap and tshark keep
// it, with the wire length raised to the captured length and a recovery
// noted.
func (f *File) pcapRecord(hdr []byte) (int, Meta, error) {
	hdr = hdr[:pcapRecordHeader]
	sec, frac, caplen, wire := f.u32(hdr), f.u32(hdr[4:]), f.u32(hdr[8:]), f.u32(hdr[12:])
	if caplen > uint32(f.limits.MaxRecord) {
		return 0, Meta{}, fmt.Errorf("record of %d bytes is longer than the %d-byte limit (snap length %d; --max-record-size raises the limit)", caplen, f.limits.MaxRecord, f.snaplen)
	}
	if caplen > wire {
		f.recover(Recovery{Offset: f.off, Err: fmt.Errorf("record claims %d bytes on the wire but holds %d; taken as %d", wire, caplen, caplen)})
		wire = caplen
	}
	if !f.nanos {
		frac *= 1000
	}
	return int(caplen), Meta{TS: int64(sec)*1e9 + int64(frac), WireLen: int(wire), Link: f.link}, nil
}

// releaseEvery is how many bytes of a mapped file are read between handing
// the pages read back to the kernel: at most this much of each open capture
// counts in resident memory (an analysis keeps every capture open).
const releaseEvery = 1 << 20

// releaseRead releases the pages of a mapped file before off once
// releaseEvery bytes have been read since the last release.
func (f *File) releaseRead(off int) {
	if f.mapped != nil && off-f.released >= releaseEvery {
		f.release(off)
	}
}

// release hands the pages of the mapped file before off back to the
// kernel, so that resident memory does not grow with the file.
//
// It also looks whether the file has shrunk (a ring of captures rotated
// under the reader): touching a mapped page past the end of the file is a
// fault, so reading stops where the file now ends, as at a truncation.
func (f *File) release(off int) {
	end := off &^ (os.Getpagesize() - 1)
	releaseMapped(f.mapped[f.released:end])
	f.released = end
	st, err := f.f.Stat()
	if err != nil || st.Size() >= int64(len(f.mapped)) {
		return
	}
	size := int(max(st.Size(), 0))
	f.shrunk = int64(size)
	switch {
	case f.mem != nil:
		f.mem = f.mem[:min(size, len(f.mem))]
	case f.ngMem != nil:
		f.ngMem = f.ngMem[:min(size, len(f.ngMem))]
	}
}

// u32 reads a pcap record header field in the file's byte order.
func (f *File) u32(b []byte) uint32 {
	if f.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// fail turns a read error into the file's sticky error. off is where the
// record or block that could not be read starts.
func (f *File) fail(err error, off int64) error {
	if f.shrunk >= 0 && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
		err = fmt.Errorf("%w, to %d bytes", ErrShrunk, f.shrunk)
	}
	if err == io.EOF {
		if f.count.err == nil || f.count.err == io.EOF {
			f.err = io.EOF
			return err
		}
		// The stream failed rather than ended: a compressed stream cut short
		// (io.ErrUnexpectedEOF), corrupt or a bomb, a failing read.
		err = f.count.err
	}
	f.err = &ReadError{
		Path:         f.Path,
		Offset:       off,
		Truncated:    errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrShrunk),
		Err:          err,
		Decompressed: f.Compression != Uncompressed,
	}
	return f.err
}

// countingReader counts the bytes read through it and keeps the error that
// ended them.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// Point names the capture point of a packet read from f: the file name
// without its extensions, or, when one file holds several capture points
// (a multi-interface pcapng, or a Linux SLL2 capture from tcpdump -i any),
// the interface name, or "<file>:if<index>" when only an index is known.
func (f *File) Point(r *Record) string {
	return f.pointName(pointKey{iface: r.Iface, ifindex: r.Link.IfIndex}, r.Link.Type)
}

// pointName is Point for a packet of capture point key, of link type link.
func (f *File) pointName(key pointKey, link LinkType) string {
	if f.points != nil && key == f.last {
		return f.lastName
	}
	name, ok := f.points[key]
	if !ok {
		name = f.newPoint(key, link)
	}
	f.last, f.lastName = key, name
	return name
}

// newPoint names capture point key, of link type link, the first time.
func (f *File) newPoint(key pointKey, link LinkType) string {
	if f.points == nil {
		f.points = make(map[pointKey]string)
	}
	stem := Stem(f.Path)
	name := stem
	named := len(f.ifaces) > 1 && key.iface < len(f.ifaces) && f.ifaces[key.iface].Name != ""
	switch {
	case named && (link != LinkSLL2 || f.ifaces[key.iface].Name != "any"):
		// A multi-interface pcapng names its interfaces; an SLL2 one named
		// otherwise than "any" is one interface of an -i any capture, as
		// hoptrace merge writes each hop ("node-1/n1-any:if2"): named by
		// its index, two nodes' interfaces of one index were one hop.
		name = f.ifaces[key.iface].Name
	case link == LinkSLL2:
		name = fmt.Sprintf("%s:if%d", stem, key.ifindex)
	case len(f.ifaces) > 1:
		name = fmt.Sprintf("%s:if%d", stem, key.iface)
	}
	name = printable(name)
	f.points[key] = name
	return name
}

// printable returns s, or, when s holds control characters or bytes that
// are not UTF-8, s with those escaped as Go escapes them: interface names
// come from the file, and a name must not break a line of output.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

type pointKey struct {
	iface   int
	ifindex int32
}
