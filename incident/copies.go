package incident

import (
	"fmt"
	"hash/fnv"

	"github.com/hoptrace/hoptrace/decode"
)

// A node's per-interface captures merged into one file by a tool that
// keeps one interface description for them all (mergecap does for pcap
// files, which name no interface, unless told -I none) hold each packet
// once per interface it crossed, under one capture point: the realistic
// incident's node captures merged so made 525 false drops. Such a file is
// told by the copies in it: a bridge's port and the bridge take a frame
// alike, routing only lowers its TTL. A capture of one interface holds a
// packet once.

// mergedFrames is how many first frames of a capture are looked at, and
// mergedWithin how close a copy follows its packet.
const (
	mergedFrames = 256
	mergedWithin = 1_000_000 // ns
)

// mergedShare reads a single-interface capture's first frames and returns
// how many are a copy of one within the millisecond before (the same IP
// packet but for its TTL and checksum), and how many were looked at.
func mergedShare(e *entry) (copies, n int) {
	f, err := openEntry(e)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	last := map[uint64]int64{}
	for n < mergedFrames {
		data, m, err := f.Next()
		if err != nil {
			break
		}
		if m.Link == decode.LinkSLL2 || m.Link == decode.LinkLinuxSLL {
			return 0, 0 // an -i any capture holds copies by design
		}
		off := l3Offset(m.Link, data)
		if off < 0 {
			return 0, 0
		}
		k, ok := ipInvariant(data[min(off, len(data)):])
		if !ok {
			continue
		}
		n++
		if t, seen := last[k]; seen && m.TS-t <= mergedWithin && m.TS >= t {
			copies++
		}
		last[k] = m.TS
	}
	return copies, n
}

// ipInvariant hashes an IP packet's header but for its TTL (hop limit)
// and checksum, and the first 24 bytes after it.
func ipInvariant(b []byte) (uint64, bool) {
	h := fnv.New64a()
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		hl := int(b[0]&0x0f) * 4
		if hl < 20 || len(b) < hl {
			return 0, false
		}
		h.Write(b[0:8])
		h.Write(b[9:10])
		h.Write(b[12:hl])
		h.Write(b[hl:min(len(b), hl+24)])
	case len(b) >= 40 && b[0]>>4 == 6:
		h.Write(b[0:7])
		h.Write(b[8:min(len(b), 64)])
	default:
		return 0, false
	}
	return h.Sum64(), true
}

// mergedNote says a capture looks merged, when a tenth or more of its
// first frames are copies.
func mergedNote(what string, copies, n int) (string, bool) {
	if n < 64 || copies*10 < n {
		return "", false
	}
	return fmt.Sprintf("%s: %d of its first %d packets are in it again within a millisecond (another interface's copy, or the same packet routed): it seems to hold several interfaces' captures under one (mergecap merges pcap files' interfaces unless run with -I none); read as one capture point, each copy is a crossing of it, and its paths and drops are not to be trusted: analyse the per-interface files instead", what, copies, n), true
}
