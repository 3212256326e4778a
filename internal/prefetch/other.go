//go:build !amd64 && !arm64

package prefetch

// Lines starts loading the three cache lines from p on.
func Lines(p uintptr) {}

// Range starts loading the cache lines the n bytes from p on touch.
func Range(p, n uintptr) {}
