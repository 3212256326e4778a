package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// --max-memory is a budget for the whole run, watched rather than
// estimated: what an analysis holds follows its input in ways no count of
// packets or flows predicts (the correlation window, open packets, flows,
// hops), so a watchdog reads the heap every memTick and, once the heap's
// objects pass the budget, collects and looks at what is live. A live
// heap above the budget ends the run at once with exit 2 and a message
// naming the budget, before the machine starts swapping or the kernel's
// OOM killer ends it without a word. The heap passing the budget for a
// moment costs one forced collection; garbage never counts.
const memTick = 50 * time.Millisecond

// memStderr and memExit are where the watchdog says why it ends the run,
// and how; tests replace memExit.
var (
	memStderr io.Writer = os.Stderr
	memExit             = func() { stopProfile(); os.Exit(exitUsage) }
	memOnce   sync.Once
)

// startMemoryWatch starts the watchdog for a budget of limit bytes. It
// looks once before returning, then every memTick.
func startMemoryWatch(limit int64) {
	memOnce.Do(func() {
		if overBudget(limit) {
			return
		}
		go func() {
			for range time.Tick(memTick) {
				if overBudget(limit) {
					return
				}
			}
		}()
	})
}

// overBudget reports whether the live heap exceeds limit, having ended the
// run with a message (memExit) when it does.
func overBudget(limit int64) bool {
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(heap)
	if int64(heap[0].Value.Uint64()) <= limit {
		return false
	}
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	n := int64(live[0].Value.Uint64())
	if n <= limit {
		return false
	}
	fmt.Fprintf(memStderr, "hoptrace: the input needs more memory than --max-memory %s allows (%s live); "+
		"raise it, or analyse less at once: fewer captures, a filter expression, a shorter --window\n", formatSize(limit), formatSize(n))
	memExit()
	return true
}

// parseSize reads a size: a number of bytes with an optional unit, B, KB,
// MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, e.g. 2GiB or 500MB", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, errors.New("size " + strconv.Quote(s) + ": unknown unit " + strconv.Quote(unit))
	}
	return int64(v * mult), nil
}

// formatSize writes a byte count in KiB, MiB or GiB.
func formatSize(n int64) string {
	if n < 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	if n >= 1<<30 {
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
