//go:build unix

// Command walk is the header-walk baseline of bench/limit.sh: the least
// work any reader of a capture must do. It maps each pcap file into
// memory and walks its records, reading each record header and the first
// byte of each packet (the cache line a decoder reads first), and prints
// the records and bytes it saw. Nothing is decoded. hoptrace's speed as a
// fraction of this one's says how far it is from the memory-walk limit.
//
//	go run ./bench/walk [-passes N] FILE.pcap...
//
// With -passes it walks every file N times, mapping each afresh as a new
// process would, and prints the CPU time per pass (getrusage), finer than
// timing a process.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

// walk returns the records of a pcap file and a checksum of their first
// bytes, so that the compiler cannot drop the reads.
func walk(data []byte) (records int, sum byte, err error) {
	if len(data) < 24 {
		return 0, 0, fmt.Errorf("short file")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return 0, 0, fmt.Errorf("not a pcap file")
	}
	for off := 24; off+16 <= len(data); {
		n := int(bo.Uint32(data[off+8:]))
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
	return records, sum, nil
}

func main() {
	passes := flag.Int("passes", 1, "walk every file this many times")
	flag.Parse()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	total, bytes := 0, int64(0)
	var sum byte
	for range *passes {
		total, bytes = 0, 0
		for _, path := range flag.Args() {
			n, size, s := walkFile(path)
			total, bytes, sum = total+n, bytes+size, sum^s
		}
	}
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	per := cpu / time.Duration(*passes)
	fmt.Printf("%d records, %d bytes (checksum %d); %.6f s CPU per pass, %.1f M records per CPU-second\n",
		total, bytes, sum, per.Seconds(), float64(total)/per.Seconds()/1e6)
}

// walkFile maps a file, walks it and unmaps it.
func walkFile(path string) (records int, size int64, sum byte) {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "walk:", err)
		os.Exit(2)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		fmt.Fprintln(os.Stderr, "walk:", path, "empty or unreadable")
		os.Exit(2)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		fmt.Fprintf(os.Stderr, "walk: map %s: %v\n", path, err)
		os.Exit(2)
	}
	defer syscall.Munmap(data)
	n, s, err := walk(data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "walk: %s: %v\n", path, err)
		os.Exit(2)
	}
	return n, fi.Size(), s
}
