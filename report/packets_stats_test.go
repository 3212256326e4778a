package report

import (
	"bytes"
	"testing"

	"github.com/hoptrace/hoptrace/decode"
)

func TestPacketStats(t *testing.T) {
	var out bytes.Buffer
	w := NewPacketStats(&out)
	w.Write("n1-eth0", &decode.Record{NTunnel: 1})
	w.Write("n2-eth0", &decode.Record{NProblem: 1})
	w.Write("n1-eth0", &decode.Record{Snapped: true})
	w.Write("n1-eth0", &decode.Record{})
	w.Count("n3-eth0", PacketCounts{Packets: 5, Malformed: 1, Snapped: 2, Tunneled: 3})
	w.Count("n1-eth0", PacketCounts{Packets: 2, Tunneled: 2})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `capture  packets  malformed  snapped  tunneled
n1-eth0  5        0          1        3
n2-eth0  1        1          0        0
n3-eth0  5        1          2        3
`
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
