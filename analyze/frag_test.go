package analyze

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// piece is a fragment sighting at a hop: bytes [lo,hi) of its datagram.
func piece(hop int32, lo, hi uint32, mf bool, ipLen uint32) obs {
	return obs{hop: hop, lo: lo, hi: hi, frag: true, mf: mf, ipLen: ipLen}
}

func TestReassembles(t *testing.T) {
	whole := obs{hop: 1, lo: 0, hi: 3008, ipLen: 3028}
	tests := []struct {
		name string
		ord  []obs
		want bool
	}{
		{"all pieces", []obs{piece(1, 0, 1480, true, 1500), piece(1, 1480, 2960, true, 1500), piece(1, 2960, 3008, false, 68)}, true},
		{"out of order", []obs{piece(1, 2960, 3008, false, 68), piece(1, 0, 1480, true, 1500), piece(1, 1480, 2960, true, 1500)}, true},
		{"middle missing", []obs{piece(1, 0, 1480, true, 1500), piece(1, 2960, 3008, false, 68)}, false},
		{"last missing", []obs{piece(1, 0, 1480, true, 1500), piece(1, 1480, 2960, true, 1500)}, false},
		{"first missing", []obs{piece(1, 1480, 2960, true, 1500), piece(1, 2960, 3008, false, 68)}, false},
		{"reassembled on the way", []obs{whole}, true},
		{"other hops do not count", []obs{piece(0, 0, 1480, true, 1500), piece(1, 1480, 3008, false, 1548)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, reassembles(tc.ord, 1))
		})
	}
}

// TestFragments follows one datagram: fragmented by the pod (hop 0),
// reassembled by conntrack (hop 1), fragmented again smaller (hop 2), and
// missing a piece at the last hop (3).
func TestFragments(t *testing.T) {
	g := &aggregator{frags: make(map[fragKey]*fragAcc)}
	ord := []obs{
		piece(0, 0, 1480, true, 1500), piece(0, 1480, 2960, true, 1500), piece(0, 2960, 3008, false, 68),
		{hop: 1, lo: 0, hi: 3008, ipLen: 3028},
		piece(2, 0, 1424, true, 1444), piece(2, 1424, 2848, true, 1444), piece(2, 2848, 3008, false, 180),
		piece(3, 0, 1424, true, 1444), piece(3, 2848, 3008, false, 180),
	}
	g.fragments(7, dirOrig, ord)
	assert.Equal(t, map[fragKey]*fragAcc{
		{MTUFragmented, 0, 7, dirOrig}:           {packets: 1, mtu: 1500},
		{MTURefragmented, 2, 7, dirOrig}:         {packets: 1, mtu: 1444},
		{MTUIncompleteReassembly, 3, 7, dirOrig}: {packets: 1, mtu: 1444},
	}, g.frags)
}
