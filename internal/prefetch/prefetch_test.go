package prefetch

import "testing"

// TestNeverFaults prefetches what must not be read: nothing, the null
// page, past the end of a slice and the top of the address space. A
// prefetch that faulted would crash the test.
func TestNeverFaults(t *testing.T) {
	b := make([]byte, 100)
	Slice(b)
	Slice([]int64(nil))
	Range(0, 4096)
	Lines(0)
	Range(uintptr(len(b)), 1<<20)
	Lines(^uintptr(0) - 64)
	Range(^uintptr(0)-1<<12, 1<<10)
}
