package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTextTableAsTablewriter: the table textTable draws itself is, byte
// for byte, the one tablewriter draws from the same cells: random tables
// of ASCII and of the non-ASCII the reports print (µ, arrows, ✕, names in
// other scripts, wide CJK and emoji), empty cells, headers wider than
// their columns and tables without rows, painted and not.
func TestTextTableAsTablewriter(t *testing.T) {
	words := []string{"", "1", "42", "n1-eth0", "10.244.1.5:8080", "12.3µs", "n1-eth0 → n2-eth0", "✕ 1 packet lost after this hop",
		"ünïcödé", "узел-1", "节点", "🙂 ok", "packets", "a b  c", "x|y", "-", "+", "(unknown)", "Ελλάδα", "ｆｕｌｌ"}
	rng := rand.New(rand.NewPCG(7, 8))
	paint := func(sev Severity, _ bool, l string) string { return fmt.Sprintf("<%d>%s</>", sev, l) }
	for n := range 300 {
		cols := 1 + rng.IntN(7)
		header := make([]string, cols)
		for i := range header {
			header[i] = fmt.Sprintf("%s%d", words[1+rng.IntN(len(words)-1)], i)
			if rng.IntN(3) == 0 {
				header[i] += ":"
			}
		}
		rows := make([][]string, rng.IntN(6))
		sevs := make([]Severity, len(rows))
		for i := range rows {
			rows[i] = make([]string, cols)
			for j := range rows[i] {
				rows[i][j] = words[rng.IntN(len(words))]
			}
			sevs[i] = Severity(rng.IntN(4))
		}
		names := make([]string, cols)
		for i, h := range header {
			names[i], _ = strings.CutSuffix(h, ":")
		}
		require.True(t, plainTable(names, rows), "table %d is drawn by textTable", n)
		for _, p := range []func(Severity, bool, string) string{paint, func(_ Severity, _ bool, l string) string { return l }} {
			var got, want bytes.Buffer
			textTable(&got, header, func(add func(...string)) {
				for _, r := range rows {
					add(r...)
				}
			}, sevs, p)
			tablewriterTable(&want, names, rows, sevs, p)
			require.Equal(t, want.String(), got.String(), "table %d: header %q rows %q", n, header, rows)
		}
	}
}

// TestTextTableFallback: cells textTable does not draw itself (a line
// break, blanks at an end) are drawn by tablewriter, not dropped.
func TestTextTableFallback(t *testing.T) {
	var got bytes.Buffer
	textTable(&got, []string{"a", "b"}, func(add func(...string)) { add(" x", "two\nlines") }, nil, nil)
	assert.Contains(t, got.String(), "two")
	assert.Contains(t, got.String(), "lines")
}

// TestTextTableGrowth: drawing a table costs allocations and bytes linear
// in its rows (tablewriter took 48 s for a table of 100k flows).
func TestTextTableGrowth(t *testing.T) {
	cost := func(n int) (mallocs, allocated uint64) {
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = []string{fmt.Sprint(i), "tcp", fmt.Sprintf("192.168.1.10:%d > 10.1.%d.%d:80", 40000+i%20000, i/256%256, i%256), "SYN_SENT", "1", "44"}
		}
		var before, after runtime.MemStats
		var out bytes.Buffer
		out.Grow(200 * n)
		runtime.GC()
		runtime.ReadMemStats(&before)
		textTable(&out, []string{"#", "proto", "orig", "state", "packets:", "bytes:"}, func(add func(...string)) {
			for _, r := range rows {
				add(r...)
			}
		}, nil, nil)
		runtime.ReadMemStats(&after)
		require.Equal(t, n+4, strings.Count(out.String(), "\n"), "header, three rules and a line per row")
		return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
	}
	sm, sb := cost(5000)
	lm, lb := cost(20000)
	t.Logf("allocations %d → %d (x%.2f), bytes %d → %d (x%.2f) for 4× the rows", sm, lm, float64(lm)/float64(sm), sb, lb, float64(lb)/float64(sb))
	assert.Less(t, float64(lm)/float64(sm), 5.0, "4× the rows must cost about 4× the allocations")
	assert.Less(t, float64(lb)/float64(sb), 5.0, "4× the rows must cost about 4× the bytes")
}

// plainTable reports whether textTable draws the table of these cells
// itself (see plainCells).
func plainTable(names []string, rows [][]string) bool {
	if !plainCells(names) || slices.Contains(names, "") {
		return false
	}
	for _, r := range rows {
		if len(r) != len(names) || !plainCells(r) {
			return false
		}
	}
	return true
}
