package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/decode"
)

// maxDepth bounds the nesting of parentheses and negations.
const maxDepth = 64

// Parse compiles a filter expression. An empty expression (or one of only
// spaces) gives a filter that matches every packet. Errors are
// *SyntaxError values naming the position of the problem.
func Parse(expr string) (*Filter, error) {
	p := &parser{expr: expr}
	if err := p.lex(); err != nil {
		return nil, err
	}
	f := &Filter{expr: expr}
	if p.peek().typ == tEOF {
		return f, nil
	}
	root, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.typ != tEOF {
		return nil, p.errorf(t, "expected and, or or the end of the expression, got %s", t)
	}
	f.nodes, f.root = p.nodes, root
	return f, nil
}

// MustParse is Parse for expressions known to be valid; it panics on error.
func MustParse(expr string) *Filter {
	f, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return f
}

type tokType uint8

const (
	tEOF tokType = iota
	tWord
	tLParen
	tRParen
	tNot // ! (the word "not" is a tWord)
	tAnd // &&
	tOr  // ||
)

type token struct {
	typ  tokType
	text string
	pos  int // 1-based byte position
}

func (t token) String() string {
	if t.typ == tEOF {
		return "the end of the expression"
	}
	return strconv.Quote(t.text)
}

// is reports whether the token is the given keyword (case-insensitively).
func (t token) is(kw string) bool { return t.typ == tWord && strings.EqualFold(t.text, kw) }

type parser struct {
	expr  string
	toks  []token
	i     int
	nodes []node
	// last is the previous primitive, whose qualifiers a bare value after
	// and/or/not repeats.
	last    prim
	hasLast bool
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) lex() error {
	s := p.expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			p.toks = append(p.toks, token{tLParen, "(", i + 1})
			i++
		case c == ')':
			p.toks = append(p.toks, token{tRParen, ")", i + 1})
			i++
		case c == '!':
			p.toks = append(p.toks, token{tNot, "!", i + 1})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return &SyntaxError{Pos: i + 1, Msg: fmt.Sprintf("expected %c%c, got %q", c, c, string(c))}
			}
			typ := tAnd
			if c == '|' {
				typ = tOr
			}
			p.toks = append(p.toks, token{typ, s[i : i+2], i + 1})
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!&|", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{tWord, s[i:j], i + 1})
			i = j
		}
	}
	p.toks = append(p.toks, token{tEOF, "", len(s) + 1})
	return nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.typ != tEOF {
		p.i++
	}
	return t
}

func (p *parser) add(n node) int32 {
	p.nodes = append(p.nodes, n)
	return int32(len(p.nodes) - 1)
}

func isAnd(t token) bool { return t.typ == tAnd || t.is("and") }
func isOr(t token) bool  { return t.typ == tOr || t.is("or") }
func isNot(t token) bool { return t.typ == tNot || t.is("not") }

// parseExpr reads terms joined by and/or, left to right with equal
// precedence, as pcap-filter does.
func (p *parser) parseExpr(depth int) (int32, error) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return 0, err
	}
	for {
		t := p.peek()
		var o op
		switch {
		case isAnd(t):
			o = opAnd
		case isOr(t):
			o = opOr
		default:
			return l, nil
		}
		p.next()
		r, err := p.parseUnary(depth)
		if err != nil {
			return 0, err
		}
		l = p.add(node{op: o, l: l, r: r})
	}
}

func (p *parser) parseUnary(depth int) (int32, error) {
	t := p.peek()
	if depth >= maxDepth {
		return 0, p.errorf(t, "expression nested too deeply")
	}
	switch {
	case isNot(t):
		p.next()
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return 0, err
		}
		return p.add(node{op: opNot, l: x}), nil
	case t.typ == tLParen:
		p.next()
		x, err := p.parseExpr(depth + 1)
		if err != nil {
			return 0, err
		}
		if c := p.next(); c.typ != tRParen {
			return 0, p.errorf(c, "expected ), got %s", c)
		}
		return x, nil
	}
	pr, err := p.parsePrim()
	if err != nil {
		return 0, err
	}
	p.last, p.hasLast = pr, true
	return p.add(node{op: opPrim, p: pr}), nil
}

// Protocol names proto accepts.
var protoNames = map[string]uint8{
	"tcp": decode.ProtoTCP, "udp": decode.ProtoUDP, "sctp": decode.ProtoSCTP,
	"icmp": decode.ProtoICMP, "icmp6": decode.ProtoICMPv6, "icmpv6": decode.ProtoICMPv6,
	"gre": decode.ProtoGRE, "esp": 50, "ah": 51,
}

// Tunnel primitives and the tunnel types each matches.
var tunnelNames = map[string]uint16{
	"vxlan":  1 << decode.TunnelVXLAN,
	"geneve": 1 << decode.TunnelGeneve,
	"ipip":   1<<decode.TunnelIPIP | 1<<decode.Tunnel6in4 | 1<<decode.Tunnel4in6 | 1<<decode.Tunnel6in6,
	"gre":    1<<decode.TunnelGRE | 1<<decode.TunnelGRETEB | 1<<decode.TunnelERSPAN | 1<<decode.TunnelPPTP,
	"tunnel": 0xffff &^ (1 << decode.TunnelNone),
}

// keywords are the words that are never values.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "inner": true, "outer": true, "any": true,
	"src": true, "dst": true, "host": true, "net": true, "mask": true, "port": true,
	"portrange": true, "proto": true, "ip": true, "ip6": true, "vni": true,
	"tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true,
	"vxlan": true, "geneve": true, "ipip": true, "gre": true, "tunnel": true,
}

func isKeyword(t token) bool { return t.typ == tWord && keywords[strings.ToLower(t.text)] }

// parsePrim reads one primitive:
//
//	[inner|outer|any] [tcp|udp|sctp] [src|dst|src or dst|src and dst] host|net|port|portrange VALUE
//	[inner|outer|any] proto P | tcp | udp | sctp | icmp | icmp6 | ip | ip6
//	vxlan | geneve | ipip | gre | tunnel | vni N
//	VALUE (repeating the previous primitive's qualifiers, or a bare address or CIDR)
func (p *parser) parsePrim() (prim, error) {
	start := p.peek()
	if start.typ == tWord && !isKeyword(start) && p.repeats(start) {
		return p.value(p.last, p.next())
	}
	var pr prim
	qualified := false
	switch t := p.peek(); {
	case t.is("inner"):
		p.next()
		qualified = true
	case t.is("outer"):
		p.next()
		pr.layer, qualified = layerOuter, true
	case t.is("any"):
		p.next()
		pr.layer, qualified = layerAny, true
	}
	if t := p.peek(); t.typ == tWord {
		kw := strings.ToLower(t.text)
		if bits, ok := tunnelNames[kw]; ok {
			if qualified {
				return pr, p.errorf(start, "%s does not apply to %s", start, kw)
			}
			p.next()
			return prim{kind: kTunnel, tunnel: bits}, nil
		}
		switch kw {
		case "vni":
			if qualified {
				return pr, p.errorf(start, "%s does not apply to vni", start)
			}
			p.next()
			return p.value(prim{kind: kVNI}, p.next())
		case "ip", "ip6":
			p.next()
			pr.kind, pr.ver = kVersion, 4
			if kw == "ip6" {
				pr.ver = 6
			}
			return pr, nil
		case "proto":
			p.next()
			pr.kind = kProto
			return p.value(pr, p.next())
		case "tcp", "udp", "sctp", "icmp", "icmp6":
			p.next()
			pr.proto = protoNames[kw]
			if (kw == "tcp" || kw == "udp" || kw == "sctp") && p.portFollows() {
				break // a transport qualifier: tcp port 80
			}
			pr.kind = kProto
			return pr, nil
		}
	}
	switch t := p.peek(); {
	case t.is("src"):
		p.next()
		pr.dir = dirSrc
		if (p.peek().is("or") || p.peek().is("and")) && p.toks[p.i+1].is("dst") {
			pr.dir = dirEither
			if p.peek().is("and") {
				pr.dir = dirBoth
			}
			p.next()
			p.next()
		}
		qualified = true
	case t.is("dst"):
		p.next()
		pr.dir = dirDst
		qualified = true
	}
	t := p.peek()
	switch {
	case t.is("host"):
		pr.kind = kHost
	case t.is("net"):
		pr.kind = kNet
	case t.is("port"), t.is("portrange"):
		pr.kind = kPort
	case t.typ == tWord && !isKeyword(t) && pr.proto == 0:
		// A bare value: an address is a host, a CIDR a net.
		if _, err := netip.ParseAddr(t.text); err == nil {
			return p.value(prim{kind: kHost, layer: pr.layer, dir: pr.dir}, p.next())
		}
		if _, err := netip.ParsePrefix(t.text); err == nil {
			return p.value(prim{kind: kNet, layer: pr.layer, dir: pr.dir}, p.next())
		}
		fallthrough
	default:
		if qualified || pr.proto != 0 {
			return pr, p.errorf(t, "expected host, net, port or portrange, got %s", t)
		}
		return pr, p.errorf(t, "expected a primitive (host, net, port, proto, tcp, vxlan, ...), got %s", t)
	}
	if pr.proto != 0 && pr.kind != kPort {
		return pr, p.errorf(t, "expected port or portrange after %s, got %s", protoWord(pr.proto), t)
	}
	pr.rng = t.is("portrange")
	p.next()
	return p.value(pr, p.next())
}

// repeats reports whether the bare value v repeats the previous primitive's
// qualifiers: it does after host and net, and after port, portrange, proto
// and vni unless v is an address (which is a host primitive of its own).
func (p *parser) repeats(v token) bool {
	if !p.hasLast {
		return false
	}
	switch p.last.kind {
	case kHost, kNet:
		return true
	case kPort, kProto, kVNI:
		_, err1 := netip.ParseAddr(v.text)
		_, err2 := netip.ParsePrefix(v.text)
		return err1 != nil && err2 != nil
	}
	return false
}

// portFollows reports whether the next token starts a port primitive's
// direction or kind (src, dst, port, portrange).
func (p *parser) portFollows() bool {
	t := p.peek()
	return t.is("port") || t.is("portrange") || t.is("src") || t.is("dst")
}

func protoWord(n uint8) string {
	for k, v := range protoNames {
		if v == n && k != "icmpv6" {
			return k
		}
	}
	return strconv.Itoa(int(n))
}

// value reads the value of a host, net, port or proto primitive into a copy
// of pr.
func (p *parser) value(pr prim, v token) (prim, error) {
	if _, ok := protoNames[strings.ToLower(v.text)]; ok && pr.kind == kProto && v.typ == tWord {
		pr.proto = protoNames[strings.ToLower(v.text)]
		return pr, nil
	}
	if v.typ != tWord || isKeyword(v) {
		switch pr.kind {
		case kHost:
			return pr, p.errorf(v, "expected an IP address, got %s", v)
		case kNet:
			return pr, p.errorf(v, "expected a network (CIDR), got %s", v)
		case kPort:
			if pr.rng {
				return pr, p.errorf(v, "expected a port range A-B, got %s", v)
			}
			return pr, p.errorf(v, "expected port number, got %s", v)
		case kProto:
			return pr, p.errorf(v, "expected a protocol name or number 0-255, got %s", v)
		case kVNI:
			return pr, p.errorf(v, "expected a VNI or GRE key, got %s", v)
		}
		return pr, p.errorf(v, "expected a value, got %s", v)
	}
	switch pr.kind {
	case kHost:
		a, err := netip.ParseAddr(v.text)
		if err != nil {
			if _, perr := netip.ParsePrefix(v.text); perr == nil {
				return pr, p.errorf(v, "expected an IP address, got the network %s (use net)", v)
			}
			return pr, p.errorf(v, "expected an IP address, got %s", v)
		}
		pr.addr = a
	case kNet:
		return p.network(pr, v)
	case kPort:
		if pr.rng {
			return p.portRange(pr, v)
		}
		n, err := strconv.ParseUint(v.text, 10, 16)
		if err != nil {
			return pr, p.errorf(v, "expected port number, got %s", v)
		}
		pr.lo, pr.hi = uint16(n), uint16(n)
	case kProto:
		n, err := strconv.ParseUint(v.text, 10, 8)
		if err != nil {
			return pr, p.errorf(v, "expected a protocol name or number 0-255, got %s", v)
		}
		pr.proto = uint8(n)
	case kVNI:
		n, err := strconv.ParseUint(v.text, 10, 32)
		if err != nil {
			return pr, p.errorf(v, "expected a VNI or GRE key, got %s", v)
		}
		pr.vni = uint32(n)
	default:
		return pr, p.errorf(v, "expected a primitive, got %s", v)
	}
	return pr, nil
}

// network reads CIDR or ADDR mask MASK.
func (p *parser) network(pr prim, v token) (prim, error) {
	if pf, err := netip.ParsePrefix(v.text); err == nil {
		pr.pfx = pf.Masked()
		return pr, nil
	}
	a, err := netip.ParseAddr(v.text)
	if err != nil {
		return pr, p.errorf(v, "expected a network (CIDR), got %s", v)
	}
	if !p.peek().is("mask") {
		// A lone address is a host-sized network, as in tcpdump.
		pr.pfx = netip.PrefixFrom(a, a.BitLen())
		return pr, nil
	}
	p.next()
	m := p.next()
	ma, err := netip.ParseAddr(m.text)
	if m.typ != tWord || err != nil || !a.Is4() || !ma.Is4() {
		return pr, p.errorf(m, "expected an IPv4 mask after an IPv4 network, got %s", m)
	}
	b := ma.As4()
	bits := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for bits&(1<<31) != 0 {
		ones++
		bits <<= 1
	}
	if bits != 0 {
		return pr, p.errorf(m, "mask %s is not contiguous", m)
	}
	pr.pfx = netip.PrefixFrom(a, ones).Masked()
	return pr, nil
}

// portRange reads A-B into pr.
func (p *parser) portRange(pr prim, v token) (prim, error) {
	a, b, ok := strings.Cut(v.text, "-")
	lo, err1 := strconv.ParseUint(a, 10, 16)
	hi, err2 := strconv.ParseUint(b, 10, 16)
	if v.typ != tWord || !ok || err1 != nil || err2 != nil {
		return pr, p.errorf(v, "expected a port range A-B, got %s", v)
	}
	if lo > hi {
		return pr, p.errorf(v, "port range %s runs backwards", v)
	}
	pr.lo, pr.hi = uint16(lo), uint16(hi)
	return pr, nil
}
