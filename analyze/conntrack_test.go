package analyze

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

// Every expectation below cites the line of the kernel that decides it:
// a cell of tcp_conntracks[dir][class][state] written [DIR][class][sOLD],
// or the code of nf_conntrack_tcp_packet() (net/netfilter/
// nf_conntrack_proto_tcp.c) and nf_conntrack_in() (nf_conntrack_core.c).
// Each TCP and UDP sequence was also replayed, with crafted packets and
// sockets, against Linux 6.18 in a throwaway network namespace, and
// conntrack -L agreed with every step (state, [UNREPLIED], [ASSURED], and
// whether the packet was counted).

const (
	fS = decode.TCPSyn
	fA = decode.TCPAck
	fF = decode.TCPFin
	fR = decode.TCPRst
	fP = decode.TCPPsh
)

type ctStep struct {
	dir     int
	flags   uint8
	state   tcpState
	verdict ctVerdict
	assured bool
	replied bool
	why     string
}

// handshake is the three-way handshake every closing sequence starts from.
var handshake = []ctStep{
	{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
	{1, fS | fA, sSR, ctAccept, false, true, "[REPLY][synack][sSS]=sSR; SEEN_REPLY is set only after tcp_packet, so not ASSURED"},
	{0, fA, sES, ctAccept, true, true, "[ORIG][ack][sSR]=sES; SEEN_REPLY, old SYN_RECV, new ESTABLISHED: ASSURED"},
}

func steps(parts ...[]ctStep) []ctStep {
	var s []ctStep
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

func TestConntrackTCPSequences(t *testing.T) {
	tests := []struct {
		name    string
		steps   []ctStep
		deleted bool
	}{
		{name: "handshake, data, client closes, four-way", steps: steps(handshake, []ctStep{
			{0, fP | fA, sES, ctAccept, true, true, "[ORIG][ack][sES]=sES: get_conntrack_index ignores PSH"},
			{1, fA, sES, ctAccept, true, true, "[REPLY][ack][sES]=sES"},
			{0, fF | fA, sFW, ctAccept, true, true, "[ORIG][fin][sES]=sFW: FIN wins over ACK"},
			{1, fA, sCW, ctAccept, true, true, "[REPLY][ack][sFW]=sCW"},
			{1, fF | fA, sLA, ctAccept, true, true, "[REPLY][fin][sCW]=sLA"},
			{0, fA, sTW, ctAccept, true, true, "[ORIG][ack][sLA]=sTW"},
			{0, fA, sTW, ctAccept, true, true, "[ORIG][ack][sTW]=sTW: retransmitted last ACK"},
		})},
		{name: "FIN answered by FIN/ACK", steps: steps(handshake, []ctStep{
			{1, fF | fA, sFW, ctAccept, true, true, "[REPLY][fin][sES]=sFW: the server closes first"},
			{0, fF | fA, sLA, ctAccept, true, true, "[ORIG][fin][sFW]=sLA"},
			{1, fA, sTW, ctAccept, true, true, "[REPLY][ack][sLA]=sTW"},
		})},
		{name: "RST after established", steps: steps(handshake, []ctStep{
			{1, fR, sCL, ctAccept, true, true, "[REPLY][rst][sES]=sCL; a reply was seen, so the entry stays (CLOSE, 10 s)"},
			{0, fA, sCL, ctAccept, true, true, "[ORIG][ack][sCL]=sCL"},
		})},
		{name: "SYN refused by RST", deleted: true, steps: []ctStep{
			{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
			{1, fR | fA, sCL, ctAccept, false, true, "[REPLY][rst][sSS]=sCL; no SEEN_REPLY yet and an RST: nf_ct_kill_acct deletes the entry"},
		}},
		{name: "SYN retried after a refusal", steps: []ctStep{
			{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
			{1, fR | fA, sCL, ctAccept, false, true, "nf_ct_kill_acct: entry deleted"},
			{0, fS, sSS, ctRestart, false, false, "no entry any more: tcp_new creates a fresh one"},
		}},
		{name: "SYN only, retransmitted", steps: []ctStep{
			{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
			{0, fS, sSS, ctIgnore, false, false, "[ORIG][syn][sSS]=sSS; no SEEN_REPLY, SYN in SYN_SENT: returns before nf_ct_refresh_acct"},
			{0, fS | decode.TCPEce | decode.TCPCwr, sSS, ctIgnore, false, false, "ECN SYN: tcp_error ignores ECE and CWR"},
		}},
		{name: "simultaneous open, original direction finishes", steps: []ctStep{
			{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
			{1, fS, sS2, ctIgnore, false, true, "[REPLY][syn][sSS]=sS2 and SIMULTANEOUS_OPEN; the SYN-in-SYN_SENT check skips accounting"},
			{0, fS | fA, sSR, ctAccept, false, true, "[ORIG][synack][sS2]=sSR"},
			{1, fS | fA, sSR, ctIgnore, false, true, "[REPLY][synack][sSR]=sIG"},
			{0, fA, sES, ctAccept, true, true, "[ORIG][ack][sSR]=sES; SEEN_REPLY: ASSURED"},
		}},
		{name: "simultaneous open, reply direction finishes", steps: []ctStep{
			{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
			{1, fS, sS2, ctIgnore, false, true, "[REPLY][syn][sSS]=sS2"},
			{1, fS | fA, sSR, ctAccept, false, true, "[REPLY][synack][sS2]=sSR"},
			{1, fA, sES, ctAccept, true, true, "[REPLY][ack][sSR]=sSR, but SIMULTANEOUS_OPEN makes it ESTABLISHED; ASSURED"},
		}},
		{name: "mid-stream pickup", steps: []ctStep{
			{0, fP | fA, sES, ctAccept, false, false, "tcp_new with tcp_loose=1: [ORIG][ack][sNO]=sES"},
			{1, fA, sES, ctAccept, false, true, "[REPLY][ack][sES]=sES; SEEN_REPLY is set only after this packet: not ASSURED"},
			{0, fP | fA, sES, ctAccept, true, true, "SEEN_REPLY, old and new ESTABLISHED: ASSURED"},
		}},
		{name: "first packet in the reply direction", steps: []ctStep{
			{1, fA, sES, ctRestart, false, false, "the kernel's first packet is its original direction: tcp_new [ORIG][ack][sNO]=sES"},
			{0, fA, sES, ctAccept, false, false, "the caller swapped directions: same sender, [ORIG][ack][sES]=sES"},
			{1, fA, sES, ctAccept, false, true, "[REPLY][ack][sES]=sES"},
		}},
		{name: "reopen from TIME_WAIT", steps: steps(handshake, []ctStep{
			{0, fF | fA, sFW, ctAccept, true, true, "[ORIG][fin][sES]=sFW, CLOSE_INIT on the original side"},
			{1, fF | fA, sLA, ctAccept, true, true, "[REPLY][fin][sFW]=sLA"},
			{0, fA, sTW, ctAccept, true, true, "[ORIG][ack][sLA]=sTW"},
			{0, fS, sSS, ctRestart, false, false, "[ORIG][syn][sTW]=sSS with CLOSE_INIT: nf_ct_kill, -NF_REPEAT, new entry"},
		})},
		{name: "reply SYN in TIME_WAIT", steps: steps(handshake, []ctStep{
			{0, fF | fA, sFW, ctAccept, true, true, "[ORIG][fin][sES]=sFW"},
			{1, fF | fA, sLA, ctAccept, true, true, "[REPLY][fin][sFW]=sLA"},
			{0, fA, sTW, ctAccept, true, true, "[ORIG][ack][sLA]=sTW"},
			{1, fS, sSS, ctRestart, false, false, "[REPLY][syn][sTW]=sSS with CLOSE_INIT: new entry, the former server as original"},
		})},
		{name: "client RST, then a new SYN", steps: steps(handshake, []ctStep{
			{0, fR, sCL, ctAccept, true, true, "[ORIG][rst][sES]=sCL"},
			{0, fS, sSS, ctRestart, false, false, "[ORIG][syn][sCL]=sSS, last_index RST from this side: reopen"},
		})},
		{name: "server RST, client SYN ignored, SYN/ACK resyncs", steps: steps(handshake, []ctStep{
			{1, fR, sCL, ctAccept, true, true, "[REPLY][rst][sES]=sCL"},
			{0, fS, sCL, ctIgnore, true, true, "[ORIG][syn][sCL]=sSS, but no CLOSE_INIT and the RST came from the other side: falls through to IGNORE"},
			{1, fS | fA, sSR, ctAccept, true, true, "[REPLY][synack][sCL]=sIG, but it answers the ignored SYN: resync to SYN_RECV"},
			{0, fA, sES, ctAccept, true, true, "[ORIG][ack][sSR]=sES"},
		})},
		{name: "SYN in ESTABLISHED, SYN/ACK resyncs", steps: steps(handshake, []ctStep{
			{0, fS, sES, ctIgnore, true, true, "[ORIG][syn][sES]=sIG"},
			{1, fS | fA, sSR, ctAccept, true, true, "[REPLY][synack][sES]=sIG, answering the ignored SYN: resync"},
			{0, fA, sES, ctAccept, true, true, "[ORIG][ack][sSR]=sES"},
		})},
		{name: "challenge ACK in LAST_ACK", steps: steps(handshake, []ctStep{
			{0, fF | fA, sFW, ctAccept, true, true, "[ORIG][fin][sES]=sFW"},
			{1, fF | fA, sLA, ctAccept, true, true, "[REPLY][fin][sFW]=sLA"},
			{0, fS, sLA, ctIgnore, true, true, "[ORIG][syn][sLA]=sIG, marks IP_CT_EXP_CHALLENGE_ACK"},
			{1, fA, sLA, ctIgnore, true, true, "[REPLY][ack][sLA]=sTW, but it is the RFC 5961 challenge ACK: state kept"},
			{0, fA, sTW, ctAccept, true, true, "[ORIG][ack][sLA]=sTW: the real last ACK"},
		})},
		{name: "invalid packets", steps: []ctStep{
			{0, fF, sNO, ctInvalid, false, false, "tcp_error: FIN without ACK is not in tcp_valid_flags"},
			{0, 0, sNO, ctInvalid, false, false, "tcp_error: no flags"},
			{0, fF | fA, sNO, ctInvalid, false, false, "tcp_new: [ORIG][fin][sNO]=sIV, no entry"},
			{0, fS | fA, sNO, ctInvalid, false, false, "tcp_new: [ORIG][synack][sNO]=sIV"},
			{0, fR, sNO, ctInvalid, false, false, "tcp_new: [ORIG][rst][sNO]=sIV"},
			{0, fS, sSS, ctAccept, false, false, "tcp_new: [ORIG][syn][sNO]=sSS"},
			{0, fA, sSS, ctInvalid, false, false, "[ORIG][ack][sSS]=sIV: state kept, not counted"},
			{1, fF | fA, sSS, ctInvalid, false, false, "[REPLY][fin][sSS]=sIV: invalid packets do not set SEEN_REPLY"},
			{1, fA, sSS, ctIgnore, false, true, "[REPLY][ack][sSS]=sIG: accepted, so SEEN_REPLY is set"},
			{1, fS | fA, sSR, ctAccept, false, true, "[REPLY][synack][sSS]=sSR"},
			{0, fS | fA, sSR, ctAccept, false, true, "[ORIG][synack][sSR]=sSR"},
			{0, fA, sES, ctAccept, true, true, "[ORIG][ack][sSR]=sES"},
			{0, fS | fA, sES, ctInvalid, true, true, "[ORIG][synack][sES]=sIV"},
			{1, fS, sES, ctInvalid, true, true, "[REPLY][syn][sES]=sIV"},
			{0, fS | fR, sES, ctInvalid, true, true, "tcp_error: SYN|RST is not a valid combination"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr tcpTrack
			for i, s := range tc.steps {
				v := tr.update(s.dir, s.flags)
				msg := fmt.Sprintf("step %d (dir %d flags %#x): %s", i+1, s.dir, s.flags, s.why)
				require.Equal(t, s.state, tr.State, msg)
				require.Equal(t, s.verdict, v, msg)
				require.Equal(t, s.assured, tr.Assured, msg)
				require.Equal(t, s.replied, tr.SeenReply, msg)
			}
			assert.Equal(t, tc.deleted, tr.Deleted)
		})
	}
}

// An invalid packet changes nothing (every -NF_ACCEPT return of
// nf_conntrack_tcp_packet comes before any write), and the state is always
// a real one, whatever the packets.
func TestConntrackTCPInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	interesting := []uint8{fS, fS | fA, fA, fP | fA, fF | fA, fR, fR | fA, fF, 0, fS | fF}
	for run := 0; run < 2000; run++ {
		var tr tcpTrack
		for i := 0; i < 12; i++ {
			flags := interesting[rng.IntN(len(interesting))]
			if rng.IntN(8) == 0 {
				flags = uint8(rng.IntN(256))
			}
			before, dir := tr, rng.IntN(2)
			v := tr.update(dir, flags)
			if tr.State >= tcpMax {
				t.Fatalf("dir %d flags %#x from %+v: state %v", dir, flags, before, tr.State)
			}
			if v == ctInvalid && tr != before {
				t.Fatalf("dir %d flags %#x: invalid packet changed %+v to %+v", dir, flags, before, tr)
			}
		}
	}
}

func TestConntrackTCPIndexAndFlags(t *testing.T) {
	// get_conntrack_index(): RST, then SYN (ACK decides SYN/SYNACK), FIN, ACK.
	for _, c := range []struct {
		flags uint8
		want  int
	}{
		{fS, tcpSynSet}, {fS | fA, tcpSynAckSet}, {fS | fA | fP, tcpSynAckSet},
		{fF | fA, tcpFinSet}, {fF, tcpFinSet}, {fA, tcpAckSet}, {fP | fA, tcpAckSet},
		{fR, tcpRstSet}, {fR | fA, tcpRstSet}, {fR | fS, tcpRstSet},
		{0, tcpNoneSet}, {decode.TCPUrg, tcpNoneSet},
	} {
		assert.Equal(t, c.want, tcpIndex(c.flags), "flags %#x", c.flags)
	}
	// tcp_valid_flags[]: PSH, ECE and CWR never matter.
	valid := []uint8{fS, fS | decode.TCPUrg, fS | fA, fR, fR | fA, fF | fA, fF | fA | decode.TCPUrg,
		fA, fA | decode.TCPUrg, fP | fA, fS | decode.TCPEce | decode.TCPCwr, fF | fP | fA}
	for _, f := range valid {
		assert.True(t, tcpValidFlags(f), "flags %#x", f)
	}
	invalid := []uint8{0, fP, fF, fS | fF, fS | fR, fS | fA | decode.TCPUrg, fF | fR | fA, fS | fF | fA, fR | decode.TCPUrg}
	for _, f := range invalid {
		assert.False(t, tcpValidFlags(f), "flags %#x", f)
	}
}

func TestConntrackTCPStateNames(t *testing.T) {
	// enum tcp_conntrack values, which ctnetlink exposes to userspace.
	assert.EqualValues(t, 9, tcpSynSent2)
	assert.EqualValues(t, 10, tcpMax)
	assert.EqualValues(t, 11, tcpIgnore)
	for s, want := range map[tcpState]string{
		tcpNone: "NONE", tcpSynSent: "SYN_SENT", tcpSynRecv: "SYN_RECV",
		tcpEstablished: "ESTABLISHED", tcpFinWait: "FIN_WAIT", tcpCloseWait: "CLOSE_WAIT",
		tcpLastAck: "LAST_ACK", tcpTimeWait: "TIME_WAIT", tcpClose: "CLOSE", tcpSynSent2: "SYN_SENT2",
		tcpMax: "INVALID",
	} {
		assert.Equal(t, want, s.String())
	}
}

func TestConntrackUDP(t *testing.T) {
	const ms = int64(1_000_000)
	type pkt struct {
		dir int
		ts  int64
	}
	// nf_conntrack_udp_packet(): stream_ts = first + 2 s; a packet handled
	// with IPS_SEEN_REPLY already set and jiffies after stream_ts sets
	// ASSURED. SEEN_REPLY itself is set after the first reply is handled.
	tests := []struct {
		name             string
		pkts             []pkt
		replied, assured bool
	}{
		{"request only", []pkt{{0, 0}}, false, false},
		{"request and response", []pkt{{0, 0}, {1, 10 * ms}}, true, false},
		{"exchanges within 2 s", []pkt{{0, 0}, {1, 10 * ms}, {0, 1000 * ms}, {1, 1010 * ms}, {0, 2000 * ms}}, true, false},
		{"stream beyond 2 s", []pkt{{0, 0}, {1, 10 * ms}, {0, 2500 * ms}}, true, true},
		{"first reply after 2 s", []pkt{{0, 0}, {1, 3000 * ms}}, true, false},
		{"a packet after the late reply", []pkt{{0, 0}, {1, 3000 * ms}, {1, 3100 * ms}}, true, true},
		{"one way for 10 s", []pkt{{0, 0}, {0, 5000 * ms}, {0, 10000 * ms}}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u udpTrack
			for _, p := range tc.pkts {
				u.update(p.dir, p.ts)
			}
			assert.Equal(t, tc.replied, u.SeenReply, "SeenReply")
			assert.Equal(t, tc.assured, u.Assured, "Assured")
		})
	}
}

func TestConntrackICMP(t *testing.T) {
	// nf_conntrack_icmp_packet() only refreshes the timeout: replies clear
	// [UNREPLIED], nothing sets ASSURED.
	var c icmpTrack
	c.update(0, 0)
	assert.False(t, c.SeenReply)
	c.update(1, 1)
	c.update(0, 5_000_000_000)
	assert.True(t, c.SeenReply)

	// valid_new[]: only queries create entries.
	for typ, want := range map[uint8]bool{8: true, 13: true, 15: true, 17: true, 0: false, 3: false, 11: false, 14: false} {
		assert.Equal(t, want, icmpNew(typ, false), "icmp type %d", typ)
	}
	for typ, want := range map[uint8]bool{128: true, 139: true, 129: false, 1: false, 135: false} {
		assert.Equal(t, want, icmpNew(typ, true), "icmpv6 type %d", typ)
	}
}

func TestConntrackTimeout(t *testing.T) {
	// tcp_timeouts[], TCP_CONNTRACK_UNACK, udp_timeouts[], the ICMP and
	// generic timeouts: the nf_conntrack_*_timeout* sysctl defaults.
	for _, c := range []struct {
		proto, state string
		assured      bool
		want         int
	}{
		{"tcp", "SYN_SENT", false, 120},
		{"tcp", "SYN_RECV", false, 60},
		{"tcp", "ESTABLISHED", true, 432000},
		{"tcp", "ESTABLISHED", false, 300},
		{"tcp", "FIN_WAIT", true, 120},
		{"tcp", "CLOSE_WAIT", true, 60},
		{"tcp", "LAST_ACK", true, 30},
		{"tcp", "TIME_WAIT", true, 120},
		{"tcp", "CLOSE", true, 10},
		{"tcp", "SYN_SENT2", false, 120},
		{"udp", "", false, 30},
		{"udp", "", true, 120},
		{"icmp", "", false, 30},
		{"icmpv6", "", false, 30},
		{"proto-253", "", false, 600},
	} {
		assert.Equal(t, c.want, ConntrackTimeout(mustProto(t, c.proto), c.state, c.assured), "%s %s assured=%v", c.proto, c.state, c.assured)
	}
}

func mustProto(t *testing.T, name string) Proto {
	t.Helper()
	var p Proto
	if err := p.UnmarshalText([]byte(name)); err != nil {
		t.Fatal(err)
	}
	return p
}
