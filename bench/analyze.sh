#!/usr/bin/env bash
# Times hoptrace analyze on a generated two-node incident (bench/genincident:
# a bulk flow over ten hops, N data segments, about 15*N packets in all)
# beside tshark's TCP conversation statistics over the same files, and
# prints packets/s, peak memory and the ratio. Run from anywhere:
#
#   N=1000000 bash bench/analyze.sh
#
# Needs tshark and capinfos (Debian: tshark, wireshark-common) and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
out=bench/out/incident-$N
mkdir -p bench/out
[ -f "$out/truth.json" ] || go run ./bench/genincident -o "$out" -n "$N"
go build -o bench/out/hoptrace ./cmd/hoptrace
files=("$out"/*/*.pcap)
packets=$(capinfos -c -M -T "${files[@]}" | awk -F'\t' 'NR>1 {n+=$2} END {print n}')
cat "${files[@]}" >/dev/null # page cache

best() { # best wall-clock seconds of 3 runs of "$@", with peak RSS of the last
	local b="" s
	for _ in 1 2 3; do
		/usr/bin/time -f '%e %M' -o bench/out/time "$@" >/dev/null 2>&1
		read -r s rss <bench/out/time
		if [ -z "$b" ] || awk -v a="$s" -v b="$b" 'BEGIN{exit !(a<b)}'; then b=$s; fi
	done
	echo "$b $rss"
}
read -r h hrss < <(best bench/out/hoptrace analyze -o json "$out")
tshark_all() { for f in "${files[@]}"; do tshark -n -r "$f" -q -z conv,tcp; done; }
export -f tshark_all 2>/dev/null || true
read -r t trss < <(best bash -c "$(declare -f tshark_all); files=(${files[*]}); tshark_all")
awk -v n="$packets" -v h="$h" -v t="$t" -v hr="$hrss" -v tr="$trss" 'BEGIN {
	printf "packets:                        %d in %d captures\n", n, '"${#files[@]}"'
	printf "hoptrace analyze -o json:       %6.2f s  %9.0f packets/s  peak RSS %d MB\n", h, n/h, hr/1024
	printf "tshark -q -z conv,tcp (each):   %6.2f s  %9.0f packets/s  peak RSS %d MB\n", t, n/t, tr/1024
	printf "ratio (tshark time / hoptrace): %6.1fx\n", t/h
}'
