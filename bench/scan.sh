#!/usr/bin/env bash
# A SYN scan at scale (issue 16): bench/genscan writes a two-node scan of
# N distinct flows (default 1M) with background traffic, then hoptrace
# analyze (table, json) and hoptrace flows (table, json) run on it once
# each, from the page cache: wall and CPU time, peak RSS (GNU time -v),
# the output's size, and the load average beside them.
#
#   bash bench/scan.sh            # N=1000000
#   N=200000 bash bench/scan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
N=${N:-1000000}
mkdir -p bench/out
go build -o bench/out/hoptrace ./cmd/hoptrace
dir=bench/out/scan-$N
[ -f "$dir/truth.json" ] || go run ./bench/genscan -o "$dir" -n "$N"
cat "$dir"/*/*.pcap >/dev/null # page cache
field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }
echo "machine: $(nproc) cores; $N flows, captures $(du -sLm "$dir" | cut -f1) MB"
for cmd in "analyze -o table" "analyze -o json" "flows -o table" "flows -o json"; do
	# shellcheck disable=SC2086 # cmd is words
	/usr/bin/time -v -o bench/out/time-scan bench/out/hoptrace $cmd "$dir" >bench/out/scan.out 2>/dev/null || [ $? -eq 1 ]
	t=bench/out/time-scan
	printf '  %-18s wall %s  CPU %.1f s  peak RSS %d MB  output %d MB  load %s\n' "$cmd" \
		"$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' $t)" \
		"$(awk -v u="$(field 'User time (seconds)' $t)" -v s="$(field 'System time (seconds)' $t)" 'BEGIN { print u + s }')" \
		$(($(field 'Maximum resident set size (kbytes)' $t) / 1024)) $(($(stat -c %s bench/out/scan.out) >> 20)) \
		"$(cut -d' ' -f1 /proc/loadavg)"
done
rm -f bench/out/scan.out
