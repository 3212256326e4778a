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
	// to write them last, where the documents written so far have them,
	// each with the Kubernetes names of its ends when the analysis has
	// names.
	Flows []flowDoc `json:"flows"`
}

// flowDoc is a flow of the JSON document: the analysis' flow, keys
// unchanged, and the names of its ends.
type flowDoc struct {
	analyze.Flow
	Names *flowNames `json:"names,omitempty"`
}

// flowNames names the ends of a flow's tuples (keys of analysis "names"
// entries: "namespace/pod", "svc/namespace/name:port", node names); an end
// with no name has no key, a flow with none has no "names".
type flowNames struct {
	Src      string `json:"src,omitempty"`
	Dst      string `json:"dst,omitempty"`
	ReplySrc string `json:"reply_src,omitempty"`
	ReplyDst string `json:"reply_dst,omitempty"`
}

// flowDocs returns the flows of res with the names of their ends.
func flowDocs(res *analyze.Result) []flowDoc {
	out := make([]flowDoc, len(res.Flows))
	nm := newNamer(res)
	for i, f := range res.Flows {
		out[i].Flow = f
		if len(res.Names) == 0 {
			continue
		}
		n := flowNames{
			Src: nm.name(f.Orig.Src, f.Orig.SPort, f.Proto, f.FirstNS), Dst: nm.name(f.Orig.Dst, f.Orig.DPort, f.Proto, f.FirstNS),
			ReplySrc: nm.name(f.Reply.Src, f.Reply.SPort, f.Proto, f.FirstNS), ReplyDst: nm.name(f.Reply.Dst, f.Reply.DPort, f.Proto, f.FirstNS),
		}
		if n != (flowNames{}) {
			out[i].Names = &n
		}
	}
	return out
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
		Flows: flowDocs(res)}
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
