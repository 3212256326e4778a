package incident

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hoptrace/hoptrace/analyze"
	"github.com/hoptrace/hoptrace/decode"
)

// Options are what the user said about an incident besides its paths.
// The zero value is valid.
type Options struct {
	// Nodes are --node flags: NAME=FILE[,FILE...].
	Nodes []string
	// IfNames are --ifname flags: NODE:INDEX=NAME names interface INDEX of
	// the node's Linux cooked captures.
	IfNames []string
	Limits  Limits
}

// Incident is the captures of one incident and what is known about them.
type Incident struct {
	Captures []analyze.Capture
	Nodes    []*Node // sorted by name
	// Inputs are the files on disk the captures are read from: capture
	// files and the archives holding captures. Outputs must not replace
	// them.
	Inputs []string
	// K8s are the files of a k8s/ folder found inside the incident
	// (kubectl get ... -o json output), for package k8s.
	K8s []File
	// Problems are input problems met while finding the captures:
	// unreadable entries, FIFOs, symlink loops, archives beyond the limits.
	// They make the run exit 1; the captures found are still analysed.
	Problems []string
	// Notes say what the captures could not observe and how names were
	// given: not input problems.
	Notes []string
}

// File is a metadata file of an incident, read into memory.
type File struct {
	Path string
	Data []byte
}

// Node is one node of an incident: one clock.
type Node struct {
	Name  string
	Links []Link // from its ip -j link / ip -d -j addr show output, if saved
	// Logs are the tcpdump logs saved with its captures (Retina's
	// tcpdump.log).
	Logs []TcpdumpLog
	// Bundle is the Retina capture bundle the node came from, if any.
	Bundle string
}

// Addrs returns the node's addresses from its interface list, loopback
// and link-local left out.
func (n *Node) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, l := range n.Links {
		for _, p := range l.Addrs {
			if a := p.Addr(); !a.IsLoopback() && !a.IsLinkLocalUnicast() {
				out = append(out, a)
			}
		}
	}
	return out
}

// metaLimit bounds a metadata file read into memory.
const metaLimit = 64 << 20

// Open finds the captures of the incident at paths (and opts.Nodes). An
// error means nothing usable was found or a flag is malformed; problems
// met on the way are in Incident.Problems.
func Open(paths []string, opts Options) (*Incident, error) {
	w := &walker{lim: opts.Limits.withDefaults(), seen: map[fileID]bool{}}
	c := &collector{w: w, nodes: map[string]*nodeAcc{}}
	for _, p := range paths {
		e := w.disk(p)
		if e == nil {
			// A path given on the command line that cannot be read is
			// an error of the command, not of the incident.
			return nil, errors.New(w.problems[len(w.problems)-1])
		}
		if e.dir {
			c.dir(e, "", 0)
		} else {
			c.file(e, path.Base(parentName(p)), 0, true)
		}
	}
	for _, s := range opts.Nodes {
		name, files, ok := strings.Cut(s, "=")
		if !ok || name == "" || files == "" {
			return nil, fmt.Errorf("--node %q: want NAME=FILE[,FILE...]", s)
		}
		for _, f := range strings.Split(files, ",") {
			e := w.disk(f)
			if e == nil {
				continue
			}
			if e.dir {
				c.dir(e, name, 0)
			} else {
				c.file(e, name, 0, false)
			}
		}
	}
	inc := &Incident{K8s: c.k8s, Inputs: c.inputs}
	if err := c.finish(inc, opts); err != nil {
		return nil, err
	}
	inc.Problems = append(w.problems, inc.Problems...)
	if len(inc.Captures) == 0 {
		msg := "no capture files found (want one subdirectory per node holding its pcap/pcapng files, capture files, or .tar/.tar.gz bundles)"
		if len(inc.Problems) > 0 {
			msg += ": " + strings.Join(inc.Problems, "; ")
		}
		return nil, errors.New(msg)
	}
	return inc, nil
}

// parentName returns the name of the directory holding the file at p.
func parentName(p string) string {
	d := path.Dir(strings.ReplaceAll(p, "\\", "/"))
	if d == "." {
		if abs, err := absDir(p); err == nil {
			return abs
		}
	}
	return d
}

// collector sorts the entries of an incident into nodes.
type collector struct {
	w      *walker
	nodes  map[string]*nodeAcc
	order  []string
	k8s    []File
	inputs []string
	// scanned holds what inspect read through, by entry: finding rotating
	// captures, telling interfaces by data and shadow windows each need a
	// capture's timeline, and a rotated ring buffer is gigabytes. The
	// front-door incident with node-1's eth0.pcap.gz rotated into three
	// files: each of them read through twice fewer (strace: 10 -> 8 opens
	// of eth0.pcap1.gz, 140 -> 134 of all captures).
	scanned map[*entry]capInfo
}

// nodeAcc gathers one node's files.
type nodeAcc struct {
	node *Node
	caps []*entry
}

func (c *collector) node(name string) *nodeAcc {
	n := c.nodes[name]
	if n == nil {
		n = &nodeAcc{node: &Node{Name: name}}
		c.nodes[name] = n
		c.order = append(c.order, name)
	}
	return n
}

// retinaName matches a Retina capture bundle's name:
// <capture>-<node>-<YYYYMMDDhhmmss>UTC (pkg/capture/file/timestamp.go,
// pkg/capture/utils/filename.go).
var retinaName = regexp.MustCompile(`^(.+)-(\d{14})UTC(?:\.tar\.gz|\.tgz|\.tar)?$`)

// dir takes the entries of a directory. node is the node they belong to,
// or "" at the top of an incident, where each subdirectory and each
// archive is a node.
func (c *collector) dir(d *entry, node string, depth int) {
	for _, k := range d.kids {
		switch {
		case k.dir && k.name == "k8s" && node == "":
			c.k8sDir(k)
		case k.dir && node == "" && !holdsCaptures(k):
			// A folder of bundles (Retina's download: OUT/<capture>/<bundle>.tar.gz).
			c.dir(k, "", depth)
		case k.dir && node == "":
			c.dir(k, k.name, depth)
		case k.dir:
			c.dir(k, node, depth) // deeper folders of a node are the node's
		default:
			c.file(k, cmpOr(node, d.name), depth, node == "")
		}
	}
}

// holdsCaptures reports whether a directory holds capture files directly.
func holdsCaptures(d *entry) bool {
	for _, k := range d.kids {
		if !k.dir && kindOf(k) == kindCapture {
			return true
		}
	}
	return false
}

// file takes one file of node. An archive at the top of an incident (top)
// is a node of its own, named after it.
func (c *collector) file(e *entry, node string, depth int, top bool) {
	k := kindOf(e)
	if (k == kindCapture || k == kindTar) && e.disk != "" {
		c.inputs = append(c.inputs, e.disk)
	}
	switch k {
	case kindCapture:
		c.node(node).caps = append(c.node(node).caps, e)
	case kindTar:
		root, err := c.w.expand(e, depth+1)
		if err != nil {
			c.w.problemf("%v", err)
		}
		if root == nil {
			return
		}
		// One node per archive, unless its contents say otherwise: an
		// archive of a whole incident (node subdirectories) or of bundles.
		inner := root
		for len(inner.kids) == 1 && inner.kids[0].dir {
			inner = inner.kids[0]
		}
		switch {
		case !holdsCaptures(inner) && hasNodeDirs(inner):
			c.dir(inner, "", depth+1)
		default:
			name := node
			if m := retinaName.FindStringSubmatch(e.name); m != nil {
				name = retinaNode(m[1], e)
				c.node(name).node.Bundle = e.path
			} else if top {
				name = archiveStem(e.name)
			}
			c.dir(inner, name, depth+1)
		}
	default:
		c.meta(e, node)
	}
}

// hasNodeDirs reports whether a directory is an incident of its own: it
// holds several nodes (subdirectories holding captures, or archives), or
// Retina bundles. A lone archive inside another is the same node's.
func hasNodeDirs(d *entry) bool {
	n := 0
	for _, k := range d.kids {
		switch {
		case k.dir && (holdsCaptures(k) || hasNodeDirs(k)):
			n++
		case !k.dir && kindOf(k) == kindTar:
			if retinaName.MatchString(k.name) {
				return true
			}
			n++
		}
	}
	return n >= 2
}

func archiveStem(name string) string {
	for _, ext := range []string{".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.lz4", ".tar.bz2", ".tbz2", ".tar", ".zip"} {
		if s, ok := strings.CutSuffix(name, ext); ok {
			return s
		}
	}
	return name
}

// meta reads a node's metadata file when its content says what it is.
func (c *collector) meta(e *entry, node string) {
	h := e.head(4096)
	switch {
	case captureName(e.name):
		// Named as a capture but not one: a capture that tcpdump never
		// wrote to (killed before its first flush) or a wrong file; either
		// way a hop is missing from the analysis, which must be said.
		what := "an empty file"
		if len(h) > 0 {
			what = fmt.Sprintf("it starts with % x", h[:min(4, len(h))])
		}
		if z := decode.CompressionOf(h); z != decode.Uncompressed {
			c.w.problemf("%s: %s", e.path, notInside(e, z))
			return
		}
		for _, z := range compressions {
			if bytes.HasPrefix(h, z.magic) {
				c.w.problemf("%s: compressed with %s, which hoptrace does not read: decompress it first (%s)", e.path, z.name, z.cmd)
				return
			}
		}
		c.w.problemf("%s: not a pcap or pcapng capture, although named as one: %s", e.path, what)
	case looksJSONArray(h) || strings.HasPrefix(string(h), "Summary:"):
		b, err := e.bytes(metaLimit)
		if err != nil {
			c.w.problemf("%v", err)
			return
		}
		if links, ok := parseLinks(b); ok {
			n := c.node(node).node
			for _, l := range links {
				n.Links = mergeLink(n.Links, l)
			}
		}
	case strings.Contains(firstLine(h), "tcpdump"):
		b, err := e.bytes(metaLimit)
		if err != nil {
			c.w.problemf("%v", err)
			return
		}
		if l, ok := parseTcpdumpLog(b); ok {
			c.node(node).node.Logs = append(c.node(node).node.Logs, l)
		}
	}
}

// notInside says why a compressed file named as a capture is none.
func notInside(e *entry, z decode.Compression) string {
	src, err := e.open()
	if err != nil {
		return err.Error()
	}
	defer src.Close()
	dc, done, err := decode.Decompress(z, src)
	if err != nil {
		return fmt.Sprintf("compressed with %s, which does not decompress: %v", z, err)
	}
	defer done()
	h := make([]byte, 4)
	n, err := io.ReadFull(dc, h)
	switch {
	case n == 0 && err == io.EOF:
		return fmt.Sprintf("compressed with %s, holding nothing", z)
	case n == 0 || err != nil && err != io.ErrUnexpectedEOF:
		return fmt.Sprintf("compressed with %s, which does not decompress: %v", z, err)
	}
	return fmt.Sprintf("compressed with %s, holding no pcap or pcapng capture: it starts with % x", z, h[:n])
}

// captureName reports whether a file name says it is a capture.
func captureName(name string) bool {
	name = strings.ToLower(name)
	for _, z := range []string{".gz", ".zst", ".xz", ".bz2", ".lz4"} {
		name = strings.TrimSuffix(name, z)
	}
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".dmp"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// compressions are the compressors whose files hoptrace does not read
// (decode.Compression are those it reads, as Wireshark reads gzip, zstd and
// lz4), by their magic numbers, and how to undo each.
var compressions = []struct {
	magic     []byte
	name, cmd string
}{
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz", "xz -d"},
	{[]byte{0x5d, 0, 0}, "lzma", "xz -d"},
}

func looksJSONArray(h []byte) bool {
	s := strings.TrimSpace(string(h))
	return strings.HasPrefix(s, "[{") || strings.HasPrefix(s, "[\n") || strings.HasPrefix(s, "[ ")
}

func firstLine(h []byte) string {
	s, _, _ := strings.Cut(string(h), "\n")
	return s
}

// k8sDir reads the files of a k8s/ folder.
func (c *collector) k8sDir(d *entry) {
	for _, k := range d.kids {
		if k.dir {
			c.k8sDir(k)
			continue
		}
		b, err := k.bytes(metaLimit)
		if err != nil {
			c.w.problemf("%v", err)
			continue
		}
		c.k8s = append(c.k8s, File{Path: k.path, Data: b})
	}
}

// finish turns the nodes gathered into captures: Retina nodes named,
// Inspektor Gadget files split, interfaces named and aliases merged.
func (c *collector) finish(inc *Incident, opts Options) error {
	byIndex, err := parseIfNames(opts.IfNames)
	if err != nil {
		return err
	}
	explicit := map[string]bool{}
	for _, s := range opts.Nodes {
		name, _, _ := strings.Cut(s, "=")
		explicit[name] = true
	}
	c.leaveMerged(inc)
	c.splitNodes(inc, explicit)
	names := slices.Clone(c.order)
	slices.Sort(names)
	for _, name := range names {
		acc := c.nodes[name]
		if len(acc.caps) == 0 {
			continue
		}
		inc.Nodes = append(inc.Nodes, acc.node)
		c.captures(inc, acc, byIndex[name])
	}
	for n := range byIndex {
		if c.nodes[n] == nil {
			return fmt.Errorf("--ifname %s:...: no node %q in the incident", n, n)
		}
	}
	return nil
}

// retinaNode returns the node of a Retina bundle named <capture>-<node>:
// both names may hold dashes, so the capture's name is taken from the
// folder Retina's download writes bundles into (OUT/<capture>/, see
// cli/cmd/capture/download.go); elsewhere the bundle keeps its whole name.
func retinaNode(captureNode string, e *entry) string {
	dir := e.disk
	if dir == "" {
		_, member, _ := strings.Cut(e.path, "//")
		dir = member
	}
	capture := path.Base(path.Dir(strings.ReplaceAll(dir, "\\", "/")))
	if node, ok := strings.CutPrefix(captureNode, capture+"-"); ok && node != "" {
		return node
	}
	return captureNode
}

// parseIfNames parses --ifname NODE:INDEX=NAME flags.
func parseIfNames(specs []string) (map[string]map[int32]string, error) {
	out := map[string]map[int32]string{}
	for _, s := range specs {
		lhs, name, ok := strings.Cut(s, "=")
		node, idx, ok2 := strings.Cut(lhs, ":")
		i, err := strconv.ParseInt(idx, 10, 32)
		if !ok || !ok2 || node == "" || name == "" || err != nil || i <= 0 {
			return nil, fmt.Errorf("--ifname %q: want NODE:INDEX=NAME (INDEX as ip link numbers it)", s)
		}
		if out[node] == nil {
			out[node] = map[int32]string{}
		}
		out[node][int32(i)] = name
	}
	return out, nil
}

// capInfo is what a capture's header and packets say about it.
type capInfo struct {
	e *entry
	// stem names the capture point after the file (decode.Stem), or the
	// file's own name when files sharing a rotating capture's stem are not
	// one capture (see rotations).
	stem        string
	sll2        bool // Linux cooked v2 (tcpdump -i any)
	ifaces      []decode.Interface
	first, last int64 // node clock, ns; valid when packets > 0
	packets     int
	// pieces are the first and last time stamp (node clock, ns, as the
	// file has them) of each piece of the file's timeline between the
	// steps of its clock the reader notes (decode.ClockStep: back by more
	// than decode.StepBack, forward by more than decode.StepForward); one
	// piece for most files. Valid when packets > 0 and the file was read
	// through (scan).
	pieces []span
	// cooked: an -i any capture in Linux cooked v1, read alone on its
	// node (see collector.cookedV1).
	cooked bool
	// stats are the pcapng statistics of each interface that has them
	// (decode's File.Stats), once the packets were read through (scan).
	stats []decode.InterfaceStats
	err   error
}

func (c *collector) inspect(e *entry, scan bool) capInfo {
	if ci, ok := c.scanned[e]; ok && scan {
		return ci
	}
	ci := capInfo{e: e, stem: decode.Stem(e.name)}
	f, err := openEntry(e)
	if err != nil {
		ci.err = err
		return ci
	}
	defer f.Close()
	ci.ifaces = slices.Clone(f.Interfaces())
	ci.sll2 = len(ci.ifaces) == 1 && ci.ifaces[0].Link == decode.LinkSLL2
	steps := 0
	for scan {
		_, m, err := f.Next()
		if err != nil {
			break
		}
		if ci.packets == 0 {
			ci.first = m.TS
		}
		ci.first, ci.last = min(ci.first, m.TS), max(ci.last, m.TS)
		ci.packets++
		if _, n := f.ClockSteps(); n != steps || len(ci.pieces) == 0 {
			// The reader noted a step at this packet: a new piece.
			steps = n
			ci.pieces = append(ci.pieces, span{m.TS, m.TS})
		}
		p := &ci.pieces[len(ci.pieces)-1]
		p.first, p.last = min(p.first, m.TS), max(p.last, m.TS)
	}
	// A pcapng file's interfaces are known once its blocks are read.
	ci.ifaces = slices.Clone(f.Interfaces())
	ci.sll2 = len(ci.ifaces) == 1 && ci.ifaces[0].Link == decode.LinkSLL2
	if scan {
		ci.stats = f.Stats()
		if c.scanned == nil {
			c.scanned = map[*entry]capInfo{}
		}
		c.scanned[e] = ci
	}
	return ci
}

// span is a stretch of a capture's time stamps, first to last.
type span struct{ first, last int64 }

func openEntry(e *entry) (*decode.File, error) {
	if e.disk == "" {
		return decode.NewFileBytes(e.path, e.data)
	}
	return decode.Open(e.disk)
}

func captureOf(e *entry, node string) analyze.Capture {
	c := analyze.Capture{Node: node, Path: e.path}
	if e.disk == "" {
		c.Data = e.data
	}
	return c
}
