// Command truth turns the kernel outputs a lab scenario saved in
// <scenario>/truth/ into machine-readable expectations,
// <scenario>/truth/expect.json. It reads only what the kernel (and the
// lab's own description of what it injected) wrote; it never looks at the
// captures and never uses hoptrace code.
//
// Inputs (all in <scenario>/truth/):
//
//	scenario.json         what the lab injected (flows, paths, rules)
//	captures.tsv          capture points: hop, node, netns, ifname, file
//	capture-stats.tsv     tcpdump's counts (kernel PACKET_STATISTICS)
//	<p>-ip-link.json      ip -j -s -d link per namespace (MTU, kind, counters)
//	<p>-iptables-save.txt iptables-save -c per node (rule counters)
//	<p>-conntrack.txt     conntrack -L -o extended per node
//	<p>-snmp.txt          /proc/net/snmp per namespace
//	ping-*.txt            ping's own output (ICMP errors as the pod's kernel reported them)
//	poda-route-get-c.txt, podc-route-get-a.txt  ip route get (learned PMTU)
//	traffic.jsonl, server-*.jsonl  results of the lab's traffic programs
//
// The expect.json schema is documented in testdata/captures/README.md.
//
// Usage: truth -dir testdata/captures/<scenario>
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Hop is one capture point with what the kernel says about its interface.
type Hop struct {
	Node     string `json:"node"`
	Netns    string `json:"netns"`
	Ifname   string `json:"ifname"`
	File     string `json:"file"`
	LinkType string `json:"link_type"` // pcap link type the capture must have
	Kind     string `json:"kind,omitempty"`
	MTU      int    `json:"mtu,omitempty"`
	// Interface counters (ip -s link) over the capture window: read once all
	// captures listen (<p>-ip-link-before.json) and again right after they
	// stopped (<p>-ip-link.json); these are the differences. Normally
	// rx_packets+tx_packets equals the number of captured frames.
	RxPackets int64 `json:"rx_packets"`
	TxPackets int64 `json:"tx_packets"`
	RxBytes   int64 `json:"rx_bytes"`
	TxBytes   int64 `json:"tx_bytes"`
	RxDropped int64 `json:"rx_dropped"`
	TxDropped int64 `json:"tx_dropped"`
	// tcpdump's end-of-capture statistics: frames written and frames the
	// kernel dropped before tcpdump could read them.
	Captured        int64 `json:"captured"`
	DroppedByKernel int64 `json:"dropped_by_kernel"`
	// The kernel clock (ns since the epoch, the captures' clock before any
	// editcap shift) when the counters were read at the start and at the
	// end of the capture window, where the lab recorded it.
	WindowStartNS int64 `json:"window_start_ns,omitempty"`
	WindowEndNS   int64 `json:"window_end_ns,omitempty"`
	// When those reads had finished: frames between WindowStartNS and
	// WindowStartReadNS (WindowEndNS and WindowEndReadNS) may or may not
	// be in the counters.
	WindowStartReadNS int64 `json:"window_start_read_ns,omitempty"`
	WindowEndReadNS   int64 `json:"window_end_read_ns,omitempty"`
}

// Rule is one iptables rule (or chain policy) with its counters.
type Rule struct {
	Node    string `json:"node"`
	Family  string `json:"family,omitempty"` // "ipv6" for ip6tables; "" = iptables (IPv4)
	Table   string `json:"table"`
	Chain   string `json:"chain"`
	Rule    string `json:"rule"` // iptables-save form, "-A CHAIN ..." or ":CHAIN POLICY"
	Target  string `json:"target"`
	Comment string `json:"comment,omitempty"`
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
}

// Tuple is one direction of a conntrack entry.
type Tuple struct {
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	Sport int    `json:"sport,omitempty"`
	Dport int    `json:"dport,omitempty"`
	Type  *int   `json:"type,omitempty"` // icmp
	Code  *int   `json:"code,omitempty"`
	ID    *int   `json:"id,omitempty"`
}

// Conntrack is one conntrack -L entry.
type Conntrack struct {
	Node  string   `json:"node"`
	Proto string   `json:"proto"`
	State string   `json:"state,omitempty"`
	Flags []string `json:"flags,omitempty"`
	Orig  Tuple    `json:"orig"`
	Reply Tuple    `json:"reply"`
	NAT   string   `json:"nat,omitempty"` // "dnat", "snat", "dnat+snat" or ""
}

// Drop ties an injected DROP rule (or a TTL expiry) to the flow it targets.
type Drop struct {
	Flow    string `json:"flow"`
	Node    string `json:"node"`
	Table   string `json:"table"`
	Chain   string `json:"chain"`
	Comment string `json:"comment"`
	Rule    string `json:"rule"`
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
	// Realistic scenarios: where the packets vanish (the last hop that
	// sees them, the first that no longer does), the direction of the
	// flow they belong to, what counted them ("iptables", "nft", or an
	// SNMP counter for TTL expiry) and the reason ("rule" or "ttl").
	Family    string    `json:"family,omitempty"`
	Between   [2]string `json:"between,omitempty"`
	Direction string    `json:"direction,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Counter   string    `json:"counter,omitempty"`
	// For counted UDP bursts: what the sender sent and the receiver got.
	Sent     *int64 `json:"sent,omitempty"`
	Received *int64 `json:"received,omitempty"`
}

// FragNeeded is an ICMP fragmentation-needed the pod's kernel received.
type FragNeeded struct {
	To     string `json:"to"`   // pod that received it
	From   string `json:"from"` // sender of the ICMP error
	MTU    int    `json:"mtu"`
	Count  int    `json:"count"`
	Source string `json:"source"` // truth file it was read from
}

// Ping is the summary of one ping run.
type Ping struct {
	File        string `json:"file"`
	Transmitted int    `json:"transmitted"`
	Received    int    `json:"received"`
	Errors      int    `json:"errors"`
	LocalErrors int    `json:"local_errors"` // "message too long" at the sender
	// TimeExceeded counts "Time to live exceeded" / "Time exceeded: Hop
	// limit" answers, sent by TimeExceededFrom.
	TimeExceeded     int    `json:"time_exceeded,omitempty"`
	TimeExceededFrom string `json:"time_exceeded_from,omitempty"`
}

// NftRule is one nftables rule that has a counter, with its counts.
type NftRule struct {
	Node    string `json:"node"`
	Family  string `json:"family"`
	Table   string `json:"table"` // "<family> <name>", e.g. "bridge htlab"
	Chain   string `json:"chain"`
	Comment string `json:"comment,omitempty"`
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
}

// PMTU is a path MTU the kernel learned (ip route get ... cache mtu N).
type PMTU struct {
	Netns string `json:"netns"`
	Dst   string `json:"dst"`
	MTU   int    `json:"mtu"`
}

// Expect is expect.json.
type Expect struct {
	Schema     int                         `json:"schema"`
	Scenario   string                      `json:"scenario"`
	Mode       string                      `json:"mode"`
	Generated  string                      `json:"generated_by"`
	Hops       map[string]*Hop             `json:"hops"`
	MTU        map[string]int              `json:"mtu"`
	Flows      []json.RawMessage           `json:"flows"`
	Drops      []Drop                      `json:"drops"`
	Rules      []Rule                      `json:"iptables"`
	Conntrack  []Conntrack                 `json:"conntrack"`
	FragNeeded []FragNeeded                `json:"frag_needed"`
	PMTU       []PMTU                      `json:"pmtu"`
	Pings      []Ping                      `json:"pings"`
	SNMP       map[string]map[string]int64 `json:"snmp"`
	Traffic    []json.RawMessage           `json:"traffic"`
	// FlowTuples: the concrete 5-tuples of each flow id (source ports as
	// the lab's clients reported them in traffic.jsonl).
	FlowTuples map[string][]FiveTuple `json:"flow_tuples"`

	// Realistic scenarios (schema 2) only.
	Realistic bool `json:"realistic,omitempty"`
	// SNMPDelta: /proc/net/snmp over the capture window (after - before).
	SNMPDelta map[string]map[string]int64 `json:"snmp_delta,omitempty"`
	// SNMP6Delta: /proc/net/snmp6 over the capture window.
	SNMP6Delta map[string]map[string]int64 `json:"snmp6_delta,omitempty"`
	Nft        []NftRule                   `json:"nft,omitempty"`
	// ClockShiftNS: how far the lab moved each node's captures (editcap
	// -t); all namespaces share one kernel clock, so this is the whole
	// offset between the nodes' captures.
	ClockShiftNS map[string]int64           `json:"clock_shift_ns,omitempty"`
	Segments     map[string][]string        `json:"segments,omitempty"`
	Background   json.RawMessage            `json:"background,omitempty"`
	Nodes        map[string]json.RawMessage `json:"nodes,omitempty"`
	Pods         map[string]json.RawMessage `json:"pods,omitempty"`
}

// FiveTuple is one connection / socket of a flow, as the client saw it.
type FiveTuple struct {
	Proto string `json:"proto"`
	Src   string `json:"src"`
	Sport int    `json:"sport"`
	Dst   string `json:"dst"`
	Dport int    `json:"dport"`
}

var dir, tdir string

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "truth: "+format+"\n", a...)
	os.Exit(1)
}

func readLines(name string) []string {
	b, err := os.ReadFile(filepath.Join(tdir, name))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func atoi64(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

var prefixNode = map[string]string{"n1": "node-1", "n2": "node-2", "ext": "ext", "wire": "wire", "lan": "lan",
	"poda": "pod-a", "podb": "pod-b", "podc": "pod-c"}

// delta returns after - before for every counter of after, leaving out
// the zeros.
func delta(after, before map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if v-before[k] != 0 {
			d[k] = v - before[k]
		}
	}
	return d
}

// readSNMP6 parses /proc/net/snmp6 ("Name value" lines).
func readSNMP6(name string) map[string]int64 {
	lines := readLines(name)
	if lines == nil {
		return nil
	}
	m := map[string]int64{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 2 {
			m[f[0]] = atoi64(f[1])
		}
	}
	return m
}

// readNft reads <p>-nft.json (nft -j list ruleset): every rule with a
// counter.
func readNft(p string) []NftRule {
	b, err := os.ReadFile(filepath.Join(tdir, p+"-nft.json"))
	if err != nil || len(b) == 0 {
		return nil
	}
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		fail("%s-nft.json: %v", p, err)
	}
	var res []NftRule
	for _, obj := range doc.Nftables {
		raw, ok := obj["rule"]
		if !ok {
			continue
		}
		var r struct {
			Family, Table, Chain, Comment string
			Expr                          []map[string]json.RawMessage `json:"expr"`
		}
		json.Unmarshal(raw, &r)
		for _, e := range r.Expr {
			c, ok := e["counter"]
			if !ok {
				continue
			}
			var cnt struct{ Packets, Bytes int64 }
			json.Unmarshal(c, &cnt)
			res = append(res, NftRule{Node: prefixNode[p], Family: r.Family, Table: r.Family + " " + r.Table,
				Chain: r.Chain, Comment: r.Comment, Packets: cnt.Packets, Bytes: cnt.Bytes})
		}
	}
	return res
}

func main() {
	flag.StringVar(&dir, "dir", "", "scenario directory (holding truth/)")
	flag.Parse()
	if dir == "" {
		fail("-dir is required")
	}
	tdir = filepath.Join(dir, "truth")

	var sc struct {
		Schema       int                        `json:"schema"`
		Scenario     string                     `json:"scenario"`
		Mode         string                     `json:"mode"`
		Realistic    bool                       `json:"realistic"`
		Flows        []json.RawMessage          `json:"flows"`
		ClockShiftNS map[string]int64           `json:"clock_shift_ns"`
		Segments     map[string][]string        `json:"segments"`
		Background   json.RawMessage            `json:"background"`
		Nodes        map[string]json.RawMessage `json:"nodes"`
		Pods         map[string]json.RawMessage `json:"pods"`
	}
	b, err := os.ReadFile(filepath.Join(tdir, "scenario.json"))
	if err != nil {
		fail("%v", err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		fail("scenario.json: %v", err)
	}
	ex := &Expect{Schema: 1, Scenario: sc.Scenario, Mode: sc.Mode, Flows: sc.Flows,
		Generated: "testdata/lab/truth from kernel outputs in truth/",
		Hops:      map[string]*Hop{}, MTU: map[string]int{}, SNMP: map[string]map[string]int64{},
		Drops: []Drop{}, Rules: []Rule{}, Conntrack: []Conntrack{}, FragNeeded: []FragNeeded{},
		PMTU: []PMTU{}, Pings: []Ping{}, Traffic: []json.RawMessage{}}

	if sc.Realistic {
		ex.Schema = 2
		ex.Realistic = true
		ex.ClockShiftNS, ex.Segments, ex.Background = sc.ClockShiftNS, sc.Segments, sc.Background
		ex.Nodes, ex.Pods = sc.Nodes, sc.Pods
		ex.SNMPDelta, ex.SNMP6Delta = map[string]map[string]int64{}, map[string]map[string]int64{}
	}

	links := readLinks(ex)
	readCaptures(ex, links)
	for _, p := range []string{"n1", "n2"} {
		ex.Rules = append(ex.Rules, readIptables(p, "-iptables-save.txt", "")...)
		ex.Rules = append(ex.Rules, readIptables(p, "-ip6tables-save.txt", "ipv6")...)
		ex.Conntrack = append(ex.Conntrack, readConntrack(p+"-conntrack.txt", p)...)
		ex.Conntrack = append(ex.Conntrack, readConntrack(p+"-conntrack6.txt", p)...)
	}
	snmps, _ := filepath.Glob(filepath.Join(tdir, "*-snmp.txt"))
	sort.Strings(snmps)
	for _, f := range snmps {
		p := strings.TrimSuffix(filepath.Base(f), "-snmp.txt")
		if m := readSNMP(p + "-snmp.txt"); m != nil {
			ex.SNMP[p] = m
			if before := readSNMP(p + "-snmp-before.txt"); before != nil && ex.Realistic {
				ex.SNMPDelta[p] = delta(m, before)
			}
		}
		if after, before := readSNMP6(p+"-snmp6.txt"), readSNMP6(p+"-snmp6-before.txt"); after != nil && before != nil && ex.Realistic {
			ex.SNMP6Delta[p] = delta(after, before)
		}
		ex.Nft = append(ex.Nft, readNft(p)...)
	}
	readTraffic(ex)
	readPings(ex)
	readPMTU(ex)
	matchDrops(ex, sc.Flows)
	ex.FlowTuples = flowTuples(ex, sc.Flows)

	out, _ := json.MarshalIndent(ex, "", "  ")
	if err := os.WriteFile(filepath.Join(tdir, "expect.json"), append(out, '\n'), 0o644); err != nil {
		fail("%v", err)
	}
}

// link is the part of `ip -j -s -d link` we use.
type link struct {
	Ifname   string `json:"ifname"`
	MTU      int    `json:"mtu"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	Stats struct {
		Rx struct{ Bytes, Packets, Dropped int64 } `json:"rx"`
		Tx struct{ Bytes, Packets, Dropped int64 } `json:"tx"`
	} `json:"stats64"`
}

// readLinks returns links by hop name (<prefix>-<ifname>) and fills ex.MTU.
func readLinks(ex *Expect) map[string]link {
	res := map[string]link{}
	files, _ := filepath.Glob(filepath.Join(tdir, "*-ip-link.json"))
	for _, f := range files {
		p := strings.TrimSuffix(filepath.Base(f), "-ip-link.json")
		before := map[string]link{}
		for _, l := range loadLinks(filepath.Join(tdir, p+"-ip-link-before.json")) {
			before[l.Ifname] = l
		}
		for _, l := range loadLinks(f) {
			if l.Ifname == "lo" {
				continue
			}
			if b, ok := before[l.Ifname]; ok {
				l.Stats.Rx.Packets -= b.Stats.Rx.Packets
				l.Stats.Rx.Bytes -= b.Stats.Rx.Bytes
				l.Stats.Rx.Dropped -= b.Stats.Rx.Dropped
				l.Stats.Tx.Packets -= b.Stats.Tx.Packets
				l.Stats.Tx.Bytes -= b.Stats.Tx.Bytes
				l.Stats.Tx.Dropped -= b.Stats.Tx.Dropped
			}
			h := p + "-" + l.Ifname
			res[h] = l
			ex.MTU[h] = l.MTU
		}
	}
	return res
}

func loadLinks(path string) []link {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ls []link
	if err := json.Unmarshal(b, &ls); err != nil {
		fail("%s: %v", path, err)
	}
	return ls
}

func readCaptures(ex *Expect, links map[string]link) {
	stats := map[string][]string{}
	for i, l := range readLines("capture-stats.tsv") {
		f := strings.Split(l, "\t")
		if i == 0 || len(f) < 4 {
			continue
		}
		stats[f[0]] = f
	}
	for i, l := range readLines("captures.tsv") {
		f := strings.Split(l, "\t")
		if i == 0 || len(f) < 5 {
			continue
		}
		h := &Hop{Node: f[1], Netns: f[2], Ifname: f[3], File: f[4]}
		switch {
		case h.Ifname == "any":
			h.LinkType = "LINUX_SLL2"
		case h.Ifname == "tunl0":
			h.LinkType = "RAW" // TUN device: bare IPv4 packets
		default:
			h.LinkType = "EN10MB"
		}
		if l, ok := links[f[0]]; ok {
			h.Kind, h.MTU = l.LinkInfo.Kind, l.MTU
			h.RxPackets, h.TxPackets = l.Stats.Rx.Packets, l.Stats.Tx.Packets
			h.RxBytes, h.TxBytes = l.Stats.Rx.Bytes, l.Stats.Tx.Bytes
			h.RxDropped, h.TxDropped = l.Stats.Rx.Dropped, l.Stats.Tx.Dropped
		}
		if s, ok := stats[f[0]]; ok {
			h.Captured, h.DroppedByKernel = atoi64(s[1]), atoi64(s[3])
		}
		if p, _, ok := strings.Cut(f[0], "-"); ok {
			if l := readLines(p + "-ip-link-before.ns"); len(l) == 1 {
				h.WindowStartNS = atoi64(strings.TrimSpace(l[0]))
			}
			if l := readLines(p + "-ip-link.ns"); len(l) == 1 {
				h.WindowEndNS = atoi64(strings.TrimSpace(l[0]))
			}
			if l := readLines(p + "-ip-link-before.read.ns"); len(l) == 1 {
				h.WindowStartReadNS = atoi64(strings.TrimSpace(l[0]))
			}
			if l := readLines(p + "-ip-link.read.ns"); len(l) == 1 {
				h.WindowEndReadNS = atoi64(strings.TrimSpace(l[0]))
			}
		}
		ex.Hops[f[0]] = h
	}
}

var (
	reCounter = regexp.MustCompile(`^\[(\d+):(\d+)\] (-A (\S+) .*)$`)
	rePolicy  = regexp.MustCompile(`^:(\S+) (\S+) \[(\d+):(\d+)\]$`)
	reTarget  = regexp.MustCompile(`(?:^| )-j (\S+)`)
	reComment = regexp.MustCompile(`--comment (?:"([^"]*)"|(\S+))`)
)

func readIptables(p, suffix, family string) []Rule {
	var rules []Rule
	table := ""
	for _, l := range readLines(p + suffix) {
		switch {
		case strings.HasPrefix(l, "*"):
			table = l[1:]
		case rePolicy.MatchString(l):
			m := rePolicy.FindStringSubmatch(l)
			if m[2] == "-" {
				continue // user chain: no policy counter
			}
			rules = append(rules, Rule{Node: prefixNode[p], Family: family, Table: table, Chain: m[1], Rule: ":" + m[1] + " " + m[2],
				Target: m[2], Packets: atoi64(m[3]), Bytes: atoi64(m[4])})
		case reCounter.MatchString(l):
			m := reCounter.FindStringSubmatch(l)
			r := Rule{Node: prefixNode[p], Family: family, Table: table, Chain: m[4], Rule: m[3], Packets: atoi64(m[1]), Bytes: atoi64(m[2])}
			if t := reTarget.FindStringSubmatch(m[3]); t != nil {
				r.Target = t[1]
			}
			if c := reComment.FindStringSubmatch(m[3]); c != nil {
				r.Comment = c[1] + c[2]
			}
			rules = append(rules, r)
		}
	}
	return rules
}

func readConntrack(file, p string) []Conntrack {
	var res []Conntrack
	for _, l := range readLines(file) {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		c := Conntrack{Node: prefixNode[p], Proto: f[2]}
		var t [2]Tuple
		n := -1
		for _, tok := range f[5:] {
			if strings.HasPrefix(tok, "[") {
				c.Flags = append(c.Flags, strings.Trim(tok, "[]"))
				continue
			}
			k, v, ok := strings.Cut(tok, "=")
			if !ok {
				if n < 0 {
					c.State = tok
				}
				continue
			}
			if k == "src" {
				n++
			}
			if n < 0 || n > 1 {
				continue
			}
			iv, _ := strconv.Atoi(v)
			switch k {
			case "src":
				t[n].Src = v
			case "dst":
				t[n].Dst = v
			case "sport":
				t[n].Sport = iv
			case "dport":
				t[n].Dport = iv
			case "type":
				t[n].Type = &iv
			case "code":
				t[n].Code = &iv
			case "id":
				t[n].ID = &iv
			}
		}
		c.Orig, c.Reply = t[0], t[1]
		var nat []string
		if c.Reply.Src != c.Orig.Dst || c.Reply.Sport != c.Orig.Dport {
			nat = append(nat, "dnat")
		}
		if c.Reply.Dst != c.Orig.Src || c.Reply.Dport != c.Orig.Sport {
			nat = append(nat, "snat")
		}
		c.NAT = strings.Join(nat, "+")
		res = append(res, c)
	}
	// Stable order: by node, proto, orig tuple.
	sort.SliceStable(res, func(i, j int) bool {
		a, b := res[i], res[j]
		ka := fmt.Sprintf("%s %s %s %s %05d %05d", a.Node, a.Proto, a.Orig.Src, a.Orig.Dst, a.Orig.Sport, a.Orig.Dport)
		kb := fmt.Sprintf("%s %s %s %s %05d %05d", b.Node, b.Proto, b.Orig.Src, b.Orig.Dst, b.Orig.Sport, b.Orig.Dport)
		return ka < kb
	})
	return res
}

// readSNMP parses /proc/net/snmp ("Ip: names" / "Ip: values" line pairs)
// into "Ip.FragOKs" -> value.
func readSNMP(name string) map[string]int64 {
	lines := readLines(name)
	if lines == nil {
		return nil
	}
	m := map[string]int64{}
	for i := 0; i+1 < len(lines); i += 2 {
		h, v := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(h) != len(v) || len(h) == 0 {
			continue
		}
		sec := strings.TrimSuffix(h[0], ":")
		for k := 1; k < len(h); k++ {
			m[sec+"."+h[k]] = atoi64(v[k])
		}
	}
	return m
}

func readTraffic(ex *Expect) {
	files := []string{"traffic.jsonl"}
	srv, _ := filepath.Glob(filepath.Join(tdir, "server-*.jsonl"))
	sort.Strings(srv)
	for _, s := range srv {
		files = append(files, filepath.Base(s))
	}
	files = append(files, "background.jsonl")
	for _, f := range files {
		for _, l := range readLines(f) {
			l = strings.TrimSpace(l)
			if l == "" || !json.Valid([]byte(l)) {
				continue
			}
			// Tag server lines with the file they came from.
			var m map[string]any
			json.Unmarshal([]byte(l), &m)
			m["source"] = f
			b, _ := json.Marshal(m)
			ex.Traffic = append(ex.Traffic, b)
		}
	}
}

var (
	reTimeExceeded = regexp.MustCompile(`^From (\S+?):? icmp_seq=\d+ Time (?:to live exceeded|exceeded: Hop limit)`)
	reFragNeeded   = regexp.MustCompile(`^From (\S+) icmp_seq=\d+ Frag needed and DF set \(mtu = (\d+)\)`)
	reLocalErr     = regexp.MustCompile(`local error: message too long, mtu[=:] ?(\d+)`)
	rePingStats    = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received(?:, \+(\d+) errors)?`)
)

func readPings(ex *Expect) {
	files, _ := filepath.Glob(filepath.Join(tdir, "ping-*.txt"))
	sort.Strings(files)
	for _, f := range files {
		name := filepath.Base(f)
		pg := Ping{File: "truth/" + name}
		fn := map[string]*FragNeeded{}
		var order []string
		for _, l := range readLines(name) {
			if m := reFragNeeded.FindStringSubmatch(l); m != nil {
				k := m[1] + "/" + m[2]
				if fn[k] == nil {
					mtu, _ := strconv.Atoi(m[2])
					fn[k] = &FragNeeded{To: "10.244.0.5", From: m[1], MTU: mtu, Source: "truth/" + name}
					order = append(order, k)
				}
				fn[k].Count++
			}
			if m := reTimeExceeded.FindStringSubmatch(l); m != nil {
				pg.TimeExceeded++
				pg.TimeExceededFrom = m[1]
			}
			if reLocalErr.MatchString(l) {
				pg.LocalErrors++
			}
			if m := rePingStats.FindStringSubmatch(l); m != nil {
				pg.Transmitted, _ = strconv.Atoi(m[1])
				pg.Received, _ = strconv.Atoi(m[2])
				pg.Errors, _ = strconv.Atoi(m[3])
			}
		}
		for _, k := range order {
			ex.FragNeeded = append(ex.FragNeeded, *fn[k])
		}
		ex.Pings = append(ex.Pings, pg)
	}
}

var reCacheMTU = regexp.MustCompile(`(?s)^(\S+) .*cache.*\bmtu (\d+)`)

func readPMTU(ex *Expect) {
	for _, x := range []struct{ file, ns string }{
		{"poda-route-get-c.txt", "ht-poda"}, {"podc-route-get-a.txt", "ht-podc"},
	} {
		b, err := os.ReadFile(filepath.Join(tdir, x.file))
		if err != nil {
			continue
		}
		if m := reCacheMTU.FindStringSubmatch(string(b)); m != nil {
			mtu, _ := strconv.Atoi(m[2])
			ex.PMTU = append(ex.PMTU, PMTU{Netns: x.ns, Dst: m[1], MTU: mtu})
		}
	}
}

// matchDrops links each flow's drop_rule (by comment) to the rule counters
// (iptables, or nftables where the rule says family "nft"), adds what the
// sender sent and the receiver got for counted UDP bursts and DNS queries,
// and turns realistic TTL probes ("expire") into drops counted by the
// expiring node's Icmp(6) OutTimeExcds.
func matchDrops(ex *Expect, flows []json.RawMessage) {
	for _, raw := range flows {
		var f struct {
			ID, Proto, Kind, Src, Dst string
			Dport                     int
			Datagrams, Queries, Count int
			DropRule                  *struct {
				Node, Family, Table, Chain, Comment, Direction string
				Between                                        [2]string
			} `json:"drop_rule"`
			Expire *struct{ Node, After, Before string } `json:"expire"`
		}
		json.Unmarshal(raw, &f)
		if f.Expire != nil {
			p := map[string]string{"node-1": "n1", "node-2": "n2"}[f.Expire.Node]
			counter, n := "Icmp.OutTimeExcds", ex.SNMPDelta[p]["Icmp.OutTimeExcds"]
			if f.Proto == "icmpv6" {
				counter, n = "Icmp6OutTimeExcds", ex.SNMP6Delta[p]["Icmp6OutTimeExcds"]
			}
			sent := int64(f.Count)
			ex.Drops = append(ex.Drops, Drop{Flow: f.ID, Node: f.Expire.Node, Reason: "ttl", Counter: counter,
				Packets: n, Between: [2]string{f.Expire.After, f.Expire.Before}, Direction: "orig", Sent: &sent})
			continue
		}
		if f.DropRule == nil {
			continue
		}
		var d *Drop
		if f.DropRule.Family == "nft" {
			for _, r := range ex.Nft {
				if r.Node == f.DropRule.Node && r.Table == f.DropRule.Table && r.Chain == f.DropRule.Chain && r.Comment == f.DropRule.Comment {
					d = &Drop{Flow: f.ID, Node: r.Node, Table: r.Table, Chain: r.Chain, Comment: r.Comment, Packets: r.Packets, Bytes: r.Bytes}
				}
			}
		} else {
			for _, r := range ex.Rules {
				if r.Node == f.DropRule.Node && r.Table == f.DropRule.Table && r.Chain == f.DropRule.Chain && r.Comment == f.DropRule.Comment {
					d = &Drop{Flow: f.ID, Node: r.Node, Table: r.Table, Chain: r.Chain, Comment: r.Comment, Rule: r.Rule, Packets: r.Packets, Bytes: r.Bytes}
				}
			}
		}
		if d == nil {
			fail("flow %s: drop rule %+v not found in the counters", f.ID, *f.DropRule)
		}
		if ex.Realistic {
			d.Family, d.Between, d.Direction, d.Reason = f.DropRule.Family, f.DropRule.Between, f.DropRule.Direction, "rule"
			if d.Family == "" {
				d.Family = "iptables"
			}
			d.Counter = d.Family + " rule counter"
		}
		to := net.JoinHostPort(f.Dst, strconv.Itoa(f.Dport))
		for _, t := range ex.Traffic {
			var m struct {
				Mode, To, Local, Listen     string
				Sent, Received, Answered, Q *int64
				Queries                     *int64
			}
			json.Unmarshal(t, &m)
			switch {
			case f.Kind == "burst" && m.Mode == "udp-burst" && (m.To == to || f.ID == "udp-burst"):
				d.Sent = m.Sent
			case f.Kind == "burst" && m.Mode == "udp-sink" && (strings.HasSuffix(m.Listen, ":"+strconv.Itoa(f.Dport)) || f.ID == "udp-burst"):
				d.Received = m.Received
			case f.Kind == "dns" && m.Mode == "dns-query" && m.To == to:
				d.Sent, d.Received = m.Queries, m.Answered
			}
		}
		ex.Drops = append(ex.Drops, *d)
	}
}

// flowTuples joins the flows of scenario.json with the clients' results.
func flowTuples(ex *Expect, flows []json.RawMessage) map[string][]FiveTuple {
	res := map[string][]FiveTuple{}
	modeFor := map[string]string{"request-response": "tcp-req", "dns": "dns-query", "burst": "udp-burst", "bulk": "bulk-send"}
	for _, raw := range flows {
		var f struct {
			ID, Proto, Kind, Src, Dst string
			Dport                     int
		}
		json.Unmarshal(raw, &f)
		mode := modeFor[f.Kind]
		if mode == "" {
			continue
		}
		to := net.JoinHostPort(f.Dst, strconv.Itoa(f.Dport))
		add := func(local string) {
			host, port, err := net.SplitHostPort(local)
			if err != nil || (ex.Realistic && host != f.Src) {
				// Realistic scenarios run one client kind from several
				// pods to one server: keep the flow's own source.
				return
			}
			p, _ := strconv.Atoi(port)
			res[f.ID] = append(res[f.ID], FiveTuple{Proto: f.Proto, Src: host, Sport: p, Dst: f.Dst, Dport: f.Dport})
		}
		for _, t := range ex.Traffic {
			var m struct {
				Mode, To, Local string
				Conns           []struct{ Local string }
			}
			json.Unmarshal(t, &m)
			if m.Mode != mode || m.To != to {
				continue
			}
			if m.Local != "" {
				add(m.Local)
			}
			for _, c := range m.Conns {
				add(c.Local)
			}
		}
	}
	return res
}
