package report

import (
	"github.com/hoptrace/hoptrace/analyze"
)

// PacketLog keeps what the HTML report shows of single packets, fed by
// analyze's Trace hook: for every packet followed, a compact record (its
// last time, its fate number, whether it was a retransmission) for the
// drops/retransmissions strip, and the full sightings of the first packets
// of each flow direction for the per-packet ladder. What became of a packet
// is the analysis' own answer (Result.Fate), so the report never places a
// drop differently from the drop table. Both parts are bounded, so a huge
// incident costs a fixed amount of memory. The zero value is not usable:
// call NewPacketLog. Not safe for concurrent use.
type PacketLog struct {
	points []packetPoint
	full   map[traceDir][]*analyze.Trace
	nFull  int
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
	ts      int64 // the packet's last sighting
	fate    int32 // Trace.Fate
	retrans bool
}

// The log's bounds. A compact record is 16 bytes (4M: 64 MB); a full trace
// of an 18-hop path about 2 KB (20k: 40 MB).
const (
	maxLogPoints  = 4 << 20
	maxFullPerDir = 200
	maxFullTraces = 20000
)

// NewPacketLog returns an empty log.
func NewPacketLog() *PacketLog {
	return &PacketLog{full: map[traceDir][]*analyze.Trace{}}
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
	last := t.Sightings[0].TS
	for _, sg := range t.Sightings {
		last = max(last, sg.TS)
	}
	l.points = append(l.points, packetPoint{ts: last, fate: t.Fate, retrans: t.Retransmission})
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

// hopOf returns the analysis' name of a sighting's hop.
func hopOf(names map[[2]string]string, s analyze.Sighting) string {
	if h, ok := names[[2]string{s.Capture.Node, s.Point}]; ok {
		return h
	}
	return s.Point
}
