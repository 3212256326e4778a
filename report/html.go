package report

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"slices"
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

// htmlPage is what the HTML template shows: the model (header, verdict,
// tables) plus the geometry of the charts. All geometry is computed here;
// the template only places it.
type htmlPage struct {
	M          *Model
	Waterfalls []waterfallChart
	Ladder     *ladder       // aggregate ladder, when no packet was logged
	Packets    *packetLadder // per-packet ladder of the chosen flow
	Strip      *timeStrip
}

// htmlFinding is one highlighted line of a ladder's notes.
type htmlFinding struct {
	Kind     string
	Text     string
	Severity string
}

// writeAnalysisHTML writes one self-contained HTML page: no scripts, no
// external assets, SVG drawn inline.
func writeAnalysisHTML(w io.Writer, res *analyze.Result, opt AnalysisOptions) error {
	fi, err := ChooseFlow(res, opt.Flow)
	if err != nil {
		return err
	}
	m := BuildModel(res, opt)
	for i := range m.Sections {
		m.Sections[i] = m.Sections[i].held()
	}
	page := htmlPage{M: m}
	for _, wf := range m.Waterfalls {
		page.Waterfalls = append(page.Waterfalls, buildWaterfallChart(wf, len(page.Waterfalls)+1))
	}
	if fi >= 0 {
		why := "the worst flow: most packets dropped, else most packets in MTU findings, else the slowest hop, else the most packets"
		if opt.Flow != "" {
			why = "chosen with --flow " + opt.Flow
		}
		if opt.Packets != nil {
			page.Packets = buildPacketLadder(res, fi, why, opt.Packets)
		}
		if page.Packets == nil {
			page.Ladder = buildLadder(res, fi, why)
		}
	}
	if opt.Packets != nil {
		page.Strip = buildStrip(res, m.Window, opt.Packets)
	}
	bw := bufio.NewWriter(w)
	if err := analysisHTML().Execute(bw, &page); err != nil {
		return err
	}
	return bw.Flush()
}

// waterfallChart draws one path: a row per hop, a bar per step from the
// time the packets reached the previous hop (the medians added up) to
// this one, on a linear time axis, with the step's p99 as a whisker.
type waterfallChart struct {
	ID     string
	W      Waterfall
	Width  int
	Height int
	PlotL  int
	PlotR  int
	NoteX  int
	AxisY  int
	Rows   []waterfallBar
	Ticks  []chartTick
}

type waterfallBar struct {
	Y, Mid     int
	Hop, Node  string
	Packets    string
	BarX, BarW int
	WhiskerX2  int
	HasStep    bool
	Label      string
	Lost       string
	Note       string
	Class      string // "bad", "warn" or ""
	Title      string
}

type chartTick struct {
	X     int
	Label string
}

const (
	wfWidth = 1200
	wfPlotL = 350
	wfPlotR = 740
	wfNoteX = 960
	wfRowH  = 22
)

func buildWaterfallChart(wf Waterfall, n int) waterfallChart {
	c := waterfallChart{ID: fmt.Sprintf("path-%d", n), W: wf, Width: wfWidth, PlotL: wfPlotL, PlotR: wfPlotR, NoteX: wfNoteX}
	// The axis spans the medians end to end (and a fifth more for the
	// whiskers): one step's outlying p99 must not squeeze every bar into
	// a line. Longer whiskers are cut at the edge; their label says p99.
	span := max(wf.TotalP50+wf.TotalP50/5, 1)
	var before int64
	x := func(ns int64) int {
		return wfPlotL + int(float64(min(ns, span))/float64(span)*float64(wfPlotR-wfPlotL))
	}
	top := 24
	before = 0
	for i, r := range wf.Rows {
		y := top + i*wfRowH
		b := waterfallBar{Y: y, Mid: y + wfRowH/2, Hop: r.Hop, Node: r.Node, Packets: strconv.Itoa(r.Packets), HasStep: r.HasStep}
		b.Class = map[Severity]string{SevBad: "bad", SevWarn: "warn"}[r.Severity]
		if r.HasStep {
			b.BarX = x(before)
			b.BarW = max(1, x(before+r.StepP50)-b.BarX)
			b.WhiskerX2 = max(b.BarX+b.BarW, x(before+r.StepP99))
			b.Label = fmt.Sprintf("+%s (p99 %s) → %s", Duration(r.StepP50), Duration(r.StepP99), Duration(r.CumP50))
			before += r.StepP50
		}
		if r.Dropped > 0 {
			b.Lost = fmt.Sprintf("✕ %d lost (%s)", r.Dropped, r.Reason)
		}
		notes := slices.Clone(r.Notes)
		if r.CrossNode {
			notes = append([]string{"cross-node"}, notes...)
		}
		b.Note = strings.Join(notes, "; ")
		b.Title = strings.Join(r.Cells(i), " | ")
		c.Rows = append(c.Rows, b)
	}
	c.AxisY = top + len(wf.Rows)*wfRowH + 4
	c.Height = c.AxisY + 20
	for _, t := range niceTicks(span) {
		c.Ticks = append(c.Ticks, chartTick{X: x(t), Label: Duration(t)})
	}
	return c
}

// niceTicks returns up to six round values from 0 to span.
func niceTicks(span int64) []int64 {
	if span <= 0 {
		return []int64{0}
	}
	step := int64(1)
	for span/step > 5 {
		switch {
		case span/(step*2) <= 5:
			step *= 2
		case span/(step*5) <= 5:
			step *= 5
		default:
			step *= 10
		}
	}
	var out []int64
	for v := int64(0); v <= span; v += step {
		out = append(out, v)
	}
	return out
}
