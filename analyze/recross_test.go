package analyze_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// nodePortIncident: an outside host connects twice to node-2's NodePort
// 30080; node-2 DNATs to pod A on node-1 and SNATs to its flannel.1
// address, so each SYN enters node-2's eth0 plain and leaves the same eth0
// inside VXLAN (and each SYN-ACK the reverse). Each connection's first SYN
// is lost and sent again: connection 50001's after node-2 routed it into
// flannel.1 (seen at eth0's first crossing and at flannel.1, never at the
// second crossing), connection 50002's at eth0's first crossing (never at
// flannel.1).
func nodePortIncident() *incidentBuilder {
	b := &incidentBuilder{}
	bookends := []struct{ node, hop string }{
		{"ext", "ext-eth0"}, {"node-2", "n2-eth0"}, {"node-2", "n2-flannel.1"},
		{"node-1", "n1-eth0"}, {"node-1", "n1-flannel.1"}, {"node-1", "n1-cni0"}, {"node-1", "poda-eth0"},
	}
	arp := ft.Eth(0x0806, make([]byte, 28))
	for _, c := range bookends {
		b.see(c.node, c.hop, 0, arp)
		b.see(c.node, c.hop, 5_000_000, arp)
	}
	type seg struct {
		src, dst     string
		sport, dport uint16
	}
	tcp := func(s seg, flags uint8, seq, ack uint32, ttl uint8, id uint16) []byte {
		return ip4(s.src, s.dst, 6, ttl, id, ft.TCP(s.sport, s.dport, flags, seq, ack, 1410, 0))
	}
	for c, sport := range []uint16{50001, 50002} {
		natted := uint16(61001 + c)
		in := seg{extHost, node2, sport, 30080}
		dn := seg{node2Flannel, podA, natted, 8080}
		syn := func(s seg, ttl uint8, id uint16) []byte { return tcp(s, 0x02, 1000, 0, ttl, id) }
		t0 := int64(1_000_000 + 1_000_000*c)
		// The first SYN, lost on node-2.
		lost := uint16(100 + c)
		b.see("ext", "ext-eth0", t0, syn(in, 64, lost))
		b.see("node-2", "n2-eth0", t0+20, syn(in, 64, lost))
		if c == 0 {
			b.see("node-2", "n2-flannel.1", t0+30, syn(dn, 63, lost))
		}
		// Sent again a second later, delivered.
		t1, id := t0+500_000, uint16(200+c)
		b.see("ext", "ext-eth0", t1, syn(in, 64, id))
		b.see("node-2", "n2-eth0", t1+20, syn(in, 64, id))
		b.see("node-2", "n2-flannel.1", t1+30, syn(dn, 63, id))
		b.see("node-2", "n2-eth0", t1+40, inVXLAN(node2, node1, syn(dn, 63, id)))
		b.see("node-1", "n1-eth0", t1+60, inVXLAN(node2, node1, syn(dn, 63, id)))
		b.see("node-1", "n1-flannel.1", t1+70, syn(dn, 63, id))
		b.see("node-1", "n1-cni0", t1+80, syn(dn, 62, id))
		b.see("node-1", "poda-eth0", t1+90, syn(dn, 62, id))
		// The SYN-ACK, back the same way.
		up := seg{podA, node2Flannel, 8080, natted}
		out := seg{node2, extHost, 30080, sport}
		synack := func(s seg, ttl uint8) []byte { return tcp(s, 0x12, 5000, 1001, ttl, 300+uint16(c)) }
		t2 := t1 + 200
		b.see("node-1", "poda-eth0", t2, synack(up, 64))
		b.see("node-1", "n1-cni0", t2+10, synack(up, 64))
		b.see("node-1", "n1-flannel.1", t2+20, synack(up, 63))
		b.see("node-1", "n1-eth0", t2+30, inVXLAN(node1, node2, synack(up, 63)))
		b.see("node-2", "n2-eth0", t2+50, inVXLAN(node1, node2, synack(up, 63)))
		b.see("node-2", "n2-flannel.1", t2+60, synack(up, 63))
		b.see("node-2", "n2-eth0", t2+70, synack(out, 62))
		b.see("ext", "ext-eth0", t2+90, synack(out, 62))
	}
	return b
}

// TestHopCrossedTwice: a hop a packet crosses twice is two steps of its
// flow's path, each in its place; the hop pairs on either side of each
// crossing are latencies; a packet seen at the first crossing and not the
// second vanished between them, one missed at the first crossing's next
// hop vanished there, and nothing else is a drop.
func TestHopCrossedTwice(t *testing.T) {
	res, err := analyze.Analyze(nodePortIncident().write(t, t.TempDir()), analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)

	in := []string{"ext-eth0", "n2-eth0", "n2-flannel.1", "n2-eth0", "n1-eth0", "n1-flannel.1", "n1-cni0", "poda-eth0"}
	back := []string{"poda-eth0", "n1-cni0", "n1-flannel.1", "n1-eth0", "n2-eth0", "n2-flannel.1", "n2-eth0", "ext-eth0"}
	paths := map[uint16][2][]string{}
	for _, p := range res.Paths {
		e := paths[p.Flow.SPort]
		if p.Direction == analyze.DirReply {
			e[1] = p.Hops
		} else {
			e[0] = p.Hops
		}
		paths[p.Flow.SPort] = e
		want := map[analyze.Direction]int{analyze.DirOrig: 2, analyze.DirReply: 1}[p.Direction]
		assert.Equal(t, want, p.Packets, "%v %v", p.Flow, p.Direction)
	}
	for _, sport := range []uint16{50001, 50002} {
		assert.Equal(t, [2][]string{in, back}, paths[sport], "connection %d", sport)
	}
	assert.Len(t, paths, 2, "only the two connections have paths")

	type pair struct {
		from, to string
		dir      analyze.Direction
	}
	lat := map[pair]analyze.HopLatency{}
	for _, h := range res.Hops {
		lat[pair{h.From, h.To, h.Direction}] = h
	}
	for _, c := range []struct {
		pair
		packets int
		p50     int64
	}{
		// Both SYNs of each connection, and both crossings where they
		// pass the same pair.
		{pair{"ext-eth0", "n2-eth0", analyze.DirOrig}, 4, 20_000},
		{pair{"n2-eth0", "n2-flannel.1", analyze.DirOrig}, 3, 10_000},
		{pair{"n2-flannel.1", "n2-eth0", analyze.DirOrig}, 2, 10_000},
		{pair{"n2-eth0", "n1-eth0", analyze.DirOrig}, 2, 20_000},
		{pair{"n1-eth0", "n2-eth0", analyze.DirReply}, 2, 20_000},
		{pair{"n2-eth0", "n2-flannel.1", analyze.DirReply}, 2, 10_000},
		{pair{"n2-flannel.1", "n2-eth0", analyze.DirReply}, 2, 10_000},
		{pair{"n2-eth0", "ext-eth0", analyze.DirReply}, 2, 20_000},
	} {
		l, ok := lat[c.pair]
		if assert.True(t, ok, "no latency for %v", c.pair) {
			assert.Equal(t, c.packets, l.Packets, "%v", c.pair)
			assert.Equal(t, c.p50, l.P50NS, "%v", c.pair)
		}
	}
	for _, p := range []pair{
		{"n2-flannel.1", "n1-eth0", analyze.DirOrig}, {"n2-flannel.1", "ext-eth0", analyze.DirReply},
		{"n2-eth0", "n2-eth0", analyze.DirOrig}, {"n2-eth0", "n2-eth0", analyze.DirReply},
	} {
		_, ok := lat[p]
		assert.False(t, ok, "a step the packets never took: %v", p)
	}

	type drop struct {
		sport    uint16
		from, to string
		packets  int
		reason   analyze.DropReason
	}
	var drops []drop
	for _, d := range res.Drops {
		drops = append(drops, drop{d.Flow.SPort, d.From, d.To, d.Packets, d.Reason})
		assert.Equal(t, analyze.DirOrig, d.Direction)
		assert.Equal(t, 1, d.Retransmitted, "the SYN was sent again: %+v", d)
	}
	assert.ElementsMatch(t, []drop{
		{50001, "n2-flannel.1", "n2-eth0", 1, analyze.DropUnknown},
		{50002, "n2-eth0", "n2-flannel.1", 1, analyze.DropUnknown},
	}, drops)
	assert.Empty(t, res.Unjudged)
}
