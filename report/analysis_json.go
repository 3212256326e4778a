package report

import (
	"encoding/json"
	"io"

	"github.com/hoptrace/hoptrace/analyze"
)

// writeAnalysisJSON writes the result as one indented JSON document. Empty
// lists are written as [] so consumers never meet null for a list.
func writeAnalysisJSON(w io.Writer, res *analyze.Result) error {
	r := *res
	r.Captures = nonNil(r.Captures)
	r.Flows = nonNil(r.Flows)
	r.Paths = nonNil(r.Paths)
	r.Hops = nonNil(r.Hops)
	r.Clocks = nonNil(r.Clocks)
	r.Encap = nonNil(r.Encap)
	r.MTU = nonNil(r.MTU)
	r.Drops = nonNil(r.Drops)
	r.Warnings = nonNil(r.Warnings)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&r)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
