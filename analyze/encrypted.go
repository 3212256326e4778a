package analyze

import (
	"cmp"
	"slices"
	"strings"
)

// Encrypted tunnels carry pod packets that cannot be read: WireGuard on
// the UDP ports Kubernetes CNIs use (51820: wg-quick's default and
// Calico's IPv4 device; 51821: Calico's IPv6 device; 51871: Cilium), and
// IPsec ESP (IP protocol 50). Their flows are followed on the underlay
// like any flow; what they add is named here.
const (
	protoESP = 50

	// WireGuard's transport data message: type, reserved, receiver index
	// and counter (16 bytes), then the Poly1305 tag (16), in UDP (8).
	wireGuardOverhead = 8 + 16 + 16
	// ESP with AES-GCM-128 in tunnel mode (RFC 4106, what Calico and
	// Cilium use): SPI and sequence (8), IV (8), pad length and next
	// header (2), ICV (16); 0-3 bytes of padding come on top.
	espOverhead = 8 + 8 + 2 + 16
)

var wireGuardPorts = [...]uint16{51820, 51821, 51871}

// encryptedKind names the encrypted tunnel a flow is the carrier of, or
// returns "".
func encryptedKind(f *Flow) string {
	switch {
	case f.Proto == protoESP:
		return "esp"
	case f.Proto == ProtoUDP && (slices.Contains(wireGuardPorts[:], f.Orig.SPort) || slices.Contains(wireGuardPorts[:], f.Orig.DPort)):
		return "wireguard"
	}
	return ""
}

// markEncrypted lists the flows of encrypted tunnels with the tunnel
// carriers, adds their overhead and the inner MTU they leave to the
// encapsulation table (per hop they crossed), and says what cannot be
// known: the pod packets inside are not matched to pod flows, so no path,
// latency or drop is claimed for them beyond the underlay.
func (a *analysis) markEncrypted(r *Result) {
	found := false
	for i := range r.Flows {
		if f := &r.Flows[i]; f.Tunnel == "" && encryptedKind(f) != "" {
			found = true
			break
		}
	}
	if !found {
		return // as mostly: spare a copy of the flows (296 MB for 1M flows)
	}
	var enc []Flow
	keep := r.Flows[:0:0]
	for _, f := range r.Flows {
		if f.Tunnel == "" {
			if k := encryptedKind(&f); k != "" {
				f.Tunnel = k
				enc = append(enc, f)
				continue
			}
		}
		keep = append(keep, f)
	}
	if len(enc) == 0 {
		return
	}
	pods := slices.IndexFunc(keep, func(f Flow) bool { return f.Tunnel != "" })
	if pods < 0 {
		pods = len(keep)
	}
	r.Flows = append(slices.Clone(keep[:pods]), append(enc, keep[pods:]...)...)
	slices.SortStableFunc(r.Flows[pods:], func(x, y Flow) int {
		return cmp.Or(cmp.Compare(x.FirstNS, y.FirstNS), compareTuple(x.Proto, x.Orig, y.Proto, y.Orig))
	})

	type hopKind struct{ hop, kind string }
	type acc struct {
		packets  int
		bytes    int64
		overhead int
	}
	per := map[hopKind]*acc{}
	var order []hopKind // per's keys as first met, for a stable walk (see aggregator.latKeys)
	for i := range enc {
		f := &enc[i]
		over := wireGuardOverhead
		if f.Tunnel == "esp" {
			over = espOverhead
		}
		if strings.Contains(f.Orig.Src, ":") {
			over += 40
		} else {
			over += 20
		}
		for _, p := range r.Paths {
			if p.Proto != f.Proto || p.Flow != f.Orig {
				continue
			}
			for _, h := range p.Hops {
				c := per[hopKind{h, f.Tunnel}]
				if c == nil {
					c = &acc{overhead: over}
					per[hopKind{h, f.Tunnel}] = c
					order = append(order, hopKind{h, f.Tunnel})
				}
				c.packets += p.Packets
				if f.Packets > 0 {
					c.bytes += int64(f.Bytes) * int64(p.Packets) / int64(f.Packets)
				}
				c.overhead = max(c.overhead, over)
			}
		}
		what := "WireGuard"
		if f.Tunnel == "esp" {
			what = "IPsec ESP"
		}
		a.notef("%s %s carries encrypted traffic (%s): it is followed on the underlay only; the pod packets inside cannot be read, so they are not matched to pod flows, and no drop or latency inside the tunnel is claimed", f.Proto, f.Orig.endpoints(f.Proto), what)
	}
	for _, k := range order {
		c := per[k]
		e := Encap{Hop: k.hop, Type: k.kind, Packets: c.packets, OverheadBytes: c.overhead, WireBytes: c.bytes, InnerMTU: underlayMTU - c.overhead}
		if c.bytes > 0 {
			e.Share = float64(c.overhead*c.packets) / float64(c.bytes)
		}
		r.Encap = append(r.Encap, e)
	}
	slices.SortFunc(r.Encap, func(x, y Encap) int {
		return cmp.Or(cmp.Compare(x.Hop, y.Hop), cmp.Compare(x.Type, y.Type), cmp.Compare(vniOf(x.VNI), vniOf(y.VNI)))
	})
}
