#!/usr/bin/env bash
# Both cores (issue 15): hoptrace analyze -o json on the generated 10.5M-
# sighting incident (bench/genincident -n 700000, 1.3 GB) at GOMAXPROCS=1
# and GOMAXPROCS=2, run back to back RUNS times, alternating, from the page
# cache. Prints every run's wall and CPU (user+system) time and the load
# average before it, then the least wall and CPU time of each and the ratio
# of the least wall times (target: 2 cores <= 0.6 x 1 core). A shared
# machine stretches wall time: compare runs taken together, and trust the
# least. The reports of the two must be byte for byte the same.
#
#   bash bench/cores.sh               # N=700000 RUNS=5
#   N=100000 RUNS=3 bash bench/cores.sh
#   PROFILE=1 bash bench/cores.sh     # also the merging goroutine's share of the CPU (pprof labels)
#   PREDICT=1 bash bench/cores.sh     # also the wall time predicted from CPU times (BenchmarkCores)
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
mkdir -p bench/out
n=${N:-700000}
runs=${RUNS:-5}
h=bench/out/hoptrace-cores
go build -o "$h" ./cmd/hoptrace
dir=bench/out/incident-$n
[ -f "$dir/truth.json" ] || go run ./bench/genincident -o "$dir" -n "$n" >/dev/null
cat "$dir"/*/*.pcap >/dev/null # page cache

rm -f bench/out/cores-runs
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $dir: $(du -sm "$dir" | cut -f1) MB"
for i in $(seq "$runs"); do
	for p in 1 2; do
		load=$(cut -d' ' -f1-3 /proc/loadavg)
		/usr/bin/time -f "%e %U %S" -o bench/out/cores-time env GOMAXPROCS=$p "$h" analyze -o json "$dir" \
			>"bench/out/cores-$p.json" 2>/dev/null || [ $? -eq 1 ]
		read -r wall user sys <bench/out/cores-time
		echo "$p $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $load" >>bench/out/cores-runs
		printf 'run %d  GOMAXPROCS=%d  %6.2f s wall  %6.2f s CPU  load %s\n' "$i" "$p" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$load"
	done
	cmp -s bench/out/cores-1.json bench/out/cores-2.json || {
		echo "the reports at GOMAXPROCS=1 and 2 differ" >&2
		exit 1
	}
done
awk '{ if (!($1 in w) || $2 < w[$1]) w[$1] = $2; if (!($1 in c) || $3 < c[$1]) c[$1] = $3 }
	END {
		printf "least: GOMAXPROCS=1 %.2f s wall %.2f s CPU; GOMAXPROCS=2 %.2f s wall %.2f s CPU\n", w[1], c[1], w[2], c[2]
		printf "wall at 2 cores / wall at 1 core: %.2f (target <= 0.60)\n", w[2] / w[1]
	}' bench/out/cores-runs
rm -f bench/out/cores-runs bench/out/cores-time
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "${PROFILE:-}" ]; then
	# The readers' goroutines carry the pprof label analyze=reader; the
	# rest is the merging goroutine (correlation, aggregation, the clock
	# pass, and the batches it reads or aggregates for the worker rather
	# than wait: crew.help) and the runtime.
	GOMAXPROCS=2 "$h" --cpuprofile bench/out/cores.prof analyze -o json "$dir" >/dev/null 2>&1 || [ $? -eq 1 ]
	share() { go tool pprof -top -nodefraction=0 -nodecount=1000000 "$@" "$h" bench/out/cores.prof 2>/dev/null | sed -n 's/^Showing nodes accounting for \([^,]*\), \([^ ]*\) of \(.*\) total$/\1 (\2 of \3)/p'; }
	echo "CPU profile at GOMAXPROCS=2:"
	echo "  readers (read, decode, observe):    $(share -tagfocus=analyze=reader)"
	echo "  aggregating goroutine:               $(share -tagfocus=analyze=aggregate)"
	echo "  the rest (merge goroutine, runtime): $(share -tagignore='analyze=reader|aggregate')"
	echo "  of it, correlate (main pass merge):  $(share -tagignore='analyze=reader|aggregate' -focus='analysis..correlate$')"
	echo "  of it, the clock pass:               $(share -focus='analysis..estimateClocks$')"
	echo "  of it, garbage collection:           $(share -focus='gcBgMarkWorker')"
fi

if [ -n "${PREDICT:-}" ]; then
	# On a busy machine wall times say little: BenchmarkCores reads the
	# merging goroutine's thread CPU time per phase against the process'
	# and predicts the wall time on idle cores as the sum over phases of
	# max(merge CPU, the others' CPU / the other goroutines), the least
	# of RUNS analyses.
	go test -c -o bench/out/analyze-cores.test ./analyze
	inc=$(cd "$dir" && pwd)
	pred() {
		(cd analyze && HOPTRACE_CORES_INCIDENT=$inc ../bench/out/analyze-cores.test -test.run '^$' -test.bench '^BenchmarkCores$' \
			-test.benchtime "${runs}x" -test.cpu "$1") | grep '^BenchmarkCores' | tr '\t' '\n' | sed 's/^ *//' | grep -- '-s$'
	}
	p1=$(pred 1)
	p2=$(pred 2)
	echo "predicted from CPU times (BenchmarkCores, least of $runs):"
	echo "  GOMAXPROCS=1: $(echo "$p1" | tr '\n' ' ')"
	echo "  GOMAXPROCS=2: $(echo "$p2" | tr '\n' ' ')"
	w1=$(echo "$p1" | awk '$2 == "predicted-wall-s" { print $1 }')
	w2=$(echo "$p2" | awk '$2 == "predicted-wall-s" { print $1 }')
	awk -v a="$w1" -v b="$w2" 'BEGIN { printf "  predicted wall at 2 cores / 1 core: %.2f (target <= 0.60)\n", b / a }'
fi
