// Package incident owns what an incident is: which capture files it holds,
// which node's clock stamped each, which interface each capture point is,
// and what the nodes' saved metadata says about them.
//
// Pipeline: Open takes the paths a user gave (directories, capture files,
// .tar archives (plain or compressed as captures may be) and .zip ones, Retina capture bundles, Inspektor Gadget pcapng)
// and walks them into a tree of entries (archives expanded in memory under
// size caps, symlinks followed once, FIFOs and devices refused); the tree
// is then read by content, not by name: capture files by magic number,
// `ip -j link`/`ip -d -j addr show` output by its JSON shape, Retina's
// tcpdump.log by its first line. Each node's interface list names the
// interfaces of its Linux cooked (`tcpdump -i any`) captures and tells
// which per-interface capture is the same point as one of them, so that
// one interface is one hop; the files of a rotating capture (tcpdump -C,
// dumpcap's ring buffer: names decode.Stem joins, one after the other in
// time) are one capture, a copy of a capture is read once, and a folder
// of several nodes' -i any captures is split into those nodes. The result
// is a list of analyze.Capture values
// for package analyze, which does no file I/O of its own layout, plus notes
// on what the captures could not observe.
package incident
