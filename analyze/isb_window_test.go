package analyze

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// Hand-built captures: node-1's hop "a" sees 10 datagrams from 1.0 s on,
// 10 ms apart, and 5 more from 3.0 s on; node-2's hop "b" (pcapng) sees
// only the first 10, and node-2's hop "c" (classic pcap) sees unrelated
// traffic from 0.7 s until 6.2 s. One more datagram at 0.5 s, before b's
// first packet, is seen at a only.
func TestCaptureStatsWindow(t *testing.T) {
	const sec = int64(1e9)
	base := captureStart.UnixNano()
	sends := append([]int64{sec / 2}, statsSends()...)
	for _, tc := range []struct {
		name     string
		stats    *frametest.Stats // b's statistics, ns since base; nil: none
		drops    int              // a -> b
		unjudged int
	}{
		// Without statistics b covers node-2's window, b's first packet to
		// c's last: the late 5 are drops, the early one unjudged.
		{name: "none", drops: 5, unjudged: 1},
		// b ran from 0.2 s to 5 s: all 6 unseen datagrams are drops.
		{name: "whole", stats: &frametest.Stats{Start: 0.2e9, End: 5e9}, drops: 6},
		// b stopped at 2 s: the late 5 cannot be judged although c ran on.
		{name: "stopped", stats: &frametest.Stats{Start: 0.2e9, End: 2e9}, drops: 1, unjudged: 5},
		// b started at 0.8 s: the early one cannot be judged.
		{name: "late-start", stats: &frametest.Stats{Start: 0.8e9, End: 5e9}, drops: 5, unjudged: 1},
		// b ran throughout but the kernel dropped 3 packets before
		// dumpcap read them: the 6 drops are counted, with a warning that
		// up to 3 of them may be the capture's own losses.
		{name: "kernel-drops", stats: &frametest.Stats{Start: 0.2e9, End: 5e9, OSDrop: 3}, drops: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var af []tsFrame
			for i, at := range sends {
				af = append(af, tsFrame{at: durationNS(at), frame: dgram(i)})
			}
			ca := writeCapture(t, dir, "node-1", "a", af)
			ng := frametest.NewPcapNG().Interface("b", 9)
			for i, at := range sends[1:11] {
				ng.Packet(0, uint64(base+at+100e3), dgram(i+1)) // 100 µs later
			}
			if tc.stats != nil {
				s := *tc.stats
				s.Start, s.End = uint64(base)+s.Start, uint64(base)+s.End
				s.TS = s.End
				ng.Statistics(0, s)
			}
			pb := filepath.Join(dir, "node-2", "b.pcapng")
			require.NoError(t, os.MkdirAll(filepath.Dir(pb), 0o755))
			require.NoError(t, os.WriteFile(pb, ng.Bytes(), 0o644))
			cb := Capture{Node: "node-2", Path: pb}
			var cf []tsFrame
			for i := range 12 {
				other := frametest.Eth(0x0800, frametest.IP4("10.0.1.9", "10.0.1.1", 17, frametest.UDP(5000, 5001, []byte{byte(i)})))
				cf = append(cf, tsFrame{at: durationNS(7*sec/10 + int64(i)*sec/2), frame: other})
			}
			cc := writeCapture(t, dir, "node-2", "c", cf)

			res, err := Analyze([]Capture{ca, cb, cc}, Options{})
			require.NoError(t, err)
			drops, unjudged := 0, 0
			for _, d := range res.Drops {
				require.True(t, d.Flow.DPort == 9000 && d.From == "a" && d.To == "b", "unexpected drop %+v", d)
				drops += d.Packets
			}
			for _, u := range res.Unjudged {
				require.True(t, u.Flow.DPort == 9000 && u.From == "a" && u.To == "b", "unexpected unjudged %+v", u)
				unjudged += u.Packets
			}
			assert.Equal(t, tc.drops, drops, "drops %+v", res.Drops)
			losses := 0
			for _, w := range res.Warnings {
				if strings.Contains(w, "may be its capture's own losses") {
					losses++
					assert.Contains(t, w, "6 packets counted as dropped before b may be its capture's own losses")
					assert.Contains(t, w, "lost 3 (interface 0, kernel 3)")
				}
			}
			if tc.stats != nil && tc.stats.OSDrop > 0 {
				assert.Equal(t, 1, losses, "warnings: %v", res.Warnings)
			} else {
				assert.Zero(t, losses, "warnings: %v", res.Warnings)
			}
			assert.Equal(t, tc.unjudged, unjudged, "unjudged %+v", res.Unjudged)
			for _, c := range res.Captures {
				if c.Hop == "b" && tc.stats != nil {
					assert.Equal(t, base+int64(tc.stats.Start), c.StartNS)
					assert.Equal(t, base+int64(tc.stats.End), c.EndNS)
				} else {
					assert.Zero(t, c.StartNS+c.EndNS, c.Hop)
				}
			}
		})
	}
}

func durationNS(ns int64) time.Duration { return time.Duration(ns) }

// dgram is datagram i of the statistics tests, told apart by its first byte.
func dgram(i int) []byte {
	return frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.1.1", 17, frametest.UDP(40000, 9000, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7})))
}

// statsSends are the statistics tests' send times, ns since the start: 10
// datagrams from 1.0 s on, 10 ms apart, then 5 from 3.0 s on.
func statsSends() []int64 {
	const sec = int64(1e9)
	var sends []int64
	for i := range 10 {
		sends = append(sends, sec+int64(i)*10e6)
	}
	for i := range 5 {
		sends = append(sends, 3*sec+int64(i)*10e6)
	}
	return sends
}

// Two interfaces of one pcapng file, each with its own statistics: node-2's
// file holds b (all 15 datagrams) and b2 (the first 10); b ran until 5 s,
// b2 until 2 s or 5 s. The late 5 are unjudged or drops between b and b2
// by b2's own span, though b's packets keep node-2's window open past them.
func TestCaptureStatsPerInterface(t *testing.T) {
	const sec = int64(1e9)
	base := captureStart.UnixNano()
	sends := statsSends()
	for _, tc := range []struct {
		name            string
		b2End           int64 // ns since base; 0: no statistics at all
		drops, unjudged int   // b -> b2
	}{
		{"b2-stopped", 2 * sec, 0, 5},
		{"b2-ran", 5 * sec, 5, 0},
		{"none", 0, 5, 0}, // node-2's window: b's last packet
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var af []tsFrame
			for i, at := range sends {
				af = append(af, tsFrame{at: durationNS(at), frame: dgram(i)})
			}
			ca := writeCapture(t, dir, "node-1", "a", af)
			ng := frametest.NewPcapNG().Interface("b", 9).Interface("b2", 9)
			for i, at := range sends {
				ng.Packet(0, uint64(base+at+100e3), dgram(i))
				if i < 10 {
					ng.Packet(1, uint64(base+at+200e3), dgram(i))
				}
			}
			if tc.b2End != 0 {
				ng.Statistics(0, frametest.Stats{TS: uint64(base + 5*sec), Start: uint64(base + sec/2), End: uint64(base + 5*sec)})
				ng.Statistics(1, frametest.Stats{TS: uint64(base + tc.b2End), Start: uint64(base + sec/2), End: uint64(base + tc.b2End)})
			}
			p := filepath.Join(dir, "node-2", "n2.pcapng")
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, ng.Bytes(), 0o644))

			res, err := Analyze([]Capture{ca, {Node: "node-2", Path: p}}, Options{})
			require.NoError(t, err)
			drops, unjudged := 0, 0
			for _, d := range res.Drops {
				require.True(t, d.From == "b" && d.To == "b2", "unexpected drop %+v", d)
				drops += d.Packets
			}
			for _, u := range res.Unjudged {
				require.True(t, u.From == "b" && u.To == "b2", "unexpected unjudged %+v", u)
				unjudged += u.Packets
			}
			assert.Equal(t, tc.drops, drops, "drops %+v", res.Drops)
			assert.Equal(t, tc.unjudged, unjudged, "unjudged %+v", res.Unjudged)
			for _, c := range res.Captures {
				switch {
				case tc.b2End == 0 || c.Hop == "a":
					assert.Zero(t, c.EndNS, c.Hop)
				case c.Hop == "b":
					assert.Equal(t, base+5*sec, c.EndNS)
				case c.Hop == "b2":
					assert.Equal(t, base+tc.b2End, c.EndNS)
				}
			}
		})
	}
}

// TestCaptureStatsWindowRotated: b's capture as dumpcap's ring buffer
// writes it, two files each with the statistics of its own span, is one
// hop whose capture ran from the first file's start to the second's end:
// the late 5 are drops, as with one file that ran throughout, and the
// losses the two files count are added up. Before, the hop took the first
// file's statistics alone: it stopped at 1.5 s, and the late 5 could not
// be judged.
func TestCaptureStatsWindowRotated(t *testing.T) {
	const sec = int64(1e9)
	base := captureStart.UnixNano()
	sends := append([]int64{sec / 2}, statsSends()...)
	dir := t.TempDir()
	var af []tsFrame
	for i, at := range sends {
		af = append(af, tsFrame{at: durationNS(at), frame: dgram(i)})
	}
	caps := []Capture{writeCapture(t, dir, "node-1", "a", af)}
	for k, part := range []struct {
		name       string
		from, to   int // of sends[1:11]
		start, end int64
		osDrop     uint64
	}{
		{"b_00001_20261203152253.pcapng", 0, 5, 2e8, 15e8, 2},
		{"b_00002_20261203152254.pcapng", 5, 10, 15e8, 5e9, 1},
	} {
		ng := frametest.NewPcapNG().Interface("b", 9)
		for i, at := range sends[1:11][part.from:part.to] {
			ng.Packet(0, uint64(base+at+100e3), dgram(1+part.from+i))
		}
		ng.Statistics(0, frametest.Stats{Start: uint64(base + part.start), End: uint64(base + part.end), TS: uint64(base + part.end), OSDrop: part.osDrop})
		p := filepath.Join(dir, "node-2", part.name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, ng.Bytes(), 0o644), k)
		caps = append(caps, Capture{Node: "node-2", Path: p})
	}
	var cf []tsFrame
	for i := range 12 {
		other := frametest.Eth(0x0800, frametest.IP4("10.0.1.9", "10.0.1.1", 17, frametest.UDP(5000, 5001, []byte{byte(i)})))
		cf = append(cf, tsFrame{at: durationNS(7*sec/10 + int64(i)*sec/2), frame: other})
	}
	caps = append(caps, writeCapture(t, dir, "node-2", "c", cf))

	res, err := Analyze(caps, Options{})
	require.NoError(t, err)
	drops := 0
	for _, d := range res.Drops {
		require.True(t, d.Flow.DPort == 9000 && d.From == "a" && d.To == "b", "unexpected drop %+v", d)
		drops += d.Packets
	}
	assert.Equal(t, 6, drops, "drops %+v", res.Drops)
	assert.Empty(t, res.Unjudged)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "6 packets counted as dropped before b may be its capture's own losses: the statistics of "+caps[1].Path+" and 1 more file say the capture lost 3 (interface 0, kernel 3)")
	for _, c := range res.Captures {
		if c.Hop == "b" {
			assert.Equal(t, base+2e8, c.StartNS)
			assert.Equal(t, base+5e9, c.EndNS)
			assert.Equal(t, []string{caps[2].Path}, c.AlsoFiles)
		}
	}
}
