package decode

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// mplsLabel is one MPLS label stack entry.
func mplsLabel(label uint32, bottom bool, payload []byte) []byte {
	e := label<<12 | 64 // TTL 64
	if bottom {
		e |= 1 << 8
	}
	return append(binary.BigEndian.AppendUint32(nil, e), payload...)
}

// TestDecodeTsharkFindings holds the decoder bugs the differential test
// against tshark (tshark_test.go) found, one case each.
func TestDecodeTsharkFindings(t *testing.T) {
	t.Run("ipv6 chain cut inside the fragment header names it", func(t *testing.T) {
		// tcpdump's ip6_frag_asan.pcap: the snap length cuts the fragment
		// header after 6 of its 8 bytes; tshark reports next header 44.
		frame, err := hex.DecodeString("c0ceffa0000400002949ff7586dd651b" + "21006a002c100452002200190000041a" +
			"e4ff10ff484d22430080140001000019" + "fffffffffffb0bff00000100")
		if err != nil {
			t.Fatal(err)
		}
		var r Record
		NewDecoder().Decode(&r, frame, Meta{WireLen: 262144, Link: LinkEthernet})
		assert.Equal(t, 1, r.NIP)
		assert.Equal(t, uint8(44), r.IP[0].Proto)
		assert.False(t, r.IP[0].Frag, "a cut fragment header has no fields to report")
		assert.True(t, r.Snapped)
		assert.Zero(t, r.NProblem)
	})

	t.Run("mpls label stack over ipv4 and ipv6", func(t *testing.T) {
		udp4 := frametest.IP4("10.0.0.1", "10.0.0.2", ProtoUDP, frametest.UDP(1000, 53, nil), frametest.IP4Opt{TTL: 63, ID: 5})
		udp6 := frametest.IP6("fd00::1", "fd00::2", ProtoUDP, frametest.UDP(1000, 53, nil))
		for _, frame := range [][]byte{
			frametest.Eth(0x8847, mplsLabel(100, false, mplsLabel(200, true, udp4))),
			frametest.Eth(0x8847, mplsLabel(16, true, udp6)),
		} {
			var r Record
			NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: LinkEthernet})
			assert.Equal(t, 1, r.NIP)
			assert.Equal(t, uint8(ProtoUDP), r.L4.Proto)
			assert.Equal(t, uint16(53), r.L4.DPort)
			assert.Zero(t, r.NProblem, "problems: %v", r.Problems[:r.NProblem])
		}
		frame := frametest.Eth(0x8847, mplsLabel(100, false, nil)) // no bottom of stack
		var r Record
		NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: LinkEthernet})
		assert.Zero(t, r.NIP)
		assert.Equal(t, []Problem{{LayerLink, FaultTruncated}}, r.Problems[:r.NProblem])
	})

	t.Run("tcp header cut short keeps the fields it holds", func(t *testing.T) {
		// As in tcpdump's vxlan and ipip captures cut at 70 bytes: tshark
		// reports the sequence number and flags of a 14-byte TCP header.
		seg := frametest.TCP(40000, 80, TCPSyn|TCPAck, 1000, 2000, 0, 0)[:14]
		frame := frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoTCP, seg, frametest.IP4Opt{TTL: 64, TotLen: 60}))
		var r Record
		NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame) + 26, Link: LinkEthernet})
		assert.Equal(t, Transport{Proto: ProtoTCP, SPort: 40000, DPort: 80, Flags: TCPSyn | TCPAck, Seq: 1000, Ack: 2000}, r.L4)
		assert.True(t, r.Snapped)
		assert.Zero(t, r.NProblem)

		// 18 bytes (a snap length of 128 on IPv6 inside VXLAN in an -i
		// any capture): tshark gives the window and, from the data offset
		// and the IP length, the payload's length (tcp.len 20,
		// tcp.window_size_value 64240 for this frame written to a pcap).
		seg = frametest.TCP(40000, 80, TCPSyn|TCPAck, 1000, 2000, 0, 0)[:18]
		frame = frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoTCP, seg, frametest.IP4Opt{TTL: 64, TotLen: 60}))
		r = Record{}
		NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame) + 22, Link: LinkEthernet})
		assert.Equal(t, Transport{Proto: ProtoTCP, SPort: 40000, DPort: 80, Flags: TCPSyn | TCPAck, Seq: 1000, Ack: 2000, Window: 64240, PayloadLen: 20}, r.L4)
		assert.True(t, r.Snapped)
	})

	t.Run("geneve with its options cut short is still a tunnel", func(t *testing.T) {
		inner := frametest.Eth(0x0800, frametest.IP4("10.244.0.5", "10.244.1.5", ProtoUDP, frametest.UDP(1, 2, nil)))
		full := frametest.Eth(0x0800, frametest.IP4("192.168.1.10", "192.168.1.11", ProtoUDP,
			frametest.UDP(5000, PortGeneve, frametest.Geneve(77, 0x6558, 4, inner))))
		frame := full[:14+20+8+8+6] // the snap length cuts the options
		var r Record
		NewDecoder().Decode(&r, frame, Meta{WireLen: len(full), Link: LinkEthernet})
		assert.Equal(t, 1, r.NIP)
		assert.Equal(t, 1, r.NTunnel)
		assert.Equal(t, Tunnel{Type: TunnelGeneve, VNI: 77, HasVNI: true, SPort: 5000, DPort: PortGeneve, Overhead: 20 + 8 + 8 + 16}, r.Tunnels[0])
		assert.Zero(t, r.L4.Proto, "the carrier's UDP belongs to the tunnel")
		assert.True(t, r.Snapped)
		assert.Zero(t, r.NProblem)
	})

	t.Run("pppoe session carrying ipv4 and ipv6", func(t *testing.T) {
		pppoe := func(proto uint16, payload []byte) []byte {
			h := []byte{0x11, 0, 0x12, 0x34, 0, 0, byte(proto >> 8), byte(proto)}
			binary.BigEndian.PutUint16(h[4:], uint16(2+len(payload)))
			return append(h, payload...)
		}
		for _, frame := range [][]byte{
			frametest.Eth(0x8864, pppoe(0x0021, frametest.IP4("10.0.0.1", "10.0.0.2", ProtoUDP, frametest.UDP(1000, 53, nil)))),
			frametest.Eth(0x8864, pppoe(0x0057, frametest.IP6("fd00::1", "fd00::2", ProtoUDP, frametest.UDP(1000, 53, nil)))),
		} {
			var r Record
			NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: LinkEthernet})
			assert.Equal(t, 1, r.NIP)
			assert.Equal(t, Transport{Proto: ProtoUDP, SPort: 1000, DPort: 53}, r.L4)
			assert.Zero(t, r.NProblem, "problems: %v", r.Problems[:r.NProblem])
		}
	})

	t.Run("ipv4 authentication header", func(t *testing.T) {
		// Next header, length 4 (24 bytes), reserved, SPI, sequence, ICV.
		ah := append([]byte{ProtoTCP, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, make([]byte, 12)...)
		seg := frametest.TCP(40000, 443, TCPAck|TCPPsh, 9, 1, 0, 0)
		frame := frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", 51, append(ah, seg...)))
		var r Record
		NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: LinkEthernet})
		assert.Equal(t, uint8(ProtoTCP), r.IP[0].Proto)
		assert.Equal(t, uint16(20+24), r.IP[0].HdrLen)
		assert.Equal(t, uint16(443), r.L4.DPort)
		assert.Equal(t, uint8(TCPAck|TCPPsh), r.L4.Flags)
		assert.Zero(t, r.NProblem, "problems: %v", r.Problems[:r.NProblem])
	})

	t.Run("cisco metadata in gre", func(t *testing.T) {
		// tcpdump's various_gre.pcap frame 25: GRE key 0x28, protocol 0x8909
		// (Cisco MetaData, SGT 0), then an ICMP echo request.
		frame, err := hex.DecodeString("aabbcc000200aabbcc000100810004bd" + "08004500008800910000ff2f25510aac" +
			"40060aac400720008909000000280800" + "0101000100004500006400050000ff01" + "6104ac110136ac110137080064fe0001" +
			"000000000000000c193fabcdabcdabcd" + "abcdabcdabcdabcdabcdabcdabcdabcd" + "abcdabcdabcdabcdabcdabcdabcdabcd" +
			"abcdabcdabcdabcdabcdabcdabcdabcd" + "abcdabcdabcdabcdabcd")
		if err != nil {
			t.Fatal(err)
		}
		var r Record
		NewDecoder().Decode(&r, frame, Meta{WireLen: len(frame), Link: LinkEthernet})
		assert.Zero(t, r.NProblem, "problems: %v", r.Problems[:r.NProblem])
		assert.Equal(t, 2, r.NIP)
		assert.Equal(t, addr("172.17.1.54"), r.IP[1].Src)
		assert.Equal(t, addr("172.17.1.55"), r.IP[1].Dst)
		assert.Equal(t, 1, r.NTunnel)
		assert.Equal(t, Tunnel{Type: TunnelGRE, VNI: 0x28, HasVNI: true, Overhead: 36}, r.Tunnels[0])
		assert.Equal(t, uint8(ProtoICMP), r.L4.Proto)
		assert.Equal(t, uint8(8), r.ICMP.Type)
	})
}
