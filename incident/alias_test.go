package incident

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// splitInterface writes the packets of one interface of an -i any capture
// as that interface's own Ethernet capture, at the same instants: what
// splitting an -i any capture by interface gives.
func splitInterface(t *testing.T, anyPath string, ifindex uint32) []byte {
	f, err := decode.Open(anyPath)
	require.NoError(t, err)
	defer f.Close()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	require.NoError(t, w.WriteFileHeader(262144, layers.LinkTypeEthernet))
	for {
		data, m, err := f.Next()
		if err != nil {
			break
		}
		if binary.BigEndian.Uint32(data[4:8]) != ifindex {
			continue
		}
		eth := append(append(append(make([]byte, 6), data[12:18]...), data[0:2]...), data[20:]...)
		require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, m.TS), CaptureLength: len(eth), Length: m.WireLen - 20 + 14}, eth))
	}
	return buf.Bytes()
}

// TestAliasFromData: without any interface list, a capture holding
// exactly one -i any interface's packets at the same instants is that
// interface; so is a live capture of one (two sockets: each stamps its own
// copy of an incoming packet, but an outgoing one is stamped once for
// both), which holds every frame the -i any capture saw leave by it at
// the very same instant (ip -j link in truth/: veth-pod-a is 4).
func TestAliasFromData(t *testing.T) {
	dir := t.TempDir()
	n1 := filepath.Join(dir, "node-1")
	require.NoError(t, os.Mkdir(n1, 0o755))
	anyPath := filepath.Join(lab, "node-1", "n1-any.pcap")
	require.NoError(t, os.WriteFile(filepath.Join(n1, "n1-any.pcap"), readFile(t, anyPath), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "uplink.pcap"), splitInterface(t, anyPath, 2), 0o644))
	// The lab's own live capture of veth-pod-a: same packets, other stamps.
	require.NoError(t, os.WriteFile(filepath.Join(n1, "n1-veth-pod-a.pcap"), readFile(t, filepath.Join(lab, "node-1", "n1-veth-pod-a.pcap")), 0o644))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(inc.Notes, "\n"), "uplink.pcap holds exactly the packets of interface 2 of n1-any.pcap")
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	hops := map[string]analyze.CaptureSummary{}
	for _, c := range res.Captures {
		hops[c.Hop] = c
	}
	require.Contains(t, hops, "uplink")
	assert.NotContains(t, hops, "n1-any:if2", "one capture point, one hop")
	assert.Len(t, hops["uplink"].AlsoFiles, 1)
	assert.Contains(t, strings.Join(inc.Notes, "\n"), "node-1: per-interface captures holding every frame n1-any.pcap saw leave by one of its interfaces, at the same instant, and those that came in by it: that interface (by index): n1-veth-pod-a.pcap=4")
	assert.Contains(t, hops, "n1-veth-pod-a")
	assert.NotContains(t, hops, "n1-any:if4", "a live capture of the same interface: one hop")
	assert.Contains(t, hops["n1-veth-pod-a"].AlsoFiles, hops["uplink"].AlsoFiles[0])
	for _, h := range res.Hops {
		assert.False(t, h.From == "uplink" && h.To == "n1-any:if2" || h.To == "uplink" && h.From == "n1-any:if2")
	}
}

// TestLiveAliasPrefix: the live join reads an -i any capture's first
// maxAliasScan packets, not all (a busy node's capture holds millions),
// and compares the per-interface captures up to where that prefix ends:
// with the bound at 80 of node-1's 141 packets and node-2's 134, every
// interface the whole comparison joins is joined alike (before, a capture
// past the bound was not compared at all); with fewer, those the prefix
// saw leave, and never another.
func TestLiveAliasPrefix(t *testing.T) {
	shadows := func() []string {
		inc, err := Open([]string{lab}, Options{})
		require.NoError(t, err)
		var out []string
		for _, c := range inc.Captures {
			for _, sh := range c.Shadows {
				out = append(out, filepath.Base(sh.By)+"="+c.IfNames[sh.IfIndex])
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	whole := shadows()
	require.Len(t, whole, 9)
	defer func(n int) { maxAliasScan = n }(maxAliasScan)
	maxAliasScan = 80
	assert.Equal(t, whole, shadows())
	for _, n := range []int{60, 30} {
		maxAliasScan = n
		got := shadows()
		assert.NotEmpty(t, got, "bound %d", n)
		assert.Subset(t, whole, got, "bound %d", n)
	}
}

// TestLiveAliasSeveralInterfaces: a pcapng file of two interfaces (dumpcap
// -i eth0 -i lo, lo idle) beside the -i any capture holds every frame it
// saw leave by eth0 at the same instant, but is no one interface: it is
// not joined to eth0 (its hops are its interfaces' names).
func TestLiveAliasSeveralInterfaces(t *testing.T) {
	dir := t.TempDir()
	n1 := filepath.Join(dir, "node-1")
	require.NoError(t, os.Mkdir(n1, 0o755))
	anyPath := filepath.Join(lab, "node-1", "n1-any.pcap")
	require.NoError(t, os.WriteFile(filepath.Join(n1, "n1-any.pcap"), readFile(t, anyPath), 0o644))
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9}, pcapgo.NgWriterOptions{})
	require.NoError(t, err)
	_, err = w.AddInterface(pcapgo.NgInterface{Name: "lo", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9})
	require.NoError(t, err)
	writePackets(t, w, filepath.Join(lab, "node-1", "n1-eth0.pcap"), 0)
	require.NoError(t, w.Flush())
	require.NoError(t, os.WriteFile(filepath.Join(n1, "host.pcapng"), buf.Bytes(), 0o644))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	for _, c := range inc.Captures {
		assert.Empty(t, c.Shadows, "%s", c.Path)
	}
	assert.NotContains(t, strings.Join(inc.Notes, "\n"), "host.pcapng=")
}

// writePackets writes the packets of a capture to w's first interface,
// each cut to snap bytes (0: whole), at their instants.
func writePackets(t *testing.T, w *pcapgo.NgWriter, path string, snap int) {
	t.Helper()
	f, err := decode.Open(path)
	require.NoError(t, err)
	defer f.Close()
	for {
		data, m, err := f.Next()
		if err != nil {
			return
		}
		if snap > 0 {
			data = data[:min(len(data), snap)]
		}
		require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, m.TS), CaptureLength: len(data), Length: m.WireLen}, data))
	}
}
