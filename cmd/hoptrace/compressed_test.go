package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressWith compresses b as ext (".zst", ".lz4", ".gz") says.
func compressWith(t *testing.T, ext string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch ext {
	case ".zst":
		zw, err := zstd.NewWriter(&buf)
		require.NoError(t, err)
		w = zw
	case ".lz4":
		w = lz4.NewWriter(&buf)
	case ".gz":
		w = gzip.NewWriter(&buf)
	default:
		t.Fatalf("no compressor for %s", ext)
	}
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// TestCompressedCaptures: the realistic lab incident with every capture
// compressed as users keep them (zstd, `tcpdump -w - | zstd`, which
// Wireshark reads as it is; lz4; gzip), node-2 packed as a zstd-compressed
// tar, and a zstd'd copy of a capture beside it analyses as the plain
// incident: the same capture points, paths, drops, flows and latencies.
// Before, a zstd or lz4 capture was an input problem ("decompress it
// first") and its hop was missing from the analysis.
func TestCompressedCaptures(t *testing.T) {
	want := analysisJSON(t, realisticVXLAN)

	dir := realisticCopy(t)
	exts := []string{".zst", ".lz4", ".gz"}
	n := 0
	var node2 []string
	var eth0Ext string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".pcap") {
			return err
		}
		if strings.Contains(p, string(filepath.Separator)+"node-2"+string(filepath.Separator)) {
			node2 = append(node2, p)
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		ext := exts[n%len(exts)]
		n++
		require.NoError(t, os.WriteFile(p+ext, compressWith(t, ext, b), 0o644))
		if filepath.Base(p) == "n1-eth0.pcap" {
			eth0Ext = ext
			return nil // kept beside its compressed copy
		}
		return os.Remove(p)
	}))
	require.NotEmpty(t, node2)

	// node-2's captures in node-2.tar.zst, in place of its folder.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, p := range node2 {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: filepath.Base(p), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}))
		_, err = tw.Write(b)
		require.NoError(t, err)
		require.NoError(t, os.Remove(p))
	}
	require.NoError(t, tw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-2.tar.zst"), compressWith(t, ".zst", tb.Bytes()), 0o644))
	rest, err := os.ReadDir(filepath.Join(dir, "node-2"))
	require.NoError(t, err)
	if len(rest) == 0 {
		require.NoError(t, os.Remove(filepath.Join(dir, "node-2")))
	}

	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "does not read")
	assert.Contains(t, stderr, "node-1: n1-eth0.pcap"+eth0Ext+" holds the same packets as n1-eth0.pcap at the same instants: a copy, read once")
	assert.Equal(t, want, analysisJSON(t, dir))
}
