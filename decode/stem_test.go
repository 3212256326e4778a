package decode_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hoptrace/hoptrace/decode"
)

// TestStem: the stem of a capture file names its capture point; the files
// of a rotating capture, as the tools that rotate name them, share it.
func TestStem(t *testing.T) {
	for _, tc := range []struct{ path, stem, plain string }{
		{"node-1/n1-eth0.pcap.gz", "n1-eth0", "n1-eth0"},
		// Lowering changes the length of some names in bytes ("Ⱥ", two
		// bytes, lowers to "ⱥ", three; "İ" to "i", one): such an
		// extension is none, cut at its own length (FuzzOpen found a
		// panic).
		{".\u023a", ".\u023a", ".\u023a"},
		{"x.\u0130", "x.\u0130", "x.\u0130"},
		{"eth0.PCAP.GZ", "eth0", "eth0"},
		{"eth0.pcap", "eth0", "eth0"},
		{"flannel.1.pcap", "flannel.1", "flannel.1"},
		{"eth0.100.pcapng", "eth0.100", "eth0.100"}, // a VLAN device
		{"cali1a2b3c4d5e6.pcap", "cali1a2b3c4d5e6", "cali1a2b3c4d5e6"},
		{"veth-12345678.pcap", "veth-12345678", "veth-12345678"},
		{"trace.PCAP", "trace", "trace"},
		// tcpdump -w eth0.pcap -C 100, and with -W 10, -W 100.
		{"eth0.pcap1", "eth0", "eth0.pcap1"},
		{"eth0.pcap12", "eth0", "eth0.pcap12"},
		{"eth0.pcap0", "eth0", "eth0.pcap0"},
		{"eth0.pcap07", "eth0", "eth0.pcap07"},
		{"eth0.pcap3.gz", "eth0", "eth0.pcap3"}, // -z gzip
		{"eth0.pcapng2", "eth0", "eth0.pcapng2"},
		// logrotate / savelog.
		{"eth0.pcap.1", "eth0", "eth0.pcap.1"},
		{"eth0.pcap.2.gz", "eth0", "eth0.pcap.2"},
		// dumpcap -b filesize:... -w eth0.pcapng; editcap -c 1000.
		{"eth0_00001_20261203152253.pcapng", "eth0", "eth0_00001_20261203152253"},
		{"x_00000_20261203152253.pcap", "x", "x_00000_20261203152253"},
		// tcpdump -G with a date in -w.
		{"eth0-20261203-152253.pcap", "eth0", "eth0-20261203-152253"},
		{"eth0_2026-12-03_15.22.53.pcap", "eth0", "eth0_2026-12-03_15.22.53"},
		{"eth0-2026-12-03T15:22.pcap", "eth0", "eth0-2026-12-03T15:22"},
		{"eth0-20261203.pcap", "eth0", "eth0-20261203"},
		{"eth0.1764775373.pcap", "eth0", "eth0.1764775373"},
		// Never the whole name, and not digits that are no date.
		{"20261203152253.pcap", "20261203152253", "20261203152253"},
		{"eth0-12345678.pcap", "eth0-12345678", "eth0-12345678"},
		{"eth0-20261399.pcap", "eth0-20261399", "eth0-20261399"},
	} {
		stem, plain := decode.StemOf(tc.path)
		assert.Equal(t, tc.stem, stem, tc.path)
		assert.Equal(t, tc.plain, plain, tc.path)
		assert.Equal(t, tc.stem, decode.Stem(tc.path), tc.path)
	}
}
