package incident

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// retina is a Retina "download all" folder (cli/cmd/capture/download.go:
// OUT/<capture>/<file>.tar.gz) of a pod-targeted capture of the lab's
// service-dnat incident: each node's -i any capture with the pod filter
// Retina adds (pkg/capture/crd_to_job.go, updateTcpdumpFilterWithPodIPAddress:
// "(host POD-IP)"), bundled as its capture job does.
var retina = filepath.Join("..", "testdata", "incidents", "retina")

// retinaStart is the capture's start time, second-truncated UTC as
// pkg/capture/file/timestamp.go Now() makes it: the lab run's start.
var retinaStart = time.Date(2026, 11, 22, 16, 19, 49, 0, time.UTC)

type retinaLabNode struct {
	lab, short, node string
	pod              netip.Addr
	anyStats         string // the lab's tcpdump counts of the -i any capture: captured, received
}

var retinaNodes = []retinaLabNode{
	{"node-1", "n1", "worker-1", netip.MustParseAddr("10.244.0.5"), "127"},
	{"node-2", "n2", "worker-2", netip.MustParseAddr("10.244.1.5"), "126"},
}

// hostFiltered keeps the records of a classic pcap file that tcpdump's
// "host ADDR" keeps: IPv4/IPv6 whose outermost source or destination is
// addr, or ARP naming it; the records are copied byte for byte.
func hostFiltered(t *testing.T, pcap []byte, addr netip.Addr) (out []byte, n int) {
	require.True(t, len(pcap) >= 24)
	out = append(out, pcap[:24]...)
	le := binary.LittleEndian.Uint32(pcap) == 0xa1b2c3d4 || binary.LittleEndian.Uint32(pcap) == 0xa1b23c4d
	u32 := func(b []byte) uint32 {
		if le {
			return binary.LittleEndian.Uint32(b)
		}
		return binary.BigEndian.Uint32(b)
	}
	link := decode.LinkType(u32(pcap[20:]) & 0xffff)
	dec := decode.NewDecoder()
	var rec decode.Record
	for off := 24; off+16 <= len(pcap); {
		caplen := int(u32(pcap[off+8:]))
		data := pcap[off+16 : off+16+caplen]
		dec.Decode(&rec, data, decode.Meta{WireLen: int(u32(pcap[off+12:])), Link: link})
		keep := false
		if o := rec.Outer(); o != nil {
			keep = o.Src == addr || o.Dst == addr
		} else if rec.Link.ARP && link == decode.LinkSLL2 && len(data) >= 20+28 {
			arp := data[20:]
			keep = netip.AddrFrom4([4]byte(arp[14:18])) == addr || netip.AddrFrom4([4]byte(arp[24:28])) == addr
		}
		if keep {
			out = append(out, pcap[off:off+16+caplen]...)
			n++
		}
		off += 16 + caplen
	}
	return out, n
}

// ipResources writes Retina's ip-resources.txt (pkg/capture/provider/
// network_capture_unix.go, CollectMetadata and processMetadataFile): a
// summary of the commands, then each command line and its output. The
// outputs are the lab node's: ip -d -j addr show as its ip -j link JSON
// with the addresses of its saved ip addr, ip -d -j neighbor show from its
// saved neighbour table, the kernel's default rule list of a fresh
// namespace, and its routes.
func ipResources(t *testing.T, n retinaLabNode) []byte {
	var links []map[string]any
	require.NoError(t, json.Unmarshal(readFile(t, filepath.Join(lab, "truth", n.short+"-ip-link.json")), &links))
	var addrs []map[string]any
	require.NoError(t, json.Unmarshal(ipAddrJSON(t, readFile(t, filepath.Join(lab, "truth", n.short+"-ip-addr.txt"))), &addrs))
	for _, l := range links {
		l["addr_info"] = []any{}
		for _, a := range addrs {
			if a["ifindex"] == l["ifindex"] {
				l["addr_info"] = a["addr_info"]
			}
		}
	}
	addrJSON, err := json.Marshal(links)
	require.NoError(t, err)
	var neigh []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(lab, "truth", n.short+"-ip-neigh.txt")))), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 {
			neigh = append(neigh, map[string]any{"dst": f[0], "dev": f[2], "lladdr": f[4], "state": []string{f[5]}})
		}
	}
	neighJSON, err := json.Marshal(neigh)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("Summary:\n\n")
	b.WriteString("/usr/sbin/ip -d -j addr show(IP address configuration)\n")
	b.WriteString("/usr/sbin/ip -d -j neighbor show(IP neighbor status)\n")
	b.WriteString("/usr/sbin/ip rule list(Policy routing list)\n")
	b.WriteString("/usr/sbin/ip route show table all(Routes of all route tables)\n")
	b.WriteString("\nExecute:\n\n")
	fmt.Fprintf(&b, "/usr/sbin/ip -d -j addr show\n\n%s\n", addrJSON)
	fmt.Fprintf(&b, "/usr/sbin/ip -d -j neighbor show\n\n%s\n", neighJSON)
	b.WriteString("/usr/sbin/ip rule list\n\n0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n")
	fmt.Fprintf(&b, "/usr/sbin/ip route show table all\n\n%s", readFile(t, filepath.Join(lab, "truth", n.short+"-ip-route.txt")))
	return []byte(b.String())
}

// iptablesRules writes Retina's iptables-rules.txt from the lab node's
// saved iptables-save and iptables -vnx -L output (filter and nat; the lab
// saved no mangle table, so that command is left out).
func iptablesRules(t *testing.T, n retinaLabNode) []byte {
	var b strings.Builder
	b.WriteString("Summary:\n\n/usr/sbin/iptables-save(IPtables rules)\n/usr/sbin/iptables -vnx -L(IPtables rules and stats in filter table)\n/usr/sbin/iptables -vnx -L -t nat(IPtables rules and stats in nat table)\n\nExecute:\n\n")
	for _, c := range []struct{ cmd, file string }{
		{"/usr/sbin/iptables-save", "iptables-save"}, {"/usr/sbin/iptables -vnx -L", "iptables-filter"}, {"/usr/sbin/iptables -vnx -L -t nat", "iptables-nat"},
	} {
		fmt.Fprintf(&b, "%s\n\n%s", c.cmd, readFile(t, filepath.Join(lab, "truth", n.short+"-"+c.file+".txt")))
	}
	return []byte(b.String())
}

// buildRetina writes the Retina download folder.
func buildRetina(t *testing.T, out string) {
	for _, n := range retinaNodes {
		name := fmt.Sprintf("svc-capture-%s-%s", n.node, retinaStart.Format("20060102150405UTC"))
		pcap, count := hostFiltered(t, readFile(t, filepath.Join(lab, n.lab, n.short+"-any.pcap")), n.pod)
		filter := fmt.Sprintf("(host %s)", n.pod)
		log := fmt.Sprintf("/usr/bin/tcpdump -w /tmp/%s/%s.pcap --relinquish-privileges=root -i any %s\n\n"+
			"tcpdump: data link type LINUX_SLL2\ntcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n"+
			"%d packets captured\n%s packets received by filter\n0 packets dropped by kernel\n", name, name, filter, count, n.anyStats)
		files := []struct {
			name string
			data []byte
		}{
			{"ip-resources.txt", ipResources(t, n)},
			{"iptables-rules.txt", iptablesRules(t, n)},
			{"proc-net/", nil},
			{"proc-net/snmp", readFile(t, filepath.Join(lab, "truth", n.short+"-snmp.txt"))},
			{name + ".pcap", pcap},
			{"tcpdump.log", []byte(log)},
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		// compressFolderToTarGz walks the folder: "." first, then names in
		// lexical order, relative to it.
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: ".", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: retinaStart}))
		for _, f := range files {
			h := &tar.Header{Name: strings.TrimSuffix(f.name, "/"), Mode: 0o644, Size: int64(len(f.data)), ModTime: retinaStart, Typeflag: tar.TypeReg}
			if strings.HasSuffix(f.name, "/") {
				h.Typeflag, h.Mode = tar.TypeDir, 0o755
			}
			require.NoError(t, tw.WriteHeader(h))
			_, err := tw.Write(f.data)
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		require.NoError(t, zw.Close())
		require.NoError(t, os.MkdirAll(filepath.Join(out, "svc-capture"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(out, "svc-capture", name+".tar.gz"), buf.Bytes(), 0o644))
	}
}

// TestHostFilterAsTcpdump: the fixture's pod filter keeps what tcpdump's
// own "host" filter keeps from the same capture.
func TestHostFilterAsTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed: the fixture's filter cannot be compared with it")
	}
	for _, n := range retinaNodes {
		in := filepath.Join(lab, n.lab, n.short+"-any.pcap")
		want := filepath.Join(t.TempDir(), "want.pcap")
		out, err := exec.Command("tcpdump", "-r", in, "-w", want, "host "+n.pod.String()).CombinedOutput()
		require.NoError(t, err, "%s", out)
		got, count := hostFiltered(t, readFile(t, in), n.pod)
		assert.Positive(t, count)
		// tcpdump -w writes microseconds; the lab's captures nanoseconds.
		packets := func(name string, b []byte) (out []string) {
			f, err := decode.NewFileBytes(name, b)
			require.NoError(t, err)
			for {
				data, m, err := f.Next()
				if err != nil {
					return out
				}
				out = append(out, fmt.Sprintf("%d %x", m.TS/1000, data))
			}
		}
		assert.Equal(t, packets("tcpdump", readFile(t, want)), packets("fixture", got), "%s: packets kept", n.lab)
	}
}

// TestRetinaBundles: Retina's download folder opens as an incident of
// two nodes named from the bundles; the -i any interfaces are named from
// ip-resources.txt; the pod filter's blind spot (the VXLAN copy on eth0)
// is stated, and its missing hop is neither a path hop nor a drop.
func TestRetinaBundles(t *testing.T) {
	if *update {
		buildRetina(t, retina)
	}
	fresh := t.TempDir()
	buildRetina(t, fresh)
	for _, n := range retinaNodes {
		name := fmt.Sprintf("svc-capture/svc-capture-%s-%s.tar.gz", n.node, retinaStart.Format("20060102150405UTC"))
		assert.Equal(t, readFile(t, filepath.Join(fresh, name)), readFile(t, filepath.Join(retina, name)), "%s differs from what the lab's captures give; run with -update after review", name)
	}

	inc, err := Open([]string{retina}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems)
	require.Len(t, inc.Nodes, 2)
	assert.Equal(t, "worker-1", inc.Nodes[0].Name)
	assert.Equal(t, "worker-2", inc.Nodes[1].Name)
	require.Len(t, inc.Nodes[0].Logs, 1)
	assert.Equal(t, "(host 10.244.0.5)", inc.Nodes[0].Logs[0].Filter)
	assert.Contains(t, inc.Nodes[0].Addrs(), netip.MustParseAddr("192.168.1.10"), "ip -d -j addr show in ip-resources.txt")
	notes := strings.Join(inc.Notes, "\n")
	assert.Contains(t, notes, `worker-1: the capture filter "(host 10.244.0.5)" keeps only packets to or from 10.244.0.5`)
	assert.Contains(t, notes, "not a drop")

	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	assert.Empty(t, res.Drops, "a hop the filter could not see is not a drop")
	want := []string{"veth-pod-a", "worker-1/cni0", "worker-1/flannel.1", "worker-2/flannel.1", "worker-2/cni0", "veth-pod-c"}
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

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
