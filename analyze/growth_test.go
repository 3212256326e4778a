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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// manyInterfaces writes a "tcpdump -i any" capture (SLL2) in which one TCP
// segment is seen at n interfaces, one microsecond apart, after a little
// real-node noise (an ARP request and an IPv6 MLD report at interface 1).
func manyInterfaces(tb testing.TB, n int) string {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	require.NoError(tb, w.WriteFileHeader(262144, layers.LinkType(276)))
	ts := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	write := func(f []byte) {
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(f), Length: len(f)}
		require.NoError(tb, w.WritePacket(ci, f))
		ts = ts.Add(time.Microsecond)
	}
	arp := make([]byte, 28)
	arp[1], arp[2], arp[4], arp[5], arp[7] = 1, 0x08, 6, 4, 1
	write(frametest.SLL2(0x0806, 1, 1, arp))
	write(frametest.SLL2(0x86dd, 1, 2, frametest.IP6("fe80::1", "ff02::16", 58, frametest.ICMP(143, 0, 0, make([]byte, 20)))))
	seg := frametest.IP4("10.244.0.5", "10.244.1.5", 6, frametest.TCP(40000, 8080, 0x18, 1000, 2000, 0, 100))
	for i := range n {
		write(frametest.SLL2(0x0800, uint32(i+2), 4, seg))
	}
	path := filepath.Join(tb.TempDir(), "node-1", "any.pcap")
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(tb, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// analyzeInternal runs Analyze's passes and returns the analysis, so tests
// can read its counters.
func analyzeInternal(tb testing.TB, caps []Capture) (*analysis, *Result) {
	tb.Helper()
	a := newAnalysis(caps, Options{Window: time.Second, ClockSample: 200000})
	require.NoError(tb, a.openAll())
	a.estimateClocks()
	require.NoError(tb, a.correlate())
	return a, a.result()
}

// TestPrecedenceLearningGrowth: learning the hop order from one packet
// seen at k interfaces costs work linear in k (it compared every pair: one
// packet at 5,000 interfaces took 754 MB and 12.5 s).
func TestPrecedenceLearningGrowth(t *testing.T) {
	ops := func(n int) int {
		a, res := analyzeInternal(t, []Capture{{Node: "node-1", Path: manyInterfaces(t, n)}})
		assert.Len(t, res.Captures, n+1, "one hop per interface")
		assert.Empty(t, res.Drops, "one packet seen everywhere is not dropped anywhere")
		return a.agg.learnOps
	}
	small, large := ops(1000), ops(4000)
	require.NotZero(t, small)
	ratio := float64(large) / float64(small)
	t.Logf("pairs compared: %d at 1,000 interfaces, %d at 4,000 (ratio %.2f)", small, large, ratio)
	assert.Less(t, ratio, 4.5, "4× the sightings must cost about 4× the work, not 16×")
}

// BenchmarkManyInterfaces analyses one packet seen at 20,000 interfaces
// (issue 16's target: under 2 s).
//
//	go test -run '^$' -bench ManyInterfaces -benchmem ./analyze
func BenchmarkManyInterfaces(b *testing.B) {
	caps := []Capture{{Node: "node-1", Path: manyInterfaces(b, 20000)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(caps, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
