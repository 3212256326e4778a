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
