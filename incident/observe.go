package incident

import (
	"fmt"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// observability states what a node's captures could not see, so that a
// missing hop is read as "not observed" rather than as a drop: a filter
// that keeps only some addresses (Retina's pod filter "host POD-IP" never
// matches the outer header of a VXLAN or IPIP packet, whose addresses are
// the nodes'), a snap length too short for the inner headers of tunnelled
// packets, and packets the kernel dropped before tcpdump read them.
//
// groups are the captures' rotating captures (rotations): a snap length is
// a capture's, said once for all its files.
func (c *collector) observability(inc *Incident, n *Node, infos []capInfo, groups [][]int) {
	for _, l := range n.Logs {
		if addrs, ok := hostFilter(l.Filter); ok {
			var s []string
			for _, a := range addrs {
				s = append(s, a.String())
			}
			inc.Notes = append(inc.Notes, fmt.Sprintf("%s: the capture filter %q keeps only packets to or from %s: the encapsulated (VXLAN, IPIP, Geneve) copies of their packets on the node's underlay interfaces carry the nodes' addresses and were not observed; their absence there is not a drop", n.Name, l.Filter, strings.Join(s, ", ")))
		} else if l.Filter != "" {
			inc.Notes = append(inc.Notes, fmt.Sprintf("%s: the capture filter %q may hide some hops of some flows: packets it excludes were not observed, not dropped", n.Name, l.Filter))
		}
		if l.DroppedKernel > 0 {
			inc.Notes = append(inc.Notes, fmt.Sprintf("%s: tcpdump reports %d packets dropped by the kernel (%s) before it read them: a packet missing from this node's capture may never have been observed", n.Name, l.DroppedKernel, l.Command))
		}
	}
	for _, ci := range infos {
		for _, st := range ci.stats {
			if drop := max(st.IfDrop, 0) + max(st.OSDrop, 0); drop > 0 {
				name := ""
				if st.Iface < len(ci.ifaces) && ci.ifaces[st.Iface].Name != "" {
					name = " (" + ci.ifaces[st.Iface].Name + ")"
				}
				inc.Notes = append(inc.Notes, fmt.Sprintf("%s: interface %d%s: the capture's statistics say %d packets were dropped (interface %d, OS %d) before they were written: a packet missing there may never have been observed", ci.e.path, st.Iface, name, drop, max(st.IfDrop, 0), max(st.OSDrop, 0)))
			}
		}
	}
	for _, g := range groups {
		ci := infos[g[0]]
		what := ci.e.path
		if len(g) > 1 {
			what += fmt.Sprintf(" and the %d further files of its rotating capture", len(g)-1)
		}
		if len(ci.ifaces) == 1 && !ci.sll2 && !ci.cooked {
			copies, n := mergedShare(ci.e)
			if note, ok := mergedNote(what, copies, n); ok {
				inc.Notes = append(inc.Notes, note)
			}
		}
		for _, f := range ci.ifaces {
			if f.SnapLen > 0 && f.SnapLen < analyze.ShortSnap {
				inc.Notes = append(inc.Notes, fmt.Sprintf("%s: snap length %d bytes is too short for the inner headers of tunnelled packets (%d wanted): inner flows there may not be observed", what, f.SnapLen, analyze.ShortSnap))
				break
			}
		}
	}
}
