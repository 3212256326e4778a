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
		if opt.Color {
			return writeAnalysisTableColor(w, res)
		}
		return writeAnalysisTable(w, res)
	case "markdown":
		return writeAnalysisMarkdown(w, res)
	case "json":
		return writeAnalysisJSON(w, res)
	case "html":
		return writeAnalysisHTML(w, res, opt.Flow)
	}
	return fmt.Errorf("unknown output format %q (want table, markdown, json or html)", format)
}
