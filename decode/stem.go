package decode

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Stem returns a capture file's base name without capture and compression
// extensions, and without the counter or time stamp a rotating capture
// gives each of its files: "node-1/n1-eth0.pcap.gz" becomes "n1-eth0", and
// so do "n1-eth0.pcap3" (tcpdump -C), "n1-eth0.pcap.3" (logrotate),
// "n1-eth0_00003_20261203152253.pcapng" (dumpcap's ring buffer, editcap's
// split) and "n1-eth0-2026-12-03_15.22.53.pcap" (tcpdump -G with a date in
// -w). The files of one rotating capture are one capture point; whether
// files sharing a stem are pieces of one capture, one after the other in
// time, the caller judges (see StemOf).
func Stem(path string) string {
	stem, _ := StemOf(path)
	return stem
}

// StemOf returns Stem(path) and the base name without its extensions
// alone; the two differ when the name is a rotating capture's.
func StemOf(path string) (stem, plain string) {
	plain = trimExt(filepath.Base(path), false)
	stem = trimExt(filepath.Base(path), true)
	if stem != plain {
		return stem, plain // a counter after the extension
	}
	for _, re := range rotationSuffixes {
		if loc := re.FindStringIndex(stem); loc != nil && loc[0] > 0 {
			return stem[:loc[0]], plain
		}
	}
	return stem, plain
}

// trimExt takes the capture and compression extensions off name, and with
// counters the numbers tcpdump -C and logrotate put after them.
func trimExt(name string, counters bool) string {
	for {
		// Lowered after the cut: lowering may change a name's length in
		// bytes ("Ⱥ" is two bytes, "ⱥ" three; FuzzOpen found the cut out
		// of range).
		raw := filepath.Ext(name)
		rest, ext := name[:len(name)-len(raw)], strings.ToLower(raw)
		switch {
		case captureExt[ext],
			counters && tcpdumpCounter.MatchString(ext),
			counters && logrotateCounter.MatchString(ext) && captureExt[strings.ToLower(filepath.Ext(rest))]:
			name = rest
		default:
			return name
		}
	}
}

var (
	captureExt = map[string]bool{".gz": true, ".zst": true, ".lz4": true, ".bz2": true, ".pcap": true, ".pcapng": true, ".cap": true, ".dmp": true}
	// tcpdump -C numbers the files after the first at the end of the -w
	// name ("eth0.pcap1"), from 0 and zero-padded to -W's width with -W
	// ("eth0.pcap00").
	tcpdumpCounter = regexp.MustCompile(`^\.(pcap|pcapng|cap|dmp)[0-9]+$`)
	// logrotate and savelog number old files after the name ("eth0.pcap.1").
	logrotateCounter = regexp.MustCompile(`^\.[0-9]+$`)
	// Suffixes of the stem, tried in order, the first that matches taken
	// off (never the whole stem).
	rotationSuffixes = []*regexp.Regexp{
		// dumpcap -b (and tshark -b, editcap -c/-i): _NNNNN_YYYYmmddHHMMSS.
		regexp.MustCompile(`_[0-9]{5,}_[0-9]{14}$`),
		// A date, with or without a time, after a separator: tcpdump -G
		// with strftime conversions in -w ("-%Y%m%d-%H%M%S",
		// "_%Y-%m-%d_%H.%M.%S").
		regexp.MustCompile(`[-_.](19|20)[0-9]{2}[-_.]?(0[1-9]|1[0-2])[-_.]?([0-2][0-9]|3[01])([-_.T]?([01][0-9]|2[0-3])[-_.:]?[0-5][0-9]([-_.:]?[0-5][0-9])?)?$`),
		// Seconds since the epoch (-G with %s), 2001 to 2033.
		regexp.MustCompile(`[-_.]1[0-9]{9}$`),
	}
)
