package analyze

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSegmentNode is the specification of how a node's timeline is split:
// node-2 has two units (time spans), node-1, the reference, one. The
// packets node-2 shares with node-1 in each unit bound its offset (to:
// the fastest node-1 → node-2 delay, from: the fastest back; none: no
// packet that way); a unit after a step its own captures show is a jump.
// A single segment keeps the node-level estimate (base, 7 ns here).
func TestSegmentNode(t *testing.T) {
	const ms = int64(time.Millisecond)
	const none = math.MaxInt64
	type unit struct {
		to, from int64 // fastest delay each way as node-2's clock shows it
		jump     bool
	}
	for _, tc := range []struct {
		name    string
		units   [2]unit
		offsets []int64 // of node-2's segments
		reanch  bool    // the second segment is re-anchored
	}{
		{"agree: one segment, the node-level estimate", [2]unit{{3 * ms, -1 * ms, false}, {3 * ms, -1 * ms, false}}, []int64{7}, false},
		{"2 s later: two segments", [2]unit{{3 * ms, -1 * ms, false}, {2003 * ms, -2001 * ms, false}}, []int64{2 * ms, 2002 * ms}, false},
		{"2 s earlier, one way each", [2]unit{{none, 1 * ms, false}, {-1997 * ms, none, false}}, []int64{-1 * ms, -1997 * ms}, false},
		{"one way each, both agreeing", [2]unit{{3 * ms, none, false}, {none, 2001 * ms, false}}, []int64{7}, false},
		{"50 ms apart: within the split threshold", [2]unit{{3 * ms, -1 * ms, false}, {53 * ms, -51 * ms, false}}, []int64{7}, false},
		{"no sample after a pause: the same segment", [2]unit{{3 * ms, -1 * ms, false}, {none, none, false}}, []int64{7}, false},
		// Split, the first segment takes its own estimate; the second's
		// first packet follows the first's last by a microsecond.
		{"no sample after a step: re-anchored", [2]unit{{3 * ms, -1 * ms, false}, {none, none, true}}, []int64{2 * ms, 2*ms + int64(time.Hour) - 1000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &analysis{opt: Options{Window: time.Second}, nodes: []string{"node-1", "node-2"}}
			// node-1: one chunk over everything; node-2: one chunk per unit,
			// the second an hour after the first ends.
			a.chunks = []timeChunk{
				{node: 0, first: 0, last: 3 * int64(time.Hour)},
				{node: 1, first: 0, last: 10 * ms},
				{node: 1, first: 10*ms + int64(time.Hour), last: 20*ms + int64(time.Hour), jump: tc.units[1].jump},
			}
			units := a.nodeUnits()
			var pairs []chunkPair
			for i, u := range tc.units {
				if u.to != none || u.from != none {
					pairs = append(pairs, chunkPair{a: 0, b: int32(1 + i), minTo: u.to, minFrom: u.from, samples: 10})
				}
			}
			segs := [][]clockSegment{{{}}, nil}
			base := Clock{OffsetNS: 7, Samples: 20}
			got := a.segmentNode(1, units, segs, []bool{true, false}, pairs, base, true)
			var offs []int64
			for _, sg := range got {
				offs = append(offs, sg.offset)
			}
			assert.Equal(t, tc.offsets, offs)
			assert.Equal(t, tc.reanch, got[len(got)-1].reanchored)
		})
	}
}

// TestConsistentMins: the smallest delays each way are kept unless they
// add up to a round trip below zero; then the fewest smallest are set
// aside until two agree, or, where none do (a stepped clock), kept.
func TestConsistentMins(t *testing.T) {
	const us = int64(time.Microsecond)
	const none = math.MaxInt64
	of := func(ds ...int64) *lowest {
		l := newLowest()
		for _, d := range ds {
			l.add(d)
		}
		return &l
	}
	for _, tc := range []struct {
		name           string
		to, from       *lowest
		wantTo, wantFr int64
	}{
		{"agree", of(30*us, 5*us, 9*us), of(4*us, 7*us), 5 * us, 4 * us},
		{"one way only", of(5 * us), of(), 5 * us, none},
		{"a false delay to", of(-67000*us, 5*us, 6*us), of(4*us, 5*us), 5 * us, 4 * us},
		{"a false delay back", of(5*us, 6*us), of(-3000*us, 4*us), 5 * us, 4 * us},
		{"two false ones", of(-900*us, -800*us, 5*us), of(4 * us), 5 * us, 4 * us},
		{"offset -2.5 s, agreeing", of(-2500000*us + 5*us), of(2500000*us + 4*us), -2500000*us + 5*us, 2500000*us + 4*us},
		{"none agree: the smallest", of(-5000*us, -4000*us), of(-3000 * us), -5000 * us, -3000 * us},
	} {
		to, from := consistentMins(tc.to, tc.from)
		assert.Equal(t, tc.wantTo, to, tc.name)
		assert.Equal(t, tc.wantFr, from, tc.name)
	}
}
