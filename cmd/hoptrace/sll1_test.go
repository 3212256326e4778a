package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toCookedV1 rewrites a little-endian Linux cooked v2 pcap as tcpdump
// before 4.99 writes an -i any capture: Linux cooked v1 (link type 113),
// whose 16-byte header keeps the packet type, ARPHRD type and link address
// and drops the interface index.
func toCookedV1(t *testing.T, file []byte) []byte {
	t.Helper()
	out := append([]byte{}, file[:24]...)
	require.Equal(t, uint32(276), binary.LittleEndian.Uint32(out[20:]), "not Linux cooked v2")
	binary.LittleEndian.PutUint32(out[20:], 113)
	for _, rec := range pcapRecords(t, file) {
		hdr, f := rec[:16], rec[16:]
		require.GreaterOrEqual(t, len(f), 20)
		var h [16]byte
		binary.BigEndian.PutUint16(h[0:], uint16(f[10])) // packet type
		copy(h[2:4], f[8:10])                            // ARPHRD type
		binary.BigEndian.PutUint16(h[4:], uint16(f[11])) // address length
		copy(h[6:14], f[12:20])                          // address
		copy(h[14:16], f[0:2])                           // protocol
		r := append([]byte{}, hdr...)
		binary.LittleEndian.PutUint32(r[8:], binary.LittleEndian.Uint32(hdr[8:])-4)
		binary.LittleEndian.PutUint32(r[12:], binary.LittleEndian.Uint32(hdr[12:])-4)
		out = append(append(append(out, r...), h[:]...), f[20:]...)
	}
	return out
}

// TestCookedV1AnyCaptures: the realistic incident's -i any captures as
// tcpdump 4.9 writes them (Linux cooked v1: no interface index; each
// packet once per interface it crossed). Read as capture points beside
// the per-interface captures they made 461 false drops; now they are left
// out with a note saying why: the analysis is the one of the incident
// without them. A node with nothing but such a capture keeps it, with an
// input problem saying its drops, retransmissions and clock cannot be
// trusted (exit 1), where it made 203 false drops in silence.
func TestCookedV1AnyCaptures(t *testing.T) {
	copyOf := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "realistic-vxlan")
		require.NoError(t, os.CopyFS(dir, os.DirFS(realisticVXLAN)))
		return dir
	}
	anys := []string{filepath.Join("node-1", "n1-any.pcap"), filepath.Join("node-2", "n2-any.pcap")}

	without := copyOf(t)
	for _, a := range anys {
		require.NoError(t, os.Remove(filepath.Join(without, a)))
	}
	want := analysisJSON(t, without)

	dir := copyOf(t)
	for _, a := range anys {
		p := filepath.Join(dir, a)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, toCookedV1(t, b), 0o644))
	}
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	for _, a := range anys {
		assert.Contains(t, stderr, filepath.Join(dir, a)+" is an -i any capture in Linux cooked v1 (tcpdump before 4.99)")
	}
	assert.Equal(t, want, analysisJSON(t, dir))

	// Nothing but the cooked v1 captures.
	alone := filepath.Join(t.TempDir(), "alone")
	for _, a := range anys {
		require.NoError(t, os.MkdirAll(filepath.Join(alone, filepath.Dir(a)), 0o755))
		b, err := os.ReadFile(filepath.Join(dir, a))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(alone, a), b, 0o644))
	}
	code, _, stderr = hoptrace(t, "analyze", alone)
	assert.Equal(t, 1, code, "input problems")
	for _, a := range anys {
		assert.Contains(t, stderr, filepath.Join(alone, a)+": an -i any capture in Linux cooked v1 (tcpdump before 4.99)")
	}
	assert.Contains(t, stderr, "drops, retransmissions and clock are unreliable")
}
