package report

import (
	"bufio"
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
		// One flow at a time, as the analysis document writes them.
		bw := bufio.NewWriterSize(w, 256<<10)
		nm := flowNamer(res)
		if err := writeJSONArray(bw, "", true, len(res.Flows), func(i int) any { return flowDocOf(res, nm, i) }); err != nil {
			return err
		}
		bw.WriteByte('\n')
		return bw.Flush()
	}
	return fmt.Errorf("unknown output format %q (want table, markdown or json)", format)
}
