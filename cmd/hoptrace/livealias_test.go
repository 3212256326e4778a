package main

import (
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
	dir := filepath.Join(t.TempDir(), "realistic-vxlan")
	require.NoError(t, os.CopyFS(dir, os.DirFS(realisticVXLAN)))
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
