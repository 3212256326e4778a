package report

import (
	"bytes"
	"encoding/json"
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

// TestFlowTablesNameEnds: the flow and carrier tables get a "names" column
// right after the tuples, which stay as they are; the reply's ends are
// named where NAT made them differ from the original's; an unnamed end is
// "?"; without names there is no such column, and `hoptrace flows` in
// table form shows the same column.
func TestFlowTablesNameEnds(t *testing.T) {
	tcp := analyze.ProtoTCP
	res := &analyze.Result{Flows: []analyze.Flow{
		// Service DNAT: 10.96.0.10:80 answered by the backend.
		{Proto: tcp, Orig: analyze.TupleJSON{Src: "10.244.0.5", Dst: "10.96.0.10", SPort: 49528, DPort: 80},
			Reply: analyze.TupleJSON{Src: "10.244.1.5", Dst: "10.244.0.5", SPort: 8080, DPort: 49528}, FirstNS: 1},
		// Egress SNAT to the node's address; the outside end has no name.
		{Proto: tcp, Orig: analyze.TupleJSON{Src: "10.244.0.5", Dst: "203.0.113.7", SPort: 40000, DPort: 443},
			Reply: analyze.TupleJSON{Src: "203.0.113.7", Dst: "192.168.1.10", SPort: 443, DPort: 61000}, FirstNS: 1},
		// Nothing named.
		{Proto: tcp, Orig: analyze.TupleJSON{Src: "198.51.100.1", Dst: "203.0.113.7", SPort: 1, DPort: 2},
			Reply: analyze.TupleJSON{Src: "203.0.113.7", Dst: "198.51.100.1", SPort: 2, DPort: 1}, FirstNS: 1},
		// A tunnel carrier between two nodes.
		{Proto: analyze.ProtoUDP, Tunnel: "vxlan", Orig: analyze.TupleJSON{Src: "192.168.1.10", Dst: "192.168.1.11", SPort: 37710, DPort: 8472},
			Reply: analyze.TupleJSON{Src: "192.168.1.11", Dst: "192.168.1.10", SPort: 8472, DPort: 37710}, FirstNS: 1},
	}}
	plain := flowSections(res)
	require.Len(t, plain, 2)
	assert.Equal(t, "nat", plain[0].Cols[len(plain[0].Cols)-1].Name)
	for _, s := range plain {
		for _, c := range s.Cols {
			assert.NotEqual(t, "names", c.Name, "no names column without names")
		}
	}

	res.Names = []analyze.Name{
		{Addr: netip.MustParseAddr("10.96.0.10"), Port: 80, Proto: tcp, Kind: analyze.NameService, Name: "svc/default/web:80"},
		{Addr: netip.MustParseAddr("10.244.0.5"), Kind: analyze.NamePod, Name: "default/client"},
		{Addr: netip.MustParseAddr("10.244.1.5"), Kind: analyze.NamePod, Name: "default/web"},
		{Addr: netip.MustParseAddr("192.168.1.10"), Kind: analyze.NameNode, Name: "worker-1", Node: "worker-1", Capture: "node-1"},
		{Addr: netip.MustParseAddr("192.168.1.11"), Kind: analyze.NameNode, Name: "worker-2", Node: "worker-2"},
	}
	analyze.SortNames(res.Names)
	named := flowSections(res)
	require.Len(t, named, 2)
	flows, carriers := named[0], named[1]
	assert.Equal(t, "names", flows.Cols[4].Name)
	assert.Equal(t, "names", carriers.Cols[4].Name)
	for i, want := range []string{
		"default/client > svc/default/web:80 → default/web",
		"default/client > ? (reply to worker-1)",
		"",
	} {
		row := flows.RowAt(i).Cells
		require.Len(t, row, len(flows.Cols))
		assert.Equal(t, plain[0].RowAt(i).Cells[2:4], row[2:4], "the tuples are unchanged")
		assert.Equal(t, want, row[4], "flow %d", i+1)
	}
	assert.Equal(t, "worker-1 > worker-2", carriers.RowAt(0).Cells[4])

	var out bytes.Buffer
	require.NoError(t, WriteFlows(&out, res, "table"))
	assert.Regexp(t, `\| 10\.244\.0\.5:49528 > 10\.96\.0\.10:80 +\| 10\.244\.1\.5:8080 > 10\.244\.0\.5:49528 +\| default/client > svc/default/web:80 → default/web +\|`, out.String())

	// The ladders' titles and node bands.
	assert.Equal(t, "tcp 10.244.0.5:49528 > 10.96.0.10:80 (reply 10.244.1.5:8080 > 10.244.0.5:49528) · default/client > svc/default/web:80 → default/web", ladderTitle(res, res.Flows[0]))
	kn := nodeNames(res)
	assert.Equal(t, "node-1 (worker-1)", nodeLabel(kn, "node-1"))
	assert.Equal(t, "worker-2", nodeLabel(kn, "worker-2"), "a folder named as its node is not repeated")
}

// TestFlowNamesJSON: with names, each flow of the JSON document (and of
// hoptrace flows -o json) names its ends; flows keep their keys; without
// names there is no "names" key in any flow.
func TestFlowNamesJSON(t *testing.T) {
	res := fixture(t, "front-door")
	var doc struct {
		Flows []map[string]json.RawMessage `json:"flows"`
	}
	var buf bytes.Buffer
	require.NoError(t, WriteAnalysisOptions(&buf, res, "json", goldenOptions))
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.NotEmpty(t, doc.Flows)
	assert.JSONEq(t, `{"src": "default/client-5d8c7b9f4-x2x7q", "dst": "svc/default/web:80", "reply_src": "default/web-7d9c8f6b5-k4m2p", "reply_dst": "default/client-5d8c7b9f4-x2x7q"}`, string(doc.Flows[0]["names"]))

	var flows []map[string]json.RawMessage
	buf.Reset()
	require.NoError(t, WriteFlows(&buf, res, "json"))
	require.NoError(t, json.Unmarshal(buf.Bytes(), &flows))
	require.Len(t, flows, len(res.Flows))
	assert.JSONEq(t, string(doc.Flows[0]["names"]), string(flows[0]["names"]))
	// The document still reads back as an analysis, names and all.
	var back analyze.Result
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back.Flows))
	assert.Equal(t, res.Flows, back.Flows)

	res.Names = nil
	buf.Reset()
	require.NoError(t, WriteFlows(&buf, res, "json"))
	assert.NotContains(t, buf.String(), `"names"`)
}
