package incident

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
)

// ifStats is what a pcapng Interface Statistics Block says of one
// interface at the end of a capture (dumpcap writes one per interface when
// it stops): packets the interface received, those the interface and the
// capturing OS dropped. -1 when not said.
type ifStats struct {
	iface                int
	recv, ifDrop, osDrop int64
}

// pcapng block types and ISB option codes (pcapng draft, sections 4.1 and
// 4.6).
const (
	blockSHB        = 0x0a0d0d0a
	blockISB        = 5
	optISBIfRecv    = 4
	optISBIfDrop    = 5
	optISBOSDrop    = 7
	maxISB          = 1 << 16 // an ISB is a few dozen bytes; a larger one is not read
	maxBlocksWalked = 1 << 24
)

// interfaceStats walks the blocks of a pcapng file (plain or gzip),
// skipping all but the statistics blocks, and returns the last statistics
// of each interface. It stops quietly at anything it cannot read: the
// capture reader reports damage.
func interfaceStats(e *entry) []ifStats {
	src, err := e.open()
	if err != nil {
		return nil
	}
	defer src.Close()
	br := bufio.NewReader(src)
	if h, _ := br.Peek(2); bytes.Equal(h, magicGzip) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil
		}
		br = bufio.NewReader(gz)
	}
	var order binary.ByteOrder = binary.LittleEndian
	last := map[int]ifStats{}
	var ids []int
	var hdr [12]byte
	for range maxBlocksWalked {
		if _, err := io.ReadFull(br, hdr[:8]); err != nil {
			break
		}
		if binary.LittleEndian.Uint32(hdr[:]) == blockSHB {
			if _, err := io.ReadFull(br, hdr[8:12]); err != nil {
				break
			}
			order = binary.LittleEndian
			if binary.BigEndian.Uint32(hdr[8:]) == 0x1a2b3c4d {
				order = binary.BigEndian
			}
			n := int64(order.Uint32(hdr[4:])) - 12
			if n < 0 {
				break
			}
			if _, err := io.CopyN(io.Discard, br, n); err != nil {
				break
			}
			continue
		}
		typ, n := order.Uint32(hdr[:]), int64(order.Uint32(hdr[4:]))-8
		if n < 4 {
			break
		}
		if typ != blockISB || n > maxISB {
			if _, err := io.CopyN(io.Discard, br, n); err != nil {
				break
			}
			continue
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			break
		}
		st, ok := parseISB(body, order)
		if !ok {
			continue
		}
		if _, seen := last[st.iface]; !seen {
			ids = append(ids, st.iface)
		}
		last[st.iface] = st
	}
	out := make([]ifStats, 0, len(ids))
	for _, id := range ids {
		out = append(out, last[id])
	}
	return out
}

// parseISB reads an ISB body (after type and length, with the trailing
// length): interface id, timestamp, then options.
func parseISB(b []byte, order binary.ByteOrder) (ifStats, bool) {
	if len(b) < 16 {
		return ifStats{}, false
	}
	st := ifStats{iface: int(order.Uint32(b)), recv: -1, ifDrop: -1, osDrop: -1}
	opts := b[12 : len(b)-4]
	for len(opts) >= 4 {
		code, l := order.Uint16(opts), int(order.Uint16(opts[2:]))
		if code == 0 || 4+l > len(opts) {
			break
		}
		v := opts[4 : 4+l]
		if l == 8 {
			switch code {
			case optISBIfRecv:
				st.recv = int64(order.Uint64(v))
			case optISBIfDrop:
				st.ifDrop = int64(order.Uint64(v))
			case optISBOSDrop:
				st.osDrop = int64(order.Uint64(v))
			}
		}
		opts = opts[4+(l+3)&^3:]
	}
	return st, true
}
