package decode

// SetRatioGuardFloor lowers the size past which the ratio guard looks,
// so that a test need not decompress 64 MB; it returns the restore.
func SetRatioGuardFloor(n int64) func() {
	old := ratioGuardFloor
	ratioGuardFloor = n
	return func() { ratioGuardFloor = old }
}

// DecodeGeneral is Decode without its fast path: what the fast path must
// equal.
func (d *Decoder) DecodeGeneral(r *Record, frame []byte, m Meta) { d.general(r, frame, m) }

// DecodeFast is Decode's fast path alone: it reports whether it took the
// frame.
func (d *Decoder) DecodeFast(r *Record, frame []byte, m Meta) bool { return d.fast(r, frame, m) }

// Classify is what File.Count knows of a frame without decoding it: when
// ok, the frame's SLL2 interface index and whether it is tunneled, and
// that Decode's record of it has no problem and is not snapped.
func (d *Decoder) Classify(frame []byte, m Meta) (ifindex int32, tunneled, ok bool) {
	ifindex, class := d.classify(frame, m.Link, m.WireLen)
	return ifindex, class == classTunneled, class != classOther
}
