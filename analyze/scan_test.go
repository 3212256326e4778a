package analyze

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// synScan writes a two-node SYN scan of n distinct flows (bench/genscan in
// small): a scanner on node-1 sends one SYN to each (target, port) pair,
// seen at n1-eth0 and 30 µs later at n2-eth0; every 100th SYN never
// reaches n2-eth0, three in five are answered by an RST/ACK seen at both,
// the others stay unanswered. An ARP request and an IPv6 neighbour
// solicitation every 5,000 SYNs are the real-node noise beside it.
// It returns the captures and the SYNs lost.
func synScan(tb testing.TB, n int) ([]Capture, int) {
	tb.Helper()
	var bufs [2]bytes.Buffer
	var w [2]*pcapgo.Writer
	for i := range w {
		w[i] = pcapgo.NewWriterNanos(&bufs[i])
		require.NoError(tb, w[i].WriteFileHeader(262144, layers.LinkTypeEthernet))
	}
	type rec struct {
		ts   time.Time
		data []byte
	}
	var pending [2][]rec
	write := func(i int, until time.Time) {
		k := 0
		for ; k < len(pending[i]) && pending[i][k].ts.Before(until); k++ {
			r := pending[i][k]
			ci := gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: len(r.data)}
			require.NoError(tb, w[i].WritePacket(ci, r.data))
		}
		pending[i] = append(pending[i][:0], pending[i][k:]...)
	}
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const wire, answer = 30 * time.Microsecond, 80 * time.Microsecond
	dropped := 0
	for i := range n {
		t := t0.Add(time.Duration(i) * 10 * time.Microsecond)
		write(0, t)
		write(1, t)
		target := fmt.Sprintf("10.%d.%d.%d", 1+i/1000/65536, i/1000/256%256, i/1000%256)
		sport, dport := uint16(40000+i%20000), uint16(1+i%1000)
		syn := func(ttl uint8) []byte {
			return frametest.Eth(0x0800, frametest.IP4("192.168.1.10", target, 6,
				frametest.TCP(sport, dport, 0x02, uint32(i)*7919, 0, 1460, 0), frametest.IP4Opt{TTL: ttl, ID: uint16(i), DF: true}))
		}
		pending[0] = append(pending[0], rec{t, syn(64)})
		if i%5000 == 2500 {
			arp := make([]byte, 28)
			arp[1], arp[2], arp[4], arp[5], arp[7] = 1, 0x08, 6, 4, 1
			ns := frametest.Eth(0x86dd, frametest.IP6("fe80::1", "ff02::1:ff00:2", 58, frametest.ICMP(135, 0, 0, make([]byte, 16))))
			for k := range pending {
				pending[k] = append(pending[k], rec{t, frametest.Eth(0x0806, arp)}, rec{t, ns})
			}
		}
		if i%100 == 99 {
			dropped++
			continue
		}
		pending[1] = append(pending[1], rec{t.Add(wire), syn(63)})
		if i%5 >= 3 {
			continue
		}
		rst := func(ttl uint8) []byte {
			return frametest.Eth(0x0800, frametest.IP4(target, "192.168.1.10", 6,
				frametest.TCP(dport, sport, 0x14, 0, uint32(i)*7919+1, 0, 0), frametest.IP4Opt{TTL: ttl, DF: true}))
		}
		pending[1] = append(pending[1], rec{t.Add(wire + answer), rst(64)})
		pending[0] = append(pending[0], rec{t.Add(2*wire + answer), rst(63)})
	}
	end := t0.Add(time.Duration(n+1) * time.Second)
	write(0, end)
	write(1, end)
	dir := tb.TempDir()
	var caps []Capture
	for i, name := range []string{"node-1/n1-eth0.pcap", "node-2/n2-eth0.pcap"} {
		p := filepath.Join(dir, name)
		require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(tb, os.WriteFile(p, bufs[i].Bytes(), 0o644))
		caps = append(caps, Capture{Node: fmt.Sprintf("node-%d", i+1), Path: p})
	}
	return caps, dropped
}

// TestScanGrowth: a SYN scan's analysis costs allocations and bytes
// linear in its flows, and finds exactly the SYNs lost on the wire (issue
// 16: choosing the ladder flow scanned the flow list per path and drop, a
// 1M-flow scan never finished; each flow cost about 4 KB).
func TestScanGrowth(t *testing.T) {
	cost := func(n int) (mallocs, allocated, live uint64) {
		caps, dropped := synScan(t, n)
		var before, after, held runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a, res := analyzeInternal(t, caps)
		runtime.ReadMemStats(&after)
		runtime.GC()
		runtime.ReadMemStats(&held)
		runtime.KeepAlive(a)
		assert.Len(t, res.Flows, n, "one flow per SYN")
		lost := 0
		for _, d := range res.Drops {
			lost += d.Packets
		}
		assert.Equal(t, dropped, lost, "the SYNs lost between n1-eth0 and n2-eth0, and no other drop")
		runtime.KeepAlive(res)
		return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc, held.HeapAlloc - before.HeapAlloc
	}
	sm, sb, sl := cost(5000)
	lm, lb, ll := cost(20000)
	t.Logf("allocations %d → %d (x%.2f), bytes %d → %d (x%.2f); held after the analysis %d → %d bytes (%d per flow at 20k flows)",
		sm, lm, float64(lm)/float64(sm), sb, lb, float64(lb)/float64(sb), sl, ll, ll/20000)
	assert.Less(t, float64(lm)/float64(sm), 4.6, "4× the flows must cost about 4× the allocations")
	assert.Less(t, float64(lb)/float64(sb), 4.6, "4× the flows must cost about 4× the bytes")
}

// TestReaderTuplesBounded: a reader on a goroutine of its own holds the
// tuples it numbered lately, not every tuple of its capture (each reader's
// table held them all beside the analysis' own: about 200 bytes per flow
// and per capture of a SYN scan), and so does the merge's renumbering of
// them; the analysis is the same as with the captures read on the merging
// goroutine.
func TestReaderTuplesBounded(t *testing.T) {
	const gen, n = 1000, 20000
	defer func(old int) { localTupleGen = old }(localTupleGen)
	localTupleGen = gen
	caps, _ := synScan(t, n)
	run := func(jobs int) (*analysis, *Result) {
		a := newAnalysis(caps, Options{Window: time.Second, ClockSample: 100, Jobs: jobs})
		require.NoError(t, a.openAll())
		a.estimateClocks()
		require.NoError(t, a.correlate())
		return a, a.result()
	}
	_, want := run(1)
	a, got := run(2)
	assert.Equal(t, want, got, "the same analysis whatever goroutine reads the captures")
	for _, s := range a.srcs {
		lt := s.loc.tuples
		require.NotNil(t, lt, "%s was read on a goroutine of its own", s.cap.Path)
		assert.Greater(t, int(lt.next), 10*gen, "%s: its reader numbered its tuples", s.cap.Path)
		assert.LessOrEqual(t, len(lt.ids), gen, "%s: its reader holds the tuples numbered lately", s.cap.Path)
		assert.LessOrEqual(t, cap(lt.bg), 2*gen, "%s: and their background kinds", s.cap.Path)
		assert.LessOrEqual(t, cap(s.tupleMap), 4*gen, "%s: the merge holds the numbers of those only", s.cap.Path)
	}
}

// TestReleaseBeforeResult: what the main pass needed and the result does
// not (the tuple numbering, the flows by tuple number, the correlator, the
// readers' numbers) is let go before the result is built beside the flow
// table, and the result is the same; once built, the analysis holds
// nothing per flow (it held the flow table, the drop groups and the
// tuple index: about 1 KB per flow of a SYN scan beside the result's own).
func TestReleaseBeforeResult(t *testing.T) {
	const n = 20000
	caps, _ := synScan(t, n)
	var held int64
	run := func(release bool) (*Result, int64) {
		a := newAnalysis(caps, Options{Window: time.Second, ClockSample: 100, Jobs: 2})
		require.NoError(t, a.openAll())
		a.estimateClocks()
		require.NoError(t, a.correlate())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if release {
			a.release()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		freed := int64(before.HeapAlloc) - int64(after.HeapAlloc)
		res := a.result()
		runtime.GC()
		runtime.ReadMemStats(&before)
		runtime.KeepAlive(a)
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = int64(before.HeapAlloc) - int64(after.HeapAlloc)
		runtime.KeepAlive(res)
		return res, freed
	}
	want, _ := run(false)
	got, freed := run(true)
	assert.Equal(t, want, got, "the result needs nothing released")
	t.Logf("released %d bytes per flow before the result; the analysis holds %d bytes per flow after it", freed/n, held/n)
	assert.Greater(t, freed/n, int64(200), "bytes per flow released before the result is built")
	assert.Less(t, held/n, int64(64), "bytes per flow the analysis holds once the result is built")
}

// TestResultSharesText: the paths of a SYN scan share a hop list per
// distinct list of hops, and the flows, paths and drops a string per
// address, not one each (about 150 bytes per flow of a SYN scan's result).
func TestResultSharesText(t *testing.T) {
	caps, _ := synScan(t, 5000)
	res, err := Analyze(caps, Options{})
	require.NoError(t, err)
	lists, seqs := map[*string]bool{}, map[string]bool{}
	for _, p := range res.Paths {
		lists[unsafe.SliceData(p.Hops)] = true
		seqs[strings.Join(p.Hops, " ")] = true
	}
	assert.Len(t, lists, len(seqs), "one hop list per distinct list of hops")
	texts, addrs := map[*byte]bool{}, map[string]bool{}
	see := func(tu TupleJSON) {
		for _, s := range []string{tu.Src, tu.Dst} {
			texts[unsafe.StringData(s)] = true
			addrs[s] = true
		}
	}
	for _, f := range res.Flows {
		see(f.Orig)
		see(f.Reply)
	}
	for _, p := range res.Paths {
		see(p.Flow)
	}
	for _, d := range res.Drops {
		see(d.Flow)
	}
	assert.Len(t, texts, len(addrs), "one string per address")
	assert.Greater(t, len(res.Flows), 100*len(addrs), "the scan's flows share their addresses")
}

// TestDropGroupBytes: a SYN scan's drop groups (one per flow direction)
// share the few places their packets were seen and the captures running
// (dropWhere), and keep a 12-byte key each rather than a 40-byte one.
func TestDropGroupBytes(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(dropSlot{}), uintptr(12), "a drop group's key")
	require.LessOrEqual(t, unsafe.Sizeof(dropAcc{}), uintptr(32), "a drop group's counts fit the 32-byte size class")
	const n = 20000
	caps, _ := synScan(t, n)
	defer func(old int64) { foldIdleOverride = old }(foldIdleOverride)
	foldIdleOverride = math.MaxInt64 // the groups in the aggregator's map, none folded away
	a := newAnalysis(caps, Options{Window: time.Second, ClockSample: 200000})
	require.NoError(t, a.openAll())
	a.estimateClocks()
	require.NoError(t, a.correlate())
	g := a.agg
	t.Logf("%d drop groups, %d places", len(g.dropKeys), len(g.wheres))
	assert.GreaterOrEqual(t, len(g.dropKeys), n, "a drop group per flow direction at least")
	assert.LessOrEqual(t, len(g.wheres), 16, "sharing a handful of places")
	for id, s := range g.dropKeys {
		k := g.dropKeyOf(s)
		require.Equal(t, s, dropSlot{k.flow, s.where, k.dir})
		require.Equal(t, int32(id), g.drops[s].id)
	}
}

// TestPathAccBytes: a SYN scan's paths, whose packets all enter at one hop
// and cross each hop once, make neither the entry counts by hop nor the
// second crossings, and each fits 80 bytes.
func TestPathAccBytes(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(pathAcc{}), uintptr(64), "a path's accumulator fits the 64-byte size class")
	caps, _ := synScan(t, 5000)
	defer func(old int64) { foldIdleOverride = old }(foldIdleOverride)
	foldIdleOverride = math.MaxInt64 // every flow's state at hand, none folded
	a := newAnalysis(caps, Options{Window: time.Second, ClockSample: 200000})
	require.NoError(t, a.openAll())
	a.estimateClocks()
	require.NoError(t, a.correlate())
	paths, made := 0, 0
	for _, f := range a.agg.flows.flows {
		for _, pa := range f.path {
			if pa != nil {
				paths++
				if pa.more != nil {
					made++
				}
			}
		}
	}
	assert.Greater(t, paths, 5000, "a path per flow direction seen")
	assert.Zero(t, made, "paths that made entry counts or second crossings")
}

// TestFlowBytes: a result's flow holds its JSON fields only, no Go-only
// copy of its tuples (128 bytes a flow, 128 MB of a 1M-flow scan).
func TestFlowBytes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Flow{}), uintptr(296), "a result's flow")
}
