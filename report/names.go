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
