package k8s

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// CaptureNode is one node folder of an incident and the addresses its
// saved interface list gives, to match it with a Kubernetes node.
type CaptureNode struct {
	Name  string
	Addrs []netip.Addr
}

// MatchNodes maps the incident's node folders to Kubernetes nodes: by a
// shared address, else by the same name.
func (c *Cluster) MatchNodes(caps []CaptureNode) map[string]string {
	out := map[string]string{}
	for _, cn := range caps {
		for _, n := range c.Nodes {
			if slices.ContainsFunc(cn.Addrs, func(a netip.Addr) bool { return contains(n.Addrs, a) }) {
				out[cn.Name] = n.Name
				break
			}
		}
		if _, ok := out[cn.Name]; !ok {
			for _, n := range c.Nodes {
				if n.Name == cn.Name {
					out[cn.Name] = n.Name
				}
			}
		}
	}
	return out
}

// Names returns the names of the addresses res's flows use, sorted as
// analyze.Result keeps them.
func (c *Cluster) Names(caps []CaptureNode, res *analyze.Result) []analyze.Name {
	used := map[netip.Addr]bool{}
	for _, f := range res.Flows {
		for _, s := range []string{f.Orig.Src, f.Orig.Dst, f.Reply.Src, f.Reply.Dst} {
			if a, err := netip.ParseAddr(s); err == nil {
				used[a] = true
			}
		}
	}
	folder := map[string]string{} // kubernetes node -> capture folder
	for cap, kn := range c.MatchNodes(caps) {
		if cap != kn {
			folder[kn] = cap
		}
	}
	var out []analyze.Name
	add := func(n analyze.Name) {
		if used[n.Addr] {
			n.Capture = folder[n.Node]
			out = append(out, n)
		}
	}
	endpointOf := c.endpointIndex()
	// Pods: a reused address gets one name per pod, bounded by the pods'
	// creation and deletion times.
	byIP := map[netip.Addr][]int{}
	var ips []netip.Addr // byIP's keys in pod order: a map's order is random
	for i, p := range c.Pods {
		if p.HostNetwork {
			continue
		}
		for _, a := range p.IPs {
			if _, ok := byIP[a]; !ok {
				ips = append(ips, a)
			}
			byIP[a] = append(byIP[a], i)
		}
	}
	for _, a := range ips {
		idx := byIP[a]
		for _, i := range idx {
			p := &c.Pods[i]
			n := analyze.Name{Addr: a, Kind: analyze.NamePod, Name: p.Namespace + "/" + p.Name, Node: p.Node, Detail: endpointOf[p.Namespace+"/"+p.Name]}
			if len(idx) > 1 {
				if !p.Created.IsZero() {
					n.FromNS = p.Created.UnixNano()
				}
				if !p.Deleted.IsZero() {
					n.UntilNS = p.Deleted.UnixNano()
				}
			}
			add(n)
		}
	}
	// Host-network pods share the node's address: told apart by port.
	for _, p := range c.Pods {
		if !p.HostNetwork {
			continue
		}
		for _, a := range p.IPs {
			for _, pt := range p.Ports {
				add(analyze.Name{Addr: a, Port: pt.Port, Proto: proto(pt.Protocol), Kind: analyze.NameHostPod, Name: p.Namespace + "/" + p.Name, Node: p.Node, Detail: "host network, port " + portName(pt)})
			}
		}
	}
	for _, s := range c.Services {
		for _, a := range s.ClusterIPs {
			for _, pt := range s.Ports {
				add(analyze.Name{Addr: a, Port: pt.Port, Proto: proto(pt.Protocol), Kind: analyze.NameService,
					Name: fmt.Sprintf("svc/%s/%s:%d", s.Namespace, s.Name, pt.Port), Detail: c.explain(s, pt)})
			}
		}
		for _, pt := range s.Ports {
			if pt.NodePort == 0 {
				continue
			}
			for _, n := range c.Nodes {
				for _, a := range n.Addrs {
					add(analyze.Name{Addr: a, Port: pt.NodePort, Proto: proto(pt.Protocol), Kind: analyze.NameService, Node: n.Name,
						Name: fmt.Sprintf("svc/%s/%s:%d", s.Namespace, s.Name, pt.Port), Detail: fmt.Sprintf("NodePort %d; %s", pt.NodePort, c.explain(s, pt))})
				}
			}
		}
	}
	for _, n := range c.Nodes {
		for _, a := range n.Addrs {
			add(analyze.Name{Addr: a, Kind: analyze.NameNode, Name: n.Name, Node: n.Name})
		}
		for _, t := range n.Tunnels {
			add(analyze.Name{Addr: t.Addr, Kind: analyze.NameTunnel, Name: n.Name + " " + t.Device, Node: n.Name, Detail: t.Detail})
		}
	}
	analyze.SortNames(out)
	return slices.CompactFunc(out, func(x, y analyze.Name) bool { return x == y })
}

// endpointIndex says, per pod (namespace/name), which services' endpoints
// it is.
func (c *Cluster) endpointIndex() map[string]string {
	out := map[string][]string{}
	for _, es := range c.Slices {
		for _, ep := range es.Endpoints {
			if ep.Pod == "" {
				continue
			}
			s := fmt.Sprintf("endpoint of svc/%s/%s (EndpointSlice %s)", es.Namespace, es.Service, es.Name)
			if !slices.Contains(out[ep.Pod], s) {
				out[ep.Pod] = append(out[ep.Pod], s)
			}
		}
	}
	flat := map[string]string{}
	for k, v := range out {
		slices.Sort(v)
		flat[k] = strings.Join(v, "; ")
	}
	return flat
}

// explain says where a service port's DNAT sends packets, from its
// EndpointSlices: "DNAT to 10.244.1.5:8080 (default/web-7d9) via
// EndpointSlice web-abcde".
func (c *Cluster) explain(s Service, pt Port) string {
	var to []string
	var names []string
	for _, es := range c.Slices {
		if es.Namespace != s.Namespace || es.Service != s.Name {
			continue
		}
		port := uint16(0)
		for _, p := range es.Ports {
			if p.Name == pt.Name && proto(p.Protocol) == proto(pt.Protocol) {
				port = p.Port
			}
		}
		if port == 0 {
			continue
		}
		names = append(names, es.Name)
		for _, ep := range es.Endpoints {
			for _, a := range ep.Addrs {
				t := netip.AddrPortFrom(a, port).String()
				if ep.Pod != "" {
					t += " (" + ep.Pod + ")"
				}
				to = append(to, t)
			}
		}
	}
	if len(to) == 0 {
		return "no endpoints listed"
	}
	slices.Sort(to)
	return "DNAT to " + strings.Join(to, ", ") + " via EndpointSlice " + strings.Join(names, ", ")
}

func portName(p Port) string {
	s := strconv.Itoa(int(p.Port)) + "/" + strings.ToLower(p.Protocol)
	if p.Name != "" {
		s += " (" + p.Name + ")"
	}
	return s
}

func proto(s string) analyze.Proto {
	switch strings.ToUpper(s) {
	case "UDP":
		return analyze.ProtoUDP
	case "SCTP":
		return analyze.ProtoSCTP
	}
	return analyze.ProtoTCP
}
