#!/usr/bin/env bash
# Times hoptrace analyze on a generated two-node incident (bench/genincident:
# a bulk flow over ten hops, N data segments, about 15*N packets in all)
# beside tshark's TCP conversation statistics over the same files, and
# prints packets/s, peak memory and the ratio. Run from anywhere:
#
#   N=1000000 bash bench/analyze.sh
#
# With "lab" it does the same on the committed lab captures
# (testdata/captures: 12 scenarios, one hoptrace analyze process each, as a
# user runs them):
#
#   bash bench/analyze.sh lab
#
# Needs tshark and capinfos (Debian: tshark, wireshark-common) and GNU time.
# GNU time counts CPU in hundredths of a second, so each timing of hoptrace
# runs it REPEAT times back to back (default: about 3 million packets in all) and
# divides; tshark takes long enough on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
mkdir -p bench/out
if [ "${1:-}" = lab ]; then
	dirs=(testdata/captures/*/)
	files=(testdata/captures/*/*/*.pcap)
else
	N=${N:-1000000}
	out=bench/out/incident-$N
	[ -f "$out/truth.json" ] || go run ./bench/genincident -o "$out" -n "$N"
	dirs=("$out")
	files=("$out"/*/*.pcap)
fi
go build -o bench/out/hoptrace ./cmd/hoptrace
packets=$(capinfos -c -M -T "${files[@]}" | awk -F'\t' 'NR>1 {n+=$2} END {print n}')
[ "${packets:-0}" -gt 0 ] || { echo "bench/analyze.sh: no packets in $out" >&2; exit 1; }
cat "${files[@]}" >/dev/null # page cache

# best runs "$@" 3 times and prints the smallest CPU time (user+sys: fair on
# a shared machine), the wall time of that run and its peak RSS in KB.
best() {
	local b="" w="" r="" u sy e m
	for _ in 1 2 3; do
		/usr/bin/time -f '%U %S %e %M' -o bench/out/time "$@" >/dev/null 2>&1
		read -r u sy e m <bench/out/time
		c=$(awk -v u="$u" -v s="$sy" 'BEGIN{print u+s}')
		if [ -z "$b" ] || awk -v a="$c" -v b="$b" 'BEGIN{exit !(a<b)}'; then b=$c w=$e r=$m; fi
	done
	echo "$b $w $r"
}
target=3000000 # packets per timing; the lab's processes start 2,500 times for that
[ "${1:-}" = lab ] && target=300000
REPEAT=${REPEAT:-$(( (target + packets - 1) / packets ))}
# Each run analyses every incident in dirs, one process each.
repeat() { for ((r = 0; r < REPEAT; r++)); do for d in "${dirs[@]}"; do bench/out/hoptrace analyze -o json "$d" >/dev/null 2>&1 || return; done; done; }
read -r h hw hrss < <(best bash -c "$(declare -f repeat); REPEAT=$REPEAT; dirs=(${dirs[*]}); repeat")
read -r h hw < <(awk -v h="$h" -v w="$hw" -v k="$REPEAT" 'BEGIN { print h / k, w / k }')
tshark_all() { for f in "${files[@]}"; do tshark -n -r "$f" -q -z conv,tcp; done; }
read -r t tw trss < <(best bash -c "$(declare -f tshark_all); files=(${files[*]}); tshark_all")
awk -v n="$packets" -v h="$h" -v t="$t" -v hw="$hw" -v tw="$tw" -v hr="$hrss" -v tr="$trss" -v k="${#files[@]}" -v inc="${#dirs[@]}" -v rep="$REPEAT" 'BEGIN {
	printf "packets:                       %d in %d captures of %d incidents; hoptrace timed over %d runs\n", n, k, inc, rep
	printf "hoptrace analyze -o json:      %7.3f s CPU (%6.3f s wall)  %9.0f packets/s per core  peak RSS %d MB\n", h, hw, n/h, hr/1024
	printf "tshark -q -z conv,tcp (each):  %7.2f s CPU (%6.2f s wall)  %9.0f packets/s per core  peak RSS %d MB\n", t, tw, n/t, tr/1024
	printf "ratio (tshark CPU / hoptrace): %7.1fx\n", t/h
}'
