package report

import (
	"github.com/hoptrace/hoptrace/analyze"
)

// PacketLog keeps what the HTML report shows of single packets, fed by
// analyze's Trace hook: for every packet followed, a compact record (its
// flow direction, first time, last hop, whether it was a retransmission)
// for the drops/retransmissions strip, and the full sightings of the first
// packets of each flow direction for the per-packet ladder. Both are
// bounded, so a huge incident costs a fixed amount of memory. The zero
// value is not usable: call NewPacketLog. Not safe for concurrent use.
type PacketLog struct {
	points  []packetPoint
	dirs    map[traceDir]uint32
	dirList []traceDir
	hops    map[[2]string]uint16
	hopList [][2]string // node, point
	full    map[traceDir][]*analyze.Trace
	nFull   int
	// Truncated counts the packets beyond the log's bounds: left out of
	// the strip.
	Truncated int
}

// traceDir is a flow direction as traces name it.
type traceDir struct {
	flowKey
	dir analyze.Direction
}

type packetPoint struct {
	ts      int64  // the packet's last sighting
	seen    uint64 // hops seen, bits indexing hopList
	dir     uint32
	retrans bool
}

// The log's bounds. A compact record is 24 bytes (4M: 96 MB); a full trace
// of an 18-hop path about 1.2 KB (20k: 24 MB). Hops are a bitmask, as in
// the analysis' drop accounting: 64 at most.
const (
	maxLogPoints  = 4 << 20
	maxFullPerDir = 200
	maxFullTraces = 20000
	maxLogHops    = 64
)

// NewPacketLog returns an empty log.
func NewPacketLog() *PacketLog {
	return &PacketLog{dirs: map[traceDir]uint32{}, hops: map[[2]string]uint16{}, full: map[traceDir][]*analyze.Trace{}}
}

// Add records one packet; it is analyze.Options.Trace's signature.
func (l *PacketLog) Add(t *analyze.Trace) {
	if len(t.Sightings) == 0 {
		return
	}
	k := traceDir{flowKey{t.Proto, t.Flow}, t.Direction}
	if len(l.full[k]) < maxFullPerDir && l.nFull < maxFullTraces {
		l.full[k] = append(l.full[k], t)
		l.nFull++
	}
	if len(l.points) >= maxLogPoints {
		l.Truncated++
		return
	}
	di, ok := l.dirs[k]
	if !ok {
		di = uint32(len(l.dirList))
		l.dirs[k] = di
		l.dirList = append(l.dirList, k)
	}
	var seen uint64
	for _, sg := range t.Sightings {
		hk := [2]string{sg.Capture.Node, sg.Point}
		hi, ok := l.hops[hk]
		if !ok {
			if len(l.hopList) >= maxLogHops {
				l.Truncated++
				return
			}
			hi = uint16(len(l.hopList))
			l.hops[hk] = hi
			l.hopList = append(l.hopList, hk)
		}
		seen |= 1 << hi
	}
	last := t.Sightings[len(t.Sightings)-1].TS
	for _, sg := range t.Sightings {
		last = max(last, sg.TS)
	}
	l.points = append(l.points, packetPoint{ts: last, seen: seen, dir: di, retrans: t.Retransmission})
}

// hopNames maps a sighting's node and capture point to the hop name the
// analysis uses (prefixed with the node when nodes share a name).
func hopNames(res *analyze.Result) map[[2]string]string {
	m := map[[2]string]string{}
	for _, c := range res.Captures {
		point := c.Hop
		if len(point) > len(c.Node)+1 && point[:len(c.Node)+1] == c.Node+"/" {
			point = point[len(c.Node)+1:]
		}
		m[[2]string{c.Node, point}] = c.Hop
	}
	return m
}

// Fate is what became of one packet, as the analysis places drops: it was
// dropped between two hops when its flow direction has a drop between them
// and the packet was seen at the first and not at the second (capture
// gaps aside: those packets were seen further on).
type Fate struct {
	Dropped bool
	From    string // the hop it was last seen at before it vanished
	To      string // the hop it never reached
	Reason  analyze.DropReason
}

// Fates answers what became of packets, from an analysis' drops.
type Fates struct {
	drops map[traceDir][]analyze.Drop
	names map[[2]string]string
}

// NewFates indexes the drops of res.
func NewFates(res *analyze.Result) *Fates {
	f := &Fates{drops: map[traceDir][]analyze.Drop{}, names: hopNames(res)}
	for _, d := range res.Drops {
		if d.Reason == analyze.DropCaptureGap {
			continue
		}
		k := traceDir{flowKey{d.Proto, d.Flow}, d.Direction}
		f.drops[k] = append(f.drops[k], d)
	}
	return f
}

// Hop returns the analysis' name of a sighting's hop.
func (f *Fates) Hop(s analyze.Sighting) string {
	if h, ok := f.names[[2]string{s.Capture.Node, s.Point}]; ok {
		return h
	}
	return s.Point
}

// Of returns the fate of a packet of flow direction (proto, flow, dir)
// seen at the hops seen reports.
func (f *Fates) Of(proto analyze.Proto, flow analyze.TupleJSON, dir analyze.Direction, seen func(hop string) bool) Fate {
	for _, d := range f.drops[traceDir{flowKey{proto, flow}, dir}] {
		if seen(d.From) && !seen(d.To) {
			return Fate{Dropped: true, From: d.From, To: d.To, Reason: d.Reason}
		}
	}
	return Fate{}
}

// OfTrace returns the fate of a traced packet.
func (f *Fates) OfTrace(t *analyze.Trace) Fate {
	return f.Of(t.Proto, t.Flow, t.Direction, func(hop string) bool {
		for _, s := range t.Sightings {
			if f.Hop(s) == hop {
				return true
			}
		}
		return false
	})
}
