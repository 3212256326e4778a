package export

import (
	"testing"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
)

// BenchmarkTrace measures the export's own cost per packet of ten
// sightings (one op), Parquet encoding included, apart from the analysis:
//
//	go test -run '^$' -bench Trace -benchmem ./export
func BenchmarkTrace(b *testing.B) {
	w, err := New(b.TempDir(), "bench", nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	flow := analyze.TupleJSON{Src: "10.244.0.5", Dst: "10.244.1.5", SPort: 41000, DPort: 5201}
	t0 := time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC).UnixNano()
	points := []string{"poda-eth0", "n1-veth-pod-a", "n1-cni0", "n1-flannel.1", "n1-eth0", "n2-eth0", "n2-flannel.1", "n2-cni0", "n2-veth-pod-c", "podc-eth0"}
	tr := &analyze.Trace{Flow: flow, Proto: analyze.ProtoTCP, Direction: analyze.DirOrig, Sightings: make([]analyze.Sighting, len(points))}
	for k, p := range points {
		node := "node-1"
		if k >= 5 {
			node = "node-2"
		}
		tr.Sightings[k] = sighting(node, p, 0, k-1)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range tr.Sightings {
			tr.Sightings[k].TS = t0 + int64(i)*10_000 + int64(k)*3000
		}
		w.Trace(tr)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(points)), "ns/sighting")
}
