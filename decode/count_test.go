package decode_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

// pointCounts is the counts of a run of packets of one capture point.
type pointCounts struct {
	point string
	decode.Counts
}

// counted is what counting a file gives: its runs, merged where two in a
// row have the same name, and what the file says after it.
type counted struct {
	runs       []pointCounts
	end        string
	recoveries []string
	steps      []string
	nSteps     int
	offset     int64
}

func (c *counted) add(point string, n decode.Counts) {
	if k := len(c.runs) - 1; k >= 0 && c.runs[k].point == point {
		r := &c.runs[k]
		r.Packets, r.Malformed, r.Snapped, r.Tunneled = r.Packets+n.Packets, r.Malformed+n.Malformed, r.Snapped+n.Snapped, r.Tunneled+n.Tunneled
		return
	}
	c.runs = append(c.runs, pointCounts{point, n})
}

func (c *counted) finish(f *decode.File, end error) {
	c.end = end.Error()
	recs, _ := f.Recoveries()
	for _, r := range recs {
		c.recoveries = append(c.recoveries, f.Describe(r))
	}
	steps, n := f.ClockSteps()
	for _, s := range steps {
		c.steps = append(c.steps, f.DescribeStep(s))
	}
	c.nSteps, c.offset = n, f.Offset()
}

// countWith counts f with File.Count.
func countWith(d *decode.Decoder, f *decode.File) counted {
	var c counted
	end := f.Count(d, c.add)
	c.finish(f, end)
	return c
}

// countByDecoding counts f as decode --stats did before File.Count:
// every packet read by Next, decoded, and counted under its Point.
func countByDecoding(d *decode.Decoder, f *decode.File) counted {
	var (
		c   counted
		r   decode.Record
		end error
	)
	for {
		var (
			data []byte
			m    decode.Meta
		)
		if data, m, end = f.Next(); end != nil {
			break
		}
		d.Decode(&r, data, m)
		n := decode.Counts{Packets: 1}
		if r.NProblem > 0 {
			n.Malformed = 1
		}
		if r.Snapped {
			n.Snapped = 1
		}
		if r.NTunnel > 0 {
			n.Tunneled = 1
		}
		c.add(f.Point(&r), n)
	}
	c.finish(f, end)
	return c
}

// checkCount requires File.Count to count file as decoding every packet
// does, read from memory (where Count walks the records itself) and as a
// stream.
func checkCount(t *testing.T, d *decode.Decoder, name string, file []byte) {
	t.Helper()
	open := []func() (*decode.File, error){
		func() (*decode.File, error) { return decode.NewFileBytes(name, file) },
		func() (*decode.File, error) { return decode.NewFile(name, bytes.NewReader(file)) },
	}
	for i, open := range open {
		f, err := open()
		if err != nil {
			return
		}
		want := countByDecoding(d, f)
		f, _ = open()
		got := countWith(d, f)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s (%s): File.Count gives\n%+v\ndecoding every packet\n%+v", name, []string{"memory", "stream"}[i], got, want)
		}
	}
}

// TestCount holds File.Count to decoding every packet, on the lab
// captures and the corpus (mapped, in memory and as a stream) and on
// pcap files made to take every way out of Count's own walk: both byte
// orders and resolutions, snapped frames, a damaged record, a record
// claiming less on the wire than it holds, clock steps, a cut end, SLL2
// interface indexes.
func TestCount(t *testing.T) {
	d := decode.NewDecoder()
	var lab []string
	err := filepath.WalkDir(filepath.Join("..", "testdata", "captures"), func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (filepath.Ext(path) == ".pcap" || filepath.Ext(path) == ".pcapng") {
			lab = append(lab, path)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, lab, "no lab captures under testdata/captures")
	var frames []packet // the lab's first frames, for the files made here
	for _, path := range append(lab, corpusFiles(t)...) {
		file, err := os.ReadFile(path)
		require.NoError(t, err)
		checkCount(t, d, path, file)
		f, err := decode.Open(path) // mapped when large
		if err != nil {
			continue
		}
		want := countByDecoding(d, f)
		f.Close()
		f, _ = decode.Open(path)
		got := countWith(d, f)
		f.Close()
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(got), "%s opened", path)
		if filepath.Base(path) == "n1-eth0.pcap" || filepath.Base(path) == "n1-any.pcap" {
			f, _ = decode.Open(path)
			pkts, _ := readAll(t, f)
			f.Close()
			frames = append(frames, pkts[:min(len(pkts), 40)]...)
		}
	}
	require.NotEmpty(t, frames)

	// Ethernet frames (n1-eth0: plain and VXLAN) and SLL2 ones (n1-any:
	// several interface indexes), each set in a file of its own.
	var eth, sll2 []packet
	for _, p := range frames {
		switch p.m.Link {
		case decode.LinkEthernet:
			eth = append(eth, p)
		case decode.LinkSLL2:
			sll2 = append(sll2, p)
		}
	}
	require.NotEmpty(t, eth)
	require.NotEmpty(t, sll2)
	snapped := func(pkts []packet, snap int) []packet {
		var out []packet
		for _, p := range pkts {
			out = append(out, packet{p.data[:min(len(p.data), snap)], p.m})
		}
		return out
	}
	stepped := func(pkts []packet) []packet {
		out := append([]packet(nil), pkts...)
		for i := range out {
			switch {
			case i > len(out)/2:
				out[i].m.TS += int64(2 * time.Hour)
			case i > len(out)/4:
				out[i].m.TS -= int64(3 * time.Second)
			}
		}
		return out
	}
	// The lengths and offsets Count's own checks of the common shapes
	// look at, each off by a little, whole and snapped.
	var lengths []packet
	for _, p := range eth {
		if len(p.data) < 54 || p.data[12] != 0x08 || p.data[13] != 0 || p.data[14] != 0x45 {
			continue
		}
		for _, at := range []int{16, 38, 66} { // IPv4, UDP, inner IPv4 lengths
			for _, delta := range []int{-1, 1, 60} {
				if at+2 > len(p.data) {
					continue
				}
				q := bytes.Clone(p.data)
				binary.BigEndian.PutUint16(q[at:], uint16(int(binary.BigEndian.Uint16(q[at:]))+delta))
				lengths = append(lengths, packet{q, p.m}, packet{q, decode.Meta{TS: p.m.TS, WireLen: len(q) + 60, Link: p.m.Link}})
			}
		}
		for _, at := range []int{46, 96} { // TCP data offsets, plain and in VXLAN
			for _, doff := range []byte{0x60, 0x70, 0x90, 0x40} {
				if at < len(p.data) {
					q := bytes.Clone(p.data)
					q[at] = doff | q[at]&0x0f
					lengths = append(lengths, packet{q, p.m})
				}
			}
		}
	}
	require.NotEmpty(t, lengths)
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"lengths.pcap", pcapBytes(binary.LittleEndian, true, 1, lengths)},
		{"lengths-snap80.pcap", pcapBytes(binary.LittleEndian, true, 1, snapped(lengths, 80))},
		{"lengths-snap110.pcap", pcapBytes(binary.LittleEndian, true, 1, snapped(lengths, 110))},
		{"le-micro.pcap", pcapBytes(binary.LittleEndian, false, 1, eth)},
		{"be-nano.pcap", pcapBytes(binary.BigEndian, true, 1, eth)},
		{"sll2.pcap", pcapBytes(binary.LittleEndian, true, 276, sll2)},
		{"snap64.pcap", pcapBytes(binary.LittleEndian, true, 1, snapped(eth, 64))},
		{"snap40-sll2.pcap", pcapBytes(binary.BigEndian, false, 276, snapped(sll2, 40))},
		{"steps.pcap", pcapBytes(binary.LittleEndian, true, 1, stepped(eth))},
	} {
		checkCount(t, d, tc.name, tc.file)
		// Damage: a record longer than the limit, then one claiming
		// less on the wire than it holds, then a cut end.
		file := bytes.Clone(tc.file)
		bo := binary.ByteOrder(binary.LittleEndian)
		if tc.file[0] != 0xd4 && tc.file[0] != 0x4d {
			bo = binary.BigEndian
		}
		off, i := 24, 0
		for off+16 <= len(file) {
			n := int(bo.Uint32(file[off+8:]))
			switch i {
			case 5:
				bo.PutUint32(file[off+8:], 1<<30)
			case 9:
				bo.PutUint32(file[off+12:], uint32(n-1))
			}
			off, i = off+16+n, i+1
		}
		checkCount(t, d, "damaged-"+tc.name, file)
		checkCount(t, d, "cut-"+tc.name, file[:len(file)-7])
		checkCount(t, d, "cut-header-"+tc.name, append(bytes.Clone(tc.file), 1, 2, 3))
	}
}

// checkCountFrame checks what File.Count counts of one frame, in a pcap
// file of its own, against decoding it: Count takes the common frames
// itself, before classify.
func checkCountFrame(t *testing.T, d *decode.Decoder, frame []byte, m decode.Meta) {
	t.Helper()
	if m.WireLen < len(frame) || len(frame) > decode.DefaultMaxRecord {
		return
	}
	checkCount(t, d, "frame.pcap", pcapBytes(binary.LittleEndian, true, uint32(m.Link), []packet{{frame, m}}))
}
