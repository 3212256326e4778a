package incident

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSHBApplication: the application a pcapng section header names, in
// either byte order; none for a pcap, a cut header or a header without it.
func TestSHBApplication(t *testing.T) {
	for app, merged := range map[string]bool{"hoptrace merge": true, "hoptrace v1.2.3 merge": true, "Dumpcap (Wireshark) 4.4.2": false, "hoptrace": false} {
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: app, OS: "Linux"}})
		require.NoError(t, err)
		require.NoError(t, w.Flush())
		b := buf.Bytes()
		assert.Equal(t, app, shbApplication(b), app)
		assert.Equal(t, merged, mergedFile(&entry{name: "x.pcapng", data: b}), app)
		for cut := range 28 {
			assert.Empty(t, shbApplication(b[:cut]))
		}
		// Big-endian: the same block with every field swapped.
		be := append([]byte{}, b...)
		swap := func(off, n int) {
			for i := 0; i < n/2; i++ {
				be[off+i], be[off+n-1-i] = be[off+n-1-i], be[off+i]
			}
		}
		swap(4, 4)
		swap(8, 4)
		swap(12, 2)
		swap(14, 2)
		swap(16, 8)
		for off := 24; off+4 <= len(be); {
			code, n := int(b[off])|int(b[off+1])<<8, int(b[off+2])|int(b[off+3])<<8
			swap(off, 2)
			swap(off+2, 2)
			off += 4 + (n+3)&^3
			if code == 0 {
				break
			}
		}
		assert.Equal(t, app, shbApplication(be), "big-endian %s", app)
	}
	assert.Empty(t, shbApplication([]byte("\xd4\xc3\xb2\xa1 a classic pcap header......")))
}
