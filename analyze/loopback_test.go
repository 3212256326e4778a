package analyze

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// A ping to the host's own address has the same source and destination,
// so its request and reply share one tuple: only the ICMP type tells them
// apart, as in the kernel, whose ICMP tuple holds the type and maps a
// request's to its reply's when it inverts a tuple. TCP and UDP on lo keep
// their directions apart by their ports.

// TestLoopbackEcho: the pings on node-2's lo in isb-stopped-early (two
// echo requests, each answered, by tcpdump) are answered flows, with no drop
// and no flow without a reply.
func TestLoopbackEcho(t *testing.T) {
	dir := filepath.Join("..", "testdata", "captures", "isb-stopped-early")
	var caps []Capture
	for _, f := range []string{"node-1/c-eth0.pcapng", "node-2/s-eth0.pcapng", "node-2/s-lo.pcap"} {
		caps = append(caps, Capture{Node: filepath.Dir(f), Path: filepath.Join(dir, f)})
	}
	res, err := Analyze(caps, Options{})
	require.NoError(t, err)
	found := false
	for _, f := range res.Flows {
		if f.Proto != ProtoICMP {
			continue
		}
		found = true
		assert.Equal(t, "127.0.0.1", f.Orig.Src)
		assert.False(t, f.Unreplied, "the pings on lo were answered")
		assert.Equal(t, 2, f.OrigStats.Packets, "echo requests")
		assert.Equal(t, 2, f.ReplStats.Packets, "echo replies")
		assert.Empty(t, f.NAT, "no translation on lo")
	}
	assert.True(t, found, "the ICMP flow on lo")
	assert.Empty(t, res.Drops, "nothing was dropped (truth: server received 15)")
	for _, p := range res.Paths {
		if p.Proto == ProtoICMP {
			assert.Equal(t, []string{"s-lo"}, p.Hops, "%s path", p.Direction)
		}
	}
}

// TestLoopbackDirections: pings to 127.0.0.1 and ::1, a UDP exchange and a
// TCP handshake on lo, with the noise of a real node, and a ping to itself
// that got no answer, which must stay unreplied.
func TestLoopbackDirections(t *testing.T) {
	const us = time.Microsecond
	lo4 := func(proto uint8, l4 []byte) []byte {
		return ft.Eth(0x0800, ft.IP4("127.0.0.1", "127.0.0.1", proto, l4, ft.IP4Opt{TTL: 64, DF: true}))
	}
	lo6 := func(l4 []byte) []byte { return ft.Eth(0x86dd, ft.IP6("::1", "::1", 58, l4)) }
	body := make([]byte, 56)
	var frames []tsFrame
	for i := range 3 {
		at := time.Duration(i) * 100 * time.Millisecond
		rest := uint32(7)<<16 | uint32(i+1)
		frames = append(frames,
			tsFrame{at, lo4(1, ft.ICMP(8, 0, rest, body))},
			tsFrame{at + 15*us, lo4(1, ft.ICMP(0, 0, rest, body))},
			tsFrame{at + 30*us, lo6(ft.ICMP(128, 0, rest, body))},
			tsFrame{at + 40*us, lo6(ft.ICMP(129, 0, rest, body))},
			tsFrame{at + 50*us, lo4(17, ft.UDP(5000, 6000, []byte{byte(i), 1, 2, 3}))},
			tsFrame{at + 60*us, lo4(17, ft.UDP(6000, 5000, []byte{byte(i), 4, 5, 6}))},
			// Unanswered: id 9.
			tsFrame{at + 70*us, lo4(1, ft.ICMP(8, 0, uint32(9)<<16|uint32(i+1), body))},
		)
	}
	frames = append(frames,
		tsFrame{400 * time.Millisecond, lo4(6, ft.TCP(41000, 8080, 0x02, 100, 0, 65495, 0))},
		tsFrame{400*time.Millisecond + 10*us, lo4(6, ft.TCP(8080, 41000, 0x12, 500, 101, 65495, 0))},
		tsFrame{400*time.Millisecond + 20*us, lo4(6, ft.TCP(41000, 8080, 0x10, 101, 501, 0, 0))},
	)
	frames = append(frames, noise(0, 50*time.Millisecond, 10)...)
	dir := t.TempDir()
	caps := []Capture{writeCapture(t, dir, "node-1", "lo", sortFrames(frames))}
	res, err := Analyze(caps, Options{})
	require.NoError(t, err)

	type want struct{ orig, reply int }
	wants := map[string]want{
		"icmp 127.0.0.1 > 127.0.0.1 id 7":      {3, 3},
		"icmpv6 ::1 > ::1 id 7":                {3, 3},
		"udp 127.0.0.1:5000 > 127.0.0.1:6000":  {3, 3},
		"tcp 127.0.0.1:41000 > 127.0.0.1:8080": {2, 1},
		"icmp 127.0.0.1 > 127.0.0.1 id 9":      {3, 0},
	}
	got := map[string]want{}
	for _, f := range res.Flows {
		if f.Orig.Src != "127.0.0.1" && f.Orig.Src != "::1" {
			continue
		}
		k := f.Proto.String() + " " + f.Orig.Src
		if f.Proto.HasPorts() {
			k = f.Proto.String() + " " + f.Orig.Src + ":" + itoa(f.Orig.SPort) + " > " + f.Orig.Dst + ":" + itoa(f.Orig.DPort)
		} else {
			k += " > " + f.Orig.Dst + " id " + itoa(f.Orig.SPort)
		}
		got[k] = want{f.OrigStats.Packets, f.ReplStats.Packets}
		assert.Equal(t, f.ReplStats.Packets == 0, f.Unreplied, "%s unreplied", k)
	}
	assert.Equal(t, wants, got)
	assert.Empty(t, res.Drops, "nothing lost on one capture point")
}

func itoa(n uint16) string {
	return strconv.Itoa(int(n))
}
