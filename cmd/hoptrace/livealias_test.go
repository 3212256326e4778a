package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLiveAliasNames: the realistic incident as users hand it over, each
// node's -i any capture beside per-interface captures and no interface
// list, analyses as it does with the nodes' `ip -j link` saved beside
// them (the lab's, from truth/), but for the names of the hops: the same
// capture points with the same packets, the same drops between the same
// interfaces, the same flows, clocks and verdict. Before the interfaces
// were joined by their outgoing frames (incident's aliasLive), 7 of its
// 21 capture points were the -i any capture's second view of an interface
// ("n1-any:if4" beside "n1-veth-pod-a"). An interface nothing else
// captured keeps the -i any capture's index (lo: "n1-any:if1").
func TestLiveAliasNames(t *testing.T) {
	plain := analysisJSON(t, realisticVXLAN)
	dir := realisticCopy(t)
	for _, n := range []string{"1", "2"} {
		b, err := os.ReadFile(filepath.Join(dir, "truth", "n"+n+"-ip-link.json"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "node-"+n, "ip-link.json"), b, 0o644))
	}
	named := analysisJSON(t, dir)

	// A hop's name in each, by the file it is read from.
	byFile := func(v map[string]any) map[string]string {
		m := map[string]string{}
		for _, c := range v["captures"].([]any) {
			c := c.(map[string]any)
			m[c["node"].(string)+"/"+filepath.Base(c["file"].(string))] = c["hop"].(string)
		}
		return m
	}
	pf, nf := byFile(plain), byFile(named)
	require.Len(t, pf, len(nf))
	rename := map[string]string{} // named's hop -> plain's
	for f, h := range nf {
		require.Contains(t, pf, f)
		rename[h] = pf[f]
	}
	assert.Equal(t, "n1-any:if1", rename["lo"])
	assert.Equal(t, "n1-veth-pod-a", rename["veth-pod-a"])
	assert.Equal(t, "n1-cni0", rename["node-1/cni0"])
	packets := func(v map[string]any, names map[string]string) []string {
		var out []string
		for _, c := range v["captures"].([]any) {
			c := c.(map[string]any)
			h := c["hop"].(string)
			if names != nil {
				h = names[h]
			}
			out = append(out, h+"="+jsonNumber(c["packets"]))
		}
		slices.Sort(out)
		return out
	}
	assert.Equal(t, packets(named, rename), packets(plain, nil))
	drops := func(v map[string]any, names map[string]string) []any {
		var out []any
		for _, d := range v["drops"].([]any) {
			d := d.(map[string]any)
			if names != nil {
				d["from"], d["to"] = names[d["from"].(string)], names[d["to"].(string)]
			}
			out = append(out, d)
		}
		return out
	}
	require.NotEmpty(t, plain["drops"])
	assert.Equal(t, drops(named, rename), drops(plain, nil))
	assert.Equal(t, untimed(named), untimed(plain))
	assert.Equal(t, named["clocks"], plain["clocks"])
	assert.Equal(t, named["verdict"].(map[string]any)["summary"], plain["verdict"].(map[string]any)["summary"])
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestLiveAliasOneDirection: a per-interface capture of one direction only
// (tcpdump -Q out, here node-1's eth0 capture cut down to the frames
// leaving with eth0's own address) holds every frame the -i any capture
// saw leave by eth0 at the same instant, but none of those that came in:
// joined to it, the -i any capture's incoming eth0 frames were read from
// it while it ran, that is not at all, and the replies' paths skipped
// node-1's eth0. It is not joined: its own hop beside "n1-any:if2", the
// drops of the whole incident.
func TestLiveAliasOneDirection(t *testing.T) {
	plain := analysisJSON(t, realisticVXLAN)
	dir := realisticCopy(t)
	p := filepath.Join(dir, "node-1", "n1-eth0.pcap")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	out := append([]byte{}, b[:24]...)
	kept, all := 0, 0
	for _, rec := range pcapRecords(t, b) {
		all++
		if bytes.Equal(rec[16+6:16+12], []byte{0x02, 0x00, 0xc0, 0xa8, 0x01, 0x0a}) {
			out = append(out, rec...)
			kept++
		}
	}
	require.True(t, kept > 0 && kept < all, "%d of %d frames leave", kept, all)
	require.NoError(t, os.WriteFile(p, out, 0o644))
	code, _, stderr := hoptrace(t, "analyze", "-o", "json", dir)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "n1-eth0.pcap=2")
	got := analysisJSON(t, dir)
	hops := map[string]bool{}
	for _, c := range got["captures"].([]any) {
		hops[c.(map[string]any)["hop"].(string)] = true
	}
	assert.True(t, hops["n1-any:if2"] && hops["n1-eth0"], "%v", hops)
	assert.Equal(t, noHops(plain), noHops(got))
	// Packets coming in to node-1 are still seen at its eth0 (joined,
	// the replies' paths went from n2-eth0 straight to n1-flannel.1).
	for _, p := range got["paths"].([]any) {
		p := p.(map[string]any)
		if p["direction"] == "reply" && p["flow"].(map[string]any)["dport"] == float64(8080) {
			assert.Contains(t, p["hops"], "n1-any:if2", "%v", p["hops"])
		}
	}
}
