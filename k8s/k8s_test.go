package k8s

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

var frontDoorK8s = filepath.Join("..", "testdata", "incidents", "front-door", "k8s", "cluster.json")

func cluster(t *testing.T) *Cluster {
	t.Helper()
	b, err := os.ReadFile(frontDoorK8s)
	require.NoError(t, err)
	c := &Cluster{}
	require.NoError(t, c.Parse(frontDoorK8s, b))
	return c
}

func flowRes(flows ...analyze.Flow) *analyze.Result { return &analyze.Result{Flows: flows} }

func flow(src string, sport uint16, dst string, dport uint16, first time.Time) analyze.Flow {
	t := analyze.TupleJSON{Src: src, Dst: dst, SPort: sport, DPort: dport}
	return analyze.Flow{Proto: analyze.ProtoTCP, Orig: t, Reply: analyze.TupleJSON{Src: dst, Dst: src, SPort: dport, DPort: sport}, FirstNS: first.UnixNano()}
}

func TestParseList(t *testing.T) {
	c := cluster(t)
	assert.Len(t, c.Pods, 5)
	assert.Len(t, c.Services, 1)
	assert.Len(t, c.Slices, 1)
	require.Len(t, c.Nodes, 2)
	// flannel's VTEP: the pod CIDR's network address on flannel.1, VNI 1.
	require.Len(t, c.Nodes[0].Tunnels, 1)
	assert.Equal(t, netip.MustParseAddr("10.244.0.0"), c.Nodes[0].Tunnels[0].Addr)
	assert.Equal(t, "flannel.1", c.Nodes[0].Tunnels[0].Device)
}

// TestSeparateFiles: objects saved one kind per file, or several
// documents in one file, read as one List.
func TestSeparateFiles(t *testing.T) {
	c := &Cluster{}
	require.NoError(t, c.Parse("pods.json", []byte(`{"kind":"PodList","items":[{"kind":"Pod","metadata":{"name":"a","namespace":"ns"},"spec":{"nodeName":"n1"},"status":{"podIP":"10.1.0.2"}}]}`)))
	require.NoError(t, c.Parse("svc.json", []byte(`{"kind":"Service","metadata":{"name":"s","namespace":"ns"},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":53,"protocol":"UDP","targetPort":"dns"}]}}
{"kind":"Node","metadata":{"name":"n1","annotations":{"projectcalico.org/IPv4VXLANTunnelAddr":"10.1.0.192","projectcalico.org/IPv4IPIPTunnelAddr":"10.1.0.193"}},"status":{"addresses":[{"type":"InternalIP","address":"172.18.0.2"}]}}`)))
	assert.Len(t, c.Pods, 1)
	assert.Len(t, c.Services, 1)
	require.Len(t, c.Nodes, 1)
	assert.Len(t, c.Nodes[0].Tunnels, 2)
	names := c.Names(nil, flowRes(flow("10.1.0.192", 40000, "10.1.0.2", 80, time.Time{})))
	require.Len(t, names, 2)
	assert.Equal(t, analyze.NameTunnel, names[1].Kind)
	assert.Equal(t, "n1 vxlan.calico", names[1].Name)
	assert.Error(t, c.Parse("bad.json", []byte(`{"kind":`)))
}

// TestNames: a reused pod IP is named by the pod that held it when the
// flow ran; a host-network pod only at its ports, the node otherwise; a
// service port with its DNAT target from the EndpointSlice; capture
// folders matched to nodes by address.
func TestNames(t *testing.T) {
	c := cluster(t)
	before := time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC) // the batch job held 10.244.0.6
	after := time.Date(2026, 11, 22, 16, 19, 0, 0, time.UTC) // the idle pod did
	res := flowRes(
		flow("10.244.0.6", 41000, "10.96.0.10", 80, before),
		flow("10.244.0.6", 42000, "10.96.0.10", 80, after),
		flow("10.244.0.5", 43000, "192.168.1.11", 9100, after),
		flow("10.244.0.5", 43001, "192.168.1.11", 22, after),
	)
	res.Names = c.Names([]CaptureNode{{Name: "node-2", Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.11")}}}, res)
	name := func(addr string, port uint16, at time.Time) string {
		n, ok := res.NameOf(addr, port, analyze.ProtoTCP, at.UnixNano())
		if !ok {
			return ""
		}
		return n.Name
	}
	assert.Equal(t, "batch/report-29071440-8kq2w", name("10.244.0.6", 41000, before))
	assert.Equal(t, "default/idle-6c9f7d8b5-p9zrt", name("10.244.0.6", 42000, after))
	assert.Equal(t, "monitoring/node-exporter-7xk2v", name("192.168.1.11", 9100, after))
	assert.Equal(t, "worker-2", name("192.168.1.11", 22, after))
	assert.Equal(t, "svc/default/web:80", name("10.96.0.10", 80, after))
	assert.Equal(t, "", name("10.96.0.10", 81, after), "a service is named at its ports only")
	for _, n := range res.Names {
		if n.Kind == analyze.NameService {
			assert.Contains(t, n.Detail, "DNAT to 10.244.1.5:8080 (default/web-7d9c8f6b5-k4m2p) via EndpointSlice web-6fj2x")
		}
		if n.Kind == analyze.NameNode && n.Name == "worker-2" {
			assert.Equal(t, "node-2", n.Capture)
		}
	}
}

// TestNamesSameEveryRun: two pods listed with one address and no creation
// time (a stale object beside its successor) are named in one order every
// run, and the flow's address gets the same name: the names were sorted on
// address, port, time and kind only, from a map's random order.
func TestNamesSameEveryRun(t *testing.T) {
	var pods string
	for i := range 80 {
		if i > 0 {
			pods += ","
		}
		ip := fmt.Sprintf("10.1.0.%d", 2+i%40) // each address held by two pods
		pods += fmt.Sprintf(`{"kind":"Pod","metadata":{"name":"p%d","namespace":"ns"},"spec":{"nodeName":"n1"},"status":{"podIP":%q}}`, i, ip)
	}
	c := &Cluster{}
	require.NoError(t, c.Parse("pods.json", []byte(`{"kind":"PodList","items":[`+pods+`]}`)))
	var res *analyze.Result
	var first []string
	list := func(ns []analyze.Name) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Addr.String()+" "+n.Name)
		}
		return out
	}
	for run := range 30 {
		var flows []analyze.Flow
		for i := range 40 {
			flows = append(flows, flow(fmt.Sprintf("10.1.0.%d", 2+i), 40000, "10.1.0.2", 80, time.Time{}))
		}
		res = flowRes(flows...)
		res.Names = c.Names(nil, res)
		if run == 0 {
			first = list(res.Names)
			require.Len(t, first, 80)
			continue
		}
		require.Equal(t, first, list(res.Names), "run %d", run)
	}
	n, ok := res.NameOf("10.1.0.2", 40000, analyze.ProtoTCP, 0)
	require.True(t, ok)
	assert.Equal(t, "ns/p0", n.Name, "the first of the pods in name order (p0 before p40)")
}
