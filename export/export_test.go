package export

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"node-1":        "node-1",
		"a/b":           "a%2Fb",
		"x=y z":         "x%3Dy%20z",
		"kind.local_01": "kind.local_01",
		"ü":             "%C3%BC",
	} {
		assert.Equal(t, want, escape(in), in)
	}
}

// readTable reads every row of a table's files under dir.
func readTable[T any](t *testing.T, dir string) (rows []T, files []string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	sort.Strings(files)
	for _, f := range files {
		r, err := parquet.ReadFile[T](f)
		require.NoError(t, err, f)
		rows = append(rows, r...)
	}
	return rows, files
}

func sighting(node, point string, ts int64, prev int) analyze.Sighting {
	return analyze.Sighting{Capture: analyze.Capture{Node: node, Path: node + "/" + point + ".pcap"}, Point: point, TS: ts, Prev: prev,
		IPLen: 84, TTL: 64, Tunnel: decode.TunnelNone}
}

// TestHopNamesSettledAtFinish: rows written before a second node showed
// the same capture point end up with the names analyze gives at the end,
// qualified by node, in sightings and packets alike.
func TestHopNamesSettledAtFinish(t *testing.T) {
	out := t.TempDir()
	w, err := New(out, "inc", nil, Options{})
	require.NoError(t, err)
	flow := analyze.TupleJSON{Src: "10.0.0.1", Dst: "10.0.0.2", SPort: 1, DPort: 2}
	t0 := time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC).UnixNano()
	w.Trace(&analyze.Trace{Flow: flow, Proto: analyze.ProtoUDP, Direction: analyze.DirOrig, Sightings: []analyze.Sighting{
		sighting("a", "cni0", t0, -1), sighting("a", "eth0", t0+10, 0)}})
	w.Trace(&analyze.Trace{Flow: flow, Proto: analyze.ProtoUDP, Direction: analyze.DirOrig, Sightings: []analyze.Sighting{
		sighting("a", "cni0", t0+100, -1), sighting("a", "eth0", t0+110, 0), sighting("b", "eth0", t0+150, 1)}})
	res := &analyze.Result{Captures: []analyze.CaptureSummary{
		{Hop: "cni0", Node: "a"}, {Hop: "a/eth0", Node: "a"}, {Hop: "b/eth0", Node: "b"}}}
	require.NoError(t, w.Finish(res))

	sights, _ := readTable[Sighting](t, filepath.Join(out, TableSightings))
	require.Len(t, sights, 5)
	var hops, pairs []string
	for _, s := range sights {
		hops = append(hops, s.Hop)
		if s.PrevHop != nil {
			pairs = append(pairs, fmt.Sprintf("%s>%s %d", *s.PrevHop, s.Hop, *s.SincePrevNS))
		} else {
			assert.Nil(t, s.SincePrevNS)
		}
	}
	assert.ElementsMatch(t, []string{"cni0", "a/eth0", "cni0", "a/eth0", "b/eth0"}, hops)
	assert.ElementsMatch(t, []string{"cni0>a/eth0 10", "cni0>a/eth0 10", "a/eth0>b/eth0 40"}, pairs)
	pkts, _ := readTable[Packet](t, filepath.Join(out, TablePackets))
	require.Len(t, pkts, 2)
	sort.Slice(pkts, func(i, j int) bool { return pkts[i].PacketID < pkts[j].PacketID })
	assert.Equal(t, []string{"cni0", "a/eth0"}, pkts[0].Path)
	assert.Equal(t, []string{"cni0", "a/eth0", "b/eth0"}, pkts[1].Path)
	assert.Equal(t, int64(50), pkts[1].SpanNS)
	assert.Equal(t, int32(3), pkts[1].Sightings)
	assert.Equal(t, "udp 10.0.0.1:1 > 10.0.0.2:2", pkts[1].Flow)
	assert.Nil(t, pkts[0].DropReason)
}

// TestPartitionsClosedBehindTheStream: a stream over many hours keeps
// only the partitions of the current and the previous hour open, and a
// late row opens a new file rather than reopening a written one.
func TestPartitionsClosedBehindTheStream(t *testing.T) {
	out := t.TempDir()
	w, err := New(out, "inc", nil, Options{})
	require.NoError(t, err)
	flow := analyze.TupleJSON{Src: "10.0.0.1", Dst: "10.0.0.2", SPort: 1, DPort: 2}
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano()
	maxOpen := 0
	for i := range 48 * 4 {
		ts := t0 + int64(i)*int64(15*time.Minute)
		w.Trace(&analyze.Trace{Flow: flow, Proto: analyze.ProtoUDP, Direction: analyze.DirOrig, Sightings: []analyze.Sighting{
			sighting("a", "eth0", ts, -1), sighting("b", "eth0", ts+1000, 0)}})
		maxOpen = max(maxOpen, len(w.sights.parts))
	}
	// A late packet of the first hour.
	w.Trace(&analyze.Trace{Flow: flow, Proto: analyze.ProtoUDP, Direction: analyze.DirOrig, Sightings: []analyze.Sighting{sighting("a", "eth0", t0+5, -1)}})
	assert.LessOrEqual(t, maxOpen, 2*2, "open partitions: nodes x (this hour and the previous)")
	require.NoError(t, w.Finish(&analyze.Result{}))
	sights, files := readTable[Sighting](t, filepath.Join(out, TableSightings))
	assert.Len(t, sights, 48*4*2+1)
	assert.Len(t, files, 48*2+1)
	assert.FileExists(t, filepath.Join(out, TableSightings, "incident=inc", "node=a", "hour=2026-11-22T00", "part-00001.parquet"))
	pkts, pfiles := readTable[Packet](t, filepath.Join(out, TablePackets))
	assert.Len(t, pkts, 48*4+1)
	assert.Len(t, pfiles, 48+1)
}
