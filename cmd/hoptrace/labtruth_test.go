package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// labTruth is what a lab scenario's kernel said (truth/expect.json, written
// by testdata/lab/truth from iptables counters, conntrack and the traffic
// programs): the expectations of the tests that run hoptrace on the
// committed captures, so that a regenerated capture needs no new numbers.
type labTruth struct {
	Drops []struct {
		Flow    string `json:"flow"`
		Packets int    `json:"packets"`
	} `json:"drops"`
	FlowTuples map[string][]struct {
		Proto string `json:"proto"`
		Src   string `json:"src"`
		Sport uint16 `json:"sport"`
		Dst   string `json:"dst"`
		Dport uint16 `json:"dport"`
	} `json:"flow_tuples"`
}

func readTruth(t *testing.T, dir string) labTruth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth", "expect.json"))
	require.NoError(t, err)
	var lt labTruth
	require.NoError(t, json.Unmarshal(b, &lt))
	return lt
}

// dropsOf returns the packets the kernel's rule dropped for flow id.
func (lt labTruth) dropsOf(t *testing.T, id string) int {
	t.Helper()
	for _, d := range lt.Drops {
		if d.Flow == id {
			return d.Packets
		}
	}
	t.Fatalf("truth has no drop rule for flow %s", id)
	return 0
}

// dropped returns the packets every drop rule dropped.
func (lt labTruth) dropped() int {
	n := 0
	for _, d := range lt.Drops {
		n += d.Packets
	}
	return n
}
