package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/merge"
	"github.com/hoptrace/hoptrace/report"
)

func newMergeCmd() *cobra.Command {
	var (
		in     analyzeFlags
		out    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "merge --out MERGED.pcapng [flags] DIR|FILE...",
		Short: "Write the incident as one annotated pcapng for Wireshark",
		Long: `Merge analyses the captures of one incident like analyze and writes them
as one pcapng file: one interface per hop (named node/hop), every packet in
time order with the nodes' clock offsets applied, and a comment on each
packet followed across hops, in the analysis' own words: its flow and
direction, which hop of its path it is (numbered as analyze lists the
path), the time since the previous hop, the next hop, MTU findings there,
and "last seen here" where a packet the analysis counts as dropped
vanished, with the hop it never reached and the reason. Open it in
Wireshark and filter with frame.comment. The inputs' pcapng interface
statistics (when each capture started and ended, what it received and lost)
are written at the end, one block per hop, so that analysing the merged file
judges each hop's coverage as analysing the inputs did; classic pcap inputs
have none.

--out names the file ("-" for standard output); -o is the format, as in
every other command (pcapng, the only one).`,
		Example: `  hoptrace merge --out drops.pcapng testdata/captures/drops
  tshark -r drops.pcapng -Y 'frame.comment contains "last seen"'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "pcapng" {
				return usageError("unknown output format %q (want pcapng); the file to write is --out FILE", format)
			}
			if out == "" {
				return usageError("merge needs --out MERGED.pcapng (or --out - for standard output)")
			}
			var notes merge.Notes
			var traces []*analyze.Trace
			in.trace = func(t *analyze.Trace) { traces = append(traces, t) }
			in.outputs = []string{out}
			res, caps, err := in.runCaps(args)
			if err != nil {
				return err
			}
			merge.Annotate(&notes, res, traces)
			notes.Application = "hoptrace " + version() + " merge"
			notes.Comment = report.HeaderText(res)
			err = writeOutput(cmd, out, in.inputs, func(w io.Writer) error { return merge.Write(w, caps, res.Clocks, &notes, in.keep) })
			if err != nil {
				return err
			}
			return finish(cmd, res)
		},
	}
	in.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "pcapng", "output format: pcapng")
	cmd.Flags().StringVar(&out, "out", "", "the merged pcapng file to write (atomically; - for standard output)")
	return cmd
}
