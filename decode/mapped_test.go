package decode

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// TestMappedAt finds the capture mapped at an address, while it is open
// and after (a fault unwinds through the file's deferred Close before it is
// reported), and nothing outside it.
func TestMappedAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	file := append(hdr, make([]byte, smallFile)...) // big enough to be mapped
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.mapped == nil {
		t.Skip("captures are not mapped on this platform")
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped)))
	if p, off, ok := MappedAt(base + 30); !ok || p != path || off != 30 {
		t.Errorf("MappedAt(base+30) = %q, %d, %v; want %q, 30, true", p, off, ok, path)
	}
	if _, _, ok := MappedAt(base + uintptr(len(file))); ok {
		t.Error("MappedAt past the end found a capture")
	}
	f.Close()
	if p, off, ok := MappedAt(base + 30); !ok || p != path || off != 30 {
		t.Errorf("after Close, MappedAt(base+30) = %q, %d, %v; want %q, 30, true", p, off, ok, path)
	}
}
