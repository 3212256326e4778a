package merge

import (
	"fmt"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/report"
)

// Annotate turns the traces of an analysis into packet comments that say
// what the analysis says, in its words: the flow and direction, the hop's
// position on the flow direction's path (the analysis' order, so taps that
// share a timestamp are numbered as analyze lists them), the time since
// the previous hop of that path, the next hop, the MTU findings there, and
// for a packet the analysis counts as dropped (Result.Fate), "last seen
// here" at the hop the drop table names with the hop it never reached and
// the reason.
func Annotate(notes *Notes, res *analyze.Result, traces []*analyze.Trace) {
	type dirKey struct {
		flow analyze.TupleJSON
		prot analyze.Proto
		dir  analyze.Direction
	}
	paths := map[dirKey][]string{}
	for _, p := range res.Paths {
		paths[dirKey{p.Flow, p.Proto, p.Direction}] = p.Hops
	}
	type hopKey struct {
		dirKey
		hop string
	}
	findings := map[hopKey][]string{}
	for _, m := range res.MTU {
		k := hopKey{dirKey{m.Flow, m.Proto, m.Direction}, m.Hop}
		findings[k] = append(findings[k], fmt.Sprintf("%s (MTU %d): %s", m.Kind, m.MTU, m.Detail))
	}
	// The analysis names a hop "point", or "node/point" when nodes share
	// the point's name.
	names := map[[2]string]string{}
	for _, c := range res.Captures {
		point, _ := strings.CutPrefix(c.Hop, c.Node+"/")
		names[[2]string{c.Node, point}] = c.Hop
	}
	hopOf := func(s analyze.Sighting) string {
		if h, ok := names[[2]string{s.Capture.Node, s.Point}]; ok {
			return h
		}
		return s.Point
	}
	for _, t := range traces {
		dk := dirKey{t.Flow, t.Proto, t.Direction}
		path := paths[dk]
		pos := make(map[string]int, len(path))
		for i, h := range path {
			pos[h] = i
		}
		flow := report.FlowText(t.Proto, t.Flow) + " " + t.Direction.String()
		// When the packet reached each hop (the first piece, for a
		// fragmented datagram).
		first := map[string]int64{}
		for _, s := range t.Sightings {
			h := hopOf(s)
			if ts, ok := first[h]; !ok || s.TS < ts {
				first[h] = s.TS
			}
		}
		fate := res.Fate(t.Fate)
		dropped := fate.Verdict == analyze.VerdictDropped
		for i, s := range t.Sightings {
			h := hopOf(s)
			var b strings.Builder
			k, onPath := pos[h]
			if onPath {
				fmt.Fprintf(&b, "hoptrace: %s, hop %d of %d (%s)", flow, k+1, len(path), h)
				for j := k - 1; j >= 0; j-- {
					if ts, ok := first[path[j]]; ok {
						fmt.Fprintf(&b, ", %s since %s", signed(s.TS-ts), path[j])
						break
					}
				}
			} else {
				fmt.Fprintf(&b, "hoptrace: %s, at %s (not on its path)", flow, h)
			}
			switch {
			case dropped && h == fate.From && onlyPieceAt(t, hopOf, h, i):
				fmt.Fprintf(&b, "; last seen here: never reached %s (dropped, reason %s)", fate.To, fate.Reason)
			case onPath && k+1 < len(path):
				fmt.Fprintf(&b, "; next %s", path[k+1])
			case onPath:
				b.WriteString("; end of its path")
			}
			for _, f := range findings[hopKey{dk, h}] {
				fmt.Fprintf(&b, "; %s", f)
			}
			notes.Add(s.Capture.Path, s.Index, b.String())
		}
	}
}

// onlyPieceAt reports whether sighting i is the last of the packet's
// sightings at hop h: a fragmented datagram or GSO frame is seen there in
// pieces, each commented; the last piece carries "last seen".
func onlyPieceAt(t *analyze.Trace, hopOf func(analyze.Sighting) string, h string, i int) bool {
	for j := i + 1; j < len(t.Sightings); j++ {
		if hopOf(t.Sightings[j]) == h {
			return false
		}
	}
	return true
}

// signed writes a time difference with its sign: "+4.08µs", "-732ms"
// (below zero when clock correction left a cross-node step negative).
func signed(ns int64) string {
	if ns < 0 {
		return report.Duration(ns)
	}
	return "+" + report.Duration(ns)
}
