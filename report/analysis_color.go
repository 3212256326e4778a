package report

import (
	"bytes"
	"io"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// ANSI SGR sequences of the coloured table format.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
)

var sevColor = map[string]string{"bad": ansiRed, "warn": ansiYellow, "ok": ansiGreen}

// writeAnalysisTableColor writes the table format with the verdict, the
// drops and the MTU findings highlighted. It colours whole lines of the
// plain rendering, so the columns line up exactly as without colour.
func writeAnalysisTableColor(w io.Writer, res *analyze.Result) error {
	var plain bytes.Buffer
	if err := writeAnalysisTable(&plain, res); err != nil {
		return err
	}
	var out bytes.Buffer
	section, row := "", -1
	for line := range strings.Lines(plain.String()) {
		text := strings.TrimSuffix(line, "\n")
		color := ""
		switch {
		case strings.HasPrefix(text, "verdict: "):
			color = ansiBold + sevColor[severity(res)]
		case text == "DROPS" || text == "MTU AND FRAGMENTATION" || text == "WARNINGS":
			section, row = text, -1
			color = ansiBold
		case text != "" && !strings.HasPrefix(text, "|") && !strings.HasPrefix(text, "+") && !strings.HasPrefix(text, " "):
			section, row = text, -1
		case strings.HasPrefix(text, "|"):
			row++ // row 0 is the header
			if row == 0 {
				break
			}
			switch section {
			case "DROPS":
				if row-1 < len(res.Drops) {
					color = ansiRed
					if res.Drops[row-1].Reason == analyze.DropCaptureGap {
						color = ansiYellow
					}
				}
			case "MTU AND FRAGMENTATION":
				if row-1 < len(res.MTU) {
					color = sevColor[mtuSeverity(res.MTU[row-1].Kind)]
				}
			}
		case strings.HasPrefix(text, "  ") && section == "WARNINGS":
			color = ansiYellow
		}
		if color != "" && text != "" {
			out.WriteString(color + text + ansiReset + "\n")
		} else {
			out.WriteString(line)
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}
