package decode

import (
	"fmt"
	"time"
)

// A clock step inside one capture — the node's clock set back or forward
// while tcpdump ran (an NTP step, a VM resumed, a battery-less board that
// found the time) — shows as one packet stamped far before or far after the
// one before it. The reader notes each (ClockSteps), and with
// File.Reanchor shifts the packets after it so that the file's timeline
// goes on from the packet before: an analysis would otherwise hold every
// packet after a step back open (nothing later can close them) and count
// every packet around a step forward as dropped.
const (
	// StepBack: a packet stamped more than this before the one before it.
	// Reordering within one capture (tcpdump -i any over several CPUs)
	// stays within milliseconds.
	StepBack = time.Second
	// StepForward: a packet stamped more than this after the one before
	// it. An idle capture goes quiet for minutes; a capture silent for
	// longer than this is taken as stepped, and the warning says so.
	StepForward = time.Hour
)

// ClockStep is one clock step inside a capture file.
type ClockStep struct {
	Offset int64 // where the first packet after the step starts
	// Before and After are the time stamps of the packet before the step
	// and of the one after it, as the file has them.
	Before, After int64
	// Shift is what Reanchor added to the time stamps from this step on
	// (all steps so far together); 0 without Reanchor.
	Shift int64
}

// Step returns the size of the step: negative when the clock went back.
func (s ClockStep) Step() time.Duration { return time.Duration(s.After - s.Before) }

// maxSteps is how many clock steps a file keeps in detail; it counts all.
const maxSteps = 16

// clockWatch follows the time stamps of one file for steps.
type clockWatch struct {
	// prev is the last time stamp plus stampBias; 0 before the first one
	// of the section, so that the first always takes the slow path.
	prev   int64
	off    int64 // where the last packet starts
	shift  int64 // added to time stamps, with Reanchor
	steps  []ClockStep
	nSteps int
}

// stampBias keeps a first time stamp (any time after 1824 BC) apart from
// "none yet" in clockWatch.prev.
const stampBias = 1 << 62

// see looks at the time stamp of the packet at off and, with Reanchor,
// shifts it; the reader calls it for every packet. The common case, a time
// stamp within StepBack before and StepForward after the one before, is
// one comparison, inlined; for the rest see returns false and the caller
// calls jump. Before, see was a call with two branches, 25 instructions
// per packet (7.5M of the 300k-packet incident's 721M, valgrind
// --tool=lackey).
func (c *clockWatch) see(m *Meta, off int64) bool {
	c.off = off
	ts := m.TS + stampBias
	if uint64(ts-c.prev+int64(StepBack)) > uint64(StepBack+StepForward) {
		return false
	}
	c.prev = ts
	m.TS += c.shift
	return true
}

// within is see for a caller that needs no shifted time stamp: it
// reports whether ts is within StepBack before and StepForward after the
// last one, and takes it as the last one if so.
func (c *clockWatch) within(ts int64) bool {
	ts += stampBias
	if uint64(ts-c.prev+int64(StepBack)) > uint64(StepBack+StepForward) {
		return false
	}
	c.prev = ts
	return true
}

// jump handles a time stamp that see did not: the first of the section, a
// missing one, or a step.
func (c *clockWatch) jump(f *File, m *Meta, off int64) {
	ts := m.TS
	if ts == 0 {
		return // no time stamp (a simple packet block)
	}
	if c.prev != 0 {
		d := ts - c.raw()
		if f.Reanchor {
			// The packet after the step follows the one before by a
			// microsecond: the gap is unknown.
			c.shift -= d - int64(time.Microsecond)
		}
		c.nSteps++
		if len(c.steps) < maxSteps {
			c.steps = append(c.steps, ClockStep{Offset: off, Before: c.raw(), After: ts, Shift: c.shift})
		}
	}
	c.prev = ts + stampBias
	m.TS += c.shift
}

// raw returns the last time stamp as the file has it; valid if started.
func (c *clockWatch) raw() int64 { return c.prev - stampBias }

// started reports whether the section has a time stamp yet.
func (c *clockWatch) started() bool { return c.prev != 0 }

// section starts a new pcapng section: it may be another capture
// concatenated to the first (mergecap -a), whose clock is its own.
func (c *clockWatch) section() { c.prev, c.shift = 0, 0 }

// Offset returns where the record Next returned last starts in the file
// (in the decompressed stream of a compressed file).
func (f *File) Offset() int64 { return f.clock.off }

// ClockSteps returns the first clock steps found in the file so far and
// how many there were in all.
func (f *File) ClockSteps() ([]ClockStep, int) { return f.clock.steps, f.clock.nSteps }

// DescribeStep says what a clock step of the file is, naming the file.
func (f *File) DescribeStep(s ClockStep) string {
	where := fmt.Sprintf("offset %d", s.Offset)
	if f.Compression != Uncompressed {
		where += " of the decompressed stream"
	}
	dir := "forward"
	if s.After < s.Before {
		dir = "back"
	}
	d := s.Step().Abs()
	msg := fmt.Sprintf("capture %s: the clock stepped %s by %v at %s (%s to %s)", f.Path, dir, d, where,
		time.Unix(0, s.Before).UTC().Format(time.RFC3339Nano), time.Unix(0, s.After).UTC().Format(time.RFC3339Nano))
	if f.Reanchor {
		msg += "; the packets after it are re-anchored to follow the one before, so latencies across it are estimates"
	}
	return msg
}
