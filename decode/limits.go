package decode

import (
	"errors"
	"fmt"
	"io"
)

// Limits bound what one capture file may cost, whatever it claims. The zero
// value of a field means its default.
type Limits struct {
	// MaxRecord is the longest packet record taken, in bytes; default
	// DefaultMaxRecord. A pcapng block may be longer by the options libpcap
	// allows a packet block (128 KB) and its fixed fields.
	MaxRecord int
	// MaxRatio is how many times more bytes a compressed capture (any
	// Compression) may decompress to than its compressed size, once more
	// than ratioGuardFloor bytes came out; default DefaultMaxRatio,
	// negative for no limit.
	MaxRatio int
}

// Defaults of Limits.
const (
	// DefaultMaxRecord is libpcap's MAXIMUM_SNAPLEN (pcap/pcap-int.h),
	// which tcpdump and pcapgo read too: no capture tool writes a longer
	// packet record.
	DefaultMaxRecord = 262144
	// DefaultMaxRatio: real captures compress 2 to 30 times (the lab's
	// at most 12 times with gzip; a file of one frame repeated, about 60
	// times); DEFLATE's ceiling is about 1032, reached by runs of zeros,
	// which is what a decompression bomb is made of; zstd, lz4 and bzip2
	// bombs go far beyond it.
	DefaultMaxRatio = 200
)

// ngOptionsAllowance is what a pcapng packet block may hold beyond its
// packet: libpcap's MAX_BLOCKSIZE_FOR_SNAPLEN allows 128 KB of options plus
// the block's fixed fields.
const ngOptionsAllowance = 131072 + 32

// ngOtherBlockMax bounds blocks the reader skips (name resolution,
// statistics, decryption secrets, custom blocks): libpcap's
// INITIAL_MAX_BLOCKSIZE. Skipped blocks are never buffered whole.
const ngOtherBlockMax = 16 << 20

// ratioGuardFloor is how much a compressed stream may decompress to before the
// ratio guard looks: a small file of repeated frames may well compress
// more than the ratio, and costs nothing. Past it, a bomb costs about a
// second of decompressing and scanning for a plausible block.
var ratioGuardFloor int64 = 64 << 20

// DefaultLimits are the limits Open, NewFile and NewFileBytes read with. A
// command sets them once, from its flags, before reading starts.
var DefaultLimits = Limits{MaxRecord: DefaultMaxRecord, MaxRatio: DefaultMaxRatio}

func (l Limits) orDefault() Limits {
	if l.MaxRecord <= 0 {
		l.MaxRecord = DefaultMaxRecord
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// maxPacketBlock is the longest pcapng packet block taken.
func (l Limits) maxPacketBlock() uint32 {
	return uint32(min(int64(l.MaxRecord)+ngOptionsAllowance, 1<<31-4))
}

// ErrBomb reports a compressed stream that decompresses to more than
// Limits.MaxRatio times its size.
var ErrBomb = errors.New("decompresses to more than the ratio limit")

// ratioGuard ends a compressed stream that decompresses to far more than real
// captures do.
type ratioGuard struct {
	r   io.Reader       // the decompressed stream
	in  *countingReader // the compressed bytes read so far
	out int64
	max int
	err error // sticky, once tripped
}

func (g *ratioGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.max > 0 && g.out > ratioGuardFloor && g.out > int64(g.max)*max(g.in.n, 1) {
		g.err = fmt.Errorf("%w: %d bytes from %d compressed, more than %d times as many (a decompression bomb? --max-ratio raises the limit, 0 lifts it)", ErrBomb, g.out, g.in.n, g.max)
		return n, g.err
	}
	return n, err
}

// Recovery is one place where a file was damaged and the reader carried
// on: a record or block skipped to the next plausible one, or a record
// kept after a repair.
type Recovery struct {
	Offset int64 // where the damaged record or block starts
	// Skipped is how many bytes were skipped from Offset; 0 when the
	// record was kept.
	Skipped int64
	// End reports that nothing plausible followed: the rest of the file
	// was skipped.
	End bool
	Err error // what was wrong
}

// maxRecoveries is how many recoveries a file keeps in detail; it counts
// all of them.
const maxRecoveries = 16

// Recoveries returns the first recoveries of the file and how many there
// were in all.
func (f *File) Recoveries() ([]Recovery, int) { return f.recoveries, f.nRecoveries }

// Skipped returns how many bytes of the file recoveries skipped.
func (f *File) Skipped() int64 { return f.skipped }

// Describe says what a recovery of the file did, naming the file.
func (f *File) Describe(r Recovery) string {
	where := fmt.Sprintf("offset %d", r.Offset)
	if f.Compression != Uncompressed {
		where += " of the decompressed stream"
	}
	switch {
	case r.Skipped == 0:
		return fmt.Sprintf("read capture %s at %s: %v", f.Path, where, r.Err)
	case r.End:
		return fmt.Sprintf("read capture %s at %s: %v; nothing plausible follows: skipped the last %d bytes", f.Path, where, r.Err, r.Skipped)
	}
	return fmt.Sprintf("read capture %s at %s: %v; skipped %d bytes to the next plausible %s", f.Path, where, r.Err, r.Skipped, f.unit())
}

func (f *File) unit() string {
	if f.Format == FormatPcapNG {
		return "block"
	}
	return "record"
}

func (f *File) recover(r Recovery) {
	f.nRecoveries++
	f.skipped += r.Skipped
	if len(f.recoveries) < maxRecoveries {
		f.recoveries = append(f.recoveries, r)
	}
}

// lookahead is how much of a candidate record or block plausibility
// checks may see: the same from memory as from a stream, whose buffer
// (readBufSize) holds twice as much, so that the same file gives the same
// packets either way.
const lookahead = readBufSize / 2

// resync skips from the damaged record or block at *pos to the next offset
// where plausible says one starts, sets *pos there and notes the recovery.
// It reports false when nothing plausible is left before the end of the
// file, having skipped to it. plausible is given at least head and at most
// lookahead bytes from a candidate offset, and whether they end the file.
func (f *File) resync(pos *int64, why error, head int, plausible func(b []byte, atEOF bool) bool) bool {
	return f.resyncAfter(*pos, pos, why, head, plausible)
}

// resyncAfter is resync for a damaged record or block at start that the
// reader has moved past, to *pos: the search starts at *pos rather than
// after start's first byte.
func (f *File) resyncAfter(start int64, pos *int64, why error, head int, plausible func(b []byte, atEOF bool) bool) bool {
	from := *pos
	if from == start {
		from++
	}
	mem := f.mem
	if f.Format == FormatPcapNG {
		mem = f.ngMem
	}
	if mem != nil {
		ng := f.Format == FormatPcapNG
		for i := from; i+int64(head) <= int64(len(mem)); i++ {
			if ng && !ngKnown(f.ngU32(mem[i:])) {
				continue // most of the bytes scanned: no call
			}
			end := min(i+lookahead, int64(len(mem)))
			if plausible(mem[i:end], end == int64(len(mem))) {
				*pos = i
				f.recover(Recovery{Offset: start, Skipped: i - start, Err: why})
				return true
			}
		}
		*pos = int64(len(mem))
		f.recover(Recovery{Offset: start, Skipped: *pos - start, End: true, Err: why})
		return false
	}
	// A stream: *pos is where the reader is, the buffer what can be seen.
	if f.pending > 0 {
		f.br.Discard(f.pending)
		f.pending = 0
	}
	skip := func(n int) {
		k, _ := f.br.Discard(n)
		*pos += int64(k)
	}
	skip(int(from - *pos))
	for {
		win, err := f.br.Peek(f.br.Size())
		atEOF := err != nil
		last := len(win) - lookahead // candidates that see all of lookahead
		if atEOF {
			last = len(win) - head
		}
		ng := f.Format == FormatPcapNG
		for i := 0; i <= last; i++ {
			if ng && !ngKnown(f.ngU32(win[i:])) {
				continue
			}
			end := min(i+lookahead, len(win))
			if plausible(win[i:end], atEOF && end == len(win)) {
				skip(i)
				f.recover(Recovery{Offset: start, Skipped: *pos - start, Err: why})
				return true
			}
		}
		if atEOF {
			skip(len(win))
			f.recover(Recovery{Offset: start, Skipped: *pos - start, End: true, Err: why})
			return false
		}
		skip(last + 1)
	}
}

// maxWireLen bounds the wire length of a plausible pcap record: BIG TCP
// GSO frames reach 512 KB.
const maxWireLen = 16 << 20

// plausibleDay is how far from the last good packet a plausible record's
// time stamp may be.
const plausibleDay = 86400

// pcapPlausible reports whether b starts with a plausible pcap record
// header, followed by another one or by the end of the file.
func (f *File) pcapPlausible(b []byte, atEOF bool) bool {
	if !f.pcapHeaderPlausible(b) {
		return false
	}
	next := pcapRecordHeader + int(f.u32(b[8:]))
	switch {
	case next == len(b) && atEOF:
		return true // the last record
	case next+pcapRecordHeader <= len(b):
		return f.pcapHeaderPlausible(b[next:])
	}
	return !atEOF // cannot see the next one: take the first on its own
}

func (f *File) pcapHeaderPlausible(b []byte) bool {
	sec, frac, caplen, wire := f.u32(b), f.u32(b[4:]), f.u32(b[8:]), f.u32(b[12:])
	fracMax := uint32(1e6)
	if f.nanos {
		fracMax = 1e9
	}
	if caplen > uint32(f.limits.MaxRecord) || wire < caplen || wire > maxWireLen || frac >= fracMax {
		return false
	}
	if f.clock.started() {
		last := f.clock.raw() / 1e9
		if d := int64(sec) - last; d > plausibleDay || d < -plausibleDay {
			return false
		}
	}
	return true
}
