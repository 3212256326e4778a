// Command genincident writes a synthetic two-node incident for measuring
// hoptrace analyze at scale: a bulk TCP flow from pod A on node-1 to pod C
// on node-2 over flannel VXLAN, with its ACKs back, captured at five hops
// per node. Every hop adds a fixed delay, node-2's clock runs -offset ahead,
// and -drop of the data segments vanish between n1-cni0 and n1-flannel.1,
// so the expected analysis is known exactly. With -step, node-2's clock
// steps by that much halfway through (an NTP step, a VM resumed: -step -3h
// sets it back 3 hours), while the traffic goes on.
//
//	go run ./bench/genincident -o /tmp/incident -n 1000000
//	go run ./bench/genincident -o /tmp/stepped -n 2000000 -step -3h
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

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// hop is one capture point: where on the path, and what it sees.
type hop struct {
	node, name string
	delay      time.Duration // after the previous hop
	outer      bool          // sees the VXLAN-encapsulated packet
	ttl        uint8         // inner TTL there (routing decrements it)
}

var path = []hop{
	{"node-1", "poda-eth0", 0, false, 64},
	{"node-1", "n1-veth-pod-a", 2 * time.Microsecond, false, 64},
	{"node-1", "n1-cni0", 3 * time.Microsecond, false, 64},
	{"node-1", "n1-flannel.1", 5 * time.Microsecond, false, 63},
	{"node-1", "n1-eth0", 4 * time.Microsecond, true, 63},
	{"node-2", "n2-eth0", 30 * time.Microsecond, true, 63},
	{"node-2", "n2-flannel.1", 4 * time.Microsecond, false, 63},
	{"node-2", "n2-cni0", 5 * time.Microsecond, false, 62},
	{"node-2", "n2-veth-pod-c", 3 * time.Microsecond, false, 62},
	{"node-2", "podc-eth0", 2 * time.Microsecond, false, 62},
}

func main() {
	out := flag.String("o", "", "output directory (one subdirectory per node)")
	n := flag.Int("n", 1_000_000, "data segments (each is also ACKed; sightings are about 10x this)")
	offset := flag.Duration("offset", 3*time.Millisecond, "node-2's clock minus node-1's")
	drop := flag.Float64("drop", 0.001, "share of data segments dropped between n1-cni0 and n1-flannel.1")
	snap := flag.Int("snaplen", 128, "bytes captured per packet")
	step := flag.Duration("step", 0, "node-2's clock steps by this much halfway (negative: back)")
	flag.Parse()
	if *out == "" {
		log.Fatal("genincident: -o is required")
	}
	g, err := newGen(*out, *snap)
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const mss = 1398
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq, ack := uint32(1000), uint32(5000)
	dropped := 0
	off := *offset
	var stepAt time.Time
	for i := range *n {
		t := t0.Add(time.Duration(i) * 10 * time.Microsecond)
		if *step != 0 && i == *n/2 {
			// Every packet node-2 saw before the step is written before
			// the step's first, whatever its clock says after it.
			g.node2Shift = 100 * 365 * 24 * time.Hour
			g.flush(t)
			off += *step
			g.node2Shift = *step
			stepAt = t
		}
		g.flush(t)
		lost := rng.Float64() < *drop
		if lost {
			dropped++
		}
		g.send(t, off, false, uint16(i), seq, ack, mss, lost)
		seq += mss
		if i%2 == 1 || lost { // delayed ACKs; a loss is not acknowledged here
			continue
		}
		g.send(t.Add(150*time.Microsecond), off, true, uint16(i), ack, seq, 0, false)
	}
	g.flush(t0.Add(time.Duration(*n+1) * time.Second).Add(max(*step, 0)))
	if err := g.close(); err != nil {
		log.Fatal(err)
	}
	if err := writeTruth(*out, *n, dropped, *offset, *step, stepAt); err != nil {
		log.Fatal(err)
	}
	stepped := ""
	if *step != 0 {
		stepped = fmt.Sprintf(", node-2's clock stepped by %v at %s", *step, stepAt.Format(time.RFC3339Nano))
	}
	fmt.Printf("genincident: %d data segments, %d dropped between n1-cni0 and n1-flannel.1, node-2 offset %v%s, %d sightings in %s\n",
		*n, dropped, *offset, stepped, g.sightings, *out)
}

// truth is what the generator put in the captures, written beside them as
// truth.json for tests to hold the analysis to.
type truth struct {
	Segments int              `json:"segments"`
	Dropped  int              `json:"dropped"` // between n1-cni0 and n1-flannel.1
	OffsetNS int64            `json:"offset_ns"`
	Hops     []string         `json:"hops"`     // in path order
	DelayNS  map[string]int64 `json:"delay_ns"` // from the previous hop
	// StepNS is how far node-2's clock stepped at StepAt (node-1's clock),
	// its offset from then on OffsetNS+StepNS; 0: no step.
	StepNS int64     `json:"step_ns,omitempty"`
	StepAt time.Time `json:"step_at,omitzero"`
}

func writeTruth(dir string, n, dropped int, offset, step time.Duration, stepAt time.Time) error {
	t := truth{Segments: n, Dropped: dropped, OffsetNS: int64(offset), DelayNS: map[string]int64{}, StepNS: int64(step), StepAt: stepAt}
	for _, h := range path {
		t.Hops = append(t.Hops, h.name)
		t.DelayNS[h.name] = int64(h.delay)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "truth.json"), append(b, '\n'), 0o644)
}

type gen struct {
	snap       int
	node2Shift time.Duration // node-2's clock step so far: its records are due that much later
	files      []*os.File
	bufs       []*bufio.Writer
	w          []*pcapgo.Writer
	pending    [][]record // per hop, written once no earlier packet can come
	sightings  int
	buf        gopacket.SerializeBuffer
}

type record struct {
	ts     time.Time
	data   []byte
	length int
}

// flush writes, in time order, every pending record before t: packets sent
// from t on are seen no earlier than t anywhere.
func (g *gen) flush(t time.Time) {
	for i, p := range g.pending {
		due := t
		if path[i].node == "node-2" {
			due = t.Add(g.node2Shift)
		}
		slices.SortStableFunc(p, func(a, b record) int { return a.ts.Compare(b.ts) })
		n := 0
		for n < len(p) && p[n].ts.Before(due) {
			r := p[n]
			ci := gopacket.CaptureInfo{Timestamp: r.ts, Length: r.length, CaptureLength: len(r.data)}
			if err := g.w[i].WritePacket(ci, r.data); err != nil {
				log.Fatal(err)
			}
			n++
		}
		g.pending[i] = append(p[:0], p[n:]...)
	}
}

func newGen(dir string, snap int) (*gen, error) {
	g := &gen{snap: snap, buf: gopacket.NewSerializeBuffer()}
	for _, h := range path {
		if err := os.MkdirAll(filepath.Join(dir, h.node), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(filepath.Join(dir, h.node, h.name+".pcap"))
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		w := pcapgo.NewWriterNanos(bw)
		if err := w.WriteFileHeader(uint32(snap), layers.LinkTypeEthernet); err != nil {
			return nil, err
		}
		g.files, g.bufs, g.w = append(g.files, f), append(g.bufs, bw), append(g.w, w)
	}
	g.pending = make([][]record, len(path))
	return g, nil
}

// send writes one packet at every hop it reaches: data from pod A to pod C
// (reply false) or an ACK back (reply true), which crosses the hops in
// reverse. A lost packet stops after n1-cni0.
func (g *gen) send(t time.Time, offset time.Duration, reply bool, id uint16, seq, ack uint32, payload int, lost bool) {
	order := make([]int, len(path))
	for i := range order {
		order[i] = i
		if reply {
			order[i] = len(path) - 1 - i
		}
	}
	at := t
	for k, i := range order {
		h := path[i]
		if k > 0 {
			prev := path[order[k-1]]
			if reply {
				at = at.Add(prev.delay) // the reverse crossing costs the same
			} else {
				at = at.Add(h.delay)
			}
		}
		ttl := h.ttl
		if reply {
			ttl = 64 + 62 - h.ttl // decremented the other way round
		}
		frame := g.frame(h, reply, id, ttl, seq, ack, payload)
		ts := at
		if h.node == "node-2" {
			ts = ts.Add(offset)
		}
		g.pending[i] = append(g.pending[i], record{ts, append([]byte(nil), frame[:min(len(frame), g.snap)]...), len(frame)})
		g.sightings++
		if lost && h.name == "n1-cni0" {
			return
		}
	}
}

func (g *gen) frame(h hop, reply bool, id uint16, ttl uint8, seq, ack uint32, payload int) []byte {
	src, dst := []byte{10, 244, 0, 5}, []byte{10, 244, 1, 5}
	sport, dport := uint16(40000), uint16(5001)
	if reply {
		src, dst, sport, dport = dst, src, dport, sport
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: ttl, Id: id, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, ACK: true, Window: 502}
	tcp.SetNetworkLayerForChecksum(ip)
	body := gopacket.Payload(make([]byte, payload))
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if !h.outer {
		if err := gopacket.SerializeLayers(g.buf, opts, eth, ip, tcp, body); err != nil {
			log.Fatal(err)
		}
		return g.buf.Bytes()
	}
	nsrc, ndst := []byte{192, 168, 1, 10}, []byte{192, 168, 1, 11}
	if reply {
		nsrc, ndst = ndst, nsrc
	}
	outerIP := &layers.IPv4{Version: 4, TTL: 64, Id: id ^ 0x5555, Protocol: layers.IPProtocolUDP, SrcIP: nsrc, DstIP: ndst}
	udp := &layers.UDP{SrcPort: layers.UDPPort(frametest.VXLANSourcePort(src, dst, sport, dport)), DstPort: 8472}
	udp.SetNetworkLayerForChecksum(outerIP)
	vx := &layers.VXLAN{ValidIDFlag: true, VNI: 1}
	if err := gopacket.SerializeLayers(g.buf, opts, eth, outerIP, udp, vx, eth, ip, tcp, body); err != nil {
		log.Fatal(err)
	}
	return g.buf.Bytes()
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
