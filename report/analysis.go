package report

import (
	"fmt"
	"io"

	"github.com/hoptrace/hoptrace/analyze"
)

// AnalysisFormats lists the formats WriteAnalysis knows.
var AnalysisFormats = []string{"table", "json"}

// WriteAnalysis renders an analysis in format "table" (sections of ASCII
// tables, most important first) or "json" (the versioned schema of
// analyze.Result).
func WriteAnalysis(w io.Writer, res *analyze.Result, format string) error {
	switch format {
	case "table":
		return writeAnalysisTable(w, res)
	case "json":
		return writeAnalysisJSON(w, res)
	}
	return fmt.Errorf("unknown output format %q (want table or json)", format)
}
