package baseline

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub test
// reporters): <testsuites> of <testsuite> of <testcase>, a <failure> with
// a message and the diff as its text. Three suites: one test case per
// tolerance (does the comparison pass it?), per flow and per hop pair
// (did anything about it regress?). Tolerated changes are written to a
// passing case's <system-out>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the diff as JUnit XML. name names the run (the
// baseline file, typically); tol are the tolerances the diff was made
// with, named in the tolerance cases.
func WriteJUnit(w io.Writer, d Diff, tol Tolerances, name string) error {
	top := junitSuites{Name: "hoptrace check " + name}
	tolSuite := junitSuite{Name: "tolerances"}
	for _, tc := range toleranceCases(tol) {
		tolSuite.Cases = append(tolSuite.Cases, caseOf("tolerances", tc.name, changesOf(d, func(c Change) bool { return tc.kinds[c.Kind] })))
	}
	flows := junitSuite{Name: "flows"}
	for _, f := range d.Flows {
		flows.Cases = append(flows.Cases, caseOf("flows", f, changesOf(d, func(c Change) bool { return c.Flow == f })))
	}
	hops := junitSuite{Name: "hop pairs"}
	for _, h := range d.HopPairs {
		hops.Cases = append(hops.Cases, caseOf("hop pairs", h, changesOf(d, func(c Change) bool { return c.HopPair == h })))
	}
	for _, s := range []junitSuite{tolSuite, flows, hops} {
		s.Tests, s.Time = len(s.Cases), "0"
		for _, c := range s.Cases {
			if c.Failure != nil {
				s.Failures++
			}
		}
		top.Tests += s.Tests
		top.Failures += s.Failures
		top.Suites = append(top.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(top); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

type toleranceCase struct {
	name  string
	kinds map[Kind]bool
}

// toleranceCases are the tolerances as the flags name them, with the kinds
// of change each one judges.
func toleranceCases(tol Tolerances) []toleranceCase {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	return []toleranceCase{
		{fmt.Sprintf("latency (--latency-ratio %g, --latency-floor %s)", max(tol.LatencyRatio, 1), tol.LatencyFloor), map[Kind]bool{KindLatency: true}},
		{fmt.Sprintf("drops (--allow-new-drops %d)", tol.NewDrops), map[Kind]bool{KindDrop: true}},
		{"mtu findings (--allow-new-mtu " + onOff(tol.NewMTU) + ")", map[Kind]bool{KindMTU: true}},
		{"flows (--allow-flow-changes " + onOff(tol.FlowChanges) + ")", map[Kind]bool{KindFlow: true}},
		{"conntrack states and nat (--allow-state-changes " + onOff(tol.StateChanges) + ")", map[Kind]bool{KindState: true}},
		{"paths and capture points (--allow-path-changes " + onOff(tol.PathChanges) + ")", map[Kind]bool{KindPath: true, KindCapture: true}},
		{"input problems (never more than the baseline's)", map[Kind]bool{KindInput: true}},
	}
}

func changesOf(d Diff, keep func(Change) bool) []Change {
	var out []Change
	for _, c := range d.Changes {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// caseOf makes a test case that fails when any of cs is a regression;
// its text is the diff of those changes, the tolerated ones go to
// system-out.
func caseOf(class, name string, cs []Change) junitCase {
	jc := junitCase{Name: name, Classname: "hoptrace.check." + strings.ReplaceAll(class, " ", "_"), Time: "0"}
	var regs, tols []Change
	for _, c := range cs {
		if c.Regression {
			regs = append(regs, c)
		} else {
			tols = append(tols, c)
		}
	}
	if len(regs) > 0 {
		jc.Failure = &junitFailure{Type: "regression", Message: fmt.Sprintf("%d %s: %s", len(regs), plural(len(regs), "regression", "regressions"), regs[0].Subject), Text: diffText(regs)}
	}
	if len(tols) > 0 {
		jc.SystemOut = "tolerated:\n" + diffText(tols)
	}
	return jc
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// diffText writes changes as WriteText's columns.
func diffText(cs []Change) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSUBJECT\tBEFORE\tAFTER")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Kind, c.Subject, c.Before, c.After)
	}
	tw.Flush()
	return b.String()
}
