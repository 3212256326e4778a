//go:build unix

package decode

import (
	"os"
	"syscall"
)

// openFile opens a capture without blocking: opening a FIFO for reading
// waits for a writer, possibly forever, where a non-blocking open returns
// at once. A FIFO is then read as a stream, which ends when no writer is
// left (at once when none ever came).
func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
