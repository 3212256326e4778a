package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/incident"
	"github.com/hoptrace/hoptrace/internal/outfile"
	"github.com/hoptrace/hoptrace/k8s"
	"github.com/hoptrace/hoptrace/report"
)

// analyzeFlags are the inputs shared by the commands that analyse an
// incident.
type analyzeFlags struct {
	nodes      []string
	ifnames    []string
	k8s        []string
	vxlanPorts []uint
	window     time.Duration
	filter     string
	jobs       int

	trace func(*analyze.Trace) // passed to analyze.Options.Trace
	// check, when set, sees the input files (captures, archives) before
	// they are analysed; its error ends the command (exit 2).
	check func(inputs []string) error
	keep  func(*decode.Record) bool // the filter in force, after run

	// outputs are the files the command will write: refused before the
	// analysis when one names an input.
	outputs []string
	// inputs are the capture files, after run: what no output may replace.
	inputs []string
}

func (f *analyzeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.nodes, "node", nil, "captures of one node: NAME=FILE[,FILE...] (repeatable; instead of DIR)")
	cmd.Flags().StringArrayVar(&f.ifnames, "ifname", nil, "name interface INDEX of a node's -i any captures: NODE:INDEX=NAME (repeatable; ip -j link saved beside the captures does it for you)")
	cmd.Flags().StringArrayVar(&f.k8s, "k8s", nil, "kubectl get pods,services,endpointslices,nodes -A -o json output: FILE or DIR (repeatable; a k8s/ folder inside the incident is read too)")
	cmd.Flags().UintSliceVar(&f.vxlanPorts, "vxlan-port", nil, "also decode this UDP port as VXLAN (repeatable)")
	cmd.Flags().DurationVar(&f.window, "window", time.Second, "longest a packet may take from its first sighting to its last (the window adapts below it)")
	cmd.Flags().IntVar(&f.jobs, "jobs", 0, "goroutines of the analysis: one merges the captures in time, the others read and decode them and aggregate; 1: all on one goroutine (default: GOMAXPROCS); the output is the same")
	addFilterFlag(cmd, &f.filter)
}

// run analyses the incident named by args (one DIR) or by --node flags,
// keeping the packets of the filter expression that may follow the DIR.
func (f *analyzeFlags) run(args []string) (*analyze.Result, error) {
	res, _, err := f.runCaps(args)
	return res, err
}

// runCaps is run that also returns the captures it analysed.
func (f *analyzeFlags) runCaps(args []string) (*analyze.Result, []analyze.Capture, error) {
	args, flt, err := splitFilter(f.filter, args, len(f.nodes) > 0)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(f.nodes) > 0 && len(args) > 0:
		return nil, nil, usageError("give either DIR/FILE arguments or --node, not both")
	case len(f.nodes) == 0 && len(args) == 0:
		return nil, nil, usageError("want an incident directory (one subdirectory per node), capture files or bundles, or --node NAME=FILE,...")
	}
	inc, err := incident.Open(args, incident.Options{Nodes: f.nodes, IfNames: f.ifnames})
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	caps := inc.Captures
	// The files read: captures, and the archives holding captures.
	f.inputs = append(f.inputs[:0], inc.Inputs...)
	for _, out := range f.outputs {
		if _, err := outfile.Check(out, outfile.Options{Inputs: f.inputs}); err != nil {
			return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("write output: %w", err)}
		}
	}
	if f.jobs < 0 {
		return nil, nil, usageError("--jobs %d: want 1 or more (0: GOMAXPROCS)", f.jobs)
	}
	opt := analyze.Options{Window: f.window, Trace: f.trace, Jobs: f.jobs}
	if flt != nil {
		opt.Keep = flt.Match
		f.keep = flt.Match
	}
	for _, p := range f.vxlanPorts {
		if p == 0 || p > 65535 {
			return nil, nil, usageError("--vxlan-port %d: not a UDP port", p)
		}
		opt.VXLANPorts = append(opt.VXLANPorts, uint16(p))
	}
	if f.window <= 0 {
		return nil, nil, usageError("--window %v: must be positive", f.window)
	}
	if f.check != nil {
		if err := f.check(f.inputs); err != nil {
			return nil, nil, &exitError{code: exitUsage, err: err}
		}
	}
	res, err := analyze.Analyze(caps, opt)
	if err != nil {
		if len(inc.Problems) > 0 {
			err = fmt.Errorf("%w; %s", err, strings.Join(inc.Problems, "; "))
		}
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	// What finding the captures met comes first: input problems (exit 1),
	// then what the captures could not observe.
	res.Warnings = append(append(slices.Clone(inc.Problems), inc.Notes...), res.Warnings...)
	res.InputProblems += len(inc.Problems)
	if err := f.names(inc, res); err != nil {
		return nil, nil, err
	}
	return res, caps, nil
}

// finish turns the warnings of a result into the exit code.
func finish(cmd *cobra.Command, res *analyze.Result) error {
	for _, w := range res.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "hoptrace: warning:", w)
	}
	if res.InputProblems > 0 {
		return &exitError{code: exitProblems}
	}
	return nil
}

func newAnalyzeCmd() *cobra.Command {
	var (
		in     analyzeFlags
		format string
		out    outputFlags
		flow   string
		wfalls int
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "analyze [flags] DIR|FILE... [EXPRESSION]",
		Short: "Follow every packet hop by hop: paths, latency, drops, NAT, MTU",
		Long: `Analyze reads the captures of one incident and follows every packet across
the capture points: it recognises the same packet at each hop despite
encapsulation, NAT, fragmentation and GSO, infers the hop order from the
data, and reports paths, per-hop latency (with clock offsets between nodes
estimated), encapsulation overhead, MTU and fragmentation findings and
drops with a likely reason.

DIR holds one subdirectory per node (one clock), each with that node's
capture files. A capture's hop is its file name without extension; a Linux
SLL2 capture (tcpdump -i any) or a multi-interface pcapng gives one hop per
interface. Capture files given directly belong to the node named after
their directory. Other layouts: --node NAME=FILE,...`,
		Example: `  hoptrace analyze testdata/captures/cross-vxlan
  hoptrace analyze -o json testdata/captures/drops > drops.json
  hoptrace analyze -o html --out drops.html testdata/captures/drops
  hoptrace analyze -o markdown --all-hops --waterfalls -1 testdata/captures/service-dnat
  hoptrace analyze testdata/captures/drops 'host 10.244.1.5 and port 8080'
  hoptrace analyze --node node-1=testdata/captures/drops/node-1/n1-eth0.pcap,testdata/captures/drops/node-1/n1-cni0.pcap --node node-2=testdata/captures/drops/node-2/n2-eth0.pcap`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(report.AnalysisFormats, format) {
				return usageError("unknown output format %q (want %s)", format, strings.Join(report.AnalysisFormats, ", "))
			}
			if flow != "" && format != "html" {
				return usageError("--flow chooses the ladder diagram of -o html")
			}
			in.outputs = out.paths()
			var packets *report.PacketLog
			if format == "html" {
				// The HTML report draws single packets: keep a bounded log.
				packets = report.NewPacketLog()
				in.trace = packets.Add
			}
			res, err := in.run(args)
			if err != nil {
				return err
			}
			if _, err := report.ChooseFlow(res, flow); err != nil {
				return usageError("--flow: %w", err)
			}
			opt := report.AnalysisOptions{Color: out.color(cmd.OutOrStdout()), Flow: flow, Version: version(),
				Waterfalls: wfalls, AllHops: all, Packets: packets}
			if err := out.write(cmd, in.inputs, func(w io.Writer) error {
				return report.WriteAnalysisOptions(w, res, format, opt)
			}); err != nil {
				return err
			}
			return finish(cmd, res)
		},
	}
	in.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "table", "output format: table, markdown, json or html")
	cmd.Flags().StringVar(&flow, "flow", "", "-o html: the flow of the ladder diagram, as its index in the flow table or SRC:PORT>DST:PORT (default: the worst flow)")
	cmd.Flags().IntVar(&wfalls, "waterfalls", 0, "how many paths get a waterfall (hops, packets, p50/p99 per step, time end to end), worst first; -1: all (default 5)")
	cmd.Flags().BoolVar(&all, "all-hops", false, "also list every hop pair's latency (in path order) and every flow direction's path")
	out.register(cmd, true)
	return cmd
}

// names puts the Kubernetes names of the incident's k8s/ folder and of
// --k8s into res.
func (f *analyzeFlags) names(inc *incident.Incident, res *analyze.Result) error {
	cl := &k8s.Cluster{}
	for _, file := range inc.K8s {
		if err := cl.Parse(file.Path, file.Data); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%v: not read (want kubectl ... -o json output)", err))
		}
	}
	for _, p := range f.k8s {
		files, err := k8sFiles(p)
		if err != nil {
			return usageError("--k8s: %w", err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				return usageError("--k8s: %w", err)
			}
			if err := cl.Parse(file, b); err != nil {
				return usageError("--k8s: %w", err)
			}
		}
	}
	if cl.Documents == 0 {
		return nil
	}
	var nodes []k8s.CaptureNode
	for _, n := range inc.Nodes {
		nodes = append(nodes, k8s.CaptureNode{Name: n.Name, Addrs: n.Addrs()})
	}
	res.Names = cl.Names(nodes, res)
	return nil
}

// k8sFiles lists the regular files of a --k8s path: the file, or the
// .json files of the directory.
func k8sFiles(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", p)
		}
		return []string{p}, nil
	}
	return filepath.Glob(filepath.Join(p, "*.json"))
}
