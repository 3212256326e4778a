# shellcheck shell=bash
# Ground truth: what the kernel itself says after a scenario's traffic.
#
# truth_collect writes into $SCDIR/truth/ for every lab namespace (prefix
# n1, n2, poda, podb, podc):
#   <p>-ip-s-link.txt   ip -s -s link          (human readable counters, read now)
# (<p>-ip-link-before.json / <p>-ip-link.json, ip -j -s -d link at the start
#  and end of the capture window, are written by caps_start / caps_stop)
#   <p>-ip-addr.txt, <p>-ip-route.txt, <p>-ip-neigh.txt
#   <p>-snmp.txt        /proc/net/snmp          (Ip Frag*/Reasm*, Icmp ...)
#   <p>-ethtool-k.txt   ethtool -k for each interface
# and for the nodes also:
#   <p>-iptables-save.txt      iptables-save -c (all tables, with counters)
#   <p>-iptables-filter.txt    iptables -L -v -x -n
#   <p>-iptables-nat.txt       iptables -t nat -L -v -x -n
#   <p>-conntrack.txt          conntrack -L -o extended
#   <p>-bridge-fdb.txt         bridge fdb show
# and for pod A: poda-route-get-c.txt (ip route get 10.244.1.5: shows a
# learned path MTU as "mtu N" when a frag-needed was received).

truth_ns() {
	local ns=$1 p d ifn
	p=$(hop_prefix "$ns")
	d=$SCDIR/truth
	ip -n "$ns" -s -s link >"$d/$p-ip-s-link.txt"
	ip -n "$ns" addr >"$d/$p-ip-addr.txt"
	ip -n "$ns" route >"$d/$p-ip-route.txt"
	ip -n "$ns" neigh >"$d/$p-ip-neigh.txt"
	nsx "$ns" cat /proc/net/snmp >"$d/$p-snmp.txt"
	if [[ -e $d/$p-snmp6-before.txt ]]; then
		nsx "$ns" cat /proc/net/snmp6 >"$d/$p-snmp6.txt" 2>/dev/null || true
	fi
	# nftables rules with counters (the underlay switch and realistic
	# scenarios' drops; iptables-nft rules appear here too).
	if [[ ${NFT_TRUTH:-0} == 1 ]]; then
		nsx "$ns" nft -j list ruleset >"$d/$p-nft.json" 2>/dev/null || true
	fi
	: >"$d/$p-ethtool-k.txt"
	for ifn in $(ip -n "$ns" -o link | awk -F': ' '{sub(/@.*/,"",$2); print $2}'); do
		[[ $ifn == lo ]] && continue
		{
			echo "### $ifn"
			nsx "$ns" ethtool -k "$ifn" 2>&1 || true
		} >>"$d/$p-ethtool-k.txt"
	done
}

truth_node() {
	local ns=$1 p d
	p=$(hop_prefix "$ns")
	d=$SCDIR/truth
	nsx "$ns" iptables-save -c >"$d/$p-iptables-save.txt"
	nsx "$ns" iptables -L -v -x -n >"$d/$p-iptables-filter.txt"
	nsx "$ns" iptables -t nat -L -v -x -n >"$d/$p-iptables-nat.txt"
	nsx "$ns" conntrack -L -o extended >"$d/$p-conntrack.txt" 2>"$WORK/conntrack-$p.err" || true
	if [[ ${NFT_TRUTH:-0} == 1 ]]; then
		nsx "$ns" ip6tables-save -c >"$d/$p-ip6tables-save.txt"
		nsx "$ns" conntrack -L -f ipv6 -o extended >"$d/$p-conntrack6.txt" 2>>"$WORK/conntrack-$p.err" || true
	fi
	nsx "$ns" bridge fdb show >"$d/$p-bridge-fdb.txt"
}

truth_collect() {
	local ns
	log "collecting kernel ground truth"
	# Conntrack and iptables first: they are what changes with time.
	truth_node "$NS_NODE1"
	truth_node "$NS_NODE2"
	for ns in "${LAB_NAMESPACES[@]}"; do truth_ns "$ns"; done
	ip -n "$NS_PODA" route get "$POD_C" >"$SCDIR/truth/poda-route-get-c.txt" 2>&1 || true
	ip -n "$NS_PODC" route get "$POD_A" >"$SCDIR/truth/podc-route-get-a.txt" 2>&1 || true
}
