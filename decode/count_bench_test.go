//go:build linux

package decode

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// BenchmarkCount counts the packets of a mapped pcap file as hoptrace
// decode --stats does (File.Count), beside bench/walk's header walk over
// the same mapped file in the same process: ns/pkt of each, and count's
// speed as a share of the walk's, without a process's start: CPU time of
// the benchmark's thread (getrusage RUSAGE_THREAD), which a busy machine
// stretches far less than wall time. The file is
// made like bench/limit.sh's incident: small frames (its records average
// 125 bytes), four plain Ethernet/IPv4/TCP ones to one flannel VXLAN one.
//
//	go test -run '^$' -bench Count -count 5 ./decode
func BenchmarkCount(b *testing.B) {
	const packets = 500_000 // 60 MB: far more than the caches
	seg := &layers.TCP{SrcPort: 41000, DstPort: 5201, Seq: 1, Ack: 1, ACK: true, PSH: true, Window: 502,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0, 1, 0x86, 0xa0, 0, 0x6c, 0x55, 0x60}},
		}}
	plain := benchSerialize(b, benchEth(layers.EthernetTypeIPv4),
		benchIPv4("10.244.0.5", "10.244.1.5", layers.IPProtocolTCP, true), seg, gopacket.Payload(make([]byte, 40)))
	vxlan := benchVXLANSegment(b, 56640, seg, 0)
	var out bytes.Buffer
	w := pcapgo.NewWriterNanos(&out)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tunneled := 0
	for i := range packets {
		frame := plain
		if i%5 == 4 {
			frame, tunneled = vxlan, tunneled+1
		}
		ts = ts.Add(1227 * time.Nanosecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(b.TempDir(), "bench.pcap")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	d := NewDecoder()
	var walkNs float64
	b.Run("walk", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cpu := threadCPU()
		for b.Loop() {
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if n := walkRecords(f.mem); n != packets {
				b.Fatalf("walked %d records, want %d", n, packets)
			}
			f.Close()
		}
		walkNs = float64(threadCPU()-cpu) / float64(b.N*packets)
		b.ReportMetric(walkNs, "cpu-ns/pkt")
	})
	// What decode --stats did before File.Count: every packet read by
	// Next and decoded.
	b.Run("decode", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cpu := threadCPU()
		var r Record
		for b.Loop() {
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				data, m, err := f.Next()
				if err != nil {
					break
				}
				d.Decode(&r, data, m)
				if r.NTunnel > 0 {
					n++
				}
			}
			if n != tunneled {
				b.Fatalf("decoded %d tunneled packets, want %d", n, tunneled)
			}
			f.Close()
		}
		ns := float64(threadCPU()-cpu) / float64(b.N*packets)
		b.ReportMetric(ns, "cpu-ns/pkt")
		if walkNs > 0 {
			b.ReportMetric(100*walkNs/ns, "%walk")
		}
	})
	b.Run("count", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ReportAllocs()
		cpu := threadCPU()
		for b.Loop() {
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			var n Counts
			err = f.Count(d, func(_ string, c Counts) { n.Packets, n.Tunneled = n.Packets+c.Packets, n.Tunneled+c.Tunneled })
			if err != io.EOF || n.Packets != packets || n.Tunneled != tunneled {
				b.Fatalf("counted %+v, want %d packets, %d tunneled (%v)", n, packets, tunneled, err)
			}
			f.Close()
		}
		ns := float64(threadCPU()-cpu) / float64(b.N*packets)
		b.ReportMetric(ns, "cpu-ns/pkt")
		if walkNs > 0 {
			b.ReportMetric(100*walkNs/ns, "%walk")
		}
	})
}

// walkRecords is bench/walk's loop: it walks the records of a
// little-endian pcap file in memory, reading each header and the first
// byte of each packet.
func walkRecords(data []byte) int {
	records := 0
	var sum byte
	for off := 24; off+16 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[off+8:]))
		off += 16
		if n > len(data)-off {
			break
		}
		if n > 0 {
			sum ^= data[off]
		}
		off += n
		records++
	}
	walkSink ^= sum
	return records
}

var walkSink byte

// threadCPU returns the CPU time the calling thread has used, in ns.
func threadCPU() int64 {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
