package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds a headless-capable Chromium (Debian's package is
// "chromium"), or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("chromium not installed (Debian: apt-get install chromium); the HTML report is not checked in a browser")
	return ""
}

// runChromium runs headless Chromium on a local file with a throwaway
// profile, no network services, and returns its stdout.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	return string(out)
}

// TestHTMLInChromium renders the HTML reports of lab captures in headless
// Chromium and checks the rendered DOM holds the verdict, the highlighted
// findings, the ladder with its drop marks and a latency chart per hop pair.
// With HOPTRACE_SCREENSHOT=DIR it also saves a screenshot per scenario to
// look at.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	for _, tc := range []struct {
		scenario string
		want     []string
	}{
		{"drops", []string{
			`id="verdict">Verdict: 33 packets dropped`,
			"33 packets vanished between n1-cni0 and n1-any:if6 (reason unknown) in 11 flows",
			`class="finding bad drop"`,
			"Ladder: udp 10.244.0.5:46063 &gt; 10.244.1.5:9000",
			"✕ 19 of 100 dropped (unknown)",
			`class="chart drops" id="lat-`,
		}},
		{"pmtud-blackhole", []string{
			"Verdict: 7 packets dropped, 3 MTU/fragmentation findings",
			`class="finding bad mtu"><span class="kind">blackhole</span>`,
			"✕ 7 of 11 dropped (mtu)",
			">blackhole (MTU 1450)</text>",
			">mss-too-large (MTU 1450)</text>",
		}},
		{"df-ping", []string{
			"Verdict: 1 packet dropped, 1 MTU/fragmentation finding",
			"1 packet vanished between n1-cni0 and n1-any:if6 (reason mtu)",
			`<span class="kind">frag-needed</span>`,
			"Ladder: icmp 10.244.0.5 &gt; 10.244.1.5 id 32277",
			"■ stopped: never seen after n1-cni0 (not at n1-any:if6)",
			">frag-needed (MTU 1450)</text>",
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel() // each Chromium start takes seconds
			res := labResult(t, tc.scenario)
			page := filepath.Join(t.TempDir(), tc.scenario+".html")
			require.NoError(t, os.WriteFile(page, []byte(render(t, res, "html", AnalysisOptions{})), 0o644))
			dom := runChromium(t, bin, "--dump-dom", "file://"+page)

			for _, s := range tc.want {
				assert.Contains(t, dom, s)
			}
			// The ladder and one chart per hop pair, each with its bars.
			assert.Contains(t, dom, `<svg class="ladder" id="ladder-svg"`)
			pairs := map[[2]string]bool{}
			for _, h := range res.Hops {
				pairs[[2]string{h.From, h.To}] = true
			}
			charts := regexp.MustCompile(`<svg class="latency" id="lat-(\d+)-svg"`).FindAllStringSubmatch(dom, -1)
			assert.Len(t, charts, len(pairs), "one latency chart per hop pair")
			for n := 1; n <= len(pairs); n++ {
				assert.Contains(t, dom, fmt.Sprintf(`id="lat-%d-svg"`, n))
			}
			for p := range pairs {
				assert.Contains(t, dom, fmt.Sprintf(`data-from="%s" data-to="%s"`, p[0], p[1]))
			}
			assert.Equal(t, len(res.Hops), strings.Count(dom, `<rect class="box"`), "one bar per hop pair and direction")
			// Every drop and every black hole is a highlighted table row.
			bad := 0
			for _, d := range res.Drops {
				if d.Reason != analyze.DropCaptureGap {
					bad++
				}
			}
			for _, m := range res.MTU {
				if mtuSeverity(m.Kind) == "bad" {
					bad++
				}
			}
			assert.Equal(t, bad, strings.Count(dom, `<tr class="bad">`), "highlighted rows")

			if dir := os.Getenv("HOPTRACE_SCREENSHOT"); dir != "" {
				shot, err := filepath.Abs(filepath.Join(dir, tc.scenario+".png"))
				require.NoError(t, err)
				runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,2000", "file://"+page)
				t.Logf("screenshot: %s", shot)
			}
		})
	}
}
