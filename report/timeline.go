package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/hoptrace/hoptrace/analyze"
)

// packetLadder is the chosen flow drawn packet by packet on a real time
// axis: a vertical line per hop, time running down, each packet's arrows
// from hop to hop at the times it was seen there, a red cross where and
// when a dropped packet was last seen.
type packetLadder struct {
	Flow    string
	Why     string
	Shown   int
	Total   int
	Width   int
	Height  int
	Top     int
	Bottom  int
	Cols    []ladderCol
	Bands   []ladderBand
	Ticks   []timeTick
	Packets []ladderPacket
	Drops   []ladderMark
	Notes   []htmlFinding
}

type timeTick struct {
	Y     int
	Label string
}

type ladderPacket struct {
	Class  string // orig, reply, retrans
	Title  string
	Start  ladderMark
	Points string // polyline points "x,y x,y"
}

// maxLadderPackets is how many packets the per-packet ladder draws: enough
// to see a pattern, few enough to tell them apart.
const maxLadderPackets = 120

// buildPacketLadder draws flow fi from the packets the log kept of it; nil
// when the log has none.
func buildPacketLadder(res *analyze.Result, fi int, why string, log *PacketLog) *packetLadder {
	pods, _ := splitFlows(res.Flows)
	f := pods[fi]
	var traces []*analyze.Trace
	for _, dir := range []analyze.Direction{analyze.DirOrig, analyze.DirReply} {
		traces = append(traces, log.full[traceDir{flowKey{f.Proto, f.Orig}, dir}]...)
	}
	if len(traces) == 0 {
		return nil
	}
	slices.SortStableFunc(traces, func(a, b *analyze.Trace) int { return cmp.Compare(a.Sightings[0].TS, b.Sightings[0].TS) })
	l := &packetLadder{Flow: ladderTitle(res, f), Why: why, Total: f.Packets}
	if len(traces) > maxLadderPackets {
		traces = traces[:maxLadderPackets]
	}
	l.Shown = len(traces)
	names := hopNames(res)
	cols, _, _ := ladderColumns(res, f)
	colX := map[string]int{}
	colW := 112
	if len(cols) > 1 {
		colW = max(58, min(112, (ladderFit-ladderLeft-ladderRight)/(len(cols)-1)))
	}
	stagger := 2
	if colW < 90 {
		stagger = 3
	}
	left := ladderLeft + 60 // room for the time axis
	for i, h := range cols {
		x := left + i*colW
		colX[h] = x
		l.Cols = append(l.Cols, ladderCol{X: x, LabelY: 24 + 14*(i%stagger), Name: h, Reached: true})
	}
	l.Width = left + max(0, len(cols)-1)*colW + ladderRight + 40
	l.Top = 30 + 14*stagger + 8

	t0, t1 := traces[0].Sightings[0].TS, traces[0].Sightings[0].TS
	for _, t := range traces {
		for _, s := range t.Sightings {
			t0, t1 = min(t0, s.TS), max(t1, s.TS)
		}
	}
	plotH := min(900, max(240, 12*len(traces)))
	span := max(t1-t0, 1)
	y := func(ts int64) int { return l.Top + int(float64(ts-t0)/float64(span)*float64(plotH)) }
	l.Bottom = l.Top + plotH + 12
	for _, tk := range niceTicks(span) {
		l.Ticks = append(l.Ticks, timeTick{Y: y(t0 + tk), Label: offsetText(tk)})
	}
	node := map[string]string{}
	for _, c := range res.Captures {
		node[c.Hop] = c.Node
	}
	for n, t := range traces {
		p := ladderPacket{Class: t.Direction.String()}
		if t.Retransmission {
			p.Class = "retrans"
		}
		var pts []byte
		lastHop, lastTS := "", int64(0)
		// Taps that share a kernel timestamp are drawn in column order.
		sights := slices.Clone(t.Sightings)
		slices.SortStableFunc(sights, func(a, b analyze.Sighting) int {
			return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(colX[hopOf(names, a)], colX[hopOf(names, b)]))
		})
		for _, s := range sights {
			h := hopOf(names, s)
			x, ok := colX[h]
			if !ok || h == lastHop {
				continue
			}
			pts = fmt.Appendf(pts, "%d,%d ", x, y(s.TS))
			lastHop, lastTS = h, s.TS
		}
		if len(pts) == 0 {
			continue
		}
		first := t.Sightings[0]
		p.Start = ladderMark{X: colX[hopOf(names, first)], Y: y(first.TS)}
		p.Points = string(pts[:len(pts)-1])
		fate := res.Fate(t.Fate)
		p.Title = fmt.Sprintf("packet %d (%s) at %s", n+1, t.Direction, offsetText(first.TS-t0))
		if t.Retransmission {
			p.Title += ", a retransmission"
		}
		if fate.Verdict == analyze.VerdictDropped {
			x := colX[fate.From]
			tx := x + colW/2
			if tx2, ok := colX[fate.To]; ok {
				tx = (x + tx2) / 2
			}
			text := fmt.Sprintf("dropped after %s at %s (%s)", fate.From, offsetText(lastTS-t0), fate.Reason)
			l.Drops = append(l.Drops, ladderMark{X: tx, Y: y(lastTS), Text: text, Class: "drop"})
			p.Title += "; " + text
		}
		l.Packets = append(l.Packets, p)
	}
	if len(l.Drops) == 0 {
		l.Notes = append(l.Notes, htmlFinding{Kind: "no drops", Text: "every packet drawn reached the end of its path", Severity: "ok"})
	}
	l.Height = l.Bottom + 34
	l.Bands = nodeBands(res, cols, node, colX, colW, l.Height)
	return l
}

// timeStrip is the incident's dropped packets and retransmissions over
// time: one column per time bin, drops up in red, retransmissions down.
type timeStrip struct {
	Width, Height int
	Mid           int
	PlotL, PlotR  int
	Bins          []stripBin
	Ticks         []chartTick
	Drops         int
	Retrans       int
	Truncated     int
	MaxDrops      int
	MaxRetrans    int
}

type stripBin struct {
	X, W         int
	DropY, DropH int
	RetrY, RetrH int
	Title        string
}

const (
	stripBins  = 200
	stripW     = 1180
	stripPlotL = 60
	stripPlotR = 1160
	stripHalf  = 36
)

// buildStrip bins the logged packets' drops and retransmissions over the
// incident's window.
func buildStrip(res *analyze.Result, w Window, log *PacketLog) *timeStrip {
	span := max(w.LastNS-w.FirstNS, 1)
	drops := make([]int, stripBins)
	retrans := make([]int, stripBins)
	s := &timeStrip{Width: stripW, PlotL: stripPlotL, PlotR: stripPlotR, Truncated: log.Truncated}
	for _, p := range log.points {
		b := int(float64(p.ts-w.FirstNS) / float64(span) * stripBins)
		b = max(0, min(stripBins-1, b))
		d := res.Fate(p.fate).Verdict == analyze.VerdictDropped
		if d {
			drops[b]++
			s.Drops++
		}
		if p.retrans {
			retrans[b]++
			s.Retrans++
		}
	}
	if s.Drops == 0 && s.Retrans == 0 {
		return s
	}
	s.MaxDrops, s.MaxRetrans = slices.Max(drops), slices.Max(retrans)
	s.Mid = 8 + stripHalf
	s.Height = s.Mid + stripHalf + 24
	bw := float64(stripPlotR-stripPlotL) / stripBins
	scale := max(s.MaxDrops, s.MaxRetrans)
	for i := range stripBins {
		if drops[i] == 0 && retrans[i] == 0 {
			continue
		}
		x := stripPlotL + int(float64(i)*bw)
		bin := stripBin{X: x, W: max(2, int(bw))}
		bin.DropH = (drops[i]*stripHalf + scale - 1) / scale
		bin.DropY = s.Mid - bin.DropH
		bin.RetrY = s.Mid
		bin.RetrH = (retrans[i]*stripHalf + scale - 1) / scale
		from := int64(float64(i) / stripBins * float64(span))
		bin.Title = fmt.Sprintf("%s–%s: %d dropped, %d retransmitted", offsetText(from), offsetText(from+span/stripBins), drops[i], retrans[i])
		s.Bins = append(s.Bins, bin)
	}
	for _, t := range niceTicks(span) {
		s.Ticks = append(s.Ticks, chartTick{X: stripPlotL + int(float64(t)/float64(span)*float64(stripPlotR-stripPlotL)), Label: offsetText(t)})
	}
	return s
}
