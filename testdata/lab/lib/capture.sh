# shellcheck shell=bash
# Capturing at every hop at once with tcpdump.
#
# caps_start POINT... starts one tcpdump per capture point (NS:IFNAME, where
# IFNAME "any" gives a Linux SLL2 capture of the whole node namespace) and
# waits until every one of them really listens. caps_stop stops them with
# SIGINT so the files are complete, and records tcpdump's (kernel's
# PACKET_STATISTICS) counts in truth/capture-stats.tsv.
#
# Files: $SCDIR/<node>/<hop>.pcap, hop = <ns prefix>-<ifname>
#        (n1-eth0, n1-flannel.1, poda-eth0, n1-any, ...).

CAP_PIDS=()
V1_PIDS=()
V1_LOGS=()
CAP_HOPS=()
CAP_LOGS=()

caps_start() {
	local snap=$SNAPLEN point ns ifname hop node file logf pid i first
	CAP_PIDS=()
	CAP_HOPS=()
	CAP_LOGS=()
	V1_PIDS=()
	V1_LOGS=()
	# One namespace at a time: start its captures, wait until they listen,
	# read its interface counters at once. Nodes with IPv6 on are never
	# quiet (router solicitations, MLD reports), so the window between a
	# capture listening and the counters being read must stay short.
	for ns in "${LAB_NAMESPACES[@]}"; do
		first=${#CAP_PIDS[@]}
		for point in "$@"; do
			[[ ${point%%:*} == "$ns" ]] || continue
			ifname=${point#*:}
			hop="$(hop_prefix "$ns")-$ifname"
			node=$(node_of "$ns")
			mkdir -p "$SCDIR/$node"
			file="$SCDIR/$node/$hop.pcap"
			logf="$WORK/tcpdump-$hop.log"
			local extra=()
			# tcpdump -i any writes LINUX_SLL2 by default with libpcap >= 1.10;
			# ask for it explicitly so the link type never depends on defaults.
			[[ $ifname == any ]] && extra=(-y LINUX_SLL2)
			# Realistic scenarios (CAP_IMMEDIATE=1): --immediate-mode, because
			# libpcap's TPACKET_V3 ring otherwise hands packets over in blocks
			# retired after up to 1 s, and the packets of the current block are
			# lost when tcpdump is stopped (4 to 8 background packets per
			# capture); with a 64 MiB buffer, since immediate mode's ring has one
			# slot per snaplen-sized frame (the 2 MiB default dropped ~20% on
			# the -i any captures).
			[[ ${CAP_IMMEDIATE:-0} == 1 ]] && extra+=(--immediate-mode -B 65536)
			ip netns exec "$ns" tcpdump -Z root -n -U -i "$ifname" "${extra[@]}" -s "$snap" \
				--time-stamp-precision=nano -w "$file" >"$logf" 2>&1 &
			pid=$!
			LAB_PIDS+=("$pid")
			CAP_PIDS+=("$pid")
			CAP_HOPS+=("$hop")
			CAP_LOGS+=("$logf")
			printf '%s\t%s\t%s\t%s\t%s\n' "$hop" "$node" "$ns" "$ifname" "$node/$hop.pcap" >>"$SCDIR/truth/captures.tsv"
			# Realistic scenarios: the same -i any capture as tcpdump
			# before 4.99 writes it (Linux cooked v1, no interface index),
			# beside the scenario in <scenario>.cooked-v1/<node>/, out of
			# the incident and of the captures the check counts: the
			# analysis of those alone is held against this one's
			# (analyze's TestLabCookedV1).
			if [[ $ifname == any && ${CAP_IMMEDIATE:-0} == 1 ]]; then
				mkdir -p "$SCDIR.cooked-v1/$node"
				ip netns exec "$ns" tcpdump -Z root -n -U -i any -y LINUX_SLL --immediate-mode -B 65536 -s "$snap" \
					--time-stamp-precision=nano -w "$SCDIR.cooked-v1/$node/$hop.pcap" >"$logf.v1" 2>&1 &
				pid=$!
				LAB_PIDS+=("$pid")
				V1_PIDS+=("$pid")
				V1_LOGS+=("$logf.v1")
			fi
		done
		# Wait until each of them prints "listening on".
		for ((i = first; i < ${#CAP_PIDS[@]}; i++)); do
			local ok=0
			for _ in $(seq 600); do
				if grep -q 'listening on' "${CAP_LOGS[$i]}" 2>/dev/null; then
					ok=1
					break
				fi
				kill -0 "${CAP_PIDS[$i]}" 2>/dev/null || break
				sleep 0.02
			done
			((ok)) || die "tcpdump for ${CAP_HOPS[$i]} did not start: $(cat "${CAP_LOGS[$i]}")"
		done
		for ((i = 0; i < ${#V1_PIDS[@]}; i++)); do
			for _ in $(seq 600); do
				grep -q 'listening on' "${V1_LOGS[$i]}" 2>/dev/null && break
				kill -0 "${V1_PIDS[$i]}" 2>/dev/null || die "tcpdump -y LINUX_SLL did not start: $(cat "${V1_LOGS[$i]}")"
				sleep 0.02
			done
		done
		# Interface counters at the start of the capture window; the truth
		# tool reports the difference to the counters read after the
		# captures stop.
		# The kernel clock when they were read (all namespaces share it, and
		# the captures are stamped with it): the check counts the frames
		# inside this window.
		date +%s%N >"$SCDIR/truth/$(hop_prefix "$ns")-ip-link-before.ns"
		ip -n "$ns" -j -s link >"$SCDIR/truth/$(hop_prefix "$ns")-ip-link-before.json"
		# And when the read had finished: under a load average of 16 the
		# counters of a pod, read after the clock, already held frames
		# stamped 0.8 s later; the frames of that span are in the counters
		# or not, and the check allows for them.
		date +%s%N >"$SCDIR/truth/$(hop_prefix "$ns")-ip-link-before.read.ns"
		# /proc/net/snmp at the start too: the truth tool reports deltas.
		nsx "$ns" cat /proc/net/snmp >"$SCDIR/truth/$(hop_prefix "$ns")-snmp-before.txt"
		if [[ $IPV6 == on ]]; then
			nsx "$ns" cat /proc/net/snmp6 >"$SCDIR/truth/$(hop_prefix "$ns")-snmp6-before.txt"
		fi
	done
	((${#CAP_PIDS[@]} == $#)) || die "caps_start: $# capture points, ${#CAP_PIDS[@]} in the lab's namespaces"
	# A little extra time: "listening on" is printed right after the socket
	# is bound, give the ring a moment before traffic starts.
	sleep 0.3
}

caps_stop() {
	local i pid
	sleep "${SETTLE:-1}"
	# Interface counters at the end of the capture window (see caps_start),
	# read while the captures still run: nodes are never quiet, and the
	# check counts the frames up to this moment.
	local ns
	for ns in "${LAB_NAMESPACES[@]}"; do
		date +%s%N >"$SCDIR/truth/$(hop_prefix "$ns")-ip-link.ns"
		ip -n "$ns" -j -s -d link >"$SCDIR/truth/$(hop_prefix "$ns")-ip-link.json"
		date +%s%N >"$SCDIR/truth/$(hop_prefix "$ns")-ip-link.read.ns"
	done
	# Without --immediate-mode, libpcap's TPACKET_V3 ring hands packets
	# over in blocks retired at most 1 s after they open, and a block not
	# yet retired when tcpdump is stopped is lost: with IPv6 on, the few
	# background packets just before the closing read went missing (3 or 4
	# frames on df-ping's and frag-ping's pod veths in a fresh CI run).
	# Let every block that holds a packet from before the read retire.
	[[ ${CAP_IMMEDIATE:-0} == 1 ]] || sleep 1.5
	for pid in "${CAP_PIDS[@]}" "${V1_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	for pid in "${CAP_PIDS[@]}" "${V1_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	log "  captures stopped"
	printf 'hop\tcaptured\treceived_by_filter\tdropped_by_kernel\n' >"$SCDIR/truth/capture-stats.tsv"
	for i in "${!CAP_HOPS[@]}"; do
		local f=${CAP_LOGS[$i]} c r d
		c=$(awk '/packets? captured/{print $1}' "$f")
		r=$(awk '/packets? received by filter/{print $1}' "$f")
		d=$(awk '/packets? dropped by kernel/{print $1}' "$f")
		printf '%s\t%s\t%s\t%s\n' "${CAP_HOPS[$i]}" "${c:-?}" "${r:-?}" "${d:-?}" >>"$SCDIR/truth/capture-stats.tsv"
	done
	# Forget the capture pids (they are gone) so teardown does not wait again.
	local keep=() p q gone
	for p in "${LAB_PIDS[@]}"; do
		gone=0
		for q in "${CAP_PIDS[@]}" "${V1_PIDS[@]}"; do [[ $p == "$q" ]] && gone=1; done
		((gone)) || keep+=("$p")
	done
	LAB_PIDS=("${keep[@]}")
	CAP_PIDS=()
	V1_PIDS=()
}
