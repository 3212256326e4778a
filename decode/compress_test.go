package decode_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

const compressedDir = "testdata/compressed"

// compressedFixtures are the captures in testdata/compressed (see its
// README) that hold the lab's cross-vxlan n1-eth0.pcap.
var compressedFixtures = []struct {
	name string
	want decode.Compression
}{
	{"n1-eth0.pcap.zst", decode.Zstd},
	{"n1-eth0.frames.pcap.zst", decode.Zstd},
	{"n1-eth0.pzstd.pcap.zst", decode.Zstd},
	{"n1-eth0.pcapng.zst", decode.Zstd},
	{"n1-eth0.pcap.lz4", decode.LZ4},
	{"n1-eth0.legacy.pcap.lz4", decode.LZ4},
	{"n1-eth0.pcap.bz2", decode.Bzip2},
}

func plainN1Eth0(t *testing.T) []packet {
	t.Helper()
	_, pkts, end := readPath(t, filepath.Join("..", "testdata", "captures", "cross-vxlan", "node-1", "n1-eth0.pcap"))
	require.Equal(t, io.EOF, end)
	require.NotEmpty(t, pkts)
	return pkts
}

// TestCompressedCaptures: captures compressed by zstd (one frame, two
// frames, pzstd's skippable frames), lz4 (frame and legacy) and bzip2, the
// tools' own output, read as the packets of the plain capture, stamped
// alike, from a file (Open) and from memory.
func TestCompressedCaptures(t *testing.T) {
	want := plainN1Eth0(t)
	for _, fx := range compressedFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(compressedDir, fx.name)
			f, pkts, end := readPath(t, path)
			require.Equal(t, io.EOF, end)
			assert.Equal(t, fx.want, f.Compression)
			require.Len(t, pkts, len(want))
			for i := range want {
				assert.Equal(t, want[i].data, pkts[i].data, "packet %d", i)
				assert.Equal(t, want[i].m.TS, pkts[i].m.TS, "packet %d", i)
				assert.Equal(t, want[i].m.WireLen, pkts[i].m.WireLen, "packet %d", i)
			}
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			_, mpkts, mend := bothWays(t, fx.name, b)
			require.Equal(t, io.EOF, mend)
			assert.Equal(t, pkts, mpkts, "from memory")
		})
	}
}

// TestCompressedCut: a compressed capture cut short keeps the packets
// before the cut and ends with an error naming the file and an offset in
// the decompressed stream, never a panic or a clean end. A stream of one
// block (the small fixtures but the two-frame one) decompresses to nothing
// when cut: that is said at open, naming the compression.
func TestCompressedCut(t *testing.T) {
	want := plainN1Eth0(t)
	for _, fx := range compressedFixtures {
		t.Run(fx.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(compressedDir, fx.name))
			require.NoError(t, err)
			cut := b[:len(b)*2/3]
			f, err := decode.NewFile(fx.name, bytes.NewReader(cut))
			if fx.name != "n1-eth0.frames.pcap.zst" {
				require.Error(t, err, "a stream of one block, cut")
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
				assert.Contains(t, err.Error(), "open capture "+fx.name+": "+fx.want.String()+" stream ends before a capture header")
				return
			}
			require.NoError(t, err)
			pkts, end := readAll(t, f)
			require.Error(t, end)
			require.NotEqual(t, io.EOF, end, "a cut stream ends with an error")
			var re *decode.ReadError
			require.ErrorAs(t, end, &re)
			assert.True(t, re.Decompressed)
			assert.Contains(t, end.Error(), "read capture "+fx.name)
			assert.Contains(t, end.Error(), "of the decompressed stream")
			require.NotEmpty(t, pkts, "the first frame's packets")
			require.Less(t, len(pkts), len(want))
			for i := range pkts {
				assert.Equal(t, want[i].data, pkts[i].data, "packet %d", i)
			}
		})
	}
}

// TestCompressedRatio: past 64 MB (here 4 MB), a stream of any compression
// decompressing to more than 200 times its size ends, as a bomb, with a
// message naming the limit; with no limit it reads to its end. zstd, lz4
// and bzip2 reach ratios gzip cannot (bzip2: 8 MB from 110 bytes).
func TestCompressedRatio(t *testing.T) {
	defer decode.SetRatioGuardFloor(4 << 20)()
	var plain bytes.Buffer
	plain.Write(pcapBytes(binary.LittleEndian, false, 1, nil))
	rec := make([]byte, 16+60000)
	binary.LittleEndian.PutUint32(rec[0:], 1_700_000_000)
	binary.LittleEndian.PutUint32(rec[8:], 60000)
	binary.LittleEndian.PutUint32(rec[12:], 60000)
	records := 8 << 20 / len(rec)
	for range records {
		plain.Write(rec)
	}
	compress := func(w io.WriteCloser, buf *bytes.Buffer) []byte {
		_, err := w.Write(plain.Bytes())
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	var gz, zs, l4 bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw, err := zstd.NewWriter(&zs)
	require.NoError(t, err)
	bomb, err := os.ReadFile(filepath.Join(compressedDir, "bomb.pcap.bz2"))
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"ratio.pcap.gz", compress(gw, &gz)},
		{"ratio.pcap.zst", compress(zw, &zs)},
		{"ratio.pcap.lz4", compress(lz4.NewWriter(&l4), &l4)},
		{"bomb.pcap.bz2", bomb},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := decode.NewFile(c.name, bytes.NewReader(c.b))
			require.NoError(t, err)
			_, end := readAll(t, f)
			assert.ErrorIs(t, end, decode.ErrBomb)
			assert.Contains(t, end.Error(), "--max-ratio raises the limit")

			f, err = decode.NewFileLimits(c.name, bytes.NewReader(c.b), decode.Limits{MaxRatio: -1})
			require.NoError(t, err)
			pkts, end := readAll(t, f)
			assert.Equal(t, io.EOF, end)
			assert.Len(t, pkts, records)
		})
	}
}

// TestCompressedNoGoroutines: a decompressor runs on the reader's
// goroutine and is released with its file: opening and closing many zstd
// captures (whose decoder decodes ahead on goroutines of its own unless
// told not to) leaves no goroutine behind.
func TestCompressedNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	for range 20 {
		for _, fx := range compressedFixtures {
			f, err := decode.Open(filepath.Join(compressedDir, fx.name))
			require.NoError(t, err)
			_, _, err = f.Next()
			require.NoError(t, err)
			assert.LessOrEqual(t, runtime.NumGoroutine(), base, "goroutines while %s is read", fx.name)
			require.NoError(t, f.Close())
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), base)
}

// TestCompressionOf: the compressions told by their first bytes, and what
// is none of them.
func TestCompressionOf(t *testing.T) {
	for _, c := range []struct {
		head []byte
		want decode.Compression
	}{
		{[]byte{0x1f, 0x8b, 8, 0}, decode.Gzip},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd}, decode.Zstd},
		{[]byte{0x50, 0x2a, 0x4d, 0x18}, decode.Zstd},
		{[]byte{0x5f, 0x2a, 0x4d, 0x18}, decode.Zstd},
		{[]byte{0x04, 0x22, 0x4d, 0x18}, decode.LZ4},
		{[]byte{0x02, 0x21, 0x4c, 0x18}, decode.LZ4},
		{[]byte("BZh9"), decode.Bzip2},
		{[]byte("BZh0"), decode.Uncompressed},
		{[]byte("BZh"), decode.Uncompressed},
		{[]byte{0xd4, 0xc3, 0xb2, 0xa1}, decode.Uncompressed},
		{[]byte{0x0a, 0x0d, 0x0d, 0x0a}, decode.Uncompressed},
		{[]byte{0xfd, '7', 'z', 'X'}, decode.Uncompressed},
		{nil, decode.Uncompressed},
	} {
		assert.Equal(t, c.want, decode.CompressionOf(c.head), "% x", c.head)
	}
}

// TestZstdHugeWindow: a zstd frame asking for a 2 TB window (the history
// its decoder keeps) is refused at open, naming the file and zstd, without
// the memory.
func TestZstdHugeWindow(t *testing.T) {
	// Frame header: no single segment, so a window descriptor follows:
	// exponent 31, mantissa 0: 2^41 bytes. Then a raw last block of the
	// pcap header.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 31 << 3}
	hdr := pcapBytes(binary.LittleEndian, false, 1, nil)
	bh := uint32(len(hdr))<<3 | 1 // last block, raw
	frame = append(frame, byte(bh), byte(bh>>8), byte(bh>>16))
	frame = append(frame, hdr...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decode.NewFile("huge-window.pcap.zst", bytes.NewReader(frame))
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open capture huge-window.pcap.zst: zstd")
	assert.ErrorIs(t, err, zstd.ErrWindowSizeExceeded)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "bytes allocated refusing it")
}
