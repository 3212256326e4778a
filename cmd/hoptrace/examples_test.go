package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shellWords splits one example command line as a POSIX shell would for
// the forms examples use: single and double quotes, a trailing "# comment",
// "> FILE" redirection of standard output, and globs.
func shellWords(t *testing.T, line string) (args []string, stdout string) {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '#' && !inWord:
			i = len(line)
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	require.Zero(t, quote, "unbalanced quote in %q", line)
	if inWord {
		words = append(words, cur.String())
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == ">" && i+1 < len(words):
			stdout = words[i+1]
			i++
		case strings.ContainsAny(w, "*?["):
			m, err := filepath.Glob(w)
			require.NoError(t, err)
			require.NotEmpty(t, m, "glob %s matches nothing", w)
			args = append(args, m...)
		default:
			args = append(args, w)
		}
	}
	return args, stdout
}

// runExamples runs every "hoptrace ..." line of text from the repository
// root (in a scratch copy: testdata linked, outputs written there) and
// asserts it runs: exit 0, or 1 where the command's documented answer is
// 1 (check finding a regression). Exit 2 (unusable arguments or input)
// always fails.
func runExamples(t *testing.T, where, text string) int {
	t.Helper()
	ran := 0
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "hoptrace ") && !strings.HasPrefix(line, "./hoptrace ") {
			continue
		}
		args, redirect := shellWords(t, line)
		args = args[1:]
		code, stdout, stderr := hoptrace(t, args...)
		if redirect != "" {
			require.NoError(t, os.WriteFile(redirect, []byte(stdout), 0o644))
		}
		ok := code == exitOK || (code == exitRegression && args[0] == "check")
		assert.True(t, ok, "%s: %q exits %d: %s", where, line, code, stderr)
		ran++
	}
	return ran
}

// inRepoCopy makes the working directory a scratch directory that sees the
// repository's testdata and bench, so examples run as a user runs them from
// a checkout without writing into it.
func inRepoCopy(t *testing.T) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	for _, d := range []string{"testdata"} {
		require.NoError(t, os.Symlink(filepath.Join(root, d), filepath.Join(dir, d)))
	}
	t.Chdir(dir)
}

// TestHelpExamples runs the Example lines of every command's help as
// written.
func TestHelpExamples(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "testdata", "captures", "drops")); err != nil {
		t.Skip("no lab captures")
	}
	var cmds []*cobra.Command
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	inRepoCopy(t)
	ran := 0
	for _, c := range cmds {
		ran += runExamples(t, c.CommandPath()+" --help", c.Example)
	}
	assert.GreaterOrEqual(t, ran, 15, "examples run")
}

// TestREADMEExamples runs the hoptrace command lines of README.md's code
// blocks as written.
func TestREADMEExamples(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "testdata", "captures", "drops")); err != nil {
		t.Skip("no lab captures")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	// Indented code blocks and fenced ones; "go run ./cmd/hoptrace" is the
	// same command.
	var blocks []string
	fenced := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	for _, m := range fenced.FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "    ") {
			blocks = append(blocks, l)
		}
	}
	text := strings.ReplaceAll(strings.Join(blocks, "\n"), "go run ./cmd/hoptrace ", "hoptrace ")
	text = regexp.MustCompile(`(?m)^\s*(- )?run: `).ReplaceAllString(text, "")
	inRepoCopy(t)
	ran := runExamples(t, "README.md", text)
	assert.GreaterOrEqual(t, ran, 5, "README examples run")
}
