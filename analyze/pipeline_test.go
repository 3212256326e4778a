package analyze

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// TestPipelineAllocs: in the steady state a reader on its own goroutine
// and the merge taking its sightings allocate nothing per packet: batches
// are recycled, and renumbering a sighting looks up slices.
func TestPipelineAllocs(t *testing.T) {
	const n = 40000
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	require.NoError(t, w.WriteFileHeader(262144, layers.LinkTypeEthernet))
	start := time.Unix(1_700_000_000, 0)
	for i := range n {
		flow := uint16(i % 4)
		inner := ft.Eth(0x0800, ft.IP4("10.244.0.5", "10.244.1.5", 6,
			ft.TCP(40000+flow, 5201, 0x10, uint32(i/4)*1398, 1, 0, 1398), ft.IP4Opt{TTL: 63, ID: uint16(i)}))
		frame := vxlan4("192.168.1.10", "192.168.1.11", inner)
		ci := gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * time.Microsecond), CaptureLength: len(frame), Length: len(frame)}
		require.NoError(t, w.WritePacket(ci, frame))
	}
	a := newAnalysis([]Capture{{Node: "node-1", Path: "bulk.pcap", Data: buf.Bytes()}}, Options{Jobs: 2, Window: time.Second})
	require.NoError(t, a.openAll())
	s := a.srcs[0]
	require.NoError(t, s.restart())
	wk := newWorker()
	s.start(wk, &crew{})
	wk.start()
	for range 2000 { // warm up: tuples, hop, encapsulation numbered
		require.True(t, s.next())
	}
	allocs := testing.AllocsPerRun(n/2, func() {
		if !s.next() {
			t.Fatal("the capture ended early")
		}
	})
	require.Equal(t, int32(0), s.cur.o.hop)
	require.NotZero(t, s.cur.o.carrier, "the sightings are tunnelled")
	require.Zero(t, allocs, "allocations per packet")
	for s.next() {
	}
	require.Equal(t, n, s.packets)
}
