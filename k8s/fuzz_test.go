package k8s

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
)

// FuzzK8s reads mutated kubectl output (pods, services, EndpointSlices,
// nodes) and names the flows between every address it holds: nothing may
// panic; an error names the file; whatever was read before an error is
// kept; every name is of an address a flow used; the names come out
// sorted, and the same for the same objects every time (names of one
// address, port, time and kind once came out in a map's random order).
// Seeds: the front-door incident's objects and the documents of the tests.
// Crashers found are kept in testdata/fuzz/FuzzK8s.
//
//	go test -run '^$' -fuzz=FuzzK8s -fuzztime=5m ./k8s
func FuzzK8s(f *testing.F) {
	if b, err := os.ReadFile(frontDoorK8s); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(`{"kind":"PodList","items":[{"kind":"Pod","metadata":{"name":"a","namespace":"ns","creationTimestamp":"2026-11-22T16:02:11Z"},"spec":{"nodeName":"n1","hostNetwork":true,"containers":[{"ports":[{"containerPort":9100,"protocol":"TCP","name":"m"}]}]},"status":{"podIP":"10.1.0.2","podIPs":[{"ip":"10.1.0.2"},{"ip":"fd00::2"}]}}]}`))
	f.Add([]byte(`{"kind":"Service","metadata":{"name":"s","namespace":"ns"},"spec":{"type":"NodePort","clusterIP":"10.96.0.1","clusterIPs":["10.96.0.1","fd00:96::1"],"ports":[{"port":53,"protocol":"UDP","targetPort":"dns","nodePort":30053}]}}
{"kind":"EndpointSlice","metadata":{"name":"s-x","namespace":"ns","labels":{"kubernetes.io/service-name":"s"}},"endpoints":[{"addresses":["10.1.0.2"],"nodeName":"n1","targetRef":{"kind":"Pod","name":"a","namespace":"ns"}}],"ports":[{"name":"dns","port":5353,"protocol":"UDP"}]}
{"kind":"Node","metadata":{"name":"n1","annotations":{"flannel.alpha.coreos.com/public-ip":"192.168.1.10","projectcalico.org/IPv4VXLANTunnelAddr":"10.244.0.1"}},"spec":{"podCIDR":"10.244.0.0/24"},"status":{"addresses":[{"type":"InternalIP","address":"192.168.1.10"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Cluster
		if err := c.Parse("objects.json", data); err != nil && !strings.Contains(err.Error(), "objects.json") {
			t.Fatalf("error does not name the file: %v", err)
		}
		// Every address the objects hold, as flows between them (at most
		// 64, so an execution stays short).
		var addrs []netip.Addr
		for _, p := range c.Pods {
			addrs = append(addrs, p.IPs...)
		}
		for _, s := range c.Services {
			addrs = append(addrs, s.ClusterIPs...)
		}
		for _, n := range c.Nodes {
			addrs = append(addrs, n.Addrs...)
			for _, tu := range n.Tunnels {
				addrs = append(addrs, tu.Addr)
			}
		}
		res := &analyze.Result{}
		used := map[string]bool{}
		for i, a := range addrs {
			if i == 64 {
				break
			}
			b := addrs[(i+1)%len(addrs)]
			tu := analyze.TupleJSON{Src: a.String(), Dst: b.String(), SPort: 40000, DPort: uint16(i)}
			res.Flows = append(res.Flows, analyze.Flow{Proto: analyze.ProtoTCP, Orig: tu,
				Reply: analyze.TupleJSON{Src: tu.Dst, Dst: tu.Src, SPort: tu.DPort, DPort: tu.SPort}, FirstNS: time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC).UnixNano()})
			used[tu.Src], used[tu.Dst] = true, true
		}
		caps := []CaptureNode{{Name: "node-1"}, {Name: "n1", Addrs: addrs[:min(len(addrs), 2)]}}
		names := c.Names(caps, res)
		for _, n := range names {
			if !used[n.Addr.String()] {
				t.Fatalf("name %q of %s, which no flow used", n.Name, n.Addr)
			}
		}
		if !slices.IsSortedFunc(names, func(x, y analyze.Name) int { return x.Addr.Compare(y.Addr) }) {
			t.Fatalf("names not sorted by address")
		}
		again := c.Names(caps, res)
		if !slices.Equal(names, again) {
			t.Fatalf("names differ from one call to the next:\n%v\n%v", names, again)
		}
		res.Names = names
		for _, fl := range res.Flows {
			res.NameOf(fl.Orig.Src, fl.Orig.SPort, fl.Proto, fl.FirstNS)
			res.NameOf(fl.Orig.Dst, fl.Orig.DPort, fl.Proto, 0)
		}
	})
}
