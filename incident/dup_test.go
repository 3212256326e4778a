package incident

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCopyOf: the names file managers give a copy lead back to the stem
// copied; names that merely end in digits or words do not.
func TestCopyOf(t *testing.T) {
	for stem, want := range map[string]string{
		"eth0 (1)":         "eth0",
		"eth0 (12)":        "eth0",
		"eth0 copy":        "eth0",
		"eth0 copy 2":      "eth0",
		"eth0 - Copy":      "eth0",
		"eth0 - Copy (2)":  "eth0",
		"n1-eth0":          "n1-eth0",
		"eth0(1)":          "eth0(1)",
		"copy":             "copy",
		" (1)":             " (1)",
		"veth-pod-a":       "veth-pod-a",
		"flannel.1":        "flannel.1",
		"capture-copy":     "capture-copy",
		"incident (final)": "incident (final)",
	} {
		assert.Equal(t, want, copyOf(stem), stem)
	}
}
