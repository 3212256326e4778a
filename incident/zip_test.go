package incident

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// zipOf returns a zip archive of name, content pairs, deflated.
func zipOf(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: files[i], Method: zip.Deflate})
		require.NoError(t, err)
		_, err = w.Write([]byte(files[i+1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestZipArchives: a zip of an incident (what a ticket's attachment or a
// folder sent from a desktop is) opens as a tar of it does: node folders,
// Windows' backslashes as separators, a zip of one node's captures named
// after it, a zip inside a tar; members read in memory and analysed.
func TestZipArchives(t *testing.T) {
	a := readFile(t, filepath.Join(lab, "node-1", "poda-eth0.pcap"))
	b := readFile(t, filepath.Join(lab, "node-2", "podc-eth0.pcap"))
	dir := t.TempDir()
	whole := filepath.Join(dir, "incident.zip")
	require.NoError(t, os.WriteFile(whole, zipOf(t, "incident/node-1/poda-eth0.pcap", string(a), `incident\node-2\podc-eth0.pcap`, string(b), "incident/notes.txt", "hello"), 0o644))
	inc, err := Open([]string{whole}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems)
	assert.Equal(t, []string{"node-1", "node-2"}, nodesOf(inc.Captures))
	for _, c := range inc.Captures {
		assert.NotNil(t, c.Data, "archive members are read in memory")
		assert.Contains(t, c.Path, "incident.zip//incident/")
	}
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	assert.Len(t, res.Captures, 2)

	per := filepath.Join(dir, "per-node")
	require.NoError(t, os.Mkdir(per, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(per, "worker-1.zip"), zipOf(t, "poda-eth0.pcap", string(a)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(per, "worker-2.tar"), tarOf(t, false, "inner.zip", string(zipOf(t, "podc-eth0.pcap", string(b)))), 0o644))
	inc, err = Open([]string{per}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems)
	assert.Equal(t, []string{"worker-1", "worker-2"}, nodesOf(inc.Captures))
}

// TestZipHostile: a zip's members climbing out of it and encrypted ones
// are refused and reported; a member inflating beyond the size cap stops
// the archive with a message instead of being read whole, whatever its
// header says its size is.
func TestZipHostile(t *testing.T) {
	a := readFile(t, filepath.Join(lab, "node-1", "poda-eth0.pcap"))
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"../../escape.pcap", "/abs.pcap", "ok.pcap"} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write(a)
		require.NoError(t, err)
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "secret.pcap", Flags: 0x1})
	require.NoError(t, err)
	_, err = w.Write(a)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	p := filepath.Join(dir, "evil.zip")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	inc, err := Open([]string{p}, Options{})
	require.NoError(t, err)
	require.Len(t, inc.Captures, 1)
	assert.Equal(t, p+"//ok.pcap", inc.Captures[0].Path)
	require.Len(t, inc.Problems, 3)
	assert.Contains(t, inc.Problems[2], `member "secret.pcap" is encrypted; not read`)

	// A zip bomb: 64 MiB of zeros deflate to ~64 KB.
	bomb := filepath.Join(dir, "bomb.zip")
	require.NoError(t, os.WriteFile(bomb, zipOf(t, "big.pcap", string(make([]byte, 64<<20))), 0o644))
	_, err = Open([]string{bomb}, Options{Limits: Limits{MaxMemberBytes: 1 << 20}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `member "big.pcap" has more than 1048576 bytes`)
}
