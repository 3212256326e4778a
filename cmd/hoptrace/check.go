package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/baseline"
	"github.com/hoptrace/hoptrace/report"
)

// exitRegression is check's exit code when the analysis regressed against
// its baseline beyond the tolerances.
const exitRegression = 1

func newCheckCmd() *cobra.Command {
	var (
		in     analyzeFlags
		path   string
		junit  string
		update bool
		tol    = baseline.DefaultTolerances()
	)
	cmd := &cobra.Command{
		Use:   "check --baseline BASE.json [flags] DIR|FILE... [EXPRESSION]",
		Short: "Compare an incident's analysis with a saved baseline, for CI on golden captures",
		Long: `Check analyses the captures as analyze does and compares the result with a
baseline: the JSON of "hoptrace analyze -o json" (or of check --update).
It prints the differences, regressions first, then the changes the
tolerances allow, and exits 0 when there is no regression, 1 when there
is, 2 when the input or the baseline is unusable. A filter EXPRESSION
applies as in analyze; make the baseline with the same one.

Things are matched by identity, not position. A flow is protocol, source
and destination address and destination port: the connections a client
made to one service are one flow, whatever ephemeral source ports they
used, so a re-capture of the same scenario compares sensibly. Hop pairs
match by from, to and direction; drops by hops, flow, direction and
reason; MTU findings by kind, hop, flow and direction. Connection and
packet counts are reported, never regressions.

Regressions unless a flag allows them: flows appearing or disappearing,
new conntrack end states or NAT, changed paths or capture points, more
dropped packets than the baseline (capture gaps aside), new MTU findings,
more input problems, and a hop pair's p50, p90 or p99 growing by more than
--latency-ratio and by more than --latency-floor.

--junit FILE also writes the comparison as JUnit XML for CI test
reporters: one test case per tolerance, per flow and per hop pair, each
failing with the diff of its regressions.`,
		Example: `  hoptrace check --baseline testdata/baselines/drops.json testdata/captures/drops
  hoptrace check --baseline testdata/baselines/drops.json --junit check.xml testdata/captures/drops
  hoptrace check --baseline testdata/baselines/drops.json --latency-ratio 2 --allow-new-drops 5 testdata/captures/drops
  hoptrace check --baseline new-baseline.json --update testdata/captures/drops    # after review`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case path == "":
				return usageError("--baseline is required")
			case tol.LatencyRatio < 1:
				return usageError("--latency-ratio %v: must be at least 1", tol.LatencyRatio)
			case tol.LatencyFloor < 0:
				return usageError("--latency-floor %v: must not be negative", tol.LatencyFloor)
			case tol.NewDrops < 0:
				return usageError("--allow-new-drops %d: must not be negative", tol.NewDrops)
			}
			var base *analyze.Result
			if !update {
				var err error
				if base, err = loadBaseline(path); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			if update {
				in.outputs = []string{path}
			}
			if junit != "" {
				if update {
					return usageError("--junit reports a comparison; --update makes none")
				}
				in.outputs = append(in.outputs, junit)
			}
			res, err := in.run(args)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "hoptrace: warning:", w)
			}
			// Compare the current analysis as the baseline holds it: in JSON.
			var doc bytes.Buffer
			if err := report.WriteAnalysisOptions(&doc, res, "json", report.AnalysisOptions{Version: version()}); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("encode analysis: %w", err)}
			}
			cur, err := baseline.Load(bytes.NewReader(doc.Bytes()))
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("encode analysis: %w", err)}
			}
			out := cmd.OutOrStdout()
			if update {
				return updateBaseline(cmd, path, in.inputs, cur, doc.Bytes(), tol)
			}
			d := baseline.Compare(base, cur, tol)
			if err := baseline.WriteText(out, d); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("write output: %w", err)}
			}
			if junit != "" {
				if err := writeOutput(cmd, junit, in.inputs, func(w io.Writer) error {
					return baseline.WriteJUnit(w, d, tol, filepath.Base(path))
				}); err != nil {
					return err
				}
			}
			regs := len(d.Regressions())
			tolerated := len(d.Changes) - regs
			if len(d.Changes) > 0 {
				fmt.Fprintln(out)
			}
			switch {
			case regs > 0:
				fmt.Fprintf(out, "check: FAIL: %d regressions, %d tolerated changes against %s\n", regs, tolerated, path)
				return &exitError{code: exitRegression}
			case tolerated > 0:
				fmt.Fprintf(out, "check: ok: %d tolerated changes against %s\n", tolerated, path)
			default:
				fmt.Fprintf(out, "check: ok: no changes against %s\n", path)
			}
			return nil
		},
	}
	in.register(cmd)
	f := cmd.Flags()
	f.StringVar(&path, "baseline", "", "the baseline: JSON of hoptrace analyze -o json (required)")
	f.StringVar(&junit, "junit", "", "also write the comparison as JUnit XML to `FILE` (a test case per tolerance, flow and hop pair)")
	f.BoolVar(&update, "update", false, "write the current analysis as the new baseline instead of comparing")
	f.Float64Var(&tol.LatencyRatio, "latency-ratio", tol.LatencyRatio, "factor by which a hop pair's p50/p90/p99 may grow")
	f.DurationVar(&tol.LatencyFloor, "latency-floor", tol.LatencyFloor, "latency changes smaller than this are ignored")
	f.IntVar(&tol.NewDrops, "allow-new-drops", tol.NewDrops, "dropped packets allowed beyond the baseline's")
	f.BoolVar(&tol.NewMTU, "allow-new-mtu", tol.NewMTU, "allow MTU findings the baseline does not have")
	f.BoolVar(&tol.FlowChanges, "allow-flow-changes", tol.FlowChanges, "allow flows to appear or disappear")
	f.BoolVar(&tol.StateChanges, "allow-state-changes", tol.StateChanges, "allow new conntrack end states and NAT")
	f.BoolVar(&tol.PathChanges, "allow-path-changes", tol.PathChanges, "allow paths and capture points to change")
	return cmd
}

// loadBaseline reads a baseline file.
func loadBaseline(path string) (*analyze.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	defer f.Close()
	res, err := baseline.Load(f)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return res, nil
}

// updateBaseline replaces the baseline at path with doc, the JSON of cur,
// after showing what changes from the previous baseline, if there is one.
// Captures with input problems make no baseline.
func updateBaseline(cmd *cobra.Command, path string, inputs []string, cur *analyze.Result, doc []byte, tol baseline.Tolerances) error {
	if cur.InputProblems > 0 {
		return usageError("the captures have %d input problems; not writing a baseline from them", cur.InputProblems)
	}
	out := cmd.OutOrStdout()
	old, err := loadBaseline(path)
	switch {
	case err == nil:
		d := baseline.Compare(old, cur, tol)
		if err := baseline.WriteText(out, d); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("write output: %w", err)}
		}
		if err := writeBaselineFile(cmd, path, inputs, doc); err != nil {
			return err
		}
		fmt.Fprintf(out, "check: updated %s (%d changes from the previous baseline)\n", path, len(d.Changes))
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		fmt.Fprintln(cmd.ErrOrStderr(), "hoptrace: warning: replacing an unusable previous baseline:", err)
	}
	if err := writeBaselineFile(cmd, path, inputs, doc); err != nil {
		return err
	}
	fmt.Fprintf(out, "check: wrote %s\n", path)
	return nil
}

// writeBaselineFile replaces the baseline at path atomically, never over
// one of the captures.
func writeBaselineFile(cmd *cobra.Command, path string, inputs []string, doc []byte) error {
	return writeOutput(cmd, path, inputs, func(w io.Writer) error {
		_, err := w.Write(doc)
		return err
	})
}
