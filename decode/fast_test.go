package decode_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoptrace/hoptrace/decode"
)

// TestFastPathEqualsGeneral decodes every packet of the corpus and of the
// committed lab captures, whole and cut as snap lengths cut them, with
// Decode and with the general decoder alone, each over the record of the
// packet before: the records must be equal. The fast path must also take
// most of the lab's packets, or it is not the fast path of anything.
func TestFastPathEqualsGeneral(t *testing.T) {
	var lab []string
	err := filepath.WalkDir(filepath.Join("..", "testdata", "captures"), func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (filepath.Ext(path) == ".pcap" || filepath.Ext(path) == ".pcapng") {
			lab = append(lab, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lab) == 0 {
		t.Fatal("no lab captures under testdata/captures")
	}
	d := decode.NewDecoder()
	var fast, general, scratch decode.Record
	var frames, taken int // whole frames, and those the fast path took
	check := func(path string, data []byte, m decode.Meta) {
		d.Decode(&fast, data, m)
		d.DecodeGeneral(&general, data, m)
		if fast != general {
			t.Fatalf("%s, frame of %d bytes (wire %d, link %d) % x:\nDecode  %+v\ngeneral %+v", path, len(data), m.WireLen, m.Link, data, fast, general)
		}
		checkClassify(t, d, data, m, &fast)
	}
	for _, path := range append(lab, corpusFiles(t)...) {
		f, err := decode.Open(path)
		if err != nil {
			continue // the corpus holds files that are not captures on purpose
		}
		for {
			data, m, err := f.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				break // damaged corpus files end early; their packets were checked
			}
			frames++
			if d.DecodeFast(&scratch, data, m) {
				taken++
			}
			check(path, data, m)
			for _, snap := range []int{len(data) / 2, 96, 68, 54, 40, 34} {
				if snap < len(data) {
					check(path, data[:snap], m)
				}
			}
		}
		f.Close()
	}
	t.Logf("%d whole frames, the fast path took %d", frames, taken)
	if taken*2 < frames {
		t.Errorf("the fast path took %d of %d frames, fewer than half", taken, frames)
	}
}

// checkClassify checks what File.Count knows of a frame without decoding
// it against r, Decode's record of it: classify must take exactly the
// frames the fast path takes, with their counts.
func checkClassify(t *testing.T, d *decode.Decoder, frame []byte, m decode.Meta, r *decode.Record) {
	t.Helper()
	var scratch decode.Record
	took := d.DecodeFast(&scratch, frame, m)
	ifindex, tunneled, ok := d.Classify(frame, m)
	if ok != took {
		t.Fatalf("frame of %d bytes (wire %d, link %d) % x: classified %v, fast path took it %v", len(frame), m.WireLen, m.Link, frame, ok, took)
	}
	if ok && (ifindex != r.Link.IfIndex || tunneled != (r.NTunnel > 0) || r.NProblem > 0 || r.Snapped) {
		t.Fatalf("frame of %d bytes (wire %d, link %d) % x: classified ifindex %d tunneled %v, decoded %+v", len(frame), m.WireLen, m.Link, frame, ifindex, tunneled, *r)
	}
}
