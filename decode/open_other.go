//go:build !unix

package decode

import "os"

func openFile(path string) (*os.File, error) { return os.Open(path) }
