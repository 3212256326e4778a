package decode

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression is how a capture (or an archive) is compressed. Wireshark
// reads gzip, zstd and lz4 captures as they are; `tcpdump -w - | zstd`,
// logrotate's compress (gzip, or bzip2/xz/zstd with compresscmd) and
// collection tools write them.
type Compression uint8

const (
	Uncompressed Compression = iota
	Gzip
	Zstd
	LZ4
	Bzip2
)

func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case LZ4:
		return "lz4"
	case Bzip2:
		return "bzip2"
	}
	return "uncompressed"
}

// CompressionOf tells the compression of a stream by its first bytes (four
// tell them all).
func CompressionOf(head []byte) Compression {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return Gzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}),
		// A skippable frame first, as pzstd writes one before each frame.
		len(head) >= 4 && head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18:
		return Zstd
	case bytes.HasPrefix(head, []byte{0x04, 0x22, 0x4d, 0x18}),
		bytes.HasPrefix(head, []byte{0x02, 0x21, 0x4c, 0x18}): // lz4 -l, the legacy frame
		return LZ4
	case len(head) >= 4 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9':
		return Bzip2
	}
	return Uncompressed
}

// MaxZstdWindow is the largest zstd window (the history a decoder keeps)
// Decompress accepts: zstd --long and --ultra -22 use 128 MB, its levels
// 1 to 19 at most 8 MB (and a file's frame no more than the file, when
// zstd knows its size). The decoder allocates the window a frame asks for
// as it starts the frame (128 MB for a frame of 24 bytes asking so), so a
// frame asking for more is refused rather than given the memory
// (TestZstdHugeWindow).
const MaxZstdWindow = 128 << 20

// Decompress returns the decompressed stream of r, compressed as c, and a
// function that releases the decompressor. Decompressors run on the
// caller's goroutine: none starts another.
func Decompress(c Compression, r io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch c {
	case Gzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("gzip: %w", err)
		}
		return gz, nop, nil
	case Zstd:
		// One decoder, synchronous: concurrency above 1 decodes blocks
		// ahead on goroutines of its own.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(MaxZstdWindow))
		if err != nil {
			return nil, nop, fmt.Errorf("zstd: %w", err)
		}
		return zstdErrors{zr}, zr.Close, nil
	case LZ4:
		return lz4.NewReader(r), nop, nil
	case Bzip2:
		return bzip2.NewReader(r), nop, nil
	}
	return r, nop, nil
}

// zstdErrors names the format in the decoder's errors, as gzip's and
// bzip2's do themselves.
type zstdErrors struct{ r io.Reader }

func (z zstdErrors) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		err = fmt.Errorf("zstd: %w", err)
	}
	return n, err
}
