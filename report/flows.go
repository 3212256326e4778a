package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hoptrace/hoptrace/analyze"
)

// WriteFlows renders only the flow table of an analysis: "table",
// "markdown" or "json" (the flows array of the analysis schema, with the
// names of each flow's ends when the analysis has Kubernetes names). The
// conntrack -L format is WriteConntrack.
func WriteFlows(w io.Writer, res *analyze.Result, format string) error {
	switch format {
	case "table":
		bw := bufio.NewWriter(w)
		for _, s := range flowSections(res) {
			writeTextSection(bw, s, nil)
		}
		return bw.Flush()
	case "markdown":
		bw := bufio.NewWriter(w)
		for _, s := range flowSections(res) {
			mdSection(bw, s)
		}
		return bw.Flush()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(flowDocs(res))
	}
	return fmt.Errorf("unknown output format %q (want table, markdown or json)", format)
}
