package report

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// TestNamesNextToAddresses: with Kubernetes names, every format writes
// them beside the addresses (never instead) and lists them; without, the
// output has no trace of them.
func TestNamesNextToAddresses(t *testing.T) {
	tuple := analyze.TupleJSON{Src: "10.244.0.5", Dst: "10.96.0.10", SPort: 49528, DPort: 80}
	res := &analyze.Result{
		Schema: analyze.SchemaVersion,
		Flows:  []analyze.Flow{{Proto: analyze.ProtoTCP, Orig: tuple, Reply: analyze.TupleJSON{Src: "10.244.1.5", Dst: "10.244.0.5", SPort: 8080, DPort: 49528}, FirstNS: 1}},
		Paths:  []analyze.Path{{Flow: tuple, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Hops: []string{"a", "b"}, Packets: 1}},
	}
	for _, format := range []string{"table", "markdown", "html"} {
		var plain bytes.Buffer
		require.NoError(t, WriteAnalysisOptions(&plain, res, format, AnalysisOptions{}))
		assert.NotContains(t, plain.String(), "svc/", format)
	}
	res.Names = []analyze.Name{
		{Addr: netip.MustParseAddr("10.96.0.10"), Port: 80, Proto: analyze.ProtoTCP, Kind: analyze.NameService, Name: "svc/default/web:80", Detail: "DNAT to 10.244.1.5:8080"},
		{Addr: netip.MustParseAddr("10.244.0.5"), Kind: analyze.NamePod, Name: "default/client", Node: "worker-1"},
	}
	for _, format := range []string{"table", "markdown", "html"} {
		var out bytes.Buffer
		require.NoError(t, WriteAnalysisOptions(&out, res, format, AnalysisOptions{}))
		s := out.String()
		if format == "html" {
			assert.Contains(t, s, "10.244.0.5:49528 &gt; 10.96.0.10:80 (default/client &gt; svc/default/web:80)", format)
		} else {
			assert.Contains(t, s, "10.244.0.5:49528 > 10.96.0.10:80 (default/client > svc/default/web:80)", format)
		}
		assert.Contains(t, s, "DNAT to 10.244.1.5:8080", format)
		assert.Contains(t, s, "worker-1", format)
	}
}
