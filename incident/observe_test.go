package incident

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// A tcpdump log as Retina saves it: its command line, a blank line, then
// what tcpdump printed (here with kernel drops).
const droppingLog = `/usr/bin/tcpdump -w /tmp/cap-n1-20261122161949UTC/cap-n1-20261122161949UTC.pcap --relinquish-privileges=root -s 96 -i any (host 10.244.0.5 or host 10.244.0.6)

tcpdump: data link type LINUX_SLL2
tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 96 bytes
1200 packets captured
1388 packets received by filter
188 packets dropped by kernel
`

func TestTcpdumpLog(t *testing.T) {
	l, ok := parseTcpdumpLog([]byte(droppingLog))
	require.True(t, ok)
	assert.Equal(t, "any", l.Interface)
	assert.Equal(t, "(host 10.244.0.5 or host 10.244.0.6)", l.Filter)
	assert.Equal(t, 96, l.SnapLen)
	assert.EqualValues(t, 1200, l.Captured)
	assert.EqualValues(t, 188, l.DroppedKernel)
	addrs, ok := hostFilter(l.Filter)
	require.True(t, ok)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.244.0.5"), netip.MustParseAddr("10.244.0.6")}, addrs)
	for _, f := range []string{"tcp port 80", "host 10.0.0.1 and port 80", "not host 10.0.0.1", "host"} {
		_, ok := hostFilter(f)
		assert.False(t, ok, f)
	}
	_, ok = parseTcpdumpLog([]byte("Summary:\n\n/usr/sbin/ip -d -j addr show(IP address configuration)\n"))
	assert.False(t, ok)
}

// TestObservabilityNotes: kernel drops from tcpdump.log, a snap length too
// short for inner headers, and drops in a pcapng statistics block are
// stated as "not observed", as notes, not as input problems.
func TestObservabilityNotes(t *testing.T) {
	dir := t.TempDir()
	n1 := filepath.Join(dir, "worker-1")
	require.NoError(t, os.Mkdir(n1, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "tcpdump.log"), []byte(droppingLog), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "any.pcap"), readFile(t, filepath.Join(lab, "node-1", "n1-any.pcap")), 0o644))

	// A dumpcap-style pcapng of one interface, snap length 96, whose
	// statistics block counts drops.
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 96, TimestampResolution: 9, OS: "linux"}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "Dumpcap (Wireshark) 4.4.2", OS: "Linux 6.8.0"}})
	require.NoError(t, err)
	writePackets(t, w, filepath.Join(lab, "node-1", "n1-eth0.pcap"), 96)
	require.NoError(t, w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{LastUpdate: time.Unix(1795364391, 0), PacketsReceived: 40, PacketsDropped: 7}))
	require.NoError(t, w.Flush())
	require.NoError(t, os.WriteFile(filepath.Join(n1, "eth0.pcapng"), buf.Bytes(), 0o644))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems, "what was not observed is not an input problem")
	notes := strings.Join(inc.Notes, "\n")
	assert.Contains(t, notes, "tcpdump reports 188 packets dropped by the kernel")
	assert.Contains(t, notes, `the capture filter "(host 10.244.0.5 or host 10.244.0.6)"`)
	assert.Contains(t, notes, "snap length 96 bytes is too short for the inner headers")
	assert.Contains(t, notes, "interface 0 (eth0): the capture's statistics say 7 packets were dropped")
	// dumpcap's interface name makes eth0.pcapng the hop eth0.
	for _, c := range inc.Captures {
		if strings.HasSuffix(c.Path, "eth0.pcapng") {
			assert.Equal(t, "eth0", c.Point, "dumpcap's interface name")
		}
	}
}

// TestDumpcapReal reads a pcapng that dumpcap itself wrote (a second on
// the loopback interface): its interface name and statistics blocks.
func TestDumpcapReal(t *testing.T) {
	if _, err := exec.LookPath("dumpcap"); err != nil {
		t.Skip("dumpcap not installed: no real dumpcap output to read")
	}
	p := filepath.Join(t.TempDir(), "lo.pcapng")
	if out, err := exec.Command("dumpcap", "-q", "-i", "lo", "-a", "duration:1", "-w", p).CombinedOutput(); err != nil {
		t.Skipf("dumpcap cannot capture here (%v): %s", err, out)
	}
	e := &entry{name: "lo.pcapng", path: p, disk: p}
	c := &collector{w: &walker{lim: Limits{}.withDefaults()}}
	ci := c.inspect(e, true)
	require.NoError(t, ci.err)
	stats := ci.stats
	require.NotEmpty(t, stats, "dumpcap writes a statistics block per interface when it stops")
	assert.Zero(t, stats[0].Iface)
	assert.GreaterOrEqual(t, stats[0].Received, int64(0))
	require.Len(t, ci.ifaces, 1)
	assert.Equal(t, "lo", ci.ifaces[0].Name)
	assert.Equal(t, "lo", c.interfaceOf(ci, nil, nil))
}

// TestStatsPastDamage: the statistics block at the end of a pcapng file
// whose middle is damaged still says what the capture dropped. The
// statistics are decode's (File.Stats), which reads the blocks at the end
// of a file ahead; a walk from the start stops at the damage.
func TestStatsPastDamage(t *testing.T) {
	dir := t.TempDir()
	n1 := filepath.Join(dir, "worker-1")
	require.NoError(t, os.Mkdir(n1, 0o755))
	const t0 = uint64(1795364391) * 1e9
	p := frametest.NewPcapNG().Interface("eth0", 9)
	frame := frametest.Eth(0x0800, frametest.IP4("10.0.0.1", "10.0.0.2", 17, frametest.UDP(1000, 2000, make([]byte, 20))))
	for i := range 3 {
		p.Packet(0, t0+uint64(i)*1e6, frame)
	}
	b := slices.Clone(p.Bytes())
	// A block whose length is too short to be one: damage.
	b = append(b, 6, 0, 0, 0, 8, 0, 0, 0)
	q := frametest.NewPcapNG().Interface("eth0", 9).Statistics(0, frametest.Stats{TS: t0 + 5e6, Start: t0, End: t0 + 5e6, Recv: 10, OSDrop: 7})
	// The statistics block alone, without the second section's headers.
	isb := q.Bytes()[len(q.Bytes())-int(binary.LittleEndian.Uint32(q.Bytes()[len(q.Bytes())-4:])):]
	b = append(b, isb...)
	require.NoError(t, os.WriteFile(filepath.Join(n1, "eth0.pcapng"), b, 0o644))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	notes := strings.Join(inc.Notes, "\n")
	assert.Contains(t, notes, "interface 0 (eth0): the capture's statistics say 7 packets were dropped (interface 0, OS 7)")
}

// TestInterfaceOfLongestPrefix: a capture named after two -i any
// captures' prefixes ("n1-" and "n1-b-") is named by the longer one, every
// time; ranging over the prefixes' map took whichever came first.
func TestInterfaceOfLongestPrefix(t *testing.T) {
	c := &collector{}
	ci := capInfo{e: &entry{name: "n1-b-eth0.pcap"}, stem: "n1-b-eth0"}
	byName := map[string]int32{"eth0": 0, "b-eth0": 1}
	prefixes := map[string]bool{"": true, "n1-": true, "n1-b-": true, "n2-": true}
	for range 50 { // map order differs between ranges: one wrong pick would show
		assert.Equal(t, "eth0", c.interfaceOf(ci, byName, prefixes))
	}
}
