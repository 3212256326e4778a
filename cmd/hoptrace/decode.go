package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/filter"
	"github.com/hoptrace/hoptrace/report"
)

func newDecodeCmd() *cobra.Command {
	var (
		vxlanPorts []uint
		format     string
		stats      bool
		filterExpr string
	)
	cmd := &cobra.Command{
		Use:   "decode [flags] FILE... [EXPRESSION]",
		Short: "Print every packet with each encapsulation layer kept apart",
		Long: `Decode prints every packet of the given pcap or pcapng files (plain or
compressed with gzip, zstd, lz4 or bzip2), outermost header first, with each tunnel between the IP
headers it joins. VXLAN is decoded on UDP 4789 and 8472 (flannel) and on any
port given with --vxlan-port; Geneve on 6081; IP-in-IP, 6in4, 4in6, GRE,
GRE/TEB, ERSPAN and PPTP by protocol number.

Files are printed one after the other, packets in file order. With --stats
only a count of the packets of each capture point is printed.

A filter expression (after the files, as with tcpdump, or with --filter)
keeps only the packets it matches; by default it looks at the innermost
headers. See the README for the language.`,
		Example: `  hoptrace decode testdata/captures/cross-vxlan/node-1/n1-eth0.pcap
  hoptrace decode -o json --vxlan-port 4790 testdata/captures/cross-vxlan/node-1/n1-any.pcap
  hoptrace decode --stats testdata/captures/drops/node-*/*.pcap
  hoptrace decode testdata/captures/drops/node-1/n1-eth0.pcap host 10.244.1.5 and port 8080`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, flt, err := splitFilter(filterExpr, args, false)
			if err != nil {
				return err
			}
			d := decode.NewDecoder()
			for _, p := range vxlanPorts {
				if p == 0 || p > 65535 {
					return usageError("--vxlan-port %d: not a UDP port", p)
				}
				d.AddVXLANPort(uint16(p))
			}
			w, err := report.NewPacketWriter(format, cmd.OutOrStdout())
			if err != nil {
				return usageError("%w", err)
			}
			if stats {
				w = report.NewPacketStats(cmd.OutOrStdout())
			}
			code := exitOK
			for _, path := range paths {
				code = max(code, decodeFile(cmd.ErrOrStderr(), d, w, path, flt))
			}
			if err := w.Flush(); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("write output: %w", err)}
			}
			if code != exitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().UintSliceVar(&vxlanPorts, "vxlan-port", nil, "also decode this UDP port as VXLAN (repeatable)")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&stats, "stats", false, "print only packet counts per capture point")
	addFilterFlag(cmd, &filterExpr)
	return cmd
}

// decodeFile writes every packet of one file that flt matches (a nil flt
// matches all) and returns the exit code it earns. Problems are reported on
// stderr; what was read is kept.
func decodeFile(stderr io.Writer, d *decode.Decoder, w report.PacketWriter, path string, flt *filter.Filter) int {
	f, err := decode.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "hoptrace:", err)
		return exitUsage
	}
	defer f.Close()
	var (
		packets, damaged int
		code             = exitOK
	)
	if counter, ok := w.(report.PacketCounter); ok && flt == nil {
		packets, damaged, err = countFile(d, f, counter)
	} else {
		packets, damaged, err = writeFile(d, f, w, flt)
	}
	if !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "hoptrace: warning: %v (%d packets read before it are kept)\n", err, packets)
		code = exitProblems
	}
	if damaged > 0 {
		fmt.Fprintf(stderr, "hoptrace: warning: %s: %d of %d packets are malformed\n", path, damaged, packets)
		code = exitProblems
	}
	if readProblems(stderr, f) > 0 {
		code = exitProblems
	}
	return code
}

// writeFile decodes the packets of f and writes those flt matches (a nil
// flt matches all) to w. It returns how many packets it read, how many of
// them are malformed, and the error that ended the file (io.EOF at its
// end).
func writeFile(d *decode.Decoder, f *decode.File, w report.PacketWriter, flt *filter.Filter) (packets, damaged int, err error) {
	var rec decode.Record
	for {
		data, m, err := f.Next()
		if err != nil {
			return packets, damaged, err
		}
		d.Decode(&rec, data, m)
		packets++
		if rec.NProblem > 0 {
			damaged++
		}
		if flt.Match(&rec) {
			w.Write(f.Point(&rec), &rec)
		}
	}
}

// countFile is writeFile for a counter and no filter: File.Count counts
// the packets of each run of one capture point, classifying rather than
// decoding those of the common shapes, and the counts go to the counter
// a run at a time.
func countFile(d *decode.Decoder, f *decode.File, counter report.PacketCounter) (packets, damaged int, err error) {
	err = f.Count(d, func(point string, c decode.Counts) {
		counter.Count(point, report.PacketCounts(c))
		packets, damaged = packets+c.Packets, damaged+c.Malformed
	})
	return packets, damaged, err
}
