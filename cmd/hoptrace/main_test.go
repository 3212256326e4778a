package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corpusDir is the shared capture corpus, relative to this package.
const corpusDir = "../../../shared/corpus"

func corpusFile(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(corpusDir, name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("corpus file %s: %v", name, err)
	}
	return path
}

// hoptrace runs the command line and returns its exit code and output.
func hoptrace(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// lines splits output into its lines; the output must end with a newline.
func lines(t *testing.T, s string) []string {
	t.Helper()
	if s == "" {
		return nil
	}
	require.True(t, strings.HasSuffix(s, "\n"), "output does not end with a newline: %q", s)
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// pcapRecordEnds returns where each record of a pcap file ends, parsing the
// little-endian microsecond layout by hand.
func pcapRecordEnds(t *testing.T, file []byte) []int {
	t.Helper()
	require.Equal(t, []byte{0xd4, 0xc3, 0xb2, 0xa1}, file[:4], "not a little-endian microsecond pcap")
	var ends []int
	for off := 24; off+16 <= len(file); {
		off += 16 + int(binary.LittleEndian.Uint32(file[off+8:]))
		ends = append(ends, off)
	}
	return ends
}

// writePcap writes an Ethernet pcap of the given frames (each captured
// whole) to a temporary file.
func writePcap(t *testing.T, name string, frames ...[]byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	require.NoError(t, w.WriteFileHeader(65535, layers.LinkTypeEthernet))
	ts := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}
		require.NoError(t, w.WritePacket(ci, f))
	}
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// udpFrame returns an Ethernet/IPv4/UDP frame; ihl is the IPv4 header
// length field (5 for a well-formed header).
func udpFrame(ihl byte) []byte {
	f := make([]byte, 14, 42)
	f[12], f[13] = 0x08, 0x00
	f = append(f, 0x40|ihl, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
	return append(f, 0x30, 0x39, 0, 53, 0, 8, 0, 0)
}

func TestExitClean(t *testing.T) {
	path := corpusFile(t, "tcpdump__vxlan.pcap")
	code, out, errOut := hoptrace(t, "decode", path)
	assert.Equal(t, exitOK, code)
	assert.Empty(t, errOut)
	assert.Len(t, lines(t, out), 10) // capinfos -c
}

// TestExitTruncated cuts a capture inside its fourth record: the three
// packets before the cut are printed as in the whole file, a warning names
// the file and the offset of the cut record, and the exit code is 1.
func TestExitTruncated(t *testing.T) {
	src := corpusFile(t, "tcpdump__vxlan.pcap")
	file, err := os.ReadFile(src)
	require.NoError(t, err)
	ends := pcapRecordEnds(t, file)
	_, whole, _ := hoptrace(t, "decode", src)

	for _, cut := range []int{ends[2] + 1, ends[2] + 16, ends[2] + 30} {
		// Same name, so the capture point in the output is the same.
		path := filepath.Join(t.TempDir(), filepath.Base(src))
		require.NoError(t, os.WriteFile(path, file[:cut], 0o644))
		for _, format := range []string{"text", "json"} {
			_, wholeOut, _ := hoptrace(t, "decode", "-o", format, src)
			code, out, errOut := hoptrace(t, "decode", "-o", format, path)
			assert.Equal(t, exitProblems, code, "cut at %d", cut)
			got := lines(t, out)
			require.Len(t, got, 3, "cut at %d", cut)
			assert.Equal(t, lines(t, wholeOut)[:3], got)
			assert.Equal(t, fmt.Sprintf("hoptrace: warning: read capture %s: truncated: file ends inside the record at offset %d (3 packets read before it are kept)\n", path, ends[2]), errOut)
		}
	}
	require.Len(t, lines(t, whole), 10)

	// A truncated file among others: the others are printed whole.
	path := filepath.Join(t.TempDir(), "cut.pcap")
	require.NoError(t, os.WriteFile(path, file[:ends[2]+1], 0o644))
	code, out, errOut := hoptrace(t, "decode", src, path, src)
	assert.Equal(t, exitProblems, code)
	assert.Len(t, lines(t, out), 23)
	assert.Len(t, lines(t, errOut), 1)
}

func TestExitMalformed(t *testing.T) {
	path := writePcap(t, "bad.pcap", udpFrame(5), udpFrame(3), udpFrame(5))
	code, out, errOut := hoptrace(t, "decode", path)
	assert.Equal(t, exitProblems, code)
	assert.Len(t, lines(t, out), 3, "malformed packets are printed too")
	assert.Equal(t, fmt.Sprintf("hoptrace: warning: %s: 1 of 3 packets are malformed\n", path), errOut)

	code, out, _ = hoptrace(t, "decode", "-o", "json", path)
	assert.Equal(t, exitProblems, code)
	var rec struct{ Errors []string }
	require.NoError(t, json.Unmarshal([]byte(lines(t, out)[1]), &rec))
	assert.Equal(t, []string{"ipv4: bad header length"}, rec.Errors)

	code, _, errOut = hoptrace(t, "decode", writePcap(t, "good.pcap", udpFrame(5)))
	assert.Equal(t, exitOK, code)
	assert.Empty(t, errOut)

	// A packet cut by the snap length is not malformed: bulk captures are
	// snapped on purpose.
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	require.NoError(t, w.WriteFileHeader(30, layers.LinkTypeEthernet))
	require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: 30, Length: 1500}, udpFrame(5)[:30]))
	path = filepath.Join(t.TempDir(), "snapped.pcap")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	code, out, errOut = hoptrace(t, "decode", "-o", "json", path)
	assert.Equal(t, exitOK, code)
	assert.Empty(t, errOut)
	var snapped struct {
		Snapped bool
		Errors  []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &snapped))
	assert.True(t, snapped.Snapped)
	assert.Empty(t, snapped.Errors)
}

// TestExitUsage checks exit code 2 and its one-line message for arguments
// and files that cannot be used.
func TestExitUsage(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.pcap")
	require.NoError(t, os.WriteFile(text, []byte("not a capture\n"), 0o644))
	empty := filepath.Join(dir, "empty.pcap")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	missing := filepath.Join(dir, "missing.pcap")
	good := writePcap(t, "good.pcap", udpFrame(5))

	for _, tc := range []struct {
		name string
		args []string
		want string // the whole of stderr
	}{
		{"missing file", []string{"decode", missing}, "hoptrace: open capture " + missing + ": open " + missing + ": no such file or directory\n"},
		{"not a capture", []string{"decode", text}, "hoptrace: open capture " + text + ": not a pcap or pcapng file (starts with 6e 6f 74 20)\n"},
		{"empty file", []string{"decode", empty}, "hoptrace: open capture " + empty + ": not a pcap or pcapng file (file has 0 bytes)\n"},
		{"directory", []string{"decode", dir}, "hoptrace: open capture " + dir + ": read " + dir + ": is a directory\n"},
		{"bad flag", []string{"decode", "--bogus", good}, "hoptrace: unknown flag: --bogus\n"},
		{"bad output", []string{"decode", "-o", "xml", good}, "hoptrace: unknown output format \"xml\" (want text or json)\n"},
		{"port 0", []string{"decode", "--vxlan-port", "0", good}, "hoptrace: --vxlan-port 0: not a UDP port\n"},
		{"port too big", []string{"decode", "--vxlan-port", "65536", good}, "hoptrace: --vxlan-port 65536: not a UDP port\n"},
		{"port not a number", []string{"decode", "--vxlan-port", "vxlan", good}, ""},
		{"port negative", []string{"decode", "--vxlan-port=-1", good}, ""},
		{"no file", []string{"decode"}, "hoptrace: requires at least 1 arg(s), only received 0\n"},
		{"unknown command", []string{"frobnicate"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := hoptrace(t, tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			if tc.want != "" {
				assert.Equal(t, tc.want, errOut)
			}
			require.Len(t, lines(t, errOut), 1, "stderr: %q", errOut)
			assert.True(t, strings.HasPrefix(errOut, "hoptrace: "), errOut)
		})
	}

	// An unusable file among good ones: the good ones are still printed and
	// the worst exit code wins.
	code, out, errOut := hoptrace(t, "decode", good, missing, good)
	assert.Equal(t, exitUsage, code)
	assert.Len(t, lines(t, out), 2)
	assert.Len(t, lines(t, errOut), 1)

	// A good --vxlan-port is accepted.
	code, _, _ = hoptrace(t, "decode", "--vxlan-port", "4790", "--vxlan-port", "65535", good)
	assert.Equal(t, exitOK, code)
}

// jsonKeys are the keys every NDJSON object carries.
var jsonKeys = []string{"ts", "capture", "wire_len", "cap_len", "ip", "tunnels", "l4", "errors"}

// TestJSONCorpus decodes every corpus capture, intact and broken, as JSON:
// no panic, every line a JSON object with the documented keys, one record
// per packet, and the same bytes on a second run.
func TestJSONCorpus(t *testing.T) {
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(corpusDir, pat))
		require.NoError(t, err)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("corpus missing")
	}
	args := append([]string{"decode", "-o", "json"}, files...)
	code, out, errOut := hoptrace(t, args...)
	assert.Equal(t, exitUsage, code, "the corpus holds unreadable files")
	for _, l := range lines(t, errOut) {
		assert.True(t, strings.HasPrefix(l, "hoptrace: "), l)
	}
	got := lines(t, out)
	assert.Greater(t, len(got), 4000)
	for i, l := range got {
		var obj map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(l), &obj), "line %d: %s", i+1, l)
		for _, k := range jsonKeys {
			require.Contains(t, obj, k, "line %d: %s", i+1, l)
		}
		var rec struct {
			TS      time.Time
			Capture string
			WireLen int `json:"wire_len"`
			CapLen  int `json:"cap_len"`
			IP      []json.RawMessage
			Tunnels []json.RawMessage
			Errors  []string
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "line %d: %s", i+1, l)
		require.NotEmpty(t, rec.Capture, "line %d", i+1)
		require.NotContains(t, rec.Capture, "\n", "line %d", i+1)
		require.LessOrEqual(t, len(rec.Tunnels), len(rec.IP), "line %d", i+1)
	}

	code2, out2, errOut2 := hoptrace(t, args...)
	assert.Equal(t, code, code2)
	assert.True(t, out == out2, "two runs differ")
	assert.Equal(t, errOut, errOut2)
}

// TestHostileInterfaceNames decodes a pcapng whose interface names hold
// control characters and bytes that are not UTF-8: the text output keeps
// one line per packet and the JSON stays valid.
func TestHostileInterfaceNames(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0\r\nfake 1970-01-01 line", LinkType: layers.LinkTypeEthernet}, pcapgo.NgWriterOptions{})
	require.NoError(t, err)
	_, err = w.AddInterface(pcapgo.NgInterface{Name: "bell\a\x00\xff\xfe\"\\", LinkType: layers.LinkTypeEthernet})
	require.NoError(t, err)
	frame := udpFrame(5)
	for i := range 2 {
		require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame), InterfaceIndex: i}, frame))
	}
	require.NoError(t, w.Flush())
	path := filepath.Join(t.TempDir(), "names.pcapng")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))

	code, out, errOut := hoptrace(t, "decode", path)
	assert.Equal(t, exitOK, code, errOut)
	assert.Len(t, lines(t, out), 2)
	assert.NotContains(t, out, "\r")

	code, out, _ = hoptrace(t, "decode", "-o", "json", path)
	assert.Equal(t, exitOK, code)
	got := lines(t, out)
	require.Len(t, got, 2)
	for _, l := range got {
		var rec struct{ Capture string }
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		assert.NotEmpty(t, rec.Capture)
	}
}
