package analyze

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/hoptrace/hoptrace/decode"
)

// BackgroundKind is a kind of background traffic: what every real node's
// links carry beside the flows under study (neighbour discovery, group
// membership, address configuration, link-local chatter). It is counted
// per hop, never followed as a flow, unless a filter selects it.
type BackgroundKind uint8

// Background kinds. The zero value is not background.
const (
	BackgroundNone BackgroundKind = iota
	// BackgroundND is IPv6 neighbour solicitation, advertisement or redirect.
	BackgroundND
	// BackgroundRouterDiscovery is an IPv6 router solicitation or advertisement.
	BackgroundRouterDiscovery
	// BackgroundMLD is IPv6 multicast listener discovery.
	BackgroundMLD
	// BackgroundIGMP is IPv4 group membership.
	BackgroundIGMP
	// BackgroundARP is ARP, on the link or inside a tunnel.
	BackgroundARP
	// BackgroundMDNS is multicast DNS (UDP 5353) or LLMNR (UDP 5355).
	BackgroundMDNS
	// BackgroundLLDP is the link layer discovery protocol.
	BackgroundLLDP
	// BackgroundDHCP is DHCP (UDP 67/68) or DHCPv6 (UDP 546/547).
	BackgroundDHCP
	// BackgroundLinkLocal is other traffic to or from a link-local address.
	BackgroundLinkLocal
	// BackgroundMulticast is other multicast or broadcast traffic.
	BackgroundMulticast
	// BackgroundICMP is any other ICMP or ICMPv6 message that is neither an
	// echo nor an error (node information, router advertisement of IPv4…):
	// it belongs to no flow.
	BackgroundICMP
	// BackgroundNonIP is any other frame without an IP header (STP, LACP…).
	BackgroundNonIP
	numBackground
)

var backgroundNames = [numBackground]string{"", "nd", "rs-ra", "mld", "igmp", "arp", "mdns", "lldp", "dhcp", "link-local", "multicast", "icmp-other", "non-ip"}

func (k BackgroundKind) String() string {
	if k < numBackground {
		return backgroundNames[k]
	}
	return fmt.Sprintf("background-%d", uint8(k))
}

// MarshalText writes the kind's name.
func (k BackgroundKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *BackgroundKind) UnmarshalText(b []byte) error {
	for i, n := range backgroundNames {
		if i > 0 && n == string(b) {
			*k = BackgroundKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown background kind %q", b)
}

// Background is the background traffic of one kind seen at one hop.
type Background struct {
	Hop     string         `json:"hop"`
	Node    string         `json:"node"`
	Kind    BackgroundKind `json:"kind"`
	Packets int            `json:"packets"`
	Bytes   int64          `json:"bytes"` // on the wire
}

// Ethertypes of link protocols the decoder does not decode.
const etherLLDP = 0x88cc

// UDP ports of link-scoped services.
const (
	portDHCPServer   = 67
	portDHCPClient   = 68
	portDHCP6Client  = 546
	portDHCP6Server  = 547
	portMDNS         = 5353
	portLLMNR        = 5355
	icmpRouterAdvert = 9
	icmpRouterSolic  = 10
)

// classify says which kind of background traffic a decoded record is, or
// BackgroundNone.
func classify(r *decode.Record) BackgroundKind {
	if r.Link.ARP {
		return BackgroundARP
	}
	h := r.Inner()
	if h == nil {
		if r.Link.EtherType == etherLLDP {
			return BackgroundLLDP
		}
		return BackgroundNonIP
	}
	if h.Proto == decode.ProtoTCP && !linkAddr(h.Src) && !linkAddr(h.Dst) {
		return BackgroundNone // the bulk of any capture
	}
	l4 := &r.L4
	switch {
	case h.Proto == protoIGMP:
		return BackgroundIGMP
	case l4.Proto == decode.ProtoICMPv6:
		switch t := r.ICMP.Type; {
		case t == icmp6RS || t == icmp6RA:
			return BackgroundRouterDiscovery
		case t == icmp6NS || t == icmp6NA || t == icmp6Redirect || t == icmp6INDSol || t == icmp6INDAdv:
			return BackgroundND
		case t == icmp6MLDQuery || t == icmp6MLDReport || t == icmp6MLDDone || t == icmp6MLDv2Report:
			return BackgroundMLD
		case !isEcho(&r.ICMP, true) && !r.ICMP.IsError(true):
			return BackgroundICMP
		}
	case l4.Proto == decode.ProtoICMP:
		if !isEcho(&r.ICMP, false) && !r.ICMP.IsError(false) {
			return BackgroundICMP
		}
	case l4.Proto == decode.ProtoUDP && h.FragOffset == 0:
		switch {
		case (l4.DPort == portMDNS || l4.SPort == portMDNS || l4.DPort == portLLMNR || l4.SPort == portLLMNR) &&
			(linkAddr(h.Dst) || linkAddr(h.Src)):
			// On their multicast groups or link-local: a DNS server
			// behind a service may listen on 5353 too.
			return BackgroundMDNS
		case l4.SPort == portDHCPClient && l4.DPort == portDHCPServer, l4.SPort == portDHCPServer && l4.DPort == portDHCPClient,
			l4.SPort == portDHCP6Client && l4.DPort == portDHCP6Server, l4.SPort == portDHCP6Server && l4.DPort == portDHCP6Client:
			return BackgroundDHCP
		}
	}
	switch {
	case h.Dst.IsMulticast() || h.Dst == broadcast4:
		return BackgroundMulticast
	case h.Src.IsLinkLocalUnicast() || h.Dst.IsLinkLocalUnicast():
		return BackgroundLinkLocal
	}
	return BackgroundNone
}

// alwaysBackground reports kinds that are never followed as flows, even
// when a filter selects them: ICMP messages that are neither echoes nor
// errors have no flow to belong to (a flow table would show them as
// echoes), and frames without IP cannot be followed.
func alwaysBackground(k BackgroundKind) bool {
	switch k {
	case BackgroundND, BackgroundRouterDiscovery, BackgroundMLD, BackgroundICMP, BackgroundARP, BackgroundLLDP, BackgroundNonIP:
		return true
	}
	return false
}

// backgroundAcc counts background traffic by hop and kind.
type backgroundAcc struct {
	counts [][numBackground]bgCount // by hop
}

type bgCount struct {
	packets int
	bytes   int64
}

func (b *backgroundAcc) add(hop int32, k BackgroundKind, wire int) {
	for int(hop) >= len(b.counts) {
		b.counts = append(b.counts, [numBackground]bgCount{})
	}
	c := &b.counts[hop][k]
	c.packets++
	c.bytes += int64(wire)
}

// result lists the counts, sorted by node, hop and kind.
func (b *backgroundAcc) result(a *analysis, names []string) []Background {
	var out []Background
	for h := range b.counts {
		for k := range b.counts[h] {
			if c := b.counts[h][k]; c.packets > 0 {
				out = append(out, Background{Hop: names[h], Node: a.nodes[a.hops[h].node], Kind: BackgroundKind(k), Packets: c.packets, Bytes: c.bytes})
			}
		}
	}
	slices.SortFunc(out, func(x, y Background) int {
		return cmp.Or(cmp.Compare(x.Node, y.Node), cmp.Compare(x.Hop, y.Hop), cmp.Compare(x.Kind, y.Kind))
	})
	return out
}
