package decode_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

// corpusDir is the shared capture corpus, relative to this package. Tests
// that need it skip when it is missing; the fuzzers then start from their
// hand-made seeds and testdata/fuzz alone.
const corpusDir = "../../shared/corpus"

// corpusFiles returns the capture files of the corpus, sorted, or none when
// the corpus is missing.
func corpusFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(corpusDir, pat))
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, m...)
	}
	return files
}

// corpusFile returns the path of a corpus file, skipping the test when the
// corpus is missing.
func corpusFile(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(corpusDir, name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("corpus file %s: %v", name, err)
	}
	return path
}

// packet is one packet as the reader returned it, copied.
type packet struct {
	data []byte
	m    decode.Meta
}

// readAll reads f to its end and returns its packets and the error that
// ended them (io.EOF for a clean end). It checks that the error is sticky.
func readAll(t *testing.T, f *decode.File) ([]packet, error) {
	t.Helper()
	var pkts []packet
	for {
		data, m, err := f.Next()
		if err != nil {
			_, _, again := f.Next()
			require.Equal(t, err, again, "error after the end is not sticky")
			return pkts, err
		}
		pkts = append(pkts, packet{bytes.Clone(data), m})
		require.Less(t, len(pkts), 1<<20, "runaway read")
	}
}

// readPath opens path and reads all of it.
func readPath(t *testing.T, path string) (*decode.File, []packet, error) {
	t.Helper()
	f, err := decode.Open(path)
	require.NoError(t, err)
	defer f.Close()
	pkts, err := readAll(t, f)
	return f, pkts, err
}

// requireOneLine checks that an error message is one line naming path.
func requireOneLine(t *testing.T, err error, path string) {
	t.Helper()
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.NotContains(t, err.Error(), "\n")
}

// pcapRecord is a pcap record located by parsing the file by hand,
// independently of the reader under test.
type pcapRecord struct {
	off             int64 // where the 16-byte record header starts
	ts              int64
	caplen, wirelen int
}

func (r pcapRecord) end() int64 { return r.off + 16 + int64(r.caplen) }

// pcapLayout returns the complete records of a pcap file, or of its first
// cut bytes.
func pcapLayout(t *testing.T, file []byte) []pcapRecord {
	t.Helper()
	require.GreaterOrEqual(t, len(file), 24)
	var (
		bo   binary.ByteOrder = binary.LittleEndian
		frac int64            = 1000
	)
	switch binary.BigEndian.Uint32(file) {
	case 0xa1b2c3d4:
		bo = binary.BigEndian
	case 0xa1b23c4d:
		bo, frac = binary.BigEndian, 1
	case 0x4d3cb2a1:
		frac = 1
	case 0xd4c3b2a1:
	default:
		t.Fatalf("not a pcap file: % x", file[:4])
	}
	var recs []pcapRecord
	for off := int64(24); off+16 <= int64(len(file)); {
		h := file[off:]
		r := pcapRecord{
			off:     off,
			ts:      int64(bo.Uint32(h))*1e9 + int64(bo.Uint32(h[4:]))*frac,
			caplen:  int(bo.Uint32(h[8:])),
			wirelen: int(bo.Uint32(h[12:])),
		}
		if r.end() > int64(len(file)) {
			break
		}
		recs = append(recs, r)
		off = r.end()
	}
	return recs
}

// ngBlock is a pcapng block located by parsing the file by hand.
type ngBlock struct {
	typ      uint32
	off, end int64
}

func (b ngBlock) isPacket() bool { return b.typ == 6 || b.typ == 3 || b.typ == 2 }

// pcapngLayout returns the blocks of a single-section pcapng file.
func pcapngLayout(t *testing.T, file []byte) []ngBlock {
	t.Helper()
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(file[8:]) == 0x1a2b3c4d {
		bo = binary.BigEndian
	}
	var blocks []ngBlock
	for off := int64(0); off < int64(len(file)); {
		n := int64(bo.Uint32(file[off+4:]))
		require.True(t, n >= 12 && n%4 == 0 && off+n <= int64(len(file)), "bad block at %d", off)
		blocks = append(blocks, ngBlock{typ: bo.Uint32(file[off:]), off: off, end: off + n})
		off += n
	}
	return blocks
}

// hashFile returns the SHA-256 of a file.
func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// manifestRow is one capture of the corpus MANIFEST.
type manifestRow struct {
	file, format string
	packets      int // from capinfos -c; -1 for the broken files
}

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if err != nil {
		t.Skipf("corpus manifest: %v", err)
	}
	defer f.Close()
	var (
		rows []manifestRow
		col  = map[string]int{}
		sc   = bufio.NewScanner(f)
	)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(col) == 0 {
			for i, name := range fields {
				col[name] = i
			}
			continue
		}
		n, err := strconv.Atoi(fields[col["packets_capinfos"]])
		if err != nil {
			n = -1
		}
		rows = append(rows, manifestRow{fields[col["file"]], fields[col["file_format"]], n})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows)
	return rows
}

// TestReadCorpus reads every intact corpus capture: the packet count is
// capinfos's, the read ends cleanly, pcap records match a hand parse of the
// file, and no file is modified by reading it.
func TestReadCorpus(t *testing.T) {
	for _, row := range readManifest(t) {
		if row.packets < 0 || row.format == "pcap-modified-LE" {
			continue // TestReadBroken
		}
		t.Run(row.file, func(t *testing.T) {
			path := corpusFile(t, row.file)
			before := hashFile(t, path)
			f, pkts, err := readPath(t, path)
			require.Equal(t, io.EOF, err)
			assert.Len(t, pkts, row.packets, "capinfos -c")
			assert.Equal(t, before, hashFile(t, path), "input modified")
			assert.Equal(t, decode.Uncompressed, f.Compression)
			if !strings.HasPrefix(row.format, "pcap-") {
				assert.Equal(t, decode.FormatPcapNG, f.Format)
				return
			}
			assert.Equal(t, decode.FormatPcap, f.Format)
			file, err := os.ReadFile(path)
			require.NoError(t, err)
			recs := pcapLayout(t, file)
			require.Len(t, recs, len(pkts))
			for i, r := range recs {
				assert.Equal(t, r.ts, pkts[i].m.TS, "packet %d time", i)
				assert.Equal(t, r.caplen, len(pkts[i].data), "packet %d caplen", i)
				assert.Equal(t, r.wirelen, pkts[i].m.WireLen, "packet %d wire length", i)
				assert.Equal(t, file[r.off+16:r.end()], pkts[i].data, "packet %d bytes", i)
			}
		})
	}
}

// pcapBytes builds a pcap file by hand in any byte order and resolution.
func pcapBytes(bo binary.AppendByteOrder, nano bool, link uint32, pkts []packet) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := bo.AppendUint32(nil, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 65535)
	b = bo.AppendUint32(b, link)
	for _, p := range pkts {
		frac := p.m.TS % 1e9
		if !nano {
			frac /= 1000
		}
		b = bo.AppendUint32(b, uint32(p.m.TS/1e9))
		b = bo.AppendUint32(b, uint32(frac))
		b = bo.AppendUint32(b, uint32(len(p.data)))
		b = bo.AppendUint32(b, uint32(p.m.WireLen))
		b = append(b, p.data...)
	}
	return b
}

// TestReadPcapVariants reads pcap in both byte orders and both time
// resolutions, from the corpus and synthesized.
func TestReadPcapVariants(t *testing.T) {
	ts := time.Date(2026, 11, 22, 10, 30, 0, 123456789, time.UTC).UnixNano()
	pkts := []packet{
		{[]byte{0x45, 0, 0, 20}, decode.Meta{TS: ts, WireLen: 4}},
		{bytes.Repeat([]byte{0xab}, 100), decode.Meta{TS: ts + 1, WireLen: 1500}}, // snapped
		{nil, decode.Meta{TS: ts + 2e9, WireLen: 0}},
	}
	for _, tc := range []struct {
		name string
		bo   binary.AppendByteOrder
		nano bool
	}{
		{"us-le", binary.LittleEndian, false},
		{"us-be", binary.BigEndian, false},
		{"ns-le", binary.LittleEndian, true},
		{"ns-be", binary.BigEndian, true},
	} {
		t.Run("synthetic-"+tc.name, func(t *testing.T) {
			cf, err := decode.NewFile(tc.name, bytes.NewReader(pcapBytes(tc.bo, tc.nano, 101, pkts)))
			require.NoError(t, err)
			got, err := readAll(t, cf)
			require.Equal(t, io.EOF, err)
			require.Len(t, got, len(pkts))
			assert.Equal(t, decode.FormatPcap, cf.Format)
			assert.Equal(t, []decode.Interface{{Link: decode.LinkRaw, SnapLen: 65535}}, cf.Interfaces())
			for i, p := range pkts {
				want := p.m.TS
				if !tc.nano {
					want -= want % 1000
				}
				assert.Equal(t, want, got[i].m.TS, "packet %d time", i)
				assert.Equal(t, p.m.WireLen, got[i].m.WireLen)
				assert.Equal(t, decode.LinkRaw, got[i].m.Link)
				assert.Equal(t, len(p.data), len(got[i].data))
				assert.True(t, bytes.Equal(p.data, got[i].data))
			}
		})
	}
	// One real file of each variant; TestReadCorpus checks every record.
	for _, tc := range []struct {
		file  string
		magic [4]byte
		n     int
	}{
		{"tcpdump__vxlan.pcap", [4]byte{0xd4, 0xc3, 0xb2, 0xa1}, 10},
		{"tcpdump__pptp.pcap", [4]byte{0xa1, 0xb2, 0xc3, 0xd4}, 23},
		{"tcpdump__tcp-handshake-nano.pcap", [4]byte{0x4d, 0x3c, 0xb2, 0xa1}, 3},
		{"pcapplusplus__nanosecs_big_endian.pcap", [4]byte{0xa1, 0xb2, 0x3c, 0x4d}, 10},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := corpusFile(t, tc.file)
			file, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, tc.magic[:], file[:4], "the file is not the variant the row is for")
			_, got, err := readPath(t, path)
			require.Equal(t, io.EOF, err)
			require.Len(t, got, tc.n)
			for i, r := range pcapLayout(t, file) {
				assert.Equal(t, r.ts, got[i].m.TS, "packet %d time", i)
			}
		})
	}
}

// TestReadPcapNGInterfaces reads pcapng files whose packets come from
// several interfaces of different link types.
func TestReadPcapNGInterfaces(t *testing.T) {
	for _, tc := range []struct {
		file    string
		ifaces  []decode.Interface // Name, Description and Link of each
		perFace map[int]int        // packets per interface index
	}{
		{
			file: "pcapplusplus__many_interfaces-1.pcapng",
			ifaces: []decode.Interface{
				{Name: "en0", Link: 1}, {Name: "awdl0", Link: 1}, {Name: "bridge0", Link: 1},
				{Name: "vboxnet0", Link: 1}, {Name: "utun0", Link: 0}, {Name: "en1", Link: 1},
				{Name: "vboxnet1", Link: 1}, {Name: "en2", Link: 1}, {Name: "p2p0", Link: 12},
				{Name: "vboxnet2", Link: 1}, {Name: "lo0", Link: 0},
			},
			perFace: map[int]int{0: 62, 10: 2},
		},
		{
			file: "zeek__pcapng-multi-interface.pcapng",
			ifaces: []decode.Interface{
				{Name: "eth0", Link: 1},
				{Name: `\Device\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}`, Description: "Ethernet 2", Link: 1},
			},
			perFace: map[int]int{0: 2, 1: 4},
		},
		{
			file: "gopacket__test102.pcapng",
			ifaces: []decode.Interface{
				{Name: "eth0", Link: 1}, {Name: "null1", Link: 0}, {Name: "silly!\r\nethernet interface 2", Link: 1},
			},
			perFace: map[int]int{0: 3, 1: 1, 2: 1},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			// Expected values are from tshark -T fields -e frame.interface_id
			// -e frame.interface_name -e frame.encap_type and capinfos -I.
			f, pkts, err := readPath(t, corpusFile(t, tc.file))
			require.Equal(t, io.EOF, err)
			assert.Equal(t, decode.FormatPcapNG, f.Format)
			ifs := f.Interfaces()
			require.Len(t, ifs, len(tc.ifaces))
			for i, want := range tc.ifaces {
				assert.Equal(t, want.Name, ifs[i].Name, "interface %d", i)
				assert.Equal(t, want.Description, ifs[i].Description, "interface %d", i)
				assert.Equal(t, want.Link, ifs[i].Link, "interface %d", i)
			}
			per := map[int]int{}
			for _, p := range pkts {
				per[p.m.Iface]++
				assert.Equal(t, tc.ifaces[p.m.Iface].Link, p.m.Link, "link type of a packet on interface %d", p.m.Iface)
			}
			assert.Equal(t, tc.perFace, per)
		})
	}

	// Interfaces with comments and descriptions, added as the file goes on.
	t.Run("synthetic", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{
			Name: "eth0", Comment: "node-1 uplink", LinkType: layers.LinkTypeEthernet, SnapLength: 262144,
		}, pcapgo.NgWriterOptions{})
		require.NoError(t, err)
		ts := time.Date(2026, 11, 22, 10, 0, 0, 1000, time.UTC)
		write := func(iface int, data []byte) {
			t.Helper()
			ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data) + iface, InterfaceIndex: iface}
			require.NoError(t, w.WritePacket(ci, data))
		}
		write(0, []byte{1, 2, 3})
		id, err := w.AddInterface(pcapgo.NgInterface{Name: "tunl0", Description: "calico ipip", LinkType: layers.LinkTypeRaw, SnapLength: 96})
		require.NoError(t, err)
		require.Equal(t, 1, id)
		write(1, []byte{0x45})
		id, err = w.AddInterface(pcapgo.NgInterface{Name: "lo", Comment: "loopback", LinkType: layers.LinkTypeNull})
		require.NoError(t, err)
		write(id, []byte{2, 0, 0, 0})
		write(0, []byte{4})
		require.NoError(t, w.Flush())

		cf, err := decode.NewFile("x.pcapng", &buf)
		require.NoError(t, err)
		pkts, err := readAll(t, cf)
		require.Equal(t, io.EOF, err)
		assert.Equal(t, []decode.Interface{
			{Name: "eth0", Comment: "node-1 uplink", Link: decode.LinkEthernet, SnapLen: 262144},
			{Name: "tunl0", Description: "calico ipip", Link: decode.LinkRaw, SnapLen: 96},
			{Name: "lo", Comment: "loopback", Link: decode.LinkNull},
		}, cf.Interfaces())
		require.Len(t, pkts, 4)
		for i, want := range []struct {
			iface int
			link  decode.LinkType
			data  []byte
		}{
			{0, decode.LinkEthernet, []byte{1, 2, 3}},
			{1, decode.LinkRaw, []byte{0x45}},
			{2, decode.LinkNull, []byte{2, 0, 0, 0}},
			{0, decode.LinkEthernet, []byte{4}},
		} {
			p := pkts[i]
			assert.Equal(t, want.iface, p.m.Iface, "packet %d", i)
			assert.Equal(t, want.link, p.m.Link, "packet %d", i)
			assert.Equal(t, want.data, p.data, "packet %d", i)
			assert.Equal(t, len(want.data)+want.iface, p.m.WireLen, "packet %d", i)
			assert.Equal(t, ts.UnixNano(), p.m.TS, "packet %d", i)
		}
	})
}

// gzipFile writes the gzip-compressed bytes of src to name in a temporary
// directory.
func gzipFile(t *testing.T, src, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err = zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// TestReadGzip reads gzip-compressed captures, whole and cut short.
func TestReadGzip(t *testing.T) {
	for _, name := range []string{"tcpdump__vxlan.pcap", "zeek__pcapng-multi-interface.pcapng", "pcapplusplus__nanosecs_big_endian.pcap"} {
		t.Run(name, func(t *testing.T) {
			src := corpusFile(t, name)
			_, want, err := readPath(t, src)
			require.Equal(t, io.EOF, err)

			gz := gzipFile(t, src, name+".gz")
			f, got, err := readPath(t, gz)
			require.Equal(t, io.EOF, err)
			assert.Equal(t, decode.Gzip, f.Compression)
			assert.Equal(t, want, got)

			// Cut the compressed stream: a prefix of the packets, then a
			// truncation error counting decompressed bytes.
			data, err := os.ReadFile(gz)
			require.NoError(t, err)
			for _, cut := range []int{len(data) / 2, len(data) - 4} {
				cf, err := decode.NewFile("cut.gz", bytes.NewReader(data[:cut]))
				require.NoError(t, err)
				got, err := readAll(t, cf)
				var re *decode.ReadError
				require.ErrorAs(t, err, &re, "cut at %d", cut)
				assert.True(t, re.Truncated)
				assert.True(t, re.Decompressed)
				assert.Contains(t, err.Error(), "decompressed")
				requireOneLine(t, err, "cut.gz")
				require.LessOrEqual(t, len(got), len(want))
				for i := range got {
					assert.Equal(t, want[i], got[i], "packet %d", i)
				}
			}
		})
	}
}

// TestReadFormatByMagic checks that the format comes from the file's first
// bytes, whatever its name says.
func TestReadFormatByMagic(t *testing.T) {
	for _, tc := range []struct {
		src, name string
		format    decode.Format
		gzip      bool
		n         int
	}{
		{"zeek__pcapng-multi-interface.pcapng", "x.pcap", decode.FormatPcapNG, false, 6},
		{"tcpdump__vxlan.pcap", "x.pcapng", decode.FormatPcap, false, 10},
		{"tcpdump__vxlan.pcap", "capture.bin", decode.FormatPcap, false, 10},
		{"zeek__pcapng-multi-interface.pcapng", "x.pcap", decode.FormatPcapNG, true, 6},
		{"tcpdump__vxlan.pcap", "y.pcapng.txt", decode.FormatPcap, true, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := corpusFile(t, tc.src)
			var path string
			if tc.gzip {
				path = gzipFile(t, src, tc.name)
			} else {
				data, err := os.ReadFile(src)
				require.NoError(t, err)
				path = filepath.Join(t.TempDir(), tc.name)
				require.NoError(t, os.WriteFile(path, data, 0o644))
			}
			f, pkts, err := readPath(t, path)
			require.Equal(t, io.EOF, err)
			assert.Equal(t, tc.format, f.Format)
			assert.Equal(t, tc.gzip, f.Compression == decode.Gzip)
			assert.Len(t, pkts, tc.n)
		})
	}
}

// TestReadTruncatedPcap cuts pcap files at every byte. The packets before
// the cut are returned intact, then a cut inside a record is a truncation
// error at the offset where that record starts, and a cut between records
// is a clean end.
func TestReadTruncatedPcap(t *testing.T) {
	for _, name := range []string{"tcpdump__vxlan.pcap", "pcapplusplus__nanosecs_big_endian.pcap", "tcpdump__pptp.pcap"} {
		t.Run(name, func(t *testing.T) {
			file, err := os.ReadFile(corpusFile(t, name))
			require.NoError(t, err)
			all := pcapLayout(t, file)
			require.Equal(t, int64(len(file)), all[len(all)-1].end())
			for cut := 0; cut < len(file); cut++ {
				path := fmt.Sprintf("%s@%d", name, cut)
				cf, err := decode.NewFile(path, bytes.NewReader(file[:cut]))
				if cut < 24 {
					requireOneLine(t, err, path)
					if cut < 4 {
						assert.ErrorIs(t, err, decode.ErrNotCapture)
					}
					continue
				}
				require.NoError(t, err, "cut at %d", cut)
				pkts, err := readAll(t, cf)
				requireSameFromMemory(t, path, file[:cut], pkts, err)
				recs := pcapLayout(t, file[:cut])
				require.Len(t, pkts, len(recs), "cut at %d", cut)
				for i, r := range recs {
					require.Equal(t, file[r.off+16:r.end()], pkts[i].data, "cut at %d, packet %d", cut, i)
				}
				next := int64(24)
				if len(recs) > 0 {
					next = recs[len(recs)-1].end()
				}
				if next == int64(cut) {
					require.Equal(t, io.EOF, err, "cut between records at %d", cut)
					continue
				}
				var re *decode.ReadError
				require.ErrorAs(t, err, &re, "cut at %d", cut)
				require.True(t, re.Truncated, "cut at %d: %v", cut, err)
				require.Equal(t, next, re.Offset, "cut at %d", cut)
				require.False(t, re.Decompressed)
				require.Contains(t, err.Error(), fmt.Sprintf("offset %d", next))
				requireOneLine(t, err, path)
			}
		})
	}

	// Through Open, the error names the file on disk.
	t.Run("file", func(t *testing.T) {
		file, err := os.ReadFile(corpusFile(t, "tcpdump__vxlan.pcap"))
		require.NoError(t, err)
		recs := pcapLayout(t, file)
		path := filepath.Join(t.TempDir(), "cut.pcap")
		cut := recs[3].off + 16 + 5
		require.NoError(t, os.WriteFile(path, file[:cut], 0o644))
		_, pkts, err := readPath(t, path)
		assert.Len(t, pkts, 3)
		var re *decode.ReadError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, &decode.ReadError{Path: path, Offset: recs[3].off, Truncated: true, Err: io.ErrUnexpectedEOF}, re)
		assert.Equal(t, fmt.Sprintf("read capture %s: truncated: file ends inside the record at offset %d", path, recs[3].off), err.Error())
	})
}

// requireSameFromMemory checks that reading file from memory, as Open reads
// a mapped file, gives the packets and the end that reading it as a stream
// gave.
func requireSameFromMemory(t *testing.T, path string, file []byte, pkts []packet, end error) {
	t.Helper()
	mf, err := decode.NewFileBytes(path, file)
	require.NoError(t, err)
	got, gotEnd := readAll(t, mf)
	require.Equal(t, pkts, got, "%s from memory", path)
	require.Equal(t, end, gotEnd, "%s from memory", path)
}

// TestReadLargeRecords reads records longer than the read buffer from a
// stream and from memory: whole when they are there and the limit allows
// them, and, when a 4 GB snap length lets a record claim gigabytes the file
// does not hold, a truncation that costs memory for what the file holds
// only. A record beyond the limit (libpcap's 256 KB unless raised) is
// skipped, as libpcap refuses it, and reading goes on at the next record.
func TestReadLargeRecords(t *testing.T) {
	big := make([]byte, 300_000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	file := pcapBytes(binary.LittleEndian, false, 1, []packet{{big, decode.Meta{TS: 1000, WireLen: len(big)}}, {[]byte{1, 2, 3}, decode.Meta{TS: 2000, WireLen: 3}}})
	binary.LittleEndian.PutUint32(file[16:], 0xffffffff) // snap length
	raised := decode.Limits{MaxRecord: 1<<31 - 1}
	for _, open := range []func([]byte, decode.Limits) (*decode.File, error){
		func(b []byte, l decode.Limits) (*decode.File, error) {
			return decode.NewFileLimits("large.pcap", bytes.NewReader(b), l)
		},
		func(b []byte, l decode.Limits) (*decode.File, error) {
			return decode.NewFileBytesLimits("large.pcap", b, l)
		},
	} {
		f, err := open(file, raised)
		require.NoError(t, err)
		pkts, err := readAll(t, f)
		require.Equal(t, io.EOF, err)
		require.Len(t, pkts, 2)
		assert.Equal(t, big, pkts[0].data)
		assert.Equal(t, []byte{1, 2, 3}, pkts[1].data)

		// Under the default limit the 300 kB record is skipped.
		f, err = open(file, decode.Limits{})
		require.NoError(t, err)
		pkts, err = readAll(t, f)
		require.Equal(t, io.EOF, err)
		require.Len(t, pkts, 1)
		assert.Equal(t, []byte{1, 2, 3}, pkts[0].data)
		recs, n := f.Recoveries()
		require.Equal(t, 1, n)
		assert.Equal(t, decode.Recovery{Offset: 24, Skipped: 16 + 300_000, Err: recs[0].Err}, recs[0])
		assert.Equal(t, "read capture large.pcap at offset 24: record of 300000 bytes is longer than the 262144-byte limit (snap length 4294967295; --max-record-size raises the limit); skipped 300016 bytes to the next plausible record", f.Describe(recs[0]))

		// The first record claims 1.5 GB: a truncation.
		lying := bytes.Clone(file)
		binary.LittleEndian.PutUint32(lying[24+8:], 3<<29)
		binary.LittleEndian.PutUint32(lying[24+12:], 3<<29)
		f, err = open(lying, raised)
		require.NoError(t, err)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err = f.Next()
		runtime.ReadMemStats(&after)
		var re *decode.ReadError
		require.ErrorAs(t, err, &re)
		assert.True(t, re.Truncated)
		assert.Equal(t, int64(24), re.Offset)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated to read a 1.5 GB claim from a 300 kB file")
	}
}

// TestReadMapped reads a pcap file longer than the reader hands back to the
// kernel at a time, through Open, which maps it: the same packets as from a
// stream, and the data of every packet intact while the pages before it
// are released.
func TestReadMapped(t *testing.T) {
	var pkts []packet
	for i := range 30000 { // 30 MB
		data := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 500)
		pkts = append(pkts, packet{data, decode.Meta{TS: int64(i) * 1000, WireLen: 1000 + i%7, Link: decode.LinkRaw}})
	}
	file := pcapBytes(binary.LittleEndian, true, 101, pkts)
	path := filepath.Join(t.TempDir(), "big.pcap")
	require.NoError(t, os.WriteFile(path, file, 0o644))
	_, got, err := readPath(t, path)
	require.Equal(t, io.EOF, err)
	require.Equal(t, len(pkts), len(got))
	for i := range pkts {
		require.Equal(t, pkts[i], got[i], "packet %d", i)
	}
	sf, err := decode.NewFile(path, bytes.NewReader(file))
	require.NoError(t, err)
	fromStream, err := readAll(t, sf)
	require.Equal(t, io.EOF, err)
	require.Equal(t, fromStream, got)
}

// TestOpenPaths opens captures each way Open reads them: a small file read
// whole, a larger one mapped (on Linux), a larger compressed one read as a
// stream, and a larger file that is not a capture. Each capture gives the
// packets a stream of its bytes gives.
func TestOpenPaths(t *testing.T) {
	var pkts []packet
	x := uint32(1)
	for i := range 60 { // 60 KB of bytes gzip cannot shrink
		data := make([]byte, 1000)
		for j := range data {
			x = x*1664525 + 1013904223
			data[j] = byte(x >> 24)
		}
		pkts = append(pkts, packet{data, decode.Meta{TS: int64(i), WireLen: 1000, Link: decode.LinkRaw}})
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return path
	}
	small := pcapBytes(binary.LittleEndian, true, 101, pkts[:5])
	large := pcapBytes(binary.LittleEndian, true, 101, pkts)
	for _, c := range []struct {
		name string
		path string
		want []byte
	}{
		{"small", write("small.pcap", small), small},
		{"large", write("large.pcap", large), large},
		{"large-gzip", gzipFile(t, write("plain.pcap", large), "large.pcap.gz"), large},
	} {
		t.Run(c.name, func(t *testing.T) {
			fi, err := os.Stat(c.path)
			require.NoError(t, err)
			require.Equal(t, c.name != "small", fi.Size() >= 32<<10, "file size %d", fi.Size())
			_, got, err := readPath(t, c.path)
			require.Equal(t, io.EOF, err)
			sf, err := decode.NewFile(c.path, bytes.NewReader(c.want))
			require.NoError(t, err)
			want, err := readAll(t, sf)
			require.Equal(t, io.EOF, err)
			require.Equal(t, want, got)
		})
	}
	notCapture := write("notes.txt", bytes.Repeat([]byte("not a capture\n"), 4<<10))
	_, err := decode.Open(notCapture)
	require.ErrorIs(t, err, decode.ErrNotCapture)
	requireOneLine(t, err, notCapture)
}

// TestReadShrunk truncates a mapped capture while it is read, as a ring of
// tcpdump files rotates: reading ends with a truncation where the file now
// ends, with the packets before it, not with a fault.
func TestReadShrunk(t *testing.T) {
	var pkts []packet
	for i := range 10000 { // 10 MB
		pkts = append(pkts, packet{bytes.Repeat([]byte{byte(i)}, 1000), decode.Meta{TS: int64(i), WireLen: 1000, Link: decode.LinkRaw}})
	}
	file := pcapBytes(binary.LittleEndian, true, 101, pkts)
	path := filepath.Join(t.TempDir(), "ring.pcap")
	// openAt writes the file afresh, opens it and reads n packets.
	openAt := func(n int) *decode.File {
		require.NoError(t, os.WriteFile(path, file, 0o644))
		f, err := decode.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		for range n {
			_, _, err := f.Next()
			require.NoError(t, err)
		}
		return f
	}
	f := openAt(1000)
	const size = 6<<20 + 100
	require.NoError(t, os.Truncate(path, size))
	rest, err := readAll(t, f)
	whole := (size - 24) / 1016 // records wholly before the new end
	assert.Len(t, rest, whole-1000)
	var re *decode.ReadError
	require.ErrorAs(t, err, &re)
	assert.True(t, re.Truncated)
	assert.ErrorIs(t, err, decode.ErrShrunk)
	assert.Equal(t, int64(24+whole*1016), re.Offset)

	// Cut to nothing behind the reader, as a rotation does: not a clean
	// end. 1033 records end just past the first megabyte, where the reader
	// looks next; touching the file between two looks would fault.
	g := openAt(1033)
	require.NoError(t, os.Truncate(path, 0))
	rest, err = readAll(t, g)
	assert.Empty(t, rest)
	require.ErrorAs(t, err, &re)
	assert.True(t, re.Truncated)
	assert.Equal(t, int64(24+1033*1016), re.Offset)
	assert.EqualError(t, err, fmt.Sprintf("read capture %s at offset %d: the file shrank while it was read, to 0 bytes", path, 24+1033*1016))
}

// TestReadHugePcapNGBlock reads a pcapng block whose length does not fit in
// an int on 32-bit platforms, from memory and from a stream: the block is
// beyond the limit, skipped with nothing plausible after it, the same both
// ways, never a panic.
func TestReadHugePcapNGBlock(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
	require.NoError(t, err)
	require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 4, Length: 4}, []byte{1, 2, 3, 4}))
	require.NoError(t, w.Flush())
	at := int64(buf.Len())
	file := binary.LittleEndian.AppendUint32(bytes.Clone(buf.Bytes()), 6)
	file = binary.LittleEndian.AppendUint32(file, 0x80000010)
	file = append(file, make([]byte, 40)...)
	sf, err := decode.NewFile("huge.pcapng", bytes.NewReader(file))
	require.NoError(t, err)
	pkts, end := readAll(t, sf)
	require.Len(t, pkts, 1)
	require.Equal(t, io.EOF, end)
	recs, n := sf.Recoveries()
	require.Equal(t, 1, n)
	assert.Equal(t, at, recs[0].Offset)
	assert.True(t, recs[0].End)
	assert.Contains(t, sf.Describe(recs[0]), "length 2147483664 is longer than the 393248-byte limit")
	requireSameFromMemory(t, "huge.pcapng", file, pkts, end)
}

// TestReadPcapNGAsPcapgo reads every pcapng file of the corpus, and files
// with other time stamp resolutions and offsets, with File and with pcapgo
// alone: File reads plain enhanced packet blocks itself, and must return the
// same packets, times, lengths and interfaces.
func TestReadPcapNGAsPcapgo(t *testing.T) {
	files := map[string][]byte{}
	for _, path := range corpusFiles(t) {
		if strings.HasSuffix(path, ".pcapng") {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			files[filepath.Base(path)] = b
		}
	}
	for _, tc := range []struct {
		res    pcapgo.NgResolution
		offset uint64
	}{{6, 0}, {9, 0}, {3, 0}, {0, 0}, {6, 1700000000}, {0x80 | 20, 0}, {10, 0}} {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, TimestampResolution: tc.res, TimestampOffset: tc.offset}, pcapgo.NgWriterOptions{})
		require.NoError(t, err)
		for i := range 5 {
			ts := time.Unix(1_600_000_000+int64(i), int64(i)*123_456_789)
			require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: 3 + i, Length: 60}, bytes.Repeat([]byte{byte(i)}, 3+i)))
		}
		require.NoError(t, w.Flush())
		files[fmt.Sprintf("res%#x-offset%d", uint8(tc.res), tc.offset)] = buf.Bytes()
	}
	for name, file := range files {
		ng, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			continue
		}
		var want []packet
		for {
			data, ci, err := ng.ReadPacketData()
			if err != nil {
				break
			}
			m := decode.Meta{TS: ci.Timestamp.UnixNano(), WireLen: ci.Length, Iface: ci.InterfaceIndex}
			if ci.Timestamp.IsZero() {
				m.TS = 0
			}
			if i, err := ng.Interface(ci.InterfaceIndex); err == nil {
				m.Link = decode.LinkType(i.LinkType)
			}
			want = append(want, packet{data, m})
		}
		if strings.HasPrefix(name, "res") {
			require.Len(t, want, 5, name)
		}
		for _, open := range []func() (*decode.File, error){
			func() (*decode.File, error) { return decode.NewFile(name, bytes.NewReader(file)) },
			func() (*decode.File, error) { return decode.NewFileBytes(name, file) },
		} {
			f, err := open()
			require.NoError(t, err, name)
			got, _ := readAll(t, f)
			require.Equal(t, want, got, name)
		}
	}
}

// TestReadTruncatedPcapNG cuts pcapng files at every byte after the section
// header. A cut inside a block is a truncation error at the offset where
// that block starts.
func TestReadTruncatedPcapNG(t *testing.T) {
	for _, name := range []string{"zeek__pcapng-multi-interface.pcapng", "gopacket__test102.pcapng"} {
		t.Run(name, func(t *testing.T) {
			file, err := os.ReadFile(corpusFile(t, name))
			require.NoError(t, err)
			blocks := pcapngLayout(t, file)
			require.Equal(t, uint32(0x0a0d0d0a), blocks[0].typ)
			for cut := 0; cut < len(file); cut++ {
				path := fmt.Sprintf("%s@%d", name, cut)
				cf, err := decode.NewFile(path, bytes.NewReader(file[:cut]))
				if cut < int(blocks[0].end) {
					requireOneLine(t, err, path)
					continue
				}
				require.NoError(t, err, "cut at %d", cut)
				pkts, err := readAll(t, cf)
				requireSameFromMemory(t, path, file[:cut], pkts, err)
				var (
					want     int
					cutAt    int64
					boundary bool
				)
				for _, b := range blocks {
					if b.end > int64(cut) {
						cutAt = b.off
						break
					}
					if b.isPacket() {
						at := b.off + 28 // after the enhanced or obsolete packet block's fields
						if b.typ == 3 {
							at = b.off + 12 // simple packet block
						}
						require.Greater(t, len(pkts), want, "cut at %d", cut)
						require.Equal(t, file[at:at+int64(len(pkts[want].data))], pkts[want].data, "cut at %d, packet %d", cut, want)
						want++
					}
					boundary = b.end == int64(cut)
				}
				require.Len(t, pkts, want, "cut at %d", cut)
				if boundary {
					require.Equal(t, io.EOF, err, "cut between blocks at %d", cut)
					continue
				}
				var re *decode.ReadError
				require.ErrorAs(t, err, &re, "cut at %d", cut)
				require.True(t, re.Truncated, "cut at %d: %v", cut, err)
				require.Equal(t, cutAt, re.Offset, "cut at %d", cut)
				requireOneLine(t, err, path)
			}
		})
	}
}

// TestReadNotCapture checks the one-line error for files that are not
// captures, or cannot be read at all.
func TestReadNotCapture(t *testing.T) {
	dir := t.TempDir()
	rnd := make([]byte, 4096)
	src := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(src.Uint32())
	}
	var gzText bytes.Buffer
	zw := gzip.NewWriter(&gzText)
	zw.Write([]byte("just some text, compressed\n"))
	zw.Close()
	for _, tc := range []struct {
		name       string
		data       []byte
		notCapture bool
		contains   string
	}{
		{"empty.pcap", nil, true, "file has 0 bytes"},
		{"three.pcap", []byte("abc"), true, "file has 3 bytes"},
		{"readme.pcap", []byte("hoptrace captures\nsecond line\n"), true, "68 6f 70 74"},
		{"trace.json", []byte(`{"ts": 1}`), true, ""},
		{"a.out", append([]byte{0x7f, 'E', 'L', 'F'}, make([]byte, 60)...), true, "7f 45 4c 46"},
		{"random.pcapng", rnd, true, ""},
		{"text.pcap.gz", gzText.Bytes(), true, ""},
		{"bad.gz", []byte{0x1f, 0x8b, 8}, false, "gzip"},
		{"header-cut.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}, false, "bad pcap header"},
		{"v1.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}, false, "bad pcap header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(path, tc.data, 0o644))
			_, err := decode.Open(path)
			requireOneLine(t, err, path)
			assert.Equal(t, tc.notCapture, errors.Is(err, decode.ErrNotCapture), "%v", err)
			assert.Contains(t, err.Error(), tc.contains)
		})
	}
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(dir, "no-such.pcap")
		_, err := decode.Open(path)
		requireOneLine(t, err, path)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("directory", func(t *testing.T) {
		_, err := decode.Open(dir)
		requireOneLine(t, err, dir)
		assert.NotErrorIs(t, err, decode.ErrNotCapture)
	})
}

// TestReadBroken reads the corpus files that are broken on purpose. Each
// either fails to open with a one-line error or returns what precedes the
// damage and then a *ReadError.
func TestReadBroken(t *testing.T) {
	for _, tc := range []struct {
		file string
		// openErr is a substring of the open error; empty when the file opens.
		openErr string
		packets int
		// readErr is a substring of the error after the packets; empty for a
		// clean end.
		readErr string
		offset  int64
		ifaces  int // interfaces known at the end; checked when not 0
		// recovered is the end of the one recovery's description, at
		// offset; empty when there is none.
		recovered string
		why       string
	}{
		{file: "libpcap__pcap-invalid-version-1.pcap", openErr: "bad pcap header: Unknown major version 1"},
		{file: "libpcap__pcapng-invalid-vers-1.pcapng", openErr: "bad pcapng header: Unknown pcapng Version"},
		{file: "libpcap__shb-option-too-long.pcapng", openErr: "bad pcapng header: section header: option 12336 of 12336 bytes runs past the end of the block"},
		{file: "libpcap__linktype-reserved-field-not-zero.pcap", openErr: "reserved"},
		{file: "pcap-parser__modified-format.pcap", openErr: "editcap -F pcap"},
		{
			file: "gopacket__test901.pcapng", packets: 1, readErr: "Unknown pcapng Version", offset: 480,
			why: "the second section header (at 480) has version 2.0; tshark also reads 1 packet",
		},
		{
			file: "suricata-verify__bug-6875-01__fuzz.pcap", packets: 1, offset: 228,
			recovered: "record of 1409179648 bytes is longer than the 262144-byte limit (snap length 65535; --max-record-size raises the limit); nothing plausible follows: skipped the last 157 bytes",
			why: "the second record claims 1409179648 bytes; tcpdump stops there (invalid packet capture length); " +
				"tshark shows a second packet only because its format heuristics take the damaged record for another pcap variant",
		},
		{file: "tcpdump__empty.pcap", ifaces: 1},
		{file: "tcpdump__empty.pcapng", ifaces: 1, why: "one interface, no packet"},
		{file: "zeek__trunc-hdr.pcap", packets: 1, why: "caplen above snaplen 1 is accepted, as libpcap does"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := corpusFile(t, tc.file)
			before := hashFile(t, path)
			defer func() { assert.Equal(t, before, hashFile(t, path), "input modified") }()
			f, err := decode.Open(path)
			if tc.openErr != "" {
				requireOneLine(t, err, path)
				assert.Contains(t, err.Error(), tc.openErr)
				return
			}
			require.NoError(t, err)
			defer f.Close()
			pkts, err := readAll(t, f)
			assert.Len(t, pkts, tc.packets, tc.why)
			if tc.ifaces != 0 {
				assert.Len(t, f.Interfaces(), tc.ifaces, tc.why)
			}
			recs, n := f.Recoveries()
			if tc.recovered != "" {
				require.Equal(t, 1, n)
				assert.Equal(t, tc.offset, recs[0].Offset)
				assert.True(t, strings.HasSuffix(f.Describe(recs[0]), tc.recovered), f.Describe(recs[0]))
			} else {
				assert.Zero(t, n, recs)
			}
			if tc.readErr == "" {
				assert.Equal(t, io.EOF, err)
				return
			}
			var re *decode.ReadError
			require.ErrorAs(t, err, &re)
			requireOneLine(t, err, path)
			assert.Contains(t, err.Error(), tc.readErr)
			assert.Equal(t, tc.offset, re.Offset, tc.why)
			assert.False(t, re.Truncated)
		})
	}
}

// TestReadPoints checks capture point names and the time of a packet that
// has none.
func TestReadPoints(t *testing.T) {
	d := decode.NewDecoder()
	points := func(t *testing.T, path string) ([]string, []packet) {
		t.Helper()
		f, err := decode.Open(path)
		require.NoError(t, err)
		defer f.Close()
		pkts, err := readAll(t, f)
		require.Equal(t, io.EOF, err)
		var names []string
		var r decode.Record
		for _, p := range pkts {
			d.Decode(&r, p.data, p.m)
			names = append(names, f.Point(&r))
		}
		return names, pkts
	}

	// The third interface's name holds CR LF: escaped, so that it cannot
	// break a line of output. The third packet is a simple packet block,
	// which has no time stamp.
	names, pkts := points(t, corpusFile(t, "gopacket__test102.pcapng"))
	assert.Equal(t, []string{"eth0", `silly!\r\nethernet interface 2`, "eth0", "eth0", "null1"}, names)
	assert.Equal(t, int64(0), pkts[2].m.TS)
	assert.Equal(t, time.Date(2012, 6, 29, 7, 28, 25, 298858000, time.UTC).UnixNano(), pkts[0].m.TS)

	names, _ = points(t, corpusFile(t, "tcpdump__vxlan.pcap"))
	assert.Equal(t, "tcpdump__vxlan", names[0])

	// tcpdump -i any: one point per interface index.
	names, _ = points(t, corpusFile(t, "pcapplusplus__sll2.pcap"))
	for _, n := range names {
		assert.Regexp(t, `^pcapplusplus__sll2:if[0-9]+$`, n)
	}

	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "a\x00b\xffc", LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
	require.NoError(t, err)
	_, err = w.AddInterface(pcapgo.NgInterface{Name: `\Device\NPF_{5AE6}`, LinkType: layers.LinkTypeEthernet})
	require.NoError(t, err)
	for i := range 2 {
		require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 1, Length: 1, InterfaceIndex: i}, []byte{0}))
	}
	require.NoError(t, w.Flush())
	path := filepath.Join(t.TempDir(), "names.pcapng")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	names, _ = points(t, path)
	assert.Equal(t, []string{`a\x00b\xffc`, `\Device\NPF_{5AE6}`}, names)
}

// TestReadPcapNGSections reads a pcapng file of two sections: the second
// section's interfaces reuse the first's indices with other link types
// and names.
func TestReadPcapNGSections(t *testing.T) {
	section := func(ifaces ...pcapgo.NgInterface) []byte {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, ifaces[0], pcapgo.NgWriterOptions{})
		require.NoError(t, err)
		for _, ni := range ifaces[1:] {
			_, err := w.AddInterface(ni)
			require.NoError(t, err)
		}
		for i := range ifaces {
			require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 1, Length: 1, InterfaceIndex: i}, []byte{byte(i)}))
		}
		require.NoError(t, w.Flush())
		return buf.Bytes()
	}
	file := append(section(pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}),
		section(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw}, pcapgo.NgInterface{Name: "lo", LinkType: layers.LinkTypeNull})...)
	path := filepath.Join(t.TempDir(), "sections.pcapng")
	require.NoError(t, os.WriteFile(path, file, 0o644))

	f, err := decode.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var (
		d     = decode.NewDecoder()
		r     decode.Record
		links []decode.LinkType
		names []string
	)
	for {
		data, m, err := f.Next()
		if err != nil {
			require.Equal(t, io.EOF, err)
			break
		}
		d.Decode(&r, data, m)
		links = append(links, m.Link)
		names = append(names, f.Point(&r))
	}
	assert.Equal(t, []decode.LinkType{decode.LinkEthernet, decode.LinkRaw, decode.LinkNull}, links)
	assert.Equal(t, []string{"sections", "tun0", "lo"}, names)
	assert.Equal(t, []decode.Interface{{Name: "tun0", Link: decode.LinkRaw}, {Name: "lo", Link: decode.LinkNull}}, f.Interfaces())
}
