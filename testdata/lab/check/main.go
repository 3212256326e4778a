// Command check verifies a lab output directory against its own ground
// truth: for every <scenario>/truth/expect.json it checks the captures the
// same run wrote beside it.
//
// Decode sanity only (what hoptrace's analysis must later reproduce is in
// expect.json; this only proves the captures and the truth agree):
//
//   - every hop's capture exists, has the expected pcap link type
//     (EN10MB, RAW for the TUN tunl0, LINUX_SLL2 for "-i any"), and holds
//     exactly as many frames as tcpdump reported capturing with none
//     dropped by the kernel;
//   - for pod/host veths, bridges, tunnels and node eth0, the frame count
//     equals the interface's own rx+tx packet counters (ip -s link);
//   - the encapsulation on node eth0 matches the mode: VXLAN on UDP 8472
//     with VNI 1 (vxlan), IPv4 protocol 4 (ipip), neither (routed);
//   - scenario-specific facts: frag-needed with mtu 1450, IP fragments,
//     GSO super-frames or none, drops seen = rule counter, DNAT before and
//     after node-1, the PMTUD black hole's stall.
//
// Counting frames and reading link types is done here directly from the
// pcap files; protocol decoding is delegated to one function, tsharkCount,
// which runs tshark. Swap that function for hoptrace's decoder later.
//
// Usage: check -dir OUT   (prints one line per check and a closing
// "lab-check: N passed, M failed"; exits 1 if any failed)
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

type hop struct {
	Node            string `json:"node"`
	Ifname          string `json:"ifname"`
	File            string `json:"file"`
	LinkType        string `json:"link_type"`
	Kind            string `json:"kind"`
	MTU             int    `json:"mtu"`
	RxPackets       int64  `json:"rx_packets"`
	TxPackets       int64  `json:"tx_packets"`
	Captured        int64  `json:"captured"`
	DroppedByKernel int64  `json:"dropped_by_kernel"`
	WindowStartNS   int64  `json:"window_start_ns"`
	WindowEndNS     int64  `json:"window_end_ns"`
	// When the counter reads had finished (runs since the lab recorded it).
	WindowStartReadNS int64 `json:"window_start_read_ns"`
	WindowEndReadNS   int64 `json:"window_end_read_ns"`
}

type expect struct {
	Scenario  string          `json:"scenario"`
	Mode      string          `json:"mode"`
	Realistic bool            `json:"realistic"`
	Hops      map[string]*hop `json:"hops"`
	Drops     []struct {
		Flow      string    `json:"flow"`
		Node      string    `json:"node"`
		Chain     string    `json:"chain"`
		Packets   int64     `json:"packets"`
		Sent      *int64    `json:"sent"`
		Received  *int64    `json:"received"`
		Between   [2]string `json:"between"`
		Direction string    `json:"direction"`
		Reason    string    `json:"reason"`
	} `json:"drops"`
	Flows []struct {
		ID    string `json:"id"`
		Proto string `json:"proto"`
		Kind  string `json:"kind"`
		Src   string `json:"src"`
		Dst   string `json:"dst"`
		Dport int    `json:"dport"`
	} `json:"flows"`
	ClockShiftNS map[string]int64 `json:"clock_shift_ns"`
	Conntrack    []struct {
		Node  string `json:"node"`
		Proto string `json:"proto"`
		NAT   string `json:"nat"`
		Orig  struct {
			Src, Dst     string
			Sport, Dport int
		} `json:"orig"`
		Reply struct {
			Src, Dst     string
			Sport, Dport int
		} `json:"reply"`
	} `json:"conntrack"`
	FragNeeded []struct {
		From string `json:"from"`
		MTU  int    `json:"mtu"`
	} `json:"frag_needed"`
	PMTU []struct {
		Netns string `json:"netns"`
		MTU   int    `json:"mtu"`
	} `json:"pmtu"`
	SNMP    map[string]map[string]int64 `json:"snmp"`
	Traffic []map[string]any            `json:"traffic"`
}

// checker collects one scenario's results, so scenarios can be checked
// concurrently and still print in order.
type checker struct {
	out            bytes.Buffer
	passed, failed int
}

func (c *checker) report(ok bool, sc, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if ok {
		c.passed++
		fmt.Fprintf(&c.out, "ok   %-18s %s\n", sc, msg)
	} else {
		c.failed++
		fmt.Fprintf(&c.out, "FAIL %-18s %s\n", sc, msg)
	}
}

// pcapInfo reads a classic pcap file: link type name, frame count and
// each frame's original length and timestamp (ns since the epoch).
func pcapInfo(path string) (string, int64, []int, error) {
	lt, n, lens, _, err := pcapRead(path)
	return lt, n, lens, err
}

func pcapRead(path string) (string, int64, []int, []int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, nil, nil, err
	}
	defer f.Close()
	var gh [24]byte
	if _, err := io.ReadFull(f, gh[:]); err != nil {
		return "", 0, nil, nil, fmt.Errorf("pcap header: %w", err)
	}
	var bo binary.ByteOrder
	nano := false
	switch m := binary.LittleEndian.Uint32(gh[:]); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo, nano = binary.LittleEndian, m == 0xa1b23c4d
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo, nano = binary.BigEndian, m == 0x4d3cb2a1
	default:
		return "", 0, nil, nil, fmt.Errorf("not a pcap file")
	}
	lt := map[uint32]string{1: "EN10MB", 101: "RAW", 113: "LINUX_SLL", 276: "LINUX_SLL2"}[bo.Uint32(gh[20:])]
	var n int64
	var lens []int
	var ts []int64
	var rh [16]byte
	for {
		if _, err := io.ReadFull(f, rh[:]); err != nil {
			if err == io.EOF {
				break
			}
			return lt, n, lens, ts, fmt.Errorf("record %d: %w", n+1, err)
		}
		incl := bo.Uint32(rh[8:])
		lens = append(lens, int(bo.Uint32(rh[12:]))) // original length
		frac := int64(bo.Uint32(rh[4:]))
		if !nano {
			frac *= 1000
		}
		ts = append(ts, int64(bo.Uint32(rh[0:]))*1e9+frac)
		if _, err := f.Seek(int64(incl), io.SeekCurrent); err != nil {
			return lt, n, lens, ts, err
		}
		n++
	}
	return lt, n, lens, ts, nil
}

// tsharkCount returns how many frames of a capture match a display filter,
// with UDP 8472 decoded as VXLAN (flannel's port).
func tsharkCount(path, filter string) int {
	out, err := exec.Command("tshark", "-n", "-r", path, "-d", "udp.port==8472,vxlan", "-d", "udp.port==4789,vxlan",
		"-Y", filter, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tshark %s -Y %q: %v\n", path, filter, err)
		return -1
	}
	return len(bytes.Fields(out))
}

func main() {
	dir := flag.String("dir", "", "lab output directory")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "check: -dir is required")
		os.Exit(2)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		fmt.Println("lab check skipped: tshark not installed")
		return
	}
	files, _ := filepath.Glob(filepath.Join(*dir, "*", "truth", "expect.json"))
	sort.Strings(files)
	checkers := make([]*checker, len(files))
	// Two scenarios at a time: tshark start-up dominates the run time.
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, f := range files {
		checkers[i] = &checker{}
		wg.Add(1)
		go func(c *checker, f string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c.checkScenario(filepath.Dir(filepath.Dir(f)), f)
		}(checkers[i], f)
	}
	wg.Wait()
	passed, failed := 0, 0
	if len(files) == 0 {
		fmt.Printf("FAIL no */truth/expect.json under %s\n", *dir)
		failed++
	}
	for _, c := range checkers {
		os.Stdout.Write(c.out.Bytes())
		passed += c.passed
		failed += c.failed
	}
	fmt.Printf("lab-check: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func (c *checker) checkScenario(scdir, expPath string) {
	var ex expect
	b, err := os.ReadFile(expPath)
	if err == nil {
		err = json.Unmarshal(b, &ex)
	}
	if err != nil {
		c.report(false, filepath.Base(scdir), "expect.json: %v", err)
		return
	}
	sc := ex.Scenario
	names := make([]string, 0, len(ex.Hops))
	for h := range ex.Hops {
		names = append(names, h)
	}
	sort.Strings(names)
	lens := map[string][]int{}
	for _, h := range names {
		hp := ex.Hops[h]
		lt, n, l, ts, err := pcapRead(filepath.Join(scdir, hp.File))
		if err != nil {
			c.report(false, sc, "%s: %v", hp.File, err)
			continue
		}
		lens[h] = l
		c.report(lt == hp.LinkType, sc, "%s link type %s (want %s)", h, lt, hp.LinkType)
		c.report(n == hp.Captured && hp.DroppedByKernel == 0, sc,
			"%s has %d frames; tcpdump captured %d, kernel dropped %d", h, n, hp.Captured, hp.DroppedByKernel)
		if hp.Ifname != "any" {
			// The counters are read just after all captures listen and
			// just after they stopped, so a neighbour probe or a late
			// retransmission can fall between the two windows: allow a
			// difference of 2 packets or 2%.
			k := hp.RxPackets + hp.TxPackets
			in, what := n, "frames"
			var early, late int64 // frames while a read was under way
			if hp.WindowStartNS > 0 && hp.WindowEndNS > 0 {
				// The lab recorded when it read the counters: count the
				// frames inside that window (on the kernel's clock, so
				// before the lab's editcap shift of the node).
				in, what = 0, "frames between the counter reads"
				shift := ex.ClockShiftNS[hp.Node]
				for _, t := range ts {
					t -= shift
					if t >= hp.WindowStartNS && t <= hp.WindowEndNS {
						in++
					}
					// Those of the span a read took may be counted by
					// the counters or not: the first read's count them
					// away, the last read's count them in.
					if hp.WindowStartReadNS > 0 && t >= hp.WindowStartNS && t <= hp.WindowStartReadNS {
						early++
					}
					if hp.WindowEndReadNS > 0 && t > hp.WindowEndNS && t <= hp.WindowEndReadNS {
						late++
					}
				}
			}
			var d int64
			switch {
			case k < in-early:
				d = in - early - k
			case k > in+late:
				d = k - in - late
			}
			read := ""
			if early+late > 0 {
				read = fmt.Sprintf(" (%d of them while the first read ran, %d more while the last did)", early, late)
			}
			c.report(d <= 2 || d*50 <= k, sc, "%s %s %d%s ~ interface rx+tx packets %d over the capture window (ip -s link)", h, what, in, read, k)
		}
	}
	path := func(h string) string {
		if hp, ok := ex.Hops[h]; ok {
			return filepath.Join(scdir, hp.File)
		}
		return ""
	}
	count := func(h, filter string) int {
		p := path(h)
		if p == "" {
			return -1
		}
		return tsharkCount(p, filter)
	}
	// Node eth0 (or the any capture) shows the mode's encapsulation.
	for _, node := range []string{"n1", "n2"} {
		h := node + "-eth0"
		if _, ok := ex.Hops[h]; !ok {
			h = node + "-any"
		}
		if _, ok := ex.Hops[h]; !ok {
			continue
		}
		if sc == "same-node-tcp" {
			continue
		}
		vx := count(h, "vxlan && udp.dstport==8472 && vxlan.vni==1")
		ipip := count(h, "ip.proto==4")
		plain := count(h, "ip.dst==10.244.1.5 && !vxlan && !(ip.proto==4)")
		switch ex.Mode {
		case "vxlan":
			c.report(vx > 0 && ipip == 0, sc, "%s carries VXLAN (UDP 8472, VNI 1): %d frames, IPIP %d", h, vx, ipip)
		case "ipip":
			c.report(ipip > 0 && vx == 0, sc, "%s carries IPIP (IPv4 proto 4): %d frames, VXLAN %d", h, ipip, vx)
		case "routed":
			c.report(vx == 0 && ipip == 0 && plain > 0, sc, "%s routed: plain pod traffic %d, VXLAN %d, IPIP %d", h, plain, vx, ipip)
		case "calico-vxlan":
			v4 := count(h, "ip && vxlan && udp.dstport==4789 && vxlan.vni==4096")
			v6 := count(h, "ipv6 && vxlan && udp.dstport==4789 && vxlan.vni==4096 && ipv6.src==fd00:192:168:1::/64")
			c.report(v4 > 0 && v6 > 0 && vx == 0, sc, "%s carries Calico VXLAN (UDP 4789, VNI 4096): IPv4 underlay %d, IPv6 underlay %d frames; flannel's %d", h, v4, v6, vx)
		}
	}
	if ex.Realistic {
		c.checkRealistic(&ex, count)
	}
	if ex.Mode == "ipip" {
		if _, ok := ex.Hops["n1-tunl0"]; ok {
			n := count("n1-tunl0", "ip.src==10.244.0.5 && ip.dst==10.244.1.5")
			c.report(n > 0, sc, "n1-tunl0 (RAW) shows inner pod A -> pod C packets: %d", n)
		}
	}

	switch sc {
	case "df-ping":
		n := count("poda-eth0", "icmp.type==3 && icmp.code==4 && icmp.mtu==1450 && ip.dst==10.244.0.5")
		c.report(n > 0, sc, "poda-eth0 receives ICMP frag-needed mtu 1450: %d", n)
		ok := false
		for _, f := range ex.FragNeeded {
			ok = ok || f.MTU == 1450
		}
		c.report(ok, sc, "truth: pod A's kernel reported frag-needed mtu 1450 (ping)")
		ok = false
		for _, p := range ex.PMTU {
			ok = ok || (p.Netns == "ht-poda" && p.MTU == 1450)
		}
		c.report(ok, sc, "truth: pod A's route cache learned PMTU 1450")
		big := count("n1-flannel.1", "ip.len > 1450")
		c.report(big == 0, sc, "no packet > 1450 B on n1-flannel.1: %d", big)
	case "frag-ping":
		a := count("poda-eth0", "ip.src==10.244.0.5 && ip.len==1500 && (ip.flags.mf==1 || ip.frag_offset>0)")
		f := count("n1-flannel.1", "ip.src==10.244.0.5 && (ip.flags.mf==1 || ip.frag_offset>0)")
		big := count("n1-flannel.1", "ip.len > 1450")
		c.report(a > 0, sc, "pod A fragments: %d fragments of 1500 B on poda-eth0", a)
		c.report(f > 0 && big == 0, sc, "re-fragmented for flannel.1: %d fragments on n1-flannel.1, %d > 1450 B", f, big)
		c.report(ex.SNMP["n1"]["Ip.FragCreates"] > 0 && ex.SNMP["poda"]["Ip.FragCreates"] > 0, sc,
			"truth: Ip.FragCreates pod A %d, node-1 %d", ex.SNMP["poda"]["Ip.FragCreates"], ex.SNMP["n1"]["Ip.FragCreates"])
	case "bulk-offload-on", "bulk-offload-off":
		max := 0
		for _, l := range lens["poda-eth0"] {
			if l > max {
				max = l
			}
		}
		if sc == "bulk-offload-on" {
			c.report(max > 1514, sc, "GSO super-frames on poda-eth0: largest frame %d B > 1514", max)
		} else {
			c.report(max <= 1450+14, sc, "no super-frames on poda-eth0: largest frame %d B <= 1464", max)
		}
	case "drops":
		for _, d := range ex.Drops {
			if d.Flow != "udp-burst" {
				c.report(d.Packets > 0, sc, "truth: FORWARD rule for %s dropped %d packets", d.Flow, d.Packets)
				continue
			}
			in := count("n1-cni0", "udp.dstport==9000 && ip.src==10.244.0.5")
			out := count("n1-flannel.1", "udp.dstport==9000 && ip.src==10.244.0.5")
			c.report(d.Sent != nil && int64(in) == *d.Sent, sc, "n1-cni0 saw all %d sent datagrams: %d", deref(d.Sent), in)
			c.report(int64(in-out) == d.Packets, sc, "datagrams lost between n1-cni0 and n1-flannel.1 (%d) = FORWARD rule counter (%d)", in-out, d.Packets)
			c.report(d.Received != nil && d.Sent != nil && *d.Sent-*d.Received == d.Packets, sc,
				"truth: sent %d - received %d = dropped %d", deref(d.Sent), deref(d.Received), d.Packets)
		}
	case "service-dnat":
		before := count("n1-veth-pod-a", "ip.dst==10.96.0.10 && tcp.dstport==80")
		after := count("n1-flannel.1", "ip.dst==10.244.1.5 && tcp.dstport==8080")
		svcAfter := count("n1-flannel.1", "ip.addr==10.96.0.10")
		c.report(before > 0 && after > 0 && svcAfter == 0, sc,
			"DNAT at node-1: n1-veth-pod-a to 10.96.0.10:80 %d, n1-flannel.1 to 10.244.1.5:8080 %d, service IP after DNAT %d", before, after, svcAfter)
		n := 0
		for _, c := range ex.Conntrack {
			if c.Node == "node-1" && c.NAT == "dnat" && c.Orig.Dst == "10.96.0.10" && c.Orig.Dport == 80 &&
				c.Reply.Src == "10.244.1.5" && c.Reply.Sport == 8080 {
				n++
			}
		}
		c.report(n == 3, sc, "truth: node-1 conntrack has %d DNAT entries 10.96.0.10:80 -> reply from 10.244.1.5:8080 (want 3)", n)
	case "pmtud-blackhole":
		stalled := false
		for _, t := range ex.Traffic {
			if t["mode"] == "bulk-send" {
				stalled, _ = t["stalled"].(bool)
			}
		}
		c.report(stalled, sc, "truth: bulk sender stalled")
		var dropped int64 = -1
		for _, d := range ex.Drops {
			if d.Chain == "OUTPUT" {
				dropped = d.Packets
			}
		}
		c.report(dropped > 0, sc, "truth: node-1 OUTPUT rule suppressed %d frag-needed", dropped)
		fn := count("poda-eth0", "icmp.type==3 && icmp.code==4")
		big := count("n1-veth-pod-a", "ip.src==10.244.0.5 && ip.len > 1450")
		c.report(fn == 0 && big > 0, sc, "pod A sends %d packets > 1450 B and never sees a frag-needed (%d)", big, fn)
	}
	// Every scenario: the any captures are SLL2 (checked above via link type),
	// and the client programs completed (except where a stall is expected).
	for _, t := range ex.Traffic {
		switch t["mode"] {
		case "tcp-req":
			c.report(num(t["ok"]) == num(t["connections"]), sc, "truth: tcp-req %v/%v connections completed", t["ok"], t["connections"])
		case "dns-query":
			lost := 0.0
			for _, d := range ex.Drops {
				if d.Sent != nil && d.Received != nil && float64(*d.Sent) == num(t["queries"]) && float64(*d.Received) == num(t["answered"]) {
					lost = float64(d.Packets) // answers an injected rule dropped
				}
			}
			c.report(num(t["answered"]) == num(t["queries"])-lost, sc, "truth: dns-query %v/%v answered (%v dropped by an injected rule)", t["answered"], t["queries"], lost)
		}
	}
}

// checkRealistic: the realistic scenarios' own facts, from the captures:
// background traffic present, IPv6 on, injected drops seen where the truth
// says, DNS answers with IP ID 0, the NodePort's double crossing.
func (c *checker) checkRealistic(ex *expect, count func(h, filter string) int) {
	sc := ex.Scenario
	for _, bg := range []struct{ what, filter string }{
		{"router solicitations", "icmpv6.type==133"},
		{"neighbour solicitations/advertisements", "icmpv6.type==135 || icmpv6.type==136"},
		{"MLDv2 reports", "icmpv6.type==143"},
		{"IGMP", "igmp"},
		{"ARP", "arp"},
		{"mDNS IPv4 and IPv6", "udp.dstport==5353 && (ip.dst==224.0.0.251 || ipv6.dst==ff02::fb)"},
		{"broadcast", "eth.dst==ff:ff:ff:ff:ff:ff && udp"},
		{"all-nodes echo", "icmpv6.type==128 && ipv6.dst==ff02::1"},
		{"ICMP port unreachable", "icmp.type==3 && icmp.code==3"},
	} {
		n := count("n1-eth0", bg.filter) + count("n2-eth0", bg.filter)
		c.report(n > 0, sc, "background on the underlay: %s: %d frames", bg.what, n)
	}
	for _, h := range []string{"poda-eth0", "podc-eth0", "n1-any", "n2-any", "ext-eth0"} {
		n := count(h, "ipv6")
		c.report(n > 0, sc, "IPv6 on: %s carries %d IPv6 frames", h, n)
	}
	flows := map[string]int{}
	for i, f := range ex.Flows {
		flows[f.ID] = i
	}
	for _, d := range ex.Drops {
		i, ok := flows[d.Flow]
		if !ok {
			c.report(false, sc, "drop of unknown flow %s", d.Flow)
			continue
		}
		f := ex.Flows[i]
		ipf := "ip"
		if strings.Contains(f.Src, ":") {
			ipf = "ipv6"
		}
		var filter string
		switch {
		case d.Reason == "ttl" && f.Proto == "icmp":
			filter = fmt.Sprintf("icmp.type==8 && !(icmp.type==11) && ip.src==%s && ip.dst==%s", f.Src, f.Dst)
		case d.Reason == "ttl":
			filter = fmt.Sprintf("icmpv6.type==128 && !(icmpv6.type==3) && ipv6.src==%s && ipv6.dst==%s", f.Src, f.Dst)
		case d.Direction == "reply":
			filter = fmt.Sprintf("%s.src==%s && %s.dst==%s && %s.srcport==%d", ipf, f.Dst, ipf, f.Src, f.Proto, f.Dport)
		default:
			filter = fmt.Sprintf("%s.src==%s && %s.dst==%s && %s.dstport==%d", ipf, f.Src, ipf, f.Dst, f.Proto, f.Dport)
		}
		a, b := count(d.Between[0], filter), count(d.Between[1], filter)
		if d.Reason == "ttl" {
			// The probes with the larger TTL pass too: a - b counts
			// those that expired here.
			c.report(d.Packets > 0 && a-b == int(d.Packets), sc, "%s: %d probes at %s, %d at %s; %s expired %d (Icmp OutTimeExcds)", d.Flow, a, d.Between[0], b, d.Between[1], d.Node, d.Packets)
			continue
		}
		c.report(d.Packets > 0 && int64(a-b) == d.Packets, sc, "%s: %d packets at %s, %d at %s: lost %d = %s %s counter %d", d.Flow, a, d.Between[0], b, d.Between[1], a-b, d.Node, d.Chain, d.Packets)
		if d.Sent != nil && d.Received != nil && (f.Kind == "burst" || f.Kind == "dns") {
			c.report(*d.Sent-*d.Received == d.Packets, sc, "truth: %s sent %d - received %d = dropped %d", d.Flow, *d.Sent, *d.Received, d.Packets)
		}
	}
	for _, f := range ex.Flows {
		switch {
		case f.Kind == "dns" && strings.Contains(f.Src, "."):
			all := count("podc-eth0", fmt.Sprintf("ip.src==%s && ip.dst==%s && udp.srcport==53", f.Dst, f.Src))
			id0 := count("podc-eth0", fmt.Sprintf("ip.src==%s && ip.dst==%s && udp.srcport==53 && ip.id==0 && ip.flags.df==1 && ip.len==98", f.Dst, f.Src))
			c.report(all > 0 && all == id0, sc, "%s: %d DNS answers on podc-eth0, %d of them DF, IP ID 0, 98 bytes", f.ID, all, id0)
		case f.ID == "nodeport":
			plain := count("n2-eth0", "!vxlan && tcp.dstport==30080")
			vx := count("n2-eth0", "vxlan && ip.dst==10.244.0.5 && tcp.dstport==8080")
			c.report(plain > 0 && plain == vx, sc, "NodePort: n2-eth0 sees each request twice: %d plain to :30080, %d inside VXLAN to 10.244.0.5:8080", plain, vx)
		}
	}
	c.report(len(ex.ClockShiftNS) > 0 || sc == "underlay-loss" || sc == "calico-vxlan", sc, "truth: clock shift %v", ex.ClockShiftNS)
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f
	}
	return -1
}
