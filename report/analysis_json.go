package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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

// flowDocOf returns flow i of res with the names of its ends (nm is
// newNamer(res), nil when the analysis has no names).
func flowDocOf(res *analyze.Result, nm *namer, i int) flowDoc {
	f := res.Flows[i]
	d := flowDoc{Flow: f}
	if nm == nil {
		return d
	}
	n := flowNames{
		Src: nm.name(f.Orig.Src, f.Orig.SPort, f.Proto, f.FirstNS), Dst: nm.name(f.Orig.Dst, f.Orig.DPort, f.Proto, f.FirstNS),
		ReplySrc: nm.name(f.Reply.Src, f.Reply.SPort, f.Proto, f.FirstNS), ReplyDst: nm.name(f.Reply.Dst, f.Reply.DPort, f.Proto, f.FirstNS),
	}
	if n != (flowNames{}) {
		d.Names = &n
	}
	return d
}

// flowNamer is the namer of res's flows, nil without names.
func flowNamer(res *analyze.Result) *namer {
	if len(res.Names) == 0 {
		return nil
	}
	nm := newNamer(res)
	return &nm
}

// writeAnalysisJSON writes the result as one indented JSON document. Empty
// lists are written as [] so consumers never meet null for a list.
//
// The paths and flows, which grow with the incident, are written one at a
// time into the document the rest makes, byte for byte as encoding/json
// writes the whole (TestAnalysisJSONStreamed): encoding the document at
// once held all of it in memory twice, 1.3 GB for a 1M-flow SYN scan on
// top of the analysis, and a copy of every flow to name it.
func writeAnalysisJSON(w io.Writer, res *analyze.Result, m *Model) error {
	r := *res
	r.Captures = nonNil(r.Captures)
	r.Paths = []analyze.Path{}
	r.Hops = nonNil(r.Hops)
	r.Clocks = nonNil(r.Clocks)
	r.Encap = nonNil(r.Encap)
	r.MTU = nonNil(r.MTU)
	r.Drops = nonNil(r.Drops)
	r.Warnings = nonNil(r.Warnings)
	r.Background = nonNil(r.Background)
	doc := analysisDoc{Schema: analyze.SchemaVersion, Version: m.Version, Window: m.Window, Coverage: nonNil(m.Coverage), Verdict: m.Verdict, Result: &r,
		Flows: []flowDoc{}}
	doc.Verdict.Causes = nonNil(doc.Verdict.Causes)
	var skel bytes.Buffer
	enc := json.NewEncoder(&skel)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "pod MTU 1500 > 1450", not "\u003e"
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	// Top-level keys are the only ones indented by two spaces, and a line
	// break never occurs inside a JSON string: these marks are unique.
	rest := skel.Bytes()
	pathsAt := bytes.Index(rest, []byte("\n  \"paths\": []"))
	flowsAt := bytes.Index(rest, []byte("\n  \"flows\": []"))
	if pathsAt < 0 || flowsAt < pathsAt {
		return fmt.Errorf("write analysis json: paths and flows not found in the document")
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	const pathsKey, flowsKey = len("\n  \"paths\": "), len("\n  \"flows\": ")
	bw.Write(rest[:pathsAt+pathsKey])
	err := writeJSONArray(bw, "  ", false, len(res.Paths), func(i int) any { return &res.Paths[i] })
	if err != nil {
		return err
	}
	bw.Write(rest[pathsAt+pathsKey+2 : flowsAt+flowsKey])
	nm := flowNamer(res)
	if err := writeJSONArray(bw, "  ", false, len(res.Flows), func(i int) any { return flowDocOf(res, nm, i) }); err != nil {
		return err
	}
	bw.Write(rest[flowsAt+flowsKey+2:])
	return bw.Flush()
}

// writeJSONArray writes n values, at(0) to at(n-1), as the elements of a
// JSON array whose key or bracket is on a line indented by indent, as
// json.Encoder with SetIndent("", "  ") writes them within the document
// ("[]" when empty), one value encoded at a time.
func writeJSONArray(w *bufio.Writer, indent string, escapeHTML bool, n int, at func(i int) any) error {
	if n == 0 {
		_, err := w.WriteString("[]")
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent(indent+"  ", "  ")
	enc.SetEscapeHTML(escapeHTML)
	w.WriteString("[\n")
	for i := range n {
		buf.Reset()
		if err := enc.Encode(at(i)); err != nil {
			return err
		}
		w.WriteString(indent + "  ")
		w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		if i < n-1 {
			w.WriteByte(',')
		}
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	_, err := w.WriteString(indent + "]")
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
