// Command ipiptun is a user-space IP-in-IP (IPPROTO_IPIP, protocol 4)
// tunnel for the hoptrace lab, standing in for Calico's tunl0 on kernels
// that have no ipip module.
//
// It creates a TUN device (default "tunl0", no packet-info header) and
// moves packets between it and a raw IPv4 socket of protocol 4:
//
//   - an inner IPv4 packet read from the TUN is sent with sendto() to the
//     peer node's address; the kernel writes the outer IPv4 header
//     (protocol 4, source = the node's own address chosen by routing), so
//     the node's eth0 carries real IPIP packets written by the kernel;
//   - an IPIP packet received on the raw socket (the kernel hands raw
//     IPv4 sockets the whole packet, outer header included) from the peer
//     has its outer header stripped and the inner packet is written to the
//     TUN, where the kernel receives it as if from tunl0.
//
// Because a raw socket for protocol 4 is open, the kernel does not answer
// the IPIP packets with ICMP protocol-unreachable.
//
// Usage (inside a node's network namespace, as root):
//
//	ipiptun -dev tunl0 -remote 192.168.1.11 [-local 192.168.1.10]
//
// The MTU, addresses and routes of the device are set by the caller with
// iproute2 once the device exists (the program prints "ready" on stdout
// then). It runs until SIGINT/SIGTERM. Only the standard library is used.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

const (
	iffTun      = 0x0001
	iffNoPI     = 0x1000
	tunSetIff   = 0x400454ca
	ipprotoIPIP = 4
)

// ifreq is the part of struct ifreq that TUNSETIFF reads.
type ifreq struct {
	name  [16]byte
	flags uint16
	_     [22]byte
}

func openTun(name string) (*os.File, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var req ifreq
	copy(req.name[:], name)
	req.flags = iffTun | iffNoPI
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&req))); errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, errno)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

func ip4(s string) ([4]byte, error) {
	var a [4]byte
	ip := net.ParseIP(s).To4()
	if ip == nil {
		return a, fmt.Errorf("not an IPv4 address: %q", s)
	}
	copy(a[:], ip)
	return a, nil
}

func main() {
	dev := flag.String("dev", "tunl0", "TUN device name to create")
	remote := flag.String("remote", "", "peer node IPv4 address (outer destination)")
	local := flag.String("local", "", "optional local node IPv4 address to bind the raw socket to")
	verbose := flag.Bool("v", false, "log every packet to stderr")
	flag.Parse()
	if *remote == "" {
		fmt.Fprintln(os.Stderr, "ipiptun: -remote is required")
		os.Exit(2)
	}
	peer, err := ip4(*remote)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipiptun:", err)
		os.Exit(2)
	}

	tun, err := openTun(*dev)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipiptun:", err)
		os.Exit(1)
	}
	raw, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, ipprotoIPIP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipiptun: raw IPIP socket:", err)
		os.Exit(1)
	}
	if *local != "" {
		la, err := ip4(*local)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ipiptun:", err)
			os.Exit(2)
		}
		if err := syscall.Bind(raw, &syscall.SockaddrInet4{Addr: la}); err != nil {
			fmt.Fprintln(os.Stderr, "ipiptun: bind raw socket:", err)
			os.Exit(1)
		}
	}
	dst := &syscall.SockaddrInet4{Addr: peer}

	// TUN -> raw socket: encapsulate (the kernel adds the outer header).
	go func() {
		buf := make([]byte, 65535)
		for {
			n, err := tun.Read(buf)
			if err != nil {
				fmt.Fprintln(os.Stderr, "ipiptun: tun read:", err)
				os.Exit(1)
			}
			if n < 20 || buf[0]>>4 != 4 {
				continue // only IPv4 is carried, as with Calico's tunl0
			}
			if err := syscall.Sendto(raw, buf[:n], 0, dst); err != nil {
				// EMSGSIZE and friends: the kernel already accounted it; keep going.
				fmt.Fprintln(os.Stderr, "ipiptun: sendto:", err)
				continue
			}
			if *verbose {
				fmt.Fprintf(os.Stderr, "ipiptun: tun->raw %d bytes\n", n)
			}
		}
	}()

	// raw socket -> TUN: decapsulate.
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := syscall.Recvfrom(raw, buf, 0)
			if err != nil {
				if err == syscall.EINTR {
					continue
				}
				fmt.Fprintln(os.Stderr, "ipiptun: recvfrom:", err)
				os.Exit(1)
			}
			if sa, ok := from.(*syscall.SockaddrInet4); !ok || sa.Addr != peer {
				continue // accept tunnelled packets from the configured peer only
			}
			if n < 20 {
				continue
			}
			ihl := int(buf[0]&0x0f) * 4
			if ihl < 20 || n < ihl+20 {
				continue
			}
			if _, err := tun.Write(buf[ihl:n]); err != nil {
				fmt.Fprintln(os.Stderr, "ipiptun: tun write:", err)
				continue
			}
			if *verbose {
				fmt.Fprintf(os.Stderr, "ipiptun: raw->tun %d bytes\n", n-ihl)
			}
		}
	}()

	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
