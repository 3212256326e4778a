package analyze

import (
	"fmt"

	"github.com/hoptrace/hoptrace/decode"
)

// A capture file that says when it ran (pcapng Interface Statistics
// Blocks: isb_starttime and isb_endtime, which dumpcap writes for every
// interface when it stops) covers that span for its hops, whatever its
// node's other captures say: a packet that should have reached the hop
// inside it and did not is a drop, even after the capture's last packet
// (a tunnel device quiet after a stall), and one outside it cannot be
// judged, even while the node's other captures still ran (one interface's
// capture stopped early). Captures without statistics cover their node's
// window (see aggregator.coveredAt).

// ifaceStats returns what the statistics blocks of the source's file say
// of pcapng interface iface. They are read again when they may have
// changed: once the first packet has described the file's interfaces (the
// blocks at the end of a file held in memory are read at Open, but their
// times are in the units of interfaces described later), and once the
// file is read to its end.
func (s *source) ifaceStats(iface int) (decode.InterfaceStats, bool) {
	want := int8(1)
	if s.packets > 0 {
		want = 2
	}
	if s.done {
		want = 3
	}
	if s.statsAt < want && s.f != nil {
		s.statsAt = want
		s.stats = nil
		stats := s.statsStart
		switch want {
		case 2:
			stats = s.statsFirst.stats
		case 3:
			stats = s.statsEnd.stats
		}
		for _, st := range stats {
			if st.Start == 0 && st.End == 0 {
				continue // counts only: no span
			}
			if s.stats == nil {
				s.stats = make(map[int]decode.InterfaceStats)
			}
			s.stats[st.Iface] = st
		}
	}
	st, ok := s.stats[iface]
	return st, ok
}

// statsWindow returns the window hop h's capture covers, in reference
// time: node, its node's window, unless the statistics of the file it is
// read from say when the capture of its interface started or ended. The
// capture's own packets are inside it whatever the statistics say.
func (a *analysis) statsWindow(h *hop, node nodeWindow) nodeWindow {
	s := h.src
	if s == nil || len(s.cap.Shadows) > 0 {
		// Some packets of the file's interface are another capture's
		// (Capture.Shadows): its statistics are not this hop's alone.
		return node
	}
	st, ok := h.stats()
	if !ok {
		return node
	}
	// The node clock's offset at the start, and as far as read (after a
	// clock step, clockstep.go). The hop's own packets (h.first, h.last:
	// node clock), not the file's: another interface of the file may run
	// on after this one stopped.
	w := node
	if st.Start != 0 {
		w.start, w.started = st.Start-a.offsets[h.node], true
		if h.packets > 0 {
			w.start = min(w.start, h.first-a.offsets[h.node])
		}
	}
	if st.End != 0 {
		w.end, w.open = st.End-s.clk.off, false
		if h.packets > 0 {
			w.end = max(w.end, h.last-s.clk.off)
		}
		if !w.started {
			return node // an end without a start or a packet
		}
	}
	return w
}

// captureSpan returns when hop h's capture started and ended as its
// file's statistics say (node clock, 0 when not said).
func (a *analysis) captureSpan(h *hop) (start, end int64) {
	if h.src == nil || len(h.src.cap.Shadows) > 0 {
		return 0, 0
	}
	st, ok := h.stats()
	if !ok {
		return 0, 0
	}
	return st.Start, st.End
}

// stats returns what the statistics of hop h's files say of its
// interface: those of the file it is read from, and of a rotating
// capture's further files (hop.more), joined into one span from the
// earliest start to the latest end. dumpcap's ring buffer writes each
// file's span; editcap's split leaves the whole capture's in one file.
func (h *hop) stats() (decode.InterfaceStats, bool) {
	st, ok := h.src.ifaceStats(h.iface)
	for _, m := range h.more {
		o, found := m.src.ifaceStats(m.iface)
		switch {
		case !found:
		case !ok:
			st, ok = o, true
		default:
			if o.Start != 0 && (st.Start == 0 || o.Start < st.Start) {
				st.Start = o.Start
			}
			st.End = max(st.End, o.End)
		}
	}
	return st, ok
}

// losses returns the packets hop h's files say its capture lost, as
// lossStats does for one file: a rotating capture's files' added up.
func (h *hop) losses() (decode.InterfaceStats, bool) {
	st, ok := h.src.lossStats(h.iface)
	for _, m := range h.more {
		o, found := m.src.lossStats(m.iface)
		switch {
		case !found:
		case !ok:
			st, ok = o, true
		default:
			st.IfDrop = max(st.IfDrop, 0) + max(o.IfDrop, 0)
			st.OSDrop = max(st.OSDrop, 0) + max(o.OSDrop, 0)
		}
	}
	return st, ok
}

// noteCaptureLosses says, for each hop whose file's statistics count
// packets the capture lost (isb_ifdrop, isb_osdrop: dropped by the
// interface or the kernel before the capturing program read them), how
// many of the packets counted as dropped just before it may be those
// losses instead: the statistics do not say which packets were lost.
func (a *analysis) noteCaptureLosses(drops []Drop, names []string) {
	for i, h := range a.hops {
		if h.src == nil || len(h.src.cap.Shadows) > 0 {
			continue
		}
		st, ok := h.losses()
		if !ok {
			continue
		}
		lost := max(st.IfDrop, 0) + max(st.OSDrop, 0)
		if lost == 0 {
			continue
		}
		n := 0
		for _, d := range drops {
			if d.To == names[i] && d.Reason != DropCaptureGap {
				n += d.Packets
			}
		}
		if n == 0 {
			continue
		}
		files := h.file
		if len(h.more) > 0 {
			files += fmt.Sprintf(" and %d more %s", len(h.more), plural(len(h.more), "file", "files"))
		}
		a.notef("%d %s counted as dropped before %s may be its capture's own losses: the statistics of %s say the capture lost %d (interface %d, kernel %d) before writing them",
			n, plural(n, "packet", "packets"), names[i], files, lost, max(st.IfDrop, 0), max(st.OSDrop, 0))
	}
}

// lossStats returns what the statistics of the source's file said of
// interface iface once it was read to its end, counts included.
func (s *source) lossStats(iface int) (decode.InterfaceStats, bool) {
	if !s.done || !s.statsEnd.taken {
		return decode.InterfaceStats{}, false
	}
	for _, st := range s.statsEnd.stats {
		if st.Iface == iface {
			return st, true
		}
	}
	return decode.InterfaceStats{}, false
}
