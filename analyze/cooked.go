package analyze

import (
	"encoding/binary"
	"fmt"
	"net"

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

// cookedCopy takes the current frame of a cooked v1 capture: it sets its
// interface (cookedIndex) and reports whether it is a copy of a frame its
// interface just saw (a bridge's port and the bridge), to be skipped.
func (r *reader) cookedCopy(frame []byte) bool {
	if r.rec.Link.Type != decode.LinkLinuxSLL || len(frame) < 16 {
		return false
	}
	idx := cookedIndex(frame)
	r.rec.Link.IfIndex = idx
	h := uint64(14695981039346656037)
	for _, b := range frame[16:] {
		h = (h ^ uint64(b)) * 1099511628211
	}
	ts := r.rec.TS
	for _, c := range r.cookedSeen {
		if c.idx == idx && c.sum == h && ts-c.ts <= cookedCopyWindow && c.ts-ts <= cookedCopyWindow {
			return true
		}
	}
	r.cookedSeen[r.cookedNext%len(r.cookedSeen)] = cookedRecent{idx, ts, h}
	r.cookedNext++
	return false
}

// cookedName names the interface of a cooked v1 frame (see cookedIndex).
func (c *Capture) cookedName(f *decode.File, frame []byte) string {
	stem := c.Point
	if stem == "" {
		stem = decode.Stem(c.Path)
	}
	hatype, n := binary.BigEndian.Uint16(frame[2:]), int(binary.BigEndian.Uint16(frame[4:]))
	out := binary.BigEndian.Uint16(frame) == 4
	if n == 0 || n > 8 {
		dir := "in"
		if out {
			dir = "out"
		}
		return fmt.Sprintf("%s:%s arphrd %d", stem, dir, hatype)
	}
	addr := net.HardwareAddr(frame[6 : 6+n]).String()
	if !out {
		return fmt.Sprintf("%s:in from %s", stem, addr)
	}
	if name := c.MACNames[addr]; name != "" {
		return fmt.Sprintf("%s:%s out", stem, name)
	}
	return fmt.Sprintf("%s:out %s", stem, addr)
}
