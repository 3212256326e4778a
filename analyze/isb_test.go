package analyze_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
)

// A capture whose pcapng statistics say when it started and stopped covers
// that span for its hop, whatever its node's other captures say. The
// captures in testdata/captures/isb-* were written by dumpcap in network
// namespaces (testdata/lab/isb.sh): a client (node-1) sends 15 UDP
// datagrams through a router to a server (node-2).

// isbCase analyses testdata/captures/isb-NAME, with its files' statistics
// blocks or without them (the same files, the blocks cut out).
func isbCase(t *testing.T, name string, stats bool) *analyze.Result {
	t.Helper()
	src := filepath.Join("..", "testdata", "captures", "isb-"+name)
	dir := src
	if !stats {
		dir = t.TempDir()
		for _, node := range []string{"node-1", "node-2"} {
			files, _ := filepath.Glob(filepath.Join(src, node, "*"))
			require.NotEmpty(t, files)
			require.NoError(t, os.MkdirAll(filepath.Join(dir, node), 0o755))
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				if strings.HasSuffix(f, ".pcapng") {
					b = withoutStats(t, b)
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, node, filepath.Base(f)), b, 0o644))
			}
		}
	}
	inc, err := incident.Open([]string{dir}, incident.Options{})
	require.NoError(t, err)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "warnings: %v", res.Warnings)
	return res
}

// withoutStats returns a little-endian pcapng file without its interface
// statistics blocks.
func withoutStats(t *testing.T, b []byte) []byte {
	t.Helper()
	var out []byte
	cut := 0
	for len(b) >= 12 {
		n := int(binary.LittleEndian.Uint32(b[4:]))
		require.True(t, n >= 12 && n <= len(b), "block length %d", n)
		if binary.LittleEndian.Uint32(b) != 5 {
			out = append(out, b[:n]...)
		} else {
			cut++
		}
		b = b[n:]
	}
	require.Positive(t, cut, "the file has statistics blocks")
	return out
}

// truthInt reads a number the lab wrote to a truth file.
func truthInt(t *testing.T, name, file string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "captures", "isb-"+name, "truth", file))
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return n
}

// ruleDrops reads the packet counter of the router's drop rule.
func ruleDrops(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "captures", "isb-"+name, "truth", "r-iptables-save.txt"))
	require.NoError(t, err)
	m := regexp.MustCompile(`\[(\d+):\d+\] -A FORWARD .* -j DROP`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func udpFlow(f analyze.TupleJSON) bool { return f.Src == "10.99.0.2" && f.DPort == 9000 }

// quiet-end: the router dropped the last 5 datagrams (its rule's counter);
// the server's capture saw none of them but ran on for 1.5 s, as its
// statistics say. They are drops between the two captures; without the
// statistics the capture ends at its last packet and they are unjudged.
func TestCaptureStatsQuietEnd(t *testing.T) {
	dropped := ruleDrops(t, "quiet-end")
	require.Equal(t, 5, dropped, "the router's rule counter")
	require.Equal(t, 10, truthInt(t, "quiet-end", "server-udp-indatagrams.txt"))

	res := isbCase(t, "quiet-end", true)
	require.Len(t, res.Drops, 1, "drops: %+v", res.Drops)
	d := res.Drops[0]
	assert.True(t, udpFlow(d.Flow), "%+v", d)
	assert.Equal(t, dropped, d.Packets)
	assert.Equal(t, "node-1/eth0", d.From)
	assert.Equal(t, "node-2/eth0", d.To)
	assert.Empty(t, res.Unjudged)
	for _, c := range res.Captures {
		assert.NotZero(t, c.StartNS, "%s: start from the file's statistics", c.Hop)
		assert.Less(t, c.StartNS, c.FirstNS, c.Hop)
		assert.Greater(t, c.EndNS, c.LastNS, c.Hop)
	}

	res = isbCase(t, "quiet-end", false)
	assert.Empty(t, res.Drops, "without statistics the server's capture ends at its last packet")
	require.Len(t, res.Unjudged, 1)
	assert.Equal(t, dropped, res.Unjudged[0].Packets)
}

// stopped-early: nothing was dropped (the server received all 15), but
// the server's eth0 capture was stopped after the first 10 while node-2's
// capture on lo ran on. The 5 later datagrams are unjudged, never drops;
// without the statistics the node's window would call them drops.
func TestCaptureStatsStoppedEarly(t *testing.T) {
	require.Equal(t, 0, ruleDrops(t, "stopped-early"))
	require.Equal(t, 15, truthInt(t, "stopped-early", "server-udp-indatagrams.txt"))

	res := isbCase(t, "stopped-early", true)
	assert.Empty(t, res.Drops, "no drop where the capture had stopped")
	require.Len(t, res.Unjudged, 1, "%+v", res.Unjudged)
	u := res.Unjudged[0]
	assert.True(t, udpFlow(u.Flow), "%+v", u)
	assert.Equal(t, 5, u.Packets)
	assert.Equal(t, "node-2/eth0", u.To)

	res = isbCase(t, "stopped-early", false)
	require.Len(t, res.Drops, 1, "the node's window alone: the false drop the statistics prevent")
	assert.Equal(t, 5, res.Drops[0].Packets)
}
