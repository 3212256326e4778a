package incident

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"

	"github.com/hoptrace/hoptrace/decode"
)

// dupPrefix is how many first packets tell two captures apart before the
// whole files are compared: two captures of different points differ in
// their first packets (what they carry, or when they were stamped), a
// copy does not.
const dupPrefix = 32

// duplicates takes out of a node's captures those that are copies of
// another: named as the same capture (the same stem, as a capture and its
// compressed copy or its pcapng conversion are, or the stem and a copy's
// suffix, "eth0 (1)", "eth0 copy", "eth0 - Copy") and holding the same
// packets, stamped at the same instants, from the network layer on. Read
// twice, a copy made every packet cross its hop twice (the same stem) or a
// second hop, and the clock estimate saw each packet twice; read once, it
// is what it is. The name is needed: captures of two interfaces may hold
// the same packets at the same instants, byte for byte (nodeport-snat's
// n2-cni0.pcap and n2-veth-pod-c.pcap: a bridge and its only port, the
// kernel stamping each packet once for both). Of a set of copies the one
// kept has the shortest stem, then is not compressed, then comes first by
// path; a note names the others. Only single-interface captures that are
// not -i any captures are compared. Files are read whole only when their
// first dupPrefix packets are alike.
func (c *collector) duplicates(inc *Incident, node string, infos []capInfo) []capInfo {
	type key struct {
		name   string
		prefix uint64
	}
	byPrefix := map[key][]int{}
	var prefixes []key
	for i, ci := range infos {
		if ci.sll2 || len(ci.ifaces) != 1 {
			continue
		}
		h, ok := packetsHash(ci.e, dupPrefix)
		if !ok {
			continue
		}
		k := key{copyOf(decode.Stem(ci.e.name)), h}
		if len(byPrefix[k]) == 0 {
			prefixes = append(prefixes, k)
		}
		byPrefix[k] = append(byPrefix[k], i)
	}
	drop := map[int]bool{}
	for _, p := range prefixes {
		g := byPrefix[p]
		if len(g) < 2 {
			continue
		}
		// Whole files: the same hash of every packet.
		byWhole := map[uint64][]int{}
		var wholes []uint64
		for _, i := range g {
			h, ok := packetsHash(infos[i].e, -1)
			if !ok {
				continue
			}
			if len(byWhole[h]) == 0 {
				wholes = append(wholes, h)
			}
			byWhole[h] = append(byWhole[h], i)
		}
		for _, w := range wholes {
			copies := byWhole[w]
			if len(copies) < 2 {
				continue
			}
			slices.SortFunc(copies, func(a, b int) int {
				ea, eb := infos[a].e, infos[b].e
				if d := len(decode.Stem(ea.name)) - len(decode.Stem(eb.name)); d != 0 {
					return d
				}
				if d := compressed(ea) - compressed(eb); d != 0 {
					return d
				}
				return strings.Compare(ea.path, eb.path)
			})
			var names []string
			for _, i := range copies[1:] {
				drop[i] = true
				names = append(names, infos[i].e.name)
			}
			inc.Notes = append(inc.Notes, fmt.Sprintf("%s: %s %s the same packets as %s at the same instants: %s, read once", node, strings.Join(names, ", "), verb(len(names), "holds", "hold"), infos[copies[0]].e.name, verb(len(names), "a copy", "copies")))
		}
	}
	if len(drop) == 0 {
		return infos
	}
	kept := infos[:0:0]
	for i, ci := range infos {
		if !drop[i] {
			kept = append(kept, ci)
		}
	}
	return kept
}

// copySuffix is what file managers add to the name of a copy: a browser
// or GNOME's " (1)", macOS's " copy" and " copy 2", Windows' " - Copy" and
// " - Copy (2)".
var copySuffix = regexp.MustCompile(`(?i)( \([0-9]+\)| copy( [0-9]+)?| - copy( \([0-9]+\))?)$`)

// copyOf returns the stem a copy's stem was made from: stem without a copy
// suffix.
func copyOf(stem string) string {
	if loc := copySuffix.FindStringIndex(stem); loc != nil && loc[0] > 0 {
		return stem[:loc[0]]
	}
	return stem
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// compressed is 1 for a compressed capture, 0 otherwise.
func compressed(e *entry) int {
	if decode.CompressionOf(e.head(4)) != decode.Uncompressed {
		return 1
	}
	return 0
}

// packetsHash hashes the first n packets of a capture (all of them when n
// is negative): each one's time stamp and seenAt.sum, in order. ok is
// false when the capture has no packet or a link type that is not
// compared.
func packetsHash(e *entry, n int) (uint64, bool) {
	h := fnv.New64a()
	var b [16]byte
	k := 0
	ok := eachPacket(e, func(ts int64, _ int32, sum uint64) bool {
		binary.LittleEndian.PutUint64(b[:8], uint64(ts))
		binary.LittleEndian.PutUint64(b[8:], sum)
		h.Write(b[:])
		k++
		return n < 0 || k < n
	})
	return h.Sum64(), ok && k > 0
}
