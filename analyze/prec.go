package analyze

// precSparse counts hop pairs (a, b) beyond the dense matrices of
// precTable: by first hop a, a row of the hops that followed it, the first
// precRowLen inline and the rest in a map. learn adds the pairs of one
// sighting a with the sightings after it one after the other, so they
// share a's row: one map lookup per sighting, not per pair. A map keyed by
// the pair took 0.88 s of 2.1 s CPU for one packet at 100k interleaved
// pcapng interfaces, each of its 3.2M increments a cache miss in a map of
// 1.6M pairs (TestPrecSparse checks it counts as that map did).
type precSparse struct {
	rowOf map[int32]int32 // a -> index in rows
	rows  []precRow
	// The last row added to, and its first hop.
	lastA   int32
	lastRow int32
}

// precRowLen is how many following hops a row holds inline: learn pairs a
// sighting with at most precReach after it, and a hop is mostly followed
// by the same few.
const precRowLen = 6

type precRow struct {
	b, n [precRowLen]int32
	k    int32
	more map[int32]int32 // b -> count, past the inline ones
}

func newPrecSparse() *precSparse {
	return &precSparse{rowOf: make(map[int32]int32), lastA: -1}
}

func (s *precSparse) add(a, b int32) {
	if a != s.lastA {
		r, ok := s.rowOf[a]
		if !ok {
			r = int32(len(s.rows))
			s.rows = append(s.rows, precRow{})
			s.rowOf[a] = r
		}
		s.lastA, s.lastRow = a, r
	}
	row := &s.rows[s.lastRow]
	for i := range row.k {
		if row.b[i] == b {
			row.n[i]++
			return
		}
	}
	if row.k < precRowLen {
		row.b[row.k], row.n[row.k] = b, 1
		row.k++
		return
	}
	if row.more == nil {
		row.more = make(map[int32]int32)
	}
	row.more[b]++
}

func (s *precSparse) get(a, b int32) int32 {
	r, ok := s.rowOf[a]
	if !ok {
		return 0
	}
	row := &s.rows[r]
	for i := range row.k {
		if row.b[i] == b {
			return row.n[i]
		}
	}
	return row.more[b]
}
