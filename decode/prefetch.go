package decode

import (
	"unsafe"

	"github.com/hoptrace/hoptrace/internal/prefetch"
)

// prefetchRecord starts loading the record at mem[off:] — its header and
// the packet headers the decoder reads — into the cache while the current
// packet is decoded.
//
// Walking a capture in memory is a chain of dependent loads: where a record
// starts is known only once the record before it has been read, and each
// step misses the cache (a capture read once is never in it). Started one
// record early, the miss overlaps the decoding of the packet before: about
// a third of the time of hoptrace decode on full-size frames.
//
// Past the end of mem (the last record's successor) the prefetch asks for
// lines that may not be mapped, which a prefetch instruction ignores:
// checking for it cost 10 instructions per record (decode --stats on
// bench/limit.sh's 1M-record incident, callgrind: 517.8M -> 507.9M).
func prefetchRecord(mem []byte, off int) {
	prefetch.Lines(uintptr(unsafe.Pointer(unsafe.SliceData(mem))) + uintptr(off))
}
