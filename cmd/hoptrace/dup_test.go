package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopiesReadOnce: a capture saved twice (a download kept as
// "n1-eth0 (1).pcap", a capture beside its gzip'd copy) is read once, on
// the realistic lab incident: the analysis is the one of the files
// without their copies, and a note names each copy. Read twice, the gzip'd
// copy made every packet cross n2-cni0 twice, and the renamed one a hop of
// its own.
func TestCopiesReadOnce(t *testing.T) {
	want := analysisJSON(t, realisticVXLAN)

	dir := realisticCopy(t)
	eth0, err := os.ReadFile(filepath.Join(dir, "node-1", "n1-eth0.pcap"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "n1-eth0 (1).pcap"), eth0, 0o644))
	cni0, err := os.ReadFile(filepath.Join(dir, "node-2", "n2-cni0.pcap"))
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err = zw.Write(cni0)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-2", "n2-cni0.pcap.gz"), gz.Bytes(), 0o644))

	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "node-1: n1-eth0 (1).pcap holds the same packets as n1-eth0.pcap at the same instants: a copy, read once")
	assert.Contains(t, stderr, "node-2: n2-cni0.pcap.gz holds the same packets as n2-cni0.pcap at the same instants: a copy, read once")
	assert.Equal(t, want, analysisJSON(t, dir))
}

// TestPartialCopyIsNoCopy: a capture holding the first half of another's
// packets (its first packets alike, the files not) is not a copy: both are
// read, as before.
func TestPartialCopyIsNoCopy(t *testing.T) {
	dir := realisticCopy(t)
	eth0, err := os.ReadFile(filepath.Join(dir, "node-1", "n1-eth0.pcap"))
	require.NoError(t, err)
	half := splitPcap(t, eth0, 2)[0]
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "n1-eth0-half.pcap"), half, 0o644))

	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "a copy, read once")
	assert.Contains(t, stdout, `"hop": "n1-eth0-half"`)
}

// TestSamePacketsTwoInterfaces: captures of two interfaces may hold the
// same packets at the same instants, byte for byte: nodeport-snat's
// n2-cni0.pcap and n2-veth-pod-c.pcap (a bridge and its only port; the
// kernel stamps each packet once for both) are identical files. Their
// names tell them apart: both are hops.
func TestSamePacketsTwoInterfaces(t *testing.T) {
	const dir = "../../testdata/captures/nodeport-snat"
	a, err := os.ReadFile(filepath.Join(dir, "node-2", "n2-cni0.pcap"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "node-2", "n2-veth-pod-c.pcap"))
	require.NoError(t, err)
	require.Equal(t, a, b, "the lab's two captures are no longer identical: this test lost its case")

	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "a copy, read once")
	assert.Contains(t, stdout, `"hop": "n2-cni0"`)
	assert.Contains(t, stdout, `"hop": "n2-veth-pod-c"`)
}
