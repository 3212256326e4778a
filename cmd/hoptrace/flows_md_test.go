package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlowsMarkdown: the flow table pastes into a ticket as a GitHub table,
// one row per connection, with the DNAT node-1's conntrack recorded for the
// service-dnat scenario (10.96.0.10:80 -> 10.244.1.5:8080, 3 connections).
func TestFlowsMarkdown(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "captures", "service-dnat")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no lab captures")
	}
	code, stdout, stderr := hoptrace(t, "flows", "-o", "markdown", dir)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "| # | proto | orig | reply | state |")
	assert.Equal(t, 3, strings.Count(stdout, "| dnat 10.96.0.10:80 → 10.244.1.5:8080 |"))
	assert.Equal(t, 3, strings.Count(stdout, "TIME_WAIT [ASSURED]"))
}
