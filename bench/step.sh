#!/usr/bin/env bash
# Memory with a clock step (issue 16: 30M sightings with a 3 h step stay
# under 500 MB): hoptrace analyze -o json on a generated two-node incident
# (bench/genincident) whose node-2 clock steps by STEP halfway while the
# traffic goes on. Prints peak RSS and CPU time (GNU time -v), checks the
# drops against the generator's truth and that the step is reported once
# per capture of node-2.
#
#   bash bench/step.sh                     # N=2000000 (about 30M sightings), STEP=-3h
#   N=200000 STEP=3h bash bench/step.sh
#
# The default incident takes about 3.4 GB under bench/out.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
N=${N:-2000000}
STEP=${STEP:--3h}
dir=bench/out/step${STEP}-$N
mkdir -p bench/out
go build -o bench/out/hoptrace ./cmd/hoptrace
[ -f "$dir/truth.json" ] || go run ./bench/genincident -o "$dir" -n "$N" -step "$STEP"
cat "$dir"/*/*.pcap >/dev/null # page cache

field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }
echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
code=0
/usr/bin/time -v -o bench/out/time-step bench/out/hoptrace analyze -o json "$dir" >bench/out/step.json 2>/dev/null || code=$?
echo "hoptrace analyze -o json $dir: exit $code (1: the step is an input problem)"
echo "  peak RSS $(($(field 'Maximum resident set size (kbytes)' bench/out/time-step) / 1024)) MB," \
	"CPU $(field 'User time (seconds)' bench/out/time-step) s user + $(field 'System time (seconds)' bench/out/time-step) s system," \
	"wall $(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' bench/out/time-step); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
want=$(sed -n 's/.*"dropped": \([0-9]*\).*/\1/p' "$dir/truth.json")
got=$(grep -o '"packets": *[0-9]*' <(sed -n '/"drops"/,/"background"/p' bench/out/step.json) | grep -o '[0-9]*$' | paste -sd+ | bc)
steps=$(grep -c 'the clock stepped' bench/out/step.json || true)
echo "  drops: $got (truth: $want); clock step warnings: $steps (node-2 has 5 captures)"
[ "$got" = "$want" ] && [ "$steps" = 5 ]
