package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJobsFlag: --jobs 1 (one goroutine) and --jobs 3 print the same
// report and warnings with the same exit code; a negative count is a usage
// error.
func TestJobsFlag(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "captures", "drops")
	for _, format := range []string{"json", "table"} {
		code1, out1, err1 := hoptrace(t, "analyze", "--jobs", "1", "-o", format, dir)
		code3, out3, err3 := hoptrace(t, "analyze", "--jobs", "3", "-o", format, dir)
		assert.NotEmpty(t, out1)
		assert.Equal(t, code1, code3, format)
		assert.Equal(t, out1, out3, format)
		assert.Equal(t, err1, err3, format)
	}
	code, _, stderr := hoptrace(t, "analyze", "--jobs", "-1", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--jobs -1")
}
