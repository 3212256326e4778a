// Package labtruth reads what a lab scenario's kernel said
// (testdata/captures/<scenario>/truth/expect.json, written by
// testdata/lab/truth from iptables counters, conntrack, /proc/net/snmp and
// the traffic programs), for the tests that run hoptrace on the committed
// captures: they take their numbers from it, so that a regenerated capture
// needs no new constants.
package labtruth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Truth is the part of expect.json the tests read.
type Truth struct {
	// Drops are the drop rules' packet counters, per traffic flow id.
	Drops []struct {
		Flow    string `json:"flow"`
		Packets int    `json:"packets"`
	} `json:"drops"`
	// FlowTuples are the tuples each traffic flow id used, as sent.
	FlowTuples map[string][]Tuple `json:"flow_tuples"`
	// SNMP is /proc/net/snmp's change per namespace ("poda": "Tcp.RetransSegs": n).
	SNMP map[string]map[string]int `json:"snmp"`
}

// Tuple is one connection or exchange a traffic program made.
type Tuple struct {
	Proto string `json:"proto"`
	Src   string `json:"src"`
	Sport uint16 `json:"sport"`
	Dst   string `json:"dst"`
	Dport uint16 `json:"dport"`
}

// Read reads the truth of the scenario in dir (a testdata/captures/<name>
// directory); a missing or malformed file fails the test.
func Read(t testing.TB, dir string) Truth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth", "expect.json"))
	if err != nil {
		t.Fatalf("read lab truth: %v", err)
	}
	var lt Truth
	if err := json.Unmarshal(b, &lt); err != nil {
		t.Fatalf("read lab truth %s: %v", dir, err)
	}
	return lt
}

// DropsOf returns the packets the kernel's rule dropped for flow id; a
// flow without a drop rule fails the test.
func (lt Truth) DropsOf(t testing.TB, id string) int {
	t.Helper()
	for _, d := range lt.Drops {
		if d.Flow == id {
			return d.Packets
		}
	}
	t.Fatalf("truth has no drop rule for flow %s", id)
	return 0
}

// Dropped returns the packets every drop rule dropped.
func (lt Truth) Dropped() int {
	n := 0
	for _, d := range lt.Drops {
		n += d.Packets
	}
	return n
}

// Retransmitted is the TCP segments the pods sent again (Tcp.RetransSegs).
func (lt Truth) Retransmitted() int {
	n := 0
	for _, p := range []string{"poda", "podb", "podc"} {
		n += lt.SNMP[p]["Tcp.RetransSegs"]
	}
	return n
}

// PortsByMAC reads a node's bridge forwarding table as the lab saved it
// (truth/<prefix>-bridge-fdb.txt, `bridge fdb show`): the port each
// address was learnt on (entries neither permanent nor the bridge's own),
// by address. A missing file gives none.
func PortsByMAC(t testing.TB, dir, prefix string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth", prefix+"-bridge-fdb.txt"))
	if err != nil {
		return nil
	}
	ports := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != "dev" || f[3] != "master" || slices.Contains(f, "permanent") {
			continue
		}
		ports[f[0]] = f[2]
	}
	return ports
}
