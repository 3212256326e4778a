package decode_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/internal/frametest"
)

// fuzzing reports whether the test binary runs a fuzzer (as opposed to
// replaying the seeds and testdata/fuzz as ordinary tests).
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// watchdog turns a hang into a crash, which the fuzzer records with its
// input: go test -fuzz has no time limit per input. Call the function it
// returns when done.
func watchdog(name string) (stop func()) {
	t := time.AfterFunc(time.Minute, func() { panic(name + ": no result after a minute") })
	return func() { t.Stop() }
}

// handFrames are frames the corpus lacks: bare and broken headers of every
// link type, and tunnels nested past the decoder's limits.
func handFrames() []struct {
	link  decode.LinkType
	frame []byte
} {
	// Ethernet headers here have zero addresses, as these frames always had.
	eth := func(et uint16, payload []byte) []byte {
		b := frametest.Eth(et, payload)
		clear(b[:12])
		return b
	}
	ipv4 := func(proto byte, payload []byte) []byte {
		return frametest.IP4("10.0.0.1", "10.0.0.2", proto, payload, frametest.IP4Opt{TTL: 64, ID: 1, DF: true})
	}
	ipv6 := func(next byte, payload []byte) []byte { return frametest.IP6("::1", "::2", next, payload) }
	udp := frametest.UDP
	tcpSYN := frametest.TCP(12345, 80, decode.TCPSyn, 1, 0, 1460, 0)
	tcpSYN[14], tcpSYN[15] = 0xff, 0xff // window 65535
	vxlan := func(inner []byte) []byte {
		return udp(12345, decode.PortVXLAN, frametest.VXLAN(42, eth(0x0800, inner)))
	}
	// Six IPIP headers: one more than the decoder keeps tunnels for.
	deep := ipv4(decode.ProtoTCP, tcpSYN)
	for range decode.MaxIPDepth {
		deep = ipv4(decode.ProtoIPIP, deep)
	}
	// VXLAN in VXLAN in VXLAN.
	vv := ipv4(decode.ProtoTCP, tcpSYN)
	for range 3 {
		vv = ipv4(decode.ProtoUDP, vxlan(vv))
	}
	// VXLAN whose inner Ethernet header carries more VLAN tags than fit in
	// a Tunnel's 16-bit Overhead; outer IPv4 and UDP lengths 0 (offload).
	tags := make([]byte, 12, 12+4*16400+22)
	for range 16400 {
		tags = append(tags, 0x81, 0x00, 0, 1)
	}
	tags = append(append(tags, 0x08, 0x00), ipv4(decode.ProtoTCP, tcpSYN)...)
	tagStack := ipv4(decode.ProtoUDP, udp(12345, decode.PortVXLAN, frametest.VXLAN(42, tags)))
	tagStack[2], tagStack[3] = 0, 0   // IPv4 total length
	tagStack[24], tagStack[25] = 0, 0 // UDP length
	gre := ipv4(decode.ProtoGRE, frametest.GREKey(0x0800, 7, ipv4(decode.ProtoICMP, frametest.ICMP(3, 4, 1500, nil))))
	sll2 := frametest.SLL2(0x0800, 3, 4, ipv4(decode.ProtoUDP, udp(1, 53, nil)))
	return []struct {
		link  decode.LinkType
		frame []byte
	}{
		{decode.LinkEthernet, nil},
		{decode.LinkEthernet, eth(0x8100, frametest.VLAN(5, 0x88a8, frametest.VLAN(6, 0x0800, nil)))},
		{decode.LinkEthernet, eth(0x0800, deep)},
		{decode.LinkEthernet, eth(0x0800, vv)},
		{decode.LinkEthernet, eth(0x86dd, ipv6(decode.ProtoIPv6, ipv6(0, []byte{decode.ProtoTCP, 0, 0, 0, 0, 0, 0, 0})))},
		{decode.LinkRaw, gre},
		{decode.LinkRaw, tagStack},
		{decode.LinkRaw, []byte{0x45}},
		{decode.LinkIPv6, ipv6(44, frametest.IP6Frag(decode.ProtoUDP, 8, true, 1, nil))},
		{decode.LinkSLL2, sll2},
		{decode.LinkLinuxSLL, make([]byte, 16)},
		{decode.LinkNull, append([]byte{2, 0, 0, 0}, ipv4(decode.ProtoICMP, nil)...)},
		{decode.LinkLoop, append([]byte{0, 0, 0, 24}, ipv6(decode.ProtoICMPv6, frametest.ICMP(2, 0, 1280, nil))...)},
		{decode.LinkType(147), []byte{1, 2, 3}},
	}
}

// TestDecodeOverEarlierRecord decodes every hand-made frame, whole and cut
// in half, over the record of every other: Decode clears only what the
// earlier packet used, and the result must equal decoding into a zero
// record.
func TestDecodeOverEarlierRecord(t *testing.T) {
	type input struct {
		frame []byte
		m     decode.Meta
	}
	var inputs []input
	for _, h := range handFrames() {
		inputs = append(inputs,
			input{h.frame, decode.Meta{TS: 1, WireLen: len(h.frame), Link: h.link}},
			input{h.frame[:len(h.frame)/2], decode.Meta{TS: 2, WireLen: len(h.frame), Link: h.link}},
			input{h.frame[:len(h.frame)/2], decode.Meta{TS: 3, WireLen: len(h.frame) / 2, Link: h.link}})
	}
	d := decode.NewDecoder()
	for i, a := range inputs {
		for j, b := range inputs {
			var want, got decode.Record
			d.Decode(&want, b.frame, b.m)
			d.Decode(&got, a.frame, a.m)
			d.Decode(&got, b.frame, b.m)
			if got != want {
				t.Fatalf("input %d over input %d:\ngot  %+v\nwant %+v", j, i, got, want)
			}
		}
	}
}

// addDecodeSeeds seeds FuzzDecode with hand-made frames and with packets of
// every corpus file (the first few of each, to keep seeding quick).
func addDecodeSeeds(f *testing.F) {
	for _, h := range handFrames() {
		f.Add(h.frame, uint16(h.link), uint16(0))
		f.Add(h.frame, uint16(h.link), uint16(100)) // as if snapped
	}
	const perFile = 16
	for _, path := range corpusFiles(f) {
		cf, err := decode.Open(path)
		if err != nil {
			continue
		}
		for range perFile {
			data, m, err := cf.Next()
			if err != nil {
				break
			}
			extra := uint16(0)
			if d := m.WireLen - len(data); d > 0 {
				extra = uint16(min(d, 0xffff))
			}
			f.Add(bytes.Clone(data), uint16(m.Link), extra)
		}
		cf.Close()
	}
}

// FuzzDecode feeds arbitrary frames to the decoder: it must not panic, must
// not allocate and must leave a record whose indices and offsets agree.
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	d := decode.NewDecoder(4790)
	checkAllocs := !fuzzing()
	// A record full of an earlier packet: Decode must overwrite all of it.
	var dirty decode.Record
	for _, h := range handFrames() {
		if dirty.NIP < 3 {
			d.Decode(&dirty, h.frame, decode.Meta{TS: 9, WireLen: len(h.frame) + 9, Iface: 3, Link: h.link})
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte, link uint16, extra uint16) {
		defer watchdog("FuzzDecode")()
		m := decode.Meta{TS: 1, WireLen: len(frame) + int(extra), Iface: 0, Link: decode.LinkType(link)}
		var r decode.Record
		d.Decode(&r, frame, m)
		checkRecord(t, &r, frame, m)
		again := dirty
		d.Decode(&again, frame, m)
		if again != r {
			t.Fatalf("decoding over an earlier record gives %+v, over an empty one %+v", again, r)
		}
		// The fast path must decode as the general decoder does.
		general := dirty
		d.DecodeGeneral(&general, frame, m)
		if general != r {
			t.Fatalf("Decode gives %+v, the general decoder alone %+v", r, general)
		}
		checkClassify(t, d, frame, m, &r) // what decode --stats counts
		checkCountFrame(t, d, frame, m)
		if extra == 0 && r.NProblem == 0 {
			checkSnapped(t, d, &r, frame, m)
		}
		if checkAllocs {
			if n := testing.AllocsPerRun(3, func() { d.Decode(&r, frame, m) }); n != 0 {
				t.Errorf("Decode allocates %v times per call", n)
			}
		}
	})
}

// checkSnapped cuts a well-formed frame, whose record is full, as a snap
// length would: each cut is decoded as far as it goes, with no problem,
// and finds the same headers as the whole frame up to the cut.
func checkSnapped(t *testing.T, d *decode.Decoder, full *decode.Record, frame []byte, m decode.Meta) {
	t.Helper()
	var r decode.Record
	for _, k := range []int{len(frame) / 4, len(frame) / 2, len(frame) * 3 / 4, len(frame) - 1} {
		if k < 0 || k >= len(frame) {
			continue
		}
		d.Decode(&r, frame[:k], m)
		checkRecord(t, &r, frame[:k], m)
		if r.NProblem != 0 {
			t.Fatalf("cut at %d of %d: %v, whole: no problem", k, len(frame), r.Problems[:r.NProblem])
		}
		if r.NIP > full.NIP || r.NTunnel > full.NTunnel {
			t.Fatalf("cut at %d of %d: %d IP headers and %d tunnels, whole: %d and %d", k, len(frame), r.NIP, r.NTunnel, full.NIP, full.NTunnel)
		}
		for i := range r.NIP {
			a, b := &r.IP[i], &full.IP[i]
			if a.Src != b.Src || a.Dst != b.Dst || a.Offset != b.Offset || a.TotalLen != b.TotalLen {
				t.Fatalf("cut at %d of %d: IP[%d] %v > %v at %d len %d, whole: %v > %v at %d len %d",
					k, len(frame), i, a.Src, a.Dst, a.Offset, a.TotalLen, b.Src, b.Dst, b.Offset, b.TotalLen)
			}
		}
		for i := range r.NTunnel {
			if a, b := r.Tunnels[i], full.Tunnels[i]; a.Type != b.Type || a.Outer != b.Outer {
				t.Fatalf("cut at %d of %d: tunnel %d is %v over IP[%d], whole: %v over IP[%d]", k, len(frame), i, a.Type, a.Outer, b.Type, b.Outer)
			}
		}
	}
}

// checkRecord checks what must hold for the record of any frame.
func checkRecord(t *testing.T, r *decode.Record, frame []byte, m decode.Meta) {
	t.Helper()
	if r.CapLen != len(frame) || r.WireLen != m.WireLen || r.TS != m.TS || r.Link.Type != m.Link {
		t.Fatalf("meta not copied: caplen %d wirelen %d ts %d link %d", r.CapLen, r.WireLen, r.TS, r.Link.Type)
	}
	if r.NIP < 0 || r.NIP > decode.MaxIPDepth {
		t.Fatalf("NIP %d outside [0,%d]", r.NIP, decode.MaxIPDepth)
	}
	if r.NTunnel < 0 || r.NTunnel > decode.MaxTunnels || r.NTunnel > r.NIP {
		t.Fatalf("NTunnel %d with NIP %d", r.NTunnel, r.NIP)
	}
	if r.NProblem < 0 || r.NProblem > decode.MaxProblems {
		t.Fatalf("NProblem %d", r.NProblem)
	}
	if r.Link.NVLAN < 0 || r.Link.NVLAN > decode.MaxVLANs {
		t.Fatalf("NVLAN %d", r.Link.NVLAN)
	}
	for i := range r.NIP {
		h := &r.IP[i]
		if h.Version != 4 && h.Version != 6 {
			t.Fatalf("IP[%d] version %d", i, h.Version)
		}
		if !h.Src.IsValid() || !h.Dst.IsValid() || h.Src.Is4() != (h.Version == 4) || h.Dst.Is4() != (h.Version == 4) {
			t.Fatalf("IP[%d] v%d addresses %v > %v", i, h.Version, h.Src, h.Dst)
		}
		minHdr := 20
		if h.Version == 6 {
			minHdr = 40
		}
		if int(h.HdrLen) < minHdr || int(h.Offset)+minHdr > len(frame) {
			t.Fatalf("IP[%d] offset %d hdrlen %d in a %d byte frame", i, h.Offset, h.HdrLen, len(frame))
		}
		if i > 0 && h.Offset <= r.IP[i-1].Offset {
			t.Fatalf("IP[%d] offset %d not after IP[%d] offset %d", i, h.Offset, i-1, r.IP[i-1].Offset)
		}
	}
	for k := range r.NTunnel {
		tu := &r.Tunnels[k]
		if tu.Type == decode.TunnelNone || tu.Type.String() == "unknown" {
			t.Fatalf("tunnel %d has type %d", k, tu.Type)
		}
		if tu.Outer < 0 || tu.Outer >= r.NIP {
			t.Fatalf("tunnel %d outer %d with NIP %d", k, tu.Outer, r.NIP)
		}
		if k > 0 && tu.Outer <= r.Tunnels[k-1].Outer {
			t.Fatalf("tunnel %d outer %d not after tunnel %d outer %d", k, tu.Outer, k-1, r.Tunnels[k-1].Outer)
		}
		if k < r.NTunnel-1 && tu.Outer+1 >= r.NIP {
			t.Fatalf("tunnel %d has no inner IP header but tunnel %d follows", k, k+1)
		}
		if tu.Outer+1 < r.NIP {
			want := int(r.IP[tu.Outer+1].Offset) - int(r.IP[tu.Outer].Offset)
			if int(tu.Overhead) != want {
				t.Fatalf("tunnel %d overhead %d, inner IP is %d bytes after outer", k, tu.Overhead, want)
			}
		}
	}
	for i := range r.NProblem {
		p := r.Problems[i]
		if p.Fault == 0 || strings.Contains(p.String(), "unknown") {
			t.Fatalf("problem %d is %q", i, p)
		}
	}
	if r.NIP == 0 && (r.L4 != decode.Transport{} || r.NTunnel != 0) {
		t.Fatalf("transport %+v or %d tunnels without an IP header", r.L4, r.NTunnel)
	}
	if p := r.L4.Proto; p != decode.ProtoICMP && p != decode.ProtoICMPv6 && r.ICMP != (decode.ICMP{}) {
		t.Fatalf("ICMP %+v with transport %d", r.ICMP, p)
	}
	if r.L4.PayloadLen < 0 {
		t.Fatalf("negative payload length %d", r.L4.PayloadLen)
	}
	if r.Snapped && m.WireLen <= len(frame) {
		t.Fatalf("snapped, but wire length %d <= captured %d", m.WireLen, len(frame))
	}
}

// addReaderSeeds seeds FuzzReader with corpus files (large ones cut short,
// which also seeds truncation), a gzip-compressed file, and tiny headers.
func addReaderSeeds(f *testing.F) {
	const maxSeed = 8 << 10
	for _, path := range corpusFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > maxSeed {
			data = data[:maxSeed]
		}
		f.Add(data)
		if strings.HasSuffix(path, "tcpdump__vxlan.pcap") || strings.HasSuffix(path, "zeek__pcapng-multi-interface.pcapng") {
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			f.Add(gz.Bytes())
			f.Add(gz.Bytes()[:gz.Len()/2])
		}
	}
	// What zstd, lz4 and bzip2 wrote (testdata/compressed), whole and cut.
	compressed, _ := filepath.Glob(filepath.Join(compressedDir, "n1-eth0*"))
	for _, path := range compressed {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	pcapHdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add(pcapHdr)
	f.Add(append(bytes.Clone(pcapHdr), 1, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0})
}

// FuzzReader feeds arbitrary files to the reader and decodes what it
// returns: no panic, no hang, only the errors the API promises, and the
// same packets and end from the file gzip-compressed.
func FuzzReader(f *testing.F) {
	addReaderSeeds(f)
	d := decode.NewDecoder()
	f.Fuzz(func(t *testing.T, file []byte) {
		defer watchdog("FuzzReader")()
		const path = "fuzz/input.pcap"
		cf, err := decode.NewFile(path, bytes.NewReader(file))
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Fatalf("open error is not one line naming the file: %q", msg)
			}
			return
		}
		plain := readFuzz(t, d, cf, file)
		if cf.Compression != decode.Uncompressed {
			return
		}
		// From memory, as Open reads a mapped file: the same.
		mf, err := decode.NewFileBytes(path, file)
		if err != nil {
			t.Fatalf("opens as a stream but not from memory: %v", err)
		}
		if mem := readFuzz(t, d, mf, file); mem.n != plain.n || mem.sum != plain.sum || !sameEnd(mem.end, plain.end) {
			t.Fatalf("stream: %d packets (digest %x), end %v; memory: %d packets (digest %x), end %v", plain.n, plain.sum, plain.end, mem.n, mem.sum, mem.end)
		}
		checkCount(t, d, path, file) // decode --stats
		if _, n := cf.Recoveries(); cf.Format == decode.FormatPcapNG && n == 0 {
			// File reads pcapng blocks itself: on a file it found no
			// damage in, what pcapgo alone reads (which stops at the
			// first damage File may find none in, such as a block whose
			// trailing length disagrees) is where File starts.
			if n, sum := readPcapgo(file, plain.sums); n > len(plain.sums) || n > 0 && sum != plain.sums[n-1] {
				t.Fatalf("pcapgo: %d packets (digest %x); File: %d packets, end %v", n, sum, plain.n, plain.end)
			}
		}
		// Stored, not compressed: the compressor's own code paths would
		// count as coverage and lead the fuzzer astray.
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
		zw.Write(file)
		zw.Close()
		stream := gz.Bytes()
		zf, err := decode.NewFile(path, bytes.NewReader(stream))
		if err != nil {
			t.Fatalf("opens plain but not gzip-compressed: %v", err)
		}
		zipped := readFuzz(t, d, zf, file)
		if plain.n != zipped.n || plain.sum != zipped.sum {
			t.Fatalf("plain: %d packets (digest %x); gzip-compressed: %d packets (digest %x)", plain.n, plain.sum, zipped.n, zipped.sum)
		}
		var pe, ze *decode.ReadError
		switch {
		case plain.end == io.EOF && zipped.end == io.EOF:
		case errors.As(plain.end, &pe) && errors.As(zipped.end, &ze):
			if pe.Offset != ze.Offset || pe.Truncated != ze.Truncated || pe.Err.Error() != ze.Err.Error() {
				t.Fatalf("plain ends with %v; gzip-compressed with %v", plain.end, zipped.end)
			}
		default:
			t.Fatalf("plain ends with %v; gzip-compressed with %v", plain.end, zipped.end)
		}
		if !reflect.DeepEqual(cf.Interfaces(), zf.Interfaces()) {
			t.Fatalf("interfaces differ: %+v, gzip-compressed %+v", cf.Interfaces(), zf.Interfaces())
		}

		// Without its 8-byte trailer the gzip stream holds every byte of
		// the file but is cut short: the same packets, then a truncation.
		cut, err := decode.NewFile(path, bytes.NewReader(stream[:len(stream)-8]))
		if err != nil {
			t.Fatalf("opens plain but not gzip-compressed without the trailer: %v", err)
		}
		short := readFuzz(t, d, cut, file)
		if plain.n != short.n || plain.sum != short.sum {
			t.Fatalf("plain: %d packets (digest %x); gzip without trailer: %d packets (digest %x)", plain.n, plain.sum, short.n, short.sum)
		}
		var se *decode.ReadError
		switch {
		case !errors.As(short.end, &se):
			t.Fatalf("gzip without trailer ends with %v", short.end)
		case plain.end == io.EOF && !se.Truncated:
			t.Fatalf("gzip without trailer ends with %v, not truncated", short.end)
		case pe != nil && (pe.Offset != se.Offset || pe.Truncated != se.Truncated):
			t.Fatalf("plain ends with %v; gzip without trailer with %v", plain.end, short.end)
		}
	})
}

// readPcapgo reads a pcapng file with pcapgo alone, as File did before it
// read packet blocks itself, and sums up its packets as readFuzz does.
func readPcapgo(file []byte, want []uint64) (n int, sum uint64) {
	h := fnv.New64a()
	ng, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return 0, h.Sum64()
	}
	for {
		data, ci, err := ng.ZeroCopyReadPacketData()
		if err != nil || n >= len(want) {
			return n, h.Sum64()
		}
		n++
		ts := ci.Timestamp.UnixNano()
		if ci.Timestamp.IsZero() {
			ts = 0
		}
		link := decode.LinkType(ci.AncillaryData[0].(layers.LinkType))
		h.Write(data)
		binary.Write(h, binary.LittleEndian, []int64{ts, int64(ci.Length), int64(ci.InterfaceIndex), int64(link), int64(len(data))})
	}
}

// sameEnd reports whether two reads ended the same way.
func sameEnd(a, b error) bool {
	var ae, be *decode.ReadError
	if errors.As(a, &ae) && errors.As(b, &be) {
		return ae.Offset == be.Offset && ae.Truncated == be.Truncated && ae.Err.Error() == be.Err.Error()
	}
	return a == b
}

// readResult sums up a read to the end of a file.
type readResult struct {
	n    int
	sum  uint64   // digest of every packet and its meta
	sums []uint64 // the digest after each packet, for the first 64
	end  error
}

// readFuzz reads cf, opened on file, to its end, checking every packet
// and the end.
func readFuzz(t *testing.T, d *decode.Decoder, cf *decode.File, file []byte) readResult {
	t.Helper()
	if cf.Format != decode.FormatPcap && cf.Format != decode.FormatPcapNG {
		t.Fatalf("opened with format %v", cf.Format)
	}
	// Every packet costs at least a 12-byte block or a 16-byte record.
	limit := len(file)/12 + 1
	if cf.Compression != decode.Uncompressed {
		limit = len(file)*1100/12 + 1 // gzip's best ratio is about 1:1000
	}
	var (
		r        decode.Record
		res      readResult
		h        = fnv.New64a()
		consumed = int64(24) // pcap: the file header, then every record
	)
	for {
		data, m, err := cf.Next()
		if err != nil {
			checkReadEnd(t, cf, err, file, consumed)
			if _, _, again := cf.Next(); again != err {
				t.Fatalf("error not sticky: %v, then %v", err, again)
			}
			res.end, res.sum = err, h.Sum64()
			return res
		}
		res.n++
		if res.n > limit {
			t.Fatalf("%d packets from a %d byte file", res.n, len(file))
		}
		consumed += 16 + int64(len(data))
		if m.WireLen < 0 || m.Iface < 0 {
			t.Fatalf("meta %+v", m)
		}
		if ifs := cf.Interfaces(); m.Iface < len(ifs) && ifs[m.Iface].Link != m.Link {
			t.Fatalf("packet on interface %d has link %d, interface says %d", m.Iface, m.Link, ifs[m.Iface].Link)
		}
		if cf.Compression == decode.Uncompressed && len(data) > len(file) {
			t.Fatalf("%d byte packet from a %d byte file", len(data), len(file))
		}
		h.Write(data)
		binary.Write(h, binary.LittleEndian, []int64{m.TS, int64(m.WireLen), int64(m.Iface), int64(m.Link), int64(len(data))})
		if len(res.sums) < 64 {
			res.sums = append(res.sums, h.Sum64())
		}
		d.Decode(&r, data, m)
		checkRecord(t, &r, data, m)
		_ = cf.Point(&r)
	}
}

// checkReadEnd checks the error that ended a read loop over file.
// consumed is where a pcap file's next record starts.
func checkReadEnd(t *testing.T, cf *decode.File, err error, file []byte, consumed int64) {
	t.Helper()
	consumed += cf.Skipped()
	if err == io.EOF {
		if cf.Format == decode.FormatPcap && cf.Compression == decode.Uncompressed && consumed != int64(len(file)) {
			t.Fatalf("clean end of a %d byte pcap file after %d bytes of records", len(file), consumed)
		}
		return
	}
	var re *decode.ReadError
	if !errors.As(err, &re) {
		t.Fatalf("Next returned %T %v, want *ReadError or io.EOF", err, err)
	}
	if re.Path != cf.Path || !strings.Contains(err.Error(), cf.Path) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("read error is not one line naming the file: %q", err)
	}
	if re.Decompressed != (cf.Compression != decode.Uncompressed) {
		t.Fatalf("Decompressed %v on a file compressed %v", re.Decompressed, cf.Compression)
	}
	if re.Offset < 0 || (cf.Compression == decode.Uncompressed && re.Offset > int64(len(file))) {
		t.Fatalf("error offset %d outside a %d byte file", re.Offset, len(file))
	}
	if cf.Format == decode.FormatPcap && re.Offset != consumed {
		t.Fatalf("pcap error at offset %d, next record starts at %d", re.Offset, consumed)
	}
	if re.Truncated && cf.Compression == decode.Uncompressed && re.Offset >= int64(len(file)) {
		t.Fatalf("truncated record at offset %d, at or past the end of a %d byte file", re.Offset, len(file))
	}
}
