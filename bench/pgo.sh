#!/usr/bin/env bash
# Regenerates cmd/hoptrace/default.pgo, the CPU profile go build uses for
# profile-guided optimization (inlining the decoder's and the analysis' hot
# calls): hoptrace decode on the bench captures, hoptrace analyze on the
# generated incident and on every lab scenario. Run it after changing the
# hot paths, then compare with and without (go build -pgo=off).
#
#   bash bench/pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # a static binary, as README.md builds it
mkdir -p bench/out
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -pgo=off -o "$tmp/hoptrace" ./cmd/hoptrace
go build -o "$tmp/gencap" ./bench/gencap
full=bench/out/vxlan-bulk-1000000.pcap snap=bench/out/vxlan-bulk-snap128.pcap
[ -f "$full" ] || "$tmp/gencap" -n 1000000 -o "$full"
[ -f "$snap" ] || "$tmp/gencap" -n 1000000 -snap 128 -o "$snap"
[ -f bench/out/incident-20000/truth.json ] || go run ./bench/genincident -o bench/out/incident-20000 -n 20000
h=$tmp/hoptrace
$h --cpuprofile "$tmp/decode-full.prof" decode --stats "$full" >/dev/null
$h --cpuprofile "$tmp/decode-snap.prof" decode --stats "$snap" >/dev/null
$h --cpuprofile "$tmp/decode-json.prof" decode -o json "$snap" >/dev/null
for i in $(seq 20); do
	$h --cpuprofile "$tmp/analyze-incident-$i.prof" analyze -o json bench/out/incident-20000 >/dev/null
done
for s in testdata/captures/*/; do
	$h --cpuprofile "$tmp/analyze-$(basename "$s").prof" analyze -o json "$s" >/dev/null || true
done
# Merge only profiles with samples: a lab scenario can finish between two
# samples, and a merge that starts with an empty profile loses the line
# data go build needs.
profiles=()
for p in "$tmp"/*.prof; do
	go tool pprof -top "$p" 2>/dev/null | grep -q 'Total samples = 0 ' || profiles+=("$p")
done
go tool pprof -proto "${profiles[@]}" >cmd/hoptrace/default.pgo 2>/dev/null
echo "wrote cmd/hoptrace/default.pgo ($(wc -c <cmd/hoptrace/default.pgo) bytes)"
