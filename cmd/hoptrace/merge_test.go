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
	code, _, stderr := hoptrace(t, "merge", "-o", out, dir)
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

	// Every packet of every capture.
	total := 0
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap"))
	for _, f := range files {
		code, stdout, _ := hoptrace(t, "decode", f)
		require.Equal(t, exitOK, code)
		total += strings.Count(stdout, "\n")
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
