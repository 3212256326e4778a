package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// writeAnalysisMarkdown writes the model as GitHub-flavoured Markdown
// that pastes into an issue: the verdict and its causes first, then one
// waterfall per path, then the tables.
func writeAnalysisMarkdown(w io.Writer, m *Model) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("## hoptrace analysis\n\n")
	p("**Verdict: %s**\n\n", mdEscape(m.Verdict.Summary))
	if len(m.Verdict.Causes) == 0 {
		p("- nothing to report: every packet followed reached the end of its path\n")
	}
	for i, c := range m.Verdict.Causes {
		p("%d. **%s** %s\n", i+1, sevLabel(c.Severity), mdEscape(c.Text))
		if c.Evidence != "" {
			p("   - evidence: %s\n", mdEscape(c.Evidence))
		}
		if c.Next != "" {
			p("   - next: %s\n", mdCode(c.Next))
		}
	}
	p("\n%s · hoptrace %s\n\n", mdEscape(m.Summary), mdEscape(m.Version))
	for _, l := range headerLines(m) {
		if strings.HasPrefix(l, "  ") {
			p("  - %s\n", mdEscape(strings.TrimSpace(l)))
		} else {
			p("- %s\n", mdEscape(l))
		}
	}
	if len(m.Waterfalls) > 0 {
		p("\n### Paths\n\nStep: from the previous hop, over every flow crossing that hop pair; total: the steps' medians added up.\n")
	}
	for i, wf := range m.Waterfalls {
		p("\n#### %d. %s (%s)\n\n", i+1, mdEscape(wf.Title), mdEscape(wf.Subtitle()))
		rows := make([]Row, len(wf.Rows))
		for j, r := range wf.Rows {
			rows[j] = Row{Severity: r.Severity, Cells: r.Cells(j)}
		}
		mdRows(bw, cols(WaterfallCols...), rows)
	}
	if m.MoreWaterfalls > 0 {
		p("\n%d more %s (`--waterfalls -1` shows every path, `--all-hops` every hop pair).\n", m.MoreWaterfalls, plural(m.MoreWaterfalls, "path", "paths"))
	}
	for _, s := range m.Sections {
		mdSection(bw, s)
	}
	if len(m.Warnings) > 0 {
		p("\n### Warnings\n\n")
		for _, s := range m.Warnings {
			p("- %s\n", mdEscape(s))
		}
	}
	return bw.Flush()
}

// sevLabel is how Markdown marks a cause's severity.
func sevLabel(s Severity) string {
	switch s {
	case SevBad:
		return "[bad]"
	case SevWarn:
		return "[warn]"
	}
	return "[info]"
}

// mdCode escapes text and keeps its `commands` as code spans.
func mdCode(s string) string {
	parts := strings.Split(s, "`")
	for i := range parts {
		if i%2 == 0 {
			parts[i] = mdEscape(parts[i])
		} else {
			parts[i] = "`" + parts[i] + "`"
		}
	}
	return strings.Join(parts, "")
}

// mdSection writes a titled table.
func mdSection(w io.Writer, s Section) {
	if s.Len() == 0 {
		return
	}
	fmt.Fprintf(w, "\n### %s\n\n", s.Title)
	mdTable(w, s.Cols, s.Len(), s.RowAt)
}

// mdRows writes a GitHub-flavoured table.
func mdRows(w io.Writer, cols []Col, rows []Row) {
	mdTable(w, cols, len(rows), func(i int) Row { return rows[i] })
}

// mdTable writes a GitHub-flavoured table of n rows, one at a time.
func mdTable(w io.Writer, cols []Col, n int, rowAt func(int) Row) {
	fmt.Fprint(w, "|")
	align := "|"
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", mdEscape(c.Name))
		if c.Right {
			align += " ---: |"
		} else {
			align += " --- |"
		}
	}
	fmt.Fprintf(w, "\n%s\n", align)
	for i := range n {
		r := rowAt(i)
		fmt.Fprint(w, "|")
		for _, c := range r.Cells {
			fmt.Fprintf(w, " %s |", mdEscape(c))
		}
		fmt.Fprintln(w)
	}
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
