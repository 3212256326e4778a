package analyze

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// lossyBulk is a TCP connection captured at its client's eth0, with a
// handshake of 200 µs round trip, 40 data segments of 1000 bytes 20 µs
// apart, and: segment 5 lost on the way (three duplicate ACKs, then a fast
// retransmission 60 µs after the last new segment — sooner than
// Wireshark's 3 ms default, later than the handshake's round trip);
// segments 20 and 21 captured in swapped order 5 µs apart (reordered,
// not resent); segment 39 lost and resent by the retransmission timer
// 300 ms later. Real-node noise runs beside it.
func lossyBulk() []tsFrame {
	const (
		client, server = "10.244.0.5", "10.244.1.5"
		isn, sisn      = 1000, 5000
		syn, ack, psh  = 0x02, 0x10, 0x08
	)
	id := uint16(100)
	c2s := func(at time.Duration, flags uint8, seq, ackn uint32, payload int) tsFrame {
		id++
		return tsFrame{at, frametest.Eth(0x0800, frametest.IP4(client, server, 6, frametest.TCP(40000, 8080, flags, seq, ackn, 0, payload), frametest.IP4Opt{TTL: 64, ID: id, DF: true}))}
	}
	s2c := func(at time.Duration, flags uint8, seq, ackn uint32) tsFrame {
		id++
		return tsFrame{at, frametest.Eth(0x0800, frametest.IP4(server, client, 6, frametest.TCP(8080, 40000, flags, seq, ackn, 0, 0), frametest.IP4Opt{TTL: 63, ID: id, DF: true}))}
	}
	us := time.Microsecond
	f := []tsFrame{
		c2s(0, syn, isn, 0, 0),
		s2c(100*us, syn|ack, sisn, isn+1),
		c2s(200*us, ack, isn+1, sisn+1, 0),
	}
	seqOf := func(k int) uint32 { return isn + 1 + uint32(1000*k) }
	at := func(k int) time.Duration { return 300*us + time.Duration(k)*20*us }
	for k := range 40 {
		switch k {
		case 20:
			f = append(f, c2s(at(20)+5*us, ack|psh, seqOf(20), sisn+1, 1000))
		case 21:
			f = append(f, c2s(at(20), ack|psh, seqOf(21), sisn+1, 1000))
		default:
			f = append(f, c2s(at(k), ack|psh, seqOf(k), sisn+1, 1000))
		}
		switch {
		case k < 5:
			f = append(f, s2c(at(k)+50*us, ack, sisn+1, seqOf(k+1)))
		case k >= 6 && k <= 8:
			f = append(f, s2c(at(k)+50*us, ack, sisn+1, seqOf(5))) // duplicate ACKs
		case k >= 9 && k < 39:
			f = append(f, s2c(at(k)+50*us, ack, sisn+1, seqOf(k+1)))
		}
	}
	f = append(f, c2s(at(8)+60*us, ack|psh, seqOf(5), sisn+1, 1000)) // fast retransmission
	f = append(f, c2s(300*time.Millisecond, ack|psh, seqOf(39), sisn+1, 1000))
	f = append(f, s2c(300*time.Millisecond+100*us, ack, sisn+1, seqOf(40)))
	f = append(f, noise(-time.Millisecond, 50*time.Millisecond, 8)...)
	return sortFrames(f)
}

// TestTCPExpertMatchesWireshark: retransmissions and out-of-order
// segments as Wireshark's tcp.analysis flags count them: a fast
// retransmission within 3 ms of new data is a retransmission, not
// out-of-order (it was: "retransmissions: 0, out_of_order: 19").
func TestTCPExpertMatchesWireshark(t *testing.T) {
	dir := t.TempDir()
	c := writeCapture(t, dir, "node-1", "poda-eth0", lossyBulk())
	res, err := Analyze([]Capture{c}, Options{})
	require.NoError(t, err)
	var flow *Flow
	for i := range res.Flows {
		if res.Flows[i].Proto == ProtoTCP {
			require.Nil(t, flow, "one TCP flow")
			flow = &res.Flows[i]
		}
	}
	require.NotNil(t, flow)
	assert.Equal(t, 2, flow.OrigStats.Retransmits, "the fast retransmission and the timer's")
	assert.Equal(t, 1, flow.OrigStats.OutOfOrder, "segment 20, captured after 21")
	assert.Zero(t, flow.ReplStats.Retransmits)
	assert.Zero(t, flow.ReplStats.OutOfOrder, "duplicate ACKs occupy no sequence space")
	assert.Empty(t, flow.NAT, "no NAT invented")
	assert.Empty(t, res.Drops, "one capture point: nothing can be seen dropped")

	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: the figures above are checked by construction only")
	}
	count := func(filter string) int {
		out, err := exec.Command("tshark", "-n", "-r", c.Path, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
		require.NoError(t, err, filter)
		return len(strings.Fields(string(out)))
	}
	assert.Equal(t, count("tcp.srcport == 40000 && (tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission)"), flow.OrigStats.Retransmits, "tshark's retransmissions")
	assert.Equal(t, count("tcp.srcport == 40000 && tcp.analysis.out_of_order"), flow.OrigStats.OutOfOrder, "tshark's out-of-order segments")
}
