package incident

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// gadgetFile is Inspektor Gadget's tcpdump gadget output (`kubectl gadget
// run tcpdump -o pcap-ng`) of the lab's service-dnat incident, written as
// the CLI operator writes it (pkg/operators/cli/clioperator.go, ModePCAPNG):
// gopacket's NgWriter with its default first interface, then one Ethernet
// interface named "virtual" per interface key (ifindex, k8s.node and the
// interface variables), described as key=QueryEscape(value) joined by ';'
// in the order of gadgets/tcpdump/gadget.yaml (k8s.node,
// k8s.containerName, k8s.podName, k8s.podLabels, runtime.containerName),
// timestamps at nanosecond resolution from a microsecond field.
var gadgetPath = filepath.Join("..", "testdata", "incidents", "gadget", "tcpdump.pcapng")

type gadgetSource struct {
	file                               string
	node, container, pod, labels, rtct string
}

var gadgetSources = []gadgetSource{
	{"node-1/poda-eth0.pcap", "worker-1", "client", "client-5d8c7b9f4-x2x7q", "app=client,pod-template-hash=5d8c7b9f4", "client"},
	{"node-1/n1-eth0.pcap", "worker-1", "", "", "", ""},
	{"node-2/n2-eth0.pcap", "worker-2", "", "", "", ""},
	{"node-2/podc-eth0.pcap", "worker-2", "web", "web-7d9c8f6b5-k4m2p", "app=web,pod-template-hash=7d9c8f6b5", "web"},
}

func gadgetDescription(s gadgetSource) string {
	var b strings.Builder
	for i, kv := range [][2]string{{"k8s.node", s.node}, {"k8s.containerName", s.container}, {"k8s.podName", s.pod}, {"k8s.podLabels", s.labels}, {"runtime.containerName", s.rtct}} {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(kv[0] + "=" + url.QueryEscape(kv[1]))
	}
	return b.String()
}

type gadgetPacket struct {
	ts    int64
	iface int
	data  []byte
	wire  int
}

// buildGadget writes the pcapng; sameTime stamps every packet alike, as
// a gadget whose timestamp field was lost would.
func buildGadget(t *testing.T, sources []gadgetSource, sameTime bool) []byte {
	var pkts []gadgetPacket
	for i, s := range sources {
		f, err := decode.Open(filepath.Join(lab, s.file))
		require.NoError(t, err)
		for {
			data, m, err := f.Next()
			if err != nil {
				break
			}
			ts := m.TS / 1000 // the gadget's timestamp field is in microseconds
			if sameTime {
				ts = 1795364389927891
			}
			pkts = append(pkts, gadgetPacket{ts, i + 1, slices.Clone(data), m.WireLen})
		}
		f.Close()
	}
	slices.SortStableFunc(pkts, func(x, y gadgetPacket) int { return int(x.ts - y.ts) })
	var buf bytes.Buffer
	intf := pcapgo.DefaultNgInterface
	intf.OS, intf.LinkType = "linux", layers.LinkTypeEthernet
	w, err := pcapgo.NewNgWriterInterface(&buf, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Hardware: "amd64", OS: "linux", Application: "gopacket"}})
	require.NoError(t, err)
	// An interface is added at the first packet of its key.
	index := map[int]int{}
	for _, p := range pkts {
		i, ok := index[p.iface]
		if !ok {
			i, err = w.AddInterface(pcapgo.NgInterface{Name: "virtual", Description: gadgetDescription(sources[p.iface-1]), OS: "linux", LinkType: layers.LinkTypeEthernet})
			require.NoError(t, err)
			index[p.iface] = i
		}
		require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, int64(time.Duration(p.ts)*time.Microsecond)), InterfaceIndex: i, CaptureLength: len(p.data), Length: p.wire}, p.data))
	}
	require.NoError(t, w.Flush())
	return buf.Bytes()
}

// TestGadgetPcapng: one pcapng of two nodes opens as two nodes, hops named
// by pod (the node's own interfaces as "host"), and the packets follow the
// pod-to-pod path across the nodes.
func TestGadgetPcapng(t *testing.T) {
	b := buildGadget(t, gadgetSources, false)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(gadgetPath), 0o755))
		require.NoError(t, os.WriteFile(gadgetPath, b, 0o644))
	}
	assert.Equal(t, b, readFile(t, gadgetPath), "the fixture is not what the lab's captures give; run with -update after review")

	inc, err := Open([]string{gadgetPath}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems)
	assert.Equal(t, []string{"worker-1", "worker-2"}, nodesOf(inc.Captures))
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	assert.Empty(t, res.Drops)
	want := []string{"client-5d8c7b9f4-x2x7q", "worker-1/host", "worker-2/host", "web-7d9c8f6b5-k4m2p"}
	n := 0
	for _, p := range res.Paths {
		if p.Proto != analyze.ProtoTCP {
			continue
		}
		n++
		hops := p.Hops
		if p.Direction == analyze.DirReply {
			hops = reversed(hops)
		}
		assert.Equal(t, want, hops, "%v %s", p.Flow, p.Direction)
	}
	assert.Equal(t, 6, n)
}

// TestGadgetSameTimestamps: a gadget file whose packets all carry one
// timestamp is refused with a message, not analysed into nonsense.
func TestGadgetSameTimestamps(t *testing.T) {
	p := filepath.Join(t.TempDir(), "flat.pcapng")
	require.NoError(t, os.WriteFile(p, buildGadget(t, gadgetSources[:1], true), 0o644))
	_, err := Open([]string{p}, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "carry the same timestamp")
}

// TestGadgetContainers: two containers of one pod share its network
// namespace, so the second one's interface holds the same packets and is
// not read as a second hop. (Synthetic: the first pod's packets written
// under two container descriptions.)
func TestGadgetContainers(t *testing.T) {
	side := gadgetSources[0]
	side.container, side.rtct = "istio-proxy", "istio-proxy"
	p := filepath.Join(t.TempDir(), "sidecar.pcapng")
	require.NoError(t, os.WriteFile(p, buildGadget(t, []gadgetSource{gadgetSources[0], side}, false), 0o644))
	inc, err := Open([]string{p}, Options{})
	require.NoError(t, err)
	require.Len(t, inc.Captures, 1)
	assert.Len(t, inc.Captures[0].Ifaces, 1)
	assert.Contains(t, inc.Captures[0].Ifaces, 1)
}
