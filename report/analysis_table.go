package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/hoptrace/hoptrace/analyze"
)

// writeAnalysisTable writes a summary and then one section per kind of
// finding, most important first: drops, MTU, paths, latency, clocks,
// encapsulation, flows, captures, warnings. Empty sections are left out.
func writeAnalysisTable(w io.Writer, res *analyze.Result) error {
	bw := bufio.NewWriter(w)
	nm := newNamer(res)
	fmt.Fprintln(bw, summaryLine(res))
	fmt.Fprintln(bw, verdictLine(res))

	section(bw, "DROPS", []string{"from", "to", "flow", "dir", "packets", "reason", "detail"}, len(res.Drops), func(add func(...string)) {
		for _, d := range res.Drops {
			add(d.From, d.To, nm.flow(d.Proto, d.Flow), d.Direction.String(), strconv.Itoa(d.Packets), d.Reason.String(), d.Detail)
		}
	})
	section(bw, "MTU AND FRAGMENTATION", []string{"kind", "hop", "flow", "dir", "mtu", "packets", "detail"}, len(res.MTU), func(add func(...string)) {
		for _, m := range res.MTU {
			add(m.Kind.String(), m.Hop, nm.flow(m.Proto, m.Flow), m.Direction.String(), strconv.Itoa(m.MTU), strconv.Itoa(m.Packets), m.Detail)
		}
	})
	section(bw, "PATHS", []string{"flow", "dir", "packets", "hops"}, len(res.Paths), func(add func(...string)) {
		for _, p := range res.Paths {
			add(nm.flow(p.Proto, p.Flow), p.Direction.String(), strconv.Itoa(p.Packets), strings.Join(p.Hops, " > "))
		}
	})
	namesSection := nameRows(res)
	section(bw, "NAMES", namesHeader, len(namesSection), func(add func(...string)) {
		for _, r := range namesSection {
			add(r...)
		}
	})
	section(bw, "HOP LATENCY", []string{"from", "to", "dir", "packets", "min", "p50", "p90", "p99", "max", "note"}, len(res.Hops), func(add func(...string)) {
		for _, h := range res.Hops {
			note := ""
			if h.CrossNode {
				note = "cross-node"
			}
			if h.Negative > 0 {
				note = strings.TrimSpace(note + fmt.Sprintf(" %d below zero left out", h.Negative))
			}
			add(h.From, h.To, h.Direction.String(), strconv.Itoa(h.Packets), Duration(h.MinNS), Duration(h.P50NS), Duration(h.P90NS), Duration(h.P99NS), Duration(h.MaxNS), note)
		}
	})
	section(bw, "CLOCKS", []string{"node", "reference", "offset", "error", "samples"}, len(res.Clocks), func(add func(...string)) {
		for _, c := range res.Clocks {
			add(c.Node, c.Reference, Duration(c.OffsetNS), "±"+Duration(c.ErrorNS), strconv.Itoa(c.Samples))
		}
	})
	section(bw, "ENCAPSULATION", []string{"hop", "type", "vni", "packets", "overhead", "share", "inner mtu"}, len(res.Encap), func(add func(...string)) {
		for _, e := range res.Encap {
			vni := "-"
			if e.VNI != nil {
				vni = strconv.FormatUint(uint64(*e.VNI), 10)
			}
			add(e.Hop, e.Type, vni, strconv.Itoa(e.Packets), fmt.Sprintf("%d B", e.OverheadBytes), fmt.Sprintf("%.1f%%", 100*e.Share), strconv.Itoa(e.InnerMTU))
		}
	})
	flowsSection(bw, res.Flows)
	section(bw, "CAPTURES", []string{"node", "hop", "packets", "file"}, len(res.Captures), func(add func(...string)) {
		for _, c := range res.Captures {
			add(c.Node, c.Hop, strconv.Itoa(c.Packets), c.File)
		}
	})
	bg := backgroundRows(res)
	section(bw, "BACKGROUND", plainHeader(backgroundHeader), len(bg), func(add func(...string)) {
		for _, r := range bg {
			add(r...)
		}
	})
	if len(res.Warnings) > 0 {
		fmt.Fprintln(bw, "\nWARNINGS")
		for _, s := range res.Warnings {
			fmt.Fprintln(bw, "  "+s)
		}
	}
	return bw.Flush()
}

// flowsSection writes the flow table: tuples, conntrack state and flags,
// counters and Wireshark-style TCP counts (orig/reply).
func flowsSection(bw io.Writer, flows []analyze.Flow) {
	pods, carriers := splitFlows(flows)
	section(bw, "FLOWS", []string{"proto", "orig", "reply", "state", "packets", "bytes", "retrans", "ooo", "zero win", "nat"}, len(pods), func(add func(...string)) {
		for _, f := range pods {
			orig, reply := flowTuples(f)
			add(f.Proto.String(), orig, reply, flowState(f), strconv.Itoa(f.Packets), strconv.Itoa(f.Bytes),
				pair(f.OrigStats.Retransmits, f.ReplStats.Retransmits), pair(f.OrigStats.OutOfOrder, f.ReplStats.OutOfOrder),
				pair(f.OrigStats.ZeroWindow, f.ReplStats.ZeroWindow), f.NAT)
		}
	})
	section(bw, "TUNNEL CARRIERS", []string{"tunnel", "proto", "orig", "reply", "state", "packets", "bytes"}, len(carriers), func(add func(...string)) {
		for _, f := range carriers {
			add(carrierRow(f)...)
		}
	})
}

// carrierHeader and carrierRow make the table of the tunnel carriers in
// Markdown and HTML (":" marks a numeric column).
var carrierHeader = []string{"tunnel", "proto", "orig", "reply", "state", "packets:", "bytes:"}

func carrierRow(f analyze.Flow) []string {
	orig, reply := flowTuples(f)
	return []string{f.Tunnel, f.Proto.String(), orig, reply, flowState(f), strconv.Itoa(f.Packets), strconv.Itoa(f.Bytes)}
}

// splitFlows cuts an analysis' flows into the pod flows and the tunnel
// carriers that follow them.
func splitFlows(flows []analyze.Flow) (pods, carriers []analyze.Flow) {
	i := slices.IndexFunc(flows, func(f analyze.Flow) bool { return f.Tunnel != "" })
	if i < 0 {
		return flows, nil
	}
	return flows[:i], flows[i:]
}

// section writes a titled ASCII table, or nothing when it has no rows.
func section(w io.Writer, title string, header []string, rows int, fill func(add func(...string))) {
	if rows == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
	t := tablewriter.NewTable(w,
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(toAny(header)...)
	fill(func(cells ...string) { t.Append(toAny(cells)...) })
	t.Render()
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func summaryLine(res *analyze.Result) string {
	nodes := map[string]bool{}
	packets := 0
	for _, c := range res.Captures {
		nodes[c.Node] = true
		packets += c.Packets
	}
	pods, carriers := splitFlows(res.Flows)
	line := fmt.Sprintf("hoptrace: %s on %s, %s, %s",
		count(len(res.Captures), "capture point"), count(len(nodes), "node"), count(packets, "packet"), count(len(pods), "flow"))
	if len(carriers) > 0 {
		line += " (" + count(len(carriers), "tunnel carrier") + ")"
	}
	return line
}

// verdictLine says in one line what matters most.
func verdictLine(res *analyze.Result) string {
	dropped, gaps := 0, 0
	for _, d := range res.Drops {
		if d.Reason == analyze.DropCaptureGap {
			gaps += d.Packets
		} else {
			dropped += d.Packets
		}
	}
	var parts []string
	if dropped > 0 {
		parts = append(parts, count(dropped, "packet")+" dropped")
	}
	if gaps > 0 {
		parts = append(parts, count(gaps, "packet")+" missed by a capture")
	}
	if len(res.MTU) > 0 {
		parts = append(parts, count(len(res.MTU), "MTU/fragmentation finding"))
	}
	if len(parts) == 0 {
		return "verdict: no drops, no MTU findings"
	}
	return "verdict: " + strings.Join(parts, ", ")
}

// count writes a count with its noun: "1 packet", "3 packets".
func count(n int, noun string) string {
	return strconv.Itoa(n) + " " + plural(n, noun, noun+"s")
}

func flowText(proto analyze.Proto, t analyze.TupleJSON) string {
	if proto.IsICMP() {
		return proto.String() + " " + icmpText(t)
	}
	return proto.String() + " " + tupleText(t)
}

// icmpText writes an ICMP echo tuple, whose SPort is the echo identifier.
func icmpText(t analyze.TupleJSON) string {
	if t.SPort == 0 {
		return t.Src + " > " + t.Dst
	}
	return fmt.Sprintf("%s > %s id %d", t.Src, t.Dst, t.SPort)
}

func tupleText(t analyze.TupleJSON) string {
	if t.SPort == 0 && t.DPort == 0 {
		return t.Src + " > " + t.Dst
	}
	return fmt.Sprintf("%s > %s", hostPort(t.Src, t.SPort), hostPort(t.Dst, t.DPort))
}

func hostPort(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

func pair(a, b int) string {
	if a == 0 && b == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", a, b)
}

// Duration writes a nanosecond count with three significant digits and an
// ASCII unit: 870ns, 12.3us, 4.56ms, 1.20s.
func Duration(ns int64) string {
	neg := ""
	if ns < 0 {
		neg, ns = "-", -ns
	}
	switch {
	case ns < 1000:
		return fmt.Sprintf("%s%dns", neg, ns)
	case ns < 1_000_000:
		return neg + sig3(float64(ns)/1e3) + "us"
	case ns < 1_000_000_000:
		return neg + sig3(float64(ns)/1e6) + "ms"
	}
	return neg + sig3(float64(ns)/1e9) + "s"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
