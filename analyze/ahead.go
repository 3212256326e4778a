package analyze

// Taps on one path through the kernel often share its stamp: a frame a pod
// sends is stamped once as it enters its veth, and the bridge's capture
// sees it at that very nanosecond. pathOrder settles such ties by what
// packets entering at the same hop showed strictly (aggregator.learn), but
// a packet finished before any such evidence had only the captures' order:
// on the lab's drops incident the pod's first flow, UDP, whose 100 packets
// all tied at n1-veth-pod-a and n1-cni0, came before the TCP ones that
// showed the order, and its hop pairs read "n1-cni0 > n1-veth-pod-a, 100
// packets, 0ns" and "n1-veth-pod-a > n1-flannel.1, 39µs", a path no packet
// took.
//
// ahead holds the first packets the correlator finishes, learns from them
// all, and only then hands them on, in order: ties are settled by evidence
// from the incident's start, whichever flow showed it.
type ahead struct {
	g    *aggregator
	emit func(*packet)
	pkts []packet
	ends []int // pkts[i]'s sightings are obs[ends[i-1]:ends[i]]
	obs  []obs
	tmp  []obs // a held packet's sightings, sorted by pathOrder to learn from
	done bool
}

// What ahead holds at most: as many packets as an entry hop teaches
// (precLearn), and sightings for 16 hops each, 5.8 MB (a packet seen at
// thousands of interfaces is held alone).
const (
	aheadPackets   = precLearn
	aheadSightings = 16 * precLearn
)

func newAhead(g *aggregator, emit func(*packet)) *ahead {
	return &ahead{g: g, emit: emit}
}

// ahead puts an ahead in front of emit, as a.first, and returns its take.
func (a *analysis) ahead(emit func(*packet)) func(*packet) {
	a.first = newAhead(a.agg, emit)
	return a.first.take
}

// take is the correlator's emit: it holds p, a copy of it, until enough
// are held, and then hands every one on.
func (h *ahead) take(p *packet) {
	if h.done {
		h.emit(p)
		return
	}
	h.tmp = append(h.tmp[:0], p.obs...)
	h.g.pathOrder(&packet{obs: h.tmp})
	h.obs = append(h.obs, p.obs...)
	h.ends = append(h.ends, len(h.obs))
	held := *p // less what the correlator keeps of it, which it reuses
	held.obs, held.farHops, held.refs, held.dead = nil, nil, 0, false
	h.pkts = append(h.pkts, held)
	if len(h.pkts) >= aheadPackets || len(h.obs) >= aheadSightings {
		h.flush()
	}
}

// flush hands on the packets held, learnt from already
// (aggregator.ahead), and every later one as it comes.
func (h *ahead) flush() {
	if h.done {
		return
	}
	h.done = true
	if h.g.a != nil && h.g.a.corr != nil {
		// The correlator hands the rest to emit itself: take, called for
		// every packet of the 1M-sighting incident, cost 3M instructions.
		h.g.a.corr.emit = h.emit
	}
	h.g.ahead = len(h.pkts)
	from := 0
	for i := range h.pkts {
		p := &h.pkts[i]
		p.obs = h.obs[from:h.ends[i]:h.ends[i]] // capped: a handed slice is reused
		from = h.ends[i]
		h.emit(p)
	}
	h.pkts, h.ends, h.obs, h.tmp = nil, nil, nil, nil
}
