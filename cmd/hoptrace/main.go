// Command hoptrace follows packets across the capture points of a container
// network: which path each packet took, where it vanished, what each hop
// cost.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/hoptrace/hoptrace/decode"
)

// Exit codes, documented in README.md.
const (
	exitOK       = 0 // clean
	exitProblems = 1 // input problems found; partial results printed
	exitUsage    = 2 // unusable arguments or unreadable files
)

// exitError carries an exit code out of a command. A nil err means the
// command already said what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hoptrace",
		Short:         "Follow packets hop by hop through container network captures",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("hoptrace {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(newDecodeCmd(), newAnalyzeCmd(), newFlowsCmd(), newCheckCmd(), newMergeCmd(), newExportCmd())
	// A CPU profile of any command, for speed work: go tool pprof FILE.
	var profile string
	root.PersistentFlags().StringVar(&profile, "cpuprofile", "", "write a CPU profile to `FILE`")
	root.PersistentFlags().MarkHidden("cpuprofile")
	var limits limitFlags
	limits.register(root)
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := limits.apply(); err != nil {
			return err
		}
		if profile == "" {
			return nil
		}
		f, err := os.Create(profile)
		if err != nil {
			return usageError("cpu profile: %w", err)
		}
		profFile = f
		return pprof.StartCPUProfile(f)
	}
	return root
}

// profFile is the CPU profile being written, if any. run stops it however
// the command ends: cobra skips post-run hooks when a command fails.
var profFile *os.File

func stopProfile() {
	if profFile != nil {
		pprof.StopCPUProfile()
		profFile.Close()
		profFile = nil
	}
}

// version names this build: the module version when built by go install,
// else the VCS revision (with "+dirty" for uncommitted changes) when the
// build recorded one, else "devel".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return "devel-" + rev
}

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs hoptrace with the given arguments and returns its exit code.
func run(args []string, stdout, stderr io.Writer) (code int) {
	// Captures are mapped into memory. A file cut shorter while it is read
	// (a ring of captures rotated under hoptrace) faults where it used to
	// be; the reader looks for that every megabyte, and in between the
	// fault ends the run with a message, not a crash. Any other fault is a
	// bug, and crashes as one.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fault, ok := r.(interface{ Addr() uintptr })
			if !ok {
				panic(r)
			}
			path, off, ok := decode.MappedAt(fault.Addr())
			if !ok {
				panic(r)
			}
			fmt.Fprintf(stderr, "hoptrace: read capture %s at offset %d: the file shrank while it was read; run again on a copy\n", path, off)
			code = exitUsage
		}
	}()
	defer stopProfile()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "hoptrace:", ee.err)
		}
		return ee.code
	}
	// Cobra's own argument errors (unknown command, wrong arg count).
	fmt.Fprintln(stderr, "hoptrace:", err)
	return exitUsage
}
