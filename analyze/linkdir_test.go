package analyze

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLearnOwnMAC: an Ethernet capture of one interface is known by the
// address in its unicast frames more than any other; a link whose two ends
// are in every frame, or a file of two interfaces, says nothing.
func TestLearnOwnMAC(t *testing.T) {
	own := []byte{2, 0, 0, 0, 0, 1}
	peers := [][]byte{{2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}}
	frame := func(dst, src []byte) []byte {
		b := append(append(append([]byte{}, dst...), src...), 0x08, 0x00)
		return append(b, make([]byte, 40)...)
	}
	write := func(t *testing.T, ifaces int, frames func(i int) (iface int, data []byte)) *reader {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9}, pcapgo.NgWriterOptions{})
		require.NoError(t, err)
		for k := 1; k < ifaces; k++ {
			_, err := w.AddInterface(pcapgo.NgInterface{Name: "eth1", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9})
			require.NoError(t, err)
		}
		for i := range 40 {
			iface, data := frames(i)
			require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, int64(i)*1000), CaptureLength: len(data), Length: len(data), InterfaceIndex: iface}, data))
		}
		require.NoError(t, w.Flush())
		p := filepath.Join(t.TempDir(), "c.pcapng")
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
		r := &reader{cap: Capture{Path: p}}
		r.learnOwnMAC()
		return r
	}
	// Its own address with two peers, either way: its own.
	r := write(t, 1, func(i int) (int, []byte) {
		if i%2 == 0 {
			return 0, frame(peers[i%4/2], own)
		}
		return 0, frame(own, peers[i%4/2])
	})
	assert.True(t, r.ownMACKnown)
	assert.Equal(t, [6]byte(own), r.ownMAC)
	// One peer alone: both ends in every frame.
	r = write(t, 1, func(i int) (int, []byte) {
		if i%2 == 0 {
			return 0, frame(peers[0], own)
		}
		return 0, frame(own, peers[0])
	})
	assert.False(t, r.ownMACKnown, "a link with two ends alone")
	// The same frames, every other one on a second interface.
	r = write(t, 2, func(i int) (int, []byte) {
		return i % 2, frame(peers[i%4/2], own)
	})
	assert.False(t, r.ownMACKnown, "a file of two interfaces")
}
