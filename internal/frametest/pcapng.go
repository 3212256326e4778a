package frametest

import "encoding/binary"

// PcapNG builds a little-endian pcapng file block by block: a section
// header, then whatever the test appends. The zero value is not ready:
// start with NewPcapNG.
type PcapNG struct{ b []byte }

// NewPcapNG starts a pcapng file with its section header block.
func NewPcapNG() *PcapNG {
	p := &PcapNG{}
	body := make([]byte, 16)
	binary.LittleEndian.PutUint32(body, 0x1a2b3c4d)
	binary.LittleEndian.PutUint16(body[4:], 1) // version 1.0
	binary.LittleEndian.PutUint64(body[8:], ^uint64(0))
	p.block(0x0a0d0d0a, body)
	return p
}

// Bytes returns the file so far.
func (p *PcapNG) Bytes() []byte { return p.b }

// Interface appends an interface description block: Ethernet, snap length
// 262144, the given name and time stamp resolution exponent (if_tsresol,
// 10^-res s; 6 is pcapng's default, 9 what dumpcap writes).
func (p *PcapNG) Interface(name string, res uint8) *PcapNG {
	body := make([]byte, 8)
	binary.LittleEndian.PutUint16(body, 1) // LINKTYPE_ETHERNET
	binary.LittleEndian.PutUint32(body[4:], 262144)
	body = option(body, 2, []byte(name))
	body = option(body, 9, []byte{res})
	body = option(body, 0, nil)
	p.block(1, body)
	return p
}

// Packet appends an enhanced packet block of interface iface stamped ts
// (in that interface's units).
func (p *PcapNG) Packet(iface uint32, ts uint64, frame []byte) *PcapNG {
	body := make([]byte, 20, 20+len(frame)+3)
	binary.LittleEndian.PutUint32(body, iface)
	putTS(body[4:], ts)
	binary.LittleEndian.PutUint32(body[12:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(body[16:], uint32(len(frame)))
	body = append(body, frame...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	p.block(6, body)
	return p
}

// Stats is what an interface statistics block says; zero fields are left
// out of it.
type Stats struct {
	TS, Start, End uint64 // in the interface's units
	Recv, OSDrop   uint64
}

// Statistics appends an interface statistics block for interface iface.
func (p *PcapNG) Statistics(iface uint32, s Stats) *PcapNG {
	body := make([]byte, 12)
	binary.LittleEndian.PutUint32(body, iface)
	putTS(body[4:], s.TS)
	u := func(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }
	t := func(v uint64) []byte { b := make([]byte, 8); putTS(b, v); return b }
	if s.Start != 0 {
		body = option(body, 2, t(s.Start))
	}
	if s.End != 0 {
		body = option(body, 3, t(s.End))
	}
	if s.Recv != 0 {
		body = option(body, 4, u(s.Recv))
	}
	if s.OSDrop != 0 {
		body = option(body, 7, u(s.OSDrop))
	}
	body = option(body, 0, nil)
	p.block(5, body)
	return p
}

// putTS writes a pcapng time stamp: the high 32 bits, then the low.
func putTS(b []byte, ts uint64) {
	binary.LittleEndian.PutUint32(b, uint32(ts>>32))
	binary.LittleEndian.PutUint32(b[4:], uint32(ts))
}

func option(body []byte, code uint16, v []byte) []byte {
	var h [4]byte
	binary.LittleEndian.PutUint16(h[:], code)
	binary.LittleEndian.PutUint16(h[2:], uint16(len(v)))
	body = append(body, h[:]...)
	body = append(body, v...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return body
}

func (p *PcapNG) block(typ uint32, body []byte) {
	n := uint32(12 + len(body))
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:], typ)
	binary.LittleEndian.PutUint32(h[4:], n)
	p.b = append(p.b, h[:]...)
	p.b = append(p.b, body...)
	p.b = binary.LittleEndian.AppendUint32(p.b, n)
}
