package merge_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/merge"
)

// TestMergeIncidents: a merged incident has one interface per hop and each
// packet once, as the analysis counted them: an interface captured both by
// -i any and on its own is written once, and an Inspektor Gadget file's
// nodes are each written once.
func TestMergeIncidents(t *testing.T) {
	for _, dir := range []string{"front-door", "gadget", "retina"} {
		inc, err := incident.Open([]string{filepath.Join("..", "testdata", "incidents", dir)}, incident.Options{})
		require.NoError(t, err)
		res, err := analyze.Analyze(inc.Captures, analyze.Options{})
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, merge.Write(&buf, inc.Captures, res.Clocks, &merge.Notes{}, nil))
		f, err := decode.NewFileBytes(dir, buf.Bytes())
		require.NoError(t, err)
		n := 0
		for {
			if _, _, err := f.Next(); err != nil {
				break
			}
			n++
		}
		want := 0
		for _, c := range res.Captures {
			want += c.Packets
		}
		assert.Equal(t, want, n, dir)
		assert.Len(t, f.Interfaces(), len(res.Captures), dir)
	}
}
