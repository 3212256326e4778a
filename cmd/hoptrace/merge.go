package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/merge"
	"github.com/hoptrace/hoptrace/report"
)

func newMergeCmd() *cobra.Command {
	var (
		in  analyzeFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "merge -o MERGED.pcapng [flags] DIR|FILE...",
		Short: "Write the incident as one annotated pcapng for Wireshark",
		Long: `Merge analyses the captures of one incident like analyze and writes them
as one pcapng file: one interface per hop (named node/hop), every packet in
time order with the nodes' clock offsets applied, and a comment on each
packet followed across hops: its flow and direction, which hop of how many
it is, the time since the previous hop, and where it was last seen when it
vanished. Open it in Wireshark and filter with frame.comment.`,
		Example: `  hoptrace merge -o drops.pcapng testdata/captures/drops
  tshark -r drops.pcapng -Y 'frame.comment contains "last seen"'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("merge needs -o MERGED.pcapng")
			}
			var notes merge.Notes
			var traces []*analyze.Trace
			in.trace = func(t *analyze.Trace) { traces = append(traces, t) }
			in.outputs = []string{out}
			res, caps, err := in.runCaps(args)
			if err != nil {
				return err
			}
			annotate(&notes, traces, res)
			err = writeOutput(cmd, out, in.inputs, func(w io.Writer) error { return merge.Write(w, caps, res.Clocks, &notes, in.keep) })
			if err != nil {
				return err
			}
			return finish(cmd, res)
		},
	}
	in.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "the merged pcapng file to write (written atomically)")
	return cmd
}

// annotate turns traces into packet comments. A packet whose last sighting
// is short of its flow direction's path end is marked as last seen there.
func annotate(notes *merge.Notes, traces []*analyze.Trace, res *analyze.Result) {
	type pathKey struct {
		flow      analyze.TupleJSON
		proto     analyze.Proto
		direction analyze.Direction
	}
	// Where each flow direction's packets should have gone: its own path,
	// or the longest path between the same endpoints that contains it (as
	// the analysis places drops), so a flow whose packets all stopped early
	// is still seen to stop.
	type ends struct {
		src, dst  string
		direction analyze.Direction
	}
	endsOf := func(p analyze.Path) ends {
		if p.Direction == analyze.DirReply {
			return ends{p.Flow.Dst, p.Flow.Src, p.Direction}
		}
		return ends{p.Flow.Src, p.Flow.Dst, p.Direction}
	}
	longest := map[ends][]string{}
	for _, p := range res.Paths {
		if e := endsOf(p); len(p.Hops) > len(longest[e]) {
			longest[e] = p.Hops
		}
	}
	paths := map[pathKey][]string{}
	for _, p := range res.Paths {
		hops := p.Hops
		if l := longest[endsOf(p)]; len(l) > len(hops) && hops[0] == l[0] {
			hops = l
		}
		paths[pathKey{p.Flow, p.Proto, p.Direction}] = hops
	}
	// What the analysis found at a hop of a flow direction: MTU findings
	// where they happened, drop reasons where packets were last seen.
	type hopKey struct {
		pathKey
		hop string
	}
	findings := map[hopKey][]string{}
	for _, m := range res.MTU {
		k := hopKey{pathKey{m.Flow, m.Proto, m.Direction}, m.Hop}
		findings[k] = append(findings[k], fmt.Sprintf("%s (MTU %d): %s", m.Kind, m.MTU, m.Detail))
	}
	drops := map[hopKey]string{}
	for _, d := range res.Drops {
		drops[hopKey{pathKey{d.Flow, d.Proto, d.Direction}, d.From}] = d.Reason.String()
	}
	// Result hop names carry a node prefix when two nodes share a name.
	at := func(k pathKey, s analyze.Sighting) hopKey {
		if _, ok := findings[hopKey{k, s.Point}]; ok {
			return hopKey{k, s.Point}
		}
		if _, ok := drops[hopKey{k, s.Point}]; ok {
			return hopKey{k, s.Point}
		}
		return hopKey{k, s.Capture.Node + "/" + s.Point}
	}
	for _, t := range traces {
		pk := pathKey{t.Flow, t.Proto, t.Direction}
		path := paths[pk]
		flow := fmt.Sprintf("%s %s:%d > %s:%d %s", t.Proto, t.Flow.Src, t.Flow.SPort, t.Flow.Dst, t.Flow.DPort, t.Direction)
		// Hops in order of first sighting; a fragmented datagram has
		// several pieces at one hop.
		var hops []string
		first := map[string]int64{}
		pos := map[string]int{}
		lastAt := map[string]int{} // index of the last sighting at each hop
		id := func(s analyze.Sighting) string { return s.Capture.Node + "/" + s.Point }
		for i, s := range t.Sightings {
			if _, ok := first[id(s)]; !ok {
				pos[id(s)] = len(hops)
				hops = append(hops, id(s))
				first[id(s)] = s.TS
			}
			lastAt[id(s)] = i
		}
		n := len(hops)
		for i, s := range t.Sightings {
			k := pos[id(s)]
			var b strings.Builder
			fmt.Fprintf(&b, "hoptrace: %s, hop %d of %d (%s)", flow, k+1, n, s.Point)
			if k > 0 {
				prev := hops[k-1]
				fmt.Fprintf(&b, ", +%s since %s", report.Duration(s.TS-first[prev]), prev[strings.Index(prev, "/")+1:])
			}
			hk := at(pk, s)
			if k == n-1 && i == lastAt[id(s)] && len(path) > 0 && path[len(path)-1] != s.Point && !strings.HasSuffix(path[len(path)-1], "/"+s.Point) {
				fmt.Fprintf(&b, "; last seen here, its path goes on to %s", path[len(path)-1])
				// The drop is recorded at the last hop of the flow's path that
				// saw the packet; taps sharing a timestamp may have put
				// another of its hops last here.
				for j := len(t.Sightings) - 1; j >= 0; j-- {
					if reason, ok := drops[at(pk, t.Sightings[j])]; ok {
						fmt.Fprintf(&b, " (dropped, likely reason: %s)", reason)
						break
					}
				}
			}
			for _, f := range findings[hk] {
				fmt.Fprintf(&b, "; %s", f)
			}
			notes.Add(s.Capture.Path, s.Index, b.String())
		}
	}
}
