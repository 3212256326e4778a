//go:build !linux

package decode

import "os"

// mapFile maps captures on Linux only; elsewhere they are read.
func mapFile(*os.File, int64) []byte { return nil }

func unmapFile([]byte) {}

func releaseMapped([]byte) {}
