package report

import (
	"math"
	"testing"
	"time"
)

// TestTimeFormat compares the cached formatter with time's own, packet
// after packet: within a second, across seconds, before 1970 and at the
// edges of a second.
func TestTimeFormat(t *testing.T) {
	var f timeFormat
	for _, ts := range []int64{
		0, 1, 999_999_999, 1_000_000_000, 1_767_323_045_123_456_789, 1_767_323_045_999_999_999,
		1_767_323_046_000_000_000, 1_767_323_045_000_000_001, -1, -999_999_999, -1_000_000_000,
		-1_000_000_001, math.MinInt64, math.MaxInt64,
	} {
		want := time.Unix(0, ts).UTC().Format("2006-01-02T15:04:05.000000000Z")
		if got := string(f.append(nil, ts)); got != want {
			t.Errorf("%d: got %s, want %s", ts, got, want)
		}
	}
}
