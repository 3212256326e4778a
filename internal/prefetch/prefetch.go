// Package prefetch asks the CPU to start loading memory into its caches
// ahead of its use, and returns without waiting for it. A prefetch is a
// hint: it never faults, whatever the address (unmapped, past the end of
// an allocation), and may be dropped. On other architectures than amd64
// and arm64 it does nothing.
//
// Each use says at its site what it measured to pay.
package prefetch

import "unsafe"

// Slice starts loading the cache lines s's elements occupy.
func Slice[T any](s []T) {
	if len(s) > 0 {
		Range(uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(len(s))*unsafe.Sizeof(s[0]))
	}
}
