package report

import (
	"bufio"
	"strconv"

	"github.com/hoptrace/hoptrace/decode"
)

// packetJSON writes NDJSON, one object per packet, keys in a fixed order.
// The keys are documented in README.md ("decode JSON").
type packetJSON struct {
	w   *bufio.Writer
	buf []byte
	ts  timeFormat
	// The capture point of the previous packet, which the next one mostly
	// shares, and its JSON string.
	point  string
	quoted []byte
}

func (j *packetJSON) Write(point string, r *decode.Record) {
	b := append(j.buf[:0], `{"ts":"`...)
	b = j.ts.append(b, r.TS)
	b = append(b, `","capture":`...)
	if point != j.point || j.quoted == nil {
		j.point, j.quoted = point, strconv.AppendQuote(j.quoted[:0], point)
	}
	b = append(b, j.quoted...)
	b = appendKeyInt(b, "wire_len", int64(r.WireLen))
	b = appendKeyInt(b, "cap_len", int64(r.CapLen))
	b = appendLinkJSON(b, &r.Link)

	b = append(b, `,"ip":[`...)
	for i := range r.NIP {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendIPJSON(b, &r.IP[i])
	}
	b = append(b, `],"tunnels":[`...)
	for i := range r.NTunnel {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTunnelJSON(b, &r.Tunnels[i])
	}
	b = append(b, `],"l4":`...)
	b = appendL4JSON(b, r)
	if r.L4.Proto == decode.ProtoICMP || r.L4.Proto == decode.ProtoICMPv6 {
		b = append(b, `,"icmp":`...)
		b = appendICMPJSON(b, &r.ICMP, r.L4.Proto == decode.ProtoICMPv6)
	}
	b = append(b, `,"errors":[`...)
	for i, p := range r.Problems[:r.NProblem] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, p.String()...)
		b = append(b, '"')
	}
	b = append(b, ']')
	if r.Snapped {
		b = append(b, `,"snapped":true`...)
	}
	b = append(b, "}\n"...)
	j.buf = b
	j.w.Write(b)
}

func (j *packetJSON) Flush() error { return j.w.Flush() }

func appendKeyInt(b []byte, key string, v int64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

// appendHex16 writes v as 0x followed by four lower-case hex digits.
func appendHex16(b []byte, v uint16) []byte {
	const digits = "0123456789abcdef"
	return append(b, '0', 'x', digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
}

func appendKeyBool(b []byte, key string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, v)
}

func appendKeyAddr(b []byte, key string, first bool, a interface{ AppendTo([]byte) []byte }) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendLinkJSON(b []byte, l *decode.Link) []byte {
	b = append(b, `,"link":{"type":`...)
	b = strconv.AppendUint(b, uint64(l.Type), 10)
	if l.EtherType != 0 {
		b = append(b, `,"ethertype":"`...)
		b = appendHex16(b, l.EtherType)
		b = append(b, '"')
	}
	if l.NVLAN > 0 {
		b = append(b, `,"vlans":[`...)
		for i, v := range l.VLANs[:l.NVLAN] {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(v), 10)
		}
		b = append(b, ']')
	}
	if l.IfIndex != 0 {
		b = appendKeyInt(b, "ifindex", int64(l.IfIndex))
	}
	if l.Dir != decode.DirUnknown {
		b = append(b, `,"dir":"`...)
		b = append(b, l.Dir.String()...)
		b = append(b, '"')
	}
	if l.ARP {
		b = append(b, `,"arp":true`...)
	}
	return append(b, '}')
}

func appendIPJSON(b []byte, h *decode.IPHeader) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendUint(b, uint64(h.Version), 10)
	b = appendKeyAddr(b, "src", false, h.Src)
	b = appendKeyAddr(b, "dst", false, h.Dst)
	b = appendKeyInt(b, "proto", int64(h.Proto))
	b = appendKeyInt(b, "ttl", int64(h.TTL))
	b = appendKeyInt(b, "id", int64(h.ID))
	b = appendKeyBool(b, "df", h.DF)
	b = appendKeyBool(b, "mf", h.MF)
	b = appendKeyInt(b, "frag_offset", int64(h.FragOffset))
	b = appendKeyInt(b, "len", int64(h.TotalLen))
	b = appendKeyInt(b, "hdr_len", int64(h.HdrLen))
	return append(b, '}')
}

func appendTunnelJSON(b []byte, t *decode.Tunnel) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, t.Type.String()...)
	b = append(b, '"')
	if t.HasVNI {
		b = appendKeyInt(b, "vni", int64(t.VNI))
	} else {
		b = append(b, `,"vni":null`...)
	}
	if t.DPort != 0 {
		b = appendKeyInt(b, "sport", int64(t.SPort))
		b = appendKeyInt(b, "dport", int64(t.DPort))
	}
	b = appendKeyInt(b, "overhead", int64(t.Overhead))
	return append(b, '}')
}

func appendL4JSON(b []byte, r *decode.Record) []byte {
	l4 := &r.L4
	if l4.Proto == 0 {
		return append(b, "null"...)
	}
	b = append(b, `{"proto":"`...)
	b = appendProtoLower(b, l4.Proto)
	b = append(b, '"')
	if hasPorts(l4.Proto) {
		b = appendKeyInt(b, "sport", int64(l4.SPort))
		b = appendKeyInt(b, "dport", int64(l4.DPort))
	}
	switch l4.Proto {
	case decode.ProtoTCP:
		b = append(b, `,"flags":"`...)
		b = appendTCPFlags(b, l4.Flags)
		b = append(b, '"')
		b = appendKeyInt(b, "seq", int64(l4.Seq))
		b = appendKeyInt(b, "ack", int64(l4.Ack))
		b = appendKeyInt(b, "win", int64(l4.Window))
		if l4.MSS != 0 {
			b = appendKeyInt(b, "mss", int64(l4.MSS))
		}
		b = appendKeyInt(b, "len", int64(l4.PayloadLen))
	case decode.ProtoUDP:
		b = appendKeyInt(b, "len", int64(l4.PayloadLen))
	}
	return append(b, '}')
}

// appendProtoLower writes the protocol name in lower case without
// allocating: "tcp", "udp", "icmp6", "proto-47".
func appendProtoLower(b []byte, p uint8) []byte {
	n := len(b)
	b = append(b, protoName(p)...)
	for i := n; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

func appendICMPJSON(b []byte, m *decode.ICMP, v6 bool) []byte {
	b = append(b, `{"type":`...)
	b = strconv.AppendUint(b, uint64(m.Type), 10)
	b = appendKeyInt(b, "code", int64(m.Code))
	if m.FragNeeded(v6) {
		b = appendKeyInt(b, "mtu", int64(m.MTU))
	}
	if (!v6 && (m.Type == 0 || m.Type == 8)) || (v6 && (m.Type == 128 || m.Type == 129)) {
		b = appendKeyInt(b, "echo_id", int64(m.ID))
		b = appendKeyInt(b, "echo_seq", int64(m.Seq))
	}
	if m.HasQuoted {
		q := &m.Quoted
		b = append(b, `,"quoted":{"proto":`...)
		b = strconv.AppendUint(b, uint64(q.Proto), 10)
		b = appendKeyAddr(b, "src", false, q.Src)
		b = appendKeyAddr(b, "dst", false, q.Dst)
		if hasPorts(q.Proto) {
			b = appendKeyInt(b, "sport", int64(q.SPort))
			b = appendKeyInt(b, "dport", int64(q.DPort))
		}
		b = appendKeyInt(b, "id", int64(q.ID))
		b = append(b, '}')
	}
	return append(b, '}')
}
