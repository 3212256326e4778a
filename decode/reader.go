package decode

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
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
	// stream of a gzip-compressed file.
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
type File struct {
	Path   string
	Format Format
	Gzip   bool

	f      *os.File
	mapped []byte // the whole file, when Open could map it
	count  *countingReader
	br     *bufio.Reader
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	ifaces []Interface
	points map[pointKey]string
	off    int64 // pcap: where the next record starts
	err    error // the first read error; sticky

	// pcapng: the byte order of the first section, and how each of its
	// interfaces stamps time, for nextEPB.
	ngFast bool
	ngBig  bool
	ngTime []ngTime
	// A pcapng file held in memory is read by nextEPB at ngOff, and by
	// pcapgo through br, which reads rd. stale reports that nextEPB has
	// moved on since br last read.
	ngMem []byte
	ngOff int
	rd    *bytes.Reader
	stale bool

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

	// last is the capture point of the previous packet, which the next one
	// almost always shares: it spares Point a map lookup per packet. It is
	// valid while points is not nil.
	last     pointKey
	lastName string
}

// readBufSize is the buffer between the file and pcapgo. pcapgo wraps its
// input in bufio.NewReader, which returns a *bufio.Reader at least this size
// unchanged, so the bytes it has consumed are count.n - br.Buffered().
const readBufSize = 64 << 10

// memBufSize is the buffer for a capture held in memory, whose packets are
// views of it and do not go through the buffer: only headers and the pcapng
// blocks pcapgo reads do. It is bufio's default size, the least pcapgo
// takes as it is.
const memBufSize = 4096

// smallFile is the size below which Open reads a capture whole rather than
// map it: mapping and unmapping cost about 18 µs a file here, reading 6 KB
// about 9 µs, and a pod's capture of a short incident is often that small.
const smallFile = 32 << 10

// Open opens a pcap or pcapng file, plain or gzip-compressed, telling the
// format by its magic number. A regular file under 32 KB is read whole; on
// Linux a larger one is mapped into memory rather than read, and one that
// shrinks while it is read ends with ErrShrunk when the reader sees it in
// time (see MappedAt when it does not).
func Open(path string) (*File, error) {
	f, err := os.Open(path)
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
		return NewFileBytes(path, b[:n])
	}
	mem := mapFile(f, size)
	if len(mem) >= 2 && mem[0] == 0x1f && mem[1] == 0x8b {
		// Compressed: read through gzip, which copies anyway.
		unmapFile(mem)
		mem = nil
	}
	if mem == nil {
		cf, err := newFile(path, f, readBufSize)
		if err != nil {
			f.Close()
			return nil, err
		}
		cf.f = f
		return cf, nil
	}
	mappings.add(path, mem) // before the first byte is read
	cf, err := NewFileBytes(path, mem)
	if err != nil {
		unmapFile(mem)
		f.Close()
		return nil, err
	}
	cf.f, cf.mapped = f, mem
	return cf, nil
}

// NewFile reads a capture from r; path names it in errors.
func NewFile(path string, r io.Reader) (*File, error) { return newFile(path, r, readBufSize) }

// NewFileBytes reads a capture held in memory; path names it in errors. The
// packets of a classic pcap file are views of b, which must not change
// while they are in use.
func NewFileBytes(path string, b []byte) (*File, error) {
	rd := bytes.NewReader(b)
	cf, err := newFile(path, rd, memBufSize) // gzip gets a buffer of its own
	if err != nil {
		return nil, err
	}
	switch {
	case cf.Gzip:
	case cf.Format == FormatPcap:
		cf.mem = b
	case cf.Format == FormatPcapNG:
		cf.ngMem, cf.ngOff, cf.rd = b, int(cf.consumed()), rd
	}
	return cf, nil
}

func newFile(path string, r io.Reader, bufSize int) (*File, error) {
	cf := &File{Path: path, shrunk: -1}
	cf.count = &countingReader{r: r}
	cf.br = bufio.NewReaderSize(cf.count, bufSize)
	magic, err := cf.br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, gzErr := gzip.NewReader(cf.br)
		if gzErr != nil {
			return nil, fmt.Errorf("open capture %s: gzip: %w", path, gzErr)
		}
		cf.Gzip = true
		cf.count = &countingReader{r: gz}
		cf.br = bufio.NewReaderSize(cf.count, readBufSize)
		magic, err = cf.br.Peek(4)
	}
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
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
	case 0x0a0d0d0a:
		cf.Format = FormatPcapNG
		if shb, _ := cf.br.Peek(12); len(shb) == 12 {
			cf.ngBig = binary.BigEndian.Uint32(shb[8:]) == 0x1a2b3c4d
		}
		cf.ng, err = pcapgo.NewNgReader(cf.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err == nil {
			cf.ngFast = true
			cf.syncInterfaces()
		}
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
	if f.mapped != nil {
		unmapFile(f.mapped)
		f.mapped, f.mem, f.ngMem, f.rd = nil, nil, nil, nil
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
		return f.nextMapped()
	}
	if f.pcap != nil {
		return f.nextPcap()
	}
	return f.nextNG()
}

// maxCaptureLength is the longest pcap record taken whatever the snap
// length says: libpcap's MAXIMUM_SNAPLEN, as pcapgo and tcpdump read.
const maxCaptureLength = 262144

// Classic pcap records are read here rather than by pcapgo, which has read
// and checked the file header: its record path copies every packet once
// more, which cost a third of read+decode.

const pcapRecordHeader = 16

// nextMapped returns the next pcap record of a file held in memory: a view
// of it, with no copy.
func (f *File) nextMapped() (data []byte, m Meta, err error) {
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
		return nil, m, f.fail(err, f.off)
	}
	start := off + pcapRecordHeader
	end := start + n
	if end > len(f.mem) {
		return nil, Meta{}, f.fail(io.ErrUnexpectedEOF, f.off) // the file ends inside the packet
	}
	f.off = int64(end)
	prefetchRecord(f.mem, end)
	return f.mem[start:end:end], m, nil
}

// nextPcap returns the next pcap record of a stream: a view of the read
// buffer, valid until the next call, or a copy when the packet is longer
// than the buffer.
func (f *File) nextPcap() (data []byte, m Meta, err error) {
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	hdr, err := f.br.Peek(pcapRecordHeader)
	if err != nil {
		if len(hdr) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF // the file ends inside a record header
		}
		return nil, m, f.fail(err, f.off)
	}
	n, m, err := f.pcapRecord(hdr)
	if err != nil {
		return nil, m, f.fail(err, f.off)
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
	f.off += pcapRecordHeader + int64(n)
	return data, m, nil
}

// readLarge reads n bytes into buf, growing it as they arrive: a file
// whose snap length is 4 GB may claim a record that long, and only what the
// file holds should cost memory.
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
// packet's meta.
func (f *File) pcapRecord(hdr []byte) (int, Meta, error) {
	hdr = hdr[:pcapRecordHeader]
	sec, frac, caplen, wire := f.u32(hdr), f.u32(hdr[4:]), f.u32(hdr[8:]), f.u32(hdr[12:])
	switch {
	case caplen > max(f.snaplen, maxCaptureLength):
		return 0, Meta{}, fmt.Errorf("capture length exceeds snap length: %d > %d", caplen, f.snaplen)
	case caplen > wire:
		return 0, Meta{}, fmt.Errorf("capture length exceeds original packet length: %d > %d", caplen, wire)
	case caplen > math.MaxInt32:
		// Only a 4 GB snap length lets a record claim this much; no
		// packet is that long, and an int may not hold it.
		return 0, Meta{}, fmt.Errorf("capture length %d is too large", caplen)
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
		f.rd.Reset(f.ngMem)
		f.rd.Seek(f.count.n, io.SeekStart)
	}
}

// u32 reads a pcap record header field in the file's byte order.
func (f *File) u32(b []byte) uint32 {
	if f.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *File) nextNG() (data []byte, m Meta, err error) {
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	f.releaseRead(f.ngOff)
	if f.ngFast {
		if data, m, ok := f.nextEPB(); ok {
			return data, m, nil
		}
	}
	if f.stale {
		// Point br, and so pcapgo, at where nextEPB stopped.
		f.rd.Seek(int64(f.ngOff), io.SeekStart)
		f.count.n = int64(f.ngOff)
		f.br.Reset(f.count)
		f.stale = false
	}
	if f.ngMem != nil {
		defer f.caughtUp()
	}
	start := f.consumed()
	data, ci, err := f.ng.ZeroCopyReadPacketData()
	if err != nil {
		if f.ng.NInterfaces() != len(f.ifaces) {
			f.syncInterfaces() // interfaces described after the last packet
		}
		return nil, m, f.fail(err, start)
	}
	if i := ci.InterfaceIndex; i < len(f.ifaces) && f.ifaces[i] != f.ngInterface(i) {
		// A new section: its interfaces reuse the indices, so the capture
		// point names cached by index are stale too.
		f.points = nil
		f.syncInterfaces()
	} else if f.ng.NInterfaces() != len(f.ifaces) {
		f.syncInterfaces()
	}
	m = Meta{TS: ci.Timestamp.UnixNano(), WireLen: ci.Length, Iface: ci.InterfaceIndex}
	if ci.Timestamp.IsZero() {
		m.TS = 0 // a simple packet block has no time stamp
	}
	if ci.InterfaceIndex < len(f.ifaces) {
		m.Link = f.ifaces[ci.InterfaceIndex].Link
	}
	return data, m, nil
}

// nextEPB reads the next block itself when it is a plain enhanced packet
// block, the block nearly every packet of a pcapng file is in: a view of the
// file held in memory or of the read buffer, valid until the next call,
// where pcapgo copies the packet and parses its options. It reports false,
// having read nothing, for any other block, for one with options, one
// longer than the buffer or anything out of the ordinary, which pcapgo then
// reads as before: its errors, offsets and interfaces stay what they were.
// A second section header turns this off for the rest of the file, as
// pcapgo does not say the new byte order.
func (f *File) nextEPB() (data []byte, m Meta, ok bool) {
	hdr := f.ngPeek(8)
	if hdr == nil {
		return nil, m, false
	}
	switch typ := f.ngU32(hdr); {
	case typ == 0x0a0d0d0a:
		f.ngFast = false
		return nil, m, false
	case typ != 6:
		return nil, m, false
	}
	n := f.ngU32(hdr[4:])
	if n < 32 || n > math.MaxInt32 {
		return nil, m, false
	}
	b := f.ngPeek(int(n))
	if b == nil {
		return nil, m, false
	}
	iface, caplen := f.ngU32(b[8:]), f.ngU32(b[20:])
	if iface >= uint32(len(f.ngTime)) || !f.ngTime[iface].ok || caplen > uint32(n) || 28+(caplen+3)&^3+4 != uint32(n) {
		return nil, m, false
	}
	t := f.ngTime[iface]
	ts := uint64(f.ngU32(b[12:]))<<32 | uint64(f.ngU32(b[16:]))
	sec, ns := int64(ts/t.units+t.offset), int64(ts%t.units*t.scale)
	m = Meta{
		TS:      sec*1e9 + ns,
		WireLen: int(f.ngU32(b[24:])),
		Iface:   int(iface),
		Link:    f.ifaces[iface].Link,
	}
	if sec == zeroUnix && ns == 0 {
		m.TS = 0 // pcapgo reports time.Time{} there, which nextNG reads as 0
	}
	if f.ngMem != nil {
		f.ngOff += int(n)
		f.stale = true
		prefetchRecord(f.ngMem, f.ngOff)
	} else {
		f.pending = int(n)
	}
	return b[28 : 28+caplen : 28+caplen], m, true
}

// caughtUp notes where pcapgo has read a pcapng file held in memory up to.
func (f *File) caughtUp() { f.ngOff = int(f.consumed()) }

// zeroUnix is time.Time{}.Unix(): an interface's time stamp offset can bring
// a time stamp there.
var zeroUnix = time.Time{}.Unix()

// ngPeek returns the next n bytes of a pcapng file without consuming them,
// or nil when there are fewer or, read from a stream, they do not fit in
// the buffer.
func (f *File) ngPeek(n int) []byte {
	if f.ngMem != nil {
		if n > len(f.ngMem)-f.ngOff {
			return nil
		}
		return f.ngMem[f.ngOff : f.ngOff+n]
	}
	if n > f.br.Size() {
		return nil
	}
	b, err := f.br.Peek(n)
	if err != nil {
		return nil
	}
	return b
}

// ngTime converts the time stamps of one pcapng interface, as pcapgo does.
type ngTime struct {
	units  uint64 // time stamp units per second
	scale  uint64 // ns per unit
	offset uint64 // seconds added to every time stamp
	ok     bool   // a resolution nextEPB converts: 10^-k seconds, k <= 9
}

func (f *File) ngU32(b []byte) uint32 {
	if f.ngBig {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// consumed returns how many bytes pcapgo has taken from the stream.
func (f *File) consumed() int64 { return f.count.n - int64(f.br.Buffered()) }

// fail turns a pcapgo error into the file's sticky error. For pcapng, where
// blocks before a packet are skipped silently, the offset is where the failed
// read started.
func (f *File) fail(err error, off int64) error {
	if f.shrunk >= 0 && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
		err = fmt.Errorf("%w, to %d bytes", ErrShrunk, f.shrunk)
	}
	if err == io.EOF {
		if !f.count.cut() {
			f.err = io.EOF
			return err
		}
		// pcapgo's pcapng reader takes io.ErrUnexpectedEOF at the start of
		// a block for the end of the file; a cut gzip stream says so only
		// that way.
		err = f.count.err
	}
	f.err = &ReadError{
		Path:   f.Path,
		Offset: off,
		// pcapgo wraps some errors with %v, losing io.ErrUnexpectedEOF: an
		// error after pcapgo took every byte there is is a truncation too.
		Truncated:    errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrShrunk) || f.atEnd(),
		Err:          err,
		Decompressed: f.Gzip,
	}
	return f.err
}

// atEnd reports whether no byte is left after what pcapgo has taken.
func (f *File) atEnd() bool {
	if f.mem != nil {
		return int(f.off) >= len(f.mem)
	}
	_, err := f.br.Peek(1)
	return err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)
}

func (f *File) syncInterfaces() {
	n := f.ng.NInterfaces()
	f.ifaces, f.ngTime = f.ifaces[:0], f.ngTime[:0]
	for i := range n {
		f.ifaces = append(f.ifaces, f.ngInterface(i))
		var t ngTime
		if ni, err := f.ng.Interface(i); err == nil {
			res := ni.TimestampResolution
			if k := res.Exponent(); !res.Binary() && k <= 9 {
				t = ngTime{units: 1, offset: ni.TimestampOffset, ok: true}
				for range k {
					t.units *= 10
				}
				t.scale = 1e9 / t.units
			}
		}
		f.ngTime = append(f.ngTime, t)
	}
}

// ngInterface returns what pcapgo knows of interface i of the current
// section.
func (f *File) ngInterface(i int) Interface {
	ni, err := f.ng.Interface(i)
	if err != nil {
		return Interface{}
	}
	return Interface{
		Name:        ni.Name,
		Description: ni.Description,
		Comment:     ni.Comment,
		Link:        LinkType(ni.LinkType),
		SnapLen:     ni.SnapLength,
	}
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

// cut reports whether the stream ended before its end: a gzip stream cut
// short.
func (c *countingReader) cut() bool { return errors.Is(c.err, io.ErrUnexpectedEOF) }

// Point names the capture point of a packet read from f: the file name
// without its extensions, or, when one file holds several capture points
// (a multi-interface pcapng, or a Linux SLL2 capture from tcpdump -i any),
// the interface name, or "<file>:if<index>" when only an index is known.
func (f *File) Point(r *Record) string {
	key := pointKey{iface: r.Iface, ifindex: r.Link.IfIndex}
	if f.points != nil && key == f.last {
		return f.lastName
	}
	name, ok := f.points[key]
	if !ok {
		name = f.newPoint(r, key)
	}
	f.last, f.lastName = key, name
	return name
}

// newPoint names the capture point of r, which has key, the first time.
func (f *File) newPoint(r *Record, key pointKey) string {
	if f.points == nil {
		f.points = make(map[pointKey]string)
	}
	stem := Stem(f.Path)
	name := stem
	switch {
	case r.Link.Type == LinkSLL2:
		name = fmt.Sprintf("%s:if%d", stem, r.Link.IfIndex)
	case len(f.ifaces) > 1 && r.Iface < len(f.ifaces) && f.ifaces[r.Iface].Name != "":
		name = f.ifaces[r.Iface].Name
	case len(f.ifaces) > 1:
		name = fmt.Sprintf("%s:if%d", stem, r.Iface)
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

// Stem returns a capture file's base name without capture and compression
// extensions: "node-1/n1-eth0.pcap.gz" becomes "n1-eth0".
func Stem(path string) string {
	name := filepath.Base(path)
	for {
		ext := filepath.Ext(name)
		switch strings.ToLower(ext) {
		case ".gz", ".pcap", ".pcapng", ".cap", ".dmp":
			name = strings.TrimSuffix(name, ext)
			continue
		}
		return name
	}
}
