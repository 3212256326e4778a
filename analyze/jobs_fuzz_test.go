package analyze_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/report"
)

// FuzzJobs holds the analysis the same whether the captures are read on
// the merging goroutine (Jobs 1) or by workers (Jobs 3, and Jobs 2 with
// the workers never started, the merging goroutine doing their work), on
// mutated captures: a two-node incident of two captures per node, in
// batches of 3 sightings, each reader forgetting its tuples every 5 it
// numbers, so that readers, merge and aggregation hand batches over for
// nearly every packet while damaged records, clock steps and truncations
// come through them. TestJobsSameOutput does the same on the committed
// captures; FuzzIncident (cmd/hoptrace) reads only with one job, as
// several make its coverage depend on scheduling.
//
//	go test -run '^$' -fuzz=FuzzJobs -fuzztime=10m ./analyze
//
// Seeds: each lab scenario's node eth0 and pod eth0 captures, cut to their
// first jobsSeedPackets packets.
func FuzzJobs(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "captures", "*"))
	for _, d := range dirs {
		var seed [][]byte
		for _, node := range []string{"node-1", "node-2"} {
			for _, pat := range []string{"n?-eth0.pcap", "pod?-eth0.pcap"} {
				m, _ := filepath.Glob(filepath.Join(d, node, pat))
				if len(m) == 0 {
					continue
				}
				b, err := os.ReadFile(m[0])
				require.NoError(f, err)
				if offs := pcapRecords(b); len(offs) > jobsSeedPackets {
					b = b[:offs[jobsSeedPackets]]
				}
				seed = append(seed, b)
			}
		}
		if len(seed) == 4 {
			f.Add(seed[0], seed[1], seed[2], seed[3])
		}
	}
	names := []string{"node-1/n1-eth0.pcap", "node-1/poda-eth0.pcap", "node-2/n2-eth0.pcap", "node-2/podc-eth0.pcap"}
	f.Fuzz(func(t *testing.T, n1a, n1b, n2a, n2b []byte) {
		stop := time.AfterFunc(time.Minute, func() { panic("FuzzJobs: no result after a minute") })
		defer stop.Stop()
		dir := t.TempDir()
		for i, b := range [][]byte{n1a, n1b, n2a, n2b} {
			path := filepath.Join(dir, names[i])
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, b, 0o644))
		}
		inc, err := incident.Open([]string{dir}, incident.Options{})
		if err != nil {
			return // no capture to analyse
		}
		defer analyze.SetBatchLen(3)()
		defer analyze.SetLocalTupleGen(5)()
		run := func(jobs int) string {
			var traces []*analyze.Trace
			res, err := analyze.Analyze(inc.Captures, analyze.Options{ClockSample: 20, Jobs: jobs,
				Trace: func(tr *analyze.Trace) { traces = append(traces, tr) }})
			if err != nil {
				return "error: " + err.Error()
			}
			var out bytes.Buffer
			require.NoError(t, report.WriteAnalysis(&out, res, "json"))
			for _, tr := range traces {
				fmt.Fprintf(&out, "%+v\n", *tr)
			}
			return out.String()
		}
		want := run(1)
		if got := run(3); got != want {
			t.Fatalf("3 jobs differ from 1:\n%s", firstDiff(want, got))
		}
		restore := analyze.SetIdleWorkers(true)
		defer restore()
		if got := run(2); got != want {
			t.Fatalf("2 jobs, the workers idle, differ from 1:\n%s", firstDiff(want, got))
		}
	})
}

// jobsSeedPackets is how many packets each FuzzJobs seed capture keeps:
// enough for a few connections across every hop, in batches of 3.
const jobsSeedPackets = 64

// firstDiff shows the first line where got differs from want.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\n want %s\n got  %s", i+1, w[i], g[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
