package report

import (
	"fmt"
	"io"

	"github.com/hoptrace/hoptrace/analyze"
)

// AnalysisFormats lists the formats WriteAnalysis knows.
var AnalysisFormats = []string{"table", "markdown", "json", "html"}

// AnalysisOptions tune the human-readable formats. The zero value is the
// plain default.
type AnalysisOptions struct {
	// Color highlights the verdict, drops and findings of the table format
	// with ANSI colours; only for a terminal.
	Color bool
	// Flow is the flow the HTML ladder diagram follows, as ChooseFlow takes
	// it; empty means the worst flow.
	Flow string
	// Version is the hoptrace version every format names.
	Version string
	// Waterfalls is how many paths get a waterfall: 0 means the default
	// (the worst 5), negative means all; the rest are counted.
	Waterfalls int
	// AllHops adds the flat tables of every hop pair (in path order, no
	// empty rows) and every flow direction's path.
	AllHops bool
	// Packets, when set, holds single packets of the analysis (fed by its
	// Trace hook): the HTML report then draws the chosen flow packet by
	// packet on a time axis and the drops and retransmissions over time.
	Packets *PacketLog

	// headerOnly builds only the model's header and verdict: all JSON
	// adds to the Result. Waterfalls and tables cost more than the rest
	// together on a 100k-flow scan (measured: 2.7 s of 4.2 s).
	headerOnly bool
}

// WriteAnalysis renders an analysis in format "table" (sections of ASCII
// tables, most important first), "markdown" (a summary, then GitHub tables),
// "json" (the versioned schema of analyze.Result) or "html" (one
// self-contained page with charts and a ladder diagram).
func WriteAnalysis(w io.Writer, res *analyze.Result, format string) error {
	return WriteAnalysisOptions(w, res, format, AnalysisOptions{})
}

// WriteAnalysisOptions is WriteAnalysis with options.
func WriteAnalysisOptions(w io.Writer, res *analyze.Result, format string, opt AnalysisOptions) error {
	switch format {
	case "table":
		return writeAnalysisTable(w, BuildModel(res, opt), opt.Color)
	case "markdown":
		return writeAnalysisMarkdown(w, BuildModel(res, opt))
	case "json":
		opt.headerOnly = true
		return writeAnalysisJSON(w, res, BuildModel(res, opt))
	case "html":
		return writeAnalysisHTML(w, res, opt)
	}
	return fmt.Errorf("unknown output format %q (want table, markdown, json or html)", format)
}
