package merge_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/merge"
)

// TestMergeIncidents: a merged incident has one interface per hop and each
// packet once, as the analysis counted them: an interface captured both by
// -i any and on its own is written once, and an Inspektor Gadget file's
// nodes are each written once.
func TestMergeIncidents(t *testing.T) {
	for _, dir := range []string{"front-door", "gadget", "retina"} {
		inc, err := incident.Open([]string{filepath.Join("..", "testdata", "incidents", dir)}, incident.Options{})
		require.NoError(t, err)
		res, err := analyze.Analyze(inc.Captures, analyze.Options{})
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, merge.Write(&buf, inc.Captures, res.Clocks, &merge.Notes{}, nil))
		f, err := decode.NewFileBytes(dir, buf.Bytes())
		require.NoError(t, err)
		n := 0
		for {
			if _, _, err := f.Next(); err != nil {
				break
			}
			n++
		}
		want := 0
		for _, c := range res.Captures {
			want += c.Packets
		}
		assert.Equal(t, want, n, dir)
		assert.Len(t, f.Interfaces(), len(res.Captures), dir)
	}
}

// TestMergeSkipsUnreadable: a capture the analysis cannot open (a pcapng
// section header cut short) is an input problem there, and the merge
// writes the other captures' packets, as the analysis counted them,
// instead of failing whole (FuzzIncident found merge exiting 2 where
// analyze exits 1 with partial results).
func TestMergeSkipsUnreadable(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "testdata", "captures", "cross-vxlan", "node-1", "poda-eth0.pcap"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "node-1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "a.pcap"), good, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "b.pcap"), []byte("\n\r\r\n`\x00\x00\x00M<+\x1a"), 0o644))
	inc, err := incident.Open([]string{dir}, incident.Options{})
	require.NoError(t, err)
	require.Len(t, inc.Captures, 2)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	require.Equal(t, 1, res.InputProblems, "the cut capture is an input problem of the analysis")
	var buf bytes.Buffer
	require.NoError(t, merge.Write(&buf, inc.Captures, res.Clocks, &merge.Notes{}, nil))
	f, err := decode.NewFileBytes("merged", buf.Bytes())
	require.NoError(t, err)
	n := 0
	for {
		if _, _, err := f.Next(); err != nil {
			break
		}
		n++
	}
	want := 0
	for _, c := range res.Captures {
		want += c.Packets
	}
	assert.Positive(t, want)
	assert.Equal(t, want, n, "the merged file holds the packets the analysis read")
	assert.Len(t, f.Interfaces(), 1)
}

// TestMergeWireShorterThanCaptured: a pcapng packet block claiming fewer
// bytes on the wire (40) than it holds (60) is merged with the wire length
// taken as the captured one, not refused whole by the pcapng writer
// (FuzzIncident found merge exiting 2 on it where analyze exits 0 or 1).
func TestMergeWireShorterThanCaptured(t *testing.T) {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0x0a0d0d0a)
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, 0x1a2b3c4d)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0))
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, 1) // interface description: Ethernet
	b = le.AppendUint32(b, 20)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 20)
	frame := make([]byte, 60)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06})
	b = le.AppendUint32(b, 6) // enhanced packet block
	b = le.AppendUint32(b, 92)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0x0005_0000)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 60) // captured
	b = le.AppendUint32(b, 40) // on the wire
	b = append(b, frame...)
	b = le.AppendUint32(b, 92)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "node-1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "eth0.pcapng"), b, 0o644))
	inc, err := incident.Open([]string{dir}, incident.Options{})
	require.NoError(t, err)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, merge.Write(&buf, inc.Captures, res.Clocks, &merge.Notes{}, nil))
	f, err := decode.NewFileBytes("merged", buf.Bytes())
	require.NoError(t, err)
	data, meta, err := f.Next()
	require.NoError(t, err)
	assert.Equal(t, frame, data)
	assert.Equal(t, 60, meta.WireLen)
}
