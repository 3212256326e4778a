package report

import (
	"encoding/json"
	"io"

	"github.com/hoptrace/hoptrace/analyze"
)

// analysisDoc is the JSON document of an analysis: the analysis itself
// (analyze.Result, whose keys it keeps) with what the report adds in
// front: the layout (always analyze.SchemaVersion, whatever schema the
// result was read from), which hoptrace wrote it, the incident's window,
// what the captures cover and the verdict.
type analysisDoc struct {
	Schema   string         `json:"schema"`
	Version  string         `json:"hoptrace_version"`
	Window   Window         `json:"window"`
	Coverage []NodeCoverage `json:"coverage"`
	Verdict  Verdict        `json:"verdict"`
	*analyze.Result
	// Flows shadows Result's flows (a shallower key wins in encoding/json)
	// only to write them last, where the documents written so far have
	// them.
	Flows []analyze.Flow `json:"flows"`
}

// writeAnalysisJSON writes the result as one indented JSON document. Empty
// lists are written as [] so consumers never meet null for a list.
func writeAnalysisJSON(w io.Writer, res *analyze.Result, m *Model) error {
	r := *res
	r.Captures = nonNil(r.Captures)
	r.Paths = nonNil(r.Paths)
	r.Hops = nonNil(r.Hops)
	r.Clocks = nonNil(r.Clocks)
	r.Encap = nonNil(r.Encap)
	r.MTU = nonNil(r.MTU)
	r.Drops = nonNil(r.Drops)
	r.Warnings = nonNil(r.Warnings)
	r.Background = nonNil(r.Background)
	doc := analysisDoc{Schema: analyze.SchemaVersion, Version: m.Version, Window: m.Window, Coverage: nonNil(m.Coverage), Verdict: m.Verdict, Result: &r,
		Flows: nonNil(res.Flows)}
	doc.Verdict.Causes = nonNil(doc.Verdict.Causes)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "pod MTU 1500 > 1450", not "\u003e"
	return enc.Encode(&doc)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
