package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snapPcap cuts every record of a little-endian pcap to n bytes, as
// tcpdump -s n writes them (the header's snap length n, each record's
// original length kept).
func snapPcap(t *testing.T, file []byte, n int) []byte {
	t.Helper()
	out := append([]byte{}, file[:24]...)
	binary.LittleEndian.PutUint32(out[16:], uint32(n))
	for _, rec := range pcapRecords(t, file) {
		r := append([]byte{}, rec[:16]...)
		data := rec[16:]
		if len(data) > n {
			data = data[:n]
		}
		binary.LittleEndian.PutUint32(r[8:], uint32(len(data)))
		out = append(append(out, r...), data...)
	}
	return out
}

// TestSnapLength128: node-2 of the realistic incident captured with
// tcpdump -s 128, a header-only capture. Its -i any capture cuts IPv6
// inside VXLAN 18 bytes into the TCP header (20 Linux cooked v2, 20 IPv4,
// 8 UDP, 8 VXLAN, 14 Ethernet, 40 IPv6): the decoder kept the sequence
// numbers and flags of such a header but not its window and payload
// length, so the analysis keyed those segments otherwise than at node-2's
// other hops: 30 false drops (38 where the kernel dropped 8). Now it keeps
// what tshark keeps: the same drops and verdict as the whole capture.
func TestSnapLength128(t *testing.T) {
	want := analysisJSON(t, realisticVXLAN)
	dir := filepath.Join(t.TempDir(), "realistic-vxlan")
	require.NoError(t, os.CopyFS(dir, os.DirFS(realisticVXLAN)))
	files, err := filepath.Glob(filepath.Join(dir, "node-2", "*.pcap"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(f, snapPcap(t, b, 128), 0o644))
	}
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "snap length 128 bytes is too short for the inner headers of tunnelled packets")
	got := analysisJSON(t, dir)
	assert.Equal(t, want["drops"], got["drops"])
	assert.Equal(t, want["verdict"].(map[string]any)["summary"], got["verdict"].(map[string]any)["summary"])
}
