package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/labtruth"
)

// labDir is a committed lab capture with drops.
func labDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "captures", "drops")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("lab capture: %v", err)
	}
	return dir
}

func TestOutFile(t *testing.T) {
	dir := labDir(t)
	tmp := t.TempDir()
	n := labtruth.Read(t, dir).Dropped() // the kernel's rule counters
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "-o", "html"}, "<!DOCTYPE html>"},
		{[]string{"analyze", "-o", "markdown"}, fmt.Sprintf("## hoptrace analysis\n\n**Verdict: %d packets dropped**", n)},
		{[]string{"analyze"}, fmt.Sprintf("verdict: %d packets dropped", n)},
		{[]string{"flows"}, "udp      17 30 src=10.244.0.5"},
	} {
		out := filepath.Join(tmp, "report")
		args := append(tc.args, "--out", out, dir)
		code, stdout, _ := hoptrace(t, args...)
		assert.Equal(t, 0, code, args)
		assert.Empty(t, stdout, "--out leaves stdout empty")
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Contains(t, string(got), tc.want, args)
		assert.NotContains(t, string(got), "\x1b", "no colour in a file")
	}
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left beside the report")
}

func TestOutFileFails(t *testing.T) {
	dir := labDir(t)
	missing := filepath.Join(t.TempDir(), "no-such-dir", "x.html")
	code, stdout, stderr := hoptrace(t, "analyze", "-o", "html", "--out", missing, dir)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "write output")

	// A failing renderer leaves neither the file nor a temporary file.
	tmp := t.TempDir()
	o := outputFlags{out: filepath.Join(tmp, "x")}
	err := o.write(&cobra.Command{}, nil, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	})
	assert.EqualError(t, err, "write output: boom")
	entries, _ := os.ReadDir(tmp)
	assert.Empty(t, entries)
}

func TestFlowFlag(t *testing.T) {
	dir := labDir(t)
	c := labtruth.Read(t, dir).FlowTuples["tcp-req"][3] // a connection the lab made
	tuple := fmt.Sprintf("tcp %s:%d > %s:%d", c.Src, c.Sport, c.Dst, c.Dport)
	code, stdout, _ := hoptrace(t, "analyze", "-o", "html", "--flow", tuple, dir)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "<h2>Ladder: "+strings.ReplaceAll(tuple, ">", "&gt;"))
	assert.Contains(t, stdout, "chosen with --flow")

	code, _, stderr := hoptrace(t, "analyze", "-o", "html", "--flow", "99", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--flow: flow 99: the flow table has flows 1 to 11")

	code, _, stderr = hoptrace(t, "analyze", "--flow", "1", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--flow chooses the ladder diagram of -o html")
}

func TestNoColorOffTerminal(t *testing.T) {
	var o outputFlags
	assert.False(t, o.color(&bytes.Buffer{}), "a buffer is no terminal")
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, o.color(f), "a file is no terminal")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "")
		t.Setenv("TERM", "xterm")
		assert.True(t, o.color(tty), "a terminal")
		o.noColor = true
		assert.False(t, o.color(tty), "--no-color")
	}
	code, stdout, _ := hoptrace(t, "analyze", "--no-color", labDir(t))
	assert.Equal(t, 0, code)
	assert.False(t, strings.Contains(stdout, "\x1b"))
}

// copyIncident copies the lab's drops incident into a fresh directory, so
// that a test may try to overwrite its captures.
func copyIncident(t *testing.T) string {
	t.Helper()
	src := labDir(t)
	dst := filepath.Join(t.TempDir(), "drops")
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

// TestOutputNeverReplacesAnInput is the audit's case: merge -o, analyze
// --out and check --update --baseline naming one of the incident's own
// captures (directly, through a symbolic link, or by a hard link) exit 2
// and leave it as it was.
func TestOutputNeverReplacesAnInput(t *testing.T) {
	dir := copyIncident(t)
	caps, err := filepath.Glob(filepath.Join(dir, "*", "*.pcap*"))
	require.NoError(t, err)
	require.NotEmpty(t, caps)
	victim := caps[0]
	before, err := os.ReadFile(victim)
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), "link.pcap")
	require.NoError(t, os.Symlink(victim, link))
	hard := filepath.Join(t.TempDir(), "hard.pcap")
	if err := os.Link(victim, hard); err != nil {
		hard = victim // another file system
	}
	for _, out := range []string{victim, link, hard} {
		for _, args := range [][]string{
			{"merge", "--out", out, dir},
			{"analyze", "--out", out, dir},
			{"flows", "--out", out, dir},
			{"check", "--update", "--baseline", out, dir},
		} {
			code, stdout, stderr := hoptrace(t, args...)
			assert.Equal(t, exitUsage, code, args)
			assert.Empty(t, stdout, args)
			assert.Contains(t, stderr, "one of the inputs", args)
			assert.Contains(t, stderr, out, args)
		}
	}
	after, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the capture is untouched")
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink)
}

func TestOutputSpecialFiles(t *testing.T) {
	dir := labDir(t)
	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", "--out", "-", dir)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"schema": "hoptrace.analysis/v2"`, "--out - is stdout")
	code, stdout, _ = hoptrace(t, "flows", "--out", "/dev/stdout", dir)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "src=10.244.0.5", "--out /dev/stdout is stdout, written through")

	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, out := range []string{fifo, t.TempDir()} {
		code, _, stderr = hoptrace(t, "analyze", "--out", out, dir)
		assert.Equal(t, exitUsage, code, out)
		assert.Contains(t, stderr, "not a regular file", out)
	}

	// An existing report keeps its mode, and the command says it replaced it.
	out := filepath.Join(t.TempDir(), "report.txt")
	require.NoError(t, os.WriteFile(out, []byte("old"), 0o600))
	code, _, stderr = hoptrace(t, "analyze", "--out", out, dir)
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "hoptrace: note: replaced "+out+" (3 bytes), mode 0600 kept")
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
