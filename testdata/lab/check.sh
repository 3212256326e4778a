#!/usr/bin/env bash
# Check lab captures against the ground truth written beside them.
#
# Usage:
#   testdata/lab/check.sh [DIR]        check an existing lab output
#                                      (default: testdata/captures, the
#                                      committed golden set; no root needed)
#   testdata/lab/check.sh --run [DIR]  as root: run the lab into DIR (default
#                                      a fresh temporary directory), then
#                                      check that fresh run against its own
#                                      fresh truth
#
# Prints "lab skipped: <reason>" and exits 0 when the lab cannot run here
# (not root, network namespaces unusable, tools missing). Otherwise prints
# one line per check and "lab-check: N passed, M failed"; exits 1 on failure.
#
# The checks themselves are in testdata/lab/check (Go; protocol decoding
# through tshark in one function, to be swapped for hoptrace's decoder).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)

skip() {
	echo "lab skipped: $*"
	exit 0
}

RUN=0
if [[ ${1:-} == --run ]]; then
	RUN=1
	shift
fi
DIR=${1:-}

command -v go >/dev/null || skip "go not installed"
command -v tshark >/dev/null || skip "tshark not installed (apt-get install tshark)"

TMP=""
if ((RUN)); then
	[[ $(id -u) -eq 0 ]] || skip "not root"
	for tool in ip tcpdump iptables iptables-save ip6tables-save nft editcap conntrack ethtool bridge ss ping; do
		command -v "$tool" >/dev/null || skip "missing $tool (apt-get install iproute2 tcpdump iptables nftables wireshark-common conntrack ethtool iputils-ping)"
	done
	# Can we make namespaces with veth and vxlan devices? (probe, then remove)
	probe=ht-probe-$$
	if ! ip netns add "$probe" 2>/dev/null; then
		skip "cannot create network namespaces"
	fi
	ok=1
	ip -n "$probe" link add htp0 type veth peer name htp1 2>/dev/null || ok=0
	((ok)) && { ip -n "$probe" link add htvx type vxlan id 1 dstport 8472 dev htp0 2>/dev/null || ok=0; }
	((ok)) && { ip netns exec "$probe" iptables -S >/dev/null 2>&1 || ok=0; }
	ip netns del "$probe" 2>/dev/null || true
	((ok)) || skip "network namespaces lack veth, vxlan or iptables support"

	if [[ -z $DIR ]]; then
		TMP=$(mktemp -d /tmp/hoptrace-lab-out.XXXXXX)
		DIR=$TMP
	fi
	"$LAB_DIR/lab.sh" --out "$DIR"
fi
DIR=${DIR:-$LAB_DIR/../captures}

BIN=$(mktemp -d /tmp/hoptrace-lab-check.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
(cd "$REPO_DIR" && go build -buildvcs=false -o "$BIN/check" ./testdata/lab/check)
rc=0
"$BIN/check" -dir "$DIR" || rc=$?
if ((rc == 0)) && [[ -n $TMP ]]; then
	rm -rf "$TMP"
elif [[ -n $TMP ]]; then
	echo "lab output kept in $TMP"
fi
exit "$rc"
