package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// The summary every human-readable report opens with: the verdict, the worst
// hop, the drops grouped by where they happened, the MTU findings. Markdown
// and HTML share it so they never disagree.

// dropGroup is the drops of all flows between one pair of hops for one
// reason.
type dropGroup struct {
	From, To      string
	Reason        analyze.DropReason
	Packets       int
	Flows         int
	Retransmitted int
}

// groupDrops sums the drops per hop pair and reason, most packets first.
func groupDrops(drops []analyze.Drop) []dropGroup {
	idx := map[[3]string]int{}
	var out []dropGroup
	for _, d := range drops {
		k := [3]string{d.From, d.To, d.Reason.String()}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, dropGroup{From: d.From, To: d.To, Reason: d.Reason})
		}
		out[i].Packets += d.Packets
		out[i].Flows++
		out[i].Retransmitted += d.Retransmitted
	}
	slices.SortStableFunc(out, func(x, y dropGroup) int {
		return cmp.Or(cmp.Compare(y.Packets, x.Packets), cmp.Compare(x.From, y.From),
			cmp.Compare(x.To, y.To), cmp.Compare(x.Reason.String(), y.Reason.String()))
	})
	return out
}

// mtuText says in one sentence what an MTU finding is.
func mtuText(m analyze.MTUFinding) string {
	s := fmt.Sprintf("%s at %s, %s (%s)", m.Kind, m.Hop, flowText(m.Proto, m.Flow), m.Direction)
	if m.MTU > 0 {
		s += fmt.Sprintf(", MTU %d", m.MTU)
	}
	s += fmt.Sprintf(", %d %s", m.Packets, plural(m.Packets, "packet", "packets"))
	if m.Detail != "" {
		s += ": " + m.Detail
	}
	return s
}

// mtuSeverity grades one MTU finding for highlighting.
func mtuSeverity(kind analyze.MTUKind) string {
	switch kind {
	case analyze.MTUBlackhole, analyze.MTUIncompleteReassembly:
		return "bad"
	}
	return "warn"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// findFlow resolves a --flow argument.
func findFlow(flows []analyze.Flow, spec string) (int, error) {
	s := strings.Join(strings.Fields(spec), "")
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > len(flows) {
			return 0, fmt.Errorf("flow %d: the flow table has flows 1 to %d", n, len(flows))
		}
		return n - 1, nil
	}
	// No address begins with these letters (IPv6 digits are hex), so a
	// prefix is always the protocol.
	var proto analyze.Proto // 0: any
	for _, p := range []analyze.Proto{analyze.ProtoTCP, analyze.ProtoUDP, analyze.ProtoICMPv6, analyze.ProtoICMP, analyze.ProtoSCTP} {
		if rest, ok := strings.CutPrefix(strings.ToLower(s), p.String()); ok {
			proto, s = p, rest
			break
		}
	}
	src, dst, ok := strings.Cut(s, ">")
	if !ok {
		return 0, fmt.Errorf("flow %q: want an index or SRC[:PORT]>DST[:PORT]", spec)
	}
	sa, sp, err := parseEnd(src)
	if err != nil {
		return 0, fmt.Errorf("flow %q: %w", spec, err)
	}
	da, dp, err := parseEnd(dst)
	if err != nil {
		return 0, fmt.Errorf("flow %q: %w", spec, err)
	}
	var hits []int
	for i, f := range flows {
		if proto != 0 && f.Proto != proto {
			continue
		}
		for _, t := range []analyze.TupleJSON{f.Orig, f.Reply} {
			if t.Src == sa && t.Dst == da && (sp < 0 || int(t.SPort) == sp) && (dp < 0 || int(t.DPort) == dp) {
				hits = append(hits, i)
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		return 0, fmt.Errorf("flow %q: no such flow", spec)
	case 1:
		return hits[0], nil
	}
	return 0, fmt.Errorf("flow %q: matches %d flows; give ports or the flow's index", spec, len(hits))
}

// parseEnd reads "10.0.0.1:80", "[fd00::1]:80", "10.0.0.1" or "fd00::1";
// port is -1 when absent.
func parseEnd(s string) (addr string, port int, err error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String(), int(ap.Port()), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.String(), -1, nil
	}
	return "", 0, fmt.Errorf("%q is not an address or address:port", s)
}
