package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
)

const realisticVXLAN = "../../testdata/captures/realistic-vxlan"

// pcapRecords returns the records of a little-endian pcap file, each with
// its 16-byte header (micro- or nanosecond).
func pcapRecords(t *testing.T, file []byte) [][]byte {
	t.Helper()
	magic := binary.LittleEndian.Uint32(file)
	require.True(t, magic == 0xa1b2c3d4 || magic == 0xa1b23c4d, "not a little-endian pcap")
	var recs [][]byte
	for off := 24; off+16 <= len(file); {
		end := off + 16 + int(binary.LittleEndian.Uint32(file[off+8:]))
		recs = append(recs, file[off:end])
		off = end
	}
	return recs
}

// splitPcap cuts a little-endian pcap file into n files at record
// boundaries, each with the file's header, as tcpdump -C starts a new
// file once one is full.
func splitPcap(t *testing.T, file []byte, n int) [][]byte {
	t.Helper()
	recs := pcapRecords(t, file)
	require.GreaterOrEqual(t, len(recs), n)
	var parts [][]byte
	for k := range n {
		part := append([]byte{}, file[:24]...)
		for _, r := range recs[k*len(recs)/n : (k+1)*len(recs)/n] {
			part = append(part, r...)
		}
		parts = append(parts, part)
	}
	return parts
}

// rotate replaces dir/node/file with n files named by name(k), k from 0.
func rotate(t *testing.T, dir, node, file string, n int, name func(k int) string) []string {
	t.Helper()
	path := filepath.Join(dir, node, file)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.Remove(path))
	var names []string
	for k, part := range splitPcap(t, b, n) {
		names = append(names, name(k))
		require.NoError(t, os.WriteFile(filepath.Join(dir, node, name(k)), part, 0o644))
	}
	return names
}

// analysisJSON runs analyze -o json on dir and returns its report with
// every capture file named by its stem (the capture point a file is) and
// without the lists of further files a capture point was read from, the
// warnings and the input notes, which name files.
func analysisJSON(t *testing.T, dir string) map[string]any {
	t.Helper()
	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &v))
	var norm func(x any) any
	norm = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			delete(x, "also_files")
			for k, e := range x {
				x[k] = norm(e)
			}
		case []any:
			for i, e := range x {
				x[i] = norm(e)
			}
		case string:
			if strings.HasPrefix(x, dir) {
				return decode.Stem(x)
			}
		}
		return x
	}
	// A node's captures that cover part of its window, each named by its
	// (first) file: "n2-any.pcap0 (and 2 more files) +5.89s–+11.9s".
	for _, c := range v["coverage"].([]any) {
		c := c.(map[string]any)
		if p, ok := c["partial"].([]any); ok {
			for i, s := range p {
				file, span, _ := strings.Cut(s.(string), " ")
				if more, rest, ok := strings.Cut(span, ") "); ok && strings.HasPrefix(more, "(and ") {
					span = rest
				}
				p[i] = decode.Stem(file) + " " + span
			}
		}
	}
	delete(v, "warnings")
	return norm(v).(map[string]any)
}

// TestRotatedCaptures: captures rotated as tcpdump -C, tcpdump -C -W,
// dumpcap's ring buffer and tcpdump -G name their files analyse as the
// whole captures do, on the realistic lab incident (IPv6 ND and MLD, ARP,
// background flows, loss away from node-1, an external host): one capture
// point per rotated capture, the same paths, drops, flows and latencies.
// Before, each file was a capture point of its own, and a packet that one
// file of a capture held counted as missed by the others.
func TestRotatedCaptures(t *testing.T) {
	want := analysisJSON(t, realisticVXLAN)

	dir := realisticCopy(t)
	tcpdumpC := rotate(t, dir, "node-1", "n1-eth0.pcap", 3, func(k int) string {
		if k == 0 {
			return "n1-eth0.pcap"
		}
		return "n1-eth0.pcap" + string(rune('0'+k))
	})
	tcpdumpW := rotate(t, dir, "node-2", "n2-any.pcap", 3, func(k int) string { return "n2-any.pcap" + string(rune('0'+k)) })
	dumpcap := rotate(t, dir, "node-2", "n2-cni0.pcap", 2, func(k int) string {
		return []string{"n2-cni0_00001_20261203152253.pcap", "n2-cni0_00002_20261203152254.pcap"}[k]
	})
	tcpdumpG := rotate(t, dir, "node-1", "poda-eth0.pcap", 2, func(k int) string {
		return []string{"poda-eth0-20261203-152253.pcap", "poda-eth0-20261203-152254.pcap"}[k]
	})
	// logrotate: the older file is .1. This capture is the same point as
	// interface 5 of the rotated -i any capture, as the data tells.
	logrotate := rotate(t, dir, "node-2", "n2-flannel.1.pcap", 2, func(k int) string {
		return []string{"n2-flannel.1.pcap.1", "n2-flannel.1.pcap"}[k]
	})

	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	for _, c := range []struct {
		node  string
		files []string
		point string
	}{{"node-1", tcpdumpC, "n1-eth0"}, {"node-2", tcpdumpW, "n2-any"}, {"node-2", dumpcap, "n2-cni0"}, {"node-1", tcpdumpG, "poda-eth0"}, {"node-2", logrotate, "n2-flannel.1"}} {
		assert.Contains(t, stderr, c.node+": "+strings.Join(c.files, ", ")+" are the files of one rotating capture, one after the other in time: one capture point, "+c.point)
	}
	assert.Contains(t, stderr, "node-2: n2-flannel.1.pcap.1, n2-flannel.1.pcap hold exactly the packets of interface 5 of n2-any.pcap0, n2-any.pcap1, n2-any.pcap2 at the same instants: one capture point, n2-flannel.1")
	assert.NotContains(t, stderr, "overlap in time")
	assert.Equal(t, want, analysisJSON(t, dir), "rotated files %v %v %v %v %v", tcpdumpC, tcpdumpW, dumpcap, tcpdumpG, logrotate)
}

// TestRotationNamesOverlapping: files named as one rotating capture's
// whose packets overlap in time are two captures (here node-1's eth0 and
// cni0 under the names tcpdump -C gives): each stays a capture point of
// its own, under its file's own name, and a note says why; the analysis
// finds the same drops as with the files' real names.
func TestRotationNamesOverlapping(t *testing.T) {
	want := analysisJSON(t, realisticVXLAN)

	dir := realisticCopy(t)
	n1 := filepath.Join(dir, "node-1")
	require.NoError(t, os.Rename(filepath.Join(n1, "n1-cni0.pcap"), filepath.Join(n1, "n1-eth0.pcap1")))

	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "node-1: n1-eth0.pcap, n1-eth0.pcap1 are named as the files of one rotating capture, but")
	assert.Contains(t, stderr, "overlap in time: each is a capture point of its own")
	got := analysisJSON(t, dir)

	packets := func(v map[string]any) map[string]float64 {
		m := map[string]float64{}
		for _, c := range v["captures"].([]any) {
			c := c.(map[string]any)
			m[c["hop"].(string)] = c["packets"].(float64)
		}
		return m
	}
	wantPackets := packets(want)
	wantPackets["n1-eth0.pcap1"] = wantPackets["n1-cni0"]
	delete(wantPackets, "n1-cni0")
	assert.Equal(t, wantPackets, packets(got))

	drops := func(v map[string]any, rename string) []string {
		var out []string
		for _, d := range v["drops"].([]any) {
			b, err := json.Marshal(d)
			require.NoError(t, err)
			out = append(out, strings.ReplaceAll(string(b), `"n1-cni0"`, rename))
		}
		slices.Sort(out)
		return out
	}
	assert.Equal(t, drops(want, `"n1-eth0.pcap1"`), drops(got, `"n1-eth0.pcap1"`))
	assert.Equal(t, want["verdict"].(map[string]any)["summary"], got["verdict"].(map[string]any)["summary"])
}

// TestRotationRestarted: a capture stopped and started again under a new
// date (tcpdump -G names, n1-eth0's middle third missing) is one capture
// point that did not run between its files. On the realistic incident,
// before: 33 packets "missed by the capture" at n1-eth0 and a false drop
// (9 where the kernel dropped 8); with the nodes' ip -j link saved, the -i
// any capture's packets of eth0 between the files were thrown away as if
// n1-eth0's file held them (64 packets fewer). Now, with the metadata,
// the -i any capture gives n1-eth0's packets between the files: the same
// packets at every hop, paths, drops and verdict as the whole capture's
// (latencies through n1-eth0 differ there by the -i any capture's own
// stamps: two sockets stamp one packet apart); without it, packets there
// are not judged at n1-eth0: the same drops and verdict.
func TestRotationRestarted(t *testing.T) {
	restart := func(t *testing.T, dir string) []string {
		path := filepath.Join(dir, "node-1", "n1-eth0.pcap")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.Remove(path))
		parts := splitPcap(t, b, 3)
		names := []string{"n1-eth0-20261203-152253.pcap", "n1-eth0-20261203-152300.pcap"}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", names[0]), parts[0], 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", names[1]), parts[2], 0o644))
		return names
	}
	withLinks := func(t *testing.T, dir string) {
		for _, n := range []string{"1", "2"} {
			b, err := os.ReadFile(filepath.Join(dir, "truth", "n"+n+"-ip-link.json"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "node-"+n, "ip-link.json"), b, 0o644))
		}
	}
	copyOf := func(t *testing.T) string {
		dir := realisticCopy(t)
		return dir
	}

	t.Run("with ip link", func(t *testing.T) {
		whole := copyOf(t)
		withLinks(t, whole)
		want := analysisJSON(t, whole)
		dir := copyOf(t)
		withLinks(t, dir)
		names := restart(t, dir)
		code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "node-1: "+strings.Join(names, ", ")+" are the files of one rotating capture")
		got := analysisJSON(t, dir)
		packets := func(v map[string]any) map[string]float64 {
			m := map[string]float64{}
			for _, c := range v["captures"].([]any) {
				c := c.(map[string]any)
				m[c["hop"].(string)] += c["packets"].(float64)
			}
			return m
		}
		assert.Equal(t, packets(want), packets(got))
		for _, k := range []string{"drops", "paths"} {
			assert.Equal(t, want[k], got[k], k)
		}
		assert.Equal(t, want["verdict"].(map[string]any)["summary"], got["verdict"].(map[string]any)["summary"])
	})
	t.Run("alone", func(t *testing.T) {
		want := analysisJSON(t, realisticVXLAN)
		dir := copyOf(t)
		restart(t, dir)
		got := analysisJSON(t, dir)
		assert.Equal(t, want["drops"], got["drops"])
		assert.Equal(t, want["verdict"].(map[string]any)["summary"], got["verdict"].(map[string]any)["summary"])
	})
}
