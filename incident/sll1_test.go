package incident

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMACNames: an address names the one interface that has it; one that
// several have (Calico's veths: ee:ee:ee:ee:ee:ee) or none names nothing.
func TestMACNames(t *testing.T) {
	got := macNames([]Link{
		{Index: 2, Name: "eth0", MAC: "02:00:c0:a8:01:0a"},
		{Index: 4, Name: "cali1", MAC: "ee:ee:ee:ee:ee:ee"},
		{Index: 5, Name: "cali2", MAC: "ee:ee:ee:ee:ee:ee"},
		{Index: 6, Name: "tunl0", MAC: "00:00:00:00:00:00"},
		{Index: 7, Name: "wg0"},
	})
	assert.Equal(t, map[string]string{"02:00:c0:a8:01:0a": "eth0"}, got)
	assert.Nil(t, macNames([]Link{{Name: "lo", MAC: "00:00:00:00:00:00"}}))
}
