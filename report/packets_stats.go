package report

import (
	"bufio"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hoptrace/hoptrace/decode"
)

// NewPacketStats returns a writer that counts packets per capture point and
// prints a table of the counts at Flush, points in the order first seen: a
// quick look at a capture. Fed by decode.File.Count (hoptrace decode
// --stats without a filter), it costs about what reading the capture
// costs: the packets of common shapes are classified, not decoded.
func NewPacketStats(w io.Writer) PacketCounter {
	return &packetStats{w: bufio.NewWriterSize(w, 64<<10), last: -1}
}

// PacketCounts is what the packet statistics count of a capture point.
type PacketCounts struct {
	Packets, Malformed, Snapped, Tunneled int
}

// Add counts r.
func (c *PacketCounts) Add(r *decode.Record) {
	c.Packets++
	if r.NProblem > 0 {
		c.Malformed++
	}
	if r.Snapped {
		c.Snapped++
	}
	if r.NTunnel > 0 {
		c.Tunneled++
	}
}

// PacketCounter is a PacketWriter that only counts: it takes the counts of
// a run of packets of one capture point at once, which spares its caller
// naming the point and calling the writer for every packet.
type PacketCounter interface {
	PacketWriter
	Count(point string, c PacketCounts)
}

type packetStats struct {
	w      *bufio.Writer
	points []pointStats
	index  map[string]int // into points, by name: a file may hold 100k points
	last   int            // index of the last point written to, or -1
}

type pointStats struct {
	name string
	PacketCounts
}

func (s *packetStats) Write(point string, r *decode.Record) {
	s.point(point).Add(r)
}

func (s *packetStats) Count(point string, c PacketCounts) {
	p := s.point(point)
	p.Packets += c.Packets
	p.Malformed += c.Malformed
	p.Snapped += c.Snapped
	p.Tunneled += c.Tunneled
}

// point returns the counts of point.
func (s *packetStats) point(point string) *PacketCounts {
	// Points repeat packet after packet, and File.Point hands out the same
	// string each time, so this compare is cheap.
	if s.last < 0 || s.points[s.last].name != point {
		s.last = s.find(point)
	}
	return &s.points[s.last].PacketCounts
}

func (s *packetStats) find(point string) int {
	if i, ok := s.index[point]; ok {
		return i
	}
	if s.index == nil {
		s.index = make(map[string]int)
	}
	s.index[point] = len(s.points)
	s.points = append(s.points, pointStats{name: point})
	return len(s.points) - 1
}

func (s *packetStats) Flush() error {
	tw := tabwriter.NewWriter(s.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "capture\tpackets\tmalformed\tsnapped\ttunneled")
	for _, p := range s.points {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", p.name, p.Packets, p.Malformed, p.Snapped, p.Tunneled)
	}
	tw.Flush() // s.w keeps the first error
	return s.w.Flush()
}
