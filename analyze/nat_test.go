package analyze

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseNATText reads the "nat" strings schema v1 wrote into the
// translations v2 writes, and NATText writes them back unchanged.
func TestParseNATText(t *testing.T) {
	tests := []struct {
		v1   string
		want []NAT
	}{
		{"", nil},
		{"dnat 10.96.0.10:80 -> 10.244.1.5:8080", []NAT{{DNAT, "10.96.0.10:80", "10.244.1.5:8080"}}},
		{"snat 10.244.0.5:56596 -> 192.168.1.10:8299", []NAT{{SNAT, "10.244.0.5:56596", "192.168.1.10:8299"}}},
		{"dnat 192.168.1.11:30080 -> 10.244.0.5:8080, snat 192.168.1.100:59846 -> 10.244.1.0:57252",
			[]NAT{{DNAT, "192.168.1.11:30080", "10.244.0.5:8080"}, {SNAT, "192.168.1.100:59846", "10.244.1.0:57252"}}},
		{"dnat [fd00::1]:53 -> [fd00:10:244:1::5]:5353", []NAT{{DNAT, "[fd00::1]:53", "[fd00:10:244:1::5]:5353"}}},
		// ICMP: addresses without ports.
		{"snat 10.244.0.5 -> 192.168.1.10", []NAT{{SNAT, "10.244.0.5", "192.168.1.10"}}},
		{"snat fd00:10:244::5 -> fd00::10", []NAT{{SNAT, "fd00:10:244::5", "fd00::10"}}},
	}
	for _, tt := range tests {
		got, err := ParseNATText(tt.v1)
		require.NoError(t, err, tt.v1)
		assert.Equal(t, tt.want, got, tt.v1)
		assert.Equal(t, tt.v1, NATText(got), "v1 text written back")
	}
	for _, bad := range []string{"dnat", "dnat 10.0.0.1:80 10.0.0.2:80", "xnat 10.0.0.1 -> 10.0.0.2",
		"dnat 10.0.0.1:80 -> pod-b", "dnat 10.0.0.1:99999 -> 10.0.0.2:80", "dnat [fd00::1] -> [fd00::2]:53", "dnat 10.0.0.1:80 -> 10.0.0.2:80,snat 1.1.1.1 -> 2.2.2.2"} {
		_, err := ParseNATText(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// TestNATJSON: v2 writes a flow's translations as [{type, from, to}], no
// key when there are none, and reads them back.
func TestNATJSON(t *testing.T) {
	f := Flow{Proto: ProtoTCP, NAT: []NAT{{DNAT, "[fd00::1]:53", "[fd00::5]:5353"}, {SNAT, "10.0.0.1:4000", "192.168.1.10:61000"}}}
	b, err := json.Marshal(f)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"nat":[{"type":"dnat","from":"[fd00::1]:53","to":"[fd00::5]:5353"},{"type":"snat","from":"10.0.0.1:4000","to":"192.168.1.10:61000"}]`)
	var back Flow
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, f.NAT, back.NAT)

	b, err = json.Marshal(Flow{Proto: ProtoTCP})
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"nat"`, "no key without NAT")

	var k NATKind
	assert.Error(t, json.Unmarshal([]byte(`"masquerade"`), &k))
}

// TestFlowNATEndpoints: the endpoints a flow's translations name are
// written as netip writes them: IPv6 with a port in brackets, ICMP
// without ports, and an echo whose identifier alone changed is an SNAT.
func TestFlowNATEndpoints(t *testing.T) {
	a := netip.MustParseAddr
	v6 := Tuple{Proto: ProtoUDP, Src: a("fd00:10:244::5"), Dst: a("fd00::a"), SPort: 40000, DPort: 53}
	f := flowState{orig: v6, reply: Tuple{Proto: ProtoUDP, Src: a("fd00:10:244:1::7"), Dst: v6.Src, SPort: 5353, DPort: 40000}}
	assert.Equal(t, []NAT{{DNAT, "[fd00::a]:53", "[fd00:10:244:1::7]:5353"}}, f.nat())

	echo := Tuple{Proto: ProtoICMP, Src: a("10.244.0.5"), Dst: a("10.0.0.1"), SPort: 7}
	f = flowState{orig: echo, reply: Tuple{Proto: ProtoICMP, Src: echo.Dst, Dst: a("192.168.1.10"), SPort: 0x99}}
	assert.Equal(t, []NAT{{SNAT, "10.244.0.5", "192.168.1.10"}}, f.nat())

	f = flowState{orig: echo, reply: echo.Reverse()}
	assert.Empty(t, f.nat(), "no NAT invented")
}
