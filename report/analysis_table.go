package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// writeAnalysisTable writes the model as text: the header (version,
// window, coverage, clocks), the verdict and its causes, one waterfall per
// path, then the tables, most important first. With color, lines are
// highlighted by the severity the model gives them (ANSI, a terminal only);
// the columns line up exactly as without.
func writeAnalysisTable(w io.Writer, m *Model, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(sev Severity, bold bool, line string) string {
		if !color {
			return line
		}
		c := sevColor[sev]
		if bold {
			c = ansiBold + c
		}
		if c == "" {
			return line
		}
		return c + line + ansiReset
	}
	fmt.Fprintf(bw, "hoptrace %s: %s\n", m.Version, m.Summary)
	fmt.Fprintln(bw, paint(m.Verdict.Severity, true, "verdict: "+m.Verdict.Summary))
	if len(m.Verdict.Causes) > 0 {
		fmt.Fprintln(bw, "\nCAUSES")
		for _, c := range m.Verdict.Causes {
			fmt.Fprintln(bw, paint(c.Severity, false, fmt.Sprintf("  [%s] %s", c.Severity, c.Text)))
			if c.Evidence != "" {
				fmt.Fprintf(bw, "         evidence: %s\n", c.Evidence)
			}
			if c.Next != "" {
				fmt.Fprintf(bw, "         next: %s\n", c.Next)
			}
		}
	}
	fmt.Fprintln(bw)
	for _, l := range headerLines(m) {
		fmt.Fprintln(bw, l)
	}
	for i, wf := range m.Waterfalls {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, paint(wf.Severity, true, fmt.Sprintf("PATH %d: %s (%s)", i+1, wf.Title, wf.Subtitle())))
		sevs := make([]Severity, len(wf.Rows))
		textTable(bw, WaterfallCols, func(add func(...string)) {
			for j, r := range wf.Rows {
				sevs[j] = r.Severity
				add(r.Cells(j)...)
			}
		}, sevs, paint)
	}
	if m.MoreWaterfalls > 0 {
		fmt.Fprintf(bw, "\n(%d more %s; --waterfalls -1 shows every path, --all-hops every hop pair)\n", m.MoreWaterfalls, plural(m.MoreWaterfalls, "path", "paths"))
	}
	if len(m.Waterfalls) > 0 {
		fmt.Fprintln(bw, "step: from the previous hop, over every flow crossing that hop pair; total: the steps' medians added up")
	}
	for _, s := range m.Sections {
		writeTextSection(bw, s, paint)
	}
	if len(m.Warnings) > 0 {
		fmt.Fprintln(bw, "\nWARNINGS")
		for _, s := range m.Warnings {
			fmt.Fprintln(bw, paint(SevWarn, false, "  "+s))
		}
	}
	return bw.Flush()
}

// writeTextSection writes a titled ASCII table; paint, when not nil,
// highlights rows by severity.
func writeTextSection(w io.Writer, s Section, paint func(Severity, bool, string) string) {
	if paint == nil {
		paint = func(_ Severity, _ bool, l string) string { return l }
	}
	fmt.Fprintf(w, "\n%s\n", strings.ToUpper(s.Title))
	header := make([]string, len(s.Cols))
	for i, c := range s.Cols {
		header[i] = c.Name
	}
	sevs := make([]Severity, s.Len())
	textTable(w, header, func(add func(...string)) {
		for i := range s.Len() {
			r := s.RowAt(i)
			sevs[i] = r.Severity
			add(r.Cells...)
		}
	}, sevs, paint)
}

// HeaderText says in a few lines what the analysis covers: its verdict,
// the incident's window, each node's coverage and clocks, as the reports'
// headers do (for the section comment of a merged capture).
func HeaderText(res *analyze.Result) string {
	m := BuildModel(res, AnalysisOptions{headerOnly: true})
	return "verdict: " + m.Verdict.Summary + "\n" + strings.Join(headerLines(m), "\n")
}

// headerLines says which hoptrace made the report, the incident's window,
// what each node's captures cover, and the clocks.
func headerLines(m *Model) []string {
	out := []string{"window: " + m.Window.Text()}
	for _, c := range m.Coverage {
		l := fmt.Sprintf("  %s: %s, %s–%s", c.Node, count(c.Captures, "capture point"), offsetText(c.FirstNS-m.Window.FirstNS), offsetText(c.LastNS-m.Window.FirstNS))
		if n := len(c.Partial); n > 0 {
			l += "; packets only within: " + strings.Join(c.Partial[:min(n, 3)], ", ")
			if n > 3 {
				l += fmt.Sprintf(" and %d more", n-3)
			}
		}
		out = append(out, l)
	}
	for _, c := range m.Clocks {
		out = append(out, "clock: "+c)
	}
	return out
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

// Duration writes a nanosecond count with three significant digits and
// the unit Go's time.Duration prints (every format and command writes
// times this way): 870ns, 12.3µs, 4.56ms, 1.20s.
func Duration(ns int64) string {
	neg := ""
	if ns < 0 {
		neg, ns = "-", -ns
	}
	switch {
	case ns < 1000:
		return fmt.Sprintf("%s%dns", neg, ns)
	case ns < 1_000_000:
		return neg + sig3(float64(ns)/1e3) + "µs"
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

// ANSI SGR sequences of the coloured table format.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
)

// sevColor is the colour of each severity; info stays plain.
var sevColor = map[Severity]string{SevBad: ansiRed, SevWarn: ansiYellow, SevOK: ansiGreen}

// FlowText writes a flow the way every report does: "tcp 10.0.0.1:80 >
// 10.0.0.2:5000", "udp [fe80::1]:53 > [fe80::2]:5353", "icmp 10.0.0.1 >
// 10.0.0.2 id 7".
func FlowText(proto analyze.Proto, t analyze.TupleJSON) string { return flowText(proto, t) }
