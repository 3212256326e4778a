package analyze_test

import (
	"encoding/binary"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClockUnrelatedSameIPID: two unrelated IPv4 datagrams may carry one
// IP ID (16 bits, drawn per socket): here the LAN machine's datagram to
// node-2's closed port 7777 (its only one in the captures) and one of pod A's datagrams to pod C, which
// node-2's eth0 sees 78 ms later. Keyed by the ID alone, the clock pass
// took the two for one packet, sent by node-1 (it saw the pod's datagram
// with the higher TTL) and seen on node-2 78 ms before node-1 sent it: a
// delay of −78 ms, and node-2's clock put 39 ms behind node-1's where the
// lab's kernel clocks agree (one CI run of the lab's underlay-loss
// scenario failed so). The datagrams' payloads differ, and the analysis
// compares them; so must the clock pass. The test takes the committed
// underlay-loss incident, gives the LAN datagram (in n2-eth0 and n2-any,
// and the ICMP error quoting it) that ID, and wants the clocks, drops and
// paths of the incident as it was.
func TestClockUnrelatedSameIPID(t *testing.T) { clockCollision(t, false, 60*time.Millisecond) }

// TestClockKeyCollision: as TestClockUnrelatedSameIPID, with the LAN's
// datagram carrying the first payload bytes of pod A's as well: the same
// key for the clock pass, digest and all (as two DNS answers of one
// transaction ID and length are, from unconnected sockets: IP ID 0). The
// sample they make, a delay of −67 ms from node-1 to node-2, contradicts
// the fastest packet back (a round trip below zero): it is set aside
// (consistentMins), and node-2's clock is what it was.
func TestClockKeyCollision(t *testing.T) {
	for _, gap := range []time.Duration{60 * time.Millisecond, 250 * time.Millisecond} {
		t.Run(gap.String(), func(t *testing.T) { clockCollision(t, true, gap) })
	}
}

// clockCollision gives the LAN's datagram to node-2 the IP ID (and with
// payloadToo the first payload bytes) of the first of pod A's datagrams
// that node-2's eth0 saw gap or more after it, and wants the analysis of
// the incident as it was.
func clockCollision(t *testing.T, payloadToo bool, gap time.Duration) {
	src := filepath.Join("..", "testdata", "captures", "underlay-loss")
	want := analyzeDir(t, src)
	require.Len(t, want.Clocks, 2)

	dir := t.TempDir()
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		files[rel] = b
		return err
	}))
	lan, node2 := netip.MustParseAddr("192.168.1.200"), netip.MustParseAddr("192.168.1.11")
	podA := netip.MustParseAddr("10.244.0.5")
	eth0, anyCap := filepath.Join("node-2", "n2-eth0.pcap"), filepath.Join("node-2", "n2-any.pcap")

	// The LAN datagram to port 7777 as n2-eth0 saw it, and the first of
	// pod A's datagrams (inside VXLAN: the inner header 64 bytes in) that
	// n2-eth0 saw 60 ms or more after it.
	var at int64
	var id uint16
	var head []byte // the first payload bytes of pod A's datagram
	eachIPv4(t, files[eth0], 14, func(ts int64, ip []byte) {
		if at == 0 && ipv4Src(ip) == lan && ipv4Dst(ip) == node2 && ip[9] == 17 && binary.BigEndian.Uint16(ip[22:]) == 7777 {
			at = ts
		}
	})
	require.NotZero(t, at, "the LAN's datagram to node-2:7777 in %s", eth0)
	eachIPv4(t, files[eth0], 14, func(ts int64, ip []byte) {
		if id != 0 || ts < at+int64(gap) || ip[9] != 17 || binary.BigEndian.Uint16(ip[22:]) != 8472 || len(ip) < 50+20 {
			return
		}
		inner := ip[50:]
		if ipv4Src(inner) == podA && inner[9] == 17 && binary.BigEndian.Uint16(inner[4:]) != 0 && len(inner) >= 20+8+8 {
			id = binary.BigEndian.Uint16(inner[4:])
			head = append([]byte{}, inner[28:36]...)
			t.Logf("pod A's datagram of IP ID %#04x seen at n2-eth0 %v after the LAN's", id, time.Duration(ts-at))
		}
	})
	require.NotZero(t, id, "a datagram of pod A after the LAN's")

	// The LAN datagram and node-2's ICMP error quoting it take that ID.
	changed := 0
	for name, linkLen := range map[string]int{eth0: 14, anyCap: 20} {
		b := files[name]
		eachIPv4(t, b, linkLen, func(_ int64, ip []byte) {
			switch {
			case ipv4Src(ip) == lan && ipv4Dst(ip) == node2 && ip[9] == 17 && binary.BigEndian.Uint16(ip[22:]) == 7777:
				setIPv4ID(ip, id)
				if payloadToo {
					require.GreaterOrEqual(t, len(ip), 28+len(head))
					copy(ip[28:], head)
					binary.BigEndian.PutUint16(ip[26:], 0) // no UDP checksum
				}
				changed++
			case ipv4Src(ip) == node2 && ipv4Dst(ip) == lan && ip[9] == 1 && ip[20] == 3 && len(ip) >= 48:
				setIPv4ID(ip[28:], id)
				binary.BigEndian.PutUint16(ip[22:], 0)
				binary.BigEndian.PutUint16(ip[22:], checksum(ip[20:]))
			}
		})
	}
	require.Equal(t, 2, changed, "the LAN's datagram to port 7777, in n2-eth0 and n2-any")
	for rel, b := range files {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}

	got := analyzeDir(t, dir)
	require.Len(t, got.Clocks, 2)
	for i, c := range got.Clocks {
		assert.Equal(t, want.Clocks[i].Node, c.Node)
		assert.InDelta(t, float64(want.Clocks[i].OffsetNS), float64(c.OffsetNS), float64(100*time.Microsecond),
			"%s's clock against %s: %v, %v before the IDs met", c.Node, c.Reference, time.Duration(c.OffsetNS), time.Duration(want.Clocks[i].OffsetNS))
		assert.Equal(t, want.Clocks[i].Samples, c.Samples, "%s's samples", c.Node)
	}
	assert.Equal(t, want.Drops, got.Drops)
	assert.Equal(t, want.Paths, got.Paths)
}

// eachIPv4 calls fn with the stamp (ns) and the IPv4 packet of every record
// of the little-endian classic pcap file b (nanosecond or microsecond)
// whose link header, linkLen bytes, is followed by an IPv4 header. fn may
// change the packet in place.
func eachIPv4(t *testing.T, b []byte, linkLen int, fn func(ts int64, ip []byte)) {
	t.Helper()
	unit := int64(time.Microsecond)
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		unit = 1
	default:
		t.Fatal("not a little-endian classic pcap file")
	}
	for _, o := range pcapRecords(b) {
		ts := int64(binary.LittleEndian.Uint32(b[o:]))*int64(time.Second) + int64(binary.LittleEndian.Uint32(b[o+4:]))*unit
		frame := b[o+16 : o+16+int(binary.LittleEndian.Uint32(b[o+8:]))]
		if len(frame) >= linkLen+24 && frame[linkLen]>>4 == 4 {
			fn(ts, frame[linkLen:])
		}
	}
}

func ipv4Src(ip []byte) netip.Addr { return netip.AddrFrom4([4]byte(ip[12:16])) }
func ipv4Dst(ip []byte) netip.Addr { return netip.AddrFrom4([4]byte(ip[16:20])) }

// setIPv4ID sets the ID of the IPv4 header at the start of ip and its
// checksum.
func setIPv4ID(ip []byte, id uint16) {
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[10:], 0)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip[:int(ip[0]&0xf)*4]))
}

// checksum is the Internet checksum of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
