// Command genscan writes a two-node incident holding a TCP SYN scan, for
// measuring hoptrace at a million flows: a scanner on node-1 (192.168.1.10)
// sends one SYN to each of -n distinct (target, port) pairs on node-2's
// network, captured at n1-eth0 and at n2-eth0 30 µs later (node-2's clock
// -offset ahead). Of the SYNs, -drop never reach n2-eth0 (a firewall on the
// wire), -open are answered by a SYN/ACK that the scanner resets, and
// -closed by an RST/ACK; the others stay unanswered (filtered). Real-node
// background runs beside the scan: a bulk TCP flow between the nodes, DNS
// answers with IP ID 0, ARP requests and IPv6 neighbour solicitations.
//
//	go run ./bench/genscan -o /tmp/scan -n 1000000
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// TCP flags as on the wire.
const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	ack = 0x10
)

const (
	scanner = "192.168.1.10"
	wire    = 30 * time.Microsecond // n1-eth0 to n2-eth0
	rtt     = 80 * time.Microsecond // a target's answer after its SYN reached n2-eth0
	gap     = 10 * time.Microsecond // between two SYNs of the scan
)

func main() {
	out := flag.String("o", "", "output directory (node-1/n1-eth0.pcap, node-2/n2-eth0.pcap)")
	n := flag.Int("n", 1_000_000, "distinct SYNs (flows) of the scan")
	offset := flag.Duration("offset", 3*time.Millisecond, "node-2's clock minus node-1's")
	drop := flag.Float64("drop", 0.01, "share of SYNs lost between n1-eth0 and n2-eth0")
	closed := flag.Float64("closed", 0.6, "share of SYNs answered by RST/ACK")
	open := flag.Float64("open", 0.001, "share of SYNs answered by SYN/ACK (the scanner then resets)")
	flag.Parse()
	if *out == "" {
		log.Fatal("genscan: -o is required")
	}
	g, err := newGen(*out)
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tr truth
	tr.SYNs = *n
	bulkSeq, bulkAck := uint32(1), uint32(1)
	for i := range *n {
		t := t0.Add(time.Duration(i) * gap)
		if i%1024 == 0 {
			g.flush(t)
		}
		// Targets 10.1.0.0/16 and up, 1,000 ports each, source port cycling.
		target := fmt.Sprintf("10.%d.%d.%d", 1+i/1000/65536, i/1000/256%256, i/1000%256)
		dport := uint16(1 + i%1000)
		sport := uint16(40000 + i%20000)
		synF := frame(scanner, target, ft.TCP(sport, dport, syn, uint32(i)*7919, 0, 1460, 0), uint16(i), 64)
		g.add(0, t, synF)
		r := rng.Float64()
		if r < *drop {
			tr.Dropped++
			continue
		}
		at := t.Add(wire)
		g.add(1, at.Add(*offset), frame(scanner, target, ft.TCP(sport, dport, syn, uint32(i)*7919, 0, 1460, 0), uint16(i), 63))
		r = (r - *drop) / (1 - *drop)
		var answer []byte
		switch {
		case r < *open:
			tr.Open++
			answer = ft.TCP(dport, sport, syn|ack, 99, uint32(i)*7919+1, 1460, 0)
		case r < *open+*closed:
			tr.Closed++
			answer = ft.TCP(dport, sport, rst|ack, 0, uint32(i)*7919+1, 0, 0)
		default:
			tr.Filtered++
			continue
		}
		back := at.Add(rtt)
		g.add(1, back.Add(*offset), frame(target, scanner, answer, 0, 64))
		g.add(0, back.Add(wire), frame(target, scanner, answer, 0, 63))
		if r < *open {
			reset := ft.TCP(sport, dport, rst, uint32(i)*7919+1, 0, 0, 0)
			rt := back.Add(wire + 5*time.Microsecond)
			g.add(0, rt, frame(scanner, target, reset, 0, 64))
			g.add(1, rt.Add(wire+*offset), frame(scanner, target, reset, 0, 63))
		}

		// Background: a bulk flow between the nodes' pods (a segment and
		// its ACK every 100 SYNs), DNS answered from an unconnected socket
		// (IP ID 0), ARP and IPv6 neighbour solicitation on both wires.
		switch {
		case i%100 == 50:
			seg := ft.TCP(5201, 43210, ack, bulkSeq, bulkAck, 0, 1398)
			g.both(t, *offset, frame("192.168.1.10", "192.168.1.11", seg, uint16(i), 64), frame("192.168.1.10", "192.168.1.11", seg, uint16(i), 63))
			bulkSeq += 1398
			a := ft.TCP(43210, 5201, ack, bulkAck, bulkSeq, 0, 0)
			g.back(t.Add(40*time.Microsecond), *offset, frame("192.168.1.11", "192.168.1.10", a, uint16(i), 64), frame("192.168.1.11", "192.168.1.10", a, uint16(i), 63))
			tr.Background += 4
		case i%1000 == 500:
			q := ft.UDP(uint16(50000+i%1000), 53, make([]byte, 30))
			g.both(t, *offset, udpFrame("192.168.1.10", "192.168.1.53", q, uint16(i), 64), udpFrame("192.168.1.10", "192.168.1.53", q, uint16(i), 63))
			a := ft.UDP(53, uint16(50000+i%1000), make([]byte, 46))
			g.back(t.Add(50*time.Microsecond), *offset, udpFrame("192.168.1.53", "192.168.1.10", a, 0, 64), udpFrame("192.168.1.53", "192.168.1.10", a, 0, 63))
			tr.Background += 4
		case i%5000 == 2500:
			arp := ft.Eth(0x0806, arpRequest())
			g.add(0, t, arp)
			g.add(1, t.Add(*offset+wire), arp)
			ns := ft.Eth(0x86dd, ft.IP6("fe80::1", "ff02::1:ff00:2", 58, ft.ICMP(135, 0, 0, make([]byte, 16))))
			g.add(0, t, ns)
			g.add(1, t.Add(*offset+wire), ns)
			tr.Background += 4
		}
	}
	g.flush(t0.Add(time.Duration(*n+1) * time.Second))
	if err := g.close(); err != nil {
		log.Fatal(err)
	}
	b, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "truth.json"), append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("genscan: %d SYNs (%d lost on the wire, %d open, %d closed, %d filtered), %d background frames, %d frames in %s\n",
		tr.SYNs, tr.Dropped, tr.Open, tr.Closed, tr.Filtered, tr.Background, g.frames, *out)
}

// truth is what the generator put in the captures, written beside them.
type truth struct {
	SYNs       int `json:"syns"`
	Dropped    int `json:"dropped"` // between n1-eth0 and n2-eth0
	Open       int `json:"open"`    // SYN/ACK, then the scanner's RST
	Closed     int `json:"closed"`  // RST/ACK
	Filtered   int `json:"filtered"`
	Background int `json:"background_frames"`
}

// frame is an Ethernet frame of a TCP segment; udpFrame of a UDP datagram.
func frame(src, dst string, l4 []byte, id uint16, ttl uint8) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, 6, l4, ft.IP4Opt{TTL: ttl, ID: id, DF: true}))
}

func udpFrame(src, dst string, l4 []byte, id uint16, ttl uint8) []byte {
	return ft.Eth(0x0800, ft.IP4(src, dst, 17, l4, ft.IP4Opt{TTL: ttl, ID: id, DF: true}))
}

func arpRequest() []byte {
	return []byte{0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 168, 1, 10, 0, 0, 0, 0, 0, 0, 192, 168, 1, 1}
}

type record struct {
	ts   time.Time
	data []byte
}

type gen struct {
	files   [2]*os.File
	bufs    [2]*bufio.Writer
	w       [2]*pcapgo.Writer
	pending [2][]record
	frames  int
}

func newGen(dir string) (*gen, error) {
	g := &gen{}
	for i, name := range []string{"node-1/n1-eth0.pcap", "node-2/n2-eth0.pcap"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		g.files[i], g.bufs[i] = f, bufio.NewWriterSize(f, 1<<20)
		g.w[i] = pcapgo.NewWriterNanos(g.bufs[i])
		if err := g.w[i].WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *gen) add(i int, ts time.Time, data []byte) {
	g.pending[i] = append(g.pending[i], record{ts, data})
	g.frames++
}

// both adds a packet from node-1 seen at n1-eth0 at t and at n2-eth0 after
// the wire; back one from node-2 seen at n2-eth0 at t and at n1-eth0 after.
func (g *gen) both(t time.Time, offset time.Duration, at1, at2 []byte) {
	g.add(0, t, at1)
	g.add(1, t.Add(wire+offset), at2)
}

func (g *gen) back(t time.Time, offset time.Duration, at2, at1 []byte) {
	g.add(1, t.Add(offset), at2)
	g.add(0, t.Add(wire), at1)
}

// flush writes, in time order, every pending record of node-1's clock
// before t (node-2's records are offset ahead): nothing sent from t on is
// seen earlier.
func (g *gen) flush(t time.Time) {
	for i := range g.pending {
		p := g.pending[i]
		slices.SortStableFunc(p, func(a, b record) int { return a.ts.Compare(b.ts) })
		n := 0
		for n < len(p) && p[n].ts.Before(t) {
			ci := gopacket.CaptureInfo{Timestamp: p[n].ts, Length: len(p[n].data), CaptureLength: len(p[n].data)}
			if err := g.w[i].WritePacket(ci, p[n].data); err != nil {
				log.Fatal(err)
			}
			n++
		}
		g.pending[i] = append(p[:0], p[n:]...)
	}
}

func (g *gen) close() error {
	for i, f := range g.files {
		if err := g.bufs[i].Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
