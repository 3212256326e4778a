package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/internal/outfile"
)

// writeOutput is how every command writes a file: through package outfile,
// which refuses a path that names one of inputs (the incident's captures)
// or a directory, device node or FIFO, writes "-" and /dev/stdout to the
// command's standard output, keeps an existing file's mode and hard links,
// and writes atomically. What it replaced is said on standard error. A
// refused path or a failed write is exit 2, its error naming the path.
func writeOutput(cmd *cobra.Command, path string, inputs []string, render func(io.Writer) error) error {
	err := outfile.Write(path, outputOptions(cmd, inputs), render)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("write output: %w", err)}
	}
	return nil
}

func outputOptions(cmd *cobra.Command, inputs []string) outfile.Options {
	stderr := cmd.ErrOrStderr()
	return outfile.Options{
		Inputs: inputs,
		Stdout: cmd.OutOrStdout(),
		Note:   func(msg string) { fmt.Fprintln(stderr, "hoptrace: note:", msg) },
	}
}
