package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (review every change)")

// goldenDecodes are real captures whose decode is kept as a reviewed golden
// file: one per kind of encapsulation a node shows, each read against
// tcpdump's expected output for the same file (TCPDUMP_EXPECTED_OUTPUTS.tsv
// in the corpus) when the golden was reviewed.
var goldenDecodes = []struct{ name, file string }{
	{"vxlan", "tcpdump__vxlan.pcap"},                           // tcpdump vxlan.out
	{"vxlan-8472", "tcpdump__vxlan_port_8472.pcap"},            // flannel's port, tcpdump vxlan_port_8472.out
	{"geneve-gcp", "tcpdump__geneve-gcp.pcap"},                 // tcpdump geneve-gcp.out
	{"vxlan-triple", "zeek__vxlan-triple-v2.pcap"},             // three nested VXLAN tunnels
	{"ipip", "suricata-verify__bug-7725-01__ip_in_ip.pcap"},    // IPv4 in IPv4
	{"6in4", "zeek__6in4.pcap"},                                // IPv6 in IPv4
	{"gre-erspan", "zeek__gre-erspan3-dot1q.pcap"},             // ERSPAN III over GRE
	{"sll2", "pcapplusplus__sll2.pcap"},                        // tcpdump -i any
	{"icmp6-toobig", "zeek__icmp6-toobig.pcap"},                // packet too big, quoted flow
	{"ipv4-fragments", "zeek__fragmented-1.pcap"},              // fragments
	{"multi-interface", "zeek__pcapng-multi-interface.pcapng"}, // pcapng interfaces
}

func TestDecodeGolden(t *testing.T) {
	for _, g := range goldenDecodes {
		t.Run(g.name, func(t *testing.T) {
			path := corpusFile(t, g.file)
			code, stdout, stderr := hoptrace(t, "decode", path)
			require.Equal(t, exitOK, code, stderr)
			// The capture point is named after the file; keep goldens
			// independent of where the corpus sits.
			stdout = strings.ReplaceAll(stdout, filepath.Dir(path)+"/", "")
			want := filepath.Join("testdata", "golden", "decode-"+g.name+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(want), 0o755))
				require.NoError(t, os.WriteFile(want, []byte(stdout), 0o644))
			}
			b, err := os.ReadFile(want)
			require.NoError(t, err, "run with -update to create it, then review it")
			assert.Equal(t, string(b), stdout)
		})
	}
}
