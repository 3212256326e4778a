package analyze_test

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoptrace/hoptrace/decode"
	"github.com/hoptrace/hoptrace/incident"
)

// TestLabLiveAlias holds the joining of a node's per-interface captures to
// its -i any capture's interfaces, with no interface list saved beside
// them (incident's aliasByData and aliasLive), against the interface
// indexes the lab recorded (ip -j link, in truth/): each per-interface
// capture of one of the node's interfaces ("n1-cni0.pcap") is joined to
// that interface's index, and to nothing else; the pods' captures
// (another namespace's interfaces: "poda-eth0.pcap") to none. Before the
// live join, only captures whose every packet had the -i any capture's
// very time stamp were joined: in the realistic incident 2 of 9, the
// others a second hop each ("n1-any:if4" beside "n1-veth-pod-a", "100
// packets n1-any:if4 > n1-any:if3" in its hop pairs).
func TestLabLiveAlias(t *testing.T) {
	for _, dir := range labScenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			inc, err := incident.Open([]string{dir}, incident.Options{})
			require.NoError(t, err)
			joined := map[string]int32{} // per-interface file: the index it was joined to
			for _, c := range inc.Captures {
				for _, sh := range c.Shadows {
					joined[filepath.Base(sh.By)] = sh.IfIndex
				}
			}
			checked, pods := 0, 0
			for _, c := range inc.Captures {
				base := filepath.Base(c.Path)
				prefix, ifname, ok := strings.Cut(strings.TrimSuffix(base, ".pcap"), "-")
				if !ok || ifname == "any" {
					continue
				}
				anys, _ := filepath.Glob(filepath.Join(filepath.Dir(c.Path), "*-any.pcap"))
				if len(anys) != 1 {
					continue // no -i any capture beside it
				}
				if node := strings.TrimSuffix(filepath.Base(anys[0]), "-any.pcap"); prefix != node {
					// A pod's capture: its namespace is not the node's.
					assert.NotContains(t, joined, base, "a pod's interface is none of %s's", node)
					pods++
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, "truth", prefix+"-ip-link.json"))
				require.NoError(t, err)
				links := map[string]int32{}
				var ls []struct {
					Index int32  `json:"ifindex"`
					Name  string `json:"ifname"`
				}
				require.NoError(t, json.Unmarshal(b, &ls))
				for _, l := range ls {
					links[l.Name] = l.Index
				}
				want, ok := links[ifname]
				if !ok {
					assert.NotContains(t, joined, base, "not an interface of the node")
					continue
				}
				if idx, ok := joined[base]; ok {
					assert.Equal(t, want, idx, "%s: joined to the wrong interface", base)
				}
				if sent := outgoing(t, filepath.Join(filepath.Dir(c.Path), prefix+"-any.pcap"), want); sent == 0 {
					// Without an outgoing frame (nodeport-snat's node-2
					// cni0 carries only pod C's own multicast, 15 frames
					// in) nothing shows the stamps are one socket's call.
					t.Logf("%s: the -i any capture sent nothing on interface %d", base, want)
					continue
				}
				checked++
				assert.Contains(t, joined, base, "%s: a capture of %s's interface %d", base, prefix, want)
			}
			t.Logf("%d per-interface captures checked, %d pods' left apart", checked, pods)
		})
	}
}

// outgoing counts the frames a Linux cooked v2 capture saw leave by
// interface idx.
func outgoing(t *testing.T, path string, idx int32) int {
	f, err := decode.Open(path)
	require.NoError(t, err)
	defer f.Close()
	n := 0
	for {
		data, m, err := f.Next()
		if err != nil {
			return n
		}
		if m.Link == decode.LinkSLL2 && len(data) >= 20 && int32(binary.BigEndian.Uint32(data[4:8])) == idx && data[10] == 4 {
			n++
		}
	}
}
