#!/usr/bin/env bash
# Times hoptrace against tshark on the same generated capture: a flannel
# VXLAN TCP bulk transfer (bench/gencap), read from the page cache.
#
#   bash bench/run.sh                 # 1M packets, best of 5 (tshark: of 3)
#   N=2000000 FORMAT=pcapng RUNS=3 TSHARK_RUNS=1 bash bench/run.sh
#
# Prints packets/s for each tool and hoptrace's speed as a multiple of
# tshark's. Every tool runs single-threaded on its own, one after the other;
# the least wall-clock and the least CPU time of the runs are kept, since on
# a shared machine only interference makes a run slower. On a loaded machine
# compare CPU times: wall time there measures the scheduler. tshark takes
# minutes per million packets.
set -euo pipefail

N=${N:-1000000}
FORMAT=${FORMAT:-pcap}
RUNS=${RUNS:-5}
TSHARK_RUNS=${TSHARK_RUNS:-3}

cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
command -v tshark >/dev/null || { echo "bench/run.sh: tshark not found" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/hoptrace" ./cmd/hoptrace
go build -o "$tmp/gencap" ./bench/gencap

mkdir -p bench/out
capture=bench/out/vxlan-bulk-$N.$FORMAT
"$tmp/gencap" -n "$N" -format "$FORMAT" -o "$capture"
cat "$capture" >/dev/null # into the page cache

# Check that both tools decode the tunnel before timing them: hoptrace on
# the whole file, tshark (slow) on its start.
got=$("$tmp/hoptrace" decode --stats "$capture" | awk 'NR == 2 { print $2, $5 }')
[[ $got == "$N $N" ]] || { echo "bench/run.sh: hoptrace counted packets, tunneled: $got, want $N $N" >&2; exit 1; }
tshark_cmd=(tshark -n -r "$capture" -d udp.port==8472,vxlan -T fields
	-e ip.src -e ip.dst -e udp.srcport -e vxlan.vni -e tcp.srcport -e tcp.dstport)
got=$("${tshark_cmd[@]}" -c 1000 2>/dev/null | awk -F'\t' '$4 == 1 && $5 != ""' | wc -l)
[[ $got == 1000 ]] || { echo "bench/run.sh: tshark decoded $got of 1000 packets as VXLAN TCP" >&2; exit 1; }

# best RUNS CMD... prints the least wall-clock seconds and the least CPU
# (user+system) seconds of RUNS runs of CMD.
best() {
	local runs=$1 t
	shift
	local TIMEFORMAT='%R %U %S'
	for ((i = 0; i < runs; i++)); do
		t=$({ time "$@" >/dev/null 2>/dev/null; } 2>&1)
		echo "$t"
	done | awk '{ c = $2 + $3 } NR == 1 || $1 < w { w = $1 } NR == 1 || c < bc { bc = c }
		END { printf "%.3f %.3f\n", w, bc }'
}

size=$(wc -c <"$capture")
echo "capture: $capture: $N packets, $((size / 1000000)) MB; $(nproc) cores; best of $RUNS (tshark: $TSHARK_RUNS)"
echo "$(go version | cut -d' ' -f3-); $(tshark --version 2>/dev/null | head -1)"
printf '%-40s %8s %8s %11s %13s\n' "" "wall s" "cpu s" "packets/s" "packets/cpu-s"

# row NAME WALL CPU prints one timing.
row() {
	awk -v name="$1" -v w="$2" -v c="$3" -v n="$N" \
		'BEGIN { printf "%-40s %8.3f %8.3f %11.0f %13.0f\n", name, w, c, n / w, n / c }'
}
# ratio NAME HOPTRACE_WALL HOPTRACE_CPU prints how many times faster than
# tshark hoptrace is.
ratio() {
	awk -v name="$1" -v w="$2" -v c="$3" -v tw="$tshark_w" -v tc="$tshark_c" \
		'BEGIN { printf "%-40s %7.1fx by wall time, %7.1fx by CPU time\n", name, tw / w, tc / c }'
}

read -r stats_w stats_c < <(best "$RUNS" "$tmp/hoptrace" decode --stats "$capture")
row "hoptrace decode --stats (read+decode)" "$stats_w" "$stats_c"
read -r json_w json_c < <(best "$RUNS" "$tmp/hoptrace" decode -o json "$capture")
row "hoptrace decode -o json" "$json_w" "$json_c"
read -r text_w text_c < <(best "$RUNS" "$tmp/hoptrace" decode "$capture")
row "hoptrace decode (text)" "$text_w" "$text_c"
read -r tshark_w tshark_c < <(best "$TSHARK_RUNS" "${tshark_cmd[@]}")
row "tshark -T fields" "$tshark_w" "$tshark_c"
echo
ratio "hoptrace --stats vs tshark" "$stats_w" "$stats_c"
ratio "hoptrace -o json vs tshark" "$json_w" "$json_c"
ratio "hoptrace (text) vs tshark" "$text_w" "$text_c"
