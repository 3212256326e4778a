package incident

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Link is one interface of a node, as `ip -j link` or `ip -d -j addr show`
// lists it.
type Link struct {
	Index  int32
	Name   string
	Kind   string // linkinfo.info_kind: veth, bridge, vxlan, ipip, wireguard, ...
	Master string // the bridge it is a port of, if any
	MTU    int
	Addrs  []netip.Prefix // from addr_info (ip addr only)
	VNI    int            // linkinfo.info_data.id of a vxlan device, else 0
	Port   int            // linkinfo.info_data.port of a vxlan device, else 0
	MAC    string         // its link address ("0a:58:0a:f4:00:01"), if any
}

// ipLinkJSON is the part of one `ip -j link`/`ip -d -j addr show` element
// that is read.
type ipLinkJSON struct {
	IfIndex  *int32 `json:"ifindex"`
	IfName   string `json:"ifname"`
	MTU      int    `json:"mtu"`
	Master   string `json:"master"`
	Address  string `json:"address"`
	LinkInfo *struct {
		InfoKind string `json:"info_kind"`
		InfoData *struct {
			ID   int `json:"id"`
			Port int `json:"port"`
		} `json:"info_data"`
	} `json:"linkinfo"`
	AddrInfo []struct {
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

// parseLinks reads the interfaces of every JSON array in b that lists
// interfaces (elements with ifindex and ifname): a file holding only `ip -j
// link` output, or Retina's ip-resources.txt, whose JSON outputs are
// separated by text. ok is false when b lists none.
func parseLinks(b []byte) (links []Link, ok bool) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '[')
		if i < 0 {
			break
		}
		b = b[i:]
		dec := json.NewDecoder(bytes.NewReader(b))
		var arr []ipLinkJSON
		if err := dec.Decode(&arr); err != nil {
			b = b[1:]
			continue
		}
		b = b[dec.InputOffset():]
		for _, l := range arr {
			if l.IfIndex == nil || l.IfName == "" {
				continue
			}
			ok = true
			k := Link{Index: *l.IfIndex, Name: l.IfName, MTU: l.MTU, Master: l.Master, MAC: strings.ToLower(l.Address)}
			if l.LinkInfo != nil {
				k.Kind = l.LinkInfo.InfoKind
				if d := l.LinkInfo.InfoData; d != nil && k.Kind == "vxlan" {
					k.VNI, k.Port = d.ID, d.Port
				}
			}
			for _, a := range l.AddrInfo {
				if ad, err := netip.ParseAddr(a.Local); err == nil {
					k.Addrs = append(k.Addrs, netip.PrefixFrom(ad, a.PrefixLen))
				}
			}
			links = mergeLink(links, k)
		}
	}
	return links, ok
}

// mergeLink adds k to links, or completes the entry of the same index (an
// `ip link` and an `ip addr` list of the same node).
func mergeLink(links []Link, k Link) []Link {
	for i := range links {
		if links[i].Index == k.Index && links[i].Name == k.Name {
			l := &links[i]
			l.Kind = cmpOr(l.Kind, k.Kind)
			l.Master = cmpOr(l.Master, k.Master)
			l.MAC = cmpOr(l.MAC, k.MAC)
			l.MTU = max(l.MTU, k.MTU)
			l.VNI, l.Port = max(l.VNI, k.VNI), max(l.Port, k.Port)
			for _, a := range k.Addrs {
				if !containsPrefix(l.Addrs, a) {
					l.Addrs = append(l.Addrs, a)
				}
			}
			return links
		}
	}
	return append(links, k)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func containsPrefix(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// TcpdumpLog is what a tcpdump log (Retina's tcpdump.log: the command line,
// a blank line, then tcpdump's own messages) says about a capture.
type TcpdumpLog struct {
	Command       string // the command line
	Interface     string // -i
	Filter        string // the filter expression, if any
	SnapLen       int    // "snapshot length N bytes", or -s
	Captured      int64  // "N packets captured"; -1 when not said
	DroppedKernel int64  // "N packets dropped by kernel"; -1 when not said
}

var (
	reCaptured = regexp.MustCompile(`(?m)^(\d+) packets? captured`)
	reDropped  = regexp.MustCompile(`(?m)^(\d+) packets? dropped by kernel`)
	reSnap     = regexp.MustCompile(`snapshot length (\d+) bytes`)
)

// parseTcpdumpLog reads a tcpdump log; ok is false when b does not start
// with a tcpdump command line.
func parseTcpdumpLog(b []byte) (TcpdumpLog, bool) {
	first, _, _ := strings.Cut(string(b), "\n")
	first = strings.TrimSpace(first)
	f := strings.Fields(first)
	if len(f) == 0 || !strings.HasSuffix(f[0], "tcpdump") {
		return TcpdumpLog{}, false
	}
	l := TcpdumpLog{Command: first, Captured: -1, DroppedKernel: -1}
	var filter []string
	for i := 1; i < len(f); i++ {
		switch a := f[i]; {
		case a == "-i" && i+1 < len(f):
			l.Interface = f[i+1]
			i++
		case a == "-s" && i+1 < len(f):
			l.SnapLen, _ = strconv.Atoi(f[i+1])
			i++
		case (a == "-w" || a == "-Z" || a == "-C" || a == "-G" || a == "-W") && i+1 < len(f):
			i++
		case strings.HasPrefix(a, "-"):
		default:
			filter = append(filter, a)
		}
	}
	l.Filter = strings.Join(filter, " ")
	s := string(b)
	if m := reCaptured.FindStringSubmatch(s); m != nil {
		l.Captured, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reDropped.FindStringSubmatch(s); m != nil {
		l.DroppedKernel, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSnap.FindStringSubmatch(s); m != nil {
		l.SnapLen, _ = strconv.Atoi(m[1])
	}
	return l, true
}

// hostFilter returns the addresses of a filter made only of "host ADDR"
// terms joined by "or" (Retina's pod filter, "(host 10.244.0.5 or host
// 10.244.0.6)"); ok is false for any other filter.
func hostFilter(f string) (addrs []netip.Addr, ok bool) {
	f = strings.NewReplacer("(", " ", ")", " ").Replace(f)
	w := strings.Fields(f)
	if len(w) == 0 {
		return nil, false
	}
	for i := 0; i < len(w); {
		if w[i] != "host" || i+1 >= len(w) {
			return nil, false
		}
		a, err := netip.ParseAddr(w[i+1])
		if err != nil {
			return nil, false
		}
		addrs = append(addrs, a)
		i += 2
		if i < len(w) {
			if w[i] != "or" {
				return nil, false
			}
			i++
		}
	}
	return addrs, true
}
