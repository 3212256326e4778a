package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeStatsLoops runs decode --stats over the lab captures (Ethernet
// and SLL2 files, many capture points each) and the corpus, as counted
// without a filter (countFile, runs of one capture point at a time) and
// with a filter that matches every packet (writeFile, the writer called
// per packet): the tables, messages and exit codes must be the same, and
// the packets counted as many as decode -o text prints.
func TestDecodeStatsLoops(t *testing.T) {
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "..", "testdata", "captures"), func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			files = append(files, path)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, files, "no lab captures under testdata/captures")
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(corpusDir, pat))
		require.NoError(t, err)
		files = append(files, m...) // none when the corpus is missing
	}

	args := append([]string{"decode", "--stats"}, files...)
	code, out, errOut := hoptrace(t, args...)
	fcode, fout, ferrOut := hoptrace(t, append(args, "ip", "or", "not", "ip")...)
	assert.Equal(t, code, fcode)
	assert.Equal(t, errOut, ferrOut)
	assert.Equal(t, out, fout)

	rows := lines(t, out)
	require.Greater(t, len(rows), 30, "a table row per capture point (the scenarios share their names)")
	packets := 0
	for _, row := range rows[1:] {
		f := strings.Fields(row)
		n, err := strconv.Atoi(f[len(f)-4])
		require.NoError(t, err, row)
		packets += n
	}
	_, text, _ := hoptrace(t, append([]string{"decode"}, files...)...)
	assert.Equal(t, len(lines(t, text)), packets)
}
