package analyze

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"

	"github.com/hoptrace/hoptrace/decode"
)

// An -i any capture of tcpdump before 4.99 is in Linux cooked v1, whose
// header says a frame's direction and link address but not its interface:
// each packet is in the file once per interface it crossed. The address
// tells the interfaces apart well enough to follow a path: an outgoing
// frame carries its interface's own address, an incoming one its sender's.
// Each direction and address is taken for an interface of its own
// ("n1-any:eth0 out" where the node's `ip -j link` names the address,
// "n1-any:in from 0a:58:0a:f4:00:05"), but a bridge and its port share
// one: a frame bridged keeps its addresses, so a pod's packet is in the
// file at its veth and again at cni0, the same bytes microseconds apart.
// That second copy is skipped. Read as one capture point instead, the
// realistic lab incident's two such captures made 203 false drops, 144
// retransmissions that were none and no clock estimate (TestCookedV1).

// cookedCopyWindow is how far apart two frames of one interface, the same
// bytes past the cooked header, are one frame seen by a bridge and its
// port: the lab's are 2–20 µs apart; a retransmission comes a round trip
// later at least and differs in its IP ID or TCP time stamp.
const cookedCopyWindow = int64(1_000_000)

// cookedRecent is a frame of a cooked v1 capture, for the copy check.
type cookedRecent struct {
	idx int32
	ts  int64
	sum uint64
}

// cookedIndex is the interface a cooked v1 frame is taken for, as an
// SLL2 interface index no real one reaches (above 2^24): its direction
// (outgoing or not), ARPHRD type and link address, hashed.
func cookedIndex(frame []byte) int32 {
	h := uint64(14695981039346656037)
	out := byte(0)
	if binary.BigEndian.Uint16(frame) == 4 {
		out = 1
	}
	h = (h ^ uint64(out)) * 1099511628211
	for _, b := range frame[2:14] {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return int32(1<<24 | h%(1<<30))
}

// Cooked reads the frames of a Capture.CookedAny file as the analysis
// does, for whoever else reads them (hoptrace merge): Take before
// anything else of a frame, PointOfFrame for its capture point. The zero
// value is ready; one per file, from its start.
type Cooked struct {
	seen [8]cookedRecent // the last frames, for the copy check
	next int             // where the next goes in seen
}

// Take gives a frame of a cooked v1 capture, decoded into r, its
// interface (r.Link.IfIndex: cookedIndex) and reports whether it is a
// copy of a frame its interface just saw (a bridge's port and the
// bridge), to be skipped. Frames of other link types are left alone.
func (k *Cooked) Take(r *decode.Record, frame []byte) (isCopy bool) {
	if r.Link.Type != decode.LinkLinuxSLL || len(frame) < 16 {
		return false
	}
	idx := cookedIndex(frame)
	r.Link.IfIndex = idx
	h := uint64(14695981039346656037)
	for _, b := range frame[16:] {
		h = (h ^ uint64(b)) * 1099511628211
	}
	ts := r.TS
	for _, c := range k.seen {
		if c.idx == idx && c.sum == h && ts-c.ts <= cookedCopyWindow && c.ts-ts <= cookedCopyWindow {
			return true
		}
	}
	k.seen[k.next%len(k.seen)] = cookedRecent{idx, ts, h}
	k.next++
	return false
}

// PointOfFrame is PointOf for a packet whose frame is at hand: a cooked
// v1 frame of a CookedAny capture is named by its direction and link
// address (see cookedIndex).
func (c *Capture) PointOfFrame(f *decode.File, r *decode.Record, frame []byte) string {
	if c.CookedAny && r.Link.Type == decode.LinkLinuxSLL && len(frame) >= 16 {
		if name := c.IfNames[cookedIndex(frame)]; name != "" {
			return name // joined to a per-interface capture (Shadows)
		}
		return c.cookedName(frame)
	}
	return c.PointOf(f, r)
}

// cookedName names the interface of a cooked v1 frame (see cookedIndex).
func (c *Capture) cookedName(frame []byte) string {
	stem := c.Point
	if stem == "" {
		stem = decode.Stem(c.Path)
	}
	return CookedPoint(stem, binary.BigEndian.Uint16(frame) == 4, CookedAddrOf(frame), c.MACNames)
}

// CookedAddr is what a cooked v1 frame (at least 16 bytes) says of the
// interface it crossed besides its direction: the link address it
// carries, or, for frames with none (a tun device), the interface's ARPHRD
// type.
type CookedAddr struct {
	HW     net.HardwareAddr // nil when the frame carries none
	HAType uint16
}

// CookedAddrOf reads a cooked v1 frame's CookedAddr.
func CookedAddrOf(frame []byte) CookedAddr {
	if n := int(binary.BigEndian.Uint16(frame[4:])); n > 0 && n <= 8 {
		return CookedAddr{HW: slices.Clone(net.HardwareAddr(frame[6 : 6+n]))}
	}
	return CookedAddr{HAType: binary.BigEndian.Uint16(frame[2:])}
}

func (a CookedAddr) String() string {
	if a.HW == nil {
		return fmt.Sprintf("arphrd %d", a.HAType)
	}
	return a.HW.String()
}

// CookedPoint names the capture point of a cooked v1 capture's frames
// (its Point, or its file's stem) leaving (out) or coming in with address
// a, macNames naming the node's interfaces by link address.
func CookedPoint(stem string, out bool, a CookedAddr, macNames map[string]string) string {
	switch {
	case !out && a.HW == nil:
		return fmt.Sprintf("%s:in %s", stem, a)
	case !out:
		return fmt.Sprintf("%s:in from %s", stem, a)
	}
	if name := macNames[a.String()]; name != "" && a.HW != nil {
		return fmt.Sprintf("%s:%s out", stem, name)
	}
	return fmt.Sprintf("%s:out %s", stem, a)
}
