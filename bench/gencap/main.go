// Command gencap writes the capture the speed benchmark reads: a TCP bulk
// transfer between two pods on different nodes of a flannel (VXLAN) cluster,
// as tcpdump -i eth0 sees it on the sending node.
//
// Every frame is Ethernet / IPv4 192.168.1.10 <-> 192.168.1.11 / UDP → 8472 /
// VXLAN VNI 1 / Ethernet / IPv4 10.244.0.5 <-> 10.244.1.5 / TCP. Four parallel
// connections (iperf3 -P 4 to port 5201) each open with a handshake, then send
// full-sized segments (1398 bytes of payload with the timestamp option, inside
// flannel's 1450-byte MTU) which the receiver acknowledges every second
// segment. As Linux does, the outer UDP source port is a hash of the inner
// flow and the outer UDP checksum is zero. Payload bytes are zero.
//
// Frames are written whole (1514 bytes for a data segment) unless -snap is
// given: reading full frames is what a real bulk capture costs. The output is
// the same for the same flags.
//
//	go run ./bench/gencap -n 1000000 -o bench/out/vxlan-bulk.pcap
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

const (
	flows      = 4
	serverPort = 5201
	mtu        = 1450 // flannel.1: 1500 minus the 50 bytes of VXLAN overhead
	mss        = mtu - 40
	tsOptLen   = 12 // NOP, NOP, timestamps
	segLen     = mss - tsOptLen
	vni        = 1
	linkBPS    = 10e9 // paces the timestamps
)

var (
	start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	nodeMAC  = [2][6]byte{{0x52, 0x54, 0x00, 0x00, 0x01, 0x0a}, {0x52, 0x54, 0x00, 0x00, 0x01, 0x0b}}
	nodeIP   = [2][4]byte{{192, 168, 1, 10}, {192, 168, 1, 11}}
	vtepMAC  = [2][6]byte{{0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x00}, {0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x00}} // flannel.1
	podIP    = [2][4]byte{{10, 244, 0, 5}, {10, 244, 1, 5}}
	outerTTL = byte(64)
	innerTTL = byte(63) // one routing hop (cni0 → flannel.1) before encapsulation
)

func main() {
	n := flag.Int("n", 1_000_000, "number of packets")
	out := flag.String("o", "", "output file (required)")
	format := flag.String("format", "pcap", "capture format: pcap or pcapng")
	snap := flag.Int("snap", 0, "snap length: keep at most this many bytes of each frame (0: whole frames)")
	flag.Parse()
	if *out == "" || *n < 1 || *snap < 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*n, *out, *format, *snap); err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
}

// packetWriter is what pcapgo's pcap and pcapng writers have in common.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

func run(n int, path, format string, snap int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	snapLen := uint32(262144)
	if snap > 0 {
		snapLen = uint32(snap)
	}
	var (
		w     packetWriter
		flush = bw.Flush
	)
	switch format {
	case "pcap":
		pw := pcapgo.NewWriterNanos(bw)
		if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
			return err
		}
		w = pw
	case "pcapng":
		intf := pcapgo.DefaultNgInterface
		intf.Name, intf.LinkType, intf.SnapLength = "eth0", layers.LinkTypeEthernet, snapLen
		opts := pcapgo.DefaultNgWriterOptions
		opts.SectionInfo.Application = "hoptrace bench/gencap"
		nw, err := pcapgo.NewNgWriterInterface(bw, intf, opts)
		if err != nil {
			return err
		}
		w = nw
		flush = func() error {
			if err := nw.Flush(); err != nil {
				return err
			}
			return bw.Flush()
		}
	default:
		return fmt.Errorf("unknown format %q (want pcap or pcapng)", format)
	}

	g := newGenerator()
	buf := make([]byte, 0, 1600)
	for range n {
		frame, ts := g.next(buf)
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}
		if snap > 0 && ci.CaptureLength > snap {
			ci.CaptureLength = snap
		}
		if err := w.WritePacket(ci, frame[:ci.CaptureLength]); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return f.Close()
}

// conn is one TCP connection; side 0 is the client on node 0.
type conn struct {
	sport    uint16
	seq      [2]uint32 // next sequence number sent by each side
	outPort  [2]uint16 // outer UDP source port each node uses for this flow
	unacked  int       // data segments since the receiver last acknowledged
	shakeRem int       // handshake packets still to send
}

type generator struct {
	now    time.Time
	conns  [flows]conn
	turn   int       // connection whose turn it is
	ipID   [2]uint16 // IP identification per node (outer) …
	podID  [2]uint16 // … and per pod (inner)
	ackDue int       // connection owed an ACK, or -1
}

func newGenerator() *generator {
	g := &generator{now: start, ackDue: -1}
	for i := range g.conns {
		c := &g.conns[i]
		c.sport = uint16(41000 + 2*i)
		c.seq = [2]uint32{1_000_000 * uint32(i+1), 3_000_000_000 + uint32(i)}
		for side := range 2 {
			c.outPort[side] = frametest.VXLANSourcePort(podIP[side][:], podIP[1-side][:], c.port(side), c.port(1-side))
		}
		c.shakeRem = 3
	}
	return g
}

// port returns the TCP port of one side of c.
func (c *conn) port(side int) uint16 {
	if side == 0 {
		return c.sport
	}
	return serverPort
}

// next builds the next frame into buf and returns it with its timestamp.
func (g *generator) next(buf []byte) ([]byte, time.Time) {
	var frame []byte
	switch {
	case g.ackDue >= 0:
		c := &g.conns[g.ackDue]
		frame = g.segment(buf, c, 1, flagAck, 0)
		g.ackDue = -1
	default:
		i := g.turn
		g.turn = (g.turn + 1) % flows
		c := &g.conns[i]
		switch c.shakeRem {
		case 3:
			frame = g.segment(buf, c, 0, flagSyn, 0)
		case 2:
			frame = g.segment(buf, c, 1, flagSyn|flagAck, 0)
		case 1:
			frame = g.segment(buf, c, 0, flagAck, 0)
		default:
			frame = g.segment(buf, c, 0, flagAck|flagPsh, segLen)
			if c.unacked++; c.unacked == 2 {
				c.unacked = 0
				g.ackDue = i
			}
		}
		if c.shakeRem > 0 {
			c.shakeRem--
		}
	}
	ts := g.now
	// Pace by the bits on a 10 Gb/s wire, with preamble and gap.
	g.now = g.now.Add(time.Duration(float64(len(frame)+20) * 8 / linkBPS * 1e9))
	return frame, ts
}

// TCP flags.
const (
	flagSyn = 0x02
	flagPsh = 0x08
	flagAck = 0x10
)

// segment builds one encapsulated TCP segment sent by side of c.
func (g *generator) segment(buf []byte, c *conn, side int, flags uint8, payload int) []byte {
	syn := flags&flagSyn != 0
	tcpHdr := 20 + tsOptLen
	if syn {
		tcpHdr = 20 + 20 // MSS, SACK permitted, timestamps, window scale
	}
	innerLen := 20 + tcpHdr + payload
	frameLen := 14 + 20 + 8 + 8 + 14 + innerLen
	b := buf[:frameLen]
	clear(b)

	// Outer Ethernet, IPv4, UDP (no checksum, as Linux VXLAN sends it), VXLAN.
	copy(b[0:], nodeMAC[1-side][:])
	copy(b[6:], nodeMAC[side][:])
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	g.ipID[side]++
	ipv4(b[14:34], frameLen-14, g.ipID[side], false, outerTTL, layers.IPProtocolUDP, nodeIP[side], nodeIP[1-side])
	udp := b[34:42]
	binary.BigEndian.PutUint16(udp[0:], c.outPort[side])
	binary.BigEndian.PutUint16(udp[2:], 8472)
	binary.BigEndian.PutUint16(udp[4:], uint16(frameLen-34))
	vx := b[42:50]
	vx[0] = 0x08 // VNI present
	binary.BigEndian.PutUint32(vx[4:], vni<<8)

	// Inner Ethernet, IPv4, TCP.
	copy(b[50:], vtepMAC[1-side][:])
	copy(b[56:], vtepMAC[side][:])
	binary.BigEndian.PutUint16(b[62:], 0x0800)
	g.podID[side]++
	ip := b[64 : 64+20]
	ipv4(ip, innerLen, g.podID[side], true, innerTTL, layers.IPProtocolTCP, podIP[side], podIP[1-side])
	t := b[84 : 84+tcpHdr]
	binary.BigEndian.PutUint16(t[0:], c.port(side))
	binary.BigEndian.PutUint16(t[2:], c.port(1-side))
	seq := c.seq[side]
	binary.BigEndian.PutUint32(t[4:], seq)
	if flags&flagAck != 0 {
		binary.BigEndian.PutUint32(t[8:], c.seq[1-side])
	}
	t[12] = byte(tcpHdr/4) << 4
	t[13] = flags
	window := uint16(502) // scaled by 2^7
	if syn {
		window = 64240 // not scaled
	}
	binary.BigEndian.PutUint16(t[14:], window)
	opts := t[20:]
	tsval := uint32(g.now.Sub(start)/time.Millisecond) + 100_000 + uint32(side)*7_000_000
	tsecr := uint32(0)
	if !(syn && side == 0) {
		tsecr = uint32(g.now.Sub(start)/time.Millisecond) + 100_000 + uint32(1-side)*7_000_000
	}
	if syn {
		copy(opts, []byte{2, 4, byte(mss >> 8), byte(mss & 0xff), 4, 2, 8, 10})
		binary.BigEndian.PutUint32(opts[8:], tsval)
		binary.BigEndian.PutUint32(opts[12:], tsecr)
		copy(opts[16:], []byte{1, 3, 3, 7})
	} else {
		copy(opts, []byte{1, 1, 8, 10})
		binary.BigEndian.PutUint32(opts[4:], tsval)
		binary.BigEndian.PutUint32(opts[8:], tsecr)
	}
	// The payload is zeros, which add nothing to the checksum.
	binary.BigEndian.PutUint16(t[16:], checksum(tcpPseudo(ip, innerLen-20), t))

	if syn {
		c.seq[side]++
	}
	c.seq[side] += uint32(payload)
	return b
}

// ipv4 writes a 20-byte IPv4 header with its checksum.
func ipv4(h []byte, total int, id uint16, df bool, ttl byte, proto layers.IPProtocol, src, dst [4]byte) {
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], id)
	if df {
		h[6] = 0x40
	}
	h[8], h[9] = ttl, byte(proto)
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	binary.BigEndian.PutUint16(h[10:], checksum(0, h))
}

// tcpPseudo returns the unfolded sum of the TCP pseudo-header.
func tcpPseudo(ip []byte, tcpLen int) uint32 {
	var s uint32
	for i := 12; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	return s + uint32(layers.IPProtocolTCP) + uint32(tcpLen)
}

// checksum returns the Internet checksum of b, starting from the sum s.
func checksum(s uint32, b []byte) uint16 {
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
