package incident

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hoptrace/hoptrace/decode"
)

// splitSample is how many first packets of each -i any capture are looked
// at for a packet two captures stamped at the same instant.
const splitSample = 4096

// splitNodes splits a node whose captures are several nodes' -i any
// captures: the pile "one tcpdump -i any per node" makes when its files
// are put in one folder (worker-1.pcap, worker-2.pcap) or given on the
// command line. Read as one node, their clocks were taken for one, and
// a packet seen on two nodes whose clocks differ by more than the
// correlation window made a false drop and a false capture gap. A node is
// split when it holds -i any captures of two or more stems (a rotating
// capture's files are one; copies were read once), they ran at the same
// time, no packet of one is in another stamped at the same instant on the
// same interface (one node's two -i any captures stamp every packet they
// share alike: the kernel stamps it once), every other capture of the
// node belongs to one of them by its name's prefix ("n1-eth0.pcap" beside
// "n1-any.pcap") or by its packets (ownerByPackets: a pod's capture,
// "poda-eth0.pcap"), and nothing else was saved for the node (interface
// lists, tcpdump logs) that would have to be given to one of them. Each
// new node is named after its -i any capture ("n1-any" is n1), and a note
// says so. Nodes named with --node are never split.
func (c *collector) splitNodes(inc *Incident, explicit map[string]bool) {
	for _, name := range slices.Clone(c.order) {
		acc := c.nodes[name]
		if explicit[name] || len(acc.caps) < 2 || len(acc.node.Links) > 0 || len(acc.node.Logs) > 0 || acc.node.Bundle != "" {
			continue
		}
		// The -i any captures, by stem; each is its own stem's.
		anys := map[string][]*entry{}
		owner := map[*entry]string{}
		var stems []string
		for _, e := range acc.caps {
			// A pcapng file describes its interfaces as it goes: read
			// through, as captures does.
			if ci := c.inspect(e, isPcapNG(e)); ci.err == nil && ci.sll2 {
				s := ci.stem
				if len(anys[s]) == 0 {
					stems = append(stems, s)
				}
				anys[s] = append(anys[s], e)
				owner[e] = s
			}
		}
		if len(stems) < 2 {
			continue
		}
		slices.Sort(stems)
		// Every other capture belongs to one -i any capture by prefix.
		prefix := map[string]string{} // stem -> what a per-interface capture's stem starts with
		for _, s := range stems {
			if p, ok := strings.CutSuffix(s, "any"); ok && p != "" {
				prefix[s] = p
			}
		}
		ok := true
		for _, e := range acc.caps {
			if owner[e] != "" {
				continue
			}
			stem := decode.Stem(e.name)
			best := ""
			for _, s := range stems {
				if p := prefix[s]; p != "" && strings.HasPrefix(stem, p) && len(p) > len(prefix[best]) {
					best = s
				}
			}
			if best == "" {
				best = ownerByPackets(e, anys, stems)
			}
			if best == "" {
				ok = false
				break
			}
			owner[e] = best
		}
		if !c.concurrent(anys, stems) {
			continue
		}
		if !ok {
			var files []string
			for _, s := range stems {
				for _, e := range anys[s] {
					files = append(files, e.name)
				}
			}
			c.w.problemf("%s: holds the -i any captures of several nodes (%s ran at the same time and stamped no packet alike, as no two captures of one node do), and captures not named after one of them: put each node's captures in a folder of its own, or name them with --node NAME=FILE,...; read as one node, with one clock, packets seen on two of them are judged wrongly", name, strings.Join(files, ", "))
			continue
		}
		// Split: each -i any capture's node, named after it (after its stem
		// where two would share a name, or a node of the incident has it).
		nodeOf := map[string]string{}
		taken := map[string]bool{}
		for _, s := range stems {
			n := nodeName(s)
			if _, other := c.nodes[n]; other && n != name || taken[n] {
				n = s
			}
			nodeOf[s], taken[n] = n, true
		}
		var parts []string
		for _, s := range stems {
			var files []string
			for _, e := range acc.caps {
				if owner[e] == s {
					files = append(files, e.name)
				}
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", nodeOf[s], strings.Join(files, ", ")))
		}
		caps := acc.caps
		delete(c.nodes, name)
		c.order = slices.DeleteFunc(c.order, func(n string) bool { return n == name })
		for _, e := range caps {
			n := c.node(nodeOf[owner[e]])
			n.caps = append(n.caps, e)
		}
		inc.Notes = append(inc.Notes, fmt.Sprintf("%s: its -i any captures ran at the same time and stamped no packet alike, as no two captures of one node do: taken as %d nodes, %s (--node NAME=FILE,... names nodes otherwise)", name, len(stems), strings.Join(parts, "; ")))
	}
}

// nodeName names the node of -i any capture stem: the stem without "any"
// and the separator before it ("n1-any" is n1), or the stem itself.
func nodeName(stem string) string {
	if p, ok := strings.CutSuffix(stem, "any"); ok {
		if p = strings.TrimRight(p, "-_."); p != "" {
			return p
		}
	}
	return stem
}

// concurrent reports whether the -i any captures of the stems ran at the
// same time, each one's span overlapping another's, and stamped no packet
// alike: different nodes' captures. The packets compared are each
// capture's first splitSample from the moment the last of them started,
// so that two captures of one node, one started long after the other,
// are compared over the same traffic; a capture with fewer than
// splitMin packets there gives no evidence, and nothing is split.
func (c *collector) concurrent(anys map[string][]*entry, stems []string) bool {
	type span struct{ first, last int64 }
	spans := map[string]span{}
	start := int64(0) // when the last of them started
	for _, s := range stems {
		sp := span{first: -1}
		for _, e := range anys[s] {
			ci := c.inspect(e, true)
			if ci.packets == 0 {
				continue
			}
			if sp.first < 0 || ci.first < sp.first {
				sp.first = ci.first
			}
			sp.last = max(sp.last, ci.last)
		}
		if sp.first < 0 {
			return false
		}
		spans[s] = sp
		start = max(start, sp.first)
	}
	for _, s := range stems {
		overlaps := false
		for _, o := range stems {
			if o != s && spans[s].first < spans[o].last && spans[o].first < spans[s].last {
				overlaps = true
			}
		}
		if !overlaps {
			return false
		}
	}
	seen := map[[2]uint64]string{} // (time stamp, interface and packet hash) -> stem
	for _, s := range stems {
		n, shared := 0, false
		for _, e := range anys[s] {
			if !eachPacket(e, func(ts int64, idx int32, sum uint64) bool {
				if n >= splitSample {
					return false
				}
				if ts < start {
					return true
				}
				n++
				k := [2]uint64{uint64(ts), sum ^ uint64(uint32(idx))}
				if other, dup := seen[k]; dup && other != s {
					shared = true // one node's
					return false
				}
				seen[k] = s
				return true
			}) || shared {
				return false
			}
		}
		if n < splitMin {
			return false
		}
	}
	return true
}

// splitMin is how many packets each -i any capture must have from the
// moment the last started for its node to be told apart from the others'.
const splitMin = 16

// ownerSample is how many first packets of a capture ownerByPackets looks
// for in the -i any captures, and ownerMin how many it must find there.
const (
	ownerSample = 256
	ownerMin    = 8
)

// ownerSlack is how far apart two captures of one node may stamp one
// packet at the two ends of a veth (the lab's pod eth0 and host veth:
// 2–30 µs): one clock. A host on the node's link whose clock is off by
// more is no pod of it; one whose clock agrees that well (the lab's
// external host, on the same kernel clock) is taken for one.
const ownerSlack = int64(1_000_000)

// ownerByPackets returns the stem of the -i any capture that holds the
// first packets of capture e, byte for byte from the network layer,
// stamped within ownerSlack: a pod's own capture ("poda-eth0.pcap") is in
// its node's -i any capture at the host's end of its veth, with the TTL it
// had in the pod; on another node the packet was routed (its TTL one
// less) or tunnelled. It returns "" when no capture holds ownerMin of them
// or two hold as many (link-scoped multicast, the same bytes on every
// node's uplink).
func ownerByPackets(e *entry, anys map[string][]*entry, stems []string) string {
	mine := map[uint64][]int64{}
	var first, last int64
	n := 0
	eachPacket(e, func(ts int64, _ int32, sum uint64) bool {
		if n == 0 {
			first = ts
		}
		first, last = min(first, ts), max(last, ts)
		mine[sum] = append(mine[sum], ts)
		n++
		return n < ownerSample
	})
	if n < ownerMin {
		return ""
	}
	best, second, owner := 0, 0, ""
	for _, s := range stems {
		found := map[uint64]bool{}
		for _, a := range anys[s] {
			eachPacket(a, func(ts int64, _ int32, sum uint64) bool {
				if ts > last+ownerSlack {
					return false // past the sample (a capture runs forward)
				}
				for _, t := range mine[sum] {
					if t-ownerSlack <= ts && ts <= t+ownerSlack {
						found[sum] = true
					}
				}
				return true
			})
		}
		switch k := len(found); {
		case k > best:
			best, second, owner = k, best, s
		case k > second:
			second = k
		}
	}
	if best < ownerMin || second*2 >= best {
		return ""
	}
	return owner
}
