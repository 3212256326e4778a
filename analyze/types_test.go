package analyze

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTypedValuesText: every typed value is written as the string the
// schema always had, and read back to itself.
func TestTypedValuesText(t *testing.T) {
	type pair struct {
		v    interface{ MarshalText() ([]byte, error) }
		text string
	}
	for _, c := range []pair{
		{ProtoICMP, "icmp"}, {ProtoTCP, "tcp"}, {ProtoUDP, "udp"}, {ProtoICMPv6, "icmpv6"}, {ProtoSCTP, "sctp"}, {Proto(253), "proto-253"},
		{DirNone, ""}, {DirOrig, "orig"}, {DirReply, "reply"}, {DirBoth, "both"},
		{DropUnknown, "unknown"}, {DropCaptureGap, "capture-gap"}, {DropMTU, "mtu"}, {DropTTL, "ttl"},
		{MTUBlackhole, "blackhole"}, {MTUFragNeeded, "frag-needed"}, {MTUPacketTooBig, "packet-too-big"},
		{MTUMSSTooLarge, "mss-too-large"}, {MTURefragmented, "refragmented"}, {MTUFragmented, "fragmented"},
		{MTUIncompleteReassembly, "incomplete-reassembly"},
	} {
		b, err := c.v.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, c.text, string(b))
	}
	var p Proto
	require.NoError(t, p.UnmarshalText([]byte("proto-253")))
	assert.Equal(t, Proto(253), p)
	assert.Error(t, p.UnmarshalText([]byte("tcpx")))
	var d Direction
	assert.Error(t, d.UnmarshalText([]byte("sideways")))
	var r DropReason
	assert.Error(t, r.UnmarshalText([]byte("gremlins")))
	var k MTUKind
	assert.Error(t, k.UnmarshalText([]byte("mtu")))
}

// TestTypedJSONRoundTrip: a drop and a finding read back from their JSON
// equal what was written, and the JSON carries names, not numbers.
func TestTypedJSONRoundTrip(t *testing.T) {
	in := Result{
		Drops: []Drop{{From: "a", To: "b", Proto: ProtoTCP, Direction: DirReply, Packets: 3, Reason: DropCaptureGap}},
		MTU:   []MTUFinding{{Kind: MTUPacketTooBig, Proto: ProtoICMPv6, Direction: DirNone, MTU: 1280}},
		Hops:  []HopLatency{{From: "a", To: "b", Direction: DirBoth}},
	}
	b, err := json.Marshal(&in)
	require.NoError(t, err)
	for _, s := range []string{`"proto":"tcp"`, `"direction":"reply"`, `"reason":"capture-gap"`, `"kind":"packet-too-big"`, `"direction":""`, `"direction":"both"`} {
		assert.Contains(t, string(b), s)
	}
	var out Result
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in.Drops[0].Reason, out.Drops[0].Reason)
	assert.Equal(t, in.Drops[0].Direction, out.Drops[0].Direction)
	assert.Equal(t, in.MTU[0].Kind, out.MTU[0].Kind)
	assert.Equal(t, in.Hops[0].Direction, out.Hops[0].Direction)
}
