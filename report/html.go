package report

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/hoptrace/hoptrace/analyze"
)

//go:embed templates/analysis.html.tmpl
var htmlTemplates embed.FS

// analysisHTML parses the template the first time a report needs it, not
// when any command of the binary starts: parsing takes most of a
// millisecond.
var analysisHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("analysis.html.tmpl").ParseFS(htmlTemplates, "templates/analysis.html.tmpl"))
})

// htmlPage is what the HTML template shows: the summary, the ladder of one
// flow, a latency chart per hop pair and the tables. All geometry is
// computed here; the template only places it.
type htmlPage struct {
	Summary  string
	Verdict  string
	Severity string // ok, warn, bad
	Worst    string
	Drops    []htmlFinding
	MTU      []htmlFinding
	Warnings []string
	Ladder   *ladder
	Charts   []latencyChart
	Tables   []htmlTable
}

// htmlFinding is one highlighted line of the summary.
type htmlFinding struct {
	Kind     string
	Text     string
	Severity string
}

// htmlTable is one section of the tables at the end of the page.
type htmlTable struct {
	ID, Title string
	Cols      []htmlCol
	Rows      []htmlRow
	Open      bool // shown unfolded
}

type htmlCol struct {
	Name  string
	Right bool
}

type htmlRow struct {
	Class string
	Cells []string
}

// writeAnalysisHTML writes one self-contained HTML page: no scripts, no
// external assets, SVG drawn inline.
func writeAnalysisHTML(w io.Writer, res *analyze.Result, flowSpec string) error {
	fi, err := ChooseFlow(res, flowSpec)
	if err != nil {
		return err
	}
	page := htmlPage{
		Summary:  strings.TrimPrefix(summaryLine(res), "hoptrace: "),
		Verdict:  strings.TrimPrefix(verdictLine(res), "verdict: "),
		Severity: severity(res),
		Warnings: res.Warnings,
	}
	if h, ok := worstHop(res.Hops); ok {
		page.Worst = worstHopText(h)
	}
	for _, g := range groupDrops(res.Drops) {
		sev := "bad"
		if g.Reason == analyze.DropCaptureGap {
			sev = "warn"
		}
		page.Drops = append(page.Drops, htmlFinding{Kind: "drop " + g.Reason.String(), Text: g.text(), Severity: sev})
	}
	for _, m := range res.MTU {
		page.MTU = append(page.MTU, htmlFinding{Kind: m.Kind.String(), Text: mtuText(m), Severity: mtuSeverity(m.Kind)})
	}
	if fi >= 0 {
		why := "the worst flow: most packets dropped, else most packets in MTU findings, else the slowest hop, else the most packets"
		if flowSpec != "" {
			why = "chosen with --flow " + flowSpec
		}
		page.Ladder = buildLadder(res, fi, why)
	}
	page.Charts = latencyCharts(res)
	page.Tables = htmlTables(res)

	bw := bufio.NewWriter(w)
	if err := analysisHTML().Execute(bw, &page); err != nil {
		return err
	}
	return bw.Flush()
}

// htmlTables builds the same sections as the table format.
func htmlTables(res *analyze.Result) []htmlTable {
	var out []htmlTable
	nm := newNamer(res)
	add := func(id, title string, open bool, header []string, rows []htmlRow) {
		if len(rows) == 0 {
			return
		}
		t := htmlTable{ID: id, Title: title, Open: open, Rows: rows}
		for _, h := range header {
			name, right := strings.CutSuffix(h, ":")
			t.Cols = append(t.Cols, htmlCol{Name: name, Right: right})
		}
		out = append(out, t)
	}
	row := func(class string, cells ...string) htmlRow { return htmlRow{Class: class, Cells: cells} }

	var rows []htmlRow
	for _, d := range res.Drops {
		class := "bad"
		if d.Reason == analyze.DropCaptureGap {
			class = "warn"
		}
		rows = append(rows, row(class, d.From, d.To, nm.flow(d.Proto, d.Flow), d.Direction.String(), strconv.Itoa(d.Packets), d.Reason.String(), strconv.Itoa(d.Retransmitted), d.Detail))
	}
	add("t-drops", "Drops", true, []string{"from", "to", "flow", "dir", "packets:", "reason", "retransmitted:", "detail"}, rows)

	rows = nil
	for _, m := range res.MTU {
		rows = append(rows, row(mtuSeverity(m.Kind), m.Kind.String(), m.Hop, nm.flow(m.Proto, m.Flow), m.Direction.String(), strconv.Itoa(m.MTU), strconv.Itoa(m.Packets), m.Detail))
	}
	add("t-mtu", "MTU and fragmentation", true, []string{"kind", "hop", "flow", "dir", "mtu:", "packets:", "detail"}, rows)

	rows = nil
	worst, _ := worstHop(res.Hops)
	for _, h := range res.Hops {
		class := ""
		if h == worst {
			class = "worst"
		}
		rows = append(rows, row(class, h.From, h.To, h.Direction.String(), strconv.Itoa(h.Packets), Duration(h.MinNS), Duration(h.P50NS), Duration(h.P90NS), Duration(h.P99NS), Duration(h.MaxNS), hopNote(h)))
	}
	add("t-hops", "Hop latency", false, []string{"from", "to", "dir", "packets:", "min:", "p50:", "p90:", "p99:", "max:", "note"}, rows)

	rows = nil
	for _, p := range res.Paths {
		rows = append(rows, row("", nm.flow(p.Proto, p.Flow), p.Direction.String(), strconv.Itoa(p.Packets), strings.Join(p.Hops, " → ")))
	}
	add("t-paths", "Paths", false, []string{"flow", "dir", "packets:", "hops"}, rows)

	rows = nil
	for _, r := range nameRows(res) {
		rows = append(rows, row("", r...))
	}
	add("t-names", "Kubernetes names", false, namesHeader, rows)

	rows = nil
	for _, c := range res.Clocks {
		rows = append(rows, row("", c.Node, c.Reference, Duration(c.OffsetNS), "±"+Duration(c.ErrorNS), strconv.Itoa(c.Samples)))
	}
	add("t-clocks", "Clocks", true, []string{"node", "reference", "offset:", "error:", "samples:"}, rows)

	rows = nil
	for _, e := range res.Encap {
		rows = append(rows, row("", e.Hop, e.Type, vniText(e.VNI), strconv.Itoa(e.Packets), fmt.Sprintf("%d B", e.OverheadBytes), fmt.Sprintf("%.1f%%", 100*e.Share), strconv.Itoa(e.InnerMTU)))
	}
	add("t-encap", "Encapsulation", true, []string{"hop", "type", "vni:", "packets:", "overhead:", "share:", "inner mtu:"}, rows)

	rows = nil
	pods, carriers := splitFlows(res.Flows)
	for i, f := range pods {
		orig, reply := flowTuples(f)
		rows = append(rows, row("", strconv.Itoa(i+1), f.Proto.String(), orig, reply, flowState(f), strconv.Itoa(f.Packets), strconv.Itoa(f.Bytes),
			pair(f.OrigStats.Retransmits, f.ReplStats.Retransmits), pair(f.OrigStats.OutOfOrder, f.ReplStats.OutOfOrder),
			pair(f.OrigStats.ZeroWindow, f.ReplStats.ZeroWindow), f.NAT))
	}
	add("t-flows", "Flows", false, []string{"#:", "proto", "orig", "reply", "state", "packets:", "bytes:", "retrans:", "ooo:", "zero win:", "nat"}, rows)

	rows = nil
	for _, f := range carriers {
		rows = append(rows, row("", carrierRow(f)...))
	}
	add("t-carriers", "Tunnel carriers", false, carrierHeader, rows)

	rows = nil
	for _, c := range res.Captures {
		rows = append(rows, row("", c.Node, c.Hop, strconv.Itoa(c.Packets), c.File))
	}
	add("t-captures", "Captures", false, []string{"node", "hop", "packets:", "file"}, rows)
	return out
}

// latencyChart is one hop pair's latency, one row per direction, on a log
// scale shared by all charts of the page so they compare at a glance.
type latencyChart struct {
	ID       string
	From, To string
	Class    string // "worst", "drops" or ""
	Note     string
	Width    int
	Height   int
	PlotL    int // plot area, x
	PlotR    int
	AxisY    int
	Rows     []latencyRow
	Ticks    []chartTick
}

type latencyRow struct {
	Dir                    string
	Y                      int // top of the bar band
	Mid                    int // its centre line
	Bot                    int // its bottom
	TextY                  int
	MinX, P50X, P90X, P99X int
	MaxX, BoxW             int
	Label                  string
	Title                  string
}

type chartTick struct {
	X     int
	Label string
}

const (
	chartW     = 600
	chartPlotL = 52
	chartPlotR = 570
	chartRowH  = 34
)

// latencyCharts draws a chart per hop pair in the order paths cross them.
func latencyCharts(res *analyze.Result) []latencyChart {
	if len(res.Hops) == 0 {
		return nil
	}
	// Hop pairs in path order: the first path crossing them places them.
	type pairKey struct{ from, to string }
	var order []pairKey
	byPair := map[pairKey][]analyze.HopLatency{}
	for _, h := range res.Hops {
		k := pairKey{h.From, h.To}
		byPair[k] = append(byPair[k], h)
	}
	seen := map[pairKey]bool{}
	place := func(k pairKey) {
		if _, ok := byPair[k]; ok && !seen[k] {
			seen[k] = true
			order = append(order, k)
		}
	}
	for _, p := range res.Paths {
		for i := 1; i < len(p.Hops); i++ {
			place(pairKey{p.Hops[i-1], p.Hops[i]})
		}
	}
	for _, h := range res.Hops {
		place(pairKey{h.From, h.To})
	}

	// One log scale for all: whole decades around the figures.
	lo, hi := int64(math.MaxInt64), int64(1)
	for _, h := range res.Hops {
		for _, v := range []int64{h.MinNS, h.P50NS, h.P90NS, h.P99NS, h.MaxNS} {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		lo = 1
	}
	loExp := int(math.Floor(math.Log10(float64(lo))))
	hiExp := int(math.Ceil(math.Log10(float64(hi))))
	if hiExp <= loExp {
		hiExp = loExp + 1
	}
	// Zero (taps sharing one kernel timestamp) has a place of its own left
	// of the lowest decade, so it never reads as that decade.
	logL := chartPlotL + 36
	x := func(v int64) int {
		if v <= 0 {
			return chartPlotL
		}
		f := (math.Log10(float64(v)) - float64(loExp)) / float64(hiExp-loExp)
		return logL + int(math.Round(max(0, min(1, f))*float64(chartPlotR-logL)))
	}
	ticks := []chartTick{{X: chartPlotL, Label: "0"}}
	for e := loExp; e <= hiExp; e++ {
		ticks = append(ticks, chartTick{X: x(int64(math.Pow10(e))), Label: decadeLabel(e)})
	}

	dropped := map[pairKey]int{}
	for _, d := range res.Drops {
		if d.Reason != analyze.DropCaptureGap {
			dropped[pairKey{d.From, d.To}] += d.Packets
		}
	}
	worst, _ := worstHop(res.Hops)
	var out []latencyChart
	for i, k := range order {
		c := latencyChart{ID: fmt.Sprintf("lat-%d", i+1), From: k.from, To: k.to, Width: chartW, PlotL: chartPlotL, PlotR: chartPlotR, Ticks: ticks}
		var notes []string
		if n := dropped[k]; n > 0 {
			c.Class = "drops"
			notes = append(notes, fmt.Sprintf("%d %s dropped here", n, plural(n, "packet", "packets")))
		}
		if worst.From == k.from && worst.To == k.to {
			if c.Class == "" {
				c.Class = "worst"
			}
			notes = append(notes, "worst p99")
		}
		for j, h := range byPair[k] {
			y := 8 + j*chartRowH
			r := latencyRow{Dir: h.Direction.String(), Y: y, Mid: y + 6, Bot: y + 12, TextY: y + 24,
				MinX: x(h.MinNS), P50X: x(h.P50NS), P90X: x(h.P90NS), P99X: x(h.P99NS), MaxX: x(h.MaxNS)}
			r.BoxW = max(2, r.P90X-r.P50X)
			r.Label = fmt.Sprintf("min %s  p50 %s  p90 %s  p99 %s  max %s  · %d pkts",
				Duration(h.MinNS), Duration(h.P50NS), Duration(h.P90NS), Duration(h.P99NS), Duration(h.MaxNS), h.Packets)
			r.Title = fmt.Sprintf("%s > %s (%s): %s", h.From, h.To, h.Direction, r.Label)
			c.Rows = append(c.Rows, r)
			if h.CrossNode && !strings.Contains(strings.Join(notes, ","), "cross-node") {
				notes = append(notes, "cross-node")
			}
			if h.Negative > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d below zero left out", h.Direction, h.Negative))
			}
		}
		c.AxisY = 8 + len(c.Rows)*chartRowH
		c.Height = c.AxisY + 18
		c.Note = strings.Join(notes, " · ")
		out = append(out, c)
	}
	return out
}

// decadeLabel names 10^e nanoseconds: 1ns, 10us, 100ms.
func decadeLabel(e int) string {
	units := []string{"ns", "us", "ms", "s"}
	u := min(e/3, len(units)-1)
	if e < 0 {
		return "0"
	}
	return strconv.Itoa(int(math.Pow10(e-3*u))) + units[u]
}
