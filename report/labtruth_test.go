package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// labTruth is what a lab scenario's kernel said (truth/expect.json):
// iptables drop counters, the traffic programs' tuples, /proc/net/snmp.
// Tests of reports made from the committed captures take their numbers
// from it, so that regenerated captures need no new constants.
type labTruth struct {
	Drops []struct {
		Flow    string `json:"flow"`
		Packets int    `json:"packets"`
	} `json:"drops"`
	FlowTuples map[string][]struct {
		Src   string `json:"src"`
		Sport uint16 `json:"sport"`
		Dst   string `json:"dst"`
		Dport uint16 `json:"dport"`
	} `json:"flow_tuples"`
	SNMP map[string]map[string]int `json:"snmp"`
}

func readTruth(t *testing.T, scenario string) labTruth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "captures", scenario, "truth", "expect.json"))
	require.NoError(t, err)
	var lt labTruth
	require.NoError(t, json.Unmarshal(b, &lt))
	return lt
}

func (lt labTruth) dropsOf(id string) int {
	for _, d := range lt.Drops {
		if d.Flow == id {
			return d.Packets
		}
	}
	return -1
}

func (lt labTruth) dropped() int {
	n := 0
	for _, d := range lt.Drops {
		n += d.Packets
	}
	return n
}

// retransmitted is the TCP segments the pods sent again (Tcp.RetransSegs).
func (lt labTruth) retransmitted() int {
	n := 0
	for _, p := range []string{"poda", "podb", "podc"} {
		n += lt.SNMP[p]["Tcp.RetransSegs"]
	}
	return n
}
