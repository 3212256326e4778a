package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// summaryLimit is how many drop groups or MTU findings a summary lists
// before pointing to the tables.
const summaryLimit = 10

// writeAnalysisMarkdown writes the analysis as GitHub-flavoured Markdown
// that pastes into an issue: the summary first (verdict, worst hop, drops,
// MTU findings), then one table per section as in the table format.
func writeAnalysisMarkdown(w io.Writer, res *analyze.Result) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	nm := newNamer(res)

	p("## hoptrace analysis\n\n")
	p("**%s**\n\n", mdEscape(strings.Replace(verdictLine(res), "verdict: ", "Verdict: ", 1)))
	p("%s\n\n", mdEscape(strings.TrimPrefix(summaryLine(res), "hoptrace: ")))
	if h, ok := worstHop(res.Hops); ok {
		p("- **Worst hop (p99):** %s\n", mdEscape(worstHopText(h)))
	}
	groups := groupDrops(res.Drops)
	if len(groups) == 0 {
		p("- **Drops:** none\n")
	} else {
		p("- **Drops:**\n")
		for i, g := range groups {
			if i == summaryLimit {
				p("  - … and %d more, see Drops below\n", len(groups)-i)
				break
			}
			p("  - %s\n", mdEscape(g.text()))
		}
	}
	if len(res.MTU) == 0 {
		p("- **MTU findings:** none\n")
	} else {
		p("- **MTU findings:**\n")
		for i, m := range res.MTU {
			if i == summaryLimit {
				p("  - … and %d more, see MTU and fragmentation below\n", len(res.MTU)-i)
				break
			}
			p("  - %s\n", mdEscape(mtuText(m)))
		}
	}
	if len(res.Warnings) > 0 {
		problems := ""
		if res.InputProblems > 0 {
			problems = fmt.Sprintf(" (%d input %s)", res.InputProblems, plural(res.InputProblems, "problem", "problems"))
		}
		p("- **Warnings:** %d%s, see Warnings below\n", len(res.Warnings), problems)
	}

	mdTable(bw, "Drops", []string{"from", "to", "flow", "dir", "packets:", "reason", "retransmitted:", "detail"}, len(res.Drops), func(add func(...string)) {
		for _, d := range res.Drops {
			add(d.From, d.To, nm.flow(d.Proto, d.Flow), d.Direction.String(), strconv.Itoa(d.Packets), d.Reason.String(), strconv.Itoa(d.Retransmitted), d.Detail)
		}
	})
	mdTable(bw, "MTU and fragmentation", []string{"kind", "hop", "flow", "dir", "mtu:", "packets:", "detail"}, len(res.MTU), func(add func(...string)) {
		for _, m := range res.MTU {
			add(m.Kind.String(), m.Hop, nm.flow(m.Proto, m.Flow), m.Direction.String(), strconv.Itoa(m.MTU), strconv.Itoa(m.Packets), m.Detail)
		}
	})
	mdTable(bw, "Hop latency", []string{"from", "to", "dir", "packets:", "min:", "p50:", "p90:", "p99:", "max:", "note"}, len(res.Hops), func(add func(...string)) {
		for _, h := range res.Hops {
			add(h.From, h.To, h.Direction.String(), strconv.Itoa(h.Packets), Duration(h.MinNS), Duration(h.P50NS), Duration(h.P90NS), Duration(h.P99NS), Duration(h.MaxNS), hopNote(h))
		}
	})
	mdTable(bw, "Paths", []string{"flow", "dir", "packets:", "hops"}, len(res.Paths), func(add func(...string)) {
		for _, pa := range res.Paths {
			add(nm.flow(pa.Proto, pa.Flow), pa.Direction.String(), strconv.Itoa(pa.Packets), strings.Join(pa.Hops, " → "))
		}
	})
	names := nameRows(res)
	mdTable(bw, "Names", namesHeader, len(names), func(add func(...string)) {
		for _, r := range names {
			add(r...)
		}
	})
	mdTable(bw, "Clocks", []string{"node", "reference", "offset:", "error:", "samples:"}, len(res.Clocks), func(add func(...string)) {
		for _, c := range res.Clocks {
			add(c.Node, c.Reference, Duration(c.OffsetNS), "±"+Duration(c.ErrorNS), strconv.Itoa(c.Samples))
		}
	})
	mdTable(bw, "Encapsulation", []string{"hop", "type", "vni:", "packets:", "overhead:", "share:", "inner mtu:"}, len(res.Encap), func(add func(...string)) {
		for _, e := range res.Encap {
			add(e.Hop, e.Type, vniText(e.VNI), strconv.Itoa(e.Packets), fmt.Sprintf("%d B", e.OverheadBytes), fmt.Sprintf("%.1f%%", 100*e.Share), strconv.Itoa(e.InnerMTU))
		}
	})
	mdFlows(bw, res.Flows)
	mdTable(bw, "Captures", []string{"node", "hop", "packets:", "file"}, len(res.Captures), func(add func(...string)) {
		for _, c := range res.Captures {
			add(c.Node, c.Hop, strconv.Itoa(c.Packets), c.File)
		}
	})
	bg := backgroundRows(res)
	mdTable(bw, "Background", backgroundHeader, len(bg), func(add func(...string)) {
		for _, r := range bg {
			add(r...)
		}
	})
	if len(res.Warnings) > 0 {
		p("\n### Warnings\n\n")
		for _, s := range res.Warnings {
			p("- %s\n", mdEscape(s))
		}
	}
	return bw.Flush()
}

// mdTable writes a titled GitHub-flavoured table, or nothing when it has no
// rows. A header ending in ":" is a right-aligned (numeric) column.
// mdFlows writes the flow table, numbered as --flow takes them, then the
// tunnel carriers.
func mdFlows(w io.Writer, flows []analyze.Flow) {
	pods, carriers := splitFlows(flows)
	mdTable(w, "Flows", []string{"#:", "proto", "orig", "reply", "state", "packets:", "bytes:", "retrans:", "ooo:", "zero win:", "nat"}, len(pods), func(add func(...string)) {
		for i, f := range pods {
			orig, reply := flowTuples(f)
			add(strconv.Itoa(i+1), f.Proto.String(), orig, reply, flowState(f), strconv.Itoa(f.Packets), strconv.Itoa(f.Bytes),
				pair(f.OrigStats.Retransmits, f.ReplStats.Retransmits), pair(f.OrigStats.OutOfOrder, f.ReplStats.OutOfOrder),
				pair(f.OrigStats.ZeroWindow, f.ReplStats.ZeroWindow), f.NAT)
		}
	})
	mdTable(w, "Tunnel carriers", carrierHeader, len(carriers), func(add func(...string)) {
		for _, f := range carriers {
			add(carrierRow(f)...)
		}
	})
}

func mdTable(w io.Writer, title string, header []string, rows int, fill func(add func(...string))) {
	if rows == 0 {
		return
	}
	fmt.Fprintf(w, "\n### %s\n\n|", title)
	align := "|"
	for _, h := range header {
		name, right := strings.CutSuffix(h, ":")
		fmt.Fprintf(w, " %s |", mdEscape(name))
		if right {
			align += " ---: |"
		} else {
			align += " --- |"
		}
	}
	fmt.Fprintf(w, "\n%s\n", align)
	fill(func(cells ...string) {
		fmt.Fprint(w, "|")
		for _, c := range cells {
			fmt.Fprintf(w, " %s |", mdEscape(c))
		}
		fmt.Fprintln(w)
	})
}

// mdEscape makes text safe inside a Markdown paragraph or table cell:
// pipes, emphasis and code markers are escaped, HTML tags are neutralised
// and line breaks become spaces. An underscore inside a word (TIME_WAIT)
// never emphasises in GitHub-flavoured Markdown and is left readable; ">"
// only quotes at the start of a line, where no cell or item begins with it.
func mdEscape(s string) string {
	s = mdReplacer.Replace(s)
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && !(i > 0 && isWordByte(s[i-1]) && i+1 < len(s) && isWordByte(s[i+1])) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "`", "\\`", "<", "&lt;", "\r\n", " ", "\n", " ",
)

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// hopNote says what qualifies a hop pair's latency figures.
func hopNote(h analyze.HopLatency) string {
	note := ""
	if h.CrossNode {
		note = "cross-node"
	}
	if h.Negative > 0 {
		note = strings.TrimSpace(note + fmt.Sprintf(" %d below zero left out", h.Negative))
	}
	return note
}

func vniText(vni *uint32) string {
	if vni == nil {
		return "-"
	}
	return strconv.FormatUint(uint64(*vni), 10)
}

// flowState writes the conntrack state with its flags.
func flowState(f analyze.Flow) string {
	state := f.State
	if f.Unreplied {
		state = strings.TrimSpace(state + " [UNREPLIED]")
	}
	if f.Assured {
		state = strings.TrimSpace(state + " [ASSURED]")
	}
	return state
}

// flowTuples writes a flow's original and reply tuples.
func flowTuples(f analyze.Flow) (orig, reply string) {
	if f.Proto.IsICMP() {
		return icmpText(f.Orig), icmpText(f.Reply)
	}
	return tupleText(f.Orig), tupleText(f.Reply)
}
