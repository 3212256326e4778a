package decode_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/internal/frametest"
)

// t0 is a time stamp in 2026 (ns since the epoch).
const t0 = 1796311777_000000000

func drain(t *testing.T, f *decode.File) int {
	t.Helper()
	n := 0
	for {
		_, _, err := f.Next()
		if err == io.EOF {
			return n
		}
		require.NoError(t, err)
		n++
	}
}

// A statistics block's start and end are read in its interface's units,
// and known before the first packet when the file is held in memory (the
// blocks at its end are read at open), only once read when it is a stream.
func TestInterfaceStats(t *testing.T) {
	frame := frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", 17, frametest.UDP(1, 2, nil)))
	b := frametest.NewPcapNG().
		Interface("eth0", 9).
		Interface("cni0", 6). // microseconds
		Packet(0, t0+1e9, frame).
		Packet(1, (t0+2e9)/1e3, frame).
		// An early block of interface 0, superseded by the last one.
		Statistics(0, frametest.Stats{TS: t0 + 1.5e9, Start: t0, Recv: 1}).
		Statistics(0, frametest.Stats{TS: t0 + 5e9, Start: t0, End: t0 + 5e9, Recv: 7, OSDrop: 2}).
		Statistics(1, frametest.Stats{TS: (t0 + 5e9) / 1e3, Start: (t0 + 0.5e9) / 1e3, End: (t0 + 4e9) / 1e3}).
		Bytes()
	want := []decode.InterfaceStats{
		{Iface: 0, TS: t0 + 5e9, Start: t0, End: t0 + 5e9, Received: 7, IfDrop: -1, FilterAccept: -1, OSDrop: 2, Delivered: -1},
		{Iface: 1, TS: t0 + 5e9, Start: t0 + 0.5e9, End: t0 + 4e9, Received: -1, IfDrop: -1, FilterAccept: -1, OSDrop: -1, Delivered: -1},
	}

	t.Run("memory", func(t *testing.T) {
		f, err := decode.NewFileBytes("mem.pcapng", b)
		require.NoError(t, err)
		assert.Empty(t, f.Stats(), "no interface described yet: the times cannot be read")
		_, _, err = f.Next()
		require.NoError(t, err)
		assert.Equal(t, want, f.Stats(), "interfaces described, the trailing blocks read at open")
		drain(t, f)
		assert.Equal(t, want, f.Stats(), "the blocks read in order say the same")
	})
	t.Run("stream", func(t *testing.T) {
		f, err := decode.NewFile("stream.pcapng", bytes.NewReader(b))
		require.NoError(t, err)
		_, _, err = f.Next()
		require.NoError(t, err)
		assert.Empty(t, f.Stats(), "a stream's statistics are known once read")
		assert.Equal(t, 1, drain(t, f))
		assert.Equal(t, want, f.Stats())
	})
	t.Run("pcap", func(t *testing.T) {
		f, err := decode.Open("../testdata/captures/drops/node-1/n1-eth0.pcap")
		require.NoError(t, err)
		defer f.Close()
		drain(t, f)
		assert.Empty(t, f.Stats(), "classic pcap has no statistics")
	})
}

// dumpcap 4.0 stamps packets in nanoseconds (if_tsresol 9) but writes its
// statistics blocks' times in microseconds: they are read as such when
// only microseconds make them plausible, and in the interface's units
// otherwise.
func TestInterfaceStatsDumpcapMicros(t *testing.T) {
	frame := frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", 17, frametest.UDP(1, 2, nil)))
	for _, tc := range []struct {
		name       string
		st         frametest.Stats
		start, end int64
	}{
		{"micros", frametest.Stats{TS: (t0 + 3e9) / 1e3, Start: t0 / 1e3, End: (t0 + 3e9) / 1e3}, t0, t0 + 3e9},
		{"nanos", frametest.Stats{TS: t0 + 3e9, Start: t0, End: t0 + 3e9}, t0, t0 + 3e9},
		// A capture of January 1970 in nanoseconds is read as it says.
		{"1970", frametest.Stats{TS: 3e9, Start: 1e9, End: 3e9}, 1e9, 3e9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := frametest.NewPcapNG().Interface("eth0", 9).Packet(0, t0+1e9, frame).Statistics(0, tc.st).Bytes()
			f, err := decode.NewFileBytes("f.pcapng", b)
			require.NoError(t, err)
			drain(t, f)
			st := f.Stats()
			require.Len(t, st, 1)
			assert.Equal(t, tc.start, st[0].Start)
			assert.Equal(t, tc.end, st[0].End)
		})
	}
}

// A damaged trailing block stops the walk back quietly; the blocks read in
// order are still taken.
func TestInterfaceStatsDamagedTail(t *testing.T) {
	frame := frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", 17, frametest.UDP(1, 2, nil)))
	b := frametest.NewPcapNG().Interface("eth0", 9).Packet(0, t0+1e9, frame).
		Statistics(0, frametest.Stats{TS: t0 + 3e9, Start: t0, End: t0 + 3e9}).Bytes()
	b = append(b, 1, 2, 3, 4, 5, 6, 7, 8) // garbage after the last block
	f, err := decode.NewFileBytes("f.pcapng", b)
	require.NoError(t, err)
	_, _, err = f.Next()
	require.NoError(t, err)
	assert.Empty(t, f.Stats(), "the file does not end with a statistics block")
	for {
		if _, _, err := f.Next(); err != nil {
			break
		}
	}
	require.Len(t, f.Stats(), 1)
	assert.Equal(t, int64(t0+3e9), f.Stats()[0].End)
}
