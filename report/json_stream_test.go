package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// TestJSONStreamed: the analysis document and hoptrace flows -o json,
// written a path and a flow at a time, are byte for byte what
// encoding/json writes for the whole document at once.
func TestJSONStreamed(t *testing.T) {
	for _, sc := range goldenScenarios {
		t.Run(sc, func(t *testing.T) {
			res := fixture(t, sc)
			require.NotEmpty(t, res.Paths)
			require.NotEmpty(t, res.Flows)
			docs := make([]flowDoc, len(res.Flows))
			nm := flowNamer(res)
			for i := range docs {
				docs[i] = flowDocOf(res, nm, i)
			}

			r := *res
			r.Captures, r.Hops, r.Clocks, r.Encap = nonNil(r.Captures), nonNil(r.Hops), nonNil(r.Clocks), nonNil(r.Encap)
			r.MTU, r.Drops, r.Warnings, r.Background = nonNil(r.MTU), nonNil(r.Drops), nonNil(r.Warnings), nonNil(r.Background)
			m := BuildModel(res, AnalysisOptions{Version: "test", headerOnly: true})
			doc := analysisDoc{Schema: analyze.SchemaVersion, Version: m.Version, Window: m.Window, Coverage: nonNil(m.Coverage), Verdict: m.Verdict, Result: &r, Flows: docs}
			doc.Verdict.Causes = nonNil(doc.Verdict.Causes)
			var want, got bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(&doc))
			require.NoError(t, writeAnalysisJSON(&got, res, m))
			require.Equal(t, want.String(), got.String())

			want.Reset()
			got.Reset()
			enc = json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(docs))
			require.NoError(t, WriteFlows(&got, res, "json"))
			require.Equal(t, want.String(), got.String())
		})
	}
	var got bytes.Buffer
	require.NoError(t, WriteFlows(&got, &analyze.Result{}, "json"))
	require.Equal(t, "[]\n", got.String(), "no flows: an empty list, as before")
}
