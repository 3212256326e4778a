package analyze

// Conntrack semantics, as the Linux kernel applies them, so that the flow
// table reads like conntrack -L. Read from the Linux 6.x sources below, and
// checked against Linux 6.18 with crafted packets in a network namespace
// (conntrack -L after every packet; see conntrack_test.go):
//
//   - net/netfilter/nf_conntrack_proto_tcp.c: tcp_conntracks[2][6][10],
//     get_conntrack_index(), tcp_valid_flags[] / tcp_error(), tcp_new(),
//     nf_conntrack_tcp_packet(), tcp_timeouts[].
//   - net/netfilter/nf_conntrack_core.c: nf_conntrack_in() sets
//     IPS_SEEN_REPLY after the protocol tracker accepted a reply packet.
//   - net/netfilter/nf_conntrack_proto_udp.c: nf_conntrack_udp_packet(),
//     udp_timeouts[].
//   - net/netfilter/nf_conntrack_proto_icmp.c / _icmpv6.c:
//     nf_conntrack_icmp_packet(), nf_conntrack_icmpv6_packet().
//
// Defaults assumed: nf_conntrack_tcp_loose=1, nf_conntrack_tcp_be_liberal=0,
// no conntrack timeout policy, no SYN proxy.

import "github.com/hoptrace/hoptrace/decode"

// tcpState is a conntrack TCP state (enum tcp_conntrack, kernel order).
type tcpState uint8

const (
	tcpNone tcpState = iota
	tcpSynSent
	tcpSynRecv
	tcpEstablished
	tcpFinWait
	tcpCloseWait
	tcpLastAck
	tcpTimeWait
	tcpClose
	tcpSynSent2
	tcpMax    // TCP_CONNTRACK_MAX: sIV, the packet is invalid
	tcpIgnore // TCP_CONNTRACK_IGNORE: sIG, the packet is let through untracked
)

// tcpStateNames are tcp_conntrack_names[]: the words conntrack -L prints.
var tcpStateNames = [tcpMax]string{
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
}

func (s tcpState) String() string {
	if s < tcpMax {
		return tcpStateNames[s]
	}
	return "INVALID"
}

// tcpTimeouts are the kernel's default timeouts in seconds per state
// (tcp_timeouts[], the nf_conntrack_tcp_timeout_* sysctls).
var tcpTimeouts = [tcpMax]int{
	tcpNone:        120, // timeouts[0] is set to SYN_SENT's
	tcpSynSent:     120,
	tcpSynRecv:     60,
	tcpEstablished: 432000,
	tcpFinWait:     120,
	tcpCloseWait:   60,
	tcpLastAck:     30,
	tcpTimeWait:    120,
	tcpClose:       10,
	tcpSynSent2:    120,
}

// Other default timeouts in seconds, from the same sources.
const (
	tcpTimeoutUnack   = 300 // TCP_CONNTRACK_UNACK: caps ESTABLISHED before a reply
	udpTimeout        = 30  // UDP_CT_UNREPLIED: nf_conntrack_udp_timeout
	udpTimeoutStream  = 120 // UDP_CT_REPLIED: nf_conntrack_udp_timeout_stream
	icmpTimeout       = 30  // nf_conntrack_icmp_timeout, _icmpv6_timeout
	genericTimeout    = 600 // nf_conntrack_generic_timeout
	udpStreamAfterNS  = 2_000_000_000
	tcpClassesPerDir  = 6
	tcpStatesPerClass = int(tcpMax)
)

// TCP packet classes (enum tcp_bit_set): the row of tcp_conntracks.
const (
	tcpSynSet = iota
	tcpSynAckSet
	tcpFinSet
	tcpAckSet
	tcpRstSet
	tcpNoneSet
)

// TCP header flag bits.
const (
	flagFIN = decode.TCPFin
	flagSYN = decode.TCPSyn
	flagRST = decode.TCPRst
	flagPSH = decode.TCPPsh
	flagACK = decode.TCPAck
	flagURG = decode.TCPUrg
	flagECE = decode.TCPEce
	flagCWR = decode.TCPCwr
)

// tcpIndex is get_conntrack_index(): RST wins, then SYN (with or without
// ACK), then FIN, then ACK.
func tcpIndex(flags uint8) int {
	switch {
	case flags&flagRST != 0:
		return tcpRstSet
	case flags&flagSYN != 0:
		if flags&flagACK != 0 {
			return tcpSynAckSet
		}
		return tcpSynSet
	case flags&flagFIN != 0:
		return tcpFinSet
	case flags&flagACK != 0:
		return tcpAckSet
	}
	return tcpNoneSet
}

// tcpValidFlags is tcp_error()'s tcp_valid_flags[] check: with PSH, ECE and
// CWR ignored, only these combinations are trackable; any other (no flag,
// FIN without ACK, SYN|FIN, SYN|RST, ...) makes the packet INVALID.
func tcpValidFlags(flags uint8) bool {
	switch flags &^ (flagPSH | flagECE | flagCWR) {
	case flagSYN, flagSYN | flagURG, flagSYN | flagACK,
		flagRST, flagRST | flagACK,
		flagFIN | flagACK, flagFIN | flagACK | flagURG,
		flagACK, flagACK | flagURG:
		return true
	}
	return false
}

// Shorthands for the transition table, as the kernel names them.
const (
	sNO = tcpNone
	sSS = tcpSynSent
	sSR = tcpSynRecv
	sES = tcpEstablished
	sFW = tcpFinWait
	sCW = tcpCloseWait
	sLA = tcpLastAck
	sTW = tcpTimeWait
	sCL = tcpClose
	sS2 = tcpSynSent2
	sIV = tcpMax
	sIG = tcpIgnore
)

// tcpConntracks is tcp_conntracks[dir][class][old state] from
// nf_conntrack_proto_tcp.c: the state a packet moves the connection to.
var tcpConntracks = [2][tcpClassesPerDir][tcpStatesPerClass]tcpState{
	{ // ORIGINAL
		//        sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2
		/*syn*/ {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
		/*synack*/ {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
		/*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		/*ack*/ {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
		/*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		/*none*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
	{ // REPLY
		//        sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2
		/*syn*/ {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
		/*synack*/ {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
		/*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
		/*ack*/ {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
		/*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
		/*none*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
	},
}

// ctVerdict is what conntrack did with one packet.
type ctVerdict uint8

const (
	// ctAccept: the packet was tracked; the kernel counts it in the entry's
	// packets/bytes and refreshes the timeout (nf_ct_refresh_acct).
	ctAccept ctVerdict = iota
	// ctIgnore: the packet passed, but the entry's counters and timeout
	// were not updated: sIG, an RFC 5961 challenge ACK in LAST_ACK, or a
	// SYN (either direction) in SYN_SENT before any reply, whose state
	// change (SYN_SENT2 for a reply SYN) still applies. A reply still sets
	// SeenReply.
	ctIgnore
	// ctInvalid: conntrack marks the packet INVALID (-NF_ACCEPT): nothing
	// changes, and no entry is created for a first packet.
	ctInvalid
	// ctRestart: the kernel has a new entry from this packet on, whose
	// original direction is this packet's: a SYN reopening a closed or
	// aborted connection, the first trackable packet after the entry was
	// deleted, or a first packet arriving in direction 1. The track has
	// been reset and has applied the packet as direction 0; a caller
	// keeping counters starts a new flow (swapping directions if dir was 1).
	ctRestart
)

// tcpTrack follows one TCP connection through the kernel's conntrack state
// machine, from TCP flags and direction alone: nf_conntrack_tcp_packet()
// without tcp_in_window(). Sequence and window tracking are out of scope,
// so every packet is taken as in-window, and the kernel's sequence-number
// tests are taken as passing: a SYN/ACK after an ignored SYN acknowledges
// it, and an RST is exact (never "invalid rst", never kept in ESTABLISHED
// for a challenge ACK). The zero value is a connection no packet has
// created yet. Not safe for concurrent use.
type tcpTrack struct {
	State     tcpState
	Assured   bool // IPS_ASSURED
	SeenReply bool // IPS_SEEN_REPLY; conntrack -L prints [UNREPLIED] without it
	// Deleted reports that the kernel deleted the entry at an RST seen
	// before any reply (nf_ct_kill_acct): conntrack -L no longer lists it.
	Deleted bool

	lastIndex int8    // ct->proto.tcp.last_index: class of the last packet
	lastDir   int8    // ct->proto.tcp.last_dir
	closeInit [2]bool // IP_CT_TCP_FLAG_CLOSE_INIT per direction: it sent the first FIN
	simOpen   bool    // IP_CT_TCP_SIMULTANEOUS_OPEN
	challenge bool    // IP_CT_EXP_CHALLENGE_ACK: a SYN was ignored in LAST_ACK
}

// live reports whether the kernel holds an entry for the connection.
func (t *tcpTrack) live() bool { return t.State != tcpNone && !t.Deleted }

// update applies one packet seen in direction dir (0 original, 1 reply)
// with the given TCP header flags, and reports what the kernel did with it.
func (t *tcpTrack) update(dir int, flags uint8) ctVerdict {
	if !tcpValidFlags(flags) {
		return ctInvalid // tcp_error()
	}
	idx := tcpIndex(flags)
	verdict := ctAccept
	if !t.live() {
		// tcp_new(): only a SYN (SYN_SENT) or, with tcp_loose, an ACK
		// (ESTABLISHED, picked up mid-stream) creates an entry.
		if tcpConntracks[0][idx][tcpNone] == sIV {
			return ctInvalid
		}
		if t.State != tcpNone || dir != 0 {
			verdict = ctRestart
		}
		*t = tcpTrack{lastIndex: tcpNoneSet}
		dir = 0
	}
	old := t.State
	next := tcpConntracks[dir][idx][old]
	switch next {
	case sSS:
		if old < sTW {
			break
		}
		// SYN in TIME_WAIT or CLOSE: reopen when the connection was closed
		// (a FIN seen) or aborted by an RST from this same side; the kernel
		// kills the entry and looks the packet up again (-NF_REPEAT).
		if t.closeInit[0] || t.closeInit[1] || (int(t.lastDir) == dir && t.lastIndex == tcpRstSet) {
			*t = tcpTrack{}
			t.update(0, flags)
			return ctRestart
		}
		return t.ignore(dir, idx, old)
	case sIG:
		if idx == tcpSynAckSet && t.lastIndex == tcpSynSet && int(t.lastDir) != dir {
			// b) the SYN/ACK answers a SYN ignored earlier: resync. Both
			// directions' flags are rebuilt from the SYN's options, which
			// clears CLOSE_INIT.
			old, next = sSS, sSR
			t.challenge = false
			t.closeInit = [2]bool{}
			break
		}
		return t.ignore(dir, idx, old)
	case sIV:
		return ctInvalid
	case sTW:
		if old == sLA && idx == tcpAckSet && int(t.lastDir) != dir &&
			t.lastIndex == tcpSynSet && t.challenge {
			// An RFC 5961 challenge ACK answering a SYN, not the last ACK.
			t.challenge = false
			t.seen(dir)
			return ctIgnore
		}
	case sS2:
		t.simOpen = true
	case sSR:
		if dir == 1 && idx == tcpAckSet && t.simOpen {
			next = sES
		}
	}
	// in_window:
	t.lastIndex, t.lastDir = int8(idx), int8(dir)
	t.State = next
	if old != next && next == sFW {
		t.closeInit[dir] = true
	}
	switch {
	case !t.SeenReply && idx == tcpRstSet:
		// Only an RST and no reply: the kernel deletes the entry now.
		t.Deleted = true
	case !t.SeenReply && idx == tcpSynSet && old == sSS:
		// A retransmitted SYN does not renew the timeout, nor count.
		verdict = ctIgnore
	case t.SeenReply && !t.Assured && (old == sSR || old == sES) && next == sES:
		t.Assured = true
	}
	t.seen(dir)
	return verdict
}

// ignore applies the kernel's IGNORE branch: the packet passes untracked,
// but is remembered for the SYN/ACK resync and the challenge-ACK check.
func (t *tcpTrack) ignore(dir, idx int, old tcpState) ctVerdict {
	t.lastIndex, t.lastDir = int8(idx), int8(dir)
	if idx == tcpSynSet && dir == 0 {
		// last_flags is reset to the SYN's options (dropping
		// SIMULTANEOUS_OPEN), plus CHALLENGE_ACK when in LAST_ACK.
		t.simOpen = false
		t.challenge = old == sLA
	}
	t.seen(dir)
	return ctIgnore
}

// seen records an accepted packet: nf_conntrack_in() sets IPS_SEEN_REPLY
// once the tracker accepted a reply-direction packet.
func (t *tcpTrack) seen(dir int) {
	if dir == 1 {
		t.SeenReply = true
	}
}

// udpTrack follows one UDP flow as nf_conntrack_udp_packet() does: the
// entry is [UNREPLIED] until a reply passes; it becomes ASSURED (a
// "stream") on a packet, in either direction, processed after a reply was
// seen and more than 2 s after the flow's first packet. A request and its
// reply within 2 s are never assured. The kernel compares jiffies, so
// within one tick of 2 s the outcome depends on HZ. IPS_NAT_CLASH entries,
// which are never assured, are not modelled. The zero value is a flow no
// packet has created yet. Not safe for concurrent use.
type udpTrack struct {
	SeenReply bool
	Assured   bool
	started   bool
	streamTS  int64 // first packet + 2 s: ct->proto.udp.stream_ts
}

// update applies one packet seen at ts (ns) in direction dir.
func (u *udpTrack) update(dir int, ts int64) {
	if !u.started {
		u.started, u.streamTS = true, ts+udpStreamAfterNS
	}
	if u.SeenReply && ts > u.streamTS {
		u.Assured = true
	}
	if dir == 1 {
		u.SeenReply = true
	}
}

// icmpTrack follows one ICMP query flow (echo and the like) as
// nf_conntrack_icmp_packet() does: [UNREPLIED] until a reply passes, never
// ASSURED, timeout always nf_conntrack_icmp_timeout. Not safe for
// concurrent use.
type icmpTrack struct {
	SeenReply bool
}

// update applies one packet seen in direction dir; ts is unused, as the
// kernel's ICMP tracker keeps no time but the timeout.
func (c *icmpTrack) update(dir int, _ int64) {
	if dir == 1 {
		c.SeenReply = true
	}
}

// icmpNew reports whether an ICMP message of this type can create a
// conntrack entry (valid_new[] of nf_conntrack_icmp_packet() and
// nf_conntrack_icmpv6_packet()): queries only, never their replies.
func icmpNew(typ uint8, v6 bool) bool {
	if v6 {
		return typ == 128 || typ == 139 // echo request, node information query
	}
	switch typ {
	case 8, 13, 15, 17: // echo, timestamp, information, address mask request
		return true
	}
	return false
}

// ConntrackTimeout is the timeout, in seconds, the kernel gives a flow's
// entry at its last packet under default sysctls: what conntrack -L shows
// right after that packet. proto is Flow.Proto, state Flow.State (TCP) and
// assured Flow.Assured. TCP takes its state's timeout, capped at 300 s while
// ESTABLISHED is not yet assured (picked up without a reply); the kernel's
// other caps (retransmissions, unacknowledged data, zero window) need
// sequence tracking and are left out. UDP: 120 s once assured, else 30 s.
// ICMP: 30 s. Other protocols: the generic tracker's 600 s (the GRE and
// SCTP trackers are not modelled).
func ConntrackTimeout(proto Proto, state string, assured bool) int {
	switch proto {
	case ProtoTCP:
		for s, name := range tcpStateNames {
			if name != state {
				continue
			}
			if tcpState(s) == tcpEstablished && !assured {
				return tcpTimeoutUnack
			}
			return tcpTimeouts[s]
		}
		return tcpTimeouts[tcpNone]
	case ProtoUDP:
		if assured {
			return udpTimeoutStream
		}
		return udpTimeout
	case ProtoICMP, ProtoICMPv6:
		return icmpTimeout
	}
	return genericTimeout
}
