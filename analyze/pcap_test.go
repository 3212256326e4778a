package analyze

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// tsFrame is one frame of a generated capture and when it was captured.
type tsFrame struct {
	at    time.Duration // since the capture's start
	frame []byte
}

// captureStart is when generated captures start.
var captureStart = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// writeCapture writes an Ethernet pcap of frames to dir/node/name.pcap.
func writeCapture(tb testing.TB, dir, node, name string, frames []tsFrame) Capture {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	require.NoError(tb, w.WriteFileHeader(262144, layers.LinkTypeEthernet))
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: captureStart.Add(f.at), CaptureLength: len(f.frame), Length: len(f.frame)}
		require.NoError(tb, w.WritePacket(ci, f.frame))
	}
	path := filepath.Join(dir, node, name+".pcap")
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(tb, os.WriteFile(path, buf.Bytes(), 0o644))
	return Capture{Node: node, Path: path}
}

// noise is what a real node's interface carries besides the traffic of a
// test, from start on every step: ARP requests, IPv6 MLD reports and
// neighbour solicitations from link-local addresses, and an unrelated UDP
// flow (IP ID 0, equal lengths, like DNS answers from an unconnected
// socket).
func noise(start, step time.Duration, n int) []tsFrame {
	arp := make([]byte, 28)
	arp[1], arp[2], arp[4], arp[5], arp[7] = 1, 0x08, 6, 4, 1
	var out []tsFrame
	for i := range n {
		at := start + time.Duration(i)*step
		out = append(out,
			tsFrame{at, frametest.Eth(0x0806, arp)},
			tsFrame{at + 1000, frametest.Eth(0x86dd, frametest.IP6("fe80::1", "ff02::16", 58, frametest.ICMP(143, 0, 0, make([]byte, 20))))},
			tsFrame{at + 2000, frametest.Eth(0x86dd, frametest.IP6("fe80::1", "ff02::1:ff00:2", 58, frametest.ICMP(135, 0, 0, make([]byte, 20))))},
			tsFrame{at + 3000, frametest.Eth(0x0800, frametest.IP4("10.96.0.10", "10.244.0.9", 17, frametest.UDP(53, 40000, make([]byte, 40)), frametest.IP4Opt{TTL: 64}))},
		)
	}
	return out
}

// sortFrames orders frames by time, stably.
func sortFrames(f []tsFrame) []tsFrame {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].at < f[j-1].at; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
	return f
}
