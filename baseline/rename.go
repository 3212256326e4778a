package baseline

import (
	"slices"

	"github.com/hoptrace/hoptrace/analyze"
)

// joinedNames returns base with the capture points cur joined to another
// by their data renamed as cur names them (CaptureSummary.AlsoPoints): a
// baseline written before the per-interface captures of an incident were
// joined to its -i any capture's interfaces holds each such interface
// twice ("n1-any:if4" beside "n1-veth-pod-a"), and compared as it was
// its every path and hop pair changed. The hop pairs between the two
// names of one point go; of pairs that become one, the one of more
// packets stays. base itself is not changed.
func joinedNames(base, cur *analyze.Result) *analyze.Result {
	hops := map[string]bool{}
	for _, c := range cur.Captures {
		hops[c.Hop] = true
	}
	to := map[string]string{}
	for _, c := range cur.Captures {
		for _, p := range c.AlsoPoints {
			// A name two nodes share is written with its node.
			for _, old := range []string{p, c.Node + "/" + p} {
				if !hops[old] {
					to[old] = c.Hop
				}
			}
		}
	}
	if len(to) == 0 {
		return base
	}
	name := func(h string) string {
		if n, ok := to[h]; ok {
			return n
		}
		return h
	}
	b := *base
	b.Captures = nil
	seen := map[string]bool{}
	for _, c := range base.Captures {
		c.Hop = name(c.Hop)
		if !seen[c.Hop] {
			seen[c.Hop] = true
			b.Captures = append(b.Captures, c)
		}
	}
	b.Paths = make([]analyze.Path, len(base.Paths))
	for i, p := range base.Paths {
		hs := make([]string, 0, len(p.Hops))
		for _, h := range p.Hops {
			if h = name(h); len(hs) == 0 || hs[len(hs)-1] != h {
				hs = append(hs, h)
			}
		}
		p.Hops = hs
		b.Paths[i] = p
	}
	b.Hops = nil
	at := map[[3]string]int{}
	for _, h := range base.Hops {
		h.From, h.To = name(h.From), name(h.To)
		if h.From == h.To {
			continue
		}
		k := [3]string{h.From, h.To, h.Direction.String()}
		if i, ok := at[k]; ok {
			if h.Packets > b.Hops[i].Packets {
				b.Hops[i] = h
			}
			continue
		}
		at[k] = len(b.Hops)
		b.Hops = append(b.Hops, h)
	}
	b.Drops = slices.Clone(base.Drops)
	for i := range b.Drops {
		b.Drops[i].From, b.Drops[i].To = name(b.Drops[i].From), name(b.Drops[i].To)
	}
	b.MTU = slices.Clone(base.MTU)
	for i := range b.MTU {
		b.MTU[i].Hop = name(b.MTU[i].Hop)
	}
	b.Encap = slices.Clone(base.Encap)
	for i := range b.Encap {
		b.Encap[i].Hop = name(b.Encap[i].Hop)
	}
	b.Unjudged = slices.Clone(base.Unjudged)
	for i := range b.Unjudged {
		b.Unjudged[i].From, b.Unjudged[i].To = name(b.Unjudged[i].From), name(b.Unjudged[i].To)
	}
	return &b
}
