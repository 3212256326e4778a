//go:build amd64 || arm64

package decode

// prefetchLines asks the CPU to start loading the three cache lines from p
// on, and returns without waiting for them. It never faults.
//
//go:noescape
func prefetchLines(p uintptr)
