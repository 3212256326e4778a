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

// ErrSchema is wrapped by Load when the baseline is not an analysis of a
// schema this hoptrace reads.
var ErrSchema = errors.New("baseline schema mismatch")

// Load reads a baseline: the JSON that `hoptrace analyze -o json` writes,
// in the schema this hoptrace writes (analyze.SchemaVersion) or in
// analyze.SchemaV1, whose flows' "nat" strings it parses into their
// translations. The result is in the current form, Schema included. Load
// fails with ErrSchema for any other schema.
func Load(r io.Reader) (*analyze.Result, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("not a hoptrace analysis JSON: %w", err)
	}
	switch head.Schema {
	case analyze.SchemaVersion:
		var res analyze.Result
		if err := json.Unmarshal(b, &res); err != nil {
			return nil, fmt.Errorf("not a hoptrace analysis JSON: %w", err)
		}
		return &res, nil
	case analyze.SchemaV1:
		return loadV1(b)
	case "":
		return nil, fmt.Errorf("%w: no \"schema\" key, not a hoptrace analysis (want %q)", ErrSchema, analyze.SchemaVersion)
	}
	return nil, fmt.Errorf("%w: baseline has %q, this hoptrace reads %q and %q; regenerate it with --update after review", ErrSchema, head.Schema, analyze.SchemaVersion, analyze.SchemaV1)
}

// loadV1 reads an analysis of schema v1: v2 but for each flow's "nat", a
// string there.
func loadV1(b []byte) (*analyze.Result, error) {
	type flowV1 struct {
		analyze.Flow
		NAT string `json:"nat,omitempty"` // shadows Flow.NAT: a shallower key wins
	}
	var res analyze.Result
	doc := struct {
		*analyze.Result
		Flows []flowV1 `json:"flows"` // shadows Result.Flows
	}{Result: &res}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not a hoptrace analysis JSON: %w", err)
	}
	if doc.Flows != nil {
		res.Flows = make([]analyze.Flow, len(doc.Flows))
	}
	for i, f := range doc.Flows {
		nat, err := analyze.ParseNATText(f.NAT)
		if err != nil {
			return nil, fmt.Errorf("baseline %s flow %d: %w", analyze.SchemaV1, i, err)
		}
		res.Flows[i] = f.Flow
		res.Flows[i].NAT = nat
	}
	res.Schema = analyze.SchemaVersion
	return &res, nil
}
