package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/labtruth"
)

// junitDoc is JUnit XML as a reader of it sees it.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Class   string `xml:"classname,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestCheckJUnit: check --junit writes a test case per tolerance, per flow
// and per hop pair; the cases of what regressed fail with the diff, the
// counts add up, and the exit code is check's own.
func TestCheckJUnit(t *testing.T) {
	base := writeBaseline(t, crossVXLAN)
	out := filepath.Join(t.TempDir(), "check.xml")
	code, stdout, stderr := hoptrace(t, "check", "--baseline", base, "--junit", out, dropsDir)
	require.Equal(t, exitRegression, code, stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var doc junitDoc
	require.NoError(t, xml.Unmarshal(b, &doc))
	require.Len(t, doc.Suites, 3)
	assert.Equal(t, []string{"tolerances", "flows", "hop pairs"}, []string{doc.Suites[0].Name, doc.Suites[1].Name, doc.Suites[2].Name})

	tests, failures := 0, 0
	failed := map[string]string{}
	for _, s := range doc.Suites {
		assert.Equal(t, len(s.Cases), s.Tests, s.Name)
		f := 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
				failed[c.Name] = c.Failure.Text
			}
		}
		assert.Equal(t, f, s.Failures, s.Name)
		tests += s.Tests
		failures += s.Failures
	}
	assert.Equal(t, tests, doc.Tests)
	assert.Equal(t, failures, doc.Failures)
	assert.Len(t, doc.Suites[0].Cases, 7, "one case per tolerance")

	// What the text report calls regressions fail, with the diff.
	truth := labtruth.Read(t, dropsDir)
	assert.Contains(t, failed["drops (--allow-new-drops 0)"], fmt.Sprintf("udp 10.244.0.5 > 10.244.1.5:9000 orig n1-cni0 > n1-flannel.1 unknown  none    %d packets", truth.DropsOf(t, "udp-burst")))
	assert.Contains(t, failed["flows (--allow-flow-changes off)"], "udp 10.244.0.5 > 10.244.1.5:53")
	assert.Contains(t, failed["udp 10.244.0.5 > 10.244.1.5:9000"], "none")
	assert.Contains(t, failed["tcp 10.244.0.5 > 10.244.1.5:8080"], fmt.Sprintf("%d packets", truth.DropsOf(t, "tcp-req")))
	assert.NotContains(t, failed, "input problems (never more than the baseline's)")
	// Every regression line of the text report is in some failing case.
	regs := stdout[:strings.Index(stdout, "TOLERATED")]
	for _, l := range lines(t, regs)[2:] {
		if f := strings.Fields(l); len(f) > 1 {
			subject := strings.Join(f[1:4], " ")
			found := false
			for _, text := range failed {
				found = found || strings.Contains(text, subject)
			}
			assert.True(t, found, "regression %q in no failing case", l)
		}
	}

	// A JUnit reader outside Go, when one is installed: junit2json (npm),
	// found through NODE_PATH.
	node, err := exec.LookPath("node")
	if err != nil || os.Getenv("NODE_PATH") == "" {
		t.Log("node or NODE_PATH (with junit2json) not available: the XML was checked with encoding/xml only")
		return
	}
	script := `const {parse}=require('junit2json');const fs=require('fs');
parse(fs.readFileSync(process.argv[1],'utf8')).then(r=>{console.log(JSON.stringify({tests:r.tests,failures:r.failures,suites:r.testsuite.length}))}).catch(e=>{console.error(e);process.exit(3)})`
	cmd := exec.Command(node, "-e", script, out)
	got, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "Cannot find module") {
		t.Log("junit2json not installed under NODE_PATH: the XML was checked with encoding/xml only")
		return
	}
	require.NoError(t, err)
	assert.JSONEq(t, `{"tests":`+itoa(tests)+`,"failures":`+itoa(failures)+`,"suites":3}`, string(got))
}

func itoa(n int) string { return strconv.Itoa(n) }
