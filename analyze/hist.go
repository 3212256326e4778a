package analyze

import (
	"math/bits"
	"slices"
)

// exactSamples is how many samples a histogram keeps exactly before it
// switches to log-linear buckets.
const exactSamples = 4096

// subBuckets per power of two: a bucket spans at most 1/64 of its value, so
// percentiles beyond exactSamples are within 1.6%.
const subBits = 6

// hist collects non-negative durations (ns) and answers nearest-rank
// percentiles. Its memory is bounded whatever the number of samples.
type hist struct {
	n        int
	min, max int64
	exact    []int64 // all samples while n <= exactSamples
	sorted   bool    // exact is sorted
	buckets  []uint64
}

func (h *hist) add(v int64) {
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	if h.buckets == nil {
		h.exact = append(h.exact, v)
		h.sorted = false
		if len(h.exact) <= exactSamples {
			return
		}
		h.buckets = make([]uint64, 64<<subBits)
		for _, e := range h.exact {
			h.buckets[bucketOf(e)]++
		}
		h.exact = nil
		return
	}
	h.buckets[bucketOf(v)]++
}

// bucketOf maps v to its log-linear bucket: values below 2^subBits are
// exact, above that each power of two has 2^subBits buckets.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < 1<<subBits {
		return int(u)
	}
	e := bits.Len64(u) - subBits - 1 // shift that leaves subBits+1 bits
	return (e+1)<<subBits + int(u>>e) - 1<<subBits
}

// bucketLow is the smallest value of bucket i.
func bucketLow(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	e := i>>subBits - 1
	m := uint64(i&(1<<subBits-1)) | 1<<subBits
	return int64(m << e)
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100).
func (h *hist) percentile(p float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int((p/100)*float64(h.n) + 0.999999999)
	rank = min(max(rank, 1), h.n)
	if h.buckets == nil {
		if !h.sorted {
			slices.Sort(h.exact) // their order is not kept: sort once for every percentile
			h.sorted = true
		}
		return h.exact[rank-1]
	}
	seen := 0
	for i, c := range h.buckets {
		seen += int(c)
		if seen >= rank {
			return min(max(bucketLow(i), h.min), h.max)
		}
	}
	return h.max
}
