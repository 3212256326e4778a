package analyze_test

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
)

// pcapStamps calls fn with the time stamp (ns) of every record of a
// classic pcap file held in b, and lets it change the stamp in place.
func pcapStamps(t *testing.T, name string, b []byte, fn func(ts int64) int64) {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 24, name)
	var bo binary.ByteOrder
	nanos := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nanos = binary.BigEndian, true
	default:
		t.Fatalf("%s: not a classic pcap file", name)
	}
	unit := int64(time.Microsecond)
	if nanos {
		unit = 1
	}
	for off := 24; off+16 <= len(b); {
		sec, frac := int64(bo.Uint32(b[off:])), int64(bo.Uint32(b[off+4:]))
		ts := fn(sec*int64(time.Second) + frac*unit)
		bo.PutUint32(b[off:], uint32(ts/int64(time.Second)))
		bo.PutUint32(b[off+4:], uint32(ts%int64(time.Second)/unit))
		off += 16 + int(bo.Uint32(b[off+8:]))
	}
}

// pauseAndStep copies the incident in dir to a temporary directory with a
// pause of the whole incident's traffic inserted (every capture's packets
// after a quiet moment in its middle come pause later) and node's clock
// stepped by step during that pause (its packets after it are stamped step
// later still). offsets are the nodes' clocks minus the reference's, as an
// analysis of the incident found them. The committed captures are only
// read. It returns the copy.
func pauseAndStep(t *testing.T, dir string, offsets map[string]int64, node string, pause, step time.Duration) string {
	t.Helper()
	nodeOf := func(p string) string {
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		return strings.SplitN(rel, string(filepath.Separator), 2)[0]
	}
	// The quiet moment: the middle of the longest gap between two
	// consecutive packets of the whole incident (reference time), in its
	// middle half.
	var all []int64
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[p] = b
		if strings.HasSuffix(p, ".pcap") {
			off := offsets[nodeOf(p)]
			pcapStamps(t, p, slices.Clone(b), func(ts int64) int64 { all = append(all, ts-off); return ts })
		}
		return nil
	}))
	slices.Sort(all)
	var at, gap int64
	for i := len(all) / 4; i < len(all)*3/4; i++ {
		if all[i]-all[i-1] > gap {
			gap, at = all[i]-all[i-1], all[i-1]+(all[i]-all[i-1])/2
		}
	}
	require.NotZero(t, gap)
	out := t.TempDir()
	for p, b := range files {
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		dst := filepath.Join(out, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		if strings.HasSuffix(p, ".pcap") {
			b = slices.Clone(b)
			onNode, off := nodeOf(p) == node, offsets[nodeOf(p)]
			pcapStamps(t, p, b, func(ts int64) int64 {
				if ts-off > at {
					ts += int64(pause)
					if onNode {
						ts += int64(step)
					}
				}
				return ts
			})
		}
		require.NoError(t, os.WriteFile(dst, b, 0o644))
	}
	t.Logf("%v pause at %s (reference time), in a gap of %v", pause, time.Unix(0, at).UTC().Format(time.RFC3339Nano), time.Duration(gap))
	return out
}

// analyzeIncident analyses a lab incident with its nodes' interfaces named
// as the lab's ip -j link listed them (--ifname): a capture whose clock
// stepped by more than an hour is not taken for one interface of its
// node's -i any capture by its data alone.
func analyzeIncident(t *testing.T, dir string) *analyze.Result {
	t.Helper()
	var ifNames []string
	files, _ := filepath.Glob(filepath.Join(dir, "truth", "n*-ip-link.json"))
	for _, f := range files {
		prefix := strings.TrimSuffix(filepath.Base(f), "-ip-link.json")
		node := "node-" + strings.TrimPrefix(prefix, "n")
		if _, err := os.Stat(filepath.Join(dir, node)); err != nil {
			continue
		}
		var links []struct {
			Index int    `json:"ifindex"`
			Name  string `json:"ifname"`
		}
		readJSON(t, f, &links)
		for _, l := range links {
			ifNames = append(ifNames, fmt.Sprintf("%s:%d=%s-%s", node, l.Index, prefix, l.Name))
		}
	}
	inc, err := incident.Open([]string{dir}, incident.Options{IfNames: ifNames})
	require.NoError(t, err)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	return res
}

var stepWarning = regexp.MustCompile(`^capture (\S+): the clock stepped (back|forward) by (\S+) at offset (\d+) `)

// TestClockStepInPause: a node's clock steps while the incident is quiet
// (an NTP step, a VM resumed) by ±2 s, ±3 h or +5 years. The time stamps
// around it look like a pause (or, the larger ones, like a step of the
// file's own clock), and the node's sightings after it would no longer
// match the other nodes': before, ±2 s gave 22 false drops and no
// warning. The analysis reports the step in each of the node's captures
// that ran across it (file, offset, size) and in the node's clock, finds
// exactly the drops, paths, flows and hop latencies it finds without the
// step, and reports no step on the same incident without one. Two lab
// incidents: realistic-vxlan (IPv6 on, background traffic, three nodes)
// and drops (33 packets dropped by a rule, as the kernel counted them).
func TestClockStepInPause(t *testing.T) {
	for _, scenario := range []string{"realistic-vxlan", "drops"} {
		t.Run(scenario, func(t *testing.T) {
			src := filepath.Join("..", "testdata", "captures", scenario)
			if _, err := os.Stat(src); err != nil {
				t.Skipf("no %s lab captures: %v", scenario, err)
			}
			const pause = 5 * time.Second
			offsets := map[string]int64{}
			for _, c := range analyzeIncident(t, src).Clocks {
				offsets[c.Node] = c.OffsetNS
			}
			plain := analyzeIncident(t, pauseAndStep(t, src, offsets, "node-2", pause, 0))
			for _, w := range plain.Warnings {
				assert.NotContains(t, w, "clock stepped", "no step on the paused incident")
			}
			for _, c := range plain.Clocks {
				assert.Empty(t, c.Steps, "no step on the paused incident")
			}
			require.NotEmpty(t, plain.Paths)
			for _, step := range []time.Duration{300 * time.Millisecond, 2 * time.Second, -2 * time.Second, 3 * time.Hour, -3 * time.Hour, 5 * 365 * 24 * time.Hour} {
				t.Run(step.String(), func(t *testing.T) {
					res := analyzeIncident(t, pauseAndStep(t, src, offsets, "node-2", pause, step))
					checkStepped(t, res, "node-2", step)
					assert.Equal(t, plain.InputProblems+len(stepWarnings(res)), res.InputProblems)
					sameAnalysis(t, plain, res)
				})
			}
		})
	}
}

// stepWarnings returns the warnings that report a clock step.
func stepWarnings(res *analyze.Result) [][]string {
	var out [][]string
	for _, w := range res.Warnings {
		if m := stepWarning.FindStringSubmatch(w); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// checkStepped asserts that res reports node's clock step, and no other.
func checkStepped(t *testing.T, res *analyze.Result, node string, step time.Duration) {
	t.Helper()
	steps := stepWarnings(res)
	assert.NotEmpty(t, steps, "the step is reported:\n%s", strings.Join(res.Warnings, "\n"))
	for _, m := range steps {
		assert.Contains(t, m[1], node, m[0])
		assert.Equal(t, map[bool]string{true: "forward", false: "back"}[step > 0], m[2], m[0])
		size, err := time.ParseDuration(m[3])
		require.NoError(t, err, m[0])
		assert.InDelta(t, float64(step.Abs()), float64(size), float64(time.Millisecond), m[0])
	}
	n := 0
	for _, w := range res.Warnings {
		if strings.Contains(w, "clock stepped") {
			n++
		}
	}
	assert.Equal(t, len(steps), n, "every step warning names file and offset:\n%s", strings.Join(res.Warnings, "\n"))
	for _, c := range res.Clocks {
		if c.Node != node {
			assert.Empty(t, c.Steps, "%s's clock did not step", c.Node)
			continue
		}
		if assert.Len(t, c.Steps, 1, "%s's clock", node) {
			assert.InDelta(t, float64(step), float64(c.Steps[0].StepNS), float64(time.Millisecond))
			assert.Positive(t, c.Steps[0].Samples)
			assert.InDelta(t, float64(c.OffsetNS+int64(step)), float64(c.Steps[0].OffsetNS), float64(time.Millisecond))
		}
	}
}

// sameAnalysis asserts that got found the drops, paths, flows and hop
// latencies want found (latencies within 1 ms).
func sameAnalysis(t *testing.T, want, got *analyze.Result) {
	t.Helper()
	drops := func(r *analyze.Result) []string {
		var s []string
		for _, d := range r.Drops {
			s = append(s, fmt.Sprintf("%s %v %s>%s %s %d %s", d.Proto, d.Flow, d.From, d.To, d.Direction, d.Packets, d.Reason))
		}
		return s
	}
	assert.Equal(t, drops(want), drops(got), "drops")
	paths := func(r *analyze.Result) []string {
		var s []string
		for _, p := range r.Paths {
			s = append(s, fmt.Sprintf("%s %v %s %v %d", p.Proto, p.Flow, p.Direction, p.Hops, p.Packets))
		}
		return s
	}
	assert.Equal(t, paths(want), paths(got), "paths")
	flows := func(r *analyze.Result) []string {
		var s []string
		for _, f := range r.Flows {
			s = append(s, fmt.Sprintf("%s %v %v %d %d", f.Proto, f.Orig, f.Reply, f.Packets, len(f.NAT)))
		}
		return s
	}
	assert.Equal(t, flows(want), flows(got), "flows")
	require.Equal(t, len(want.Hops), len(got.Hops), "hop pairs")
	for i, w := range want.Hops {
		g := got.Hops[i]
		assert.Equal(t, fmt.Sprint(w.From, w.To, w.Direction, w.Packets, w.Negative), fmt.Sprint(g.From, g.To, g.Direction, g.Packets, g.Negative), "hop pair %d", i)
		assert.InDelta(t, w.P50NS, g.P50NS, float64(time.Millisecond), "%s > %s p50", w.From, w.To)
	}
	assert.Equal(t, len(want.Unjudged), len(got.Unjudged), "unjudged")
}
