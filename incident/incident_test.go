package incident

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/analyze"
)

// lab is a committed lab scenario with -i any and per-interface captures
// of both nodes, and the nodes' ip -j link output in its truth folder.
var lab = filepath.Join("..", "testdata", "captures", "service-dnat")

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

// tarOf builds a tar archive (gzip-compressed when gz) of name -> content,
// in the order given.
func tarOf(t *testing.T, gz bool, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w = &buf
	var zw *gzip.Writer
	tw := tar.NewWriter(w)
	if gz {
		zw = gzip.NewWriter(w)
		tw = tar.NewWriter(zw)
	}
	for i := 0; i+1 < len(files); i += 2 {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(files[i+1]))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	if zw != nil {
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

func nodesOf(caps []analyze.Capture) []string {
	var out []string
	for _, c := range caps {
		if !slices.Contains(out, c.Node) {
			out = append(out, c.Node)
		}
	}
	slices.Sort(out)
	return out
}

// TestDirectoryLayout: a node per subdirectory, truth files ignored, the
// same captures as the lab layout always gave.
func TestDirectoryLayout(t *testing.T) {
	inc, err := Open([]string{lab}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"node-1", "node-2"}, nodesOf(inc.Captures))
	assert.Len(t, inc.Captures, 14)
	assert.Empty(t, inc.Problems)
	// No interface list: only the data can say that two captures are one
	// point. The flannel.1 captures hold the very packets of the -i any
	// capture's VXLAN interface at the same instants (the kernel stamps a
	// decapsulated packet once, before both sockets see it), so they are
	// one hop; so do pod B's veth captures, which carry only pod B's own
	// IPv6 start-up and the ARP broadcasts the bridge floods (stamped once
	// on the way in). The others were stamped apart on the way in, but
	// each holds every frame the -i any capture saw leave by its interface
	// at the very same instant (stamped once for every socket): one hop
	// each too, at the index the lab's ip -j link gives it.
	var shadows []string
	for _, c := range inc.Captures {
		for _, sh := range c.Shadows {
			shadows = append(shadows, filepath.Base(sh.By)+"="+c.IfNames[sh.IfIndex])
		}
	}
	assert.ElementsMatch(t, []string{
		"n1-flannel.1.pcap=n1-flannel.1", "n2-flannel.1.pcap=n2-flannel.1", "n1-veth-pod-b.pcap=n1-veth-pod-b",
		"n1-cni0.pcap=n1-cni0", "n1-eth0.pcap=n1-eth0", "n1-veth-pod-a.pcap=n1-veth-pod-a",
		"n2-cni0.pcap=n2-cni0", "n2-eth0.pcap=n2-eth0", "n2-veth-pod-c.pcap=n2-veth-pod-c",
	}, shadows)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	for _, h := range res.Hops {
		assert.False(t, strings.Contains(h.From+h.To, "flannel") && h.MaxNS == 0, "0 ns alias row %s > %s", h.From, h.To)
	}
}

// TestArchives: a .tar.gz of a whole incident, a plain .tar per node, and
// an archive inside an archive open as the directory would.
func TestArchives(t *testing.T) {
	a := readFile(t, filepath.Join(lab, "node-1", "poda-eth0.pcap"))
	b := readFile(t, filepath.Join(lab, "node-2", "podc-eth0.pcap"))
	dir := t.TempDir()
	whole := tarOf(t, true, "incident/node-1/poda-eth0.pcap", string(a), "incident/node-2/podc-eth0.pcap", string(b), "incident/notes.txt", "hello")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "whole.tgz"), whole, 0o644))
	inc, err := Open([]string{filepath.Join(dir, "whole.tgz")}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"node-1", "node-2"}, nodesOf(inc.Captures))
	for _, c := range inc.Captures {
		assert.NotNil(t, c.Data, "archive members are read in memory")
		assert.Contains(t, c.Path, "whole.tgz//incident/")
	}

	// A folder of per-node archives, one of them nested in another.
	per := filepath.Join(dir, "per-node")
	require.NoError(t, os.Mkdir(per, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(per, "worker-1.tar"), tarOf(t, false, "poda-eth0.pcap", string(a)), 0o644))
	inner := tarOf(t, true, "podc-eth0.pcap", string(b))
	require.NoError(t, os.WriteFile(filepath.Join(per, "worker-2.tar.gz"), tarOf(t, true, "inner.tar.gz", string(inner)), 0o644))
	inc, err = Open([]string{per}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"worker-1", "worker-2"}, nodesOf(inc.Captures))
	assert.Empty(t, inc.Problems)

	// Analysed from memory like from disk.
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	assert.Len(t, res.Captures, 2)
}

// TestArchiveHostile: members climbing out of the archive are refused and
// reported; a member beyond the size cap stops the archive with a message
// instead of being read whole.
func TestArchiveHostile(t *testing.T) {
	a := readFile(t, filepath.Join(lab, "node-1", "poda-eth0.pcap"))
	dir := t.TempDir()
	evil := tarOf(t, false, "../../escape.pcap", string(a), "/abs.pcap", string(a), "ok.pcap", string(a))
	p := filepath.Join(dir, "evil.tar")
	require.NoError(t, os.WriteFile(p, evil, 0o644))
	inc, err := Open([]string{p}, Options{})
	require.NoError(t, err)
	require.Len(t, inc.Captures, 1)
	assert.Equal(t, p+"//ok.pcap", inc.Captures[0].Path)
	assert.Len(t, inc.Problems, 2)
	_, err = os.Stat(filepath.Join(dir, "..", "..", "escape.pcap"))
	assert.True(t, os.IsNotExist(err), "nothing is ever written")

	// A gzip bomb: 64 MiB of zeros compress to ~64 KB.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "big.pcap", Size: 64 << 20, Mode: 0o644}))
	_, err = tw.Write(make([]byte, 64<<20))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	bomb := filepath.Join(dir, "bomb.tgz")
	require.NoError(t, os.WriteFile(bomb, buf.Bytes(), 0o644))
	_, err = Open([]string{bomb}, Options{Limits: Limits{MaxMemberBytes: 1 << 20}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than 1048576")
}

// TestNonRegular: a FIFO is reported, never opened (opening one blocks
// until a writer comes); a symlinked node directory is followed; a symlink
// loop is reported once, not walked forever; an unreadable capture is a
// problem, not silence.
func TestNonRegular(t *testing.T) {
	a := readFile(t, filepath.Join(lab, "node-1", "poda-eth0.pcap"))
	dir := t.TempDir()
	real := filepath.Join(t.TempDir(), "n1")
	require.NoError(t, os.Mkdir(real, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(real, "eth0.pcap"), a, 0o644))
	require.NoError(t, os.Symlink(real, filepath.Join(dir, "node-1")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "node-2"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "node-2", "live.pcap"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-2", "eth0.pcap"), a, 0o644))
	require.NoError(t, os.Symlink("..", filepath.Join(dir, "node-2", "loop")))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"node-1", "node-2"}, nodesOf(inc.Captures))
	joined := strings.Join(inc.Problems, "\n")
	assert.Contains(t, joined, "live.pcap: not a regular file")
	assert.Contains(t, joined, "symlink loop")

	// A FIFO given by name.
	_, err = Open([]string{filepath.Join(dir, "node-2", "live.pcap")}, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")

	if os.Geteuid() != 0 {
		locked := filepath.Join(dir, "node-2", "locked.pcap")
		require.NoError(t, os.WriteFile(locked, a, 0o000))
		inc, err = Open([]string{dir}, Options{})
		require.NoError(t, err)
		assert.Contains(t, strings.Join(inc.Problems, "\n"), "locked.pcap")
	}
}

// TestNotACapture: a file named as a capture that is none (empty, as a
// tcpdump killed before its first flush leaves it, or another format) is an
// input problem naming the file, not silence; other files are metadata.
func TestNotACapture(t *testing.T) {
	a := readFile(t, filepath.Join(lab, "node-1", "poda-eth0.pcap"))
	dir := t.TempDir()
	n1 := filepath.Join(dir, "node-1")
	require.NoError(t, os.Mkdir(n1, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "eth0.pcap"), a, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "cni0.pcap"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "flannel.1.pcapng.gz"), []byte("not gzip"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "notes.txt"), nil, 0o644))
	// Compressed with what hoptrace reads, but cut short: said so;
	// compressed with what it does not read: said, with the way out.
	require.NoError(t, os.WriteFile(filepath.Join(n1, "veth0.pcap.zst"), []byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x10}, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(n1, "veth1.pcap.xz"), []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4}, 0o644))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	require.Len(t, inc.Captures, 1)
	require.Len(t, inc.Problems, 4, "%v", inc.Problems)
	assert.Contains(t, inc.Problems[0], filepath.Join(n1, "cni0.pcap")+": not a pcap or pcapng capture, although named as one: an empty file")
	assert.Contains(t, inc.Problems[1], filepath.Join(n1, "flannel.1.pcapng.gz")+": not a pcap or pcapng capture, although named as one: it starts with 6e 6f 74 20")
	assert.Contains(t, inc.Problems[2], filepath.Join(n1, "veth0.pcap.zst")+": compressed with zstd, which does not decompress: unexpected EOF")
	assert.Contains(t, inc.Problems[3], filepath.Join(n1, "veth1.pcap.xz")+": compressed with xz, which hoptrace does not read: decompress it first (xz -d)")
}

// TestModifiedPcapIsACapture: a modified (Kuznetzov) pcap, which
// tcpdump and tshark read and decode declines, is taken as a capture, so
// that what the user reads is decode's refusal with the way to convert it
// (editcap), not "not a pcap or pcapng capture".
func TestModifiedPcapIsACapture(t *testing.T) {
	dir := t.TempDir()
	n1 := filepath.Join(dir, "node-1")
	require.NoError(t, os.Mkdir(n1, 0o755))
	hdr := []byte{0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0}
	require.NoError(t, os.WriteFile(filepath.Join(n1, "eth0.pcap"), hdr, 0o644))

	inc, err := Open([]string{dir}, Options{})
	require.NoError(t, err)
	assert.Empty(t, inc.Problems)
	require.Len(t, inc.Captures, 1)
	assert.Equal(t, filepath.Join(n1, "eth0.pcap"), inc.Captures[0].Path)
}

// labWithLinks copies the lab scenario's node captures with each node's ip
// -j link output (from the lab's truth) saved beside them, as a user would.
func labWithLinks(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for n, short := range map[string]string{"node-1": "n1", "node-2": "n2"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, n), 0o755))
		files, _ := filepath.Glob(filepath.Join(lab, n, "*.pcap"))
		for _, f := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, n, filepath.Base(f)), readFile(t, f), 0o644))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, n, "ip-link.json"), readFile(t, filepath.Join(lab, "truth", short+"-ip-link.json")), 0o644))
	}
	return dir
}

// TestAliasesMerged: with the nodes' ip -j link beside the captures, the -i
// any capture and the per-interface captures of the same interfaces give
// paths with each interface once, named by the interface, with no 0 ns
// rows between an interface and itself; and the path is the lab's truth.
func TestAliasesMerged(t *testing.T) {
	inc, err := Open([]string{labWithLinks(t)}, Options{})
	require.NoError(t, err)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	assert.Zero(t, res.InputProblems, "%v", res.Warnings)
	want := []string{"poda-eth0", "veth-pod-a", "node-1/cni0", "node-1/flannel.1", "node-1/eth0", "node-2/eth0", "node-2/flannel.1", "node-2/cni0", "veth-pod-c", "podc-eth0"}
	require.NotEmpty(t, res.Paths)
	for _, p := range res.Paths {
		if p.Proto != analyze.ProtoTCP {
			continue
		}
		hops := p.Hops
		if p.Direction == analyze.DirReply {
			hops = slices.Clone(hops)
			slices.Reverse(hops)
		}
		assert.Equal(t, want, hops, "%v %s", p.Flow, p.Direction)
	}
	for _, h := range res.Hops {
		assert.NotEqual(t, h.From, h.To)
		assert.False(t, h.MaxNS == 0 && h.Packets > 1, "0 ns alias row %s > %s", h.From, h.To)
	}
	for _, c := range res.Captures {
		assert.NotContains(t, c.Hop, ":if", "every interface named")
		if strings.HasSuffix(c.Hop, "eth0") && strings.HasPrefix(c.Hop, "node-") {
			assert.Len(t, c.AlsoFiles, 1, "the -i any capture is evidence too")
		}
	}
	assert.Len(t, res.Captures, 12)
}

// TestIfNameFlag: --ifname names an -i any capture's interfaces by hand,
// and merges one with the per-interface capture of that name.
func TestIfNameFlag(t *testing.T) {
	inc, err := Open([]string{lab}, Options{IfNames: []string{"node-1:2=eth0", "node-1:4=veth-pod-a"}})
	require.NoError(t, err)
	res, err := analyze.Analyze(inc.Captures, analyze.Options{})
	require.NoError(t, err)
	var hops []string
	for _, c := range res.Captures {
		hops = append(hops, c.Hop)
	}
	assert.Contains(t, hops, "veth-pod-a")
	// n1-veth-pod-a.pcap beside n1-any.pcap is interface veth-pod-a of
	// that node: one hop.
	assert.NotContains(t, hops, "n1-veth-pod-a")
	assert.NotContains(t, hops, "n1-any:if4")
	// Interface 3 (cni0) is named by its own capture, whose data says it
	// is that one (an index nobody names keeps its index: the realistic
	// incident's lo, "n1-any:if1", TestLiveAliasNames).
	assert.Contains(t, hops, "n1-cni0")
	assert.NotContains(t, hops, "n1-any:if3")
	_, err = Open([]string{lab}, Options{IfNames: []string{"node-1:x=eth0"}})
	assert.Error(t, err)
	_, err = Open([]string{lab}, Options{IfNames: []string{"node-9:2=eth0"}})
	assert.Error(t, err)
}
