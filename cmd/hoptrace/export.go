package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/export"
)

func newExportCmd() *cobra.Command {
	var (
		in       analyzeFlags
		out      string
		incident string
		replace  bool
	)
	cmd := &cobra.Command{
		Use:   "export [flags] DIR|FILE... [EXPRESSION] --out OUTDIR",
		Short: "Write the analysis as Parquet tables for DuckDB, Spark, Trino",
		Long: `Export analyses an incident as analyze does (same inputs and flags) and
writes it into a Parquet dataset in OUTDIR: one row per packet per hop
(sightings), per packet (packets), and the flows, hop pairs, findings,
captures, clocks and encapsulation of the analysis. Tables are partitioned
Hive-style (TABLE/incident=NAME/...; sightings also node=/hour=, packets
hour=), so several incidents share one dataset. Rows are written as packets
are followed: memory stays bounded by the correlation window, not by the
size of the incident. OUTDIR must not hold the incident's captures.`,
		Example: `  hoptrace export testdata/captures/drops --out dataset
  hoptrace export --incident 2026-11-22-dns testdata/captures/service-dnat --out dataset
  duckdb -c "SELECT verdict, count(*) FROM read_parquet('dataset/packets/**/*.parquet', hive_partitioning=true) GROUP BY ALL"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("--out OUTDIR: where to write the dataset")
			}
			name := incident
			if name == "" {
				name = "incident"
				if len(args) > 0 {
					if _, err := os.Stat(args[0]); err == nil {
						name = filepath.Base(filepath.Clean(args[0]))
					}
				}
			}
			var w *export.Writer
			in.check = func(inputs []string) error {
				var err error
				w, err = export.New(out, name, inputs, export.Options{Replace: replace})
				return err
			}
			in.trace = func(t *analyze.Trace) { w.Trace(t) }
			res, err := in.run(args)
			if err != nil {
				if w != nil {
					w.Abort()
				}
				return err
			}
			if err := w.Finish(res); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("export: %w", err)}
			}
			packets, sightings := w.Rows()
			fmt.Fprintf(cmd.OutOrStdout(), "exported incident %q to %s: %d packets, %d sightings (%s)\n", name, out, packets, sightings, export.SchemaVersion)
			return finish(cmd, res)
		},
	}
	in.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "directory of the Parquet dataset (created if need be)")
	cmd.Flags().StringVar(&incident, "incident", "", "name of the incident in the dataset (default: the directory's name)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the incident if the dataset already holds it")
	return cmd
}
