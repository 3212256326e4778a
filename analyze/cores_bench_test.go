package analyze_test

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/incident"
)

// BenchmarkCores predicts the wall time of the analysis of an incident on
// GOMAXPROCS idle cores from CPU times, which a busy machine stretches far
// less than wall times. Analyze runs on the benchmark's goroutine, locked
// to its thread: the merging goroutine, whose thread CPU time (getrusage
// RUSAGE_THREAD) is read as it enters each phase, against the process'.
// A phase cannot end before the merging goroutine's work in it, nor
// before the rest of the work, spread over the other goroutines: the
// workers (GOMAXPROCS-1 of them) in the main pass, the one reading
// goroutine in the clock pass.
//
//	predicted wall = sum over phases of max(merge CPU, (process CPU - merge CPU) / others)
//
// (process CPU / GOMAXPROCS in place of the second term, as before the
// workers, predicted 0.54-0.60 where a quiet machine measured 0.70.) At
// GOMAXPROCS=1 that is the CPU time; the ratio of the predictions at
// -cpu 1 and -cpu 2 is issue 15's figure (bench/cores.sh prints it). The
// incident is the directory HOPTRACE_CORES_INCIDENT names (bench/cores.sh
// generates the 10.5M-sighting one).
//
//	HOPTRACE_CORES_INCIDENT=bench/out/incident-700000 go test -run '^$' -bench Cores -benchtime 3x -cpu 1 ./analyze
//
// and again with -cpu 2. One run with -cpu 1,2 measured its first value
// at the GOMAXPROCS the test started with (Go 1.26: testing probes a
// benchmark once before it sets GOMAXPROCS for the first -cpu value, and
// that call runs the whole b.Loop); the "procs" metric says what each ran
// at.
func BenchmarkCores(b *testing.B) {
	dir := os.Getenv("HOPTRACE_CORES_INCIDENT")
	if dir == "" {
		b.Skip("HOPTRACE_CORES_INCIDENT names no incident directory (bench/cores.sh sets it)")
	}
	inc, err := incident.Open([]string{dir}, incident.Options{})
	if err != nil {
		b.Fatal(err)
	}
	phases := []string{"open", "clock", "main", "result"}
	type mark struct{ thread, proc, wall int64 }
	var marks []mark
	take := func() {
		marks = append(marks, mark{threadCPU(), cpuTime(), time.Now().UnixNano()})
	}
	defer analyze.SetPhaseHook(func(string) { take() })()
	// The collector off, as hoptrace runs it (cmd/hoptrace/gc.go) while
	// the heap stays small. Its own figures are not the pipeline's.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	procs := float64(runtime.GOMAXPROCS(0))
	type figures struct{ merge, proc, wall, pred [4]float64 }
	var best figures
	bestPred := math.Inf(1)
	for b.Loop() {
		runtime.GC() // the last analysis' garbage is not this one's
		marks = marks[:0]
		take()
		if _, err := analyze.Analyze(inc.Captures, analyze.Options{}); err != nil {
			b.Fatal(err)
		}
		if len(marks) != len(phases)+1 {
			b.Fatalf("%d phase marks, want %d", len(marks), len(phases)+1)
		}
		var f figures
		pred := 0.0
		for i := range phases {
			f.merge[i] = float64(marks[i+1].thread-marks[i].thread) / 1e9
			f.proc[i] = float64(marks[i+1].proc-marks[i].proc) / 1e9
			f.wall[i] = float64(marks[i+1].wall-marks[i].wall) / 1e9
			others := max(procs-1, 1)
			if phases[i] == "clock" {
				others = 1
			}
			if procs == 1 {
				f.pred[i] = f.proc[i]
			} else {
				f.pred[i] = max(f.merge[i], (f.proc[i]-f.merge[i])/others)
			}
			pred += f.pred[i]
		}
		if pred < bestPred {
			best, bestPred = f, pred
		}
	}
	// The run predicting the least: on a busy machine every figure is
	// stretched (caches shared, cores contended), the least the least.
	var tm, tp, tw float64
	for i, ph := range phases {
		if ph == "open" {
			continue // under a millisecond
		}
		b.ReportMetric(best.merge[i], ph+"-merge-cpu-s")
		b.ReportMetric(best.proc[i], ph+"-cpu-s")
		tm, tp, tw = tm+best.merge[i], tp+best.proc[i], tw+best.wall[i]
	}
	b.ReportMetric(tm, "merge-cpu-s")
	b.ReportMetric(tp, "cpu-s")
	b.ReportMetric(tw, "wall-s")
	b.ReportMetric(bestPred, "predicted-wall-s")
	b.ReportMetric(procs, "procs")
}

// rusageThread is Linux's RUSAGE_THREAD, which package syscall does not
// name: the calling thread's usage.
const rusageThread = 1

// threadCPU returns the calling thread's user and system CPU time in ns.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
