package analyze

// SetBatchLen sets how many sightings a reader's batch holds, and how many
// packets a batch for the aggregating goroutine holds, and returns a
// function restoring them.
func SetBatchLen(n int) func() {
	old, oldAgg := batchLen, aggBatchLen
	batchLen, aggBatchLen = n, n
	return func() { batchLen, aggBatchLen = old, oldAgg }
}

// SetLocalTupleGen sets how many tuples a reader numbers before it
// forgets them all, and returns a function restoring it.
func SetLocalTupleGen(n int) func() {
	old := localTupleGen
	localTupleGen = n
	return func() { localTupleGen = old }
}

// SetPhaseHook sets the function Analyze calls on entering each phase
// and returns a function restoring it.
func SetPhaseHook(f func(phase string)) func() {
	old := phaseHook
	phaseHook = f
	return func() { phaseHook = old }
}

// SetFoldIdle sets how long a flow must be idle to be folded (0: after
// each of its packets, math.MaxInt64: never) and returns a function
// restoring it.
func SetFoldIdle(ns int64) func() {
	old := foldIdleOverride
	foldIdleOverride = ns
	return func() { foldIdleOverride = old }
}

// SetIdleWorkers leaves the main pass' workers unstarted, so that the
// merging goroutine does their work, and returns a function restoring it.
func SetIdleWorkers(on bool) func() {
	old := idleWorkers
	idleWorkers = on
	return func() { idleWorkers = old }
}
