package analyze

import (
	"fmt"
	"net/netip"
	"strings"
)

// SchemaVersion names the layout of Result in JSON. It changes whenever a
// key changes meaning or disappears; adding keys does not change it.
const SchemaVersion = "hoptrace.analysis/v2"

// SchemaV1 is the previous layout, which readers of baselines still
// accept: it differs from v2 only in each flow's "nat", a string there
// ("dnat 10.96.0.10:80 -> 10.244.1.5:8080", see ParseNATText).
const SchemaV1 = "hoptrace.analysis/v1"

// Result is everything one analysis found. Every slice is sorted, so the
// same captures always give the same Result.
type Result struct {
	Schema   string           `json:"schema"`
	Captures []CaptureSummary `json:"captures"`
	Flows    []Flow           `json:"flows"`
	Paths    []Path           `json:"paths"`
	Hops     []HopLatency     `json:"hops"`
	Clocks   []Clock          `json:"clocks"`
	Encap    []Encap          `json:"encap"`
	MTU      []MTUFinding     `json:"mtu"`
	Drops    []Drop           `json:"drops"`
	// Background is the traffic counted per hop rather than followed: ND,
	// MLD, ARP, DHCP, link-local and multicast chatter (see BackgroundKind).
	Background []Background `json:"background"`
	// Names say what the addresses of the flows are in Kubernetes, when
	// the incident came with the cluster's objects (sorted by address).
	Names []Name `json:"names,omitempty"`
	// Unjudged are packets last seen before a hop whose capture was not
	// running at the time: whether they were dropped cannot be told.
	Unjudged []Unjudged `json:"unjudged,omitempty"`
	// Warnings are input problems (damaged files, malformed packets: the
	// analysis kept everything read before them) and limits of the analysis
	// (a clock that could not be estimated).
	Warnings []string `json:"warnings"`
	// InputProblems counts the warnings that are input problems.
	InputProblems int `json:"input_problems"`

	fates []Fate // by Trace.Fate, when traced
}

// CaptureSummary is one capture point: a file, or one interface of a
// multi-interface file.
type CaptureSummary struct {
	Hop  string `json:"hop"`
	Node string `json:"node"`
	File string `json:"file"`
	// AlsoFiles are other captures of the same point: an -i any capture
	// whose interface this is, merged into this hop, and the further files
	// of a rotating capture (decode.Stem).
	AlsoFiles []string `json:"also_files,omitempty"`
	// AlsoPoints are the names the point had before the data joined an
	// -i any capture's interface to it ("n1-any:if4"): check reads a
	// baseline written then by them.
	AlsoPoints []string `json:"also_points,omitempty"`
	Packets    int      `json:"packets"`
	FirstNS    int64    `json:"first_ns"` // first packet, on the node's own clock
	LastNS     int64    `json:"last_ns"`
	// StartNS and EndNS are when the capture started and ended as its
	// file's statistics say (pcapng isb_starttime, isb_endtime), on the
	// node's own clock; absent when the file does not say. The capture
	// covers that span rather than its node's window: packets that should
	// have reached the hop outside it are counted in Result.Unjudged.
	StartNS int64 `json:"start_ns,omitempty"`
	EndNS   int64 `json:"end_ns,omitempty"`
	// SnapLen is the capture's snap length when it is shorter than the
	// headers of a tunnelled packet (ShortSnap): packets it cut before
	// what tells them apart are not followed there.
	SnapLen int `json:"snap_len,omitempty"`
}

// ShortSnap is the capture length that holds the headers of a VXLAN
// packet over IPv6 down to its inner TCP header with options: 14 Ethernet
// + 40 IPv6 + 8 UDP + 8 VXLAN + 14 inner Ethernet + 40 inner IPv6 + 60 TCP.
// A capture of a shorter snap length may cut what identifies a packet.
const ShortSnap = 184

// Tuple is a flow's 5-tuple in one direction. For ICMP echo, SPort is the
// echo identifier and DPort is 0. Tuple is comparable and used as a map key.
type Tuple struct {
	Proto        Proto
	Src, Dst     netip.Addr
	SPort, DPort uint16
}

// Reverse returns the tuple of the opposite direction.
func (t Tuple) Reverse() Tuple {
	if t.Proto.IsICMP() {
		return Tuple{Proto: t.Proto, Src: t.Dst, Dst: t.Src, SPort: t.SPort}
	}
	return Tuple{Proto: t.Proto, Src: t.Dst, Dst: t.Src, SPort: t.DPort, DPort: t.SPort}
}

func (t Tuple) String() string {
	return fmt.Sprintf("%s %s", t.Proto, t.Endpoints())
}

// Endpoints writes the tuple without its protocol: "10.0.0.1:80 > 10.0.0.2:5000".
func (t Tuple) Endpoints() string {
	if t.Proto.HasPorts() {
		return fmt.Sprintf("%s > %s", netip.AddrPortFrom(t.Src, t.SPort), netip.AddrPortFrom(t.Dst, t.DPort))
	}
	return fmt.Sprintf("%s > %s", t.Src, t.Dst)
}

// TupleJSON is a tuple as the JSON schema writes it.
type TupleJSON struct {
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	SPort uint16 `json:"sport"`
	DPort uint16 `json:"dport"`
}

// JSON returns t in schema form.
func (t Tuple) JSON() TupleJSON {
	return TupleJSON{Src: t.Src.String(), Dst: t.Dst.String(), SPort: t.SPort, DPort: t.DPort}
}

// Flow is one connection as conntrack would track it.
//
// A SYN scan's result holds a million of them at once: 296 bytes each,
// the JSON fields only (a Go-only copy of the two tuples, which nothing
// read, made it 424: 128 MB of a 1M-flow scan's result; TestFlowBytes).
type Flow struct {
	Proto Proto `json:"proto"`
	// Orig is the tuple of the first packet as its sender sent it; Reply is
	// the tuple replies are expected with, showing any NAT observed across
	// hops, as in conntrack -L.
	Orig    TupleJSON `json:"orig"`
	Reply   TupleJSON `json:"reply"`
	State   string    `json:"state"` // TCP: the kernel's conntrack state; "" otherwise
	Assured bool      `json:"assured"`
	// Unreplied reports that no packet was seen in the reply direction.
	Unreplied bool  `json:"unreplied"`
	Packets   int   `json:"packets"` // both directions
	Bytes     int   `json:"bytes"`   // IP bytes, both directions
	OrigStats Dir   `json:"orig_stats"`
	ReplStats Dir   `json:"reply_stats"`
	FirstNS   int64 `json:"first_ns"`
	LastNS    int64 `json:"last_ns"`
	// NAT lists the translations seen across hops (the difference between
	// the reply tuple and the original one reversed), DNAT first; none
	// when nothing was translated.
	NAT []NAT `json:"nat,omitempty"`
	// Tunnel marks a carrier: the flow of the tunnel packets (VXLAN's
	// UDP, IPIP) that carried pod packets between nodes, named by the
	// tunnel type they carry ("vxlan", "ipip", ...). Carriers follow the
	// pod flows in Flows and have no paths, latencies or drops of their own.
	Tunnel string `json:"tunnel,omitempty"`
}

// Dir is per-direction flow statistics, with Wireshark's expert-info meaning
// for the TCP counts.
type Dir struct {
	Packets     int `json:"packets"`
	Bytes       int `json:"bytes"`
	Retransmits int `json:"retransmissions"`
	OutOfOrder  int `json:"out_of_order"`
	ZeroWindow  int `json:"zero_window"`
	MaxSegment  int `json:"max_segment"` // largest IP packet seen at the sender's first hop
	MSS         int `json:"mss,omitempty"`
}

// Path is the ordered hops one direction of a flow crossed. A hop its
// packets crossed twice (NodePort: in plain on a node's eth0, out again
// in VXLAN on the same eth0) is in Hops twice, each crossing in its place.
type Path struct {
	Flow      TupleJSON `json:"flow"`
	Proto     Proto     `json:"proto"`
	Direction Direction `json:"direction"` // orig or reply
	Hops      []string  `json:"hops"`
	Packets   int       `json:"packets"`
}

// HopLatency is the time packets took between two consecutive hops.
type HopLatency struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Direction Direction `json:"direction"` // orig, reply or both
	Packets   int       `json:"packets"`
	MinNS     int64     `json:"min_ns"`
	P50NS     int64     `json:"p50_ns"`
	P90NS     int64     `json:"p90_ns"`
	P99NS     int64     `json:"p99_ns"`
	MaxNS     int64     `json:"max_ns"`
	// CrossNode reports that the two hops are on different nodes, so the
	// figures depend on the estimated clock offset.
	CrossNode bool `json:"cross_node"`
	// Negative counts samples below zero after clock correction; they are
	// left out of the figures.
	Negative int `json:"negative,omitempty"`
}

// Clock is the estimated offset of a node's clock from the reference node:
// subtract OffsetNS from the node's timestamps to get reference time.
type Clock struct {
	Node      string `json:"node"`
	Reference string `json:"reference"`
	OffsetNS  int64  `json:"offset_ns"`
	Samples   int    `json:"samples"` // packets seen on both nodes, both directions
	// ErrorNS bounds the error: half the smallest round trip seen.
	ErrorNS int64 `json:"error_ns"`
	// OneWay marks an offset estimated from packets of one direction
	// only: it takes the fastest of them to have taken no time, so the
	// error is not bounded (ErrorNS 0) and cross-node latencies are
	// relative to that packet's. Better than the raw clock when the clocks
	// are seconds apart, which would break the packets' matching.
	OneWay bool `json:"one_way,omitempty"`
	// Steps are the steps of the node's clock while its captures ran (an
	// NTP step in a pause of the traffic, a VM resumed): OffsetNS holds
	// before the first, each step's OffsetNS from it on.
	Steps []ClockStep `json:"steps,omitempty"`
}

// ClockStep is a step of a node's clock found inside its captures.
type ClockStep struct {
	AtNS     int64 `json:"at_ns"`     // reference time of the node's first packet after it
	StepNS   int64 `json:"step_ns"`   // its size: negative when the clock went back
	OffsetNS int64 `json:"offset_ns"` // the node's offset from it on
	ErrorNS  int64 `json:"error_ns"`
	Samples  int   `json:"samples"` // packets after it seen on another node too
	OneWay   bool  `json:"one_way,omitempty"`
	// Reanchored: no packet after it was seen on another node; the node's
	// first packet after it is taken to follow its last before it by a
	// microsecond.
	Reanchored bool `json:"reanchored,omitempty"`
}

// Encap is what encapsulation cost at one hop.
type Encap struct {
	Hop           string  `json:"hop"`
	Type          string  `json:"type"`
	VNI           *uint32 `json:"vni"`
	Packets       int     `json:"packets"`
	OverheadBytes int     `json:"overhead_bytes"` // per packet
	WireBytes     int64   `json:"wire_bytes"`
	// Share is the part of the wire bytes spent on encapsulation.
	Share float64 `json:"share"`
	// InnerMTU is the largest inner packet that fits a 1500-byte (or the
	// largest seen) outer MTU.
	InnerMTU int `json:"inner_mtu"`
}

// MTUFinding is one MTU or fragmentation finding, tied to a flow and hop.
type MTUFinding struct {
	Kind  MTUKind   `json:"kind"`
	Hop   string    `json:"hop"`
	Flow  TupleJSON `json:"flow"`
	Proto Proto     `json:"proto"`
	// Direction of the flow the finding concerns: orig or reply; none
	// when the flow an ICMP error quotes was not seen.
	Direction Direction `json:"direction"`
	MTU       int       `json:"mtu"`
	Packets   int       `json:"packets"`
	Detail    string    `json:"detail"`
	// Flows lists every flow of a finding that groups one cause (a black
	// hole at one place, an MSS too large for one path), sorted; Flow is
	// the first of them. Packets then adds up theirs (for mss-too-large,
	// one per connection). Absent for the kinds about one flow.
	Flows []TupleJSON `json:"flows,omitempty"`
}

// Drop is a group of packets seen at one hop and never at the next.
type Drop struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Flow      TupleJSON `json:"flow"`
	Proto     Proto     `json:"proto"`
	Direction Direction `json:"direction"`
	Packets   int       `json:"packets"`
	// Reason is the likely cause: mtu, ttl, capture-gap or unknown.
	Reason DropReason `json:"reason"`
	// Retransmitted counts dropped TCP segments whose data was sent again,
	// which corroborates a real drop.
	Retransmitted int    `json:"retransmitted"`
	Detail        string `json:"detail"`

	flow int32 // flow table index
	dir  int
}

// Unjudged is a group of packets last seen at one hop while the next hop's
// capture was not running: neither a drop nor a delivery can be told.
type Unjudged struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Flow      TupleJSON `json:"flow"`
	Proto     Proto     `json:"proto"`
	Direction Direction `json:"direction"`
	Packets   int       `json:"packets"`
}

// endpoints writes the tuple without its protocol, as Tuple.Endpoints.
func (t TupleJSON) endpoints(p Proto) string {
	if p.HasPorts() {
		end := func(a string, port uint16) string {
			if strings.Contains(a, ":") {
				return fmt.Sprintf("[%s]:%d", a, port)
			}
			return fmt.Sprintf("%s:%d", a, port)
		}
		return end(t.Src, t.SPort) + " > " + end(t.Dst, t.DPort)
	}
	return fmt.Sprintf("%s > %s", t.Src, t.Dst)
}
