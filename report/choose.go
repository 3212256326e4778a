package report

import (
	"cmp"

	"github.com/hoptrace/hoptrace/analyze"
)

// ChooseFlow picks the flow a report follows in detail: the one spec names,
// or, when spec is empty, the worst flow: most packets dropped, else most
// packets in MTU findings (a frag-needed flow stops early without a drop),
// else crossing the hop pair with the largest p99 latency, else the most
// packets.
// spec is a 1-based index into the flow table or a tuple such as
// "10.244.0.5:40000>10.244.1.5:8080" (spaces and a protocol prefix allowed,
// either the original or the reply tuple). It returns -1 when there are no
// flows.
func ChooseFlow(res *analyze.Result, spec string) (int, error) {
	return chooseFlow(res, spec, nil, nil)
}

// flowKey identifies a pod flow of a Result by its original tuple, as
// paths, drops and MTU findings name it.
type flowKey struct {
	proto analyze.Proto
	orig  analyze.TupleJSON
}

// flowIndexOf maps each flow's original tuple to its index in flows. Paths,
// drops and MTU findings are looked up in it: scanning the flow list per
// entry made choosing the ladder flow quadratic (100k flows: 92 s).
func flowIndexOf(flows []analyze.Flow) map[flowKey]int {
	idx := make(map[flowKey]int, len(flows))
	for i := range flows {
		k := flowKey{flows[i].Proto, flows[i].Orig}
		if _, dup := idx[k]; !dup { // a restarted connection: the first holds the paths
			idx[k] = i
		}
	}
	return idx
}

// chooseFlow is ChooseFlow; steps, when not nil, counts the entries it
// visits, for the test that holds the work linear in the input.
// idx, when not nil, is flowIndexOf of the pod flows, built already.
func chooseFlow(res *analyze.Result, spec string, steps *int, idx map[flowKey]int) (int, error) {
	step := func() {
		if steps != nil {
			*steps++
		}
	}
	flows, _ := splitFlows(res.Flows) // carriers have no path to draw
	if spec != "" {
		return findFlow(flows, spec)
	}
	if len(flows) == 0 {
		return -1, nil
	}
	if idx == nil {
		idx = flowIndexOf(flows)
	}
	dropped := make([]int, len(flows))
	for _, d := range res.Drops {
		step()
		if i, ok := idx[flowKey{d.Proto, d.Flow}]; ok {
			dropped[i] += d.Packets
		}
	}
	mtu := make([]int, len(flows))
	for _, m := range res.MTU {
		step()
		if i, ok := idx[flowKey{m.Proto, m.Flow}]; ok {
			mtu[i] += m.Packets
		}
	}
	p99 := make([]int64, len(flows))
	lat := make(map[[3]string]int64, len(res.Hops))
	for _, h := range res.Hops {
		step()
		lat[[3]string{h.From, h.To, h.Direction.String()}] = h.P99NS
	}
	for _, p := range res.Paths {
		step()
		i, ok := idx[flowKey{p.Proto, p.Flow}]
		if !ok {
			continue
		}
		for j := 1; j < len(p.Hops); j++ {
			for _, dir := range []string{p.Direction.String(), "both"} {
				if v, ok := lat[[3]string{p.Hops[j-1], p.Hops[j], dir}]; ok && v > p99[i] {
					p99[i] = v
				}
			}
		}
	}
	best := 0
	for i := 1; i < len(flows); i++ {
		step()
		if c := cmp.Or(cmp.Compare(dropped[i], dropped[best]), cmp.Compare(mtu[i], mtu[best]), cmp.Compare(p99[i], p99[best]),
			cmp.Compare(flows[i].Packets, flows[best].Packets)); c > 0 {
			best = i
		}
	}
	return best, nil
}
