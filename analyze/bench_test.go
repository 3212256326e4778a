package analyze_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hoptrace/hoptrace/analyze"
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
	caps, err := analyze.Discover(dir)
	if err != nil {
		b.Fatal(err)
	}
	packets := 0
	b.ReportAllocs()
	for b.Loop() {
		res, err := analyze.Analyze(caps, analyze.Options{})
		if err != nil {
			b.Fatal(err)
		}
		packets = 0
		for _, c := range res.Captures {
			packets += c.Packets
		}
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets)/float64(b.N), "ns/packet")
}
