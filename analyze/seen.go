package analyze

import "github.com/hoptrace/hoptrace/decode"

// seen is what the main pass takes of one packet of a capture: its
// sighting and whether it has facts to tell on its own. It holds no
// pointer, so the garbage collector never scans a reader's batches.
type seen struct {
	o     obs   // o.ts is the node clock and o.hop is set; the rest is valid iff observed
	fact  int32 // index of its seenFacts in the batch; -1: none
	flags uint8
	bg    BackgroundKind // what background traffic it is, if any
	wire  uint16         // its length on the wire, for the background count; at most 65535
}

// seenFacts are what a packet tells on its own, before correlation:
// its encapsulation and the ICMP error it is. Few packets have any.
type seenFacts struct {
	wire  int64 // length on the wire, if tunneled
	encap int32 // the encapsulation (index into facts.encaps); -1: none
	over  int32 // bytes the tunnels add, if tunneled
	icmp  int32 // the ICMP frag-needed (index into facts.icmps); -1: none
}

// seen flags.
const (
	seenObserved = 1 << iota // o is a sighting (the packet has an IP header)
	seenKept                 // the Keep filter selects the packet
	seenDamaged              // the record has problems
	seenCut                  // the payload digest is unknown (reader.cut)
)

// fillLocal sets e and f from the reader's current record, numbered in
// the reader's own tables (but for e.o.hop, which it leaves to the
// caller), and reports whether the packet has facts (f).
func (s *reader) fillLocal(e *seen, f *seenFacts) bool {
	r := &s.rec
	l := s.tables()
	e.flags, e.fact = 0, -1
	if s.sight(&e.o) {
		e.flags |= seenObserved
		if s.cut {
			e.flags |= seenCut
		}
	} else {
		e.o = obs{} // only its time and hop are read
	}
	e.o.ts = r.TS
	if r.NProblem > 0 {
		e.flags |= seenDamaged
	}
	e.wire = uint16(min(r.WireLen, 0xffff))
	if o := &e.o; e.flags&seenObserved != 0 && o.ports && (o.proto == decode.ProtoTCP || o.proto == decode.ProtoUDP) {
		// A TCP or UDP packet's kind is its tuple's. The known kind when
		// the reader numbers in the analysis' table, written out: 6.0M
		// instructions on the 300k-sighting incident, 12.9M through
		// reader.background (callgrind, GOMAXPROCS=1, -pgo=off).
		if d := s.direct; d != nil && uint(o.tuple) < uint(len(d.a.tuples.bg)) && d.a.tuples.bg[o.tuple] != 0 {
			e.bg = d.a.tuples.bg[o.tuple] - 1
		} else {
			e.bg = s.background(o.tuple)
		}
	} else {
		e.bg = classify(r)
	}
	*f = seenFacts{encap: -1, icmp: -1}
	if r.NTunnel > 0 {
		f.encap = s.encapOf()
		for i := range r.NTunnel {
			f.over += int32(r.Tunnels[i].Overhead)
		}
		f.wire = int64(r.WireLen)
	}
	// The protocol first: an ICMP packet has an IP header. Inner first
	// took about 4.5M instructions more on the 300k-sighting incident
	// (bench/genincident -n 20000; callgrind, GOMAXPROCS=1, -pgo=off).
	if p := r.L4.Proto; p == decode.ProtoICMP || p == decode.ProtoICMPv6 {
		in := r.Inner()
		v6 := p == decode.ProtoICMPv6
		if m := &r.ICMP; m.FragNeeded(v6) && m.HasQuoted && in != nil {
			q := m.Quoted
			k := icmpKey{
				quoted: Tuple{Proto: Proto(q.Proto), Src: q.Src, Dst: q.Dst, SPort: q.SPort, DPort: q.DPort},
				mtu:    m.MTU, sender: in.Src.String(), v6: v6,
			}
			if s.direct != nil {
				f.icmp = s.direct.a.facts.icmpID(k)
			} else {
				id, ok := l.icmpIDs[k]
				if !ok {
					id = int32(len(l.icmps))
					l.icmps = append(l.icmps, k)
					l.icmpIDs[k] = id
				}
				f.icmp = id
			}
		}
	}
	return f.encap >= 0 || f.icmp >= 0
}

// encapSig is an encapsulation as the decoder reports it: comparable
// without building its name.
type encapSig struct {
	hop    int32
	n      int
	types  [decode.MaxTunnels]decode.TunnelType
	vni    uint32
	hasVNI bool
}

// encapOf returns the reader's number of the current record's
// encapsulation. A capture mostly sees one, so the last one is tried
// first.
func (s *reader) encapOf() int32 {
	r := &s.rec
	sig := encapSig{hop: s.lhop, n: r.NTunnel, vni: r.Tunnels[0].VNI, hasVNI: r.Tunnels[0].HasVNI}
	for i := range r.NTunnel {
		sig.types[i] = r.Tunnels[i].Type
	}
	if sig != s.lastEncap { // never the zero value: r.NTunnel > 0
		var id int32
		if s.direct != nil {
			id = s.direct.a.facts.encapID(sig)
		} else {
			l := s.tables()
			var ok bool
			if id, ok = l.encapIDs[sig]; !ok {
				id = int32(len(l.encaps))
				l.encaps = append(l.encaps, sig)
				l.encapIDs[sig] = id
			}
		}
		s.lastEncap, s.encapID = sig, id
	}
	return s.encapID
}

// facts numbers the encapsulations and ICMP frag-needed errors seen. Both
// grow with the distinct ones, not with the packets.
type facts struct {
	encapIDs map[encapSig]int32
	encaps   []encapKey
	icmpIDs  map[icmpKey]int32
	icmps    []icmpKey
}

func newFacts() facts {
	return facts{encapIDs: make(map[encapSig]int32), icmpIDs: make(map[icmpKey]int32)}
}

func (f *facts) encapID(sig encapSig) int32 {
	id, ok := f.encapIDs[sig]
	if !ok {
		k := encapKey{hop: sig.hop, vni: sig.vni, hasVNI: sig.hasVNI}
		for i, t := range sig.types[:sig.n] {
			if i > 0 {
				k.chain += "/"
			}
			k.chain += t.String()
		}
		id = int32(len(f.encaps))
		f.encaps = append(f.encaps, k)
		f.encapIDs[sig] = id
	}
	return id
}

func (f *facts) icmpID(k icmpKey) int32 {
	id, ok := f.icmpIDs[k]
	if !ok {
		id = int32(len(f.icmps))
		f.icmps = append(f.icmps, k)
		f.icmpIDs[k] = id
	}
	return id
}
