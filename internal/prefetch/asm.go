//go:build amd64 || arm64

package prefetch

// Lines starts loading the three cache lines from p on.
//
//go:noescape
func Lines(p uintptr)

// Range starts loading the cache lines the n bytes from p on touch (p's
// line when n is 0).
//
//go:noescape
func Range(p, n uintptr)
