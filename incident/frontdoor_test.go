package incident

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

var update = flag.Bool("update", false, "rebuild testdata/incidents/front-door from the lab's service-dnat captures")

// frontDoor is the README's first incident: the lab's service-dnat
// captures laid out as a user saves them (a folder per node with its -i
// any capture, per-interface captures named after their interfaces, pod
// captures, and the node's ip -j link and ip -j addr output), plus a
// hand-written k8s/ folder (kubectl get ... -o json) for the lab's pods.
var frontDoor = filepath.Join("..", "testdata", "incidents", "front-door")

// frontDoorFiles maps the lab's capture files to the front door's names.
var frontDoorFiles = map[string]string{
	"node-1/n1-any.pcap":        "node-1/any.pcap.gz",
	"node-1/n1-eth0.pcap":       "node-1/eth0.pcap.gz",
	"node-1/n1-cni0.pcap":       "node-1/cni0.pcap.gz",
	"node-1/n1-flannel.1.pcap":  "node-1/flannel.1.pcap.gz",
	"node-1/n1-veth-pod-a.pcap": "node-1/veth-pod-a.pcap.gz",
	"node-1/n1-veth-pod-b.pcap": "node-1/veth-pod-b.pcap.gz",
	"node-1/poda-eth0.pcap":     "node-1/client-eth0.pcap.gz",
	"node-1/podb-eth0.pcap":     "node-1/idle-eth0.pcap.gz",
	"node-2/n2-any.pcap":        "node-2/any.pcap.gz",
	"node-2/n2-eth0.pcap":       "node-2/eth0.pcap.gz",
	"node-2/n2-cni0.pcap":       "node-2/cni0.pcap.gz",
	"node-2/n2-flannel.1.pcap":  "node-2/flannel.1.pcap.gz",
	"node-2/n2-veth-pod-c.pcap": "node-2/veth-pod-c.pcap.gz",
	"node-2/podc-eth0.pcap":     "node-2/web-eth0.pcap.gz",
	"truth/n1-ip-link.json":     "node-1/ip-link.json",
	"truth/n2-ip-link.json":     "node-2/ip-link.json",
}

// buildFrontDoor writes the front door's captures and interface lists
// from the lab scenario; the k8s/ folder is written by hand.
func buildFrontDoor(t *testing.T, out string) {
	for from, to := range frontDoorFiles {
		b := readFile(t, filepath.Join(lab, from))
		if strings.HasSuffix(to, ".gz") {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf) // no name, no time: the same bytes every run
			_, err := zw.Write(b)
			require.NoError(t, err)
			require.NoError(t, zw.Close())
			b = buf.Bytes()
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(out, to)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(out, to), b, 0o644))
	}
	for n, short := range map[string]string{"node-1": "n1", "node-2": "n2"} {
		b := ipAddrJSON(t, readFile(t, filepath.Join(lab, "truth", short+"-ip-addr.txt")))
		require.NoError(t, os.WriteFile(filepath.Join(out, n, "ip-addr.json"), b, 0o644))
	}
}

var (
	reIfLine   = regexp.MustCompile(`^(\d+): ([^:@]+)(?:@[^:]+)?: <[^>]*> mtu (\d+)`)
	reAddrLine = regexp.MustCompile(`^\s+(inet6?) ([0-9a-f.:]+)/(\d+) .*scope (\w+)`)
)

// ipAddrJSON writes what `ip -j addr show` prints for the interfaces and
// addresses of the lab's saved `ip addr show` text (the lab kept the text
// form): ifindex, ifname, mtu and addr_info, as iproute2's JSON names them.
func ipAddrJSON(t *testing.T, text []byte) []byte {
	type addr struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
		Scope     string `json:"scope"`
	}
	type link struct {
		IfIndex  int    `json:"ifindex"`
		IfName   string `json:"ifname"`
		MTU      int    `json:"mtu"`
		AddrInfo []addr `json:"addr_info"`
	}
	var links []*link
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		if m := reIfLine.FindStringSubmatch(sc.Text()); m != nil {
			i, _ := strconv.Atoi(m[1])
			mtu, _ := strconv.Atoi(m[3])
			links = append(links, &link{IfIndex: i, IfName: m[2], MTU: mtu, AddrInfo: []addr{}})
		} else if m := reAddrLine.FindStringSubmatch(sc.Text()); m != nil && len(links) > 0 {
			p, _ := strconv.Atoi(m[3])
			l := links[len(links)-1]
			l.AddrInfo = append(l.AddrInfo, addr{Family: m[1], Local: m[2], PrefixLen: p, Scope: m[4]})
		}
	}
	b, err := json.Marshal(links)
	require.NoError(t, err)
	return append(b, '\n')
}

// TestFrontDoor: the README's first command shows one clean path per flow
// direction, each interface once and named, and the pods, service and
// nodes by name next to their addresses; the fixture is what buildFrontDoor
// makes of the lab's captures (go test ./incident -run FrontDoor -update
// rebuilds it).
func TestFrontDoor(t *testing.T) {
	if *update {
		buildFrontDoor(t, frontDoor)
	}
	fresh := t.TempDir()
	buildFrontDoor(t, fresh)
	for _, to := range append(slices.Collect(mapValues(frontDoorFiles)), "node-1/ip-addr.json", "node-2/ip-addr.json") {
		assert.Equal(t, readFile(t, filepath.Join(fresh, to)), readFile(t, filepath.Join(frontDoor, to)), "%s is not what the lab's captures give; run with -update after review", to)
	}

	inc, err := Open([]string{frontDoor}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems)
	require.Len(t, inc.K8s, 1, "the k8s/ folder is found")
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("10.244.0.1"), netip.MustParseAddr("10.244.0.0")}, inc.Nodes[0].Addrs())
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	assert.Empty(t, res.Drops)
	want := []string{"client-eth0", "veth-pod-a", "node-1/cni0", "node-1/flannel.1", "node-1/eth0", "node-2/eth0", "node-2/flannel.1", "node-2/cni0", "veth-pod-c", "web-eth0"}
	n := 0
	for _, p := range res.Paths {
		if p.Proto != analyze.ProtoTCP {
			continue
		}
		n++
		hops := slices.Clone(p.Hops)
		if p.Direction == analyze.DirReply {
			slices.Reverse(hops)
		}
		assert.Equal(t, want, hops, "%v %s", p.Flow, p.Direction)
	}
	assert.Equal(t, 6, n, "3 connections, both directions")
	for _, h := range res.Hops {
		assert.False(t, h.MaxNS == 0, "0 ns row %s > %s", h.From, h.To)
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

var _ = fmt.Sprintf
