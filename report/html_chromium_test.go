package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/internal/labtruth"
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

// liveHTML analyses a lab scenario with a packet log, as analyze -o html
// does, and renders its page.
func liveHTML(t *testing.T, scenario string) (*analyze.Result, string) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "captures", scenario)
	if incidentScenarios[scenario] {
		dir = filepath.Join("..", "testdata", "incidents", scenario)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("lab capture %s: %v", scenario, err)
	}
	inc, err := incident.Open([]string{dir}, incident.Options{})
	require.NoError(t, err)
	log := NewPacketLog()
	res, err := analyze.Analyze(inc.Captures, analyze.Options{Trace: log.Add})
	require.NoError(t, err)
	res.Names = incidentNames(t, inc, res)
	return res, render(t, res, "html", AnalysisOptions{Version: "test", Packets: log})
}

// TestHTMLInChromium renders the HTML reports of lab captures in headless
// Chromium and checks the rendered DOM holds the verdict and its causes,
// one waterfall per path, the per-packet ladder with a cross per dropped
// packet, the drops strip and the highlighted rows. With
// HOPTRACE_SCREENSHOT=DIR it also saves a screenshot per scenario to look
// at.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	// The drops scenario's numbers are the kernel's: rule counters, the UDP
	// burst's source port, the pods' TCP retransmissions.
	drops := labtruth.Read(t, filepath.Join("..", "testdata", "captures", "drops"))
	dropped := drops.Dropped()
	burst := drops.FlowTuples["udp-burst"][0]
	dropRes, _ := liveHTML(t, "drops")
	dropFlows := map[analyze.TupleJSON]bool{}
	for _, d := range dropRes.Drops {
		dropFlows[d.Flow] = true
	}
	svc := labtruth.Read(t, filepath.Join("..", "testdata", "captures", "service-dnat")).FlowTuples["svc-req"][0] // front-door is made of service-dnat's captures
	for _, tc := range []struct {
		scenario string
		want     []string
		crosses  int // dropped packets of the ladder's flow
	}{
		{"drops", []string{
			fmt.Sprintf(`id="verdict">Verdict: %d packets dropped`, dropped),
			fmt.Sprintf("%d packets of %d flows vanished inside node-1 between n1-cni0 and n1-flannel.1 (a forwarding step)", dropped, len(dropFlows)),
			"iptables -L FORWARD -v -x",
			fmt.Sprintf("Ladder: udp 10.244.0.5:%d &gt; 10.244.1.5:9000", burst.Sport),
			fmt.Sprintf("✕ %d lost (unknown)", drops.DropsOf(t, "udp-burst")),
			fmt.Sprintf("dropped (%d, up to", dropped),
			fmt.Sprintf("retransmitted (%d,", drops.Retransmitted()),
		}, drops.DropsOf(t, "udp-burst")},
		{"pmtud-blackhole", []string{
			"Verdict: 7 packets dropped, 3 MTU/fragmentation findings",
			"PMTUD black hole at n1-flannel.1",
			"pod MTU 1500 &gt; VXLAN MTU 1450 on this path: set the CNI MTU to 1450",
			"✕ 7 lost (mtu)",
		}, 7},
		{"df-ping", []string{
			"Verdict: 1 packet dropped, 1 MTU/fragmentation finding",
			"ICMP frag-needed (MTU 1450) for 1 flow, seen at n1-cni0",
			"Ladder: icmp 10.244.0.5 &gt; 10.244.1.5 id ", // the refused ping's, the run's identifier
			"lost after this hop, never seen at n1-flannel.1 (mtu)",
		}, 1},
		{"service-dnat", []string{
			"Verdict: no drops, no MTU findings",
			"Service 10.96.0.10:80 → 10.244.1.5:8080 (DNAT on node-1, 3 connections)",
			"every packet drawn reached the end of its path",
		}, 0},
		{"front-door", []string{
			"Verdict: no drops, no MTU findings",
			"Service 10.96.0.10:80 (svc/default/web:80) → 10.244.1.5:8080 (default/web-7d9c8f6b5-k4m2p)",
			fmt.Sprintf("Ladder: tcp 10.244.0.5:%[1]d &gt; 10.96.0.10:80 (reply 10.244.1.5:8080 &gt; 10.244.0.5:%[1]d) · default/client-5d8c7b9f4-x2x7q &gt; svc/default/web:80 → default/web-7d9c8f6b5-k4m2p", svc.Sport),
			`>node-1 (worker-1)</text>`,
			"<th>orig</th><th>reply</th><th>names</th>",
			fmt.Sprintf("<td>10.244.0.5:%[1]d &gt; 10.96.0.10:80</td><td>10.244.1.5:8080 &gt; 10.244.0.5:%[1]d</td><td>default/client-5d8c7b9f4-x2x7q &gt; svc/default/web:80 → default/web-7d9c8f6b5-k4m2p</td>", svc.Sport),
			"&gt; 192.168.1.11:8472</td><td>192.168.1.11:8472 &gt; 192.168.1.10:", // a VXLAN carrier, named by its nodes
			"</td><td>worker-1 &gt; worker-2</td>",
		}, 0},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel() // each Chromium start takes seconds
			res, html := liveHTML(t, tc.scenario)
			page := filepath.Join(t.TempDir(), tc.scenario+".html")
			require.NoError(t, os.WriteFile(page, []byte(html), 0o644))
			dom := runChromium(t, bin, "--dump-dom", "file://"+page)

			for _, s := range tc.want {
				assert.Contains(t, dom, s)
			}
			m := BuildModel(res, AnalysisOptions{})
			assert.Equal(t, len(m.Waterfalls), strings.Count(dom, `<svg class="wf"`), "one waterfall per path shown")
			assert.Contains(t, dom, `<svg class="ladder pl" id="ladder-svg"`, "the per-packet ladder")
			assert.Equal(t, tc.crosses, strings.Count(dom, `<g class="dropmark">`), "a cross per dropped packet of the ladder's flow")
			assert.Equal(t, len(m.Verdict.Causes), strings.Count(dom, `<div class="cause `), "every cause")
			first := int64(0)
			for _, c := range res.Captures {
				if c.Packets > 0 && (first == 0 || c.FirstNS < first) {
					first = c.FirstNS
				}
			}
			assert.Contains(t, dom, "window: "+time.Unix(0, first).UTC().Format("2006-01-02 15:04"))
			assert.Contains(t, dom, "clock: node-2")
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
