package analyze

import (
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
// holds per flow: its state (512 bytes), the two tuple keys of its index
// and its slot in the list. The rest of the analysis (paths, drop groups,
// the Result) adds to it; TestScanGrowth measures the whole.
func TestFlowStateBytes(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(flowState{}), uintptr(512), "a flow state fits the 512-byte size class")
	small, large := flowTableCost(t, 50_000), flowTableCost(t, 200_000)
	t.Logf("flow table: %.0f bytes per flow at 50k flows, %.0f at 200k", small, large)
	assert.Less(t, large, 700.0, "bytes per flow of the flow table")
	assert.Less(t, small, 700.0, "bytes per flow of the flow table")
}
