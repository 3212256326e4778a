package report

import (
	"strconv"

	"github.com/hoptrace/hoptrace/analyze"
)

// namer writes flows with the Kubernetes names of their ends next to
// their addresses: "tcp 10.244.0.5:49528 > 10.96.0.10:80 (default/client >
// svc/default/web:80)". Without names it writes flowText. Pods that reused
// an address are told apart by the flow's first packet time, looked up in
// an index of the flows built once.
type namer struct {
	res   *analyze.Result
	first map[flowKey]int
}

func newNamer(res *analyze.Result) namer {
	if len(res.Names) == 0 {
		return namer{res: res}
	}
	return namer{res: res, first: flowIndexOf(res.Flows)}
}

// flow writes a flow's tuple with its names.
func (n namer) flow(proto analyze.Proto, t analyze.TupleJSON) string {
	return flowText(proto, t) + n.suffix(proto, t)
}

// suffix returns " (SRC-NAME > DST-NAME)" for a flow, or "" without names.
func (n namer) suffix(proto analyze.Proto, t analyze.TupleJSON) string {
	s := ""
	if len(n.res.Names) == 0 {
		return s
	}
	var ts int64
	if i, ok := n.first[flowKey{proto, t}]; ok {
		ts = n.res.Flows[i].FirstNS
	}
	src, okS := n.res.NameOf(t.Src, t.SPort, proto, ts)
	dst, okD := n.res.NameOf(t.Dst, t.DPort, proto, ts)
	if !okS && !okD {
		return s
	}
	name := func(x analyze.Name, ok bool) string {
		if !ok {
			return "?"
		}
		return x.Name
	}
	return " (" + name(src, okS) + " > " + name(dst, okD) + ")"
}

// namesHeader and nameRows are the names section of every format.
var namesHeader = []string{"address", "port", "kind", "name", "node", "detail"}

func nameRows(res *analyze.Result) [][]string {
	var rows [][]string
	for _, n := range res.Names {
		port := ""
		if n.Port != 0 {
			port = strconv.Itoa(int(n.Port)) + "/" + n.Proto.String()
		}
		node := n.Node
		if n.Capture != "" {
			node += " (captures: " + n.Capture + ")"
		}
		rows = append(rows, []string{n.Addr.String(), port, n.Kind.String(), n.Name, node, n.Detail})
	}
	return rows
}

// name returns the name of one end of a flow whose first packet was at ts,
// or "" without one.
func (n namer) name(addr string, port uint16, proto analyze.Proto, ts int64) string {
	if len(n.res.Names) == 0 {
		return ""
	}
	x, ok := n.res.NameOf(addr, port, proto, ts)
	if !ok {
		return ""
	}
	return x.Name
}

// ends writes the names of a flow's ends for the "names" column of the flow
// tables: "SRC > DST" of the original direction, then what the reply tuple
// names that the original does not (the backend a Service was translated
// to: "→ default/web-7d9c8f6b5-k4m2p"; the address a source was translated
// to: "reply to NAME"). An unnamed end is "?"; a flow with no named end is "".
func (n namer) ends(f analyze.Flow) string {
	o, r := f.Orig, f.Reply
	ts := f.FirstNS
	src, dst := n.name(o.Src, o.SPort, f.Proto, ts), n.name(o.Dst, o.DPort, f.Proto, ts)
	rsrc, rdst := n.name(r.Src, r.SPort, f.Proto, ts), n.name(r.Dst, r.DPort, f.Proto, ts)
	if src == "" && dst == "" && rsrc == "" && rdst == "" {
		return ""
	}
	q := func(s string) string {
		if s == "" {
			return "?"
		}
		return s
	}
	s := q(src) + " > " + q(dst)
	if (r.Src != o.Dst || r.SPort != o.DPort) && rsrc != "" && rsrc != dst {
		s += " → " + rsrc
	}
	if (r.Dst != o.Src || r.DPort != o.SPort) && rdst != "" && rdst != src {
		s += " (reply to " + rdst + ")"
	}
	return s
}

// nodeNames maps the incident's node folders to their Kubernetes node
// names where these differ ("node-1" → "worker-1").
func nodeNames(res *analyze.Result) map[string]string {
	m := map[string]string{}
	for _, x := range res.Names {
		if x.Kind == analyze.NameNode && x.Capture != "" && x.Node != "" && x.Capture != x.Node {
			m[x.Capture] = x.Node
		}
	}
	return m
}

// ladderTitle writes the flow a ladder draws: its tuples, then the names of
// its ends when the analysis has Kubernetes names.
func ladderTitle(res *analyze.Result, f analyze.Flow) string {
	orig, reply := flowTuples(f)
	s := f.Proto.String() + " " + orig
	if orig != reply {
		s += " (reply " + reply + ")"
	}
	if ends := newNamer(res).ends(f); ends != "" {
		s += " · " + ends
	}
	return s
}

// nodeLabel writes a node folder with its Kubernetes node name: "node-1
// (worker-1)", or the folder alone when it is the node's name or unknown.
func nodeLabel(names map[string]string, node string) string {
	if k, ok := names[node]; ok {
		return node + " (" + k + ")"
	}
	return node
}
