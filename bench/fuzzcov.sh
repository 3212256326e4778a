#!/usr/bin/env bash
# Has fuzzing stopped finding new coverage? (issue 16: run FuzzIncident
# "long enough to stop finding new coverage".) The fuzzer's own "new
# interesting" count includes inputs that only change how often a branch
# runs (hit-count buckets), so it never quite reaches zero. This script
# measures statements instead: it runs every corpus entry on its own,
# under a coverage-instrumented test binary of HEAD, takes the blocks of
# hoptrace's code it covers beyond the seeds and the committed entries
# (crashers and the minimal corpus: testdata/fuzz/FuzzIncident), and
# prints, for every STEP minutes of the entries' file times (when the
# fuzzer wrote them), the statements the corpus covered by then and which
# packages the step added. Coverage flat from one step to the next, over
# many executions, is the plateau.
#
#   bash bench/fuzzcov.sh CORPUS [STEP]
#   bash bench/fuzzcov.sh /tmp/hoptrace-fuzz/FuzzIncident 10
#   MIN=DIR bash bench/fuzzcov.sh CORPUS    # also a minimal corpus in DIR
#
# CORPUS is the fuzz cache's FuzzIncident directory (-test.fuzzcachedir);
# STEP is in minutes (default 10). Each entry runs once in a temporary
# worktree (about 0.1 s, two at a time). With MIN=DIR, the entries a
# greedy set cover picks (the one adding the most statements first, until
# the rest add none) are copied to DIR: the same statements as the whole
# corpus from far fewer entries, to resume a later run from.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,24p "$0" >&2; exit 2; }
corpus=$(cd "$1" && pwd)
step=${2:-10}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/repo" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/repo" HEAD
# FuzzIncident seeds from ../shared/corpus too, when it is there.
[ -d ../shared ] && ln -s "$(cd ../shared && pwd)" "$tmp/shared"
cd "$tmp/repo/cmd/hoptrace"
go test -c -cover -covermode=set -coverpkg=../../... -o "$tmp/fuzz.test" . >/dev/null
# blocks PROFILE: the covered blocks of a profile, one "file:range statements" a line.
blocks() { awk 'NR > 1 && $3 > 0 { print $1, $2 }' "$1" | sort -u; }
"$tmp/fuzz.test" -test.run '^FuzzIncident$' -test.coverprofile "$tmp/base.cov" >/dev/null
blocks "$tmp/base.cov" >"$tmp/base.blocks"
total=$(awk 'NR > 1 { n[$1] = $2 } END { for (b in n) s += n[b]; print s }' "$tmp/base.cov")
based=$(awk '{ s += $2 } END { print s }' "$tmp/base.blocks")

# Each entry alone, in a directory of its own laid out as the checkout
# (the test reads ../../testdata and ../../../shared), so two run at once:
# the blocks it covers beyond the seeds'.
mkdir "$tmp/e"
one() {
	local name=$1 dir=$tmp/one/$1
	mkdir -p "$dir/repo/cmd/hoptrace/testdata/fuzz/FuzzIncident"
	cp "$corpus/$name" "$dir/repo/cmd/hoptrace/testdata/fuzz/FuzzIncident/"
	ln -s "$tmp/repo/testdata" "$dir/repo/testdata"
	if [ -e "$tmp/shared" ]; then ln -s "$tmp/shared" "$dir/shared"; fi
	(cd "$dir/repo/cmd/hoptrace" && "$tmp/fuzz.test" -test.run "^FuzzIncident\$/^$name\$" \
		-test.coverprofile "$dir/cov" >/dev/null 2>&1) || echo "entry $name failed" >&2
	if [ -f "$dir/cov" ]; then blocks "$dir/cov" | comm -13 "$tmp/base.blocks" - >"$tmp/e/$name"; fi
	rm -rf "$dir"
}
export -f one blocks
export tmp corpus
echo "$(ls "$corpus" | wc -l) entries; the seeds and committed entries cover $based of $total statements" >&2
ls "$corpus" | xargs -P 2 -I{} bash -c 'one {}'

# The timeline: entries by file time, the statements covered by the end of
# each step, and what the step added by package.
find "$corpus" -type f -printf '%T@ %f\n' | sort -n >"$tmp/times"
awk -v step=$((step * 60)) -v based="$based" -v dir="$tmp/e" '
	function pkg(b) { sub("^github.com/hoptrace/hoptrace/", "", b); n = split(b, p, "/"); return n > 1 ? p[1] : "." }
	function flush(   k, line) {
		line = sprintf("%s  %5d entries  %d statements", strftime("%Y-%m-%d %H:%M", end, 1), entries, based + cov)
		if (add) { line = line sprintf("  +%d:", add); for (k in by) line = line sprintf(" %s %d", k, by[k]) }
		print line; add = 0; delete by
	}
	NR == 1 { end = $1 - $1 % step + step }
	{
		while ($1 >= end) { flush(); end += step }
		entries++
		f = dir "/" $2
		while ((getline l < f) > 0) { split(l, b, " "); if (!(b[1] in seen)) { seen[b[1]] = 1; cov += b[2]; add += b[2]; by[pkg(b[1])] += b[2] } }
		close(f)
	}
	END { flush() }' "$tmp/times"

# A minimal corpus: greedy set cover of the entries' blocks.
if [ -n "${MIN:-}" ]; then
	mkdir -p "$MIN"
	(cd "$tmp/e" && for f in *; do if [ -s "$f" ]; then sed "s/^/$f /" "$f"; fi; done) |
		awk '{ stm[$2] = $3; has[$1] = has[$1] " " $2 }
		END {
			for (;;) {
				best = ""; bn = 0
				for (e in has) { n = 0; k = split(has[e], bs, " "); for (i = 1; i <= k; i++) if (!(bs[i] in done)) n += stm[bs[i]]; if (n > bn) { bn = n; best = e } }
				if (best == "") break
				k = split(has[best], bs, " "); for (i = 1; i <= k; i++) done[bs[i]] = 1
				print best, bn; delete has[best]
			}
		}' >"$tmp/min"
	while read -r name n; do cp -p "$corpus/$name" "$MIN/"; done <"$tmp/min"
	echo "minimal corpus: $(wc -l <"$tmp/min") entries in $MIN, $(awk '{ s += $2 } END { print s + 0 }' "$tmp/min") statements beyond the seeds" >&2
fi
