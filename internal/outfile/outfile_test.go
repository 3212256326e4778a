package outfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestNewFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.txt")
	var notes []string
	require.NoError(t, Write(out, Options{Note: func(m string) { notes = append(notes, m) }}, text("hello")))
	assert.Equal(t, "hello", read(t, out))
	st, _ := os.Stat(out)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	assert.Empty(t, notes, "nothing replaced, nothing said")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left")
}

func TestKeepsModeAndSaysWhatItReplaced(t *testing.T) {
	out := filepath.Join(t.TempDir(), "secret.json")
	require.NoError(t, os.WriteFile(out, []byte("old content"), 0o600))
	require.NoError(t, os.Chmod(out, 0o600))
	var notes []string
	require.NoError(t, Write(out, Options{Note: func(m string) { notes = append(notes, m) }}, text("new")))
	assert.Equal(t, "new", read(t, out))
	st, _ := os.Stat(out)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "0600 stays 0600")
	require.Len(t, notes, 1)
	assert.Equal(t, "replaced "+out+" (11 bytes), mode 0600 kept", notes[0])
}

func TestRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "node-1", "eth0.pcap")
	require.NoError(t, os.MkdirAll(filepath.Dir(capture), 0o755))
	require.NoError(t, os.WriteFile(capture, []byte("capture bytes"), 0o644))
	link := filepath.Join(dir, "link.pcap")
	require.NoError(t, os.Symlink(capture, link))
	hard := filepath.Join(dir, "hard.pcap")
	require.NoError(t, os.Link(capture, hard))
	dotted := filepath.Join(dir, "node-1", "..", "node-1", "eth0.pcap")
	for _, out := range []string{capture, link, hard, dotted} {
		err := Write(out, Options{Inputs: []string{capture}}, text("report"))
		assert.ErrorIs(t, err, ErrInput, out)
		assert.Contains(t, err.Error(), out)
	}
	assert.Equal(t, "capture bytes", read(t, capture), "the input is untouched")
	entries, _ := os.ReadDir(filepath.Dir(capture))
	assert.Len(t, entries, 1, "no temporary file left")
}

func TestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	cases := map[string]string{dir: "a directory", fifo: "a FIFO"}
	if os.Geteuid() == 0 {
		dev := filepath.Join(dir, "zero")
		require.NoError(t, syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|5)) // like /dev/zero
		cases[dev] = "a character device"
		link := filepath.Join(dir, "devlink")
		require.NoError(t, os.Symlink(dev, link))
		cases[link] = "a character device"
	} else {
		t.Log("not root: no device node to test with")
	}
	for path, what := range cases {
		err := Write(path, Options{}, text("report"))
		require.ErrorIs(t, err, ErrNotRegular, path)
		assert.Contains(t, err.Error(), what)
	}
	st, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeNamedPipe, "the FIFO is still one")
}

func TestStdout(t *testing.T) {
	for _, path := range []string{"-", "/dev/stdout", "/proc/self/fd/1"} {
		var buf bytes.Buffer
		require.NoError(t, Write(path, Options{Stdout: &buf}, text("to stdout")), path)
		assert.Equal(t, "to stdout", buf.String(), path)
	}
	st, err := os.Lstat("/dev/stdout")
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink, "/dev/stdout is still a symbolic link")
}

func TestDevNull(t *testing.T) {
	require.NoError(t, Write(os.DevNull, Options{}, text("gone")))
	st, err := os.Stat(os.DevNull)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeCharDevice, "/dev/null is still a device")
}

func TestSymlinkWritesItsTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.html")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o640))
	require.NoError(t, os.Chmod(target, 0o640))
	link := filepath.Join(dir, "latest.html")
	require.NoError(t, os.Symlink("real.html", link))
	var notes []string
	require.NoError(t, Write(link, Options{Note: func(m string) { notes = append(notes, m) }}, text("new")))
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeSymlink, "the link stays a link")
	assert.Equal(t, "new", read(t, target))
	st, _ = os.Stat(target)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "through the symbolic link "+link)

	dangling := filepath.Join(dir, "dangling")
	require.NoError(t, os.Symlink("missing/x", dangling))
	assert.ErrorContains(t, Write(dangling, Options{}, text("x")), "does not resolve")
}

func TestHardLinksKept(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	require.NoError(t, os.WriteFile(a, []byte("old old"), 0o600))
	require.NoError(t, os.Link(a, b))
	var notes []string
	require.NoError(t, Write(a, Options{Note: func(m string) { notes = append(notes, m) }}, text("new")))
	assert.Equal(t, "new", read(t, a))
	assert.Equal(t, "new", read(t, b), "the other link sees the new content")
	sa, _ := os.Stat(a)
	sb, _ := os.Stat(b)
	assert.True(t, os.SameFile(sa, sb), "still one file")
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "written in place to keep its 2 hard links")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 2, "no temporary file left")
}

func TestFailedRenderLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r")
	require.NoError(t, os.WriteFile(out, []byte("old"), 0o644))
	err := Write(out, Options{}, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	})
	assert.EqualError(t, err, "boom")
	assert.Equal(t, "old", read(t, out))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
}
