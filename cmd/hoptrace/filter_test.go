package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filterDrops is the lab incident with one UDP flow and several TCP flows
// between pod A and pod C over flannel VXLAN.
var filterDrops = filepath.Join("..", "..", "testdata", "captures", "drops")

type filterFlow struct {
	Proto  string `json:"proto"`
	Tunnel string `json:"tunnel"`
	Orig   struct {
		Src   string `json:"src"`
		Dst   string `json:"dst"`
		SPort int    `json:"sport"`
		DPort int    `json:"dport"`
	} `json:"orig"`
}

// filteredFlows returns the pod flows and the tunnel carriers of an
// analysis.
func filteredFlows(t *testing.T, args ...string) (pods, carriers []filterFlow) {
	t.Helper()
	code, out, stderr := hoptrace(t, append([]string{"analyze", "-o", "json"}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	var res struct{ Flows []filterFlow }
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	for _, f := range res.Flows {
		if f.Tunnel != "" {
			carriers = append(carriers, f)
		} else {
			pods = append(pods, f)
		}
	}
	return pods, carriers
}

func TestAnalyzeFilter(t *testing.T) {
	all, _ := filteredFlows(t, filterDrops)
	require.Greater(t, len(all), 1)
	var udp, tcp8080 int
	for _, f := range all {
		if f.Proto == "udp" {
			udp++
		}
		if f.Proto == "tcp" && f.Orig.DPort == 8080 {
			tcp8080++
		}
	}
	require.Equal(t, 1, udp)
	require.Positive(t, tcp8080)

	for _, args := range [][]string{
		{filterDrops, "udp and port 9000"},
		{filterDrops, "udp", "and", "port", "9000"},
		{"--filter", "udp and port 9000", filterDrops},
		{"-f", "udp && dst port 9000", filterDrops},
	} {
		flows, carriers := filteredFlows(t, args...)
		if assert.Len(t, flows, 1, args) {
			assert.Equal(t, "udp", flows[0].Proto)
			assert.Equal(t, 9000, flows[0].Orig.DPort)
			assert.Equal(t, "10.244.1.5", flows[0].Orig.Dst)
		}
		// Only the carrier of the kept flow's packets: VXLAN from node-1.
		if assert.Len(t, carriers, 1, args) {
			assert.Equal(t, "vxlan", carriers[0].Tunnel)
			assert.Equal(t, "192.168.1.10", carriers[0].Orig.Src)
			assert.Equal(t, 8472, carriers[0].Orig.DPort)
		}
	}
	// The pods' addresses are those of the inner headers; the nodes' those
	// of the outer headers of the VXLAN packets between them.
	flows, carriers := filteredFlows(t, filterDrops, "host 10.244.1.5 and port 8080")
	assert.Len(t, flows, tcp8080)
	for _, f := range flows {
		assert.Equal(t, "tcp", f.Proto)
	}
	assert.NotEmpty(t, carriers)
	flows, carriers = filteredFlows(t, filterDrops, "host 192.168.1.10")
	assert.Empty(t, flows)
	assert.Empty(t, carriers)

	// Clocks are estimated from all the traffic: the kept UDP flow alone
	// goes one way and could not show the offset between the nodes.
	code, out, stderr := hoptrace(t, "analyze", "-o", "json", filterDrops, "udp and port 9000")
	require.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stderr, "clock of node")
	var res struct {
		Clocks []struct{ Samples int }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Len(t, res.Clocks, 1)
	assert.Positive(t, res.Clocks[0].Samples)

	// flows shares the flags: the kept flow, then the VXLAN carrier of its
	// packets, as conntrack -L on node-1 lists both.
	code, out, stderr = hoptrace(t, "flows", filterDrops, "udp")
	require.Equal(t, exitOK, code, stderr)
	if l := lines(t, out); assert.Len(t, l, 2) {
		assert.True(t, strings.HasPrefix(l[0], "udp      17 30 src=10.244.0.5 "), l[0])
		assert.True(t, strings.HasPrefix(l[1], "udp      17 30 src=192.168.1.10 dst=192.168.1.11 "), l[1])
	}
}

func TestDecodeFilter(t *testing.T) {
	file := filepath.Join(filterDrops, "node-1", "n1-eth0.pcap")
	code, out, stderr := hoptrace(t, "decode", file)
	require.Equal(t, exitOK, code, stderr)
	all := lines(t, out)

	code, out, stderr = hoptrace(t, "decode", file, "udp", "and", "port", "9000")
	require.Equal(t, exitOK, code, stderr)
	got := lines(t, out)
	require.NotEmpty(t, got)
	assert.Less(t, len(got), len(all))
	var want []string
	for _, l := range all {
		if strings.Contains(l, "UDP") && strings.Contains(l, ".9000 ") {
			want = append(want, l)
		}
	}
	assert.Equal(t, want, got)
	for _, l := range got {
		assert.Contains(t, l, "vxlan", "the capture is on the node: every pod packet is in VXLAN")
	}

	// The flag gives the same packets; outer headers are the nodes'.
	code, flagOut, stderr := hoptrace(t, "decode", "-f", "udp and port 9000", file)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, out, flagOut)
	code, out, stderr = hoptrace(t, "decode", file, "outer host 192.168.1.10")
	require.Equal(t, exitOK, code, stderr)
	outer := lines(t, out)
	assert.NotEmpty(t, outer)
	for _, l := range outer {
		assert.Contains(t, l, "IP 192.168.1.1")
	}
	code, out, stderr = hoptrace(t, "decode", file, "not", "(", "outer", "host", "192.168.1.10", ")")
	require.Equal(t, exitOK, code, stderr)
	assert.Len(t, lines(t, out), len(all)-len(outer))
	code, out, _ = hoptrace(t, "decode", file, "host 192.168.1.10")
	require.Equal(t, exitOK, code)
	assert.Empty(t, out, "node addresses are outer headers")
}

func TestFilterErrors(t *testing.T) {
	file := filepath.Join(filterDrops, "node-1", "n1-eth0.pcap")
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"decode", file, "host 10.244.1.5 and port x"}, `hoptrace: filter: position 26: expected port number, got "x"`},
		{[]string{"decode", "-f", "tcp or", file}, `hoptrace: filter: position 7: expected a primitive`},
		{[]string{"analyze", filterDrops, "port", "x"}, `hoptrace: filter: position 6: expected port number, got "x"`},
		{[]string{"flows", "--filter", "(udp", filterDrops}, `hoptrace: filter: position 5: expected ), got the end of the expression`},
		{[]string{"analyze", "-f", "udp", filterDrops, "tcp"}, `hoptrace: give the filter either with --filter or after the captures, not both`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, stderr := hoptrace(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tt.err)
		})
	}

	// A missing capture after the good ones is a missing capture, not a
	// filter: the good ones are still printed.
	code, out, stderr := hoptrace(t, "decode", file, "missing.pcap")
	assert.Equal(t, exitUsage, code)
	assert.NotEmpty(t, out)
	assert.Contains(t, stderr, "missing.pcap: no such file or directory")
	code, out, stderr = hoptrace(t, "analyze", filterDrops, "missing/")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, "missing/: no such file or directory")
}
