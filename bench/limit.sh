#!/usr/bin/env bash
# How close hoptrace is to the memory-walk limit, and beside tcptrace: on
# the captures of a generated incident (bench/genincident, about M million
# sightings in ten pcap files), the CPU time per record of
#   - bench/walk: maps each file and walks its record headers, touching
#     each packet's first byte, decoding nothing (the baseline);
#   - hoptrace decode --stats FILES;
#   - hoptrace analyze -o json DIR;
#   - tcptrace -n FILE, one process per file (it summarises TCP per file
#     and decodes no tunnel: it sees node eth0's VXLAN as UDP);
#   - tshark -n -r FILE -q -z conv,tcp, one process per file (its TCP
#     conversations, as bench/analyze.sh times it; one run, being slow);
# and each one's speed as a fraction of the walk's. hoptrace runs with
# GOMAXPROCS=1 (figures per core). CPU time (user+sys), best of 3, each
# timing repeating a command until about 3M records went through it. Then
# the wall time of hoptrace analyze at GOMAXPROCS=1 and 2 on the same
# files, alternating, least of 3 (bench/cores.sh does it on the 10.5M
# incident, issue 15's figure).
#
#   bash bench/limit.sh            # M=1
#   M=4 ICOUNT=1 bash bench/limit.sh
#   TSHARK=0 bash bench/limit.sh   # without tshark (about 15 s per M)
#
# The walk's own speed depends on how the page cache holds the files: the
# 1M incident's files walked at 31 ms as generated and at 19 ms once copied
# (fresh page cache, about 2,130 faults either way), and analyze took 264 ms
# against 230 ms. Its bandwidth is printed to compare runs by.
#
# ICOUNT=1 adds instruction counts (valgrind's callgrind, one run each,
# slow): exact whatever the machine's load, unlike CPU time on a shared
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
M=${M:-1}
mkdir -p bench/out
dir=bench/out/scale-${M}M
[ -f "$dir/truth.json" ] || go run ./bench/genincident -o "$dir" -n $((M * 1000000 / 15)) >/dev/null
files=("$dir"/*/*.pcap)
go build -o bench/out/hoptrace ./cmd/hoptrace
go build -o bench/out/walk ./bench/walk
cat "${files[@]}" >/dev/null # page cache
records=$(bench/out/walk "${files[@]}" | cut -d' ' -f1)

# cpu runs "$@" REPEAT times under GNU time, RUNS times (3), and prints
# the least CPU time per run.
cpu() {
	local best="" u s c
	for ((r = 0; r < ${RUNS:-3}; r++)); do
		/usr/bin/time -f '%U %S' -o bench/out/time bash -c 'for ((i = 0; i < '"$REPEAT"'; i++)); do "$@" >/dev/null 2>&1 || [ $? -eq 1 ]; done' _ "$@"
		read -r u s <bench/out/time
		c=$(awk -v u="$u" -v s="$s" -v k="$REPEAT" 'BEGIN { print (u + s) / k }')
		if [ -z "$best" ] || awk -v a="$c" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$c; fi
	done
	echo "$best"
}
REPEAT=$(((3000000 + records - 1) / records))
tcptrace_all() { for f in "$@"; do tcptrace -n "$f"; done; }
tshark_all() { for f in "$@"; do tshark -n -r "$f" -q -z conv,tcp; done; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $records records in ${#files[@]} files ($dir)"
# The walk as a process, like the others (start included), and in
# process, where repeated passes leave only the walk itself.
walk=$(REPEAT=$((REPEAT * 10)) cpu bench/out/walk "${files[@]}")
inproc=$(bench/out/walk -passes 30 "${files[@]}" | sed -n 's/.*; \([0-9.]*\) s CPU per pass.*/\1/p')
decode=$(GOMAXPROCS=1 cpu bench/out/hoptrace decode --stats "${files[@]}")
analyze=$(GOMAXPROCS=1 cpu bench/out/hoptrace analyze -o json "$dir")
tcptrace=""
if command -v tcptrace >/dev/null; then
	tcptrace=$(cpu bash -c "$(declare -f tcptrace_all); tcptrace_all \"\$@\"" _ "${files[@]}")
fi
tshark=""
if [ "${TSHARK:-1}" != 0 ] && command -v tshark >/dev/null; then
	tshark=$(RUNS=1 REPEAT=1 cpu bash -c "$(declare -f tshark_all); tshark_all \"\$@\"" _ "${files[@]}")
fi
# wall prints the least wall time per run of hoptrace analyze at
# GOMAXPROCS=1 and at 2, alternating.
wall() {
	local w1="" w2="" p e
	for _ in 1 2 3; do
		for p in 1 2; do
			/usr/bin/time -f '%e' -o bench/out/time env GOMAXPROCS=$p bash -c 'for ((i = 0; i < '"$REPEAT"'; i++)); do "$@" >/dev/null 2>&1 || [ $? -eq 1 ]; done' _ bench/out/hoptrace analyze -o json "$dir"
			e=$(awk -v e="$(cat bench/out/time)" -v k="$REPEAT" 'BEGIN { print e / k }')
			if [ $p = 1 ]; then w1=$(printf '%s\n' $w1 "$e" | sort -g | head -1); else w2=$(printf '%s\n' $w2 "$e" | sort -g | head -1); fi
		done
	done
	echo "$w1 $w2"
}
read -r wall1 wall2 < <(wall)
line() { awk -v n="$1" -v c="$2" -v w="$walk" -v r="$records" \
	'BEGIN { printf "  %-26s %8.4f s CPU  %6.2f M records per CPU-second  %5.1f%% of the walk\n", n, c, r / c / 1e6, 100 * w / c }'; }
line "walk (baseline)" "$walk"
line "walk, in-process passes" "$inproc"
line "hoptrace decode --stats" "$decode"
line "hoptrace analyze -o json" "$analyze"
if [ -n "$tcptrace" ]; then
	line "tcptrace -n (per file)" "$tcptrace"
	awk -v a="$analyze" -v t="$tcptrace" 'BEGIN { printf "  analyze / tcptrace CPU: %.2f\n", a / t }'
else
	echo "  tcptrace not installed (Debian: tcptrace)"
fi
if [ -n "$tshark" ]; then
	line "tshark conv,tcp (per file)" "$tshark"
	awk -v a="$analyze" -v t="$tshark" 'BEGIN { printf "  tshark / analyze CPU: %.0f\n", t / a }'
fi
awk -v a="$wall1" -v b="$wall2" 'BEGIN { printf "  hoptrace analyze wall time: %.3f s at GOMAXPROCS=1, %.3f s at 2: %.2f\n", a, b, b / a }'
bench/out/walk -passes 10 "${files[@]}" | sed -n 's/.* records, \([0-9]*\) bytes.*; \([0-9.]*\) s CPU per pass.*/\1 \2/p' |
	awk '{ printf "  the walk, in process: %.1f GB of mapped pages per CPU-second (set by how the page cache holds the files)\n", $1 / $2 / 1e9 }'

if [ "${ICOUNT:-}" = 1 ]; then
	# ir prints the instructions callgrind counted for "$@" (Go's
	# preemption signals trip callgrind's signal bookkeeping: off).
	export GODEBUG=asyncpreemptoff=1
	ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
	w=$(ir bench/out/walk "${files[@]}")
	d=$(GOMAXPROCS=1 ir bench/out/hoptrace decode --stats "${files[@]}")
	a=$(GOMAXPROCS=1 ir bench/out/hoptrace analyze -o json "$dir")
	t=0
	for f in "${files[@]}"; do t=$((t + $(ir tcptrace -n "$f"))); done
	echo "instructions (valgrind callgrind, exact):"
	for pair in "walk (baseline):$w" "hoptrace decode --stats:$d" "hoptrace analyze -o json:$a" "tcptrace -n (per file):$t"; do
		awk -v n="${pair%%:*}" -v i="${pair##*:}" -v w="$w" -v r="$records" \
			'BEGIN { printf "  %-26s %14.0f  %6.0f per record  %5.1f%% of the walk\n", n, i, i / r, 100 * w / i }'
	done
fi
