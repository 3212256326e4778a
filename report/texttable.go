package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"
)

// textTable writes an ASCII table; header names ending in ":" are
// numbers. Each data row is one line (no wrapping), painted with its
// severity.
//
// The table is drawn here, in one pass over the rows once the column
// widths are known, as tablewriter v1.1 with the ASCII style, header
// auto-format off and no wrapping draws it (TestTextTableAsTablewriter
// compares the two): tablewriter spent about 30 µs per row and buffered
// the whole table twice, 31 s and most of 7.7 GB for the waterfalls and
// flow table of a 1M-flow SYN scan. Cells this writer cannot draw the
// same way (line breaks, tabs, escapes, leading or trailing blanks) go to
// tablewriter.
func textTable(w io.Writer, header []string, fill func(add func(...string)), sevs []Severity, paint func(Severity, bool, string) string) {
	names := make([]string, len(header))
	for i, h := range header {
		names[i], _ = strings.CutSuffix(h, ":")
	}
	// Two passes over the rows, neither keeping them: the column widths
	// (and whether this writer can draw the cells), then the lines. A
	// 1M-flow scan's flow table made row by row (Section.row) is never
	// held whole: about 350 bytes a flow.
	plain := plainCells(names) && !slices.Contains(names, "")
	widths := make([]int, len(names))
	for i, h := range names {
		widths[i] = cellWidth(h)
	}
	fill(func(cells ...string) {
		if !plain {
			return
		}
		if len(cells) != len(names) || !plainCells(cells) {
			plain = false
			return
		}
		for i, c := range cells {
			widths[i] = max(widths[i], cellWidth(c))
		}
	})
	if !plain {
		var rows [][]string
		fill(func(cells ...string) { rows = append(rows, cells) })
		tablewriterTable(w, names, rows, sevs, paint)
		return
	}
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
		defer bw.Flush()
	}
	var rule []byte
	rule = append(rule, '+')
	for _, wd := range widths {
		rule = append(rule, strings.Repeat("-", wd+2)...)
		rule = append(rule, '+')
	}
	rule = append(rule, '\n')
	bw.Write(rule)
	var line []byte
	// row draws one line of cells, centred (the header) or left-aligned.
	row := func(cells []string, centre bool) []byte {
		line = append(line[:0], '|')
		for i, wd := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := wd - cellWidth(c)
			left := 0
			if centre {
				left = pad / 2
			}
			line = append(line, ' ')
			line = appendSpaces(line, left)
			line = append(line, c...)
			line = appendSpaces(line, pad-left)
			line = append(line, ' ', '|')
		}
		return line
	}
	bw.Write(row(names, true))
	bw.WriteByte('\n')
	bw.Write(rule)
	i := 0
	fill(func(cells ...string) {
		l := row(cells, false)
		if i < len(sevs) && sevs[i] >= SevWarn {
			bw.WriteString(paint(sevs[i], false, string(l)))
		} else {
			bw.Write(l)
		}
		bw.WriteByte('\n')
		i++
	})
	if i > 0 {
		bw.Write(rule)
	}
}

func appendSpaces(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// cellWidth is a cell's width on a terminal, as tablewriter measures it:
// its length when it is printable ASCII.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return twwidth.Width(s)
		}
	}
	return len(s)
}

// plainCells reports whether textTable draws these cells itself, a
// header's names or a row's cells: at least one, no control characters
// (line breaks, tabs, escapes), no blanks at either end of a cell, valid
// UTF-8. A table is drawn by textTable when its header is plain with no
// empty name and every row is plain with as many cells as the header.
func plainCells(cells []string) bool {
	if len(cells) == 0 {
		return false
	}
	for _, s := range cells {
		if s != strings.TrimSpace(s) || !utf8.ValidString(s) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				return false
			}
		}
	}
	return true
}

// tablewriterTable draws the table with tablewriter, for cells textTable
// does not draw itself.
func tablewriterTable(w io.Writer, names []string, rows [][]string, sevs []Severity, paint func(Severity, bool, string) string) {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(toAny(names)...)
	for _, r := range rows {
		t.Append(toAny(r)...)
	}
	t.Render()
	row := -2 // the header line is row -1
	for line := range strings.Lines(buf.String()) {
		text := strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(text, "|") {
			row++
			if row >= 0 && row < len(sevs) && sevs[row] >= SevWarn {
				text = paint(sevs[row], false, text)
			}
		}
		fmt.Fprintln(w, text)
	}
}
