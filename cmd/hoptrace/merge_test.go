package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMergeReadByTshark merges the drops incident and reads it back with
// tshark: every packet is there, one interface per hop named node/hop, and
// the packets commented as last seen are exactly those the FORWARD rules
// dropped, by the kernel's counters.
func TestMergeReadByTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	dir := filepath.Join("..", "..", "testdata", "captures", "drops")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no lab captures")
	}
	out := filepath.Join(t.TempDir(), "drops.pcapng")
	code, _, stderr := hoptrace(t, "merge", "--out", out, dir)
	require.Equal(t, exitOK, code, stderr)

	fields := func(filter string, field string) []string {
		t.Helper()
		args := []string{"-n", "-r", out, "-T", "fields", "-e", field}
		if filter != "" {
			args = append(args, "-Y", filter)
		}
		b, err := exec.Command(tshark, args...).Output()
		require.NoError(t, err)
		return strings.Fields(string(b))
	}

	// Every packet of every capture point once: an interface that the -i
	// any capture and its own capture both took (the same packets at the
	// same instants) is one point, as analyze counts it.
	total := 0
	{
		code, stdout, _ := hoptrace(t, "analyze", "-o", "json", dir)
		require.Equal(t, exitOK, code)
		var res struct {
			Captures []struct{ Packets int } `json:"captures"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &res))
		for _, c := range res.Captures {
			total += c.Packets
		}
	}
	ifaces := fields("", "frame.interface_name")
	assert.Len(t, ifaces, total)
	assert.Contains(t, ifaces, "node-1/n1-cni0")
	assert.Contains(t, ifaces, "node-2/podc-eth0")

	var exp struct {
		Drops []struct {
			Flow    string `json:"flow"`
			Packets int    `json:"packets"`
		} `json:"drops"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth", "expect.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &exp))
	port := map[string]string{"udp-burst": ":9000 orig", "tcp-req": ":8080 orig"}
	for _, d := range exp.Drops {
		got := fields(`frame.comment contains "last seen" && frame.comment contains "`+port[d.Flow]+`"`, "frame.number")
		assert.Len(t, got, d.Packets, "packets of %s last seen before the drop rule", d.Flow)
	}
}

// TestMergeMTUNotes merges the df-ping incident: the ICMP frag-needed that
// node-1 sent (mtu 1450, the flannel.1 MTU in its truth) is commented with
// its MTU, and the ping it refused is marked as dropped for MTU where it
// was last seen.
func TestMergeMTUNotes(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	dir := filepath.Join("..", "..", "testdata", "captures", "df-ping")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no lab captures")
	}
	out := filepath.Join(t.TempDir(), "df.pcapng")
	code, _, stderr := hoptrace(t, "merge", "--out", out, dir)
	require.Equal(t, exitOK, code, stderr)
	b, err := exec.Command(tshark, "-n", "-r", out, "-T", "fields", "-e", "frame.comment").Output()
	require.NoError(t, err)
	comments := string(b)
	assert.Contains(t, comments, "hoptrace: ICMP frag-needed from 10.244.0.1, next-hop MTU 1450")
	// The same facts and order as analyze: hops numbered along the path
	// analyze lists (the lab's path of the control ping, 10 hops), the
	// next hop named, the drop where the drop table puts it. The ping
	// identifiers and latencies are those of the run.
	assert.Regexp(t, `hoptrace: icmp 10\.244\.0\.5 > 10\.244\.1\.5 id \d+ orig, hop 3 of 3 \(n1-cni0\), \+\S+ since n1-veth-pod-a; last seen here: never reached n1-flannel\.1 \(dropped, reason mtu\)`, comments)
	assert.Regexp(t, `hoptrace: icmp 10\.244\.0\.5 > 10\.244\.1\.5 id \d+ orig, hop 1 of 10 \(poda-eth0\); next n1-veth-pod-a`, comments)
	assert.Regexp(t, `hop 10 of 10 \(podc-eth0\), \+\S+ since n2-veth-pod-c; end of its path`, comments)
	assert.Equal(t, 1, strings.Count(comments, "last seen here"), "one packet dropped, as analyze counts")
	assert.NotContains(t, comments, "+-")
	assert.NotContains(t, comments, "us ")
	assert.Contains(t, comments, "frag-needed (MTU 1450): sent by 10.244.0.1; reached the sender")
}

// TestMergedFileBesideItsCaptures: the file hoptrace merge wrote, saved in
// the incident's own folder, is left out when the folder is analysed again
// (a note says so): the analysis is the one of the captures alone. Read
// beside them, it was every packet again at a node of its own, tied to the
// others by a clock estimate. Alone, it is read, and finds what they do.
func TestMergedFileBesideItsCaptures(t *testing.T) {
	want := analysisJSON(t, realisticVXLAN)
	dir := realisticCopy(t)
	merged := filepath.Join(dir, "merged.pcapng")
	code, _, stderr := hoptrace(t, "merge", "--out", merged, dir)
	require.Equal(t, 0, code, stderr)

	code, _, stderr = hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, merged+": written by hoptrace merge, from captures such as these: not read beside them")
	assert.Equal(t, want, analysisJSON(t, dir))

	alone := filepath.Join(t.TempDir(), "alone")
	require.NoError(t, os.Mkdir(alone, 0o755))
	b, err := os.ReadFile(merged)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(alone, "merged.pcapng"), b, 0o644))
	code, stdout, stderr := hoptrace(t, "analyze", alone)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "written by hoptrace merge")
	assert.Contains(t, stdout, "verdict: 8 packets dropped", "realistic-vxlan's 8 TTL expiries")
}
