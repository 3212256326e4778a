package analyze_test

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
)

// BenchmarkAnalyze measures the whole analysis (discovery, clock pass,
// correlation, result) of a generated incident (bench/genincident, about
// 15 sightings per data segment), reported as packets read per second.
//
//	go test -run '^$' -bench Analyze -benchmem -cpu 1 ./analyze
func BenchmarkAnalyze(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "incident")
	gen := exec.Command("go", "run", "../bench/genincident", "-o", dir, "-n", "20000")
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("genincident: %v\n%s", err, out)
	}
	inc, err := incident.Open([]string{dir}, incident.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchAnalyses(b, [][]analyze.Capture{inc.Captures})
}

// BenchmarkAnalyzeLab measures the analysis of every committed lab
// scenario (testdata/captures) in turn, as hoptrace analyze would run on
// each, reported as packets read per CPU-second over all of them.
func BenchmarkAnalyzeLab(b *testing.B) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "captures", "*", "truth", "scenario.json"))
	if err != nil || len(dirs) == 0 {
		b.Skip("no lab captures")
	}
	var scenarios [][]analyze.Capture
	for _, d := range dirs {
		inc, err := incident.Open([]string{filepath.Dir(filepath.Dir(d))}, incident.Options{})
		if err != nil {
			b.Fatal(err)
		}
		scenarios = append(scenarios, inc.Captures)
	}
	benchAnalyses(b, scenarios)
}

// benchAnalyses analyses each incident in turn per op and reports the
// packets read per op and per CPU-second: CPU time, not wall time, is the
// figure that holds on a shared machine.
func benchAnalyses(b *testing.B, incidents [][]analyze.Capture) {
	packets := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		packets = 0
		for _, caps := range incidents {
			res, err := analyze.Analyze(caps, analyze.Options{})
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range res.Captures {
				packets += c.Packets
			}
		}
	}
	cpu := float64(cpuTime()-cpu0) / float64(b.N) / float64(packets)
	b.ReportMetric(float64(packets), "packets/op")
	b.ReportMetric(cpu, "cpu-ns/packet")
	b.ReportMetric(1e9/cpu, "packets/cpu-s")
}

// cpuTime returns the process' user and system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
