package decode

import (
	"sync"
	"unsafe"
)

// mappings remembers where capture files have been mapped into memory, so
// that a memory fault can be told apart from a bug: touching a page of a
// file cut shorter behind the reader's back faults. Closed files are
// remembered too (the last few hundred): a fault unwinds through the
// deferred Close of the file it happened in before anything can report it.
var mappings mapRegistry

type mapRegistry struct {
	mu      sync.Mutex
	entries []mapEntry
}

type mapEntry struct {
	path       string
	base, size uintptr
}

const maxMapEntries = 256

func (m *mapRegistry) add(path string, mem []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) == maxMapEntries {
		m.entries = append(m.entries[:0], m.entries[1:]...)
	}
	m.entries = append(m.entries, mapEntry{path, uintptr(unsafe.Pointer(unsafe.SliceData(mem))), uintptr(len(mem))})
}

// MappedAt names the capture file mapped, now or lately, at memory address
// addr and the offset in it, for a memory fault at addr (see runtime/debug's
// SetPanicOnFault); ok is false when no capture was mapped there.
func MappedAt(addr uintptr) (path string, offset int64, ok bool) {
	mappings.mu.Lock()
	defer mappings.mu.Unlock()
	for i := len(mappings.entries) - 1; i >= 0; i-- {
		e := mappings.entries[i]
		if addr >= e.base && addr-e.base < e.size {
			return e.path, int64(addr - e.base), true
		}
	}
	return "", 0, false
}
