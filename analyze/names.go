package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// NameKind is what a named address is in the cluster.
type NameKind uint8

// Kinds of names.
const (
	NamePod     NameKind = iota + 1 // a pod's own address
	NameHostPod                     // a host-network pod: the node's address, at its ports only
	NameService                     // a service's cluster IP (or node port) and port
	NameNode                        // a node's address
	NameTunnel                      // a node's tunnel device address (flannel.1, vxlan.calico, tunl0)
)

var nameKinds = [...]string{NamePod: "pod", NameHostPod: "host-network-pod", NameService: "service", NameNode: "node", NameTunnel: "tunnel"}

func (k NameKind) String() string {
	if int(k) < len(nameKinds) && nameKinds[k] != "" {
		return nameKinds[k]
	}
	return fmt.Sprintf("kind-%d", k)
}

// MarshalText writes the kind's name.
func (k NameKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (k *NameKind) UnmarshalText(b []byte) error {
	for i, s := range nameKinds {
		if s != "" && s == string(b) {
			*k = NameKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown name kind %q", b)
}

// Name says what an address (at a port, when Port is set) is in
// Kubernetes: a pod, a service, a node or a node's tunnel device. Names are
// shown next to addresses, never instead of them.
type Name struct {
	Addr netip.Addr `json:"addr"`
	// Port, when not 0, limits the name to this port (a service port, a
	// host-network pod's port); Proto to this protocol.
	Port  uint16   `json:"port,omitempty"`
	Proto Proto    `json:"proto,omitempty"`
	Kind  NameKind `json:"kind"`
	// Name is "namespace/pod", "svc/namespace/name:port" or the node's name.
	Name string `json:"name"`
	// Node is the Kubernetes node the address lives on, and Capture the
	// incident's folder of that node when it is not named the same.
	Node    string `json:"node,omitempty"`
	Capture string `json:"capture_node,omitempty"`
	// Detail explains: the EndpointSlice that made a pod a service's
	// endpoint, the tunnel a node address belongs to.
	Detail string `json:"detail,omitempty"`
	// FromNS and UntilNS bound when the pod held the address (creation and
	// deletion times, Unix ns); 0 means unbounded. A pod IP reused by a
	// later pod has one Name per pod.
	FromNS  int64 `json:"from_ns,omitempty"`
	UntilNS int64 `json:"until_ns,omitempty"`
}

// SortNames sorts names by address, port and time, as Result keeps them,
// then by every other field: names equal in the first four (two pods given
// one address with no creation time) came out in the order the sort met
// them, which followed a map's random order, and NameOf took the first.
func SortNames(ns []Name) {
	slices.SortFunc(ns, func(x, y Name) int {
		if c := x.Addr.Compare(y.Addr); c != 0 {
			return c
		}
		if x.Port != y.Port {
			return int(x.Port) - int(y.Port)
		}
		if x.FromNS != y.FromNS {
			if x.FromNS < y.FromNS {
				return -1
			}
			return 1
		}
		if x.Kind != y.Kind {
			return int(x.Kind) - int(y.Kind)
		}
		return cmp.Or(cmp.Compare(x.Proto, y.Proto), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Node, y.Node),
			cmp.Compare(x.Capture, y.Capture), cmp.Compare(x.UntilNS, y.UntilNS), cmp.Compare(x.Detail, y.Detail))
	})
}

// NameOf returns the name of addr at port for a packet of proto at time t
// (Unix ns; 0 when not known): a name for that port first, then one for
// the whole address, held at t.
func (r *Result) NameOf(addr string, port uint16, proto Proto, t int64) (Name, bool) {
	a, err := netip.ParseAddr(addr)
	if err != nil || len(r.Names) == 0 {
		return Name{}, false
	}
	i, _ := slices.BinarySearchFunc(r.Names, a, func(n Name, a netip.Addr) int { return n.Addr.Compare(a) })
	var best *Name
	for ; i < len(r.Names) && r.Names[i].Addr == a; i++ {
		n := &r.Names[i]
		if t != 0 && (n.FromNS != 0 && t < n.FromNS || n.UntilNS != 0 && t >= n.UntilNS) {
			continue
		}
		if n.Port != 0 && (n.Port != port || n.Proto != 0 && n.Proto != proto) {
			continue
		}
		if best == nil || best.Port == 0 && n.Port != 0 {
			best = n
		}
	}
	if best == nil {
		return Name{}, false
	}
	return *best, true
}
