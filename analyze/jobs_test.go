package analyze_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/report"
)

// TestJobsSameOutput checks that the analysis is the same, byte for byte
// in JSON and text (warnings and their order included) and trace for
// trace, whether the captures are read on the merging goroutine
// (Jobs 1) or each on its own goroutine, on every committed capture set
// (the lab's scenarios, the incidents) and on damaged copies of one
// (a cut file, a damaged record, a clock step, an empty file): whole, with
// a clock sample of 100 packets, a filter, and batches of 3 sightings (and of 3 finished packets), so
// that readers, merge and aggregation hand batches over thousands of
// times, each reader forgetting its tuples every 5 it numbers
// (localTuples). Run it with -race too.
func TestJobsSameOutput(t *testing.T) {
	var dirs []string
	for _, pat := range []string{"captures/*", "incidents/*"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", pat))
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				dirs = append(dirs, d)
			}
		}
	}
	require.NotEmpty(t, dirs)
	damaged := damagedCopy(t)
	dirs = append(dirs, damaged)
	tcp := func(r *decode.Record) bool { return r.L4.Proto == decode.ProtoTCP }
	for _, dir := range dirs {
		inc, err := incident.Open([]string{dir}, incident.Options{})
		require.NoError(t, err)
		for _, c := range []struct {
			name   string
			sample int
			batch  int
			gen    int
			keep   func(*decode.Record) bool
		}{
			{"whole", 0, 256, 1 << 15, nil},
			{"cut", 100, 256, 1 << 15, nil},
			{"filtered", 0, 256, 1 << 15, tcp},
			{"small-batches", 100, 3, 5, nil},
		} {
			name := filepath.Base(dir)
			if dir == damaged {
				name = "damaged-drops"
			}
			t.Run(name+"/"+c.name, func(t *testing.T) {
				defer analyze.SetBatchLen(c.batch)()
				defer analyze.SetLocalTupleGen(c.gen)()
				run := func(jobs int) (string, string, []*analyze.Trace) {
					var traces []*analyze.Trace
					res, err := analyze.Analyze(inc.Captures, analyze.Options{ClockSample: c.sample, Keep: c.keep, Jobs: jobs,
						Trace: func(tr *analyze.Trace) { traces = append(traces, tr) }})
					require.NoError(t, err)
					var js, text bytes.Buffer
					require.NoError(t, report.WriteAnalysis(&js, res, "json"))
					require.NoError(t, report.WriteAnalysis(&text, res, "table"))
					return js.String(), text.String(), traces
				}
				wantJSON, wantText, wantTraces := run(1)
				if c.keep == nil {
					require.NotEmpty(t, wantTraces, "the captures' packets are followed")
				}
				if dir == damaged {
					for _, w := range []string{"n1-eth0.pcap: truncated", "n1-cni0.pcap", "the clock stepped back"} {
						assert.True(t, strings.Contains(wantJSON, w), "the damage is reported: %q", w)
					}
				}
				for _, jobs := range []int{2, 8} {
					js, text, traces := run(jobs)
					assert.Equal(t, wantJSON, js, "JSON with %d jobs", jobs)
					assert.Equal(t, wantText, text, "text with %d jobs", jobs)
					assert.Equal(t, wantTraces, traces, "traces with %d jobs", jobs)
				}
				// The merging goroutine does the workers' work when they
				// are behind (crew.help); with the workers never started
				// it does all of it, batch by batch, in order.
				restore := analyze.SetIdleWorkers(true)
				js, text, traces := run(2)
				restore()
				assert.Equal(t, wantJSON, js, "JSON with the workers idle")
				assert.Equal(t, wantText, text, "text with the workers idle")
				assert.Equal(t, wantTraces, traces, "traces with the workers idle")
			})
		}
	}
}

// damagedCopy copies the drops scenario and damages it: one capture cut
// inside a record, one with a record of impossible length, one whose clock
// steps back three hours half way, and one empty file.
func damagedCopy(t *testing.T) string {
	src := filepath.Join("..", "testdata", "captures", "drops")
	dst := t.TempDir()
	for _, node := range []string{"node-1", "node-2"} {
		files, err := filepath.Glob(filepath.Join(src, node, "*.pcap"))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dst, node), 0o755))
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			offs := pcapRecords(b)
			switch filepath.Base(f) {
			case "n1-eth0.pcap":
				require.Greater(t, len(offs), 10)
				b = b[:offs[len(offs)/2]+20] // inside a record's header
			case "n1-cni0.pcap":
				require.Greater(t, len(offs), 10)
				binary.LittleEndian.PutUint32(b[offs[5]+8:], 0x7fffffff)
			case "n2-eth0.pcap":
				require.Greater(t, len(offs), 10)
				for _, o := range offs[len(offs)/2:] {
					sec := binary.LittleEndian.Uint32(b[o:])
					binary.LittleEndian.PutUint32(b[o:], sec-3*3600)
				}
			case "n2-cni0.pcap":
				b = nil
			}
			require.NoError(t, os.WriteFile(filepath.Join(dst, node, filepath.Base(f)), b, 0o644))
		}
	}
	return dst
}

// pcapRecords returns the offsets of a little-endian pcap file's records.
func pcapRecords(b []byte) []int {
	var offs []int
	for o := 24; o+16 <= len(b); {
		offs = append(offs, o)
		o += 16 + int(binary.LittleEndian.Uint32(b[o+8:]))
	}
	return offs
}

// TestWorkersEnd checks that the main pass' workers end with it, whoever
// filled their readers' last batches: the merging goroutine fills batches
// of a worker's readers when it would wait (crew.help), and a worker
// asleep then must still learn that its readers are done. Batches of 3
// sightings make the merging goroutine fill many.
func TestWorkersEnd(t *testing.T) {
	inc, err := incident.Open([]string{filepath.Join("..", "testdata", "captures", "drops")}, incident.Options{})
	require.NoError(t, err)
	defer analyze.SetBatchLen(3)()
	base := runtime.NumGoroutine()
	for _, jobs := range []int{2, 3, 8} {
		for range 5 {
			_, err := analyze.Analyze(inc.Captures, analyze.Options{Jobs: jobs})
			require.NoError(t, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), base, "goroutines left running after the analyses")
}
