#!/usr/bin/env bash
# hoptrace lab: a two-node Kubernetes pod network in network namespaces,
# captured at every hop at once, with the kernel's ground truth beside the
# captures. See testdata/captures/README.md.
#
# Usage (as root):
#   testdata/lab/lab.sh [--out DIR] [--scenario NAME]... [--list]
#
#   --out DIR        where to write <scenario>/ directories
#                    (default: testdata/captures next to this script's dir)
#   --scenario NAME  run only NAME (repeatable); default: all scenarios
#   --list           print the scenario names and exit
#
# The lab creates only its own namespaces (ht-node1, ht-node2, ht-poda,
# ht-podb, ht-podc), never links them to the host's namespace, adds no route
# out, and removes them again on exit, also after a failure or Ctrl-C.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)
OUT=$LAB_DIR/../captures
SELECTED=()

# shellcheck source=lib/topo.sh
. "$LAB_DIR/lib/topo.sh"
# shellcheck source=lib/capture.sh
. "$LAB_DIR/lib/capture.sh"
# shellcheck source=lib/truth.sh
. "$LAB_DIR/lib/truth.sh"
# shellcheck source=lib/scenarios.sh
. "$LAB_DIR/lib/scenarios.sh"
# shellcheck source=lib/realistic.sh
. "$LAB_DIR/lib/realistic.sh"

while (($#)); do
	case $1 in
	--out)
		OUT=$2
		shift 2
		;;
	--scenario)
		SELECTED+=("$2")
		shift 2
		;;
	--list)
		printf '%s\n' "${ALL_SCENARIOS[@]}"
		exit 0
		;;
	-h | --help)
		sed -n '2,18p' "$0"
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done
((${#SELECTED[@]})) || SELECTED=("${ALL_SCENARIOS[@]}")
for s in "${SELECTED[@]}"; do
	declare -F "sc_$s" >/dev/null || die "unknown scenario '$s' (try --list)"
done

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, tcpdump, iptables)"
for tool in ip tcpdump iptables iptables-save ip6tables-save nft editcap conntrack ethtool bridge ss ping go; do
	command -v "$tool" >/dev/null || die "missing tool: $tool (apt-get install iproute2 tcpdump iptables nftables wireshark-common conntrack ethtool iputils-ping; Go for the helpers)"
done

# One lab at a time on a machine: the namespace names are fixed.
exec 9>/tmp/hoptrace-lab.lock
command -v flock >/dev/null && { flock -w 900 9 || die "another lab run holds /tmp/hoptrace-lab.lock"; }

WORK=$(mktemp -d /tmp/hoptrace-lab.XXXXXX)
BIN=$WORK/bin

cleanup() {
	local rc=$?
	set +e
	topo_down
	if ((rc != 0)) || [[ ${KEEP_WORK:-} == 1 ]]; then
		log "exit $rc; tool logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an earlier run that was killed hard (only our exact names).
topo_down

log "building helpers"
mkdir -p "$BIN"
(cd "$REPO_DIR" && go build -buildvcs=false -o "$BIN/ipiptun" ./testdata/lab/ipiptun &&
	go build -buildvcs=false -o "$BIN/traffic" ./testdata/lab/traffic &&
	go build -buildvcs=false -o "$BIN/truth" ./testdata/lab/truth) || die "go build of the lab helpers failed"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# pod_retrans DIR: TCP segments the pods of a scenario retransmitted, from
# their /proc/net/snmp.
pod_retrans() {
	awk '/^Tcp:/ {
		if (hdr) { for (i = 2; i <= NF; i++) if (name[i] == "RetransSegs") n += $i; hdr = 0 }
		else { for (i = 2; i <= NF; i++) name[i] = $i; hdr = 1 }
	} END { print n + 0 }' "$1"/truth/pod*-snmp.txt
}

start=$(date +%s)
for s in "${SELECTED[@]}"; do
	# A scenario that injects no loss must lose nothing, or its truth (no
	# drops) is wrong: a pod's TCP retransmission there means the machine
	# lost packets on its own (a loaded host, the user-space IPIP tunnel),
	# so the scenario is run again, at most twice.
	for try in 1 2 3; do
		"sc_$s"
		case $s in drops | pmtud-blackhole | underlay-loss) break ;; esac
		r=$(pod_retrans "$OUT/$s")
		[ "$r" = 0 ] && break
		[ "$try" = 3 ] && die "$s: the pods retransmitted $r TCP segments in three runs though nothing was injected"
		log "$s: the pods retransmitted $r TCP segments though nothing was injected; running it again"
	done
done
log "all done in $(($(date +%s) - start)) s: ${SELECTED[*]} -> $OUT"
