# shellcheck shell=bash
# The lab's scenarios. Each sc_<name> function builds a fresh topology,
# starts servers, captures at every hop while it sends a known amount of
# traffic, collects the kernel's ground truth and tears everything down.
#
# What a scenario injected is described in truth/scenario.json (written by
# sc_end from the sc_flow / sc_inject calls); truth/expect.json is derived
# from the kernel's outputs by the truth tool (testdata/lab/truth).

# shellcheck disable=SC2034 # used by lab.sh
ALL_SCENARIOS=(
	same-node-tcp
	cross-vxlan
	cross-routed
	cross-ipip
	bulk-offload-on
	bulk-offload-off
	df-ping
	frag-ping
	drops
	service-dnat
	pmtud-blackhole
	any-only-ipip
	realistic-vxlan
	nodeport-snat
	underlay-loss
	calico-vxlan
)
# Realistic scenarios (lib/realistic.sh): IPv6 on, background traffic.
REALISTIC_SCENARIOS=(realistic-vxlan nodeport-snat underlay-loss calico-vxlan)

# jstr TEXT : TEXT as a JSON string
jstr() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/ }
	s=${s//$'\n'/ }
	printf '"%s"' "$s"
}

# sc_begin NAME MODE POD_MTU SNAPLEN DESCRIPTION
sc_begin() {
	SCENARIO=$1 MODE=$2 POD_MTU=$3 SNAPLEN=$4 DESC=$5
	SCDIR=$OUT/$SCENARIO
	# IPv6 stays on in every namespace, as on every real node (issue 12);
	# LAB_IPV6=off reproduces the classic scenarios' committed captures,
	# which were taken with it off.
	IPV6=${LAB_IPV6:-on}
	log "=== scenario $SCENARIO (mode $MODE, pod MTU $POD_MTU, snaplen $SNAPLEN)"
	rm -rf "$SCDIR"
	mkdir -p "$SCDIR/truth"
	: >"$SCDIR/truth/traffic.jsonl"
	printf 'hop\tnode\tnetns\tifname\tfile\n' >"$SCDIR/truth/captures.tsv"
	FLOWS=()
	INJECTED=()
	OFFLOADS=default
	SERVER_PIDS=()
	topo_up
}

sc_flow() { FLOWS+=("$1"); }                         # sc_flow JSON-OBJECT
sc_inject() { INJECTED+=("$(jstr "$1")"); }         # sc_inject TEXT

# in_ns_bg NS NAME CMD... : start a server in NS, stdout to truth/server-NAME.jsonl
in_ns_bg() {
	local ns=$1 name=$2
	shift 2
	ip netns exec "$ns" "$@" >"$SCDIR/truth/server-$name.jsonl" 2>"$WORK/server-$name.err" &
	LAB_PIDS+=($!)
	SERVER_PIDS+=($!)
}

# wait_port NS tcp|udp PORT : wait until something listens on PORT in NS
wait_port() {
	local ns=$1 proto=$2 port=$3 i flag=-ltn
	[[ $proto == udp ]] && flag=-lun
	for _ in $(seq 150); do
		nsx "$ns" ss -H "$flag" "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	die "nothing listens on $proto/$port in $ns"
}

# run_traffic NS CMD... : run a client, append its JSON result to traffic.jsonl
run_traffic() {
	local ns=$1
	shift
	log "  traffic in $ns: ${*##*/}"
	nsx "$ns" "$@" >>"$SCDIR/truth/traffic.jsonl" || log "  (client exited with $?)"
}

# wait_tcp_quiet NS FILTER : wait (at most 60 s) until namespace NS has no
# TCP socket matching the ss FILTER in a state that may still send a segment
# (everything but TIME-WAIT, which only answers, and closed).
wait_tcp_quiet() {
	local ns=$1 filter=$2 i
	for ((i = 0; i < 600; i++)); do
		# shellcheck disable=SC2086
		if [[ -z $(nsx "$ns" ss -Htan state syn-sent state syn-recv state established state fin-wait-1 \
			state fin-wait-2 state close-wait state last-ack state closing $filter) ]]; then
			return 0
		fi
		sleep 0.1
	done
	log "  TCP sockets in $ns ($filter) still busy after 60 s"
}

# stop_servers : SIGTERM the scenario's servers and wait for them
stop_servers() {
	local p
	for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	SERVER_PIDS=()
}

# set_offloads on|off : ethtool -K on every interface of every lab namespace
set_offloads() {
	local v=$1 ns ifn
	OFFLOADS=$v
	for ns in "${LAB_NAMESPACES[@]}"; do
		for ifn in $(ip -n "$ns" -o link | awk -F': ' '{sub(/@.*/,"",$2); print $2}'); do
			[[ $ifn == lo ]] && continue
			nsx "$ns" ethtool -K "$ifn" tso "$v" gso "$v" gro "$v" >>"$WORK/ethtool.log" 2>&1 || true
		done
	done
	sc_inject "ethtool -K <every lab interface> tso $v gso $v gro $v (actual state: truth/*-ethtool-k.txt)"
}

# sc_end : truth, scenario.json, expect.json, teardown
sc_end() {
	stop_servers
	truth_collect
	local tun flows inj
	tun=$(tun_dev)
	flows=$(IFS=,; echo "${FLOWS[*]}")
	inj=$(IFS=,; echo "${INJECTED[*]}")
	cat >"$SCDIR/truth/scenario.json" <<EOF
{
  "schema": 1,
  "scenario": "$SCENARIO",
  "description": $(jstr "$DESC"),
  "mode": "$MODE",
  "tunnel_device": "$tun",
  "pod_mtu": $POD_MTU,
  "snaplen": $SNAPLEN,
  "offloads": "$OFFLOADS",
  "ipv6": "$IPV6",
  "br_netfilter": "$(nsx "$NS_NODE1" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)",
  "nodes": {
    "node-1": {"netns": "$NS_NODE1", "eth0": "$NODE1_IP", "pod_cidr": "$CIDR1", "cni0": "10.244.0.1"},
    "node-2": {"netns": "$NS_NODE2", "eth0": "$NODE2_IP", "pod_cidr": "$CIDR2", "cni0": "10.244.1.1"}
  },
  "pods": {
    "pod-a": {"netns": "$NS_PODA", "ip": "$POD_A", "node": "node-1", "host_veth": "veth-pod-a"},
    "pod-b": {"netns": "$NS_PODB", "ip": "$POD_B", "node": "node-1", "host_veth": "veth-pod-b"},
    "pod-c": {"netns": "$NS_PODC", "ip": "$POD_C", "node": "node-2", "host_veth": "veth-pod-c"}
  },
  "injected": [$inj],
  "flows": [$flows]
}
EOF
	"$BIN/truth" -dir "$SCDIR" || die "truth tool failed for $SCENARIO"
	topo_down
	log "=== scenario $SCENARIO done"
}

# --- shared traffic pieces ------------------------------------------------

TCP_REQ=200
TCP_RESP=3000
TCP_CONNS=3
DNS_QUERIES=3
DNS_NAME=kubernetes.default.svc.cluster.local

# flow_tcp_req ID SRC(a|b|c) DSTLETTER DSTIP DPORT [EXTRA-JSON]
flow_tcp_req() {
	local id=$1 s=$2 d=$3 dip=$4 dport=$5 extra=${6:-}
	local sip
	case $s in a) sip=$POD_A ;; b) sip=$POD_B ;; c) sip=$POD_C ;; esac
	sc_flow "{\"id\":\"$id\",\"proto\":\"tcp\",\"kind\":\"request-response\",\"src\":\"$sip\",\"dst\":\"$dip\",\"dport\":$dport,\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP,\"df\":true,\"path\":$(path_json "$s" "$d"),\"reply_path\":$(path_json "$d" "$s")$extra}"
}

flow_dns() {
	local s=$1 d=$2 dip=$3 sip
	case $s in a) sip=$POD_A ;; b) sip=$POD_B ;; c) sip=$POD_C ;; esac
	sc_flow "{\"id\":\"dns\",\"proto\":\"udp\",\"kind\":\"dns\",\"src\":\"$sip\",\"dst\":\"$dip\",\"dport\":53,\"queries\":$DNS_QUERIES,\"qname\":\"$DNS_NAME\",\"answer\":\"10.96.0.1\",\"path\":$(path_json "$s" "$d"),\"reply_path\":$(path_json "$d" "$s")}"
}

# cross_req_dns : pod A -> pod C TCP request/response + DNS-like UDP
cross_req_dns() {
	in_ns_bg "$NS_PODC" tcp "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	in_ns_bg "$NS_PODC" dns "$BIN/traffic" dns-serve -listen :53 -n 0
	wait_port "$NS_PODC" tcp 8080
	wait_port "$NS_PODC" udp 53
	caps_start "$@"
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_C:8080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	run_traffic "$NS_PODA" "$BIN/traffic" dns-query -to "$POD_C:53" -name $DNS_NAME -n $DNS_QUERIES -gap 100ms
	caps_stop
	flow_tcp_req tcp-req a c "$POD_C" 8080
	flow_dns a c "$POD_C"
}

# --- scenarios --------------------------------------------------------------

sc_same-node-tcp() {
	sc_begin same-node-tcp vxlan 1450 262144 \
		"Same-node TCP request/response: pod A -> pod B through node-1's cni0 bridge (bridged port to port, not routed; nothing leaves node-1). n1-cni0 still holds the frames: tcpdump puts cni0 in promiscuous mode, and a promiscuous bridge passes every frame up to its own interface too (the host stack then ignores them). With br_netfilter on, the frames also traverse node-1's iptables FORWARD chain and conntrack."
	in_ns_bg "$NS_PODB" tcp "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	wait_port "$NS_PODB" tcp 8080
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_B:8080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	caps_stop
	flow_tcp_req tcp-req a b "$POD_B" 8080 ",\"also_seen\":[\"n1-cni0\"],\"note\":\"n1-cni0 sees the bridged frames only because the capture makes cni0 promiscuous\""
	sc_end
}

sc_cross() { # sc_cross MODE
	local mode=$1
	sc_begin "cross-$mode" "$mode" "$(mode_pod_mtu "$mode")" 262144 \
		"Cross-node in $mode mode: pod A (node-1) -> pod C (node-2) TCP request/response ($TCP_CONNS connections, $TCP_REQ B request, $TCP_RESP B response) and $DNS_QUERIES DNS A queries over UDP/53. Pod MTU as the CNI sets it for $mode."
	# shellcheck disable=SC2046
	cross_req_dns $(capture_points)
	sc_end
}
sc_cross-vxlan() { sc_cross vxlan; }
sc_cross-routed() { sc_cross routed; }
sc_cross-ipip() { sc_cross ipip; }

BULK_BYTES=262144

sc_bulk() { # sc_bulk on|off
	local v=$1
	sc_begin "bulk-offload-$v" vxlan 1450 128 \
		"Bulk TCP pod A -> pod C over VXLAN ($BULK_BYTES bytes), offloads (TSO/GSO/GRO) $v on every lab interface. With offloads on, veth/cni0/flannel.1/eth0 captures hold GSO super-frames far larger than the MTU: real, and not an MTU problem. Captured with snaplen 128."
	set_offloads "$v"
	in_ns_bg "$NS_PODC" bulk "$BIN/traffic" bulk-recv -listen :5001 -n 1
	wait_port "$NS_PODC" tcp 5001
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	run_traffic "$NS_PODA" "$BIN/traffic" bulk-send -to "$POD_C:5001" -bytes $BULK_BYTES -timeout 20s
	caps_stop
	sc_flow "{\"id\":\"bulk\",\"proto\":\"tcp\",\"kind\":\"bulk\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"dport\":5001,\"bytes\":$BULK_BYTES,\"df\":true,\"offloads\":\"$v\",\"path\":$(path_json a c),\"reply_path\":$(path_json c a)}"
	sc_end
}
sc_bulk-offload-on() { sc_bulk on; }
sc_bulk-offload-off() { sc_bulk off; }

sc_df-ping() {
	sc_begin df-ping vxlan 1500 262144 \
		"DF ping larger than the tunnel MTU: pods keep MTU 1500 (misconfigured for VXLAN), flannel.1 has 1450. pod A pings pod C with DF and 1472 B payload (1500 B packets): node-1 answers ICMP frag-needed (type 3 code 4) with mtu 1450; pod A learns PMTU 1450 and later pings fail locally. A control ping of 1422 B payload (1450 B packets) with DF passes."
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	log "  ping -M do -s 1422 (control, fits)"
	nsx "$NS_PODA" ping -n -M "do" -s 1422 -c 2 -i 0.3 -W 1 "$POD_C" >"$SCDIR/truth/ping-df-1422.txt" 2>&1 || true
	log "  ping -M do -s 1472 (too big for flannel.1)"
	nsx "$NS_PODA" ping -n -M "do" -s 1472 -c 3 -i 0.3 -W 1 "$POD_C" >"$SCDIR/truth/ping-df-1472.txt" 2>&1 || true
	caps_stop
	sc_flow "{\"id\":\"ping-df-1422\",\"proto\":\"icmp\",\"kind\":\"ping\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"count\":2,\"payload\":1422,\"ip_len\":1450,\"df\":true,\"truth_file\":\"truth/ping-df-1422.txt\",\"path\":$(path_json a c),\"reply_path\":$(path_json c a)}"
	sc_flow "{\"id\":\"ping-df-1472\",\"proto\":\"icmp\",\"kind\":\"ping\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"count\":3,\"payload\":1472,\"ip_len\":1500,\"df\":true,\"truth_file\":\"truth/ping-df-1472.txt\",\"path\":[\"poda-eth0\",\"n1-veth-pod-a\",\"n1-cni0\"],\"note\":\"dropped at node-1 (too big for flannel.1, DF); node-1 sends ICMP frag-needed back along the reverse of path\"}"
	sc_end
}

sc_frag-ping() {
	sc_begin frag-ping vxlan 1500 262144 \
		"Large non-DF ping: pods keep MTU 1500, flannel.1 has 1450. pod A pings pod C with 3000 B payload without DF: pod A fragments (1500 B fragments), node-1 re-fragments for flannel.1 (<= 1450 B; node-1 runs conntrack, which reassembles before forwarding and fragments again), pod C reassembles; the reply is fragmented the same way in reverse."
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	log "  ping -M dont -s 3000"
	nsx "$NS_PODA" ping -n -M dont -s 3000 -c 3 -i 0.3 -W 2 "$POD_C" >"$SCDIR/truth/ping-frag-3000.txt" 2>&1 || true
	caps_stop
	sc_flow "{\"id\":\"ping-frag-3000\",\"proto\":\"icmp\",\"kind\":\"ping\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"count\":3,\"payload\":3000,\"ip_len\":3028,\"df\":false,\"truth_file\":\"truth/ping-frag-3000.txt\",\"path\":$(path_json a c),\"reply_path\":$(path_json c a)}"
	sc_end
}

UDP_BURST=100
DROP_P=0.2

sc_drops() {
	sc_begin drops vxlan 1450 262144 \
		"Random drops in node-1's FORWARD chain (iptables -m statistic --mode random --probability $DROP_P) on pod A -> pod C: $UDP_BURST UDP datagrams to port 9000 (exact count: sent - received = rule counter) and 10 TCP request/response connections to 8080 (drops repaired by retransmission). The rules' counters are in truth/n1-iptables-*.txt."
	local c1="hoptrace-lab: random drop udp A->C:9000" c2="hoptrace-lab: random drop tcp A->C:8080"
	nsx "$NS_NODE1" iptables -I FORWARD 1 -s "$POD_A/32" -d "$POD_C/32" -p udp --dport 9000 \
		-m statistic --mode random --probability $DROP_P -m comment --comment "$c1" -j DROP
	nsx "$NS_NODE1" iptables -I FORWARD 2 -s "$POD_A/32" -d "$POD_C/32" -p tcp --dport 8080 \
		-m statistic --mode random --probability $DROP_P -m comment --comment "$c2" -j DROP
	sc_inject "node-1: iptables -I FORWARD 1 -s $POD_A/32 -d $POD_C/32 -p udp --dport 9000 -m statistic --mode random --probability $DROP_P -j DROP"
	sc_inject "node-1: iptables -I FORWARD 2 -s $POD_A/32 -d $POD_C/32 -p tcp --dport 8080 -m statistic --mode random --probability $DROP_P -j DROP"
	in_ns_bg "$NS_PODC" udp "$BIN/traffic" udp-sink -listen :9000 -idle 2s
	in_ns_bg "$NS_PODC" tcp "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	wait_port "$NS_PODC" udp 9000
	wait_port "$NS_PODC" tcp 8080
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	run_traffic "$NS_PODA" "$BIN/traffic" udp-burst -to "$POD_C:9000" -n $UDP_BURST -size 64 -gap 5ms
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_C:8080" -req $TCP_REQ -resp $TCP_RESP -n 10 -gap 20ms -timeout 15s
	# udp-sink ends by itself 2 s after the last datagram
	wait "${SERVER_PIDS[0]}" 2>/dev/null || true
	# A dropped FIN or last ACK is retransmitted by the kernel after the
	# clients have exited, with backoff; the drop rule counts those too. Stop
	# the captures only once no connection can send any more, so the
	# captures hold every packet the counters count.
	wait_tcp_quiet "$NS_PODA" "dst $POD_C:8080"
	wait_tcp_quiet "$NS_PODC" "sport = :8080"
	SETTLE=1 caps_stop
	sc_flow "{\"id\":\"udp-burst\",\"proto\":\"udp\",\"kind\":\"burst\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"dport\":9000,\"datagrams\":$UDP_BURST,\"payload\":64,\"drop_rule\":{\"node\":\"node-1\",\"table\":\"filter\",\"chain\":\"FORWARD\",\"comment\":\"$c1\",\"probability\":$DROP_P},\"path\":$(path_json a c)}"
	sc_flow "{\"id\":\"tcp-req\",\"proto\":\"tcp\",\"kind\":\"request-response\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"dport\":8080,\"connections\":10,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP,\"df\":true,\"drop_rule\":{\"node\":\"node-1\",\"table\":\"filter\",\"chain\":\"FORWARD\",\"comment\":\"$c2\",\"probability\":$DROP_P},\"path\":$(path_json a c),\"reply_path\":$(path_json c a)}"
	sc_end
}

SVC_IP=10.96.0.10

sc_service-dnat() {
	sc_begin service-dnat vxlan 1450 262144 \
		"kube-proxy-style service: iptables -t nat PREROUTING -> KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP DNAT $SVC_IP:80 -> pod C $POD_C:8080 (on both nodes, as kube-proxy does). pod A makes $TCP_CONNS TCP request/response connections to $SVC_IP:80; node-1 rewrites the destination in nat PREROUTING; with br_netfilter on (as kube-proxy requires; see br_netfilter in this file) that hook runs already at the bridge port, so poda-eth0 and n1-veth-pod-a show $SVC_IP:80 while n1-cni0, n1-flannel.1 and beyond show $POD_C:8080. Replies are un-DNATed at the same point. conntrack -L of node-1 shows the reply tuple."
	local ns
	for ns in "$NS_NODE1" "$NS_NODE2"; do
		nsx "$ns" iptables -t nat -N KUBE-SERVICES
		nsx "$ns" iptables -t nat -N KUBE-SVC-HTLAB
		nsx "$ns" iptables -t nat -N KUBE-SEP-HTLAB
		nsx "$ns" iptables -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		nsx "$ns" iptables -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		nsx "$ns" iptables -t nat -A KUBE-SERVICES -d "$SVC_IP/32" -p tcp -m tcp --dport 80 \
			-m comment --comment "default/web:http cluster IP" -j KUBE-SVC-HTLAB
		nsx "$ns" iptables -t nat -A KUBE-SVC-HTLAB -m comment --comment "default/web:http -> $POD_C:8080" -j KUBE-SEP-HTLAB
		nsx "$ns" iptables -t nat -A KUBE-SEP-HTLAB -p tcp -m comment --comment "default/web:http" -m tcp \
			-j DNAT --to-destination "$POD_C:8080"
	done
	sc_inject "node-1 and node-2: iptables -t nat PREROUTING/OUTPUT -j KUBE-SERVICES; KUBE-SERVICES -d $SVC_IP/32 -p tcp --dport 80 -j KUBE-SVC-HTLAB; KUBE-SVC-HTLAB -j KUBE-SEP-HTLAB; KUBE-SEP-HTLAB -p tcp -j DNAT --to-destination $POD_C:8080"
	in_ns_bg "$NS_PODC" tcp "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	wait_port "$NS_PODC" tcp 8080
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$SVC_IP:80" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	caps_stop
	flow_tcp_req svc-req a c "$SVC_IP" 80 ",\"service\":{\"ip\":\"$SVC_IP\",\"port\":80},\"dnat_to\":{\"ip\":\"$POD_C\",\"port\":8080},\"dnat_at\":\"node-1 nat PREROUTING: between n1-veth-pod-a and n1-cni0 with br_netfilter on, between n1-cni0 and n1-flannel.1 without\""
	sc_end
}

sc_pmtud-blackhole() {
	sc_begin pmtud-blackhole vxlan 1500 256 \
		"PMTUD black hole: pods keep MTU 1500, flannel.1 has 1450, and node-1 drops its own ICMP frag-needed (iptables OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP). Bulk DF TCP pod A -> pod C: the handshake and small segments pass, full-size segments are dropped at node-1 (Ip FragFails), pod A never learns the smaller MTU and the transfer stalls until the sender gives up after 5 s (then resets). Snaplen 256."
	local c="hoptrace-lab: PMTUD black hole (suppress frag-needed)"
	nsx "$NS_NODE1" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -m comment --comment "$c" -j DROP
	sc_inject "node-1: iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP"
	in_ns_bg "$NS_PODC" bulk "$BIN/traffic" bulk-recv -listen :5001 -n 1
	wait_port "$NS_PODC" tcp 5001
	# shellcheck disable=SC2046
	caps_start $(capture_points)
	run_traffic "$NS_PODA" "$BIN/traffic" bulk-send -to "$POD_C:5001" -bytes $BULK_BYTES -timeout 5s
	caps_stop
	sc_flow "{\"id\":\"bulk\",\"proto\":\"tcp\",\"kind\":\"bulk\",\"src\":\"$POD_A\",\"dst\":\"$POD_C\",\"dport\":5001,\"bytes\":$BULK_BYTES,\"df\":true,\"expect_stall\":true,\"drop_rule\":{\"node\":\"node-1\",\"table\":\"filter\",\"chain\":\"OUTPUT\",\"comment\":\"$c\"},\"path\":$(path_json a c),\"reply_path\":$(path_json c a)}"
	sc_end
}

sc_any-only-ipip() {
	sc_begin any-only-ipip ipip 1480 262144 \
		"Captured only with tcpdump -i any per node (Linux SLL2), as users take captures in real clusters: cross-node TCP request/response and DNS in IPIP mode. n1-any sees each packet on veth-pod-a, cni0, tunl0 and eth0 (IPIP) of node-1."
	cross_req_dns "$NS_NODE1:any" "$NS_NODE2:any"
	sc_end
}
