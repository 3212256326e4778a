package decode_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

// Regression cases of the hostile-input audit (issue 16): caps, recovery
// after damage, interleaved interfaces, clock steps, FIFOs.

// fivePackets are five small packets a millisecond apart.
func fivePackets() []packet {
	var pkts []packet
	for i := range 5 {
		data := bytes.Repeat([]byte{byte(i + 1)}, 40+i)
		pkts = append(pkts, packet{data, decode.Meta{TS: 1_700_000_000e9 + int64(i)*1e6, WireLen: len(data), Link: decode.LinkEthernet}})
	}
	return pkts
}

// bothWays reads file as a stream and from memory, requiring the same.
func bothWays(t *testing.T, name string, file []byte) (*decode.File, []packet, error) {
	t.Helper()
	f, err := decode.NewFile(name, bytes.NewReader(file))
	require.NoError(t, err)
	pkts, end := readAll(t, f)
	mf, err := decode.NewFileBytes(name, file)
	require.NoError(t, err)
	mpkts, mend := readAll(t, mf)
	require.Equal(t, pkts, mpkts, "from memory")
	require.Equal(t, end, mend, "from memory")
	r1, n1 := f.Recoveries()
	r2, n2 := mf.Recoveries()
	require.Equal(t, n1, n2)
	require.Equal(t, len(r1), len(r2))
	for i := range r1 {
		require.Equal(t, f.Describe(r1[i]), mf.Describe(r2[i]))
	}
	return f, pkts, end
}

func TestRecoverPcapBadRecord(t *testing.T) {
	want := fivePackets()
	file := pcapBytes(binary.LittleEndian, false, 1, want)
	rec3 := 24 + (16 + 40) + (16 + 41) // the third record's header
	binary.LittleEndian.PutUint32(file[rec3+8:], 0xfffffff0)
	binary.LittleEndian.PutUint32(file[rec3+12:], 0xfffffff0)
	f, pkts, end := bothWays(t, "bad.pcap", file)
	require.Equal(t, io.EOF, end)
	require.Equal(t, []packet{want[0], want[1], want[3], want[4]}, pkts, "the packets after the bad record are kept")
	recs, n := f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, int64(rec3), recs[0].Offset)
	assert.Equal(t, int64(16+42), recs[0].Skipped)
	assert.Equal(t, fmt.Sprintf("read capture bad.pcap at offset %d: record of 4294967280 bytes is longer than the 262144-byte limit (snap length 65535; --max-record-size raises the limit); skipped 58 bytes to the next plausible record", rec3), f.Describe(recs[0]))

	// Garbage of an odd length between two records, which shifts the
	// next header so that its captured length reads 0x2b00000b: skipped.
	garbage := append(bytes.Clone(file[:rec3]), []byte{0xff, 0xff, 0xff}...)
	garbage = append(garbage, pcapBytes(binary.LittleEndian, false, 1, want[3:])[24:]...)
	f, pkts, end = bothWays(t, "garbage.pcap", garbage)
	require.Equal(t, io.EOF, end)
	require.Equal(t, []packet{want[0], want[1], want[3], want[4]}, pkts)
	recs, n = f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, int64(3), recs[0].Skipped)
}

// TestCaplenAboveWirelen: one record that claims fewer bytes on the wire
// than it holds no longer ends the file. libpcap (tcpdump -r) and tshark
// read it and every record after it; so does the reader, with the wire
// length raised to what was captured, and says so.
func TestCaplenAboveWirelen(t *testing.T) {
	want := fivePackets()
	file := pcapBytes(binary.LittleEndian, false, 1, want)
	rec2 := 24 + 16 + 40
	binary.LittleEndian.PutUint32(file[rec2+12:], 20) // wire 20 < caplen 41
	f, pkts, end := bothWays(t, "short-wire.pcap", file)
	require.Equal(t, io.EOF, end)
	require.Len(t, pkts, 5)
	assert.Equal(t, 41, pkts[1].m.WireLen)
	recs, n := f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, decode.Recovery{Offset: int64(rec2), Err: recs[0].Err}, recs[0])
	assert.Equal(t, fmt.Sprintf("read capture short-wire.pcap at offset %d: record claims 20 bytes on the wire but holds 41; taken as 41", rec2), f.Describe(recs[0]))
}

// TestNgCaplenAboveWirelen: a pcapng packet block that claims fewer bytes
// on the wire than it holds is read as a pcap record is (see
// TestCaplenAboveWirelen): the wire length raised to what was captured,
// said once. merge once failed on it (gopacket's writer refuses a length
// below the captured one; FuzzIncident).
func TestNgCaplenAboveWirelen(t *testing.T) {
	want := fivePackets()
	file := append(ngSHB(), ngIDB("eth0")...)
	var blk2 int
	for i, p := range want {
		if i == 1 {
			blk2 = len(file)
			p.m.WireLen = 20 // wire 20 < caplen 41
		}
		file = append(file, ngEPB(0, p)...)
	}
	f, pkts, end := bothWays(t, "short-wire.pcapng", file)
	require.Equal(t, io.EOF, end)
	require.Len(t, pkts, 5)
	assert.Equal(t, 41, pkts[1].m.WireLen)
	assert.Equal(t, 40, pkts[0].m.WireLen, "the others keep theirs")
	recs, n := f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, fmt.Sprintf("read capture short-wire.pcapng at offset %d: packet block claims 20 bytes on the wire but holds 41; taken as 41", blk2), f.Describe(recs[0]))
}

// mkBlock builds a pcapng block of type typ around body.
func mkBlock(typ uint32, body []byte) []byte {
	n := uint32(12 + len(body))
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, n)
}

func ngSHB() []byte {
	body := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	return mkBlock(0x0a0d0d0a, body)
}

// ngIDB is an Ethernet interface named name (microsecond time stamps).
func ngIDB(name string) []byte {
	body := binary.LittleEndian.AppendUint16(nil, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 0)
	if name != "" {
		body = binary.LittleEndian.AppendUint16(body, 2)
		body = binary.LittleEndian.AppendUint16(body, uint16(len(name)))
		body = append(body, name...)
		body = append(body, make([]byte, (4-len(name)%4)%4)...)
		body = append(body, 0, 0, 0, 0)
	}
	return mkBlock(1, body)
}

func ngEPB(iface uint32, p packet) []byte {
	us := uint64(p.m.TS / 1000)
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = binary.LittleEndian.AppendUint32(body, uint32(us>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(us))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(p.data)))
	body = binary.LittleEndian.AppendUint32(body, uint32(p.m.WireLen))
	body = append(body, p.data...)
	body = append(body, make([]byte, (4-len(p.data)%4)%4)...)
	return mkBlock(6, body)
}

func TestRecoverPcapNGBadBlock(t *testing.T) {
	want := fivePackets()
	file := append(ngSHB(), ngIDB("eth0")...)
	var offs []int
	for _, p := range want {
		offs = append(offs, len(file))
		file = append(file, ngEPB(0, p)...)
	}
	// The third block's trailing length disagrees with its leading one.
	third := offs[2]
	binary.LittleEndian.PutUint32(file[offs[3]-4:], 999)
	f, pkts, end := bothWays(t, "bad.pcapng", file)
	require.Equal(t, io.EOF, end)
	require.Equal(t, []packet{want[0], want[1], want[3], want[4]}, pkts)
	recs, n := f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, int64(third), recs[0].Offset)
	assert.Equal(t, int64(offs[3]-third), recs[0].Skipped)
	assert.Contains(t, f.Describe(recs[0]), "block type 0x6: length 76 at its start, 999 at its end; skipped 76 bytes to the next plausible block")

	// A block length far beyond the limits (a decompressed bomb's): skipped
	// without buffering it.
	file2 := bytes.Clone(file)
	binary.LittleEndian.PutUint32(file2[offs[3]-4:], uint32(offs[3]-third))
	binary.LittleEndian.PutUint32(file2[third+4:], 0x7ffffff0)
	f, pkts, end = bothWays(t, "huge.pcapng", file2)
	require.Equal(t, io.EOF, end)
	require.Equal(t, []packet{want[0], want[1], want[3], want[4]}, pkts)
	recs, _ = f.Recoveries()
	assert.Contains(t, f.Describe(recs[0]), "length 2147483632 is longer than the 393248-byte limit (--max-record-size raises it)")

	// Three bytes of garbage before the fourth block: what they and the
	// block's start read as is no block whose trailing length agrees.
	file4 := append(bytes.Clone(file2[:offs[3]]), 0xff, 0x01, 0x02)
	file4 = append(file4, file2[offs[3]:]...)
	binary.LittleEndian.PutUint32(file4[third+4:], uint32(offs[3]-third))
	f, pkts, end = bothWays(t, "garbage.pcapng", file4)
	require.Equal(t, io.EOF, end)
	require.Equal(t, want, pkts)
	recs, n = f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, decode.Recovery{Offset: int64(offs[3]), Skipped: 3, Err: recs[0].Err}, recs[0])

	// An enhanced packet block naming an interface the section lacks.
	file3 := bytes.Clone(file2)
	binary.LittleEndian.PutUint32(file3[third+4:], uint32(offs[3]-third))
	binary.LittleEndian.PutUint32(file3[third+8:], 7)
	f, pkts, _ = bothWays(t, "iface.pcapng", file3)
	require.Equal(t, []packet{want[0], want[1], want[3], want[4]}, pkts)
	recs, _ = f.Recoveries()
	assert.Contains(t, f.Describe(recs[0]), "packet block names interface 7; the section has 1")
}

// interleaved is a pcapng file of n interfaces, each described right
// before its one packet: what the audit found quadratic.
func interleaved(n int) []byte {
	file := ngSHB()
	p := fivePackets()[0]
	for i := range n {
		file = append(file, ngIDB(fmt.Sprintf("if%d", i))...)
		file = append(file, ngEPB(uint32(i), p)...)
	}
	return file
}

// readMallocs reads file and returns the heap allocations it took.
func readMallocs(t *testing.T, file []byte) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := decode.NewFileBytes("interleaved.pcapng", file)
	require.NoError(t, err)
	d := decode.NewDecoder()
	var r decode.Record
	n := 0
	for {
		data, m, err := f.Next()
		if err != nil {
			require.Equal(t, io.EOF, err)
			break
		}
		d.Decode(&r, data, m)
		_ = f.Point(&r)
		n++
	}
	runtime.ReadMemStats(&after)
	require.Equal(t, len(f.Interfaces()), n)
	return after.Mallocs - before.Mallocs
}

// TestInterleavedInterfacesGrowth: interfaces are appended, not rebuilt per
// packet. Reading twice as many interleaved interfaces costs twice the
// allocations, not four times (20k took 15.6 s before).
func TestInterleavedInterfacesGrowth(t *testing.T) {
	small, large := readMallocs(t, interleaved(5000)), readMallocs(t, interleaved(10000))
	ratio := float64(large) / float64(small)
	t.Logf("allocations: %d for 5000 interfaces, %d for 10000 (x%.2f)", small, large, ratio)
	assert.Less(t, ratio, 2.5, "allocations grow faster than the interfaces")
}

// BenchmarkInterleavedInterfaces reads 100k interleaved interfaces (the
// audit's case: no end in 120 s before).
func BenchmarkInterleavedInterfaces(b *testing.B) {
	file := interleaved(100_000)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		f, err := decode.NewFileBytes("interleaved.pcapng", file)
		if err != nil {
			b.Fatal(err)
		}
		var r decode.Record
		d := decode.NewDecoder()
		for {
			data, m, err := f.Next()
			if err != nil {
				break
			}
			d.Decode(&r, data, m)
			_ = f.Point(&r)
		}
	}
}

// TestGzipBomb: a small gzip file whose one block claims 2 GB and whose
// stream holds 16 MB of zeros costs no more than a few MB to read, and
// ends with the block named as damage.
func TestGzipBomb(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(ngSHB())
	zw.Write(ngIDB("eth0"))
	at := len(ngSHB()) + len(ngIDB("eth0"))
	hdr := binary.LittleEndian.AppendUint32(nil, 6)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0x7ffffff0)
	zw.Write(hdr)
	zeros := make([]byte, 1<<20)
	for range 16 {
		zw.Write(zeros)
	}
	zw.Close()
	require.Less(t, gz.Len(), 200<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := decode.NewFile("bomb.pcapng.gz", bytes.NewReader(gz.Bytes()))
	require.NoError(t, err)
	pkts, end := readAll(t, f)
	runtime.ReadMemStats(&after)
	assert.Empty(t, pkts)
	assert.Equal(t, io.EOF, end)
	recs, n := f.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, fmt.Sprintf("read capture bomb.pcapng.gz at offset %d of the decompressed stream: block type 0x6: length 2147483632 is longer than the 393248-byte limit (--max-record-size raises it); nothing plausible follows: skipped the last %d bytes", at, 8+16<<20), f.Describe(recs[0]))
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "bytes allocated reading a 16 MB bomb")
}

// TestGzipRatio: past 64 MB (here 4 MB), a stream decompressing to more
// than 200 times its size ends, as a bomb, with a message naming the limit.
func TestGzipRatio(t *testing.T) {
	defer decode.SetRatioGuardFloor(4 << 20)()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(pcapBytes(binary.LittleEndian, false, 1, nil))
	rec := make([]byte, 16+60000)
	binary.LittleEndian.PutUint32(rec[0:], 1_700_000_000)
	binary.LittleEndian.PutUint32(rec[8:], 60000)
	binary.LittleEndian.PutUint32(rec[12:], 60000)
	for range 8 << 20 / len(rec) {
		zw.Write(rec)
	}
	zw.Close()
	f, err := decode.NewFile("ratio.pcap.gz", bytes.NewReader(gz.Bytes()))
	require.NoError(t, err)
	_, end := readAll(t, f)
	assert.ErrorIs(t, end, decode.ErrBomb)
	assert.Contains(t, end.Error(), "--max-ratio raises the limit")

	off := decode.Limits{MaxRatio: -1}
	f, err = decode.NewFileLimits("ratio.pcap.gz", bytes.NewReader(gz.Bytes()), off)
	require.NoError(t, err)
	pkts, end := readAll(t, f)
	assert.Equal(t, io.EOF, end)
	assert.Len(t, pkts, 8<<20/len(rec))
}

// TestClockStep: a capture whose clock steps back 3 hours, then forward 5
// years: both steps noted with their offsets; with Reanchor the timeline
// goes on from the packet before each.
func TestClockStep(t *testing.T) {
	pkts := fivePackets()
	pkts[2].m.TS -= int64(3 * time.Hour)
	pkts[3].m.TS -= int64(3 * time.Hour)
	pkts[4].m.TS += int64(5*365*24*time.Hour) - int64(3*time.Hour)
	file := pcapBytes(binary.LittleEndian, true, 1, pkts)
	f, got, end := bothWays(t, "step.pcap", file)
	require.Equal(t, io.EOF, end)
	for i := range pkts {
		assert.Equal(t, pkts[i].m.TS, got[i].m.TS, "without Reanchor, times are the file's")
	}
	steps, n := f.ClockSteps()
	require.Equal(t, 2, n)
	off2 := int64(24 + (16 + 40) + (16 + 41))
	assert.Equal(t, off2, steps[0].Offset)
	assert.Equal(t, -3*time.Hour+time.Millisecond, steps[0].Step())
	assert.Contains(t, f.DescribeStep(steps[0]), fmt.Sprintf("capture step.pcap: the clock stepped back by 2h59m59.999s at offset %d", off2))

	f, err := decode.NewFileBytes("step.pcap", file)
	require.NoError(t, err)
	f.Reanchor = true
	got, _ = readAll(t, f)
	for i := 1; i < len(got); i++ {
		d := time.Duration(got[i].m.TS - got[i-1].m.TS)
		assert.True(t, d > 0 && d <= time.Millisecond, "packet %d follows %v after the one before", i, d)
	}
	steps, _ = f.ClockSteps()
	assert.Contains(t, f.DescribeStep(steps[1]), "the clock stepped forward by")
	assert.Contains(t, f.DescribeStep(steps[1]), "re-anchored")
}

// TestOpenFIFO: a FIFO given by name never blocks in open. With no writer
// it is an empty stream; with one, its capture is read as a stream.
func TestOpenFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "live.pcap")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan error, 1)
	go func() {
		_, err := decode.Open(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, decode.ErrNotCapture, "no writer: an empty stream")
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a FIFO without a writer")
	}

	// A writer, without racing the reader: a read end held open (and never
	// read) lets the writer's open return and keeps what it wrote in the
	// pipe after it closes. Retrying decode.Open until a writer happened
	// to be there lost that race under load: an Open that found no writer
	// yet took the writer's only chance with it.
	want := fivePackets()
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			close(opened)
			return
		}
		opened <- w
	}()
	keep, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	require.NoError(t, err)
	defer keep.Close()
	w, ok := <-opened
	require.True(t, ok, "the writer could not open the FIFO")
	_, err = w.Write(pcapBytes(binary.LittleEndian, false, 1, want))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	f, err := decode.Open(fifo)
	require.NoError(t, err)
	defer f.Close()
	got, end := readAll(t, f)
	assert.Equal(t, io.EOF, end)
	assert.Equal(t, want, got)
}
