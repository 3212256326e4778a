package decode

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// Speed and allocation checks for the per-packet path. The speed targets are
// checked with the benchmarks (and bench/run.sh against tshark), never with
// timed tests; the tests here assert only that the hot path does not
// allocate.
//
//	go test -run '^$' -bench . -benchmem ./decode

// benchFrame is one frame of a kind the benchmarks decode.
type benchFrame struct {
	name  string
	link  LinkType
	frame []byte
}

// benchFrames returns one full-sized TCP data segment per encapsulation,
// built with gopacket's serializers so that they are independent of the
// decoder under test.
func benchFrames(tb testing.TB) []benchFrame {
	tb.Helper()
	seg := func() *layers.TCP {
		return &layers.TCP{SrcPort: 41000, DstPort: 5201, Seq: 1_000_001, Ack: 3_000_000_001, ACK: true, PSH: true, Window: 502,
			Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0, 1, 0x86, 0xa0, 0, 0x6c, 0x55, 0x60}},
			}}
	}
	return []benchFrame{
		{"ethernet-ipv4-tcp", LinkEthernet, benchSerialize(tb,
			benchEth(layers.EthernetTypeIPv4),
			benchIPv4("10.244.0.5", "10.244.1.5", layers.IPProtocolTCP, true),
			seg(), gopacket.Payload(make([]byte, 1448)))},
		{"vxlan-ipv4-tcp", LinkEthernet, benchVXLANSegment(tb, 56640, seg(), 1398)},
		{"ipip-ipv4-tcp", LinkEthernet, benchSerialize(tb,
			benchEth(layers.EthernetTypeIPv4),
			benchIPv4("192.168.1.10", "192.168.1.11", layers.IPProtocolIPv4, false),
			benchIPv4("10.244.0.5", "10.244.1.5", layers.IPProtocolTCP, true),
			seg(), gopacket.Payload(make([]byte, 1428)))},
		{"ethernet-ipv6-tcp", LinkEthernet, benchSerialize(tb,
			benchEth(layers.EthernetTypeIPv6),
			&layers.IPv6{Version: 6, NextHeader: layers.IPProtocolTCP, HopLimit: 64,
				SrcIP: net.ParseIP("fd00:10:244::5"), DstIP: net.ParseIP("fd00:10:244:1::5")},
			seg(), gopacket.Payload(make([]byte, 1428)))},
		{"sll2-ipv4-tcp", LinkSLL2, append(benchSLL2(0x0800, 7, 4), benchSerialize(tb,
			benchIPv4("10.244.0.5", "10.244.1.5", layers.IPProtocolTCP, true),
			seg(), gopacket.Payload(make([]byte, 1448)))...)},
	}
}

// benchVXLANSegment returns a flannel VXLAN frame as node eth0 sees it,
// carrying tcp and payload bytes of data.
func benchVXLANSegment(tb testing.TB, outerSport uint16, tcp *layers.TCP, payload int) []byte {
	tb.Helper()
	udp := &layers.UDP{SrcPort: layers.UDPPort(outerSport), DstPort: PortVXLANFlannel}
	outer := benchIPv4("192.168.1.10", "192.168.1.11", layers.IPProtocolUDP, false)
	if err := udp.SetNetworkLayerForChecksum(outer); err != nil {
		tb.Fatal(err)
	}
	return benchSerialize(tb,
		benchEth(layers.EthernetTypeIPv4), outer, udp,
		&layers.VXLAN{ValidIDFlag: true, VNI: 1},
		benchEth(layers.EthernetTypeIPv4),
		benchIPv4("10.244.0.5", "10.244.1.5", layers.IPProtocolTCP, true),
		tcp, gopacket.Payload(make([]byte, payload)))
}

func benchEth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x52, 0x54, 0, 0, 1, 0x0a},
		DstMAC:       net.HardwareAddr{0x52, 0x54, 0, 0, 1, 0x0b},
		EthernetType: et,
	}
}

func benchIPv4(src, dst string, proto layers.IPProtocol, df bool) *layers.IPv4 {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	if df {
		ip.Flags = layers.IPv4DontFragment
	}
	return ip
}

// benchSLL2 returns a Linux cooked v2 header (tcpdump -i any).
func benchSLL2(proto uint16, ifindex uint32, pkttype uint8) []byte {
	h := frametest.SLL2(proto, ifindex, pkttype, nil)
	copy(h[12:], []byte{0x52, 0x54, 0, 0, 1, 0x0a}) // benchEth's source address
	return h
}

// benchSerialize serializes ls with lengths and checksums filled in. The TCP
// checksum covers the last IP header before it.
func benchSerialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	var nl gopacket.NetworkLayer
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.IPv4:
			nl = l
		case *layers.IPv6:
			nl = l
		case *layers.TCP:
			if err := l.SetNetworkLayerForChecksum(nl); err != nil {
				tb.Fatal(err)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// benchCapture is a capture file split into its header and its packet
// records, so that a reader can loop over the records forever.
type benchCapture struct {
	head, body []byte
	packets    int
}

// newBenchCapture writes a VXLAN TCP bulk transfer like bench/gencap's:
// two full data segments, then an ACK in the other direction. snap > 0 cuts
// each frame to snap bytes, keeping the wire length.
func newBenchCapture(tb testing.TB, format Format, snap int) *benchCapture {
	tb.Helper()
	const packets = 3 * 4096
	tsOpts := []layers.TCPOption{
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0, 1, 0x86, 0xa0, 0, 0x6c, 0x55, 0x60}},
	}
	data := func(seq uint32) []byte {
		return benchVXLANSegment(tb, 56640, &layers.TCP{SrcPort: 41000, DstPort: 5201, Seq: seq, Ack: 1, ACK: true, PSH: true, Window: 502, Options: tsOpts}, 1398)
	}
	ack := func(ack uint32) []byte {
		return benchVXLANSegment(tb, 38211, &layers.TCP{SrcPort: 5201, DstPort: 41000, Seq: 1, Ack: ack, ACK: true, Window: 502, Options: tsOpts}, 0)
	}
	var (
		out  bytes.Buffer
		head int
		ng   *pcapgo.NgWriter
		pw   *pcapgo.Writer
		err  error
	)
	switch format {
	case FormatPcap:
		pw = pcapgo.NewWriterNanos(&out)
		err = pw.WriteFileHeader(262144, layers.LinkTypeEthernet)
	case FormatPcapNG:
		intf := pcapgo.DefaultNgInterface
		intf.Name, intf.LinkType = "eth0", layers.LinkTypeEthernet
		ng, err = pcapgo.NewNgWriterInterface(&out, intf, pcapgo.DefaultNgWriterOptions)
		if err == nil {
			err = ng.Flush()
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	head = out.Len()
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seq := uint32(1)
	for i := range packets {
		var frame []byte
		if i%3 == 2 {
			frame = ack(seq)
		} else {
			frame = data(seq)
			seq += 1398
		}
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}
		if snap > 0 && ci.CaptureLength > snap {
			ci.CaptureLength = snap
		}
		if ng != nil {
			err = ng.WritePacket(ci, frame[:ci.CaptureLength])
		} else {
			err = pw.WritePacket(ci, frame[:ci.CaptureLength])
		}
		if err != nil {
			tb.Fatal(err)
		}
		ts = ts.Add(1227 * time.Nanosecond)
	}
	if ng != nil {
		if err := ng.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	b := out.Bytes()
	return &benchCapture{head: b[:head], body: b[head:], packets: packets}
}

// open returns a File that reads the capture's packets over and over.
func (c *benchCapture) open(tb testing.TB) *File {
	tb.Helper()
	f, err := NewFile("bench", &loopReader{head: c.head, body: c.body})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// loopReader reads head, then body over and over.
type loopReader struct {
	head, body []byte
	off        int
	started    bool
}

func (l *loopReader) Read(p []byte) (int, error) {
	if !l.started {
		n := copy(p, l.head[l.off:])
		if l.off += n; l.off == len(l.head) {
			l.started, l.off = true, 0
		}
		return n, nil
	}
	n := copy(p, l.body[l.off:])
	if l.off += n; l.off == len(l.body) {
		l.off = 0
	}
	return n, nil
}

func BenchmarkDecode(b *testing.B) {
	d := NewDecoder()
	for _, fr := range benchFrames(b) {
		b.Run(fr.name, func(b *testing.B) {
			var r Record
			m := Meta{WireLen: len(fr.frame), Link: fr.link}
			b.ReportAllocs()
			b.SetBytes(int64(len(fr.frame)))
			for b.Loop() {
				d.Decode(&r, fr.frame, m)
			}
			if r.NProblem > 0 || r.L4.Proto != ProtoTCP {
				b.Fatalf("decoded %+v", r)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkReadDecode reads and decodes a VXLAN TCP bulk capture held in
// memory, one packet per op, the way hoptrace decode does.
func BenchmarkReadDecode(b *testing.B) {
	// From a file in the page cache, as hoptrace reads captures: Open maps
	// it. The file holds the capture many times over; it is opened again at
	// its end.
	for _, format := range []Format{FormatPcap, FormatPcapNG} {
		b.Run(format.String()+"-file", func(b *testing.B) {
			c := newBenchCapture(b, format, 0)
			const copies = 32
			path := filepath.Join(b.TempDir(), "bench."+format.String())
			file := append(bytes.Clone(c.head), bytes.Repeat(c.body, copies)...)
			if err := os.WriteFile(path, file, 0o644); err != nil {
				b.Fatal(err)
			}
			d := NewDecoder()
			var r Record
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body) / c.packets))
			for b.Loop() {
				data, m, err := f.Next()
				if err == io.EOF {
					f.Close()
					if f, err = Open(path); err == nil {
						data, m, err = f.Next()
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				d.Decode(&r, data, m)
			}
			f.Close()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
	for _, bc := range []struct {
		name   string
		format Format
		snap   int
	}{
		{"pcap", FormatPcap, 0},
		{"pcapng", FormatPcapNG, 0},
		{"pcap-snap128", FormatPcap, 128},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newBenchCapture(b, bc.format, bc.snap)
			f := c.open(b)
			d := NewDecoder()
			var r Record
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body) / c.packets)) // file bytes per packet
			for b.Loop() {
				data, m, err := f.Next()
				if err != nil {
					b.Fatal(err)
				}
				d.Decode(&r, data, m)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func TestDecodeAllocs(t *testing.T) {
	d := NewDecoder()
	var r Record
	for _, fr := range benchFrames(t) {
		m := Meta{WireLen: len(fr.frame), Link: fr.link}
		d.Decode(&r, fr.frame, m)
		if r.NProblem > 0 || r.L4.Proto != ProtoTCP {
			t.Fatalf("%s: decoded %+v", fr.name, r)
		}
		if n := testing.AllocsPerRun(1000, func() { d.Decode(&r, fr.frame, m) }); n != 0 {
			t.Errorf("%s: Decode makes %v allocations per packet, want 0", fr.name, n)
		}
	}
}

// TestReadDecodeAllocs checks the steady state of hoptrace decode's loop:
// once the reader's buffers have grown, reading, decoding and naming the
// capture point of a packet allocate nothing.
func TestReadDecodeAllocs(t *testing.T) {
	for _, format := range []Format{FormatPcap, FormatPcapNG} {
		c := newBenchCapture(t, format, 0)
		f := c.open(t)
		d := NewDecoder()
		var (
			r   Record
			err error
		)
		step := func() {
			var (
				data []byte
				m    Meta
			)
			if data, m, err = f.Next(); err != nil {
				return
			}
			d.Decode(&r, data, m)
			_ = f.Point(&r)
		}
		for range 10 { // warm up: first packet buffers, the capture point name
			step()
		}
		// Several passes over the capture, so the loop wraps too.
		n := testing.AllocsPerRun(3*c.packets, step)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if r.NTunnel != 1 || r.L4.Proto != ProtoTCP {
			t.Fatalf("%s: decoded %+v", format, r)
		}
		if n != 0 {
			t.Errorf("%s: Next+Decode makes %v allocations per packet, want 0", format, n)
		}
	}
}
