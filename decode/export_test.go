package decode

// SetGzipGuardFloor lowers the size past which the gzip ratio guard looks,
// so that a test need not decompress 64 MB; it returns the restore.
func SetGzipGuardFloor(n int64) func() {
	old := gzipGuardFloor
	gzipGuardFloor = n
	return func() { gzipGuardFloor = old }
}
