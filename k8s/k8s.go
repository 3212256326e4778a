package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Cluster is the objects read.
type Cluster struct {
	Pods      []Pod
	Services  []Service
	Slices    []EndpointSlice
	Nodes     []Node
	Documents int // JSON documents read
}

// Pod is the part of a pod that names addresses.
type Pod struct {
	Namespace, Name string
	Node            string
	IPs             []netip.Addr
	HostNetwork     bool
	Ports           []Port // containers' ports (what a host-network pod listens on)
	Created         time.Time
	Deleted         time.Time // zero while it runs
	Phase           string
}

// Port is a container port or a service port.
type Port struct {
	Name       string
	Port       uint16
	TargetPort string // services: a number or a port name
	NodePort   uint16
	Protocol   string // TCP, UDP, SCTP
}

// Service is a service's addresses and ports.
type Service struct {
	Namespace, Name string
	ClusterIPs      []netip.Addr
	Ports           []Port
	Type            string
}

// EndpointSlice lists the endpoints of a service.
type EndpointSlice struct {
	Namespace, Name string
	Service         string // label kubernetes.io/service-name
	Ports           []Port
	Endpoints       []Endpoint
}

// Endpoint is one endpoint of a slice.
type Endpoint struct {
	Addrs []netip.Addr
	Pod   string // targetRef namespace/name when it is a pod
	Node  string
}

// Node is a node's addresses and its CNI's tunnel addresses.
type Node struct {
	Name    string
	Addrs   []netip.Addr // status.addresses of type InternalIP / ExternalIP
	PodCIDR []netip.Prefix
	// Tunnels are the node's tunnel device addresses from its CNI's
	// annotations: flannel's VTEP (the pod CIDR's network address on
	// flannel.1, with the VNI of backend-data), Calico's vxlan.calico and
	// tunl0 addresses.
	Tunnels []Tunnel
}

// Tunnel is a node's tunnel device address.
type Tunnel struct {
	Addr   netip.Addr
	Device string // flannel.1, vxlan.calico, tunl0
	Detail string
}

// object is the part of any Kubernetes object read here.
type object struct {
	Kind     string            `json:"kind"`
	Items    []json.RawMessage `json:"items"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		Labels            map[string]string `json:"labels"`
		Annotations       map[string]string `json:"annotations"`
		CreationTimestamp string            `json:"creationTimestamp"`
		DeletionTimestamp string            `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		NodeName    string   `json:"nodeName"`
		HostNetwork bool     `json:"hostNetwork"`
		ClusterIP   string   `json:"clusterIP"`
		ClusterIPs  []string `json:"clusterIPs"`
		Type        string   `json:"type"`
		PodCIDR     string   `json:"podCIDR"`
		PodCIDRs    []string `json:"podCIDRs"`
		Ports       []struct {
			Name       string          `json:"name"`
			Port       uint16          `json:"port"`
			TargetPort json.RawMessage `json:"targetPort"`
			NodePort   uint16          `json:"nodePort"`
			Protocol   string          `json:"protocol"`
		} `json:"ports"`
		Containers []struct {
			Ports []struct {
				Name          string `json:"name"`
				ContainerPort uint16 `json:"containerPort"`
				Protocol      string `json:"protocol"`
			} `json:"ports"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		PodIP     string                `json:"podIP"`
		PodIPs    []struct{ IP string } `json:"podIPs"`
		Phase     string                `json:"phase"`
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
	// EndpointSlice fields sit at the top level.
	Endpoints []struct {
		Addresses []string `json:"addresses"`
		NodeName  string   `json:"nodeName"`
		TargetRef *struct {
			Kind, Name, Namespace string
		} `json:"targetRef"`
	} `json:"endpoints"`
	Ports []struct {
		Name     string `json:"name"`
		Port     uint16 `json:"port"`
		Protocol string `json:"protocol"`
	} `json:"ports"`
}

// Parse reads the JSON documents of data (several may follow one another)
// into c. name names data in errors.
func (c *Cluster) Parse(name string, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var o object
		err := dec.Decode(&o)
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return fmt.Errorf("read kubernetes objects %s at offset %d: %w", name, dec.InputOffset(), err)
		}
		c.Documents++
		if err := c.add(&o); err != nil {
			return fmt.Errorf("read kubernetes objects %s: %w", name, err)
		}
	}
}

func (c *Cluster) add(o *object) error {
	if len(o.Items) > 0 || strings.HasSuffix(o.Kind, "List") {
		for _, raw := range o.Items {
			var it object
			if err := json.Unmarshal(raw, &it); err != nil {
				return err
			}
			if err := c.add(&it); err != nil {
				return err
			}
		}
		return nil
	}
	m := &o.Metadata
	switch o.Kind {
	case "Pod":
		p := Pod{Namespace: m.Namespace, Name: m.Name, Node: o.Spec.NodeName, HostNetwork: o.Spec.HostNetwork, Phase: o.Status.Phase}
		p.Created, _ = time.Parse(time.RFC3339, m.CreationTimestamp)
		p.Deleted, _ = time.Parse(time.RFC3339, m.DeletionTimestamp)
		for _, ip := range o.Status.PodIPs {
			if a, err := netip.ParseAddr(ip.IP); err == nil {
				p.IPs = append(p.IPs, a)
			}
		}
		if a, err := netip.ParseAddr(o.Status.PodIP); err == nil && !contains(p.IPs, a) {
			p.IPs = append(p.IPs, a)
		}
		for _, ct := range o.Spec.Containers {
			for _, cp := range ct.Ports {
				p.Ports = append(p.Ports, Port{Name: cp.Name, Port: cp.ContainerPort, Protocol: cmpOr(cp.Protocol, "TCP")})
			}
		}
		c.Pods = append(c.Pods, p)
	case "Service":
		s := Service{Namespace: m.Namespace, Name: m.Name, Type: o.Spec.Type}
		ips := o.Spec.ClusterIPs
		if len(ips) == 0 && o.Spec.ClusterIP != "" {
			ips = []string{o.Spec.ClusterIP}
		}
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil {
				s.ClusterIPs = append(s.ClusterIPs, a)
			}
		}
		for _, sp := range o.Spec.Ports {
			tp := strings.Trim(string(sp.TargetPort), `"`)
			s.Ports = append(s.Ports, Port{Name: sp.Name, Port: sp.Port, TargetPort: tp, NodePort: sp.NodePort, Protocol: cmpOr(sp.Protocol, "TCP")})
		}
		c.Services = append(c.Services, s)
	case "EndpointSlice":
		es := EndpointSlice{Namespace: m.Namespace, Name: m.Name, Service: m.Labels["kubernetes.io/service-name"]}
		for _, p := range o.Ports {
			es.Ports = append(es.Ports, Port{Name: p.Name, Port: p.Port, Protocol: cmpOr(p.Protocol, "TCP")})
		}
		for _, e := range o.Endpoints {
			ep := Endpoint{Node: e.NodeName}
			for _, a := range e.Addresses {
				if ad, err := netip.ParseAddr(a); err == nil {
					ep.Addrs = append(ep.Addrs, ad)
				}
			}
			if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
				ep.Pod = cmpOr(e.TargetRef.Namespace, m.Namespace) + "/" + e.TargetRef.Name
			}
			es.Endpoints = append(es.Endpoints, ep)
		}
		c.Slices = append(c.Slices, es)
	case "Node":
		n := Node{Name: m.Name}
		for _, a := range o.Status.Addresses {
			if a.Type != "InternalIP" && a.Type != "ExternalIP" {
				continue
			}
			if ad, err := netip.ParseAddr(a.Address); err == nil {
				n.Addrs = append(n.Addrs, ad)
			}
		}
		cidrs := o.Spec.PodCIDRs
		if len(cidrs) == 0 && o.Spec.PodCIDR != "" {
			cidrs = []string{o.Spec.PodCIDR}
		}
		for _, s := range cidrs {
			if p, err := netip.ParsePrefix(s); err == nil {
				n.PodCIDR = append(n.PodCIDR, p)
			}
		}
		n.Tunnels = cniTunnels(m.Annotations, n.PodCIDR)
		c.Nodes = append(c.Nodes, n)
	}
	return nil
}

// cniTunnels reads the tunnel addresses a node's CNI annotations give.
//
// flannel (pkg/subnet/kube: flannel.alpha.coreos.com/backend-type,
// backend-data {"VNI":1,"VtepMAC":...}, public-ip): the VXLAN device
// flannel.<VNI> carries the network address of the node's pod CIDR, the
// source of packets the node itself sends to other nodes' pods.
// Calico (projectcalico.org/IPv4VXLANTunnelAddr, IPv4IPIPTunnelAddr and
// the IPv6 VXLAN one): vxlan.calico's and tunl0's addresses.
func cniTunnels(ann map[string]string, cidrs []netip.Prefix) []Tunnel {
	var out []Tunnel
	if bt := ann["flannel.alpha.coreos.com/backend-type"]; bt != "" || ann["flannel.alpha.coreos.com/backend-data"] != "" {
		var bd struct {
			VNI     int    `json:"VNI"`
			VtepMAC string `json:"VtepMAC"`
		}
		_ = json.Unmarshal([]byte(ann["flannel.alpha.coreos.com/backend-data"]), &bd)
		vni := max(bd.VNI, 1)
		dev := fmt.Sprintf("flannel.%d", vni)
		if bt == "" {
			bt = "vxlan"
		}
		for _, p := range cidrs {
			if bt == "vxlan" {
				out = append(out, Tunnel{Addr: p.Masked().Addr(), Device: dev, Detail: fmt.Sprintf("flannel %s VTEP, VNI %d, MAC %s, underlay %s", bt, vni, bd.VtepMAC, ann["flannel.alpha.coreos.com/public-ip"])})
			}
		}
	}
	for key, dev := range map[string]string{
		"projectcalico.org/IPv4VXLANTunnelAddr": "vxlan.calico",
		"projectcalico.org/IPv6VXLANTunnelAddr": "vxlan-v6.calico",
		"projectcalico.org/IPv4IPIPTunnelAddr":  "tunl0",
	} {
		if a, err := netip.ParseAddr(ann[key]); err == nil {
			out = append(out, Tunnel{Addr: a, Device: dev, Detail: "calico " + dev + " address (" + key + ")"})
		}
	}
	return out
}

func contains(as []netip.Addr, a netip.Addr) bool {
	for _, b := range as {
		if a == b {
			return true
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
