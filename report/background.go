package report

import (
	"strconv"

	"github.com/hoptrace/hoptrace/analyze"
)

// backgroundHeader and backgroundRows are the "Background" section of the
// table and markdown reports: the traffic counted per hop rather than
// followed (ND, MLD, ARP, DHCP, link-local and multicast chatter), one row
// per node, hop and kind, as analyze sorts them. A header ending in ":" is
// numeric.
var backgroundHeader = []string{"node", "hop", "kind", "packets:", "bytes:"}

func backgroundRows(res *analyze.Result) [][]string {
	rows := make([][]string, 0, len(res.Background))
	for _, b := range res.Background {
		rows = append(rows, []string{b.Node, b.Hop, b.Kind.String(), strconv.Itoa(b.Packets), strconv.FormatInt(b.Bytes, 10)})
	}
	return rows
}

// plainHeader drops the numeric marks of a header for the table report.
func plainHeader(h []string) []string {
	out := make([]string, len(h))
	for i, s := range h {
		if n := len(s); n > 0 && s[n-1] == ':' {
			s = s[:n-1]
		}
		out[i] = s
	}
	return out
}
