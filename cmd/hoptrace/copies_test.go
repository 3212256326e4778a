package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMergedInterfaces: node-1's per-interface captures merged into one
// pcap file, as mergecap writes pcap files (one interface description for
// them all): read as one capture point, each packet crossed it once per
// interface (the realistic incident: 525 false drops). The file is told
// by its copies and said to be such; the captures as taken are not.
func TestMergedInterfaces(t *testing.T) {
	const note = "seems to hold several interfaces' captures under one"
	_, _, stderr := hoptrace(t, "analyze", "-o", "json", realisticVXLAN)
	assert.NotContains(t, stderr, note)

	dir := realisticCopy(t)
	var header []byte
	var recs [][]byte
	for _, n := range []string{"n1-eth0", "n1-cni0", "n1-flannel.1", "n1-veth-pod-a", "n1-veth-pod-b", "n1-any"} {
		p := filepath.Join(dir, "node-1", n+".pcap")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.Remove(p))
		if n == "n1-any" {
			continue // the node's -i any capture is not in the merge
		}
		header = b[:24]
		recs = append(recs, pcapRecords(t, b)...)
	}
	ts := func(r []byte) uint64 {
		return uint64(binary.LittleEndian.Uint32(r))<<32 | uint64(binary.LittleEndian.Uint32(r[4:]))
	}
	slices.SortStableFunc(recs, func(a, b []byte) int {
		switch {
		case ts(a) < ts(b):
			return -1
		case ts(a) > ts(b):
			return 1
		}
		return 0
	})
	merged := slices.Clone(header)
	for _, r := range recs {
		merged = append(merged, r...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "n1.pcap"), merged, 0o644))
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, regexp.QuoteMeta(filepath.Join(dir, "node-1", "n1.pcap"))+`: \d+ of its first \d+ packets are in it again within a millisecond .*`+note, stderr)
	assert.Equal(t, 1, strings.Count(stderr, note), "node-2's captures are not merged")
}
