package analyze

import (
	"fmt"
	"net/netip"
	"strings"
)

// NATKind is what a translation rewrote: the destination (DNAT, a
// Service, a NodePort) or the source (SNAT, masquerading).
type NATKind uint8

// Kinds of translation.
const (
	DNAT NATKind = iota + 1 // the destination the sender used was rewritten
	SNAT                    // the source the sender used was rewritten
)

var natKinds = [...]string{DNAT: "dnat", SNAT: "snat"}

func (k NATKind) String() string {
	if int(k) < len(natKinds) && natKinds[k] != "" {
		return natKinds[k]
	}
	return fmt.Sprintf("nat-%d", k)
}

// MarshalText writes the kind's name: "dnat" or "snat".
func (k NATKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (k *NATKind) UnmarshalText(b []byte) error {
	for i, s := range natKinds {
		if s != "" && s == string(b) {
			*k = NATKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown nat type %q", b)
}

// NAT is one translation of a flow, as conntrack shows it: the endpoint
// the sender used (the destination for DNAT, the source for SNAT) and
// what it became. Endpoints are written "10.96.0.10:80" or
// "[fd00::1]:53" for protocols with ports, the bare address otherwise
// (ICMP).
type NAT struct {
	Type NATKind `json:"type"`
	From string  `json:"from"`
	To   string  `json:"to"`
}

// String writes the translation as schema v1 did:
// "dnat 10.96.0.10:80 -> 10.244.1.5:8080".
func (n NAT) String() string { return n.Type.String() + " " + n.From + " -> " + n.To }

// NATText writes a flow's translations as schema v1's "nat" string did:
// each as NAT.String does, separated by ", "; "" for none.
func NATText(ns []NAT) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, ", ")
}

// ParseNATText reads a flow's "nat" as schema hoptrace.analysis/v1 wrote
// it ("dnat 10.96.0.10:80 -> 10.244.1.5:8080, snat 10.244.0.5 ->
// 192.168.1.10"; "" for none) into its translations, so that analyses of
// that schema can still be read.
func ParseNATText(s string) ([]NAT, error) {
	if s == "" {
		return nil, nil
	}
	var out []NAT
	for _, part := range strings.Split(s, ", ") {
		f := strings.Fields(part)
		if len(f) != 4 || f[2] != "->" {
			return nil, fmt.Errorf("nat %q: want \"TYPE FROM -> TO\"", part)
		}
		var n NAT
		if err := n.Type.UnmarshalText([]byte(f[0])); err != nil {
			return nil, fmt.Errorf("nat %q: %w", part, err)
		}
		for _, e := range []string{f[1], f[3]} {
			if !validEndpoint(e) {
				return nil, fmt.Errorf("nat %q: %q is neither an address nor an address:port", part, e)
			}
		}
		n.From, n.To = f[1], f[3]
		out = append(out, n)
	}
	return out, nil
}

// validEndpoint reports whether e is an endpoint as NAT writes them.
func validEndpoint(e string) bool {
	if _, err := netip.ParseAddrPort(e); err == nil {
		return true
	}
	_, err := netip.ParseAddr(e)
	return err == nil
}
