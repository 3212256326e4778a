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
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `capture  packets  malformed  snapped  tunneled
n1-eth0  3        0          1        1
n2-eth0  1        1          0        0
`
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
