package analyze

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
		assert.Empty(t, res.Unjudged, "nor left unjudged: every capture ran throughout")
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

// interleavedInterfaces writes a pcapng capture in which each of n
// interfaces is described right before the packets seen there: with
// flows, packet i is a TCP segment of its own flow (source port) seen at
// interface i only, so n flows cross n hops in all; without, one segment
// is seen at every interface (the audit's 100k-interface file). A little
// real-node noise (an ARP request, an IPv6 MLD report) comes first.
func interleavedInterfaces(tb testing.TB, n int, flows bool) string {
	tb.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "noise", LinkType: layers.LinkTypeEthernet, SnapLength: 262144}, pcapgo.DefaultNgWriterOptions)
	require.NoError(tb, err)
	ts := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	write := func(intf int, f []byte) {
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(f), Length: len(f), InterfaceIndex: intf}
		require.NoError(tb, w.WritePacket(ci, f))
		ts = ts.Add(time.Microsecond)
	}
	arp := make([]byte, 28)
	arp[1], arp[2], arp[4], arp[5], arp[7] = 1, 0x08, 6, 4, 1
	write(0, frametest.Eth(0x0806, arp))
	write(0, frametest.Eth(0x86dd, frametest.IP6("fe80::1", "ff02::16", 58, frametest.ICMP(143, 0, 0, make([]byte, 20)))))
	for i := range n {
		id, err := w.AddInterface(pcapgo.NgInterface{Name: fmt.Sprintf("veth%d", i), LinkType: layers.LinkTypeEthernet, SnapLength: 262144})
		require.NoError(tb, err)
		sport, seq, ipid := uint16(40000), uint32(1000), uint16(0x1234)
		if flows {
			sport, seq, ipid = uint16(1024+i%60000), uint32(1000+i*7919), uint16(i)
		}
		ip := frametest.IP4Opt{TTL: 64, ID: ipid, DF: true}
		write(id, frametest.Eth(0x0800, frametest.IP4("10.244.0.5", "10.244.1.5", 6, frametest.TCP(sport, 8080, 0x18, seq, 2000, 0, 100), ip)))
	}
	require.NoError(tb, w.Flush())
	path := filepath.Join(tb.TempDir(), "node-1", "interleaved.pcapng")
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(tb, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// analysisCost analyses one capture and returns the heap allocations and
// bytes it took and the sightings fits compared.
func analysisCost(t *testing.T, path string) (mallocs, bytes uint64, fitsOps int) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a, res := analyzeInternal(t, []Capture{{Node: "node-1", Path: path}})
	runtime.ReadMemStats(&after)
	assert.Empty(t, res.Drops, "nothing is dropped: every packet is seen where its flow is")
	return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc, a.corr.fitsOps
}

// TestManyHopsGrowth: analysing many interfaces costs work and memory
// linear in them, both for one packet seen at every interface (fits
// compared each sighting with all before it: one packet at 20,000
// interfaces spent 1.2 s there) and for many flows across many hops (each
// flow direction kept a slot per hop up to the highest hop number: 100k
// interleaved interfaces reached 18 GB).
func TestManyHopsGrowth(t *testing.T) {
	for _, flows := range []bool{false, true} {
		small, smallBytes, smallOps := analysisCost(t, interleavedInterfaces(t, 2000, flows))
		large, largeBytes, largeOps := analysisCost(t, interleavedInterfaces(t, 8000, flows))
		t.Logf("flows %v: allocations %d → %d (x%.2f), bytes %d → %d (x%.2f), fits comparisons %d → %d",
			flows, small, large, float64(large)/float64(small), smallBytes, largeBytes,
			float64(largeBytes)/float64(smallBytes), smallOps, largeOps)
		assert.Less(t, float64(large)/float64(small), 5.0, "4× the interfaces must cost about 4× the allocations")
		assert.Less(t, float64(largeBytes)/float64(smallBytes), 5.0, "4× the interfaces must cost about 4× the memory")
		assert.LessOrEqual(t, largeOps, 4*smallOps+8, "fits must not compare each sighting with all before it")
	}
}
