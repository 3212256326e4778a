package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// outputFlags choose where a command's report goes and whether it may be
// coloured.
type outputFlags struct {
	out     string
	noColor bool
}

func (f *outputFlags) register(cmd *cobra.Command, color bool) {
	cmd.Flags().StringVar(&f.out, "out", "", "write the report to `FILE` instead of stdout (atomically; never over an input, a directory, device or FIFO; - is stdout)")
	if color {
		cmd.Flags().BoolVar(&f.noColor, "no-color", false, "never colour the table format (it is coloured only on a terminal, and not when NO_COLOR is set)")
	}
}

// color reports whether table output to w may carry ANSI colours: only on a
// terminal, never into a file, never with --no-color, NO_COLOR or TERM=dumb.
func (f *outputFlags) color(w io.Writer) bool {
	if f.noColor || f.out != "" || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// paths returns the file --out names, if any, for analyzeFlags.outputs.
func (f *outputFlags) paths() []string {
	if f.out == "" {
		return nil
	}
	return []string{f.out}
}

// write runs render on stdout, or with --out through writeOutput, which
// refuses to replace any of inputs.
func (f *outputFlags) write(cmd *cobra.Command, inputs []string, render func(io.Writer) error) error {
	if f.out == "" {
		if err := render(cmd.OutOrStdout()); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("write output: %w", err)}
		}
		return nil
	}
	return writeOutput(cmd, f.out, inputs, render)
}
