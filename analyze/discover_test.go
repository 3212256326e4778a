package analyze

import (
	"os"
	"path/filepath"
	"testing"
)

// testCaptures lists the captures of a lab incident directory (one
// subdirectory per node) for the tests of this package, which cannot
// import package incident (it imports this one).
func testCaptures(t testing.TB, dir string) []Capture {
	t.Helper()
	nodes, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var caps []Capture
	for _, n := range nodes {
		if !n.IsDir() || n.Name() == "truth" {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, n.Name(), "*.pcap*"))
		for _, f := range files {
			caps = append(caps, Capture{Node: n.Name(), Path: f})
		}
	}
	if len(caps) == 0 {
		t.Fatalf("no captures in %s", dir)
	}
	return caps
}
