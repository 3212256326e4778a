package analyze

import (
	"encoding/binary"
	"net/netip"

	"github.com/hoptrace/hoptrace/decode"
)

// Identity of packets without a sequence number.
//
// TCP data and control segments are told apart by their sequence and
// acknowledgement numbers, which no NAT rewrites. Everything else (UDP,
// ICMP, IPv4 with ID 0, all IPv6, later fragments) has at most an IP ID
// that many senders share, so its key also holds a digest of the bytes it
// carries: NAT rewrites only headers. Link-scoped packets keep their
// addresses in the key as well, since they are never routed or translated.

// digestBytes is how much of a packet's payload its digest reads. Every
// capture of the packet must hold it for the digests to compare, so it is
// the most a common header-only snap length leaves: tcpdump -s 128 of IPv6
// UDP inside flannel's VXLAN over an IPv4 underlay, in a Linux cooked v2
// capture (tcpdump -i any), ends 10 bytes into the payload (20+20+8+8+14+
// 40+8 = 118 bytes of headers). Eight bytes hold a DNS transaction ID and
// flags, or the send time a ping carries.
const digestBytes = 8

// undigested stands in the key for the digest of a packet whose capture
// holds less than digestBytes of its payload (or all of it, if shorter).
// Such a sighting is matched only with others cut as short: an honest
// split rather than a guess.
const undigested = 0x6a09e667f3bcc909

// digestWord is the digest as a key word.
func digestWord(dig uint64, known bool) uint64 {
	if !known {
		return undigested
	}
	return dig
}

// protoIGMP is IPv4's group membership protocol.
const protoIGMP = 2

// transportHeader is the header length the digest skips at the start of a
// datagram of protocol proto: ports and checksums, which NAT rewrites. A
// TCP segment's header length is in the segment; -1 asks the caller to
// read it.
func transportHeader(proto uint8) int {
	switch proto {
	case decode.ProtoUDP, decode.ProtoICMP, decode.ProtoICMPv6:
		return 8
	case decode.ProtoSCTP:
		return 12
	case decode.ProtoTCP:
		return -1
	}
	return 0
}

// payloadDigest digests what the source's current packet, of innermost
// IP header h and payload bytes after it, carries: from the start of its
// payload for a later fragment, past the transport header otherwise; for
// an ICMP error, the fields of the packet it quotes that no NAT rewrites.
// It reports false when the capture holds less than the digest reads.
func (s *reader) payloadDigest(h *decode.IPHeader, payload uint32) (uint64, bool) {
	r := &s.rec
	start, n := int(h.Offset)+int(h.HdrLen), int(payload)
	if h.FragOffset == 0 {
		if (h.Proto == decode.ProtoICMP || h.Proto == decode.ProtoICMPv6) && r.L4.Proto == h.Proto &&
			r.ICMP.IsError(h.Proto == decode.ProtoICMPv6) {
			// Every error quotes an IP header and the 8 bytes after it
			// (RFC 792, 4443): a capture holding less, cut by its snap
			// length, does not hold what the digest reads. Digested as
			// zeros, such a piece (the realistic incident's time-exceeded
			// errors inside VXLAN at node-2's eth0 at -s 96) matched no
			// whole copy of the error, and was counted again in its
			// tunnel's carrier flow.
			quoted := start + 8 + 40 + 8
			if h.Proto == decode.ProtoICMP && start+8 < len(s.frame) {
				quoted = start + 8 + int(s.frame[start+8]&0x0f)*4 + 8
			}
			if !r.ICMP.HasQuoted || len(s.frame) < quoted {
				return 0, false
			}
			q := &r.ICMP.Quoted
			return uint64(q.Seq)<<32 | uint64(uint16(q.ID))<<16 | uint64(q.Proto)<<8 | uint64(r.ICMP.Code), true
		}
		hl := transportHeader(h.Proto)
		if hl < 0 {
			if start+13 > len(s.frame) {
				return 0, false
			}
			hl = int(s.frame[start+12]>>4) * 4
		}
		start, n = start+hl, n-hl
	}
	n = max(0, min(n, digestBytes))
	if start+n > len(s.frame) {
		return 0, false
	}
	var w [8]byte
	copy(w[:], s.frame[start:start+n])
	return binary.BigEndian.Uint64(w[:]), true
}

// broadcast4 is the IPv4 limited broadcast address.
var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// linkAddr reports an address no router forwards to (link-local unicast)
// or that names a group rather than a host: 169.254/16 and fe80::/10,
// 224/4 multicast and, above it, reserved 240/4 and the broadcast address,
// ff00::/8 multicast. It reads the bytes itself: netip's IsLinkLocalUnicast
// and IsMulticast together cost about 100 instructions a packet on the
// generated incident (valgrind), more than the rest of the classification.
func linkAddr(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		return b[0] >= 224 || b[0] == 169 && b[1] == 254
	}
	b := a.As16()
	return b[0] == 0xff || b[0] == 0xfe && b[1]&0xc0 == 0x80
}

// linkScoped reports a packet that stays on its link wherever it is seen:
// link-local, multicast or broadcast addresses, or a protocol that lives
// on one link (ND, MLD, IGMP). A TTL or hop limit of 1 is not such a
// mark: it says the next router drops the packet, not that no router
// forwarded it here. A traceroute probe sent with TTL 2 is seen with 2
// in its pod and with 1 past its node's router, one packet under one key
// (realistic-vxlan's ttl2 and hlim2 probes); keyed by their addresses at
// 1 only, they split into two packets at the router and their expiry at
// the next node went unreported.
func linkScoped(r *decode.Record, h *decode.IPHeader) bool {
	if linkAddr(h.Src) || linkAddr(h.Dst) {
		return true
	}
	switch h.Proto {
	case protoIGMP:
		return true
	case decode.ProtoICMPv6:
		return r.L4.Proto == decode.ProtoICMPv6 && icmp6LinkType(r.ICMP.Type)
	}
	return false
}

// ICMPv6 message types that live on one link (RFC 4443 and the ND, MLD,
// SEND and multicast router discovery RFCs).
const (
	icmp6MLDQuery    = 130
	icmp6MLDReport   = 131
	icmp6MLDDone     = 132
	icmp6RS          = 133
	icmp6RA          = 134
	icmp6NS          = 135
	icmp6NA          = 136
	icmp6Redirect    = 137
	icmp6INDSol      = 141
	icmp6INDAdv      = 142
	icmp6MLDv2Report = 143
	icmp6CPS         = 148
	icmp6MRDTerm     = 153
)

func icmp6LinkType(t uint8) bool {
	return t >= icmp6MLDQuery && t <= icmp6Redirect || t >= icmp6INDSol && t <= icmp6MLDv2Report || t >= icmp6CPS && t <= icmp6MRDTerm
}

// noteUndigested says how many packets of a capture read to its end were
// keyed as undigested: they join only sightings cut as short, and where
// other captures hold their flow's packets whole they are left out
// (aggregator.packet).
func (s *source) noteUndigested() {
	if s.undigested == 0 {
		return
	}
	s.a.notef("%s: %d packets without a sequence number are cut by the snap length before %d payload bytes: they are matched only with captures cut as short, and not followed there where other captures hold the flow's packets whole",
		s.cap.Path, s.undigested, digestBytes)
}
