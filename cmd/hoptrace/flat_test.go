package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flatCopy copies the named captures of the realistic lab incident into
// one folder, as a user who ran tcpdump -i any on each node and gathered
// the files would have them.
func flatCopy(t *testing.T, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pile")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(realisticVXLAN, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644))
	}
	return dir
}

// realisticCopy copies the realistic lab incident to a temporary
// directory, to change.
func realisticCopy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "realistic-vxlan")
	require.NoError(t, os.CopyFS(dir, os.DirFS(realisticVXLAN)))
	return dir
}

// treeCopy copies files of the realistic incident into a folder per node,
// each named as the pile's split names it (node-1's n1).
func treeCopy(t *testing.T, files ...string) string {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "tree")
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(realisticVXLAN, f))
		require.NoError(t, err)
		node := map[string]string{"node-1": "n1", "node-2": "n2"}[filepath.Dir(f)]
		require.NotEmpty(t, node, f)
		require.NoError(t, os.MkdirAll(filepath.Join(tree, node), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, node, filepath.Base(f)), b, 0o644))
	}
	return tree
}

// TestPileOfAnyCaptures: the -i any captures of two nodes in one folder
// are two nodes' (they ran at the same time, and stamped no packet alike
// as one node's captures would), each named after its file: the analysis
// is the one of the same files in a folder per node, node-2's clock found
// 2.5 s behind. Read as one node, with one clock, the pile made 3 false
// drops between the nodes and 130 packets "missed by a capture".
func TestPileOfAnyCaptures(t *testing.T) {
	pile := flatCopy(t, "node-1/n1-any.pcap", "node-2/n2-any.pcap")
	want := analysisJSON(t, treeCopy(t, "node-1/n1-any.pcap", "node-2/n2-any.pcap"))

	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", pile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "pile: its -i any captures ran at the same time and stamped no packet alike, as no two captures of one node do: taken as 2 nodes, n1 (n1-any.pcap); n2 (n2-any.pcap)")
	assert.Contains(t, stdout, "n2's clock is 2.50s behind n1")
	assert.NotContains(t, stdout, "missed by a capture")
	assert.Equal(t, want, analysisJSON(t, pile))
}

// TestPileWithPodCaptures: the same pile with the pods' own captures,
// named after no -i any capture ("poda-eth0.pcap"): each is its node's by
// its packets, which that node's -i any capture holds byte for byte from
// the network layer at the host's end of the pod's veth, stamped within a
// millisecond (ownerByPackets). Before, the pile could not be split and
// was read as one node: an input problem. The analysis is the one of the
// same files in a folder per node.
func TestPileWithPodCaptures(t *testing.T) {
	files := []string{"node-1/n1-any.pcap", "node-2/n2-any.pcap", "node-1/poda-eth0.pcap", "node-2/podc-eth0.pcap"}
	pile := flatCopy(t, files...)
	want := analysisJSON(t, treeCopy(t, files...))
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", pile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "taken as 2 nodes, n1 (n1-any.pcap, poda-eth0.pcap); n2 (n2-any.pcap, podc-eth0.pcap)")
	assert.Equal(t, want, analysisJSON(t, pile))
}

// TestPileWithStrangerCapture: a capture in the pile whose packets no -i
// any capture holds (another incident's) belongs to no node by name or by
// packets: the pile is read as one node, and the run says why its
// cross-node results cannot be trusted and how to lay the files out (exit
// 1: an input problem).
func TestPileWithStrangerCapture(t *testing.T) {
	pile := flatCopy(t, "node-1/n1-any.pcap", "node-2/n2-any.pcap")
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "captures", "cross-vxlan", "node-1", "poda-eth0.pcap"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(pile, "other-eth0.pcap"), b, 0o644))
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", pile)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "pile: holds the -i any captures of several nodes (n1-any.pcap, n2-any.pcap ran at the same time and stamped no packet alike")
	assert.Contains(t, stderr, "put each node's captures in a folder of its own, or name them with --node")
}

// TestOneNodeTwoAnyCaptures: two -i any captures of one node (here one
// capture under two names) stamp every packet they share alike: they are
// one node's, and not split.
func TestOneNodeTwoAnyCaptures(t *testing.T) {
	pile := flatCopy(t, "node-1/n1-any.pcap")
	b, err := os.ReadFile(filepath.Join(pile, "n1-any.pcap"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(pile, "second-any.pcap"), b, 0o644))
	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", pile)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "taken as 2 nodes")
	assert.NotContains(t, stderr, "several nodes")
	var res struct {
		Captures []struct{ Node string } `json:"captures"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.NotEmpty(t, res.Captures)
	for _, c := range res.Captures {
		assert.Equal(t, "pile", c.Node)
	}
}

// TestOneNodeLateSecondCapture: a node's -i any capture and, started
// halfway through it, a capture of its eth0 in the same cooked format
// (tcpdump -i eth0 -y LINUX_SLL2) stamp eth0's packets alike: one node's,
// compared from the moment the later one started, and not split.
func TestOneNodeLateSecondCapture(t *testing.T) {
	pile := flatCopy(t, "node-1/n1-any.pcap")
	b, err := os.ReadFile(filepath.Join(pile, "n1-any.pcap"))
	require.NoError(t, err)
	recs := pcapRecords(t, b)
	eth0 := append([]byte{}, b[:24]...)
	for _, rec := range recs[len(recs)/2:] {
		if binary.BigEndian.Uint32(rec[16+4:]) == 2 { // SLL2 interface index 2: eth0
			eth0 = append(eth0, rec...)
		}
	}
	require.Greater(t, len(eth0), 24+16*16, "eth0's packets in the second half")
	require.NoError(t, os.WriteFile(filepath.Join(pile, "n1-eth0-sll2.pcap"), eth0, 0o644))

	code, _, stderr := hoptrace(t, "analyze", "-o", "json", pile)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "taken as 2 nodes")
	assert.NotContains(t, stderr, "several nodes")
}

// TestPodCapturesInFolders: a pod's capture named after its interface in a
// folder of its node (poda/eth0.pcap, as kubectl debug or ksniff users
// save them) beside the node's own eth0.pcap is a capture point of its
// own, "poda/eth0": the analysis is the one of the same files named
// poda-eth0.pcap beside the node's. One hop "eth0", the pod's packets and
// the node's were mixed: 3 capture points where there are 5.
func TestPodCapturesInFolders(t *testing.T) {
	layout := func(files map[string]string) string {
		dir := filepath.Join(t.TempDir(), "incident")
		for dst, src := range files {
			b, err := os.ReadFile(filepath.Join(realisticVXLAN, src))
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, dst)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, dst), b, 0o644))
		}
		return dir
	}
	node := map[string]string{"node-1/eth0.pcap": "node-1/n1-eth0.pcap", "node-1/cni0.pcap": "node-1/n1-cni0.pcap", "node-2/eth0.pcap": "node-2/n2-eth0.pcap"}
	with := func(pods map[string]string) map[string]string {
		m := maps.Clone(node)
		maps.Copy(m, pods)
		return m
	}
	folders := layout(with(map[string]string{"node-1/poda/eth0.pcap": "node-1/poda-eth0.pcap", "node-2/podc/eth0.pcap": "node-2/podc-eth0.pcap"}))
	named := layout(with(map[string]string{"node-1/poda-eth0.pcap": "node-1/poda-eth0.pcap", "node-2/podc-eth0.pcap": "node-2/podc-eth0.pcap"}))
	report := func(dir string, pairs ...string) string {
		code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", dir)
		require.Equal(t, 0, code, stderr)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &v))
		delete(v, "warnings")
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return strings.NewReplacer(append([]string{dir, "D"}, pairs...)...).Replace(string(b))
	}
	code, stdout, stderr := hoptrace(t, "analyze", folders)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "5 capture points on 2 nodes")
	assert.Contains(t, stderr, "node-1: captures named alike in different folders are different capture points: "+filepath.Join(folders, "node-1", "poda", "eth0.pcap")+" as poda/eth0")
	assert.JSONEq(t, report(named),
		report(folders, "poda/eth0", "poda-eth0", "podc/eth0", "podc-eth0", "node-1/eth0.pcap +", "eth0.pcap +", "node-2/eth0.pcap +", "eth0.pcap +"))
}

// toPcapNG converts a pcap file to pcapng (as editcap and mergecap write
// by default), its link type and nanosecond time stamps kept.
func toPcapNG(t *testing.T, pcap []byte) []byte {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: r.LinkType(), SnapLength: r.Snaplen(), TimestampResolution: 9}, pcapgo.NgWriterOptions{})
	require.NoError(t, err)
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		require.NoError(t, w.WritePacket(ci, data))
	}
	require.NoError(t, w.Flush())
	return buf.Bytes()
}

// TestPileOfAnyCapturesPcapNG: the same pile converted to pcapng, the
// -i any captures' link type in their interface blocks: the same split,
// the same analysis. An -i any capture in pcapng was not taken for one
// (its interfaces are known only once its blocks are read), and the pile
// stayed one node: 3 false drops, 130 packets missed by a capture.
func TestPileOfAnyCapturesPcapNG(t *testing.T) {
	pcaps := flatCopy(t, "node-1/n1-any.pcap", "node-2/n2-any.pcap")
	want := analysisJSON(t, pcaps)
	pile := filepath.Join(t.TempDir(), "pile")
	require.NoError(t, os.Mkdir(pile, 0o755))
	for _, n := range []string{"n1-any", "n2-any"} {
		b, err := os.ReadFile(filepath.Join(pcaps, n+".pcap"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(pile, n+".pcapng"), toPcapNG(t, b), 0o644))
	}
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", pile)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "taken as 2 nodes, n1 (n1-any.pcapng); n2 (n2-any.pcapng)")
	assert.Equal(t, want, analysisJSON(t, pile))
}

// TestAnyCapturePcapNG: the bundled front-door incident with node-1's -i
// any capture converted to pcapng analyses as with the pcap: its
// interfaces named from the node's ip -j link output, each per-interface
// capture one hop with it. Taken for no -i any capture (its link type is
// known only once its interface block is read), it made 17 capture points
// and 492 packets where there are 12 and 351.
func TestAnyCapturePcapNG(t *testing.T) {
	const src = "../../testdata/incidents/front-door"
	want := analysisJSON(t, src)
	dir := filepath.Join(t.TempDir(), "front-door")
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	gz, err := os.Open(filepath.Join(dir, "node-1", "any.pcap.gz"))
	require.NoError(t, err)
	zr, err := gzip.NewReader(gz)
	require.NoError(t, err)
	pcap, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NoError(t, gz.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, "node-1", "any.pcap.gz")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node-1", "any.pcapng"), toPcapNG(t, pcap), 0o644))
	assert.Equal(t, want, analysisJSON(t, dir))
}
