package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/report"
)

func newFlowsCmd() *cobra.Command {
	var (
		in       analyzeFlags
		format   string
		extended bool
		out      outputFlags
	)
	cmd := &cobra.Command{
		Use:   "flows [flags] DIR|FILE...",
		Short: "Print the flow table, as conntrack -L would",
		Long: `Flows analyses the captures of one incident like analyze and prints the
flow table it built: one line per connection in conntrack -L format, with the
original tuple as its sender sent it and the reply tuple showing any NAT seen
across hops, the kernel's TCP state, [UNREPLIED]/[ASSURED] and packet and
byte counters per direction (as with nf_conntrack_acct=1). The timeout column
is the kernel's default timeout for the flow's state: an offline capture has
no running timer.

The flows of the innermost packets (pod to pod) come first, then the tunnel
carriers that took them between nodes, as the nodes' conntrack tracks them
too: VXLAN's UDP flows (one per source port, so never replied to) and
IPIP's generic "unknown 4" entry. Each carrier packet is counted once, as
the first capture point that saw it did.

The conntrack format stays byte for byte what conntrack -L prints, so it
never carries Kubernetes names. With names (a k8s/ folder in the incident,
or --k8s), -o table and -o markdown add a "names" column after the reply
tuple: "default/client > svc/default/web:80 → default/web" names the ends
of the original tuple and the backend a Service's DNAT chose; "?" is an end
with no name.`,
		Example: `  hoptrace flows testdata/captures/service-dnat
  hoptrace flows -o table testdata/captures/drops`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "conntrack", "table", "markdown", "json":
			default:
				return usageError("unknown output format %q (want conntrack, table, markdown or json)", format)
			}
			in.outputs = out.paths()
			res, err := in.run(args)
			if err != nil {
				return err
			}
			err = out.write(cmd, in.inputs, func(w io.Writer) error {
				switch {
				case format != "conntrack":
					return report.WriteFlows(w, res, format)
				case extended:
					return report.WriteConntrackExtended(w, res.Flows)
				}
				return report.WriteConntrack(w, res.Flows)
			})
			if err != nil {
				return err
			}
			return finish(cmd, res)
		},
	}
	in.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "conntrack", "output format: conntrack, table, markdown or json")
	cmd.Flags().StringVar(&format, "format", "conntrack", "same as --output")
	out.register(cmd, false)
	cmd.Flags().BoolVar(&extended, "extended", false, "conntrack format: prefix the network layer as conntrack -L -o extended does")
	return cmd
}
