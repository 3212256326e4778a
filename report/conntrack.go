package report

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
)

// WriteConntrack writes one line per flow exactly as conntrack -L prints an
// entry when the kernel counts packets (nf_conntrack_acct=1):
//
//	tcp      6 432000 ESTABLISHED src=10.244.0.5 dst=10.96.0.10 sport=40000 dport=80 packets=4 bytes=222 src=10.244.1.5 dst=10.244.0.5 sport=8080 dport=40000 packets=3 bytes=170 [ASSURED] mark=0 use=1
//
// The reply tuple shows the NAT seen across hops. An offline capture has no
// live timer, so the timeout column is the one the kernel sets at the
// flow's last packet (analyze.ConntrackTimeout); a live conntrack -L shows
// it counting down from there. mark and use are always 0 and 1: hoptrace
// sees neither. ICMP flows are echo flows (types 8/0, or 128/129 for
// ICMPv6, code 0). Lines for tcp, udp, icmp, icmpv6 and untracked
// protocols match the real tool (see conntrack_test.go); sctp lines lack
// the state the kernel's SCTP tracker prints, and GRE prints as the generic
// tracker ("unknown  47"), without the kernel's srckey/dstkey.
func WriteConntrack(w io.Writer, flows []analyze.Flow) error {
	return writeConntrack(w, flows, false)
}

// WriteConntrackExtended writes the flows as conntrack -L -o extended does:
// each line starts with the network protocol, "ipv4     2 " or
// "ipv6     10 ".
func WriteConntrackExtended(w io.Writer, flows []analyze.Flow) error {
	return writeConntrack(w, flows, true)
}

func writeConntrack(w io.Writer, flows []analyze.Flow, extended bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for i := range flows {
		b = appendConntrack(b[:0], &flows[i], extended)
		bw.Write(b) // bufio keeps the first error; Flush reports it
	}
	return bw.Flush()
}

// appendConntrack formats one entry as libnetfilter_conntrack's default
// output does: "%-8s %u " for each protocol, the timeout, the TCP state,
// then each tuple with its counters, the status flags and mark/use.
func appendConntrack(b []byte, f *analyze.Flow, extended bool) []byte {
	name, num := ctProto(f.Proto)
	if extended {
		if isIPv6(f.Orig.Src) {
			b = appendPadded(b, "ipv6", 10)
		} else {
			b = appendPadded(b, "ipv4", 2)
		}
	}
	b = appendPadded(b, name, num)
	b = strconv.AppendInt(b, int64(analyze.ConntrackTimeout(f.Proto, f.State, f.Assured)), 10)
	b = append(b, ' ')
	if name == "tcp" && f.State != "" {
		b = append(b, f.State...)
		b = append(b, ' ')
	}
	b = appendTuple(b, name, f.Orig, false)
	b = appendCounters(b, f.OrigStats)
	if f.Unreplied {
		b = append(b, "[UNREPLIED] "...)
	}
	b = appendTuple(b, name, f.Reply, true)
	b = appendCounters(b, f.ReplStats)
	if f.Assured {
		b = append(b, "[ASSURED] "...)
	}
	return append(b, "mark=0 use=1\n"...)
}

// appendPadded writes a protocol name left-aligned in 8 columns, then its
// number: conntrack's "%-8s %u ".
func appendPadded(b []byte, name string, num int) []byte {
	b = append(b, name...)
	for n := len(name); n < 8; n++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(num), 10)
	return append(b, ' ')
}

func appendTuple(b []byte, proto string, t analyze.TupleJSON, reply bool) []byte {
	b = append(b, "src="...)
	b = append(b, t.Src...)
	b = append(b, " dst="...)
	b = append(b, t.Dst...)
	b = append(b, ' ')
	switch proto {
	case "tcp", "udp", "sctp":
		b = append(b, "sport="...)
		b = strconv.AppendUint(b, uint64(t.SPort), 10)
		b = append(b, " dport="...)
		b = strconv.AppendUint(b, uint64(t.DPort), 10)
		b = append(b, ' ')
	case "icmp", "icmpv6":
		typ := icmpEchoType[proto][0]
		if reply {
			typ = icmpEchoType[proto][1]
		}
		b = append(b, "type="...)
		b = strconv.AppendUint(b, uint64(typ), 10)
		b = append(b, " code=0 id="...)
		b = strconv.AppendUint(b, uint64(t.SPort), 10) // the echo identifier
		b = append(b, ' ')
	}
	return b
}

// icmpEchoType is the type of an echo request and of its reply.
var icmpEchoType = map[string][2]uint8{"icmp": {8, 0}, "icmpv6": {128, 129}}

func appendCounters(b []byte, d analyze.Dir) []byte {
	b = append(b, "packets="...)
	b = strconv.AppendInt(b, int64(d.Packets), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(d.Bytes), 10)
	return append(b, ' ')
}

// ctProto maps analyze's protocol name to conntrack's name and number.
// Protocols without a tracker of their own here print as "unknown", the
// generic tracker.
func ctProto(proto analyze.Proto) (string, int) {
	switch proto {
	case analyze.ProtoTCP, analyze.ProtoUDP, analyze.ProtoICMP, analyze.ProtoICMPv6, analyze.ProtoSCTP:
		return proto.String(), int(proto)
	}
	return "unknown", int(proto)
}

func isIPv6(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return strings.Contains(addr, ":")
	}
	return a.Is6()
}
