#!/usr/bin/env bash
# Has fuzzing stopped finding new coverage? (issue 16: run FuzzIncident
# "long enough to stop finding new coverage".) The fuzzer's own "new
# interesting" count includes inputs that only change how often a branch
# runs (hit-count buckets), so it never quite reaches zero. This script
# measures statements instead: for each CUTOFF it runs FuzzIncident over
# the corpus entries the fuzzer had written by then (by file time) with
# -coverprofile, and prints the statements covered and which packages the
# entries since the previous cutoff added. Coverage flat from one cutoff
# to the next, over many executions, is the plateau.
#
#   bash bench/fuzzcov.sh CORPUS CUTOFF...
#   bash bench/fuzzcov.sh /tmp/hoptrace-fuzz/FuzzIncident 202612031930 202612040030
#
# CORPUS is the fuzz cache's FuzzIncident directory (-test.fuzzcachedir);
# a CUTOFF is [CC]YYMMDDhhmm as touch -t takes it. Each cutoff runs every
# entry once (about 30 ms each) in a temporary worktree of HEAD. With
# BLOCKS=DIR, each cutoff's covered blocks (file:lines statements) are
# kept there as CUTOFF.blocks, to see which statements a step added.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,21p "$0" >&2; exit 2; }
corpus=$(cd "$1" && pwd)
shift
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/repo" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/repo" HEAD
# FuzzIncident seeds from ../shared/corpus too, when it is there.
[ -d ../shared ] && ln -s "$(cd ../shared && pwd)" "$tmp/shared"
seeds=$tmp/repo/cmd/hoptrace/testdata/fuzz/FuzzIncident
mkdir -p "$seeds"
committed=$(ls "$seeds" | wc -l)
prev=
for cut in "$@"; do
	touch -t "$cut" "$tmp/stamp"
	find "$corpus" -type f ! -newer "$tmp/stamp" -exec cp -p {} "$seeds/" \;
	(cd "$tmp/repo" && go test -count=1 -run '^FuzzIncident$' -coverpkg=./... \
		-coverprofile="$tmp/$cut.cov" ./cmd/hoptrace >"$tmp/$cut.log" 2>&1) ||
		{ tail -20 "$tmp/$cut.log" >&2; exit 1; }
	# A block covered once counts; -coverpkg lists a block once per test binary.
	awk 'NR > 1 && $3 > 0 { print $1, $2 }' "$tmp/$cut.cov" | sort -u >"$tmp/$cut.blocks"
	[ -z "${BLOCKS:-}" ] || cp "$tmp/$cut.blocks" "$BLOCKS/"
	stmts=$(awk 'NR > 1 { n[$1] = $2 } END { for (b in n) s += n[b]; print s }' "$tmp/$cut.cov")
	covered=$(awk '{ s += $2 } END { print s }' "$tmp/$cut.blocks")
	echo "$cut: $(($(ls "$seeds" | wc -l) - committed)) corpus entries: $covered of $stmts statements covered"
	if [ -n "$prev" ]; then
		comm -13 "$tmp/$prev.blocks" "$tmp/$cut.blocks" |
			awk '{ sub("^github.com/hoptrace/hoptrace/", "", $1); n = split($1, p, "/"); pkg = n > 1 ? p[1] : "."; s[pkg] += $2; t += $2 }
			END { printf "  new since %s: %d statements", prev, t; for (k in s) printf "; %s %d", k, s[k]; print "" }' prev="$prev"
	fi
	prev=$cut
done
