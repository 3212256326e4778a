package report

import (
	"regexp"
	"testing"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/stretchr/testify/assert"
)

// TestClockText: what a clock line claims is what the estimate holds. A
// node no packet joined both ways to another (the realistic incident's
// external host) read "ext's clock agrees with node-1 within ±0ns (0
// packets seen on both)", and a one-way estimate, whose error is not
// bounded, "±0ns … seen on both".
func TestClockText(t *testing.T) {
	for _, tt := range []struct {
		c    analyze.Clock
		want string
	}{
		{analyze.Clock{Node: "node-2", Reference: "node-1", OffsetNS: 300, ErrorNS: 1180, Samples: 178},
			"node-2's clock agrees with node-1 within ±1.18µs (178 packets seen on both)"},
		{analyze.Clock{Node: "node-2", Reference: "node-1", OffsetNS: -2_500_000_000, ErrorNS: 4620, Samples: 82},
			"node-2's clock is 2.50s behind node-1 (corrected; ±4.62µs, 82 packets seen on both)"},
		{analyze.Clock{Node: "ext", Reference: "node-1"},
			"ext's clock is not estimated: no packet seen both ways between it and another node; its own clock is used"},
		{analyze.Clock{Node: "node-2", Reference: "node-1", OffsetNS: 3_000_000, Samples: 40, OneWay: true},
			"node-2's clock is 3.00ms ahead of node-1 (corrected from 40 packets seen one way only, the fastest taken as instant: the error is not bounded)"},
		{analyze.Clock{Node: "node-2", Reference: "node-1", Samples: 1, OneWay: true},
			"node-2's clock is 0ns ahead of node-1 (corrected from 1 packet seen one way only, the fastest taken as instant: the error is not bounded)"},
	} {
		assert.Equal(t, tt.want, clockText(tt.c))
	}
	v := verdict(&analyze.Result{Clocks: []analyze.Clock{{Node: "node-2", Reference: "node-1", OffsetNS: 3_000_000, Samples: 40, OneWay: true}}}, &index{})
	if assert.Len(t, v.Causes, 1) {
		assert.Equal(t, "the fastest of the packets seen on both nodes, all going one way", v.Causes[0].Evidence)
	}
}

// TestClockTable: the clocks table says "not estimated" rather than an
// offset and an error of 0, and an unbounded error for a one-way estimate.
func TestClockTable(t *testing.T) {
	res := fixture(t, "drops")
	res.Clocks = []analyze.Clock{
		{Node: "ext", Reference: "node-1"},
		{Node: "node-2", Reference: "node-1", OffsetNS: 3_000_000, Samples: 40, OneWay: true},
	}
	out := render(t, res, "table", AnalysisOptions{})
	assert.Regexp(t, regexp.MustCompile(`\| ext +\| node-1 +\| - +\| not estimated +\| 0 +\|`), out)
	assert.Regexp(t, regexp.MustCompile(`\| node-2 +\| node-1 +\| 3\.00ms +\| unbounded \(one way\) +\| 40 +\|`), out)
}
