package analyze

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"

	ft "github.com/hoptrace/hoptrace/internal/frametest"
)

// Matching within one key is bounded (issue 16): the work it does grows
// with the sightings, not with their square. Each case feeds n and 2n
// sightings to a correlator and counts the open packets matching looked at.

// growthCase builds the frames of n packets and says at which hops, in
// which order, each is seen.
type growthCase struct {
	name   string
	frame  func(i int) []byte
	hops   int  // every packet is seen at hops 0..hops-1
	byHop  bool // all packets at hop 0, then all at hop 1, …; else packet by packet
	sights int  // sightings each packet should end with (hops, or 1 when all frames are alike at one hop)
}

func growthCases() []growthCase {
	dnsLike := func(i int) []byte {
		b := make([]byte, 48) // equal lengths, ID 0: told apart by the digest only
		binary.BigEndian.PutUint32(b, uint32(i))
		return udp4("10.96.0.10", "10.244.0.5", 53, 40000, 0, 64, b)
	}
	same := udp4("10.0.0.1", "10.0.0.2", 1, 2, 0, 64, make([]byte, 48))
	sameID := udp4("10.0.0.1", "10.0.0.2", 1, 2, 99, 64, make([]byte, 48))
	sameTCP := ft.Eth(0x0800, ft.IP4("10.0.0.1", "10.0.0.2", 6, ft.TCP(1, 2, 0x18, 1000, 5, 0, 100)))
	same6 := udp6("fd00::1", "fd00::2", 1, 2, make([]byte, 48))
	return []growthCase{
		{"equal-length ID-0 datagrams at three hops", dnsLike, 3, true, 3},
		{"identical ID-0 frames at two hops", func(int) []byte { return same }, 2, true, 2},
		{"identical ID-0 frames at one hop", func(int) []byte { return same }, 1, true, 1},
		{"identical IPv6 frames at two hops, interleaved", func(int) []byte { return same6 }, 2, false, 2},
		{"identical frames with one IP ID at one hop", func(int) []byte { return sameID }, 1, true, 1},
		{"identical TCP segments at one hop", func(int) []byte { return sameTCP }, 1, true, 1},
	}
}

// runGrowth feeds n packets of gc to a correlator and returns its work
// and the sightings of each packet emitted.
func runGrowth(gc growthCase, n int) (work int, sizes map[int]int) {
	r := newRig()
	sizes = map[int]int{}
	c := newCorrelator(int64(1e12), func(p *packet) { sizes[len(p.obs)]++ })
	c.tuples = r.a.tuples
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = gc.frame(i)
	}
	ts := int64(0)
	see := func(i, hop int) {
		e := r.see(int32(hop), frames[i], 0)
		ts++
		e.o.ts, e.o.hop = ts, int32(hop)
		c.add(&e.o)
	}
	if gc.byHop {
		for h := range gc.hops {
			for i := range n {
				see(i, h)
			}
		}
	} else {
		for i := range n {
			for h := range gc.hops {
				see(i, h)
			}
		}
	}
	c.flush()
	return c.work, sizes
}

func TestMatchingGrowth(t *testing.T) {
	const n = 4000
	for _, gc := range growthCases() {
		t.Run(gc.name, func(t *testing.T) {
			w1, s1 := runGrowth(gc, n)
			w2, s2 := runGrowth(gc, 2*n)
			assert.Equal(t, map[int]int{gc.sights: n * gc.hops / gc.sights}, s1, "packets by sightings")
			assert.Equal(t, map[int]int{gc.sights: 2 * n * gc.hops / gc.sights}, s2, "packets by sightings")
			ratio := float64(w2) / float64(w1)
			t.Logf("work %d at %d packets, %d at %d: ratio %.2f", w1, n, w2, 2*n, ratio)
			assert.Less(t, ratio, 2.3, "doubling the packets must about double the work")
		})
	}
}

// BenchmarkMatchIdentical measures matching 100k identical ID-0 frames
// seen at two hops, the worst case of one key: before the per-hop cursor
// each sighting looked at every open packet of the key.
//
//	go test -run '^$' -bench MatchIdentical -benchmem ./analyze
func BenchmarkMatchIdentical(b *testing.B) {
	gc := growthCases()[1]
	b.ReportAllocs()
	for b.Loop() {
		runGrowth(gc, 100_000)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200_000, "ns/sighting")
}
