//go:build !amd64 && !arm64

package decode

func prefetchLines(p uintptr) {}
