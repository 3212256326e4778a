#!/usr/bin/env bash
# Scale figures of README.md: hoptrace analyze -o json and hoptrace export
# on generated two-node incidents (bench/genincident) of about 1M, 4M, 16M
# and 32M sightings (about 15 per data segment): wall and CPU time and peak
# RSS from GNU time -v, the rows exported, the captures' and the dataset's
# size. One run each; the machine's load average is printed beside them,
# as a busy machine stretches wall time (CPU time much less so).
#
#   bash bench/scale.sh              # 1 4 16 32 (million sightings)
#   SIZES="1 4" bash bench/scale.sh
#
# The largest incident takes about 4 GB of captures under bench/out.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
mkdir -p bench/out
go build -o bench/out/hoptrace ./cmd/hoptrace

# field prints the value of a GNU time -v line.
field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }
# secs turns GNU time's [h:]mm:ss.cc into seconds.
secs() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }
report() { # name, time file
	local wall user sys rss
	wall=$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' "$2" | secs)
	user=$(field 'User time (seconds)' "$2")
	sys=$(field 'System time (seconds)' "$2")
	rss=$(field 'Maximum resident set size (kbytes)' "$2")
	awk -v n="$1" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
		'BEGIN { printf "  %-24s %7.2f s wall  %7.2f s CPU  peak RSS %4d MB\n", n, w, u + s, r / 1024 }'
}

echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in ${SIZES:-1 4 16 32}; do
	dir=bench/out/scale-${m}M
	[ -f "$dir/truth.json" ] || go run ./bench/genincident -o "$dir" -n $((m * 1000000 / 15)) >/dev/null
	cat "$dir"/*/*.pcap >/dev/null # page cache
	ds=bench/out/scale-${m}M.parquet
	rm -rf "$ds"
	/usr/bin/time -v -o bench/out/time-analyze bench/out/hoptrace analyze -o json "$dir" >/dev/null 2>&1 || [ $? -eq 1 ]
	/usr/bin/time -v -o bench/out/time-export bench/out/hoptrace export "$dir" --out "$ds" >bench/out/export.txt 2>/dev/null || [ $? -eq 1 ]
	read -r packets sightings < <(sed -n 's/.*: \([0-9]*\) packets, \([0-9]*\) sightings.*/\1 \2/p' bench/out/export.txt)
	echo "$m M: $sightings sightings of $packets packets; captures $(du -sm "$dir" | cut -f1) MB, dataset $(du -sm "$ds" | cut -f1) MB ($(du -sk "$ds/sightings" | cut -f1) KB sightings); load $(cut -d' ' -f1-3 /proc/loadavg)"
	report "hoptrace analyze -o json" bench/out/time-analyze
	report "hoptrace export" bench/out/time-export
done
