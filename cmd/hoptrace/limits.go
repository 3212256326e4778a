package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/decode"
)

// limitFlags bound what one capture may cost: record and block lengths,
// decompression ratio, and the memory of the whole run.
type limitFlags struct {
	maxRecord int
	maxRatio  int
	maxMemory string
}

func (l *limitFlags) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.IntVar(&l.maxRecord, "max-record-size", decode.DefaultMaxRecord, "longest packet record or pcapng packet taken, in bytes (libpcap's limit); longer ones are skipped as damage")
	f.IntVar(&l.maxRatio, "max-ratio", decode.DefaultMaxRatio, "a compressed capture (gzip, zstd, lz4, bzip2) may decompress to at most this many times its size (beyond 64 MB); 0: no limit")
	// Its name when gzip was the only compression read.
	f.IntVar(&l.maxRatio, "max-gzip-ratio", decode.DefaultMaxRatio, "the same as --max-ratio")
	f.MarkHidden("max-gzip-ratio")
	f.StringVar(&l.maxMemory, "max-memory", "", "stop with an error when the run's live memory exceeds `SIZE` (e.g. 2GiB, 500MB; default: none)")
}

// apply sets the limits before any capture is read.
func (l *limitFlags) apply() error {
	if l.maxRecord < 64 {
		return usageError("--max-record-size %d: must be at least 64", l.maxRecord)
	}
	if l.maxRatio < 0 {
		return usageError("--max-ratio %d: must not be negative", l.maxRatio)
	}
	lim := decode.Limits{MaxRecord: l.maxRecord, MaxRatio: l.maxRatio}
	if l.maxRatio == 0 {
		lim.MaxRatio = -1
	}
	decode.DefaultLimits = lim
	if l.maxMemory != "" {
		n, err := parseSize(l.maxMemory)
		if err != nil {
			return usageError("--max-memory: %w", err)
		}
		setMemoryBudget(n)
		startMemoryWatch(n)
	}
	return nil
}

// readProblems reports on stderr what the reader of f recovered from and
// the clock steps it found; it returns how many there were.
func readProblems(stderr io.Writer, f *decode.File) int {
	recs, n := f.Recoveries()
	for _, r := range recs {
		fmt.Fprintln(stderr, "hoptrace: warning:", f.Describe(r))
	}
	if n > len(recs) {
		fmt.Fprintf(stderr, "hoptrace: warning: %s: %d more damaged records or blocks skipped (%d bytes in all)\n", f.Path, n-len(recs), f.Skipped())
	}
	steps, m := f.ClockSteps()
	for _, s := range steps {
		fmt.Fprintln(stderr, "hoptrace: warning:", f.DescribeStep(s))
	}
	if m > len(steps) {
		fmt.Fprintf(stderr, "hoptrace: warning: %s: %d more clock steps\n", f.Path, m-len(steps))
	}
	return n + m
}
