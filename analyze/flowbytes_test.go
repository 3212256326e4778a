package analyze

import (
	"math"
	"net/netip"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flowTableCost builds a flow table of n TCP flows, each opened by a SYN
// and three in five answered by an RST/ACK (a SYN scan), and returns the
// heap bytes it holds per flow, the flow states and the tuple index.
func flowTableCost(t *testing.T, n int) float64 {
	t.Helper()
	scanner := netip.MustParseAddr("192.168.1.10")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ft := newFlowTable()
	for i := range n {
		target := netip.AddrFrom4([4]byte{10, byte(1 + i>>24), byte(i >> 16), byte(i >> 8)})
		tu := Tuple{Proto: ProtoTCP, Src: scanner, Dst: target, SPort: uint16(40000 + i%20000), DPort: uint16(i)}
		ts := int64(i) * 10_000
		f, d := ft.lookup(tu, tu, ts)
		require.Equal(t, dirOrig, d)
		f.account(d, &obs{proto: 6, tcpFlags: flagSYN, seq: uint32(i), mss: 1460, ipLen: 44}, 44, ts)
		if i%5 < 3 {
			f, d = ft.lookup(tu.Reverse(), tu.Reverse(), ts+80_000)
			require.Equal(t, dirReply, d)
			f.account(d, &obs{proto: 6, tcpFlags: flagRST | flagACK, ack: uint32(i) + 1, ipLen: 40}, 40, ts+80_000)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Len(t, ft.flows, n)
	runtime.KeepAlive(ft)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestFlowStateBytes: a flow costs a few hundred bytes of state, the
// same per flow at 50k and 200k flows (issue 16: about 4 KB per flow made
// hoptrace flows need 4.2 GB for a 1M-flow SYN scan). What the flow table
// holds per flow: its state (416 bytes), the two tuple keys of its index
// and its slot in the list. The rest of the analysis (paths, drop groups,
// the Result) adds to it; TestScanGrowth measures the whole.
func TestFlowStateBytes(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(flowState{}), uintptr(416), "a flow state fits the 416-byte size class")
	small, large := flowTableCost(t, 50_000), flowTableCost(t, 200_000)
	t.Logf("flow table: %.0f bytes per flow at 50k flows, %.0f at 200k", small, large)
	assert.Less(t, large, 600.0, "bytes per flow of the flow table")
	assert.Less(t, small, 600.0, "bytes per flow of the flow table")
}

// tupleTableCost numbers n distinct tuples (a SYN scan's, both
// directions) and returns the heap bytes the table holds per tuple.
func tupleTableCost(t *testing.T, n int) float64 {
	t.Helper()
	scanner := netip.MustParseAddr("192.168.1.10")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tt := newTupleTable()
	for i := range n / 2 {
		target := netip.AddrFrom4([4]byte{10, byte(1 + i>>24), byte(i >> 16), byte(i >> 8)})
		tu := Tuple{Proto: ProtoTCP, Src: scanner, Dst: target, SPort: uint16(40000 + i%20000), DPort: uint16(i)}
		require.Equal(t, int32(2*i), tt.id(tu))
		require.Equal(t, int32(2*i+1), tt.id(tu.Reverse()))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Len(t, tt.keys, n)
	runtime.KeepAlive(tt)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestTupleTableBytes: the analysis' tuple numbering costs well under 100
// bytes per tuple, the same at 100k and 400k tuples (a map keyed by the
// 40-byte tupleKey and a list of Tuples cost about 150).
func TestTupleTableBytes(t *testing.T) {
	small, large := tupleTableCost(t, 100_000), tupleTableCost(t, 400_000)
	t.Logf("tuple table: %.0f bytes per tuple at 100k tuples, %.0f at 400k", small, large)
	assert.Less(t, small, 90.0, "bytes per tuple of the tuple table")
	assert.Less(t, large, 90.0, "bytes per tuple of the tuple table")
}

// TestTupleTableCollision: a tuple whose hash another tuple took first
// gets a number of its own, found again, and both tuples come back whole;
// so do IPv4, IPv6 and IPv4-mapped IPv6 tuples.
func TestTupleTableCollision(t *testing.T) {
	a := Tuple{Proto: ProtoTCP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SPort: 1, DPort: 2}
	b := Tuple{Proto: ProtoUDP, Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::1"), SPort: 3, DPort: 4}
	c := Tuple{Proto: ProtoTCP, Src: netip.MustParseAddr("::ffff:10.0.0.1"), Dst: netip.MustParseAddr("::ffff:10.0.0.2"), SPort: 1, DPort: 2}
	tt := newTupleTable()
	ia := tt.id(a)
	kb := keyOf(b)
	tt.ids[kb.hash()] = ia // b's hash taken by a
	ib := tt.id(b)
	assert.NotEqual(t, ia, ib)
	assert.Equal(t, ib, tt.id(b))
	assert.Equal(t, ia, tt.id(a))
	ic := tt.id(c)
	assert.NotEqual(t, ia, ic, "an IPv4-mapped tuple is not the IPv4 one")
	for id, tu := range map[int32]Tuple{ia: a, ib: b, ic: c} {
		assert.Equal(t, tu, tt.tuple(id))
	}
}

// TestFlowTableIndex: the flow table's index by tuple hash finds each
// tuple's flow when another tuple took its hash first, for tuples a flow
// learnt beside its own (a translated flow's untranslated form seen
// late), and for tuples taken over by a reopened connection.
func TestFlowTableIndex(t *testing.T) {
	tcp := func(src, dst string, sport, dport uint16) Tuple {
		return Tuple{Proto: ProtoTCP, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SPort: sport, DPort: dport}
	}
	ft := newFlowTable()
	a := tcp("10.0.0.1", "10.0.0.2", 1000, 80)
	fa, d := ft.lookup(a, a, 0)
	assert.Equal(t, dirOrig, d)

	// b's hash taken by a's flow.
	b := tcp("fe80::1", "fe80::2", 2000, 443)
	kb, kr := keyOf(b), keyOf(b.Reverse())
	ft.byHash[kb.hash()] = fa.id
	ft.byHash[kr.hash()] = fa.id
	fb, d := ft.lookup(b, b, 1)
	assert.Equal(t, dirOrig, d)
	assert.NotSame(t, fa, fb)
	assert.Same(t, fb, ft.get(b))
	assert.Same(t, fb, ft.get(b.Reverse()))
	assert.Same(t, fa, ft.get(a))
	assert.Same(t, fa, ft.get(a.Reverse()))
	f, d := ft.lookup(b.Reverse(), b.Reverse(), 2)
	assert.Same(t, fb, f)
	assert.Equal(t, dirReply, d)

	// A pod's packet to a service, first seen translated to the backend
	// (the capture near the pod began late), then untranslated.
	pod := tcp("10.244.1.5", "10.96.0.10", 40000, 53)
	backend := tcp("10.244.1.5", "10.244.2.7", 40000, 53)
	fn, _ := ft.lookup(backend, backend, 3)
	f, d = ft.lookup(pod, backend, 4)
	assert.Same(t, fn, f)
	assert.Equal(t, dirOrig, d)
	assert.Same(t, fn, ft.get(pod))
	assert.Same(t, fn, ft.get(pod.Reverse()))
	assert.Same(t, fn, ft.get(backend.Reverse()))
	assert.Nil(t, ft.get(tcp("10.244.1.5", "10.96.0.10", 40001, 53)))
	// ... and then as a node's SNAT sent it: a tuple the flow does not own.
	snat := tcp("10.0.0.9", "10.244.2.7", 50000, 53)
	f, d = ft.lookup(snat, backend, 5)
	assert.Same(t, fn, f)
	assert.Equal(t, dirOrig, d)
	assert.Same(t, fn, ft.get(snat))
	assert.Same(t, fn, ft.get(snat.Reverse()))
	assert.Contains(t, ft.others, keyOf(snat))
	assert.Contains(t, ft.others, kb, "b's hash was taken")

	// Reopened connections take their tuples over, from the index by hash
	// and from others.
	fa2 := ft.create(a, a, 5)
	assert.Same(t, fa2, ft.get(a))
	assert.Same(t, fa2, ft.get(a.Reverse()))
	fp := ft.create(pod, pod, 6)
	assert.Same(t, fp, ft.get(pod))
	assert.Same(t, fp, ft.get(pod.Reverse()))
	fs := ft.create(snat, snat, 7)
	assert.Same(t, fs, ft.get(snat))
	assert.Same(t, fs, ft.get(snat.Reverse()))
	assert.NotContains(t, ft.others, keyOf(snat))
	assert.Same(t, fn, ft.get(backend))
	assert.Same(t, fb, ft.get(b))
	assert.Nil(t, ft.get(tcp("10.0.0.1", "10.0.0.2", 1001, 80)))
}

// TestDirStats: a direction's (and a drop group's) 32-bit counters stop at their largest value
// instead of wrapping to zero, and the result's Dir carries every count.
func TestDirStats(t *testing.T) {
	st := dirStats{packets: 1 << 33, bytes: 1 << 40, retransmits: math.MaxUint32 - 1, outOfOrder: 3, zeroWindow: 4, maxSegment: 65535, mss: 1460}
	inc(&st.retransmits)
	inc(&st.retransmits)
	inc(&st.outOfOrder)
	c := uint32(math.MaxUint32 - 2)
	add(&c, 1)
	assert.Equal(t, uint32(math.MaxUint32-1), c)
	add(&c, 5)
	assert.Equal(t, uint32(math.MaxUint32), c, "a drop group's counter")
	assert.Equal(t, Dir{Packets: 1 << 33, Bytes: 1 << 40, Retransmits: math.MaxUint32, OutOfOrder: 4, ZeroWindow: 4, MaxSegment: 65535, MSS: 1460}, st.dir())
}
