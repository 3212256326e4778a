package merge

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoptrace/hoptrace/analyze"
)

// TestAnnotateWords checks the comment of each sighting: IPv6 ends in
// brackets, hops numbered along the analysis' path (not in sighting
// order), the next hop named, a negative step written with its sign only.
func TestAnnotateWords(t *testing.T) {
	flow := analyze.TupleJSON{Src: "fe80::1", Dst: "fe80::2", SPort: 53, DPort: 5353}
	res := &analyze.Result{
		Captures: []analyze.CaptureSummary{{Hop: "a", Node: "n1"}, {Hop: "b", Node: "n1"}, {Hop: "c", Node: "n2"}},
		Paths:    []analyze.Path{{Flow: flow, Proto: analyze.ProtoUDP, Direction: analyze.DirOrig, Hops: []string{"a", "b", "c"}, Packets: 1}},
	}
	capA := analyze.Capture{Node: "n1", Path: "a.pcap"}
	capB := analyze.Capture{Node: "n1", Path: "b.pcap"}
	capC := analyze.Capture{Node: "n2", Path: "c.pcap"}
	tr := &analyze.Trace{Flow: flow, Proto: analyze.ProtoUDP, Direction: analyze.DirOrig, Fate: -1, Sightings: []analyze.Sighting{
		{Capture: capB, Index: 0, Point: "b", TS: 1000}, // a tap sharing a's timestamp, listed first
		{Capture: capA, Index: 0, Point: "a", TS: 1000},
		{Capture: capC, Index: 0, Point: "c", TS: 400}, // a clock estimate off by more than the step
	}}
	var n Notes
	Annotate(&n, res, []*analyze.Trace{tr})
	assert.Equal(t, "hoptrace: udp [fe80::1]:53 > [fe80::2]:5353 orig, hop 1 of 3 (a); next b", n.get("a.pcap", 0))
	assert.Equal(t, "hoptrace: udp [fe80::1]:53 > [fe80::2]:5353 orig, hop 2 of 3 (b), +0ns since a; next c", n.get("b.pcap", 0))
	assert.Equal(t, "hoptrace: udp [fe80::1]:53 > [fe80::2]:5353 orig, hop 3 of 3 (c), -600ns since b; end of its path", n.get("c.pcap", 0))
}
