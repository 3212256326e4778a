package report

import (
	"fmt"
	"slices"

	"github.com/hoptrace/hoptrace/analyze"
)

// ladder is a sequence diagram of one flow across its hops, drawn from the
// analysis aggregates (the Result keeps no single packets): a vertical line
// per hop in path order, one arrow per hop pair and direction annotated
// with the median latency of that hop pair, a red cross with the count where
// the flow's packets were dropped, and a stop mark where a direction's path
// ends before the hops other flows reached.
type ladder struct {
	Flow    string
	Why     string
	Width   int
	Height  int
	LineTop int
	LineBot int
	Cols    []ladderCol
	Bands   []ladderBand
	Arrows  []ladderArrow
	Drops   []ladderMark
	Marks   []ladderMark
	Stops   []ladderMark
	Notes   []htmlFinding
}

type ladderCol struct {
	X, LabelY int
	Name      string
	Reached   bool // some packet of the flow was seen here
}

type ladderBand struct {
	X, W, LabelY int
	Node         string
}

type ladderArrow struct {
	X1, X2, Y int
	LabelX    int
	Label     string
	Class     string // "orig", "reply", "drop"
	Title     string
}

type ladderMark struct {
	X, Y   int
	TextX  int
	Anchor string // text-anchor of the text: start or end
	Text   string
	Class  string
}

const (
	ladderLeft  = 44
	ladderRowH  = 28
	ladderRight = 150
	// ladderFit is the width the columns squeeze into before the diagram
	// scrolls: a page 1280 pixels wide.
	ladderFit = 1200
)

// buildLadder draws flow fi of res.
func buildLadder(res *analyze.Result, fi int, why string) *ladder {
	f := res.Flows[fi]
	l := &ladder{Flow: ladderTitle(res, f), Why: why}

	cols, paths, packets := ladderColumns(res, f)
	if len(cols) == 0 {
		l.Notes = append(l.Notes, htmlFinding{Kind: "no path", Text: "no packet of this flow was followed across two hops", Severity: "warn"})
	}

	reached := map[string]bool{}
	for _, p := range paths {
		for _, h := range p {
			reached[h] = true
		}
	}
	node := map[string]string{}
	for _, c := range res.Captures {
		node[c.Hop] = c.Node
	}
	// Columns as wide as fits the page, within bounds; hop names take two
	// or three staggered lines when columns are narrow.
	colW := 112
	if len(cols) > 1 {
		colW = max(58, min(112, (ladderFit-ladderLeft-ladderRight)/(len(cols)-1)))
	}
	stagger := 2
	if colW < 90 {
		stagger = 3
	}
	top := 30 + 14*stagger
	colX := map[string]int{}
	for i, h := range cols {
		x := ladderLeft + i*colW
		colX[h] = x
		l.Cols = append(l.Cols, ladderCol{X: x, LabelY: 24 + 14*(i%stagger), Name: h, Reached: reached[h]})
	}
	l.Width = ladderLeft + max(0, len(cols)-1)*colW + ladderRight

	lat := map[[3]string]analyze.HopLatency{}
	for _, h := range res.Hops {
		lat[[3]string{h.From, h.To, h.Direction.String()}] = h
	}
	type dropKey struct{ from, to, dir string }
	drops := map[dropKey][]analyze.Drop{}
	for _, d := range res.Drops {
		if d.Proto == f.Proto && d.Flow == f.Orig {
			k := dropKey{d.From, d.To, d.Direction.String()}
			drops[k] = append(drops[k], d)
		}
	}

	y := top + 16
	dirs := [2]string{"orig", "reply"}
	// The sender of each direction, by its Kubernetes name, labels where
	// that direction starts.
	var sender [2]string
	if nm := newNamer(res); len(res.Names) > 0 {
		sender[0] = nm.name(f.Orig.Src, f.Orig.SPort, f.Proto, f.FirstNS)
		sender[1] = nm.name(f.Reply.Src, f.Reply.SPort, f.Proto, f.FirstNS)
	}
	arrowY := map[[2]string]int{}     // hop, direction -> y of the arrow arriving there
	arrowLeft := map[[2]string]bool{} // hop, direction -> that arrow comes from the right
	for d, p := range paths {
		if len(p) == 0 {
			continue
		}
		arrowY[[2]string{p[0], dirs[d]}] = y - ladderRowH/2
		start := ladderMark{X: colX[p[0]], Y: y - ladderRowH/2, TextX: colX[p[0]] + 8, Anchor: "start", Class: "start"}
		if len(p) > 1 && colX[p[1]] < colX[p[0]] {
			// Arrows go left: so does the text, clear of the edge.
			start.TextX, start.Anchor = colX[p[0]]-8, "end"
		}
		start.Text = fmt.Sprintf("%s: %d %s", dirs[d], packets[d], plural(packets[d], "packet", "packets"))
		if sender[d] != "" {
			start.Text += " from " + sender[d]
		}
		l.Marks = append(l.Marks, start)
		for i := 1; i < len(p); i++ {
			a := ladderArrow{X1: colX[p[i-1]], X2: colX[p[i]], Y: y, Class: dirs[d]}
			a.LabelX = (a.X1 + a.X2) / 2
			h, ok := lat[[3]string{p[i-1], p[i], dirs[d]}]
			if !ok {
				h, ok = lat[[3]string{p[i-1], p[i], "both"}]
			}
			if ok {
				a.Label = "p50 " + Duration(h.P50NS)
				a.Title = fmt.Sprintf("%s > %s (%s, all flows): p50 %s, p99 %s", h.From, h.To, h.Direction, Duration(h.P50NS), Duration(h.P99NS))
			}
			dropped := false
			if ds := drops[dropKey{p[i-1], p[i], dirs[d]}]; len(ds) > 0 {
				dropped = true
				a.Class = "drop"
				n, reasons := 0, ""
				for _, dr := range ds {
					n += dr.Packets
					if reasons != "" {
						reasons += ", "
					}
					reasons += dr.Reason.String()
				}
				// The cross sits on the last quarter of the arrow, clear of
				// its label; the text gets a row of its own below.
				mx := a.X1 + (a.X2-a.X1)*3/4
				l.Drops = append(l.Drops, ladderMark{X: mx, Y: y, TextX: mx + 10, Anchor: "start",
					Text: fmt.Sprintf("%d of %d dropped (%s)", n, packets[d], reasons), Class: "drop"})
			}
			l.Arrows = append(l.Arrows, a)
			arrowY[[2]string{p[i], dirs[d]}] = y
			arrowLeft[[2]string{p[i], dirs[d]}] = a.X1 > a.X2
			y += ladderRowH
			if dropped {
				y += ladderRowH / 2
			}
		}
		// A direction that ends before the hops the incident's paths go on
		// to: packets stopped after its last hop.
		last := p[len(p)-1]
		li := slices.Index(cols, last)
		next := ""
		if d == 0 && li+1 < len(cols) && !reached[cols[li+1]] {
			next = cols[li+1]
		}
		if next != "" {
			l.Stops = append(l.Stops, ladderMark{X: colX[last], Y: y - ladderRowH/2, TextX: colX[last] + 12, Anchor: "start",
				Text: fmt.Sprintf("stopped: never seen after %s (not at %s)", last, next), Class: "stop"})
			y += ladderRowH
		}
		y += ladderRowH / 2
	}
	if len(paths[1]) == 0 && len(paths[0]) > 0 {
		l.Notes = append(l.Notes, htmlFinding{Kind: "no reply", Text: "no packet was seen in the reply direction", Severity: "warn"})
	}
	for _, m := range res.MTU {
		if m.Proto != f.Proto || m.Flow != f.Orig {
			continue
		}
		l.Notes = append(l.Notes, htmlFinding{Kind: m.Kind.String(), Text: mtuText(m), Severity: mtuSeverity(m.Kind)})
		if x, ok := colX[m.Hop]; ok {
			my, ok := arrowY[[2]string{m.Hop, m.Direction.String()}]
			if !ok {
				my = top + 8
			}
			// The text goes on the side the arrow did not come from.
			mark := ladderMark{X: x, Y: my, TextX: x + 10, Anchor: "start", Text: fmt.Sprintf("%s (MTU %d)", m.Kind, m.MTU), Class: "mtu " + mtuSeverity(m.Kind)}
			if arrowLeft[[2]string{m.Hop, m.Direction.String()}] {
				mark.TextX, mark.Anchor = x-10, "end"
			}
			l.Marks = append(l.Marks, mark)
		}
	}
	l.LineTop, l.LineBot = top, y
	l.Height = y + 34

	// Bands: consecutive columns of one node share a background.
	l.Bands = nodeBands(res, cols, node, colX, colW, l.Height)
	return l
}

// nodeBands gives each run of consecutive ladder columns of one node a
// shared background band, labelled with the node's name, for both ladders.
func nodeBands(res *analyze.Result, cols []string, node map[string]string, colX map[string]int, colW, height int) []ladderBand {
	var bands []ladderBand
	kn := nodeNames(res)
	for i := 0; i < len(cols); {
		j := i
		for j+1 < len(cols) && node[cols[j+1]] == node[cols[i]] {
			j++
		}
		bands = append(bands, ladderBand{X: colX[cols[i]] - colW/2 + 4, W: (j-i+1)*colW - 8, LabelY: height - 10, Node: nodeLabel(kn, node[cols[i]])})
		i = j + 1
	}
	return bands
}

// isSubsequence reports whether all of sub appear in s in the same order.
func isSubsequence(sub, s []string) bool {
	i := 0
	for _, v := range s {
		if i < len(sub) && v == sub[i] {
			i++
		}
	}
	return i == len(sub)
}

// ladderColumns returns the hops a flow's ladder shows, in order: the
// longest path of the incident that holds the flow's original path in
// order, so hops the flow never reached show; then the reply path's hops
// that are not there yet, beside their neighbours. It also returns the
// flow's paths and packets per direction (orig, reply).
func ladderColumns(res *analyze.Result, f analyze.Flow) (cols []string, paths [2][]string, packets [2]int) {
	for _, p := range res.Paths {
		if p.Proto != f.Proto || p.Flow != f.Orig {
			continue
		}
		d := 0
		if p.Direction == analyze.DirReply {
			d = 1
		}
		paths[d], packets[d] = p.Hops, p.Packets
	}

	cols = slices.Clone(paths[0])
	for _, p := range res.Paths {
		if len(p.Hops) > len(cols) && isSubsequence(paths[0], p.Hops) {
			cols = slices.Clone(p.Hops)
		}
	}
	// A hop a path crosses twice (NodePort: a node's eth0 in plain, then
	// in VXLAN) is one line of the ladder; its second arrow comes back to it.
	once := map[string]bool{}
	cols = slices.DeleteFunc(cols, func(h string) bool {
		again := once[h]
		once[h] = true
		return again
	})
	back := slices.Clone(paths[1])
	slices.Reverse(back)
	prev := -1
	for _, h := range back {
		if i := slices.Index(cols, h); i >= 0 {
			prev = i
			continue
		}
		cols = slices.Insert(cols, prev+1, h)
		prev++
	}
	return cols, paths, packets
}
