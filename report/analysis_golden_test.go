package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/k8s"
)

var (
	update         = flag.Bool("update", false, "rewrite the golden files of testdata/ from the current output (review them before committing)")
	updateAnalysis = flag.Bool("update-analysis", false, "rewrite testdata/analysis/*.json, the renderers' inputs, from the lab captures (then review and refresh the goldens with -update)")
)

// goldenScenarios are lab captures with something to show: drops of
// unknown cause, a PMTUD black hole (mtu drops, blackhole, mss-too-large),
// a DF ping answered by frag-needed (a path that stops early), a Service
// DNAT with nothing wrong; and the bundled front-door incident
// (testdata/incidents), whose k8s/ folder names pods, services and nodes.
var goldenScenarios = []string{"drops", "pmtud-blackhole", "df-ping", "service-dnat", "front-door"}

// incidentScenarios are the golden scenarios read from testdata/incidents
// (with their Kubernetes names) rather than the lab's testdata/captures.
var incidentScenarios = map[string]bool{"front-door": true}

// fixture returns the committed analysis of a lab scenario
// (testdata/analysis/SCENARIO.json): the renderers' goldens are made from
// it, so a change of the analysis rewrites one input per scenario, not
// every renderer's golden. -update-analysis refreshes it from the captures.
func fixture(t *testing.T, scenario string) *analyze.Result {
	t.Helper()
	path := filepath.Join("testdata", "analysis", scenario+".json")
	if *updateAnalysis {
		res := labResult(t, scenario)
		b, err := json.MarshalIndent(res, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -update-analysis to create it, then review it")
	var res analyze.Result
	require.NoError(t, json.Unmarshal(b, &res))
	return &res
}

// goldenOptions are the options of the goldens: a fixed version, so a
// build's revision never shows in them.
var goldenOptions = AnalysisOptions{Version: "test"}

var (
	labMu      sync.Mutex
	labResults = map[string]*analyze.Result{}
)

// labResult analyses a committed lab capture, once per test binary.
func labResult(t *testing.T, scenario string) *analyze.Result {
	t.Helper()
	labMu.Lock()
	defer labMu.Unlock()
	if res, ok := labResults[scenario]; ok {
		return res
	}
	dir := filepath.Join("..", "testdata", "captures", scenario)
	if incidentScenarios[scenario] {
		dir = filepath.Join("..", "testdata", "incidents", scenario)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("lab capture %s: %v", scenario, err)
	}
	inc, err := incident.Open([]string{dir}, incident.Options{})
	require.NoError(t, err)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	res.Names = incidentNames(t, inc, res)
	labResults[scenario] = res
	return res
}

// incidentNames returns the Kubernetes names of an incident's k8s/ folder,
// its nodes matched by their addresses, as hoptrace analyze puts them in
// the analysis; nil without that folder.
func incidentNames(t *testing.T, inc *incident.Incident, res *analyze.Result) []analyze.Name {
	t.Helper()
	if len(inc.K8s) == 0 {
		return nil
	}
	cl := &k8s.Cluster{}
	for _, f := range inc.K8s {
		require.NoError(t, cl.Parse(f.Path, f.Data))
	}
	var nodes []k8s.CaptureNode
	for _, n := range inc.Nodes {
		nodes = append(nodes, k8s.CaptureNode{Name: n.Name, Addrs: n.Addrs()})
	}
	return cl.Names(nodes, res)
}

func render(t *testing.T, res *analyze.Result, format string, opt AnalysisOptions) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteAnalysisOptions(&buf, res, format, opt))
	return buf.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -update to create it, then review it")
	if got != string(want) {
		t.Errorf("%s differs from the output; if the change is right, run go test ./report -run %s -update and review the diff", path, t.Name())
		assert.Equal(t, string(want), got)
	}
}

func TestAnalysisGolden(t *testing.T) {
	for _, sc := range goldenScenarios {
		t.Run(sc, func(t *testing.T) {
			res := fixture(t, sc)
			for _, f := range []struct{ format, ext string }{{"table", "txt"}, {"json", "json"}, {"markdown", "md"}, {"html", "html"}} {
				got := render(t, res, f.format, goldenOptions)
				golden(t, sc+"."+f.ext, got)
				assert.Equal(t, got, render(t, res, f.format, goldenOptions), "%s output is not deterministic", f.format)
			}
			all := goldenOptions
			all.AllHops, all.Waterfalls = true, -1
			golden(t, sc+"-all.txt", render(t, res, "table", all))
		})
	}
}

// TestMarkdownTables checks every table row has as many cells as its
// header: an unescaped pipe in a cell would shift the columns.
func TestMarkdownTables(t *testing.T) {
	unescaped := regexp.MustCompile(`(^|[^\\])\|`)
	for _, sc := range goldenScenarios {
		md := render(t, fixture(t, sc), "markdown", AnalysisOptions{AllHops: true})
		cols := 0
		for _, line := range strings.Split(md, "\n") {
			if !strings.HasPrefix(line, "|") {
				cols = 0
				continue
			}
			n := len(unescaped.FindAllStringIndex(line, -1))
			if cols == 0 {
				cols = n
			}
			assert.Equal(t, cols, n, "%s: %q", sc, line)
		}
	}
	assert.Equal(t, `a \| b \*c\* \_d\_ \`+"`e\\`"+` &lt;f> g`, mdEscape("a | b *c* _d_ `e` <f>\ng"))
	assert.Equal(t, `TIME_WAIT \_x\_ a\_ `, mdEscape("TIME_WAIT _x_ a_ "))
}

// TestMarkdownVerdictFirst checks the verdict and its causes come before
// anything else and name what matters, with the next step.
func TestMarkdownVerdictFirst(t *testing.T) {
	res := fixture(t, "pmtud-blackhole")
	md := render(t, res, "markdown", AnalysisOptions{})
	first := res.Captures[0].FirstNS
	for _, c := range res.Captures {
		first = min(first, c.FirstNS)
	}
	summary, _, ok := strings.Cut(md, "\n### ")
	require.True(t, ok)
	for _, want := range []string{
		"**Verdict: 7 packets dropped",
		"1. **[bad]** 7 packets of 1 flow too big for the path vanished inside node-1 between n1-cni0 and n1-flannel.1",
		"2. **[bad]** PMTUD black hole at n1-flannel.1",
		"3. **[warn]** pod MTU 1500 > VXLAN MTU 1450 on this path: set the CNI MTU to 1450",
		"- next: let ICMP frag-needed",
		"node-2's clock agrees with node-1",
		"window: " + time.Unix(0, first).UTC().Format("2006-01-02 15:04:05.000"),
	} {
		assert.Contains(t, summary, want)
	}
}

// TestHTMLSelfContained checks the page loads nothing from anywhere.
func TestHTMLSelfContained(t *testing.T) {
	page := render(t, fixture(t, "drops"), "html", AnalysisOptions{})
	for _, bad := range []string{"<script", "<link", " src=", "@import", "<iframe"} {
		assert.NotContains(t, page, bad)
	}
	for _, m := range regexp.MustCompile(`https?://[^"' )]+`).FindAllString(page, -1) {
		assert.Equal(t, "http://www.w3.org/2000/svg", m, "external reference")
	}
	for _, m := range regexp.MustCompile(`url\([^)]*\)`).FindAllString(page, -1) {
		assert.True(t, strings.HasPrefix(m, "url(#"), "external url: %s", m)
	}
}

// TestTableColor checks colour only adds escape sequences around whole
// lines, and only when asked for.
func TestTableColor(t *testing.T) {
	res := fixture(t, "pmtud-blackhole")
	plain := render(t, res, "table", AnalysisOptions{})
	assert.NotContains(t, plain, "\x1b")
	colored := render(t, res, "table", AnalysisOptions{Color: true})
	assert.Contains(t, colored, ansiRed+"| n1-cni0 | n1-flannel.1 |")
	assert.Contains(t, colored, ansiBold+ansiRed+"verdict: 7 packets dropped")
	assert.Contains(t, colored, ansiRed+"  [bad] PMTUD black hole at n1-flannel.1")
	assert.Contains(t, colored, ansiYellow+"  [warn] pod MTU 1500 > VXLAN MTU 1450")
	assert.Equal(t, plain, regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, ""))
}

func TestChooseFlow(t *testing.T) {
	res := fixture(t, "drops")
	i, err := ChooseFlow(res, "")
	require.NoError(t, err)
	assert.Equal(t, analyze.ProtoUDP, res.Flows[i].Proto, "the UDP flow lost the most packets (the kernel's counters: 17 UDP, at most 3 per TCP connection)")
	assert.Empty(t, res.Flows[i].Tunnel)
	third := res.Flows[2] // a TCP connection: flow 3 of the table
	require.Equal(t, analyze.ProtoTCP, third.Proto)
	port := third.Orig.SPort
	for spec, want := range map[string]int{
		"3": 2,
		fmt.Sprintf("10.244.0.5:%d>10.244.1.5:8080", port):       2,
		fmt.Sprintf("tcp 10.244.0.5:%d > 10.244.1.5:8080", port): 2,
		fmt.Sprintf("10.244.1.5:8080>10.244.0.5:%d", port):       2, // the reply tuple
	} {
		got, err := ChooseFlow(res, spec)
		if assert.NoError(t, err, spec) {
			assert.Equal(t, want, got, spec)
		}
	}
	for spec, msg := range map[string]string{
		"0":                         "flows 1 to 11",
		"12":                        "flows 1 to 11",
		"10.244.0.5>10.244.1.5":     "matches 11 flows",
		"udp 10.244.0.5>10.244.1.5": "", // one UDP flow: fine
		"10.244.0.5:1>10.244.1.5:2": "no such flow",
		"192.168.1.10>192.168.1.11": "no such flow", // a tunnel carrier has no path to draw
		"10.244.0.5:49902":          "want an index",
		"nonsense>10.244.1.5:8080":  "not an address",
	} {
		_, err := ChooseFlow(res, spec)
		if msg == "" {
			assert.NoError(t, err, spec)
			continue
		}
		if assert.Error(t, err, spec) {
			assert.Contains(t, err.Error(), msg, spec)
		}
	}
}

// TestEmptyResult checks every format copes with an analysis that found
// nothing.
func TestEmptyResult(t *testing.T) {
	res := &analyze.Result{Schema: analyze.SchemaVersion}
	for _, f := range AnalysisFormats {
		out := render(t, res, f, AnalysisOptions{})
		assert.NotEmpty(t, out, f)
	}
	assert.Contains(t, render(t, res, "markdown", AnalysisOptions{}), "**Verdict: no drops, no MTU findings**\n\n- nothing to report")
	page := render(t, res, "html", AnalysisOptions{})
	assert.Contains(t, page, "Verdict: no drops, no MTU findings")
	assert.Contains(t, render(t, res, "json", AnalysisOptions{}), `"causes": []`)
	assert.NotContains(t, page, "<svg")
	_, err := ChooseFlow(res, "1")
	assert.Error(t, err)
}
