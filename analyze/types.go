package analyze

import (
	"fmt"
	"strconv"
	"strings"
)

// Proto is an IP protocol number (IPv4 protocol, IPv6 next header). It is
// written by name in JSON and text ("tcp", "icmpv6"), "proto-N" for
// protocols without a name here.
type Proto uint8

// The protocols hoptrace tracks by name.
const (
	ProtoICMP   Proto = 1
	ProtoTCP    Proto = 6
	ProtoUDP    Proto = 17
	ProtoICMPv6 Proto = 58
	ProtoSCTP   Proto = 132
)

// String returns the protocol's name.
func (p Proto) String() string {
	switch p {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMPv6:
		return "icmpv6"
	case ProtoSCTP:
		return "sctp"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// HasPorts reports whether the protocol's tuples carry ports.
func (p Proto) HasPorts() bool { return p == ProtoTCP || p == ProtoUDP || p == ProtoSCTP }

// IsICMP reports whether p is ICMP or ICMPv6.
func (p Proto) IsICMP() bool { return p == ProtoICMP || p == ProtoICMPv6 }

// MarshalText writes the protocol's name.
func (p Proto) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (p *Proto) UnmarshalText(b []byte) error {
	s := string(b)
	for _, q := range [...]Proto{ProtoICMP, ProtoTCP, ProtoUDP, ProtoICMPv6, ProtoSCTP} {
		if s == q.String() {
			*p = q
			return nil
		}
	}
	if n, ok := strings.CutPrefix(s, "proto-"); ok {
		v, err := strconv.ParseUint(n, 10, 8)
		if err == nil {
			*p = Proto(v)
			return nil
		}
	}
	return fmt.Errorf("unknown protocol %q", s)
}

// Direction is which way a packet went within its flow. The zero value is
// "not known" and is written as "".
type Direction uint8

// Directions.
const (
	DirNone  Direction = iota // unknown: a finding whose flow was not seen
	DirOrig                   // as the flow's first packet went
	DirReply                  // the way back
	DirBoth                   // figures of both directions together
)

var directionNames = [...]string{DirNone: "", DirOrig: "orig", DirReply: "reply", DirBoth: "both"}

// direction returns the Direction of a flow direction index (dirOrig or
// dirReply).
func direction[T ~int | ~int8](d T) Direction { return DirOrig + Direction(d) }

// String returns "orig", "reply", "both" or "".
func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "direction-" + strconv.Itoa(int(d))
}

// Reverse returns the opposite direction (orig and reply swap).
func (d Direction) Reverse() Direction {
	switch d {
	case DirOrig:
		return DirReply
	case DirReply:
		return DirOrig
	}
	return d
}

// MarshalText writes the direction's name.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (d *Direction) UnmarshalText(b []byte) error {
	for i, n := range directionNames {
		if string(b) == n {
			*d = Direction(i)
			return nil
		}
	}
	return fmt.Errorf("unknown direction %q", b)
}

// DropReason is the likely cause of a drop.
type DropReason uint8

// Drop reasons, each given only with its evidence.
const (
	// DropUnknown: vanished between two running captures, cause not seen.
	DropUnknown DropReason = iota
	// DropCaptureGap: a hop further along saw the packets after all, so
	// the capture that missed them is at fault, not the network.
	DropCaptureGap
	// DropMTU: an ICMP frag-needed or packet-too-big quoted the flow, or
	// the packets' segments could not fit the next hop.
	DropMTU
	// DropTTL: packets a router would have had to forward arrived with a
	// TTL (hop limit) of 1 or less.
	DropTTL
)

var dropReasonNames = [...]string{DropUnknown: "unknown", DropCaptureGap: "capture-gap", DropMTU: "mtu", DropTTL: "ttl"}

// String returns the reason's name as in JSON.
func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) {
		return dropReasonNames[r]
	}
	return "reason-" + strconv.Itoa(int(r))
}

// MarshalText writes the reason's name.
func (r DropReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (r *DropReason) UnmarshalText(b []byte) error {
	for i, n := range dropReasonNames {
		if string(b) == n {
			*r = DropReason(i)
			return nil
		}
	}
	return fmt.Errorf("unknown drop reason %q", b)
}

// MTUKind is the kind of an MTU or fragmentation finding.
type MTUKind uint8

// MTU finding kinds, in the order of their importance.
const (
	// MTUBlackhole: DF packets too big for the path vanished and no
	// frag-needed reached their sender.
	MTUBlackhole MTUKind = iota
	// MTUFragNeeded: an ICMP "fragmentation needed" quoting the flow.
	MTUFragNeeded
	// MTUPacketTooBig: an ICMPv6 "packet too big" quoting the flow.
	MTUPacketTooBig
	// MTUMSSTooLarge: an MSS the path cannot carry.
	MTUMSSTooLarge
	// MTURefragmented: fragments cut again at new offsets.
	MTURefragmented
	// MTUFragmented: where a datagram was first seen in pieces.
	MTUFragmented
	// MTUIncompleteReassembly: the last hop lacks pieces of a datagram.
	MTUIncompleteReassembly
)

var mtuKindNames = [...]string{
	MTUBlackhole: "blackhole", MTUFragNeeded: "frag-needed", MTUPacketTooBig: "packet-too-big",
	MTUMSSTooLarge: "mss-too-large", MTURefragmented: "refragmented", MTUFragmented: "fragmented",
	MTUIncompleteReassembly: "incomplete-reassembly",
}

// String returns the kind's name as in JSON.
func (k MTUKind) String() string {
	if int(k) < len(mtuKindNames) {
		return mtuKindNames[k]
	}
	return "kind-" + strconv.Itoa(int(k))
}

// Rank orders kinds by importance: frag-needed and packet-too-big rank
// alike.
func (k MTUKind) Rank() int {
	if k >= MTUPacketTooBig {
		return int(k) - 1
	}
	return int(k)
}

// MarshalText writes the kind's name.
func (k MTUKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (k *MTUKind) UnmarshalText(b []byte) error {
	for i, n := range mtuKindNames {
		if string(b) == n {
			*k = MTUKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown MTU finding kind %q", b)
}
