package report

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// The want lines are real conntrack -L (conntrack-tools 1.4.7) output from
// Linux 6.18, captured in a throwaway network namespace with
// net.netfilter.nf_conntrack_acct=1: socat and ping through an iptables
// DNAT rule (10.96.0.10:80 -> 10.77.0.2:8080, :53 -> :5353), and crafted
// TCP packets sent with a raw socket for the states a socket pair does not
// linger in. Each flow below holds the values of its line.
//
// conntrack prints the time left, read a moment after the last packet; the
// writer prints the full timeout the kernel set at that packet. So the test
// checks the real value is at most 5 s below the written one, then compares
// the lines with the timeout column taken from the writer.

type ctCase struct {
	name string
	flow analyze.Flow
	want string // as conntrack -L printed it
}

func tuple(src, dst string, sport, dport uint16) analyze.TupleJSON {
	return analyze.TupleJSON{Src: src, Dst: dst, SPort: sport, DPort: dport}
}

func dir(packets, bytes int) analyze.Dir { return analyze.Dir{Packets: packets, Bytes: bytes} }

var ctCases = []ctCase{
	{
		name: "tcp established through DNAT",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "ESTABLISHED", Assured: true,
			Orig: tuple("10.77.0.1", "10.96.0.10", 40000, 80), Reply: tuple("10.77.0.2", "10.77.0.1", 8080, 40000),
			OrigStats: dir(4, 222), ReplStats: dir(3, 170)},
		want: "tcp      6 431996 ESTABLISHED src=10.77.0.1 dst=10.96.0.10 sport=40000 dport=80 packets=4 bytes=222 src=10.77.0.2 dst=10.77.0.1 sport=8080 dport=40000 packets=3 bytes=170 [ASSURED] mark=0 use=1",
	},
	{
		name: "tcp syn_sent unreplied",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "SYN_SENT", Unreplied: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 50005, 7005), Reply: tuple("10.77.0.2", "10.77.0.1", 7005, 50005),
			OrigStats: dir(1, 40)},
		want: "tcp      6 119 SYN_SENT src=10.77.0.1 dst=10.77.0.2 sport=50005 dport=7005 packets=1 bytes=40 [UNREPLIED] src=10.77.0.2 dst=10.77.0.1 sport=7005 dport=50005 packets=0 bytes=0 mark=0 use=1",
	},
	{
		name: "tcp syn_recv",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "SYN_RECV",
			Orig: tuple("10.77.0.1", "10.77.0.2", 50001, 7001), Reply: tuple("10.77.0.2", "10.77.0.1", 7001, 50001),
			OrigStats: dir(1, 40), ReplStats: dir(1, 40)},
		want: "tcp      6 59 SYN_RECV src=10.77.0.1 dst=10.77.0.2 sport=50001 dport=7001 packets=1 bytes=40 src=10.77.0.2 dst=10.77.0.1 sport=7001 dport=50001 packets=1 bytes=40 mark=0 use=1",
	},
	{
		name: "tcp syn_sent2, simultaneous open",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "SYN_SENT2",
			Orig: tuple("10.77.0.1", "10.77.0.2", 50006, 7006), Reply: tuple("10.77.0.2", "10.77.0.1", 7006, 50006),
			OrigStats: dir(1, 40)},
		want: "tcp      6 119 SYN_SENT2 src=10.77.0.1 dst=10.77.0.2 sport=50006 dport=7006 packets=1 bytes=40 src=10.77.0.2 dst=10.77.0.1 sport=7006 dport=50006 packets=0 bytes=0 mark=0 use=1",
	},
	{
		name: "tcp picked up mid-stream, not yet assured",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "ESTABLISHED",
			Orig: tuple("10.77.0.1", "10.77.0.2", 50008, 7008), Reply: tuple("10.77.0.2", "10.77.0.1", 7008, 50008),
			OrigStats: dir(1, 50), ReplStats: dir(1, 40)},
		want: "tcp      6 299 ESTABLISHED src=10.77.0.1 dst=10.77.0.2 sport=50008 dport=7008 packets=1 bytes=50 src=10.77.0.2 dst=10.77.0.1 sport=7008 dport=50008 packets=1 bytes=40 mark=0 use=1",
	},
	{
		name: "tcp last_ack",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "LAST_ACK", Assured: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 50001, 7001), Reply: tuple("10.77.0.2", "10.77.0.1", 7001, 50001),
			OrigStats: dir(4, 170), ReplStats: dir(4, 160)},
		want: "tcp      6 29 LAST_ACK src=10.77.0.1 dst=10.77.0.2 sport=50001 dport=7001 packets=4 bytes=170 src=10.77.0.2 dst=10.77.0.1 sport=7001 dport=50001 packets=4 bytes=160 [ASSURED] mark=0 use=1",
	},
	{
		name: "tcp time_wait",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "TIME_WAIT", Assured: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 50001, 7001), Reply: tuple("10.77.0.2", "10.77.0.1", 7001, 50001),
			OrigStats: dir(5, 210), ReplStats: dir(4, 160)},
		want: "tcp      6 119 TIME_WAIT src=10.77.0.1 dst=10.77.0.2 sport=50001 dport=7001 packets=5 bytes=210 src=10.77.0.2 dst=10.77.0.1 sport=7001 dport=50001 packets=4 bytes=160 [ASSURED] mark=0 use=1",
	},
	{
		name: "tcp close after rst",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "CLOSE", Assured: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 50003, 7003), Reply: tuple("10.77.0.2", "10.77.0.1", 7003, 50003),
			OrigStats: dir(2, 80), ReplStats: dir(2, 80)},
		want: "tcp      6 9 CLOSE src=10.77.0.1 dst=10.77.0.2 sport=50003 dport=7003 packets=2 bytes=80 src=10.77.0.2 dst=10.77.0.1 sport=7003 dport=50003 packets=2 bytes=80 [ASSURED] mark=0 use=1",
	},
	{
		name: "tcp over ipv6",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "ESTABLISHED", Assured: true,
			Orig: tuple("fd00::1", "fd00::2", 44001, 8100), Reply: tuple("fd00::2", "fd00::1", 8100, 44001),
			OrigStats: dir(4, 299), ReplStats: dir(3, 227)},
		want: "tcp      6 431999 ESTABLISHED src=fd00::1 dst=fd00::2 sport=44001 dport=8100 packets=4 bytes=299 src=fd00::2 dst=fd00::1 sport=8100 dport=44001 packets=3 bytes=227 [ASSURED] mark=0 use=1",
	},
	{
		name: "tcp over ipv6 unreplied",
		flow: analyze.Flow{Proto: analyze.ProtoTCP, State: "SYN_SENT", Unreplied: true,
			Orig: tuple("fd00::1", "fd00::2", 44000, 7100), Reply: tuple("fd00::2", "fd00::1", 7100, 44000),
			OrigStats: dir(1, 80)},
		want: "tcp      6 116 SYN_SENT src=fd00::1 dst=fd00::2 sport=44000 dport=7100 packets=1 bytes=80 [UNREPLIED] src=fd00::2 dst=fd00::1 sport=7100 dport=44000 packets=0 bytes=0 mark=0 use=1",
	},
	{
		name: "udp request and response through DNAT",
		flow: analyze.Flow{Proto: analyze.ProtoUDP,
			Orig: tuple("10.77.0.1", "10.96.0.10", 41000, 53), Reply: tuple("10.77.0.2", "10.77.0.1", 5353, 41000),
			OrigStats: dir(1, 30), ReplStats: dir(1, 30)},
		want: "udp      17 29 src=10.77.0.1 dst=10.96.0.10 sport=41000 dport=53 packets=1 bytes=30 src=10.77.0.2 dst=10.77.0.1 sport=5353 dport=41000 packets=1 bytes=30 mark=0 use=1",
	},
	{
		name: "udp unreplied",
		flow: analyze.Flow{Proto: analyze.ProtoUDP, Unreplied: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 42000, 9999), Reply: tuple("10.77.0.2", "10.77.0.1", 9999, 42000),
			OrigStats: dir(1, 30)},
		want: "udp      17 29 src=10.77.0.1 dst=10.77.0.2 sport=42000 dport=9999 packets=1 bytes=30 [UNREPLIED] src=10.77.0.2 dst=10.77.0.1 sport=9999 dport=42000 packets=0 bytes=0 mark=0 use=1",
	},
	{
		name: "udp stream, assured",
		flow: analyze.Flow{Proto: analyze.ProtoUDP, Assured: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 43002, 6002), Reply: tuple("10.77.0.2", "10.77.0.1", 6002, 43002),
			OrigStats: dir(2, 58), ReplStats: dir(1, 29)},
		want: "udp      17 119 src=10.77.0.1 dst=10.77.0.2 sport=43002 dport=6002 packets=2 bytes=58 src=10.77.0.2 dst=10.77.0.1 sport=6002 dport=43002 packets=1 bytes=29 [ASSURED] mark=0 use=1",
	},
	{
		name: "icmp echo",
		flow: analyze.Flow{Proto: analyze.ProtoICMP,
			Orig: tuple("10.77.0.2", "10.77.0.2", 19150, 0), Reply: tuple("10.77.0.2", "10.77.0.2", 19150, 0),
			OrigStats: dir(1, 84), ReplStats: dir(1, 84)},
		want: "icmp     1 29 src=10.77.0.2 dst=10.77.0.2 type=8 code=0 id=19150 packets=1 bytes=84 src=10.77.0.2 dst=10.77.0.2 type=0 code=0 id=19150 packets=1 bytes=84 mark=0 use=1",
	},
	{
		name: "icmp echo unreplied",
		flow: analyze.Flow{Proto: analyze.ProtoICMP, Unreplied: true,
			Orig: tuple("10.77.0.1", "10.77.0.3", 27336, 0), Reply: tuple("10.77.0.3", "10.77.0.1", 27336, 0),
			OrigStats: dir(1, 84)},
		want: "icmp     1 27 src=10.77.0.1 dst=10.77.0.3 type=8 code=0 id=27336 packets=1 bytes=84 [UNREPLIED] src=10.77.0.3 dst=10.77.0.1 type=0 code=0 id=27336 packets=0 bytes=0 mark=0 use=1",
	},
	{
		name: "icmpv6 echo",
		flow: analyze.Flow{Proto: analyze.ProtoICMPv6,
			Orig: tuple("fd00::1", "fd00::2", 27518, 0), Reply: tuple("fd00::2", "fd00::1", 27518, 0),
			OrigStats: dir(1, 104), ReplStats: dir(1, 104)},
		want: "icmpv6   58 29 src=fd00::1 dst=fd00::2 type=128 code=0 id=27518 packets=1 bytes=104 src=fd00::2 dst=fd00::1 type=129 code=0 id=27518 packets=1 bytes=104 mark=0 use=1",
	},
	{
		name: "other protocol, generic tracker",
		flow: analyze.Flow{Proto: analyze.Proto(253), Unreplied: true,
			Orig: tuple("10.77.0.1", "10.77.0.2", 0, 0), Reply: tuple("10.77.0.2", "10.77.0.1", 0, 0),
			OrigStats: dir(1, 28)},
		want: "unknown  253 599 src=10.77.0.1 dst=10.77.0.2 packets=1 bytes=28 [UNREPLIED] src=10.77.0.2 dst=10.77.0.1 packets=0 bytes=0 mark=0 use=1",
	},
}

// conntrack -L -o extended output of three of the entries above.
var ctExtended = map[string]string{
	"tcp established through DNAT": "ipv4     2 tcp      6 431996 ESTABLISHED src=10.77.0.1 dst=10.96.0.10 sport=40000 dport=80 packets=4 bytes=222 src=10.77.0.2 dst=10.77.0.1 sport=8080 dport=40000 packets=3 bytes=170 [ASSURED] mark=0 use=1",
	"tcp over ipv6":                "ipv6     10 tcp      6 431999 ESTABLISHED src=fd00::1 dst=fd00::2 sport=44001 dport=8100 packets=4 bytes=299 src=fd00::2 dst=fd00::1 sport=8100 dport=44001 packets=3 bytes=227 [ASSURED] mark=0 use=1",
	"icmpv6 echo":                  "ipv6     10 icmpv6   58 29 src=fd00::1 dst=fd00::2 type=128 code=0 id=27518 packets=1 bytes=104 src=fd00::2 dst=fd00::1 type=129 code=0 id=27518 packets=1 bytes=104 mark=0 use=1",
}

// withTimeout checks the real line's timeout (field n, counting from 0) is
// the written one, read at most 5 s later, and returns the real line with
// the written timeout.
func withTimeout(t *testing.T, real, got string, n int) string {
	t.Helper()
	realF, gotF := fieldSpan(real, n), fieldSpan(got, n)
	require.NotNil(t, realF)
	require.NotNil(t, gotF)
	realT, err := strconv.Atoi(real[realF[0]:realF[1]])
	require.NoError(t, err)
	gotT, err := strconv.Atoi(got[gotF[0]:gotF[1]])
	require.NoError(t, err)
	assert.True(t, gotT-5 <= realT && realT <= gotT, "real timeout %d, written %d", realT, gotT)
	return real[:realF[0]] + got[gotF[0]:gotF[1]] + real[realF[1]:]
}

// fieldSpan returns the byte range of the n-th space-separated field.
func fieldSpan(s string, n int) []int {
	i := 0
	for k := 0; ; k++ {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			return nil
		}
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		if k == n {
			return []int{i, j}
		}
		i = j
	}
}

func TestWriteConntrackMatchesRealTool(t *testing.T) {
	var flows []analyze.Flow
	for _, c := range ctCases {
		flows = append(flows, c.flow)
	}
	var buf bytes.Buffer
	require.NoError(t, WriteConntrack(&buf, flows))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, len(ctCases))
	for i, c := range ctCases {
		assert.Equal(t, withTimeout(t, c.want, lines[i], 2), lines[i], c.name)
	}
}

func TestWriteConntrackExtendedMatchesRealTool(t *testing.T) {
	for _, c := range ctCases {
		want, ok := ctExtended[c.name]
		if !ok {
			continue
		}
		var buf bytes.Buffer
		require.NoError(t, WriteConntrackExtended(&buf, []analyze.Flow{c.flow}))
		got := strings.TrimSuffix(buf.String(), "\n")
		assert.Equal(t, withTimeout(t, want, got, 4), got, c.name)
	}
}

// The timeout column is the kernel's default for the entry at its last
// packet, never what is left of it.
func TestWriteConntrackTimeouts(t *testing.T) {
	for _, c := range []struct {
		flow analyze.Flow
		want string
	}{
		{analyze.Flow{Proto: analyze.ProtoTCP, State: "ESTABLISHED", Assured: true}, "432000"},
		{analyze.Flow{Proto: analyze.ProtoTCP, State: "ESTABLISHED"}, "300"},
		{analyze.Flow{Proto: analyze.ProtoTCP, State: "TIME_WAIT", Assured: true}, "120"},
		{analyze.Flow{Proto: analyze.ProtoUDP, Assured: true}, "120"},
		{analyze.Flow{Proto: analyze.ProtoUDP, Unreplied: true}, "30"},
		{analyze.Flow{Proto: analyze.ProtoICMP}, "30"},
		{analyze.Flow{Proto: analyze.Proto(47)}, "600"},
	} {
		var buf bytes.Buffer
		require.NoError(t, WriteConntrack(&buf, []analyze.Flow{c.flow}))
		assert.Equal(t, c.want, strings.Fields(buf.String())[2], "%+v", c.flow)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, assert.AnError }

func TestWriteConntrackReportsWriteError(t *testing.T) {
	err := WriteConntrack(failWriter{}, []analyze.Flow{ctCases[0].flow})
	assert.ErrorIs(t, err, assert.AnError)
}
