package decode

import (
	"os"
	"syscall"
)

// mapFile maps all size bytes of f read-only, or returns nil when it
// cannot: the file is empty, not regular (size -1), or too large to map.
// Reading a mapped capture hands out views of the page cache instead of
// copying every packet into a buffer, which for full-size frames was most
// of the cost of reading.
func mapFile(f *os.File, size int64) []byte {
	if size <= 0 || size != int64(int(size)) {
		return nil
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	syscall.Madvise(mem, syscall.MADV_SEQUENTIAL)
	return mem
}

// unmapFile undoes mapFile.
func unmapFile(mem []byte) { syscall.Munmap(mem) }

// releaseMapped drops the pages of mem, which has been read, from the
// process: they stay in the page cache, but no longer count against the
// process's resident memory, which would otherwise grow to the size of the
// file. Reading them again maps them again.
func releaseMapped(mem []byte) { syscall.Madvise(mem, syscall.MADV_DONTNEED) }
