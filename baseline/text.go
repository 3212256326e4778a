package baseline

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText writes the diff for a person reading a CI log: the
// regressions, then the tolerated changes, each as aligned columns of
// kind, subject, before and after. It writes nothing for an empty diff.
func WriteText(w io.Writer, d Diff) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 8, 2, ' ', 0)
	section := func(title string, cs []Change) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(tw, "%s (%d)\n", title, len(cs))
		fmt.Fprintln(tw, "  KIND\tSUBJECT\tBEFORE\tAFTER")
		for _, c := range cs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Kind, c.Subject, c.Before, c.After)
		}
	}
	regs, tols := d.Regressions(), d.Tolerated()
	section("REGRESSIONS", regs)
	if len(regs) > 0 && len(tols) > 0 {
		fmt.Fprintln(tw)
	}
	section("TOLERATED", tols)
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

// errWriter keeps the first write error; later writes do nothing.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
