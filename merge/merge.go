// Package merge writes the captures of an incident as one pcapng file: one
// interface per hop, packets in time order with the nodes' clock offsets
// applied, each packet commented with what the analysis found about it, so
// an engineer can open the incident in Wireshark.
package merge

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/report"
)

// Notes holds per-packet comments, by capture file and packet index. The
// zero value is empty; Add fills it, typically from analyze's Trace hook.
// Not safe for concurrent use.
type Notes struct {
	m map[string]map[int]string
	// Application and Comment go into the file's section header: which
	// hoptrace wrote it, and what the analysis said of the whole incident
	// (its window, the captures' coverage). Empty: "hoptrace merge", none.
	Application, Comment string
}

// Add sets the comment of packet index of capture path.
func (n *Notes) Add(path string, index int, comment string) {
	if n.m == nil {
		n.m = make(map[string]map[int]string)
	}
	if n.m[path] == nil {
		n.m[path] = make(map[int]string)
	}
	n.m[path][index] = comment
}

func (n *Notes) get(path string, index int) string { return n.m[path][index] }

// Write writes every packet of caps to w as pcapng, or those keep accepts
// when keep is not nil. Interfaces are named node/hop; timestamps are the
// reference node's time, using the offsets in clocks. It stops at the first
// write error; a capture that cannot be opened is left out and damaged
// input files end their part of the stream, as in analyze.
func Write(w io.Writer, caps []analyze.Capture, clocks []analyze.Clock, notes *Notes, keep func(*decode.Record) bool) error {
	offset := map[string]int64{}
	for _, c := range clocks {
		offset[c.Node] = c.OffsetNS
	}
	m := &merger{dec: decode.NewDecoder(), ifaces: map[ifaceKey]int{}, keep: keep}
	// A first pass numbers the hops in the order their first packets come
	// and gathers the inputs' statistics, read through to their ends: the
	// file describes every interface before its first packet, so that a
	// reader knows an interface when it reads the statistics blocks at the
	// end of the file ahead (the analysis does, for its coverage). It reads
	// the inputs twice.
	var stats []outStats
	err := m.pass(caps, offset, func(s *stream) error {
		m.register(s)
		return nil
	}, func(streams []*stream) { stats = m.stats(streams) })
	if err != nil {
		return err
	}
	if len(m.intfs) == 0 {
		return errors.New("no packets to merge")
	}
	app := notes.Application
	if app == "" {
		app = "hoptrace merge"
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: app, Comment: notes.Comment}}
	m.w, err = pcapgo.NewNgWriterInterface(w, m.intfs[0], opts)
	if err != nil {
		return fmt.Errorf("write merged capture: %w", err)
	}
	for _, intf := range m.intfs[1:] {
		if _, err := m.w.AddInterface(intf); err != nil {
			return fmt.Errorf("write merged capture: %w", err)
		}
	}
	err = m.pass(caps, offset, func(s *stream) error { return m.write(s, notes) }, nil)
	if err != nil {
		return err
	}
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("write merged capture: %w", err)
	}
	for i := range stats {
		if _, err := w.Write(isbBlock(&stats[i])); err != nil {
			return fmt.Errorf("write merged capture: %w", err)
		}
	}
	return nil
}

// pass reads the packets of caps in reference-time order, handing each to
// fn, then the streams, read to their ends, to done (when not nil).
func (m *merger) pass(caps []analyze.Capture, offset map[string]int64, fn func(*stream) error, done func([]*stream)) error {
	all := make([]*stream, 0, len(caps))
	defer func() {
		for _, s := range all {
			s.f.Close()
		}
	}()
	m.h = m.h[:0]
	for i, c := range caps {
		f, err := c.Open()
		if err != nil {
			// The analysis counts a capture it cannot open as an input
			// problem and goes on with the others: so does the merge.
			continue
		}
		s := &stream{cap: c, f: f, order: i, offset: offset[c.Node]}
		all = append(all, s)
		if m.advance(s) {
			m.h = append(m.h, s)
		}
	}
	heap.Init(&m.h)
	for len(m.h) > 0 {
		s := m.h[0]
		if err := fn(s); err != nil {
			return err
		}
		if m.advance(s) {
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
	}
	if done != nil {
		done(all)
	}
	return nil
}

type ifaceKey struct{ node, point string }

// stream is one capture file being merged.
type stream struct {
	cap     analyze.Capture
	f       *decode.File
	order   int
	offset  int64
	data    []byte
	meta    decode.Meta
	rec     decode.Record
	cooked  analyze.Cooked // a cooked v1 -i any capture's copy check
	index   int            // of the current packet in its file
	started bool           // a packet has been read
	ts      int64          // reference time of the current packet
	// out maps the file's pcapng interfaces to the output interfaces their
	// packets went to, for their statistics.
	out map[int]int
}

type merger struct {
	dec    *decode.Decoder
	h      streams
	w      *pcapgo.NgWriter
	ifaces map[ifaceKey]int
	intfs  []pcapgo.NgInterface // by output interface id
	keep   func(*decode.Record) bool
}

// advance reads the stream's next kept packet; false at its end.
func (m *merger) advance(s *stream) bool {
	for {
		data, meta, err := s.f.Next()
		if err != nil {
			return false
		}
		m.dec.Decode(&s.rec, data, meta)
		if s.cap.CookedAny && s.cooked.Take(&s.rec, data) || s.cap.Skips(&s.rec) {
			continue // another capture's packet: not counted in this one's index
		}
		if s.started {
			s.index++
		}
		s.started = true
		s.data = data // valid until this stream's next read, after it is written
		s.meta = meta
		s.ts = meta.TS - s.offset
		if m.keep == nil || m.keep(&s.rec) {
			return true
		}
	}
}

// register numbers the output interface of the stream's current packet
// when it is new, and notes which it is for the packet's input interface.
func (m *merger) register(s *stream) {
	k := ifaceKey{s.cap.Node, s.cap.PointOfFrame(s.f, &s.rec, s.data)}
	id, ok := m.ifaces[k]
	if !ok {
		id = len(m.intfs)
		m.ifaces[k] = id
		m.intfs = append(m.intfs, pcapgo.NgInterface{
			Name:                k.node + "/" + k.point,
			Description:         s.cap.Path,
			LinkType:            layers.LinkType(s.meta.Link),
			TimestampResolution: 9,
			SnapLength:          0,
		})
	}
	if s.out == nil {
		s.out = map[int]int{}
	}
	s.out[s.meta.Iface] = id
}

func (m *merger) write(s *stream, notes *Notes) error {
	id := m.ifaces[ifaceKey{s.cap.Node, s.cap.PointOfFrame(s.f, &s.rec, s.data)}]
	ci := gopacket.CaptureInfo{
		Timestamp:      time.Unix(0, s.ts).UTC(),
		CaptureLength:  len(s.data),
		Length:         s.meta.WireLen, // never below the captured length (decode raises it)
		InterfaceIndex: id,
	}
	var opts pcapgo.NgPacketOptions
	if c := notes.get(s.cap.Path, s.index); c != "" {
		opts.Comments = []string{c}
	}
	if c := icmpNote(&s.rec); c != "" {
		opts.Comments = append(opts.Comments, c)
	}
	if err := m.w.WritePacketWithOptions(ci, s.data, opts); err != nil {
		return fmt.Errorf("write merged capture: %w", err)
	}
	return nil
}

// icmpNote describes an ICMP error that tells a sender to lower its MTU.
func icmpNote(r *decode.Record) string {
	in := r.Inner()
	v6 := r.L4.Proto == decode.ProtoICMPv6
	if in == nil || (r.L4.Proto != decode.ProtoICMP && !v6) || !r.ICMP.FragNeeded(v6) {
		return ""
	}
	kind := "ICMP frag-needed"
	if v6 {
		kind = "ICMPv6 packet-too-big"
	}
	c := fmt.Sprintf("hoptrace: %s from %s, next-hop MTU %d", kind, in.Src, r.ICMP.MTU)
	if q := &r.ICMP.Quoted; r.ICMP.HasQuoted {
		t := analyze.TupleJSON{Src: q.Src.String(), Dst: q.Dst.String(), SPort: q.SPort, DPort: q.DPort}
		c += ", for " + report.FlowText(analyze.Proto(q.Proto), t)
	}
	return c
}

// streams is a heap of streams by reference time, ties by input order.
type streams []*stream

func (h streams) Len() int { return len(h) }
func (h streams) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].order < h[j].order
}
func (h streams) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *streams) Push(x any)   { *h = append(*h, x.(*stream)) }
func (h *streams) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}
