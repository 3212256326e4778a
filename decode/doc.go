// Package decode turns capture files into packet records, never
// allocating per packet and never trusting a length it has not checked.
//
// The pipeline, per file:
//
//  1. Open tells the format by magic number (pcap in either byte order and
//     resolution, pcapng, either compressed with gzip, zstd, lz4 or bzip2),
//     maps a plain file into
//     memory or reads it as a stream (a FIFO is opened without waiting for
//     a writer), and reads the file header.
//  2. File.Next returns one packet at a time, a view of the mapped file or
//     of the read buffer: pcap records and pcapng blocks are parsed here,
//     every length checked against Limits (libpcap's 256 KB record, 128 KB
//     of pcapng options, 16 MB for skipped blocks) before it costs memory;
//     a compressed stream that decompresses like a bomb ends. After a record or
//     block that cannot be right the reader skips to the next plausible
//     one (Recoveries); a clock step inside the file is noted (ClockSteps)
//     and, with File.Reanchor, the timeline after it re-anchored.
//  3. Decoder.Decode fills a Record in place from the packet: link layer,
//     every IP header and tunnel outermost first, the innermost transport,
//     ICMP errors with the packet they quote; what is malformed is noted
//     in the record, never returned as an error. The common frames
//     (Ethernet or Linux cooked, IPv4 or IPv6, TCP or UDP, and those inside
//     VXLAN) take a fast path (fast.go) that must and is tested to give
//     the general decoder's records.
//  4. File.Point names the capture point of a record (file, pcapng
//     interface, or SLL2 interface index); File.Stats says what a pcapng
//     file's interface statistics blocks say (capture start and end, kernel
//     drops), read ahead from the end of a file held in memory.
//  5. File.Count, for packet statistics (hoptrace decode --stats), reads
//     and counts a file per capture point without writing records: the
//     fast path's frames are classified by its checks alone (count.go),
//     the others decoded.
package decode
