// Package baseline compares an analysis with a saved one (a golden
// baseline) under tolerances, for CI runs on golden captures. It reads
// analyze types only and does no I/O beyond the reader it is given.
package baseline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
)

// Tolerances say which differences from the baseline are not regressions.
// The zero value tolerates nothing but latency changes within a factor of
// 1; DefaultTolerances is what the CLI starts from.
type Tolerances struct {
	// LatencyRatio is the factor by which a hop pair's p50, p90 or p99 may
	// grow. Values below 1 count as 1.
	LatencyRatio float64
	// LatencyFloor is the absolute change below which latency changes are
	// ignored, whatever the ratio: lab latencies are microseconds and noisy.
	LatencyFloor time.Duration
	// NewDrops is how many dropped packets beyond the baseline's are allowed,
	// summed over all drops except capture gaps.
	NewDrops int
	// NewMTU allows MTU findings that the baseline does not have.
	NewMTU bool
	// FlowChanges allows flows to appear or disappear.
	FlowChanges bool
	// StateChanges allows flows to end in conntrack states, or with NAT,
	// that the baseline does not show.
	StateChanges bool
	// PathChanges allows paths and capture points to differ.
	PathChanges bool
}

// DefaultTolerances are the CLI's defaults: latency may grow 1.5× or by
// less than 100µs, nothing else may change for the worse.
func DefaultTolerances() Tolerances {
	return Tolerances{LatencyRatio: 1.5, LatencyFloor: 100 * time.Microsecond}
}

// ErrSchema is wrapped by Load when the baseline is not an analysis of the
// schema this hoptrace writes.
var ErrSchema = errors.New("baseline schema mismatch")

// Load reads a baseline: the JSON that `hoptrace analyze -o json` writes.
// It fails with ErrSchema when the document's schema is not
// analyze.SchemaVersion.
func Load(r io.Reader) (*analyze.Result, error) {
	var res analyze.Result
	dec := json.NewDecoder(r)
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("not a hoptrace analysis JSON: %w", err)
	}
	switch res.Schema {
	case analyze.SchemaVersion:
		return &res, nil
	case "":
		return nil, fmt.Errorf("%w: no \"schema\" key, not a hoptrace analysis (want %q)", ErrSchema, analyze.SchemaVersion)
	}
	return nil, fmt.Errorf("%w: baseline has %q, this hoptrace writes %q; regenerate it with --update after review", ErrSchema, res.Schema, analyze.SchemaVersion)
}
