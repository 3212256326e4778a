//go:build unix

package outfile

import (
	"io/fs"
	"os"
	"syscall"
)

// linkCount returns how many hard links the file has.
func linkCount(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}

// keepOwner gives f the owner and group of the file it replaces, where the
// process may (as root); otherwise the new file is the caller's.
func keepOwner(f *os.File, was fs.FileInfo) {
	if s, ok := was.Sys().(*syscall.Stat_t); ok {
		f.Chown(int(s.Uid), int(s.Gid))
	}
}
