package incident

import (
	"encoding/binary"
	"fmt"

	"github.com/hoptrace/hoptrace/decode"
)

// tcpdump before 4.99 (Ubuntu 20.04's 4.9.3, RHEL 8's) writes an -i any
// capture in Linux cooked v1, which says a frame's direction and link
// address but not which interface saw it: each packet is in the file once
// per interface it crossed (a pod's packet at its veth, at cni0, at
// flannel.1 and at eth0), which no path can be read from. Read as one
// capture point, the realistic lab incident's two such captures made 203
// false drops and 144 retransmissions that are none, and no clock
// estimate; beside the nodes' per-interface captures, 461 false drops.

// sll1Scan is how many packets sll1Any reads.
const sll1Scan = 5000

// sll1Any reports whether a Linux cooked v1 capture is an -i any capture:
// its outgoing Ethernet frames carry more than one sender address (each an
// interface of the node: the link address of an outgoing frame is its
// interface's own). A pcapng file that names its interface, other than
// "any" (dumpcap's name for it), is that interface's capture whatever its
// addresses say: gopacket's linux_sll_oversized_addr.pcapng, eth0's
// capture anonymised by TraceWrangler with 11 outgoing frames' addresses
// garbled, was split into 14 capture points with 157 false drops.
func sll1Any(ci capInfo) bool {
	if len(ci.ifaces) != 1 || ci.ifaces[0].Link != decode.LinkLinuxSLL {
		return false
	}
	if name := ci.ifaces[0].Name; name != "" && name != "any" {
		return false
	}
	f, err := openEntry(ci.e)
	if err != nil {
		return false
	}
	defer f.Close()
	var first [8]byte
	seen := false
	for range sll1Scan {
		data, _, err := f.Next()
		if err != nil {
			return false
		}
		// pkttype 4 (outgoing), ARPHRD_ETHER, a 6-byte address.
		if len(data) < 16 || binary.BigEndian.Uint16(data) != 4 || binary.BigEndian.Uint16(data[2:]) != 1 || binary.BigEndian.Uint16(data[4:]) != 6 {
			continue
		}
		addr := [8]byte(data[6:14])
		switch {
		case !seen:
			first, seen = addr, true
		case addr != first:
			return true
		}
	}
	return false
}

// cookedV1 marks a node's Linux cooked v1 -i any captures (capInfo.cooked)
// for analyze to tell their frames' interfaces apart, and a note says how
// they are read. Beside per-interface captures they were left out at
// first, as they made 461 false drops read as one capture point; split,
// they make none there (the same drops and flows as without them, each
// interface seen twice under two names), and left out they took with
// them every hop nothing else captured: a node's -i any capture and a
// pod's own kept only the pod's: 2 capture points where the same files
// in Linux cooked v2 give 12 (TestCookedV1AnyCaptures).
func (c *collector) cookedV1(inc *Incident, node string, infos []capInfo) {
	for i := range infos {
		ci := &infos[i]
		if !sll1Any(*ci) {
			continue
		}
		ci.cooked = true
		inc.Notes = append(inc.Notes, fmt.Sprintf("%s: %s is an -i any capture in Linux cooked v1 (tcpdump before 4.99), which does not say which interface saw a packet: its frames are told apart by direction and link address, a capture point each (\"eth0 out\", \"in from 0a:58:0a:f4:00:05\"); a bridge and its ports are one, each packet read once there (tcpdump 4.99 or later writes Linux cooked v2, which names the interface)", node, ci.e.path))
	}
}

// macNames names a node's interfaces by their link address, where one
// interface has it (Calico's veths all have ee:ee:ee:ee:ee:ee: none of
// them names it).
func macNames(links []Link) map[string]string {
	m := map[string]string{}
	shared := map[string]bool{}
	for _, l := range links {
		switch {
		case l.MAC == "" || l.MAC == "00:00:00:00:00:00":
		case m[l.MAC] != "" && m[l.MAC] != l.Name:
			shared[l.MAC] = true
		default:
			m[l.MAC] = l.Name
		}
	}
	for mac := range shared {
		delete(m, mac)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
