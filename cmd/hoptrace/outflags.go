package main

import (
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
	cmd.Flags().StringVar(&f.out, "out", "", "write the report to `FILE` (atomically: a temporary file beside it, renamed into place) instead of stdout")
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

// write runs render on stdout, or with --out on the file, atomically.
func (f *outputFlags) write(stdout io.Writer, render func(io.Writer) error) error {
	if f.out == "" {
		return render(stdout)
	}
	return writeAtomic(f.out, render)
}
