package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/hoptrace/hoptrace/decode"
)

// PacketWriter writes decoded packets one at a time. Write keeps the first
// error and reports it from Flush.
type PacketWriter interface {
	Write(point string, r *decode.Record)
	Flush() error
}

// NewPacketWriter returns a writer for format "text" (one tcpdump-like line
// per packet) or "json" (NDJSON, one object per packet).
func NewPacketWriter(format string, w io.Writer) (PacketWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "text":
		return &packetText{w: bw}, nil
	case "json":
		return &packetJSON{w: bw}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want text or json)", format)
}

// packetText prints one line per packet: time, capture point, then every
// layer outermost first, each tunnel between the IP headers it joins.
type packetText struct {
	w   *bufio.Writer
	buf []byte
	ts  timeFormat
}

func (t *packetText) Write(point string, r *decode.Record) {
	b := t.ts.append(t.buf[:0], r.TS)
	b = append(b, ' ')
	b = append(b, point...)
	if r.Link.Dir != decode.DirUnknown {
		b = append(b, ' ')
		b = append(b, r.Link.Dir.String()...)
	}
	b = append(b, " len "...)
	b = strconv.AppendInt(b, int64(r.WireLen), 10)
	for _, v := range r.Link.VLANs[:r.Link.NVLAN] {
		b = append(b, " vlan "...)
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	switch {
	case r.NIP == 0 && r.Link.ARP:
		b = append(b, " ARP"...)
	case r.NIP == 0 && r.Link.EtherType != 0:
		b = append(b, " ethertype "...)
		b = appendHex16(b, r.Link.EtherType)
	}
	tun := 0
	for i := range r.NIP {
		h := &r.IP[i]
		b = append(b, ": "...)
		b = appendIPText(b, h, r, i == r.NIP-1)
		for tun < r.NTunnel && r.Tunnels[tun].Outer == i {
			b = append(b, ": "...)
			b = appendTunnelText(b, &r.Tunnels[tun])
			tun++
		}
	}
	if r.NIP > 0 && r.Link.ARP {
		b = append(b, ": ARP"...)
	}
	if r.NIP > 0 && r.L4.Proto != 0 {
		b = append(b, ": "...)
		b = appendL4Text(b, r)
	}
	if r.Snapped {
		b = append(b, " [snapped]"...)
	}
	for _, p := range r.Problems[:r.NProblem] {
		b = append(b, " [!"...)
		b = append(b, p.String()...)
		b = append(b, ']')
	}
	b = append(b, '\n')
	t.buf = b
	t.w.Write(b) // bufio.Writer keeps the first error for Flush
}

func (t *packetText) Flush() error { return t.w.Flush() }

func appendIPText(b []byte, h *decode.IPHeader, r *decode.Record, innermost bool) []byte {
	if h.Version == 6 {
		b = append(b, "IP6 "...)
	} else {
		b = append(b, "IP "...)
	}
	ports := innermost && hasPorts(r.L4.Proto)
	b = h.Src.AppendTo(b)
	if ports {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(r.L4.SPort), 10)
	}
	b = append(b, " > "...)
	b = h.Dst.AppendTo(b)
	if ports {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(r.L4.DPort), 10)
	}
	b = append(b, " ttl "...)
	b = strconv.AppendUint(b, uint64(h.TTL), 10)
	if h.Version == 4 || h.Frag {
		b = append(b, " id "...)
		b = strconv.AppendUint(b, uint64(h.ID), 10)
	}
	if h.DF {
		b = append(b, " DF"...)
	}
	if h.IsFragment() {
		b = append(b, " frag "...)
		b = strconv.AppendUint(b, uint64(h.FragOffset), 10)
		if h.MF {
			b = append(b, '+')
		}
	}
	b = append(b, " len "...)
	return strconv.AppendUint(b, uint64(h.TotalLen), 10)
}

func appendTunnelText(b []byte, t *decode.Tunnel) []byte {
	b = append(b, t.Type.String()...)
	if t.DPort != 0 {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(t.SPort), 10)
		b = append(b, " > "...)
		b = strconv.AppendUint(b, uint64(t.DPort), 10)
	}
	if t.HasVNI {
		switch t.Type {
		case decode.TunnelVXLAN, decode.TunnelGeneve:
			b = append(b, " vni "...)
		case decode.TunnelERSPAN:
			b = append(b, " session "...)
		default:
			b = append(b, " key "...)
		}
		b = strconv.AppendUint(b, uint64(t.VNI), 10)
	}
	b = append(b, " +"...)
	return strconv.AppendUint(b, uint64(t.Overhead), 10)
}

func appendL4Text(b []byte, r *decode.Record) []byte {
	l4 := &r.L4
	b = append(b, protoName(l4.Proto)...)
	switch l4.Proto {
	case decode.ProtoTCP:
		b = append(b, " ["...)
		b = appendTCPFlags(b, l4.Flags)
		b = append(b, "] seq "...)
		b = strconv.AppendUint(b, uint64(l4.Seq), 10)
		if l4.Flags&decode.TCPAck != 0 {
			b = append(b, " ack "...)
			b = strconv.AppendUint(b, uint64(l4.Ack), 10)
		}
		b = append(b, " win "...)
		b = strconv.AppendUint(b, uint64(l4.Window), 10)
		if l4.MSS != 0 {
			b = append(b, " mss "...)
			b = strconv.AppendUint(b, uint64(l4.MSS), 10)
		}
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(l4.PayloadLen), 10)
	case decode.ProtoUDP:
		b = append(b, " len "...)
		b = strconv.AppendInt(b, int64(l4.PayloadLen), 10)
	case decode.ProtoICMP, decode.ProtoICMPv6:
		b = appendICMPText(b, &r.ICMP, l4.Proto == decode.ProtoICMPv6)
	}
	return b
}

func appendICMPText(b []byte, m *decode.ICMP, v6 bool) []byte {
	switch {
	case m.FragNeeded(v6) && v6:
		b = append(b, " packet-too-big mtu "...)
		b = strconv.AppendUint(b, uint64(m.MTU), 10)
	case m.FragNeeded(v6):
		b = append(b, " frag-needed mtu "...)
		b = strconv.AppendUint(b, uint64(m.MTU), 10)
	case !v6 && m.Type == 8, v6 && m.Type == 128:
		b = append(b, " echo request"...)
	case !v6 && m.Type == 0, v6 && m.Type == 129:
		b = append(b, " echo reply"...)
	default:
		b = append(b, " type "...)
		b = strconv.AppendUint(b, uint64(m.Type), 10)
		b = append(b, " code "...)
		b = strconv.AppendUint(b, uint64(m.Code), 10)
	}
	if (!v6 && (m.Type == 0 || m.Type == 8)) || (v6 && (m.Type == 128 || m.Type == 129)) {
		b = append(b, " id "...)
		b = strconv.AppendUint(b, uint64(m.ID), 10)
		b = append(b, " seq "...)
		b = strconv.AppendUint(b, uint64(m.Seq), 10)
	}
	if m.HasQuoted {
		q := &m.Quoted
		b = append(b, " for "...)
		b = append(b, protoName(q.Proto)...)
		b = append(b, ' ')
		b = q.Src.AppendTo(b)
		if hasPorts(q.Proto) {
			b = append(b, '.')
			b = strconv.AppendUint(b, uint64(q.SPort), 10)
		}
		b = append(b, " > "...)
		b = q.Dst.AppendTo(b)
		if hasPorts(q.Proto) {
			b = append(b, '.')
			b = strconv.AppendUint(b, uint64(q.DPort), 10)
		}
	}
	return b
}

// appendTCPFlags writes flags the way tcpdump does: "S", "S.", "P.", "F.".
func appendTCPFlags(b []byte, f uint8) []byte {
	n := len(b)
	for _, fl := range [...]struct {
		bit uint8
		c   byte
	}{{decode.TCPFin, 'F'}, {decode.TCPSyn, 'S'}, {decode.TCPRst, 'R'}, {decode.TCPPsh, 'P'}, {decode.TCPUrg, 'U'}, {decode.TCPCwr, 'W'}, {decode.TCPEce, 'E'}, {decode.TCPAck, '.'}} {
		if f&fl.bit != 0 {
			b = append(b, fl.c)
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}

func hasPorts(proto uint8) bool {
	return proto == decode.ProtoTCP || proto == decode.ProtoUDP || proto == decode.ProtoSCTP
}

func protoName(p uint8) string {
	switch p {
	case decode.ProtoTCP:
		return "TCP"
	case decode.ProtoUDP:
		return "UDP"
	case decode.ProtoICMP:
		return "ICMP"
	case decode.ProtoICMPv6:
		return "ICMP6"
	case decode.ProtoSCTP:
		return "SCTP"
	case decode.ProtoGRE:
		return "GRE"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// timeFormat writes time stamps as RFC 3339 UTC with nanoseconds, fixed
// width. Packets come many to a second: the date and time up to the second
// are formatted once a second, the nanoseconds by hand.
type timeFormat struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05." of sec; empty until the first
}

func (f *timeFormat) append(b []byte, ts int64) []byte {
	sec, ns := ts/1e9, ts%1e9
	if ns < 0 {
		sec, ns = sec-1, ns+1e9
	}
	if len(f.prefix) == 0 || sec != f.sec {
		f.sec = sec
		f.prefix = time.Unix(sec, 0).UTC().AppendFormat(f.prefix[:0], "2006-01-02T15:04:05.")
	}
	b = append(b, f.prefix...)
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + ns%10)
		ns /= 10
	}
	b = append(b, digits[:]...)
	return append(b, 'Z')
}
