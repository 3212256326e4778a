package main

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoptrace/hoptrace/internal/labtruth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toCookedV1 rewrites a little-endian Linux cooked v2 pcap as tcpdump
// before 4.99 writes an -i any capture: Linux cooked v1 (link type 113),
// whose 16-byte header keeps the packet type, ARPHRD type and link address
// and drops the interface index. Checked against tcpdump 4.99 itself,
// capturing -i any in a namespace with a bridge and a veth with -y
// LINUX_SLL and -y LINUX_SLL2 at once: the v2 file so rewritten held the
// v1 file's 41 frames byte for byte.
func toCookedV1(t *testing.T, file []byte) []byte {
	t.Helper()
	out := append([]byte{}, file[:24]...)
	require.Equal(t, uint32(276), binary.LittleEndian.Uint32(out[20:]), "not Linux cooked v2")
	binary.LittleEndian.PutUint32(out[20:], 113)
	for _, rec := range pcapRecords(t, file) {
		hdr, f := rec[:16], rec[16:]
		require.GreaterOrEqual(t, len(f), 20)
		var h [16]byte
		binary.BigEndian.PutUint16(h[0:], uint16(f[10])) // packet type
		copy(h[2:4], f[8:10])                            // ARPHRD type
		binary.BigEndian.PutUint16(h[4:], uint16(f[11])) // address length
		copy(h[6:14], f[12:20])                          // address
		copy(h[14:16], f[0:2])                           // protocol
		r := append([]byte{}, hdr...)
		binary.LittleEndian.PutUint32(r[8:], binary.LittleEndian.Uint32(hdr[8:])-4)
		binary.LittleEndian.PutUint32(r[12:], binary.LittleEndian.Uint32(hdr[12:])-4)
		out = append(append(append(out, r...), h[:]...), f[20:]...)
	}
	return out
}

// noHops returns the drops of an analysis without the hops they are
// between, which a cooked v1 capture names otherwise.
func noHops(v map[string]any) []any {
	var out []any
	for _, d := range v["drops"].([]any) {
		d := maps.Clone(d.(map[string]any))
		delete(d, "from")
		delete(d, "to")
		out = append(out, d)
	}
	return out
}

// untimed returns the flows of an analysis without their first and last
// packets' times, which move by the clock estimate's nanoseconds when
// other capture points give it its samples.
func untimed(v map[string]any) []any {
	var out []any
	for _, f := range v["flows"].([]any) {
		f := maps.Clone(f.(map[string]any))
		delete(f, "first_ns")
		delete(f, "last_ns")
		out = append(out, f)
	}
	return out
}

// TestCookedV1AnyCaptures: the realistic incident's -i any captures as
// tcpdump 4.9 writes them (Linux cooked v1: no interface index; each
// packet once per interface it crossed). Read as one capture point each
// beside the per-interface captures they made 461 false drops; now, split
// as below, the same drops, flows and verdict as the incident without
// them, each drop between the same two interfaces (before their outgoing
// frames were joined to the per-interface captures, the kernel's TTL
// drops were placed before "n1-any:out 0e:00:0a:f4:00:00", flannel.1 seen
// again under another name). Alone on their nodes, read as one capture point each, they
// made 203 false drops, 144 retransmissions that were none and no clock
// estimate; now their frames are told apart by direction and link address
// (a bridge and its port one, read once), and the analysis finds what the
// same captures in Linux cooked v2 give: the same flows (packets,
// retransmissions), clock offset and samples, drops and verdict, at hops
// named by address ("n1-any:in from 0a:58:0a:f4:00:05", "n1-any:eth0 out").
// Beside the pods' own captures alone, the same as their cooked v2 twins
// beside them (left out there at first, they took every hop but the pods').
func TestCookedV1AnyCaptures(t *testing.T) {
	copyOf := func(t *testing.T) string {
		dir := realisticCopy(t)
		return dir
	}
	anys := []string{filepath.Join("node-1", "n1-any.pcap"), filepath.Join("node-2", "n2-any.pcap")}

	without := copyOf(t)
	for _, a := range anys {
		require.NoError(t, os.Remove(filepath.Join(without, a)))
	}
	want := analysisJSON(t, without)

	dir := copyOf(t)
	for _, a := range anys {
		p := filepath.Join(dir, a)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, toCookedV1(t, b), 0o644))
	}
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	for _, a := range anys {
		assert.Contains(t, stderr, filepath.Join(dir, a)+" is an -i any capture in Linux cooked v1 (tcpdump before 4.99)")
	}
	beside := analysisJSON(t, dir)
	// Its outgoing frames are joined to the per-interface captures that
	// hold them at the same instants: the drops are placed between the
	// same interfaces, and only some of its incoming points ("in from …",
	// whose interface a cooked v1 header does not say) are points of
	// their own.
	assert.Equal(t, want["drops"], beside["drops"], "drops beside the per-interface captures")
	for _, c := range beside["captures"].([]any) {
		hop := c.(map[string]any)["hop"].(string)
		assert.NotRegexp(t, `-any:(out |\S+ out$)`, hop, "an outgoing point not joined")
	}
	assert.Equal(t, untimed(want), untimed(beside), "flows beside the per-interface captures")
	assert.Equal(t, want["verdict"].(map[string]any)["summary"], beside["verdict"].(map[string]any)["summary"])

	// Nothing but the -i any captures: cooked v2 as the lab wrote them,
	// and cooked v1.
	only := func(t *testing.T, from string) string {
		out := filepath.Join(t.TempDir(), "alone")
		for _, a := range anys {
			require.NoError(t, os.MkdirAll(filepath.Join(out, filepath.Dir(a)), 0o755))
			b, err := os.ReadFile(filepath.Join(from, a))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(out, a), b, 0o644))
		}
		return out
	}
	v2 := analysisJSON(t, only(t, realisticVXLAN))
	alone := only(t, dir)
	code, _, stderr = hoptrace(t, "analyze", "-o", "json", alone)
	require.Equal(t, 0, code, stderr)
	for _, a := range anys {
		assert.Contains(t, stderr, filepath.Join(alone, a)+" is an -i any capture in Linux cooked v1 (tcpdump before 4.99)")
	}
	v1 := analysisJSON(t, alone)
	assert.Equal(t, v2["flows"], v1["flows"])
	withPods := func(t *testing.T, from string) map[string]any {
		out := only(t, from)
		for _, p := range []string{filepath.Join("node-1", "poda-eth0.pcap"), filepath.Join("node-2", "podc-eth0.pcap")} {
			b, err := os.ReadFile(filepath.Join(realisticVXLAN, p))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(out, p), b, 0o644))
		}
		return analysisJSON(t, out)
	}
	podsV2, podsV1 := withPods(t, realisticVXLAN), withPods(t, dir)
	assert.Equal(t, noHops(podsV2), noHops(podsV1), "drops beside the pods' captures")
	assert.Equal(t, podsV2["flows"], podsV1["flows"], "flows beside the pods' captures")
	assert.Len(t, podsV1["captures"], len(v1["captures"].([]any))+2, "capture points beside the pods' captures")
	assert.Equal(t, v2["clocks"], v1["clocks"])
	assert.Equal(t, v2["verdict"].(map[string]any)["summary"], v1["verdict"].(map[string]any)["summary"])
	require.NotEmpty(t, noHops(v2))
	assert.Equal(t, noHops(v2), noHops(v1))
	// hoptrace merge writes each of those capture points as an interface
	// of its own, each packet once: the merged file analyses alike.
	merged := filepath.Join(t.TempDir(), "merged.pcapng")
	code, _, stderr = hoptrace(t, "merge", "--out", merged, alone)
	require.Equal(t, 0, code, stderr)
	mv := analysisJSON(t, merged)
	assert.Equal(t, noHops(v2), noHops(mv), "drops of the merged file")
	assert.Equal(t, v2["verdict"].(map[string]any)["summary"], mv["verdict"].(map[string]any)["summary"])
	assert.Len(t, mv["captures"], len(v1["captures"].([]any)), "capture points of the merged file")

	hops := map[string]bool{}
	for _, c := range v1["captures"].([]any) {
		hops[c.(map[string]any)["hop"].(string)] = true
	}
	assert.True(t, hops["n1-any:in from 0a:58:0a:f4:00:05"], "pod A's frames into node-1: %v", hops)

	// Beside the per-interface captures, a joined point says what the -i
	// any capture's frames were called alone (also_points), as baselines
	// written then call them: flannel.1's outgoing frames, say.
	also := map[string][]any{}
	for _, c := range beside["captures"].([]any) {
		c := c.(map[string]any)
		if a, ok := c["also_points"].([]any); ok {
			also[c["hop"].(string)] = a
			for _, p := range a {
				assert.True(t, hops[p.(string)], "%s: also %s, a point of the -i any captures alone", c["hop"], p)
			}
		}
	}
	assert.Contains(t, also["n1-flannel.1"], "n1-any:out 0e:00:0a:f4:00:00", "%v", also)
	assert.Contains(t, also["n2-eth0"], "n2-any:out 02:00:c0:a8:01:0b", "%v", also)
	// Frames coming in from pods A and B are their veths', where node-1's
	// bridge learnt their addresses (truth: bridge fdb show), not a hop
	// of their own between each pod and its veth.
	ports := labtruth.PortsByMAC(t, realisticVXLAN, "n1")
	require.Len(t, ports, 2, "pods A and B on node-1's bridge")
	for mac, port := range ports {
		assert.Contains(t, also["n1-"+port], "n1-any:in from "+mac, "%v", also)
	}

	// With the nodes' ip -j link saved, outgoing frames name their
	// interface.
	for _, n := range []string{"1", "2"} {
		b, err := os.ReadFile(filepath.Join(realisticVXLAN, "truth", "n"+n+"-ip-link.json"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(alone, "node-"+n, "ip-link.json"), b, 0o644))
	}
	named := analysisJSON(t, alone)
	hops = map[string]bool{}
	for _, c := range named["captures"].([]any) {
		hops[c.(map[string]any)["hop"].(string)] = true
	}
	for _, h := range []string{"n1-any:eth0 out", "n1-any:flannel.1 out", "n1-any:cni0 out", "n2-any:eth0 out"} {
		assert.True(t, hops[h], "%s in %v", h, hops)
	}
	assert.Equal(t, v2["flows"], named["flows"])
}

// TestCookedV1NamedInterface: a Linux cooked v1 pcapng file whose
// interface description names one interface (eth0) is that interface's
// capture, not an -i any one, however many link addresses its outgoing
// frames carry. gopacket's linux_sll_oversized_addr.pcapng (eth0,
// anonymised by TraceWrangler, which garbled 11 outgoing frames' sender
// addresses: tshark shows 170 outgoing frames from a6:58:43:f2:48:06 and
// one or two from each of 11 others) was split by address into 14 capture
// points, with 157 false drops of its one TCP connection between them.
func TestCookedV1NamedInterface(t *testing.T) {
	path := corpusFile(t, "gopacket__linux_sll_oversized_addr.pcapng")
	code, stdout, stderr := hoptrace(t, "analyze", "-o", "json", path)
	require.Equal(t, 1, code, "13 of its 209 packets are malformed: %s", stderr)
	assert.NotContains(t, stderr, "Linux cooked v1 (tcpdump before 4.99)")
	var v struct {
		Drops    []any `json:"drops"`
		Captures []struct {
			Hop     string `json:"hop"`
			Packets int    `json:"packets"`
		} `json:"captures"`
		Verdict struct {
			Summary string `json:"summary"`
		} `json:"verdict"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &v))
	assert.Empty(t, v.Drops)
	require.Len(t, v.Captures, 1)
	assert.Equal(t, "eth0", v.Captures[0].Hop)
	assert.Equal(t, 209, v.Captures[0].Packets, "capinfos: 209 packets")
	assert.NotContains(t, v.Verdict.Summary, "dropped")
}
