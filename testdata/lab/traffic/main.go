// Command traffic generates the lab's deterministic traffic. Every mode is
// bounded in count and time and stops by itself. Only addresses given on
// the command line (the lab's own namespaces) are contacted.
//
// Modes:
//
//	traffic tcp-serve  -listen :8080 -req 200 -resp 3000 [-n 0]
//	    accept connections; read exactly -req bytes, answer -resp bytes,
//	    close. Stops after -n connections (0 = until killed).
//	traffic tcp-req    -to 10.244.1.5:8080 -req 200 -resp 3000 -n 3
//	    -n sequential connections, each: send -req bytes, read -resp bytes
//	    until EOF, close. Prints one JSON line with what happened.
//	traffic dns-serve  -listen :53 [-n 0] [-frame-to MAC -ifname eth0]
//	    answer DNS A queries with 10.96.0.1 (a minimal authoritative reply)
//	    from an unconnected socket. With -frame-to, IPv4 answers are written
//	    as whole Ethernet frames (AF_PACKET) to MAC, with DF set and IP ID
//	    0, as Linux kernels before 6.x wrote them for unconnected sockets
//	    (this lab's kernel gives them a per-destination counter instead).
//	traffic dns-query  -to 10.244.1.5:53 -name kubernetes.default.svc.cluster.local -n 3
//	    send -n queries (new ID each), wait for each answer.
//	traffic udp-sink   -listen :9000 -idle 2s
//	    count datagrams until -idle passes without one; print the count.
//	traffic udp-burst  -to 10.244.1.5:9000 -n 100 -size 64 -gap 5ms
//	    send -n datagrams of -size bytes, -gap apart. Payload carries the
//	    sequence number.
//	traffic bulk-recv  -listen :5001 [-n 1]
//	    read a connection until EOF, print bytes received.
//	traffic bulk-send  -to 10.244.1.5:5001 -bytes 262144 -timeout 5s
//	    write -bytes bytes (or as many as possible before -timeout), print
//	    bytes written and whether it stalled.
//	traffic mdns       -ifname eth0 -n 4 -gap 400ms
//	    background: join 224.0.0.251 and ff02::fb on -ifname (IGMP and MLD
//	    reports), send -n mDNS queries to both groups from port 5353.
//	traffic bcast      -to 192.168.1.255:9999 -n 3 -gap 300ms
//	    background: -n datagrams to a broadcast address.
//
// -net chooses the socket family where it matters: udp4/udp6/udp,
// tcp4/tcp6/tcp (default: the v4 one, as before). A dns-serve socket is
// never connected, so the kernel sends its IPv4 answers with DF and IP ID 0.
//
// Results are printed as one JSON object per line so the lab can store
// them as "what the lab injected" in the scenario truth.
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "traffic: "+format+"\n", a...)
	os.Exit(1)
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func main() {
	if len(os.Args) < 2 {
		die("usage: traffic MODE [flags] (see source)")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	listen := fs.String("listen", "", "listen address")
	to := fs.String("to", "", "destination address:port")
	req := fs.Int("req", 200, "request bytes")
	resp := fs.Int("resp", 3000, "response bytes")
	n := fs.Int("n", 1, "count (connections, queries, datagrams)")
	size := fs.Int("size", 64, "datagram payload bytes")
	gap := fs.Duration("gap", 5*time.Millisecond, "gap between datagrams / connections")
	idle := fs.Duration("idle", 2*time.Second, "idle time that ends udp-sink")
	nbytes := fs.Int64("bytes", 262144, "bulk bytes to send")
	timeout := fs.Duration("timeout", 5*time.Second, "overall time limit")
	name := fs.String("name", "kubernetes.default.svc.cluster.local", "DNS name to query")
	network := fs.String("net", "", "socket family: udp4, udp6, tcp4, tcp6 (default: the v4 one)")
	ifname := fs.String("ifname", "eth0", "interface for multicast (mdns) and frames (dns-serve -frame-to)")
	frameTo := fs.String("frame-to", "", "dns-serve: write IPv4 answers as frames to this MAC (IP ID 0)")
	fs.Parse(os.Args[2:])
	udpNet, tcpNet = "udp4", "tcp4"
	switch *network {
	case "":
	case "udp4", "udp6", "udp":
		udpNet = *network
	case "tcp4", "tcp6", "tcp":
		tcpNet = *network
	default:
		die("unknown -net %q", *network)
	}

	switch mode {
	case "tcp-serve":
		tcpServe(*listen, *req, *resp, *n)
	case "tcp-req":
		tcpReq(*to, *req, *resp, *n, *gap, *timeout)
	case "dns-serve":
		dnsServe(*listen, *n, *frameTo, *ifname)
	case "dns-query":
		dnsQuery(*to, *name, *n, *gap, *timeout)
	case "udp-sink":
		udpSink(*listen, *idle)
	case "udp-burst":
		udpBurst(*to, *n, *size, *gap)
	case "bulk-recv":
		bulkRecv(*listen, *n)
	case "bulk-send":
		bulkSend(*to, *nbytes, *timeout)
	case "mdns":
		mdns(*ifname, *n, *gap)
	case "bcast":
		bcast(*to, *n, *size, *gap)
	default:
		die("unknown mode %q", mode)
	}
}

// udpNet and tcpNet are the socket families (-net).
var udpNet, tcpNet string

func tcpServe(addr string, reqN, respN, n int) {
	ln, err := net.Listen(tcpNet, addr)
	if err != nil {
		die("listen %s: %v", addr, err)
	}
	body := payload(respN)
	for i := 0; n == 0 || i < n; i++ {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		go func(c net.Conn) {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, reqN)
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			c.Write(body)
		}(c)
	}
	time.Sleep(500 * time.Millisecond) // let the last answer go out
}

func tcpReq(to string, reqN, respN, n int, gap, timeout time.Duration) {
	body := payload(reqN)
	ok := 0
	var conns []map[string]any
	for i := 0; i < n; i++ {
		start := time.Now()
		c, err := net.DialTimeout(tcpNet, to, timeout)
		if err != nil {
			conns = append(conns, map[string]any{"error": err.Error()})
			continue
		}
		c.SetDeadline(time.Now().Add(timeout))
		local := c.LocalAddr().String()
		c.Write(body)
		got, err := io.Copy(io.Discard, c)
		c.Close()
		rec := map[string]any{"local": local, "remote": to, "req_bytes": reqN, "resp_bytes": got,
			"ms": float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			rec["error"] = err.Error()
		}
		if got == int64(respN) && err == nil {
			ok++
		}
		conns = append(conns, rec)
		time.Sleep(gap)
	}
	emit(map[string]any{"mode": "tcp-req", "to": to, "connections": n, "ok": ok, "conns": conns})
}

// --- minimal DNS -----------------------------------------------------------

func encodeName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func dnsQueryMsg(id uint16, name string) []byte {
	m := make([]byte, 12)
	binary.BigEndian.PutUint16(m[0:], id)
	binary.BigEndian.PutUint16(m[2:], 0x0100) // RD
	binary.BigEndian.PutUint16(m[4:], 1)      // QDCOUNT
	m = append(m, encodeName(name)...)
	return append(m, 0, 1, 0, 1) // QTYPE A, QCLASS IN
}

func dnsServe(addr string, n int, frameTo, ifname string) {
	pc, err := net.ListenPacket(udpNet, addr)
	if err != nil {
		die("listen %s: %v", addr, err)
	}
	var fw *frameWriter
	if frameTo != "" {
		if fw, err = newFrameWriter(ifname, frameTo); err != nil {
			die("frames on %s: %v", ifname, err)
		}
	}
	buf := make([]byte, 1500)
	for i := 0; n == 0 || i < n; i++ {
		k, from, err := pc.ReadFrom(buf)
		if err != nil {
			die("read: %v", err)
		}
		if k < 12 {
			continue
		}
		q := buf[:k]
		// Find end of the question (name + 4 bytes).
		p := 12
		for p < k && q[p] != 0 {
			p += int(q[p]) + 1
		}
		p += 5
		if p > k {
			continue
		}
		r := append([]byte{}, q[:p]...)
		binary.BigEndian.PutUint16(r[2:], 0x8580) // QR AA RD RA, NOERROR
		binary.BigEndian.PutUint16(r[6:], 1)      // ANCOUNT
		r = append(r, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 1)
		if ua, ok := from.(*net.UDPAddr); ok && fw != nil && ua.IP.To4() != nil {
			local := pc.LocalAddr().(*net.UDPAddr)
			if err := fw.sendUDP4(ua, local.Port, r); err != nil {
				die("frame to %v: %v", ua, err)
			}
			continue
		}
		pc.WriteTo(r, from)
	}
}

func dnsQuery(to, name string, n int, gap, timeout time.Duration) {
	c, err := net.Dial(udpNet, to)
	if err != nil {
		die("dial %s: %v", to, err)
	}
	defer c.Close()
	answered := 0
	buf := make([]byte, 1500)
	for i := 0; i < n; i++ {
		id := uint16(0x1000 + i)
		c.Write(dnsQueryMsg(id, name))
		c.SetReadDeadline(time.Now().Add(timeout))
		k, err := c.Read(buf)
		if err == nil && k >= 12 && binary.BigEndian.Uint16(buf) == id {
			answered++
		}
		time.Sleep(gap)
	}
	emit(map[string]any{"mode": "dns-query", "local": c.LocalAddr().String(), "to": to, "name": name, "queries": n, "answered": answered})
}

// --- UDP burst / sink --------------------------------------------------------

func udpSink(addr string, idle time.Duration) {
	pc, err := net.ListenPacket(udpNet, addr)
	if err != nil {
		die("listen %s: %v", addr, err)
	}
	buf := make([]byte, 65535)
	count := 0
	seen := map[uint32]bool{}
	// Wait up to 30 s for the first datagram, then until idle.
	pc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		k, _, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			die("read: %v", err)
		}
		count++
		if k >= 4 {
			seen[binary.BigEndian.Uint32(buf)] = true
		}
		pc.SetReadDeadline(time.Now().Add(idle))
	}
	emit(map[string]any{"mode": "udp-sink", "listen": addr, "received": count, "distinct": len(seen)})
}

func udpBurst(to string, n, size int, gap time.Duration) {
	c, err := net.Dial(udpNet, to)
	if err != nil {
		die("dial %s: %v", to, err)
	}
	defer c.Close()
	if size < 4 {
		size = 4
	}
	b := payload(size)
	sent := 0
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint32(b, uint32(i))
		if _, err := c.Write(b); err == nil {
			sent++
		}
		time.Sleep(gap)
	}
	emit(map[string]any{"mode": "udp-burst", "local": c.LocalAddr().String(), "to": to, "sent": sent, "size": size})
}

// --- bulk -----------------------------------------------------------------

func bulkRecv(addr string, n int) {
	ln, err := net.Listen(tcpNet, addr)
	if err != nil {
		die("listen %s: %v", addr, err)
	}
	for i := 0; n == 0 || i < n; i++ {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		got, err := io.Copy(io.Discard, c)
		c.Close()
		rec := map[string]any{"mode": "bulk-recv", "remote": c.RemoteAddr().String(), "received": got}
		if err != nil {
			rec["error"] = err.Error()
		}
		emit(rec)
	}
}

func bulkSend(to string, total int64, timeout time.Duration) {
	start := time.Now()
	c, err := net.DialTimeout(tcpNet, to, timeout)
	if err != nil {
		die("dial %s: %v", to, err)
	}
	local := c.LocalAddr().String()
	c.SetWriteDeadline(start.Add(timeout))
	chunk := payload(16384)
	var sent int64
	var werr error
	for sent < total {
		k := int64(len(chunk))
		if total-sent < k {
			k = total - sent
		}
		w, err := c.Write(chunk[:k])
		sent += int64(w)
		if err != nil {
			werr = err
			break
		}
	}
	stalled := werr != nil
	if !stalled {
		// Wait for the peer to read everything: half-close and wait for EOF.
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(start.Add(timeout))
		_, err := io.Copy(io.Discard, c)
		if err != nil {
			stalled = true
			werr = err
		}
	}
	if stalled {
		// Abort the connection (RST) so that no retransmissions continue
		// after the capture window.
		c.(*net.TCPConn).SetLinger(0)
	}
	c.Close()
	rec := map[string]any{"mode": "bulk-send", "local": local, "to": to, "bytes": total,
		"written": sent, "stalled": stalled, "ms": float64(time.Since(start).Microseconds()) / 1000}
	if werr != nil {
		rec["error"] = werr.Error()
	}
	emit(rec)
}

// --- background ---------------------------------------------------------------

// mdnsQuery is an mDNS query (ID 0, QM) for the DNS-SD service list, as
// avahi and mDNSResponder send it.
func mdnsQuery() []byte {
	m := make([]byte, 12)
	binary.BigEndian.PutUint16(m[4:], 1) // QDCOUNT
	m = append(m, encodeName("_services._dns-sd._udp.local")...)
	return append(m, 0, 12, 0, 1) // QTYPE PTR, QCLASS IN
}

func mdns(ifname string, n int, gap time.Duration) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		die("interface %s: %v", ifname, err)
	}
	g4 := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	g6 := &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353, Zone: ifname}
	c4, err := net.ListenMulticastUDP("udp4", ifi, g4)
	if err != nil {
		die("join %v: %v", g4, err)
	}
	defer c4.Close()
	c6, err6 := net.ListenMulticastUDP("udp6", ifi, g6)
	if err6 == nil {
		defer c6.Close()
	}
	q := mdnsQuery()
	sent := 0
	for i := 0; i < n; i++ {
		if _, err := c4.WriteToUDP(q, g4); err == nil {
			sent++
		}
		if err6 == nil {
			if _, err := c6.WriteToUDP(q, g6); err == nil {
				sent++
			}
		}
		time.Sleep(gap)
	}
	rec := map[string]any{"mode": "mdns", "ifname": ifname, "sent": sent, "background": true}
	if err6 != nil {
		rec["error"] = err6.Error()
	}
	emit(rec)
}

func bcast(to string, n, size int, gap time.Duration) {
	c, err := net.Dial("udp4", to) // Go sets SO_BROADCAST on UDP sockets
	if err != nil {
		die("dial %s: %v", to, err)
	}
	defer c.Close()
	b := payload(size)
	sent := 0
	for i := 0; i < n; i++ {
		if _, err := c.Write(b); err == nil {
			sent++
		}
		time.Sleep(gap)
	}
	emit(map[string]any{"mode": "bcast", "local": c.LocalAddr().String(), "to": to, "sent": sent, "background": true})
}

// --- IPv4 answers as frames ------------------------------------------------

// frameWriter sends IPv4/UDP packets as Ethernet frames on one interface
// (AF_PACKET, SOCK_DGRAM: the kernel adds the Ethernet header).
type frameWriter struct {
	fd  int
	sa  syscall.SockaddrLinklayer
	src net.IP
}

func newFrameWriter(ifname, mac string) (*frameWriter, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, err
	}
	var src net.IP
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil {
			src = ip.IP.To4()
		}
	}
	if src == nil {
		return nil, fmt.Errorf("no IPv4 address on %s", ifname)
	}
	const ethPIP = 0x0800
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons(ethPIP)))
	if err != nil {
		return nil, err
	}
	w := &frameWriter{fd: fd, src: src}
	w.sa = syscall.SockaddrLinklayer{Protocol: htons(ethPIP), Ifindex: ifi.Index, Halen: 6}
	copy(w.sa.Addr[:], hw)
	return w, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// csum is the Internet checksum of b, starting from sum.
func csum(sum uint32, b []byte) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// sendUDP4 sends payload from w.src:sport to dst as one IPv4 packet with
// DF set, IP ID 0 and TTL 64.
func (w *frameWriter) sendUDP4(dst *net.UDPAddr, sport int, payload []byte) error {
	ulen := 8 + len(payload)
	p := make([]byte, 20+ulen)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	// p[4:6] IP ID stays 0
	binary.BigEndian.PutUint16(p[6:], 0x4000) // DF
	p[8] = 64
	p[9] = 17
	copy(p[12:16], w.src)
	copy(p[16:20], dst.IP.To4())
	binary.BigEndian.PutUint16(p[10:], csum(0, p[:20]))
	u := p[20:]
	binary.BigEndian.PutUint16(u[0:], uint16(sport))
	binary.BigEndian.PutUint16(u[2:], uint16(dst.Port))
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	copy(u[8:], payload)
	var pseudo uint32
	for i := 12; i < 20; i += 2 {
		pseudo += uint32(p[i])<<8 | uint32(p[i+1])
	}
	pseudo += 17 + uint32(ulen)
	c := csum(pseudo, u)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return syscall.Sendto(w.fd, p, 0, &w.sa)
}
