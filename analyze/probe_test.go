package analyze_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// TestTracerouteProbes: ping -t 1 then ping -t 2 from pod A to pod C, and
// the same with -6 and hop limits, as realistic-vxlan sends them: the runs
// share one echo identifier and sequence numbers, so a TTL-1 and a TTL-2
// probe differ only in TTL and in the send time their payload carries. A
// TTL-2 probe is seen with TTL 2 in node-1 and with 1 past node-1's router
// and expires at node-2's: one packet, whose path ends at n2-flannel.1 and
// whose drop is a ttl drop between n2-flannel.1 and n2-cni0. A TTL-1 probe
// expires at node-1's router, after n1-cni0.
func TestTracerouteProbes(t *testing.T) {
	b := &incidentBuilder{}
	const id = 5611
	payload := func(sent int64) []byte {
		p := make([]byte, 56)
		p[0], p[1], p[2] = byte(sent), byte(sent>>8), byte(sent>>16) // the send time
		for i := 16; i < len(p); i++ {
			p[i] = byte(i)
		}
		return p
	}
	probe4 := func(ttl uint8, seq uint32, sent int64) func(uint8) []byte {
		return func(hopTTL uint8) []byte {
			return ft.Eth(0x0800, ft.IP4(podA, podC, 1, ft.ICMP(8, 0, id<<16|seq, payload(sent)), ft.IP4Opt{TTL: hopTTL, ID: uint16(0x6600 + sent)}))
		}
	}
	probe6 := func(seq uint32, sent int64) func(uint8) []byte {
		return func(hopTTL uint8) []byte {
			return ip6(podA6, podC6, 58, hopTTL, ft.ICMP(128, 0, id<<16|seq, payload(sent)))
		}
	}
	// Datagrams of each family that cross every hop before and after: the
	// captures cover the probes, and the path the probes would have taken
	// past their expiry is known.
	udp := func(ttl uint8) []byte {
		return ip4(podA, podC, 17, ttl, 7, ft.UDP(5000, 6000, []byte("covering datagram")))
	}
	udp6 := func(ttl uint8) []byte {
		return ip6(podA6, podC6, 17, ttl, ft.UDP(5000, 6000, []byte("covering datagram")))
	}
	b.crossPodToC("poda-eth0", 1000, udp)
	b.crossPodToC("poda-eth0", 2000, udp6)
	// sendProbe sends a probe built by mk with initial TTL ttl, seen at
	// each hop while its TTL lasts.
	sendProbe := func(us int64, ttl uint8, mk func(uint8) []byte) {
		b.see("node-1", "poda-eth0", us, mk(ttl))
		for i, h := range n1Out {
			if h.dttl >= ttl {
				return
			}
			f := mk(ttl - h.dttl)
			if h.vxlan {
				f = inVXLAN(node1, node2, f)
			}
			b.see("node-1", h.hop, us+int64(10*(i+1)), f)
		}
		for i, h := range n2In {
			if h.dttl >= ttl {
				return
			}
			f := mk(ttl - h.dttl)
			if h.vxlan {
				f = inVXLAN(node1, node2, f)
			}
			b.see("node-2", h.hop, us+int64(40+10*i), f)
		}
	}
	for seq := range uint32(2) {
		sendProbe(10_000+int64(seq)*1000, 1, probe4(1, seq+1, 10+int64(seq)))
		sendProbe(20_000+int64(seq)*1000, 2, probe4(2, seq+1, 20+int64(seq)))
		sendProbe(30_000+int64(seq)*1000, 1, probe6(seq+1, 30+int64(seq)))
		sendProbe(40_000+int64(seq)*1000, 2, probe6(seq+1, 40+int64(seq)))
	}
	b.crossPodToC("poda-eth0", 90_000, udp)
	b.crossPodToC("poda-eth0", 91_000, udp6)

	var paths [][]string
	res, err := analyze.Analyze(b.write(t, t.TempDir()), analyze.Options{Trace: func(tr *analyze.Trace) {
		if tr.Proto == analyze.ProtoUDP {
			return
		}
		var p []string
		for _, s := range tr.Sightings {
			p = append(p, s.Point)
		}
		paths = append(paths, p)
	}})
	require.NoError(t, err)
	ttl1 := []string{"poda-eth0", "n1-cni0"}
	ttl2 := []string{"poda-eth0", "n1-cni0", "n1-flannel.1", "n1-eth0", "n2-eth0", "n2-flannel.1"}
	assert.ElementsMatch(t, [][]string{ttl1, ttl1, ttl2, ttl2, ttl1, ttl1, ttl2, ttl2}, paths, "each probe one packet, on its own path")

	type drop struct {
		from, to string
		proto    analyze.Proto
		packets  int
		reason   string
	}
	var got []drop
	for _, d := range res.Drops {
		got = append(got, drop{d.From, d.To, d.Proto, d.Packets, d.Reason.String()})
	}
	assert.ElementsMatch(t, []drop{
		{"n1-cni0", "n1-flannel.1", analyze.ProtoICMP, 2, "ttl"},
		{"n2-flannel.1", "n2-cni0", analyze.ProtoICMP, 2, "ttl"},
		{"n1-cni0", "n1-flannel.1", analyze.ProtoICMPv6, 2, "ttl"},
		{"n2-flannel.1", "n2-cni0", analyze.ProtoICMPv6, 2, "ttl"},
	}, got)
}

// TestPathsOrderedByFlowTime: two connections on one tuple (the second
// reopens it after a reset) have a path each; the paths come in the
// order of the connections, every time, whatever order the analysis
// happens to hold them in.
func TestPathsOrderedByFlowTime(t *testing.T) {
	b := &incidentBuilder{}
	seg := func(us int64, hops []string, src, dst string, sport, dport uint16, flags uint8, seq, ack uint32, id uint16) {
		for i, h := range hops {
			b.see("node-1", h, us+int64(10*i), ip4(src, dst, 6, 64, id, ft.TCP(sport, dport, flags, seq, ack, 0, 0)))
		}
	}
	both, pod := []string{"poda-eth0", "n1-cni0"}, []string{"poda-eth0"}
	seg(1000, both, podA, podB, 40000, 80, 0x02, 100, 0, 1)    // SYN
	seg(2000, both, podB, podA, 80, 40000, 0x12, 500, 101, 2)  // SYN-ACK
	seg(3000, both, podA, podB, 40000, 80, 0x10, 101, 501, 3)  // ACK
	seg(4000, both, podA, podB, 40000, 80, 0x04, 101, 0, 4)    // RST
	seg(900_000, pod, podA, podB, 40000, 80, 0x02, 9000, 0, 5) // a new SYN, seen in the pod only
	b.see("node-1", "n1-cni0", 950_000, ip4(podB, podA, 17, 64, 9, ft.UDP(53, 53, []byte("n1-cni0 still capturing"))))
	caps := b.write(t, t.TempDir())
	for range 20 {
		res, err := analyze.Analyze(caps, analyze.Options{})
		require.NoError(t, err)
		var orig [][]string
		for _, p := range res.Paths {
			if p.Flow.SPort == 40000 && p.Direction == analyze.DirOrig {
				orig = append(orig, p.Hops)
			}
		}
		require.Equal(t, [][]string{both, pod}, orig)
	}
}
