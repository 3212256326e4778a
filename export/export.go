package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// Options tune an export. The zero value is valid.
type Options struct {
	// Replace allows an incident already in the dataset to be replaced;
	// without it, New refuses.
	Replace bool
}

// Writer writes one incident's analysis into a dataset. Pass its Trace
// method as analyze.Options.Trace, then call Finish with the result (or
// Abort). Sightings are written as packets are traced; what the rest of
// the analysis decides about a packet (its verdict, the final hop names)
// is applied when Finish writes the packets table from a compact spool,
// so memory stays bounded by the open partitions, not by the incident.
// A Writer is not safe for concurrent use.
type Writer struct {
	out, incident string
	opt           Options
	stage         string // staging directory inside out, removed by Finish
	inc           string // the incident partition: "incident=NAME"

	sights *table[Sighting]
	spool  *os.File
	spoolW *bufio.Writer
	rec    []byte // scratch of Trace

	nextID  int64
	nsight  int64
	curHour int64

	flowIdx map[flowKey]int32
	flows   []string
	nodeIdx map[string]int32
	nodes   []string
	hopIdx  map[hopKey]int32
	hops    []hopKey
	names   []*string // by hop: the name rows are written with
	parts   map[nodeHour]string
	tunnels [16]*string
	ints    []int64 // backing of SincePrevNS pointers
	int32s  []int32 // backing of DropCount pointers
	path    []int32 // scratch of Trace

	err error
}

type flowKey struct {
	proto analyze.Proto
	t     analyze.TupleJSON
}

type hopKey struct {
	node  int32
	point string
}

type nodeHour struct {
	node int32
	hour int64
}

// New starts the export of one incident, read from the files inputs
// (captures, archives), into the dataset in directory out (created if
// need be). It refuses an out that holds any of the inputs, and an
// incident the dataset already has unless opt.Replace.
func New(out, incident string, inputs []string, opt Options) (*Writer, error) {
	if incident == "" {
		return nil, errors.New("export: empty incident name")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("create dataset directory: %w", err)
	}
	absOut, err := realPath(out)
	if err != nil {
		return nil, fmt.Errorf("dataset directory: %w", err)
	}
	for _, in := range inputs {
		p, err := realPath(in)
		if err != nil {
			continue // unreadable: the analysis reports it
		}
		if within(p, absOut) {
			return nil, fmt.Errorf("dataset directory %s holds input %s: choose a directory outside the incident", out, in)
		}
	}
	inc := "incident=" + escape(incident)
	if !opt.Replace {
		for _, t := range Tables {
			if _, err := os.Stat(filepath.Join(out, t, inc)); err == nil {
				return nil, fmt.Errorf("dataset %s already holds incident %q (%s); choose another name or replace it", out, incident, filepath.Join(t, inc))
			}
		}
	}
	stage, err := os.MkdirTemp(out, ".hoptrace-export-")
	if err != nil {
		return nil, fmt.Errorf("create staging directory: %w", err)
	}
	spool, err := os.CreateTemp(stage, "packets-*.spool")
	if err != nil {
		os.RemoveAll(stage)
		return nil, fmt.Errorf("create packet spool: %w", err)
	}
	return &Writer{
		out: out, incident: incident, opt: opt, stage: stage, inc: inc,
		sights: newTable[Sighting](filepath.Join(stage, TableSightings, inc)),
		spool:  spool, spoolW: bufio.NewWriterSize(spool, 1<<20),
		curHour: -1 << 62,
		flowIdx: make(map[flowKey]int32), nodeIdx: make(map[string]int32),
		hopIdx: make(map[hopKey]int32), parts: make(map[nodeHour]string),
	}, nil
}

// realPath is p made absolute with its symbolic links resolved.
func realPath(p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(p)
}

// within reports whether path p lies in directory dir (both real paths).
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// hourOf is the hour (since the Unix epoch, UTC) of a time in ns.
func hourOf(ts int64) int64 {
	h := ts / int64(time.Hour)
	if ts < 0 && ts%int64(time.Hour) != 0 {
		h--
	}
	return h
}

func hourName(h int64) string {
	return time.Unix(h*3600, 0).UTC().Format("2006-01-02T15")
}

// FlowName is how the tables name a flow: protocol and original tuple,
// "tcp 10.244.0.5:41000 > 10.96.0.10:80" (ICMP echo: the echo id as the
// source port, 0 as the destination's).
func FlowName(proto analyze.Proto, t analyze.TupleJSON) string {
	return proto.String() + " " + hostPort(t.Src, t.SPort) + " > " + hostPort(t.Dst, t.DPort)
}

func hostPort(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return addr + ":" + strconv.Itoa(int(port))
}

func (w *Writer) flowID(proto analyze.Proto, t analyze.TupleJSON) int32 {
	k := flowKey{proto, t}
	id, ok := w.flowIdx[k]
	if !ok {
		id = int32(len(w.flows))
		w.flowIdx[k] = id
		w.flows = append(w.flows, FlowName(proto, t))
	}
	return id
}

// hopID numbers a capture point. Rows are written with the name analyze
// will give it as far as the hops seen so far tell (qualified by the
// node when another node has the same point); Finish corrects the rows if
// a later hop made a name ambiguous.
func (w *Writer) hopID(node, point string) int32 {
	n, ok := w.nodeIdx[node]
	if !ok {
		n = int32(len(w.nodes))
		w.nodeIdx[node] = n
		w.nodes = append(w.nodes, node)
	}
	k := hopKey{n, point}
	id, ok := w.hopIdx[k]
	if ok {
		return id
	}
	id = int32(len(w.hops))
	w.hopIdx[k] = id
	w.hops = append(w.hops, k)
	name := point
	for _, h := range w.hops {
		if h.point == point && h.node != n {
			name = node + "/" + point
		}
	}
	w.names = append(w.names, &name)
	return id
}

func (w *Writer) tunnelName(t decode.TunnelType) *string {
	if t == decode.TunnelNone {
		return nil
	}
	i := int(t) % len(w.tunnels)
	if w.tunnels[i] == nil || *w.tunnels[i] != t.String() {
		s := t.String()
		w.tunnels[i] = &s
	}
	return w.tunnels[i]
}

// intPtr returns a pointer to a copy of v, from a slab rather than one
// allocation each.
func (w *Writer) intPtr(v int64) *int64 {
	if len(w.ints) == cap(w.ints) {
		w.ints = make([]int64, 0, 4096)
	}
	w.ints = append(w.ints, v)
	return &w.ints[len(w.ints)-1]
}

func (w *Writer) int32Ptr(v int32) *int32 {
	if len(w.int32s) == cap(w.int32s) {
		w.int32s = make([]int32, 0, 4096)
	}
	w.int32s = append(w.int32s, v)
	return &w.int32s[len(w.int32s)-1]
}

// Trace takes one packet followed across hops: it writes its sightings
// and spools its packet row. Errors are kept for Finish.
func (w *Writer) Trace(t *analyze.Trace) {
	if w.err != nil || len(t.Sightings) == 0 {
		return
	}
	id := w.nextID
	w.nextID++
	w.nsight += int64(len(t.Sightings))
	flow := w.flowID(t.Proto, t.Flow)
	first, last := t.Sightings[0].TS, t.Sightings[0].TS
	for i := range t.Sightings {
		first, last = min(first, t.Sightings[i].TS), max(last, t.Sightings[i].TS)
	}
	if h := hourOf(first); h > w.curHour {
		// Packets come about in the order of their first sighting, and a
		// packet's sightings lie within the correlation window: hours
		// before the previous one are done.
		w.curHour = h
		if err := w.sights.closeBefore(h - 1); err != nil {
			w.err = err
			return
		}
	}
	w.path = w.path[:0]
	ids := w.path
	flowName, dirName := w.flows[flow], t.Direction.String()
	for i := range t.Sightings {
		s := &t.Sightings[i]
		h := w.hopID(s.Capture.Node, s.Point)
		ids = append(ids, h)
		row := Sighting{
			PacketID: id, Seq: int32(i), Flow: flowName, Direction: dirName,
			Hop: *w.names[h], Point: s.Point, TS: s.TS,
			IPLen: int32(s.IPLen), Overhead: int32(s.Overhead), Tunnel: w.tunnelName(s.Tunnel),
			TTL: int32(s.TTL), TCPFlags: int32(s.TCPFlags), DF: s.DF, MF: s.MF, Fragment: s.Fragment,
			Capture: s.Capture.Path, CaptureIndex: int64(s.Index),
		}
		if s.Prev >= 0 && s.Prev < i {
			row.PrevHop = w.names[ids[s.Prev]]
			row.SincePrevNS = w.intPtr(s.TS - t.Sightings[s.Prev].TS)
		}
		hour := hourOf(s.TS)
		nh := nodeHour{w.hops[h].node, hour}
		rel, ok := w.parts[nh]
		if !ok {
			rel = "node=" + escape(s.Capture.Node) + "/hour=" + hourName(hour)
			w.parts[nh] = rel
		}
		if err := w.sights.add(rel, hour, row); err != nil {
			w.err = err
			return
		}
	}
	// The spooled packet: its path (hops in path order, each once),
	// resolved to names and a verdict by Finish.
	b := w.rec[:0]
	b = binary.AppendUvarint(b, uint64(flow))
	b = append(b, byte(t.Direction))
	if t.Retransmission {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendVarint(b, first)
	b = binary.AppendVarint(b, last)
	b = binary.AppendVarint(b, int64(t.Fate))
	b = binary.AppendUvarint(b, uint64(len(t.Sightings)))
	// The pieces its last hop saw of it, as a drop there counts it.
	pieces := 0
	for i := len(ids) - 1; i >= 0 && ids[i] == ids[len(ids)-1]; i-- {
		pieces++
	}
	b = binary.AppendUvarint(b, uint64(pieces))
	n := 0
	for i := range t.Sightings {
		if i == 0 || t.Sightings[i].Prev >= 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i := range t.Sightings {
		if i == 0 || t.Sightings[i].Prev >= 0 {
			b = binary.AppendUvarint(b, uint64(ids[i]))
		}
	}
	w.rec = b
	w.path = ids
	if _, err := w.spoolW.Write(b); err != nil {
		w.err = fmt.Errorf("write packet spool: %w", err)
	}
}

// Rows returns the rows written so far to the packets and sightings
// tables.
func (w *Writer) Rows() (packets, sightings int64) { return w.nextID, w.nsight }

// Abort removes what the export wrote.
func (w *Writer) Abort() {
	w.sights.close()
	w.spool.Close()
	os.RemoveAll(w.stage)
}

// Finish writes the rest of the incident from the analysis' result and
// moves it into the dataset. On error nothing of the incident is left in
// the dataset.
func (w *Writer) Finish(res *analyze.Result) (err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if w.err != nil {
		return w.err
	}
	if err := w.sights.close(); err != nil {
		return err
	}
	if err := w.spoolW.Flush(); err != nil {
		return fmt.Errorf("write packet spool: %w", err)
	}
	final := w.finalNames(res)
	if err := w.renameHops(final); err != nil {
		return err
	}
	if err := w.writePackets(res, final); err != nil {
		return err
	}
	if err := w.writeSmall(res); err != nil {
		return err
	}
	return w.install()
}

// finalNames returns, by hop, the name analyze gave it: the point,
// qualified by the node when another node had the same one.
func (w *Writer) finalNames(res *analyze.Result) []string {
	qualified := make(map[[2]string]bool)
	for _, c := range res.Captures {
		qualified[[2]string{c.Node, c.Hop}] = true
	}
	out := make([]string, len(w.hops))
	for i, h := range w.hops {
		node := w.nodes[h.node]
		out[i] = h.point
		if q := node + "/" + h.point; qualified[[2]string{node, q}] {
			out[i] = q
		}
	}
	return out
}

// renameHops rewrites the sightings files when a hop's final name is not
// the one its rows were written with.
func (w *Writer) renameHops(final []string) error {
	rename := make(map[string]string)
	for i, n := range w.names {
		if *n != final[i] {
			rename[*n] = final[i]
		}
	}
	if len(rename) == 0 {
		return nil
	}
	for i := range w.names {
		w.names[i] = &final[i]
	}
	for _, rel := range w.sights.files {
		if err := rewrite(filepath.Join(w.sights.dir, filepath.FromSlash(rel)), func(r *Sighting) {
			if n, ok := rename[r.Hop]; ok {
				r.Hop = n
			}
			if r.PrevHop != nil {
				if n, ok := rename[*r.PrevHop]; ok {
					r.PrevHop = &n
				}
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// rewrite passes every row of a file of the staging area through fix,
// into a new file that replaces it.
func rewrite[T any](path string, fix func(*T)) error {
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reopen %s: %w", path, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("reopen %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(in, fi.Size())
	if err != nil {
		return fmt.Errorf("reopen %s: %w", path, err)
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	tmp := newTable[T](filepath.Dir(path))
	tmp.next[""] = 1 << 20 // a fresh name beside it
	buf := make([]T, batchRows)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			fix(&buf[i])
			if err := tmp.add("", 0, buf[i]); err != nil {
				tmp.close()
				return err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			tmp.close()
			return fmt.Errorf("reread %s: %w", path, err)
		}
	}
	if err := tmp.close(); err != nil {
		return err
	}
	if len(tmp.files) == 0 {
		return os.Remove(path)
	}
	return os.Rename(filepath.Join(tmp.dir, filepath.FromSlash(tmp.files[0])), path)
}

// writePackets writes the packets table from the spool.
func (w *Writer) writePackets(res *analyze.Result, final []string) error {
	if _, err := w.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read packet spool: %w", err)
	}
	br := bufio.NewReaderSize(w.spool, 1<<20)
	t := newTable[Packet](filepath.Join(w.stage, TablePackets, w.inc))
	defer t.close()
	fates := make(map[int32]*[3]*string) // interned From, To, Reason
	parts := make(map[int64]string)
	cur := int64(-1 << 62)
	var pathBuf []string
	for id := int64(0); id < w.nextID; id++ {
		rd := spoolReader{r: br}
		flow, dir, retrans := rd.uvarint(), rd.byte(), rd.byte() == 1
		first, last, fate := rd.varint(), rd.varint(), int32(rd.varint())
		nsight, pieces, n := rd.uvarint(), int32(rd.uvarint()), int(rd.uvarint())
		if rd.err != nil {
			return fmt.Errorf("read packet spool: %w", rd.err)
		}
		if len(pathBuf) < n {
			pathBuf = make([]string, max(n, 1<<14)) // rows keep their paths until written
		}
		path := pathBuf[:n:n]
		pathBuf = pathBuf[n:]
		for i := range path {
			if h := rd.uvarint(); int(h) < len(final) {
				path[i] = final[h]
			}
		}
		if rd.err != nil || n == 0 {
			return fmt.Errorf("read packet spool: packet %d: %v", id, rd.err)
		}
		row := Packet{
			PacketID: id, Flow: w.flows[flow], Direction: analyze.Direction(dir).String(), Path: path,
			FirstHop: path[0], LastHop: path[len(path)-1], Sightings: int32(nsight),
			FirstTS: first, LastTS: last, SpanNS: last - first, Retransmission: retrans,
		}
		fp := fates[fate]
		f := res.Fate(fate)
		if fp == nil {
			fp = &[3]*string{}
			if f.InDrops {
				reason := f.Reason.String()
				fp[0], fp[1], fp[2] = &f.From, &f.To, &reason
			}
			fates[fate] = fp
		}
		row.Verdict = f.Verdict.String()
		row.DropFrom, row.DropTo, row.DropReason = fp[0], fp[1], fp[2]
		if f.InDrops {
			count := int32(1)
			if f.Pieces {
				count = pieces
			}
			row.DropCount = w.int32Ptr(count)
		}
		hour := hourOf(first)
		if hour > cur {
			cur = hour
			if err := t.closeBefore(hour - 1); err != nil {
				return err
			}
		}
		rel, ok := parts[hour]
		if !ok {
			rel = "hour=" + hourName(hour)
			parts[hour] = rel
		}
		if err := t.add(rel, hour, row); err != nil {
			return err
		}
	}
	return t.close()
}

// spoolReader decodes the packet spool, keeping the first error.
type spoolReader struct {
	r   *bufio.Reader
	err error
}

func (s *spoolReader) uvarint() uint64 {
	if s.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(s.r)
	s.err = err
	return v
}

func (s *spoolReader) varint() int64 {
	if s.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(s.r)
	s.err = err
	return v
}

func (s *spoolReader) byte() byte {
	if s.err != nil {
		return 0
	}
	c, err := s.r.ReadByte()
	s.err = err
	return c
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeSmall writes the tables of figures: flows, hop pairs, findings,
// captures, clocks and encapsulation.
func (w *Writer) writeSmall(res *analyze.Result) error {
	dir := func(t string) string { return filepath.Join(w.stage, t, w.inc) }
	var flows []Flow
	for _, f := range res.Flows {
		flows = append(flows, Flow{
			Flow: FlowName(f.Proto, f.Orig), Proto: f.Proto.String(),
			OrigSrc: f.Orig.Src, OrigDst: f.Orig.Dst, OrigSPort: int32(f.Orig.SPort), OrigDPort: int32(f.Orig.DPort),
			ReplySrc: f.Reply.Src, ReplyDst: f.Reply.Dst, ReplySPt: int32(f.Reply.SPort), ReplyDPt: int32(f.Reply.DPort),
			State: optString(f.State), Assured: f.Assured, Unreplied: f.Unreplied,
			Packets: int64(f.Packets), Bytes: int64(f.Bytes),
			OrigPackets: int64(f.OrigStats.Packets), OrigBytes: int64(f.OrigStats.Bytes),
			OrigRetransmits: int64(f.OrigStats.Retransmits), OrigOutOfOrder: int64(f.OrigStats.OutOfOrder),
			OrigZeroWindow: int64(f.OrigStats.ZeroWindow), OrigMaxSegment: int64(f.OrigStats.MaxSegment), OrigMSS: int64(f.OrigStats.MSS),
			ReplyPackets: int64(f.ReplStats.Packets), ReplyBytes: int64(f.ReplStats.Bytes),
			ReplyRetransmits: int64(f.ReplStats.Retransmits), ReplyOutOfOrder: int64(f.ReplStats.OutOfOrder),
			ReplyZeroWindow: int64(f.ReplStats.ZeroWindow), ReplyMaxSegment: int64(f.ReplStats.MaxSegment), ReplyMSS: int64(f.ReplStats.MSS),
			FirstTS: f.FirstNS, LastTS: f.LastNS, NAT: optString(analyze.NATText(f.NAT)), Tunnel: optString(f.Tunnel),
		})
	}
	var pairs []HopPair
	for _, h := range res.Hops {
		pairs = append(pairs, HopPair{FromHop: h.From, ToHop: h.To, Direction: h.Direction.String(), Packets: int64(h.Packets),
			MinNS: h.MinNS, P50NS: h.P50NS, P90NS: h.P90NS, P99NS: h.P99NS, MaxNS: h.MaxNS, CrossNode: h.CrossNode, Negative: int64(h.Negative)})
	}
	var findings []Finding
	for _, d := range res.Drops {
		rt := int64(d.Retransmitted)
		findings = append(findings, Finding{Kind: "drop", Flow: FlowName(d.Proto, d.Flow), Direction: optString(d.Direction.String()),
			FromHop: optString(d.From), ToHop: optString(d.To), Reason: optString(d.Reason.String()), Packets: int64(d.Packets),
			Retransmitted: &rt, Detail: d.Detail})
	}
	for _, u := range res.Unjudged {
		findings = append(findings, Finding{Kind: "unjudged", Flow: FlowName(u.Proto, u.Flow), Direction: optString(u.Direction.String()),
			FromHop: optString(u.From), ToHop: optString(u.To), Packets: int64(u.Packets),
			Detail: "last seen at " + u.From + "; the capture at " + u.To + ", the next hop, was not running then"})
	}
	for _, m := range res.MTU {
		mtu := int32(m.MTU)
		findings = append(findings, Finding{Kind: m.Kind.String(), Flow: FlowName(m.Proto, m.Flow), Direction: optString(m.Direction.String()),
			Hop: optString(m.Hop), MTU: &mtu, Packets: int64(m.Packets), Detail: m.Detail})
	}
	var caps []Capture
	for _, c := range res.Captures {
		caps = append(caps, Capture{Hop: c.Hop, Node: c.Node, File: c.File, Packets: int64(c.Packets), FirstTS: c.FirstNS, LastTS: c.LastNS})
	}
	var clocks []Clock
	for _, c := range res.Clocks {
		clocks = append(clocks, Clock{Node: c.Node, Reference: c.Reference, OffsetNS: c.OffsetNS, Samples: int64(c.Samples), ErrorNS: c.ErrorNS})
	}
	var encap []Encap
	for _, e := range res.Encap {
		row := Encap{Hop: e.Hop, Type: e.Type, Packets: int64(e.Packets), OverheadBytes: int64(e.OverheadBytes),
			WireBytes: e.WireBytes, Share: e.Share, InnerMTU: int64(e.InnerMTU)}
		if e.VNI != nil {
			v := int64(*e.VNI)
			row.VNI = &v
		}
		encap = append(encap, row)
	}
	return errors.Join(
		writeAll(dir(TableFlows), flows),
		writeAll(dir(TableHopPairs), pairs),
		writeAll(dir(TableFindings), findings),
		writeAll(dir(TableCaptures), caps),
		writeAll(dir(TableClocks), clocks),
		writeAll(dir(TableEncap), encap),
	)
}

// install moves the staged incident into the dataset, table by table,
// replacing an earlier export of it when allowed, and removes the
// staging directory.
func (w *Writer) install() error {
	old := filepath.Join(w.stage, "replaced")
	for _, t := range Tables {
		src := filepath.Join(w.stage, t, w.inc)
		if _, err := os.Stat(src); err != nil {
			if err := os.MkdirAll(src, 0o755); err != nil {
				return fmt.Errorf("create table %s: %w", t, err)
			}
		}
		dst := filepath.Join(w.out, t, w.inc)
		if _, err := os.Stat(dst); err == nil {
			if !w.opt.Replace {
				return fmt.Errorf("dataset %s already holds incident %q", w.out, w.incident)
			}
			if err := os.MkdirAll(filepath.Join(old, t), 0o755); err != nil {
				return fmt.Errorf("replace %s: %w", dst, err)
			}
			if err := os.Rename(dst, filepath.Join(old, t, w.inc)); err != nil {
				return fmt.Errorf("replace %s: %w", dst, err)
			}
		}
		if err := os.MkdirAll(filepath.Join(w.out, t), 0o755); err != nil {
			return fmt.Errorf("create table %s: %w", t, err)
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("install %s: %w", dst, err)
		}
	}
	w.spool.Close()
	return os.RemoveAll(w.stage)
}
