package analyze_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoptrace/hoptrace/analyze"
)

// TestDropsRetransmittedAsKernelCounts: in the lab scenarios that drop
// pod A's TCP segments, every dropped segment that carried data was sent
// again once, so the drops' retransmitted counts add up to pod A's
// Tcp.RetransSegs; the flows' retransmission counts equal each pod's.
// Dropped pure ACKs (never resent) keep retransmitted below the packets.
func TestDropsRetransmittedAsKernelCounts(t *testing.T) {
	for _, name := range []string{"drops", "pmtud-blackhole", "underlay-loss"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "captures", name)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("lab scenario %s not committed", name)
			}
			var exp struct {
				SNMP map[string]map[string]int `json:"snmp"`
			}
			readJSON(t, filepath.Join(dir, "truth", "expect.json"), &exp)
			res := analyzeDir(t, dir)
			resent, dropped := 0, 0
			for _, d := range res.Drops {
				if d.Proto != analyze.ProtoTCP || d.Flow.Src != "10.244.0.5" || d.Direction != analyze.DirOrig {
					continue
				}
				assert.LessOrEqual(t, d.Retransmitted, d.Packets, "%+v", d)
				resent += d.Retransmitted
				dropped += d.Packets
			}
			assert.NotZero(t, dropped)
			assert.Equal(t, exp.SNMP["poda"]["Tcp.RetransSegs"], resent, "dropped segments sent again vs pod A's Tcp.RetransSegs")
			byPod := map[string]int{}
			for _, f := range res.Flows {
				if f.Proto == analyze.ProtoTCP && f.Tunnel == "" {
					byPod[f.Orig.Src] += f.OrigStats.Retransmits
					byPod[f.Reply.Src] += f.ReplStats.Retransmits
				}
			}
			assert.Equal(t, exp.SNMP["poda"]["Tcp.RetransSegs"], byPod["10.244.0.5"], "pod A's retransmissions")
			assert.Equal(t, exp.SNMP["podc"]["Tcp.RetransSegs"], byPod["10.244.1.5"], "pod C's retransmissions")
		})
	}
}
