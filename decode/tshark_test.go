package decode_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hoptrace/hoptrace/decode"
)

// The differential test: every packet of every capture in the shared corpus
// is decoded by hoptrace and by tshark, and the two decodes are compared
// field by field. tshark runs with IP and IPv6 reassembly off, so that, like
// hoptrace, it dissects the transport of a first fragment and nothing of a
// later one, and with UDP 8472 decoded as VXLAN, as hoptrace does.
//
// Both decodes are flattened into a view: a map from a field name to its
// value in decimal (addresses in netip form). Every field tshark reports must
// equal hoptrace's; fields tshark does not report (a header cut by the snap
// length) are not compared. The counts that give a packet its shape (IP
// headers, tunnels, transport protocol, whether an ICMP error quotes a
// packet) are always reported, so hoptrace finding more or fewer layers than
// tshark is a mismatch too. Where the capture ends inside a header, tshark
// shows the part captured and hoptrace nothing: an IP header cut before its
// destination address, a VXLAN or Geneve header cut before its VNI, or a
// GRE header cut before its end, ends tshark's view of the packet.
//
// View fields:
//
//	ips                      number of IP headers outside ICMP quotes
//	ip[i].version            4 or 6; i = 0 is the outermost header
//	ip[i].src, .dst, .ttl    addresses, TTL or hop limit
//	ip[i].proto              the protocol carried, after IPv6 extension headers
//	                         and an authentication header
//	ip[i].id, .df, .mf, .fragoff   IPv4 fragment fields (offset in bytes)
//	ip[i].v6frag             1 when an IPv6 header has a whole fragment header,
//	                         which then gives .id, .mf and .fragoff
//	tunnels, tunnel[i].type  the tunnel chain, outermost first
//	tunnel[i].vni            VXLAN or Geneve VNI, GRE key, ERSPAN session
//	l4.proto                 the transport of the innermost IP header; 0 when
//	                         there is none or it carries a tunnel
//	l4.sport, l4.dport       TCP, UDP and SCTP ports
//	l4.seq, l4.flags         TCP sequence number and flags (header byte 13)
//	icmp.type, .code, .mtu   ICMP or ICMPv6 message; mtu for frag-needed/too-big
//	icmp.quoted              1 when an ICMP error quotes an IP header, which
//	                         then gives quoted.src, .dst, .proto, .id, .sport,
//	                         .dport and .seq
//
// Exceptions, where tshark is wrong or dissects differently by design, are
// listed in tsharkExceptions, each checked against the bytes.

// tsharkCorpus is the shared capture corpus, which sits beside the clone.
// HOPTRACE_TSHARK_CORPUS names another directory of captures to compare
// instead.
const tsharkCorpus = "../../shared/corpus"

// tsharkExceptions are the reviewed differences from tshark, each checked
// against the bytes (tshark -x). An exception that no longer matches
// anything fails the test, so the table cannot go stale.
var tsharkExceptions = []tsharkException{
	{
		File: "tcpdump__bigtcp-ipv4-vxlan-ipv4.pcap", Frame: 1, Fields: "ips tunnels l4.*",
		Why: "BIG TCP super-packet: outer IPv4 and UDP lengths are 0; tshark accepts the IPv4 length " +
			"as TSO but calls UDP length 0 malformed and stops, hoptrace takes both from the wire and " +
			"decodes the VXLAN (VNI 5001) and the inner IPv4/TCP behind it",
	},
	{
		File: "suricata-verify__filestore-5408__input.pcap", Via: "sflow", Fields: "*",
		Why: "sFlow datagrams (UDP 6343) carry sampled packet headers, which tshark dissects as " +
			"further layers; they are samples, not tunnelled packets, so hoptrace stops at UDP",
	},
	{
		File: "suricata-verify__bug-6875-01__fuzz.pcap", Fields: "*",
		Why: "the second record claims 1.4 GB; tshark then guesses a pcap variant with 24-byte record " +
			"headers, so its frame 1 starts 8 bytes into the real record (eth.dst 27:7f:b5:8b:08:00 is " +
			"the middle of the MACs) and its frame 2 is garbage; hoptrace reads the standard 16-byte " +
			"header: one Ethernet/IPv4/TCP packet, then the error",
	},
	{
		File: "zeek__ipv4-truncated-broken-header.pcap", Frame: 1, Fields: "ips",
		Why: "34-byte frame, IPv4 header length 60, total length 20: tshark calls the length bogus " +
			"and shows no addresses; hoptrace keeps the 20 captured bytes of fixed header, addresses " +
			"included, and records the header as truncated",
	},
	{
		File: "pcap-parser__modified-format.pcap", Fields: "frames",
		Why: "the modified (Kuznetzov) pcap format, magic a1b2cd34: hoptrace's reader refuses it on " +
			"purpose with a hint to convert it with editcap",
	},
}

// tsharkException excuses mismatches of one capture: in frame Frame (0 for
// any), or in frames whose frame.protocols include Via, the view fields
// Fields, a space-separated list of names and of prefixes ending in "*".
type tsharkException struct {
	File   string
	Frame  int
	Via    string
	Fields string
	Why    string
}

func (e tsharkException) matches(file string, frame int, protocols, field string) bool {
	if e.File != file || (e.Frame != 0 && e.Frame != frame) {
		return false
	}
	if e.Via != "" && !slices.Contains(strings.Split(protocols, ":"), e.Via) {
		return false
	}
	for _, f := range strings.Fields(e.Fields) {
		if p, ok := strings.CutSuffix(f, "*"); ok && strings.HasPrefix(field, p) || f == field {
			return true
		}
	}
	return false
}

// tsharkFieldNames are the fields asked of tshark, one column each.
var tsharkFieldNames = []string{
	"frame.number", "frame.section_number", "frame.encap_type", "frame.protocols",
	"ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.id", "ip.flags.df", "ip.flags.mf", "ip.frag_offset",
	"ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim",
	"ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.dstopts.nxt",
	"ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
	"ah.next_header",
	"tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.flags",
	"udp.srcport", "udp.dstport",
	"sctp.srcport", "sctp.dstport",
	"icmp.type", "icmp.code", "icmp.mtu",
	"icmpv6.type", "icmpv6.code", "icmpv6.mtu",
	"vxlan.vni", "geneve.vni",
	"gre.proto", "gre.flags.version", "gre.flags.checksum", "gre.flags.key", "gre.flags.sequence_number", "gre.flags.ack",
	"gre.checksum", "gre.key", "gre.key.call_id", "gre.sequence_number", "gre.ack_number",
	"erspan.spanid",
}

// tsharkGroups maps a protocol of frame.protocols to the fields its layer
// reports every time it appears. Fields a layer reports only sometimes are
// taken in tsharkLayers, which knows when.
var tsharkGroups = map[string][]string{
	"ip":           {"ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.id", "ip.flags.df", "ip.flags.mf", "ip.frag_offset"},
	"ipv6":         {"ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim"},
	"ipv6.hopopts": {"ipv6.hopopts.nxt"},
	"ipv6.routing": {"ipv6.routing.nxt"},
	"ipv6.dstopts": {"ipv6.dstopts.nxt"},
	"ipv6.fraghdr": {"ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident"},
	"ah":           {"ah.next_header"},
	"tcp":          {"tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.flags"},
	"udp":          {"udp.srcport", "udp.dstport"},
	"sctp":         {"sctp.srcport", "sctp.dstport"},
	"icmp":         {"icmp.type", "icmp.code"},
	"icmpv6":       {"icmpv6.type", "icmpv6.code"},
	"vxlan":        {"vxlan.vni"},
	"geneve":       {"geneve.vni"},
	"gre": {"gre.proto", "gre.flags.version", "gre.flags.checksum", "gre.flags.key",
		"gre.flags.sequence_number", "gre.flags.ack"},
}

// maxMismatchLines bounds the mismatches reported per file; the rest are
// only counted.
const maxMismatchLines = 20

func TestTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("the differential test runs tshark over the whole corpus; skipped in -short mode")
	}
	dir := tsharkCorpus
	if d := os.Getenv("HOPTRACE_TSHARK_CORPUS"); d != "" {
		dir = d
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (the shared corpus sits beside the clone): %v", dir, err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed; the differential test needs it")
	}
	files, err := corpusCaptures(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no captures in %s", dir)
	}
	var (
		nfiles, npackets, nfields, nmismatch atomic.Int64
		mu                                   sync.Mutex
		coverage                             = map[string]int{} // comparisons per field, tunnel and IP index dropped
	)
	batch := runTsharkBatch(t, tshark, files)
	t.Run("corpus", func(t *testing.T) {
		for _, path := range files {
			name := filepath.Base(path)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := compareWithTshark(t, tshark, batch, path)
				nfiles.Add(1)
				npackets.Add(int64(c.packets))
				nfields.Add(int64(c.fields))
				nmismatch.Add(int64(c.mismatches))
				mu.Lock()
				for k, n := range c.coverage {
					coverage[k] += n
				}
				mu.Unlock()
			})
		}
	})
	t.Logf("compared %d fields of %d packets in %d captures with tshark: %d mismatches beyond the exceptions",
		nfields.Load(), npackets.Load(), nfiles.Load(), nmismatch.Load())
	// Which fields tshark reported, and so were compared, how often: a field
	// tshark stops reporting shows here as missing.
	var cov []string
	for k, n := range coverage {
		cov = append(cov, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(cov)
	t.Logf("fields compared: %s", strings.Join(cov, " "))
}

// corpusCaptures lists the capture files of dir by their extension.
func corpusCaptures(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list corpus %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if decode.Stem(e.Name()) == e.Name() {
			continue // no capture extension
		}
		files = append(files, filepath.Join(dir, e.Name()))
	}
	return files, nil
}

// comparison counts what compareWithTshark did.
type comparison struct {
	packets, fields, mismatches int
	coverage                    map[string]int
}

// compareWithTshark compares every packet tshark reads from path with
// hoptrace's decode of it. Mismatches beyond the exceptions fail t.
func compareWithTshark(t *testing.T, tshark string, batch map[string]tsharkOutput, path string) (c comparison) {
	c.coverage = map[string]int{}
	file := filepath.Base(path)
	ts, ok := batch[path]
	if !ok {
		ts = runTshark(t, tshark, path)
	}
	want, tsharkFailed := ts.packets, ts.failed
	got, readErr := decodeAll(path)
	used := make([]bool, len(tsharkExceptions))
	report := func(frame int, protocols, field, format string, args ...any) {
		for i, e := range tsharkExceptions {
			if e.matches(file, frame, protocols, field) {
				used[i] = true
				return
			}
		}
		c.mismatches++
		if c.mismatches <= maxMismatchLines {
			t.Errorf("%s frame %d: %s: %s", file, frame, field, fmt.Sprintf(format, args...))
		}
	}
	switch {
	case len(got) < len(want):
		report(0, "", "frames", "tshark read %d packets, hoptrace %d (%v)", len(want), len(got), readErr)
	case len(got) > len(want) && !tsharkFailed:
		report(0, "", "frames", "tshark read %d packets, hoptrace %d", len(want), len(got))
	}
	for i := range min(len(want), len(got)) {
		w, g := want[i], got[i]
		c.packets++
		keys := make([]string, 0, len(w.view))
		for k := range w.view {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c.fields++
			c.coverage[indexRE.ReplaceAllString(k, "")]++
			if gv, ok := g[k]; !ok || gv != w.view[k] {
				if !ok {
					gv = "(none)"
				}
				report(w.frame, w.protocols, k, "tshark %s, hoptrace %s [tshark: %s]", w.view[k], gv, w.protocols)
			}
		}
	}
	if c.mismatches > maxMismatchLines {
		t.Errorf("%s: %d more mismatches not shown", file, c.mismatches-maxMismatchLines)
	}
	for i, e := range tsharkExceptions {
		if e.File == file && !used[i] {
			t.Errorf("%s: exception (frame %d, via %q, fields %q) matches nothing; remove it", file, e.Frame, e.Via, e.Fields)
		}
	}
	return c
}

// indexRE matches the header and tunnel indexes of view field names.
var indexRE = regexp.MustCompile(`\[\d+\]`)

// view is one decoded packet flattened for comparison.
type view map[string]string

// decodeAll decodes every packet hoptrace reads from path. A file it cannot
// open, or cannot read to the end, yields the packets read before the error
// and the error.
func decodeAll(path string) ([]view, error) {
	f, err := decode.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := decode.NewDecoder()
	var views []view
	var r decode.Record
	for {
		data, m, err := f.Next()
		if err == io.EOF {
			return views, nil
		}
		if err != nil {
			return views, err
		}
		d.Decode(&r, data, m)
		views = append(views, recordView(&r))
	}
}

// recordView flattens a hoptrace Record.
func recordView(r *decode.Record) view {
	v := view{}
	set := func(k string, x any) { v[k] = fmt.Sprint(x) }
	set("ips", r.NIP)
	for i := range r.NIP {
		h := &r.IP[i]
		p := fmt.Sprintf("ip[%d].", i)
		set(p+"version", h.Version)
		set(p+"src", h.Src)
		set(p+"dst", h.Dst)
		set(p+"ttl", h.TTL)
		set(p+"proto", h.Proto)
		if h.Version == 6 {
			set(p+"v6frag", b2i(h.Frag))
		}
		set(p+"id", h.ID)
		set(p+"df", b2i(h.DF))
		set(p+"mf", b2i(h.MF))
		set(p+"fragoff", h.FragOffset)
	}
	set("tunnels", r.NTunnel)
	for i := range r.NTunnel {
		tu := &r.Tunnels[i]
		p := fmt.Sprintf("tunnel[%d].", i)
		set(p+"type", tu.Type)
		if tu.HasVNI {
			set(p+"vni", tu.VNI)
		}
	}
	l4 := &r.L4
	set("l4.proto", l4.Proto)
	switch l4.Proto {
	case decode.ProtoTCP, decode.ProtoUDP, decode.ProtoSCTP:
		set("l4.sport", l4.SPort)
		set("l4.dport", l4.DPort)
		if l4.Proto == decode.ProtoTCP {
			set("l4.seq", l4.Seq)
			set("l4.flags", l4.Flags)
		}
	case decode.ProtoICMP, decode.ProtoICMPv6:
		m := &r.ICMP
		set("icmp.type", m.Type)
		set("icmp.code", m.Code)
		set("icmp.mtu", m.MTU)
		set("icmp.quoted", b2i(m.HasQuoted))
		if m.HasQuoted {
			q := &m.Quoted
			set("quoted.src", q.Src)
			set("quoted.dst", q.Dst)
			set("quoted.proto", q.Proto)
			set("quoted.id", q.ID)
			set("quoted.sport", q.SPort)
			set("quoted.dport", q.DPort)
			set("quoted.seq", q.Seq)
		}
	}
	return v
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tsharkPacket is tshark's decode of one packet; frame is tshark's frame
// number, which also counts records that are not packets.
type tsharkPacket struct {
	frame     int
	protocols string
	view      view
}

// tsharkOutput is what tshark reported for one capture.
type tsharkOutput struct {
	packets []tsharkPacket
	// failed reports that tshark (or editcap) stopped at a damaged file;
	// the packets before the damage are still compared.
	failed bool
}

// runTshark runs tshark once over path.
func runTshark(t *testing.T, tshark, path string) tsharkOutput {
	stdout, failed := tsharkFields(t, tshark, path)
	return tsharkOutput{packets: parseTshark(t, path, stdout, false)[1], failed: failed}
}

// runTsharkBatch decodes many captures with a single tshark, which saves its
// start-up (about 0.4 s of CPU) per capture: editcap rewrites each capture
// as a one-section pcapng file and tshark reads them all, one after the
// other, as the sections of one stream. A capture editcap does not rewrite
// cleanly (a damaged file, one it cannot write as pcapng) is left out, for
// runTshark on its own. Editcap reads with the same library as tshark, so
// tshark sees the same packets either way.
func runTsharkBatch(t *testing.T, tshark string, files []string) map[string]tsharkOutput {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		return nil
	}
	dir := t.TempDir()
	clean := make([]bool, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, path := range files {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var stderr bytes.Buffer
			cmd := exec.Command(editcap, "-F", "pcapng", path, filepath.Join(dir, strconv.Itoa(i)))
			cmd.Stderr = &stderr
			clean[i] = cmd.Run() == nil && quiet(stderr.String())
		})
	}
	wg.Wait()
	all, err := os.Create(filepath.Join(dir, "all.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	var batched []string // by section
	for i, path := range files {
		if !clean[i] {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := all.Write(b); err != nil {
			t.Fatal(err)
		}
		batched = append(batched, path)
	}
	if err := all.Close(); err != nil {
		t.Fatal(err)
	}
	stdout, failed := tsharkFields(t, tshark, all.Name())
	if failed {
		t.Fatalf("tshark could not read the pcapng files editcap wrote for %d captures", len(batched))
	}
	sections := parseTshark(t, all.Name(), stdout, true)
	t.Logf("tshark read %d captures in one run; %d more, which editcap does not rewrite cleanly, run on their own",
		len(batched), len(files)-len(batched))
	out := make(map[string]tsharkOutput, len(batched))
	for i, path := range batched {
		out[path] = tsharkOutput{packets: sections[i+1]}
	}
	if len(sections) > 0 && slices.Max(slices.Collect(maps.Keys(sections))) > len(batched) {
		t.Fatalf("tshark found more sections than the %d captures batched", len(batched))
	}
	return out
}

// quiet reports whether a tool's stderr holds nothing but the warning
// Wireshark's tools print when run as root.
func quiet(stderr string) bool {
	for line := range strings.Lines(stderr) {
		if !strings.HasPrefix(line, "Running as user") {
			return false
		}
	}
	return true
}

// tsharkFields runs tshark over path and returns its output. It reports
// whether tshark stopped at a damaged file.
func tsharkFields(t *testing.T, tshark, path string) (stdout string, failed bool) {
	args := []string{
		"-n", "-r", path,
		"-d", "udp.port==8472,vxlan",
		"-o", "ip.defragment:FALSE",
		"-o", "ipv6.defragment:FALSE",
		"-o", "tcp.analyze_sequence_numbers:FALSE",
		// Absolute sequence numbers: tshark leaves tcp.seq_raw out of the
		// TCP header an ICMP error quotes, but not tcp.seq.
		"-o", "tcp.relative_sequence_numbers:FALSE",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
	}
	for _, f := range tsharkFieldNames {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		// tshark could not read the file to the end: compare what it read.
		failed = true
	default:
		t.Fatalf("run tshark on %s: %v: %s", path, err, stderr.String())
	}
	return out.String(), failed
}

// parseTshark turns tshark's output into packets. bySection splits them by
// pcapng section, each numbering its frames from 1; otherwise all are in
// section 1, numbered as tshark numbers them.
func parseTshark(t *testing.T, path, stdout string, bySection bool) map[int][]tsharkPacket {
	sections := map[int][]tsharkPacket{}
	first := map[int]int{} // the frame number each section starts at
	for line := range strings.Lines(stdout) {
		cols := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(cols) != len(tsharkFieldNames) {
			t.Fatalf("tshark on %s: %d columns, want %d: %q", path, len(cols), len(tsharkFieldNames), line)
		}
		occ := make(map[string][]string, len(cols))
		for i, c := range cols {
			if c != "" {
				occ[tsharkFieldNames[i]] = strings.Split(c, ",")
			}
		}
		frame, err := strconv.Atoi(cols[0])
		if err != nil {
			t.Fatalf("tshark on %s: bad frame number %q", path, cols[0])
		}
		sec, err := strconv.Atoi(cols[1])
		if err != nil || !bySection {
			sec = 1 // pcap has no sections
		}
		if _, ok := first[sec]; !ok {
			first[sec] = frame
		}
		frame -= first[sec] - 1
		if cols[2] == "" {
			// A record with no encapsulation is not a packet (a pcapng
			// custom block, say); hoptrace's reader skips those.
			continue
		}
		v, err := tsharkView(cols[3], occ)
		if err != nil {
			t.Fatalf("tshark on %s frame %d: %v", path, frame, err)
		}
		sections[sec] = append(sections[sec], tsharkPacket{frame: frame, protocols: cols[3], view: v})
	}
	return sections
}

// tsharkLayer is one protocol of frame.protocols with the field values of
// that occurrence of the protocol.
type tsharkLayer struct {
	name string
	f    map[string]string
}

// tsharkLayers splits the fields of a packet into its layers. tshark lists
// the values of a field in the order of the layers that report it, so the
// n-th occurrence of a protocol owns the n-th value of each field its layer
// always reports.
func tsharkLayers(protocols string, occ map[string][]string) []tsharkLayer {
	next := map[string]int{}
	take := func(l *tsharkLayer, field string) {
		n := next[field]
		next[field]++
		if n < len(occ[field]) {
			l.f[field] = occ[field][n]
		}
	}
	var layers []tsharkLayer
	for _, name := range strings.Split(protocols, ":") {
		l := tsharkLayer{name: name, f: map[string]string{}}
		for _, field := range tsharkGroups[name] {
			take(&l, field)
		}
		// Fields a layer reports only sometimes.
		switch name {
		case "icmp":
			if l.f["icmp.type"] == "3" && l.f["icmp.code"] == "4" {
				take(&l, "icmp.mtu")
			}
		case "icmpv6":
			if l.f["icmpv6.type"] == "2" {
				take(&l, "icmpv6.mtu")
			}
		case "gre":
			// The fields the flags announce, in header order.
			if l.f["gre.flags.checksum"] == "1" {
				take(&l, "gre.checksum")
			}
			switch {
			case l.f["gre.flags.key"] == "1" && l.f["gre.flags.version"] == "1":
				take(&l, "gre.key.call_id") // PPTP: payload length and call ID
			case l.f["gre.flags.key"] == "1":
				take(&l, "gre.key")
			}
			if l.f["gre.flags.sequence_number"] == "1" {
				take(&l, "gre.sequence_number")
			}
			if l.f["gre.flags.ack"] == "1" {
				take(&l, "gre.ack_number")
			}
		case "erspan":
			// ERSPAN type I, which GRE carries without a sequence number,
			// has no header and so no session ID.
			if n := len(layers); n > 0 && layers[n-1].name == "gre" && layers[n-1].f["gre.flags.sequence_number"] == "1" {
				take(&l, "erspan.spanid")
			}
		}
		layers = append(layers, l)
	}
	return layers
}

// ipv6Ext maps the IPv6 extension headers tshark shows as protocols of their
// own to the field giving the header that follows.
var ipv6Ext = map[string]string{
	"ipv6.hopopts": "ipv6.hopopts.nxt",
	"ipv6.routing": "ipv6.routing.nxt",
	"ipv6.dstopts": "ipv6.dstopts.nxt",
	"ipv6.fraghdr": "ipv6.fraghdr.nxt",
	"ah":           "ah.next_header",
}

// l4Protos maps tshark's transport protocol names to IP protocol numbers.
var l4Protos = map[string]string{"tcp": "6", "udp": "17", "sctp": "132", "icmp": "1", "icmpv6": "58"}

// tsharkView flattens tshark's decode of a packet into the view recordView
// builds from a Record.
func tsharkView(protocols string, occ map[string][]string) (view, error) {
	layers := tsharkLayers(protocols, occ)
	v := view{}
	var err error
	// set records a field tshark reported, a number in decimal when num is
	// set and otherwise an address; absent values are not compared.
	set := func(k, val string, num bool) {
		if val == "" || err != nil {
			return
		}
		if num {
			n, perr := strconv.ParseUint(val, 0, 32) // tshark shows some fields in hex
			if perr != nil {
				err = fmt.Errorf("field %s: %w", k, perr)
				return
			}
			val = strconv.FormatUint(n, 10)
		} else {
			a, perr := netip.ParseAddr(val)
			if perr != nil {
				err = fmt.Errorf("field %s: %w", k, perr)
				return
			}
			val = a.String()
		}
		v[k] = val
	}
	// The packet proper ends at the first ICMP layer: what follows is the
	// packet an ICMP error quotes.
	end := len(layers)
	for i, l := range layers {
		if l.name == "icmp" || l.name == "icmpv6" {
			end = i + 1
			break
		}
	}
	var (
		nip, ntun int
		version   []string // of each IP header
		lastIP    = -1     // layer index of the innermost IP header
		prev      string   // the previous layer, extension headers skipped
	)
	tunnel := func(typ, vni string) {
		p := fmt.Sprintf("tunnel[%d].", ntun)
		v[p+"type"] = typ
		set(p+"vni", vni, true)
		ntun++
	}
layers:
	for i, l := range layers[:end] {
		p := fmt.Sprintf("ip[%d].", nip-1)
		switch l.name {
		case "ip", "ipv6":
			ver := "4"
			if l.name == "ipv6" {
				ver = "6"
			}
			if prev == "ip" || prev == "ipv6" {
				tunnel(map[string]string{"44": "ipip", "46": "6in4", "64": "4in6", "66": "6in6"}[version[nip-1]+ver], "")
			}
			if cutIP(l) {
				end = i
				break layers
			}
			version = append(version, ver)
			p = fmt.Sprintf("ip[%d].", nip)
			nip++
			lastIP = i
			v[p+"version"] = ver
			if ver == "4" {
				set(p+"src", l.f["ip.src"], false)
				set(p+"dst", l.f["ip.dst"], false)
				set(p+"proto", l.f["ip.proto"], true)
				set(p+"ttl", l.f["ip.ttl"], true)
				set(p+"id", l.f["ip.id"], true)
				set(p+"df", l.f["ip.flags.df"], true)
				set(p+"mf", l.f["ip.flags.mf"], true)
				set(p+"fragoff", times8(l.f["ip.frag_offset"]), true)
			} else {
				set(p+"src", l.f["ipv6.src"], false)
				set(p+"dst", l.f["ipv6.dst"], false)
				set(p+"proto", l.f["ipv6.nxt"], true)
				set(p+"ttl", l.f["ipv6.hlim"], true)
				v[p+"v6frag"] = "0"
			}
		case "ipv6.hopopts", "ipv6.routing", "ipv6.dstopts", "ipv6.fraghdr", "ah":
			if prev != "ipv6" && (prev != "ip" || l.name != "ah") {
				break
			}
			set(p+"proto", l.f[ipv6Ext[l.name]], true)
			if l.name == "ipv6.fraghdr" && l.f["ipv6.fraghdr.ident"] != "" {
				v[p+"v6frag"] = "1" // a whole fragment header
				set(p+"id", l.f["ipv6.fraghdr.ident"], true)
				set(p+"mf", l.f["ipv6.fraghdr.more"], true)
				set(p+"fragoff", times8(l.f["ipv6.fraghdr.offset"]), true)
			}
			continue
		case "vxlan", "geneve":
			vni := l.f[l.name+".vni"]
			if vni == "" {
				// Cut before the VNI: hoptrace has no tunnel yet, only
				// the UDP carrying it.
				end = i
				break layers
			}
			tunnel(l.name, vni)
		case "gre":
			if cutGRE(l) {
				// hoptrace starts a GRE tunnel once its header is whole.
				end = i
				break layers
			}
			typ, key := "gre", ""
			if l.f["gre.flags.version"] == "0" {
				key = l.f["gre.key"]
			}
			if i+1 < end {
				switch next := layers[i+1]; {
				case next.name == "erspan":
					typ, key = "erspan", next.f["erspan.spanid"]
				case next.name == "eth":
					typ = "gretap"
				case next.name == "ppp" && l.f["gre.flags.version"] == "1":
					typ = "pptp"
				}
			}
			tunnel(typ, key)
		}
		prev = l.name
	}
	v["ips"] = strconv.Itoa(nip)
	v["tunnels"] = strconv.Itoa(ntun)
	// The transport of the innermost IP header, unless it carries a tunnel.
	v["l4.proto"] = "0"
	if lastIP < 0 {
		return v, err
	}
	var l4 *tsharkLayer
	for i := lastIP + 1; i < end; i++ {
		l := &layers[i]
		if _, ext := ipv6Ext[l.name]; ext && (version[nip-1] == "6" || l.name == "ah") {
			continue
		}
		if l4Protos[l.name] != "" {
			l4 = l
		}
		break
	}
	if l4 == nil {
		return v, err
	}
	for _, l := range layers[lastIP+1 : end] {
		switch l.name {
		case "vxlan", "geneve", "gre":
			return v, err
		}
	}
	v["l4.proto"] = l4Protos[l4.name]
	switch l4.name {
	case "tcp", "udp", "sctp":
		set("l4.sport", l4.f[l4.name+".srcport"], true)
		set("l4.dport", l4.f[l4.name+".dstport"], true)
		set("l4.seq", l4.f["tcp.seq"], true)
		if fl := l4.f["tcp.flags"]; fl != "" {
			// The Record keeps header byte 13; the AE (former NS) bit
			// tshark adds as 0x100 lives in byte 12.
			n, perr := strconv.ParseUint(fl, 0, 16)
			if perr != nil {
				return v, fmt.Errorf("field tcp.flags: %w", perr)
			}
			v["l4.flags"] = strconv.FormatUint(n&0xff, 10)
		}
	case "icmp", "icmpv6":
		set("icmp.type", l4.f[l4.name+".type"], true)
		set("icmp.code", l4.f[l4.name+".code"], true)
		set("icmp.mtu", l4.f[l4.name+".mtu"], true)
		quotedView(v, layers[end:], set)
	}
	return v, err
}

// quotedView adds the packet an ICMP error quotes: the first IP header after
// the ICMP layer and the transport header after it.
func quotedView(v view, layers []tsharkLayer, set func(k, val string, num bool)) {
	v["icmp.quoted"] = "0"
	if len(layers) == 0 || (layers[0].name != "ip" && layers[0].name != "ipv6") || cutIP(layers[0]) {
		return
	}
	v["icmp.quoted"] = "1"
	l := layers[0]
	if l.name == "ip" {
		set("quoted.src", l.f["ip.src"], false)
		set("quoted.dst", l.f["ip.dst"], false)
		set("quoted.proto", l.f["ip.proto"], true)
		set("quoted.id", l.f["ip.id"], true)
	} else {
		set("quoted.src", l.f["ipv6.src"], false)
		set("quoted.dst", l.f["ipv6.dst"], false)
		set("quoted.proto", l.f["ipv6.nxt"], true)
	}
	rest := layers[1:]
	for len(rest) > 0 && l.name == "ipv6" {
		nxt, ext := ipv6Ext[rest[0].name]
		if !ext {
			break
		}
		set("quoted.proto", rest[0].f[nxt], true)
		if rest[0].name == "ipv6.fraghdr" {
			set("quoted.id", rest[0].f["ipv6.fraghdr.ident"], true)
		}
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return
	}
	switch t := rest[0]; t.name {
	case "tcp", "udp", "sctp":
		set("quoted.sport", t.f[t.name+".srcport"], true)
		set("quoted.dport", t.f[t.name+".dstport"], true)
		set("quoted.seq", t.f["tcp.seq"], true)
	}
}

// cutIP reports whether the capture ends inside the fixed part of an IP
// header, before the destination address. tshark shows what there is of such
// a header; hoptrace keeps only whole headers, so the view leaves it out.
func cutIP(l tsharkLayer) bool {
	return l.f["ip.dst"] == "" && l.f["ipv6.dst"] == ""
}

// cutGRE reports whether the capture ends inside a GRE header: before the
// protocol type or a field the flags announce.
func cutGRE(l tsharkLayer) bool {
	set := func(flag string) bool { return l.f[flag] == "1" }
	missing := func(field string) bool { return l.f[field] == "" }
	key := "gre.key"
	if l.f["gre.flags.version"] == "1" { // PPTP: the key is length and call ID
		key = "gre.key.call_id"
	}
	return missing("gre.proto") ||
		set("gre.flags.checksum") && missing("gre.checksum") ||
		set("gre.flags.key") && missing(key) ||
		set("gre.flags.sequence_number") && missing("gre.sequence_number") ||
		set("gre.flags.ack") && missing("gre.ack_number")
}

// times8 turns a fragment offset in 8-byte units into bytes.
func times8(s string) string {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return s
	}
	return strconv.FormatUint(n*8, 10)
}
