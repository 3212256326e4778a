package analyze_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/internal/frametest"
)

// wireGuardData is a WireGuard transport data message (type 4, receiver
// index, counter) of n encrypted bytes and its 16-byte tag: random-looking
// content nothing can correlate.
func wireGuardData(counter uint64, n int) []byte {
	b := []byte{4, 0, 0, 0, 0x11, 0x22, 0x33, 0x44}
	for i := range 8 {
		b = append(b, byte(counter>>(8*i)))
	}
	for i := range n + 16 {
		b = append(b, byte(counter*31+uint64(i)*17))
	}
	return b
}

func espData(seq uint32, n int) []byte {
	b := []byte{0xc0, 0xff, 0xee, 0x01, byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
	for i := range n + 8 + 2 + 16 {
		b = append(b, byte(seq*7+uint32(i)*13))
	}
	return b
}

// TestEncryptedCarriers: WireGuard between two nodes (and ESP) is
// followed on the underlay, listed with the tunnel carriers, its overhead
// and inner MTU reported per hop, and no content correlation claimed.
func TestEncryptedCarriers(t *testing.T) {
	dir := t.TempDir()
	write := func(node string, frames [][]byte, at func(i int) time.Time) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, node), 0o755))
		var buf bytes.Buffer
		w := pcapgo.NewWriterNanos(&buf)
		require.NoError(t, w.WriteFileHeader(65535, layers.LinkTypeEthernet))
		for i, f := range frames {
			require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: at(i), CaptureLength: len(f), Length: len(f)}, f))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, node, "eth0.pcap"), buf.Bytes(), 0o644))
	}
	base := time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)
	var frames [][]byte
	for i := range 20 {
		if i%2 == 0 {
			frames = append(frames, frametest.Eth(0x0800, frametest.IP4("192.168.1.10", "192.168.1.11", 17, frametest.UDP(51820, 51820, wireGuardData(uint64(i), 1200)), frametest.IP4Opt{TTL: 64, ID: uint16(100 + i)})))
		} else {
			frames = append(frames, frametest.Eth(0x0800, frametest.IP4("192.168.1.11", "192.168.1.10", 17, frametest.UDP(51820, 51820, wireGuardData(uint64(i), 80)), frametest.IP4Opt{TTL: 64, ID: uint16(900 + i)})))
		}
	}
	for i := range 6 {
		frames = append(frames, frametest.Eth(0x0800, frametest.IP4("192.168.1.10", "192.168.1.11", 50, espData(uint32(i), 500), frametest.IP4Opt{TTL: 64, ID: uint16(2000 + i)})))
	}
	// The same packets on both nodes' eth0, 40 µs apart on the wire.
	write("node-1", frames, func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) })
	write("node-2", frames, func(i int) time.Time { return base.Add(time.Duration(i)*time.Millisecond + 40*time.Microsecond) })

	caps := []analyze.Capture{{Node: "node-1", Path: filepath.Join(dir, "node-1", "eth0.pcap")}, {Node: "node-2", Path: filepath.Join(dir, "node-2", "eth0.pcap")}}
	res, err := analyze.Analyze(caps, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	assert.Empty(t, res.Drops)

	kinds := map[string]int{}
	for _, f := range res.Flows {
		kinds[f.Tunnel]++
	}
	assert.Equal(t, map[string]int{"wireguard": 1, "esp": 1}, kinds, "both are carriers, no pod flow invented")
	var enc []string
	for _, e := range res.Encap {
		enc = append(enc, e.Hop+" "+e.Type)
		switch e.Type {
		case "wireguard":
			assert.Equal(t, 60, e.OverheadBytes)
			assert.Equal(t, 1440, e.InnerMTU, "Calico's and wg-quick's WireGuard MTU")
		case "esp":
			assert.Equal(t, 54, e.OverheadBytes)
		}
	}
	assert.ElementsMatch(t, []string{"node-1/eth0 wireguard", "node-2/eth0 wireguard", "node-1/eth0 esp", "node-2/eth0 esp"}, enc)
	joined := strings.Join(res.Warnings, "\n")
	assert.Contains(t, joined, "carries encrypted traffic (WireGuard)")
	assert.Contains(t, joined, "carries encrypted traffic (IPsec ESP)")
	var wgPaths int
	for _, p := range res.Paths {
		if p.Proto == analyze.ProtoUDP {
			wgPaths++
			assert.Len(t, p.Hops, 2, "followed on the underlay: node-1/eth0 and node-2/eth0")
		}
	}
	assert.Equal(t, 2, wgPaths)
}
