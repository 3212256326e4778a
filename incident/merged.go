package incident

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// leaveMerged leaves out the files hoptrace merge wrote when the incident
// holds other captures: a merged file is the analysis of those captures
// written as one (each hop an interface, the clocks' offsets applied), so
// read beside them it is every packet again, at a node of its own, whose
// clock the estimate tied to the others (cross-vxlan with its merged file
// saved in its folder: a third node, "mg", and a clock bound below zero).
// Alone, a merged file is read: that is what it is for.
func (c *collector) leaveMerged(inc *Incident) {
	total, merged := 0, 0
	for _, acc := range c.nodes {
		for _, e := range acc.caps {
			total++
			if mergedFile(e) {
				merged++
			}
		}
	}
	if merged == 0 || merged == total {
		return
	}
	for _, acc := range c.nodes {
		kept := acc.caps[:0]
		for _, e := range acc.caps {
			if mergedFile(e) {
				inc.Notes = append(inc.Notes, fmt.Sprintf("%s: written by hoptrace merge, from captures such as these: not read beside them (analyse it alone to read it)", e.path))
				continue
			}
			kept = append(kept, e)
		}
		acc.caps = kept
	}
}

// mergedFile reports whether e is a pcapng file hoptrace merge wrote: its
// section header names the application "hoptrace merge" or "hoptrace
// VERSION merge" (shb_userappl).
func mergedFile(e *entry) bool {
	app := shbApplication(e.head(4096))
	return strings.HasPrefix(app, "hoptrace ") && strings.HasSuffix(app, " merge")
}

// shbApplication returns the shb_userappl option of the pcapng section
// header block at the start of b, "" when there is none.
func shbApplication(b []byte) string {
	if len(b) < 28 || binary.LittleEndian.Uint32(b) != 0x0a0d0d0a {
		return ""
	}
	var order binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d {
		order = binary.BigEndian
	} else if order.Uint32(b[8:]) != 0x1a2b3c4d {
		return ""
	}
	end := int(order.Uint32(b[4:])) - 4 // before the trailing length
	if end > len(b) {
		end = len(b)
	}
	for off := 24; off+4 <= end; {
		code, n := order.Uint16(b[off:]), int(order.Uint16(b[off+2:]))
		off += 4
		if code == 0 || off+n > end {
			break
		}
		if code == 4 { // shb_userappl
			return string(b[off : off+n])
		}
		off += (n + 3) &^ 3
	}
	return ""
}
