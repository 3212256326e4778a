package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPrecSparse: precSparse counts every pair as a map keyed by the pair
// does, with rows that overflow their inline slots, pairs added out of
// order and pairs never added.
func TestPrecSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newPrecSparse()
	want := map[[2]int32]int32{}
	for range 200_000 {
		a := int32(rng.IntN(300))
		for range 1 + rng.IntN(20) {
			b := a + int32(rng.IntN(40)) - 5
			s.add(a, b)
			want[[2]int32{a, b}]++
		}
	}
	for a := int32(-10); a < 320; a++ {
		for b := int32(-20); b < 360; b++ {
			require.Equal(t, want[[2]int32{a, b}], s.get(a, b), "pair %d, %d", a, b)
		}
	}
}
