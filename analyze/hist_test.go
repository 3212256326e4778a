package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// nearestRank is the textbook definition the histogram must follow.
func nearestRank(sorted []int64, p float64) int64 {
	rank := int((p/100)*float64(len(sorted)) + 0.999999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func TestHistExact(t *testing.T) {
	var h hist
	for _, v := range []int64{50, 10, 40, 20, 30} {
		h.add(v)
	}
	assert.Equal(t, int64(10), h.min)
	assert.Equal(t, int64(50), h.max)
	assert.Equal(t, int64(30), h.percentile(50)) // rank 3 of 5
	assert.Equal(t, int64(50), h.percentile(90)) // rank 5
	assert.Equal(t, int64(10), h.percentile(1))  // rank 1
}

// TestHistBuckets checks that past exactSamples every percentile stays
// within one bucket (1/64) of the exact value, and inside [min, max].
func TestHistBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var h hist
	var all []int64
	for range 100_000 {
		v := int64(rng.ExpFloat64() * 50_000) // latencies around 50 µs
		h.add(v)
		all = append(all, v)
	}
	slices.Sort(all)
	assert.Nil(t, h.exact, "switched to buckets")
	for _, p := range []float64{50, 90, 99, 99.9} {
		want := nearestRank(all, p)
		got := h.percentile(p)
		assert.InDelta(t, float64(want), float64(got), float64(want)/64+1, "p%v", p)
		assert.LessOrEqual(t, got, want, "a bucket reports its lower bound")
	}
	assert.Equal(t, all[0], h.min)
	assert.Equal(t, all[len(all)-1], h.max)
}

func TestBucketBounds(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<62 + 12345} {
		b := bucketOf(v)
		assert.LessOrEqual(t, bucketLow(b), v, "v=%d", v)
		assert.Greater(t, bucketLow(b+1), v, "v=%d", v)
	}
}
