# shellcheck shell=bash
# Realistic scenarios (issue 12): what real nodes carry besides the traffic
# under study. IPv6 stays on in every namespace, pods are dual-stack, the
# nodes sit on a switched underlay with an external host ("ext") and another
# machine ("lan"), and background traffic runs during every scenario:
# ND/RS/DAD/MLD, ARP, IGMP, mDNS (224.0.0.251 and ff02::fb), broadcast,
# all-nodes echo, and unrelated unicast flows (lan pings the nodes, sends to
# a closed port).
#
#   ht-poda 10.244.0.5 fd00:10:244::5 -+                    +- ht-podc 10.244.1.5 fd00:10:244:1::5
#   ht-podb 10.244.0.6 fd00:10:244::6 -+ cni0  ht-node1      ht-node2  cni0 -+
#                                     [flannel.1 | vxlan.calico + vxlan-v6.calico]
#                       eth0 192.168.1.10 fd00:192:168:1::10   eth0 192.168.1.11 fd00:192:168:1::11
#                              |                                    |
#                              +---------- ht-wire: bridge br0 -----+---- ht-ext eth0 192.168.1.100 fd00:192:168:1::100
#                                          (the underlay switch)    +---- ht-lan eth0 192.168.1.200 fd00:192:168:1::200
#
# ht-wire and ht-lan are not captured (a switch and somebody else's laptop);
# ext-eth0 is (directory ext/).

EXT_IP=192.168.1.100
LAN_IP=192.168.1.200
NODE1_IP6=fd00:192:168:1::10
NODE2_IP6=fd00:192:168:1::11
EXT_IP6=fd00:192:168:1::100
LAN_IP6=fd00:192:168:1::200
POD_A6=fd00:10:244::5
POD_B6=fd00:10:244::6
POD_C6=fd00:10:244:1::5
CIDR1_6=fd00:10:244::/64
CIDR2_6=fd00:10:244:1::/64
VTEP1_6=fd00:10:244::ff
VTEP2_6=fd00:10:244:1::ff
MAC_EXT=02:00:c0:a8:01:64
MAC_LAN=02:00:c0:a8:01:c8
MAC_N1_VTEP6=0e:00:0a:f4:00:06
MAC_N2_VTEP6=0e:00:0a:f4:01:06
# Calico: host ends of the pod veths are cali + 11 hex digits and all have
# the MAC ee:ee:ee:ee:ee:ee; pods reach 169.254.1.1 by proxy ARP and
# fe80::ecee:eeff:feee:eeee (that MAC's link-local) by ND.
CALI_A=cali1f3d5a7b9c0
CALI_B=cali2e4c6b8a0d1
CALI_C=cali3d5b7c9e1f2

# wait_dad NS... : wait (at most 5 s) until no IPv6 address is tentative
wait_dad() {
	local ns i busy
	for ((i = 0; i < 50; i++)); do
		busy=0
		for ns in "$@"; do
			[[ -n $(ip -n "$ns" -6 addr show tentative) ]] && busy=1
		done
		((busy)) || return 0
		sleep 0.1
	done
	log "  warning: IPv6 DAD still running after 5 s"
}

# underlay_port NS IP IP6 MAC : the namespace's eth0 on the switch
underlay_port() {
	local ns=$1 ip4=$2 ip6=$3 mac=$4 port
	port=p-$(hop_prefix "$ns")
	ip -n "$ns" link add eth0 type veth peer name "$port" netns "$NS_WIRE"
	ip -n "$ns" link set eth0 address "$mac"
	# The switch port's MAC: fixed, derived from the host's (U/L bit set).
	# A switch port is no IPv6 host: no link-local address on it (IPv6
	# stays on in ht-wire; its bridge br0 has one, like a managed switch).
	ip -n "$NS_WIRE" link set "$port" address "06${mac:2}" addrgenmode none
	ip -n "$NS_WIRE" link set "$port" master br0 up
	ip -n "$ns" addr add "$ip4/24" dev eth0
	ip -n "$ns" addr add "$ip6/64" dev eth0
	ip -n "$ns" link set eth0 up
}

# node_real NS : forwarding (v4 and v6), kube-proxy's FORWARD rule for both
node_real() {
	local ns=$1 t
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	if nsx "$ns" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		nsx "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
	fi
	for t in iptables ip6tables; do
		nsx "$ns" "$t" -N KUBE-FORWARD
		nsx "$ns" "$t" -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
		nsx "$ns" "$t" -A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED \
			-m comment --comment "kubernetes forwarding conntrack rule" -j ACCEPT
	done
}

# cni0_real NS IP4 IP6 MAC : flannel's bridge, dual-stack
cni0_real() {
	local ns=$1 ip4=$2 ip6=$3 mac=$4
	ip -n "$ns" link add cni0 type bridge mcast_snooping 0
	ip -n "$ns" link set cni0 address "$mac"
	ip -n "$ns" addr add "$ip4/24" dev cni0
	ip -n "$ns" addr add "$ip6/64" dev cni0
	ip -n "$ns" link set cni0 up
}

# add_pod_real NODE POD HVETH IP4 IP6 GW4 GW6 MAC MTU : flannel-style pod on cni0
add_pod_real() {
	local node=$1 pod=$2 hveth=$3 ip4=$4 ip6=$5 gw4=$6 gw6=$7 mac=$8 mtu=$9
	ns_new "$pod"
	ip -n "$node" link add "$hveth" mtu "$mtu" type veth peer name eth0 netns "$pod" mtu "$mtu"
	ip -n "$pod" link set eth0 address "$mac"
	ip -n "$node" link set "$hveth" master cni0 up
	ip -n "$pod" addr add "$ip4/24" dev eth0
	ip -n "$pod" addr add "$ip6/64" dev eth0
	ip -n "$pod" link set eth0 up
	ip -n "$pod" route add default via "$gw4" dev eth0
	ip -n "$pod" -6 route add default via "$gw6" dev eth0
}

# add_pod_calico NODE POD HVETH IP4 IP6 MAC MTU : Calico-style pod: no bridge,
# /32 and /128 host routes to the cali veth, proxy ARP for 169.254.1.1.
add_pod_calico() {
	local node=$1 pod=$2 hveth=$3 ip4=$4 ip6=$5 mac=$6 mtu=$7
	ns_new "$pod"
	ip -n "$node" link add "$hveth" mtu "$mtu" type veth peer name eth0 netns "$pod" mtu "$mtu"
	ip -n "$node" link set "$hveth" address ee:ee:ee:ee:ee:ee
	nsx "$node" sysctl -qw "net.ipv4.conf.$hveth.proxy_arp=1" "net.ipv4.neigh.$hveth.proxy_delay=0" \
		"net.ipv6.conf.$hveth.proxy_ndp=1"
	ip -n "$node" link set "$hveth" up
	ip -n "$node" route add "$ip4/32" dev "$hveth" scope link
	ip -n "$node" -6 route add "$ip6/128" dev "$hveth"
	ip -n "$pod" link set eth0 address "$mac"
	ip -n "$pod" addr add "$ip4/32" dev eth0
	ip -n "$pod" addr add "$ip6/128" dev eth0
	ip -n "$pod" link set eth0 up
	ip -n "$pod" route add 169.254.1.1 dev eth0 scope link
	ip -n "$pod" route add default via 169.254.1.1 dev eth0
	ip -n "$pod" -6 route add default via fe80::ecee:eeff:feee:eeee dev eth0
}

# vxlan_real NS DEV VNI PORT LOCAL VMAC VIP VPLEN PEER PVIP PVMAC PCIDR
# One VXLAN device as flannel / Calico's felix write it: static neighbour
# and FDB entry for the peer VTEP, onlink route to the peer's pod CIDR.
vxlan_real() {
	local ns=$1 dev=$2 vni=$3 port=$4 lip=$5 vmac=$6 vip=$7 vplen=$8 pip=$9 pvip=${10} pvmac=${11} pcidr=${12} mtu=${13}
	ip -n "$ns" link add "$dev" type vxlan id "$vni" local "$lip" dev eth0 dstport "$port" nolearning
	ip -n "$ns" link set "$dev" address "$vmac" mtu "$mtu"
	ip -n "$ns" addr add "$vip/$vplen" dev "$dev"
	ip -n "$ns" link set "$dev" up
	ip -n "$ns" neigh replace "$pvip" lladdr "$pvmac" dev "$dev" nud permanent
	nsx "$ns" bridge fdb append "$pvmac" dev "$dev" dst "$pip" self permanent
	ip -n "$ns" route add "$pcidr" via "$pvip" dev "$dev" onlink
}

# topo_up_real : the realistic topology for MODE vxlan (flannel, dual-stack
# pods on cni0; IPv6 pod traffic crosses flannel.1 inside IPv4 VXLAN) or
# calico-vxlan (cali veths; vxlan.calico for IPv4, vxlan-v6.calico with an
# IPv6 underlay for IPv6; VNI 4096, UDP 4789).
topo_up_real() {
	local mtu=$POD_MTU ns
	log "topology up (realistic): mode=$MODE pod_mtu=$mtu"
	LAB_NAMESPACES=("$NS_NODE1" "$NS_NODE2" "$NS_PODA" "$NS_PODB" "$NS_PODC" "$NS_EXT" "$NS_LAN" "$NS_WIRE")
	for ns in "$NS_WIRE" "$NS_NODE1" "$NS_NODE2" "$NS_EXT" "$NS_LAN"; do ns_new "$ns"; done
	# The switch: a plain learning bridge, no snooping, no netfilter.
	if nsx "$NS_WIRE" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		nsx "$NS_WIRE" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
			net.bridge.bridge-nf-call-arptables=0
	fi
	ip -n "$NS_WIRE" link add br0 type bridge mcast_snooping 0
	ip -n "$NS_WIRE" link set br0 address 02:00:c0:a8:01:fe
	ip -n "$NS_WIRE" link set br0 up
	underlay_port "$NS_NODE1" "$NODE1_IP" "$NODE1_IP6" "$MAC_N1_ETH0"
	underlay_port "$NS_NODE2" "$NODE2_IP" "$NODE2_IP6" "$MAC_N2_ETH0"
	underlay_port "$NS_EXT" "$EXT_IP" "$EXT_IP6" "$MAC_EXT"
	underlay_port "$NS_LAN" "$LAN_IP" "$LAN_IP6" "$MAC_LAN"
	node_real "$NS_NODE1"
	node_real "$NS_NODE2"
	case $MODE in
	vxlan)
		cni0_real "$NS_NODE1" 10.244.0.1 fd00:10:244::1 "$MAC_N1_CNI0"
		cni0_real "$NS_NODE2" 10.244.1.1 fd00:10:244:1::1 "$MAC_N2_CNI0"
		add_pod_real "$NS_NODE1" "$NS_PODA" veth-pod-a "$POD_A" "$POD_A6" 10.244.0.1 fd00:10:244::1 "$MAC_PODA" "$mtu"
		add_pod_real "$NS_NODE1" "$NS_PODB" veth-pod-b "$POD_B" "$POD_B6" 10.244.0.1 fd00:10:244::1 "$MAC_PODB" "$mtu"
		add_pod_real "$NS_NODE2" "$NS_PODC" veth-pod-c "$POD_C" "$POD_C6" 10.244.1.1 fd00:10:244:1::1 "$MAC_PODC" "$mtu"
		vxlan_real "$NS_NODE1" flannel.1 1 8472 "$NODE1_IP" "$MAC_N1_VTEP" 10.244.0.0 32 "$NODE2_IP" 10.244.1.0 "$MAC_N2_VTEP" "$CIDR2" 1450
		vxlan_real "$NS_NODE2" flannel.1 1 8472 "$NODE2_IP" "$MAC_N2_VTEP" 10.244.1.0 32 "$NODE1_IP" 10.244.0.0 "$MAC_N1_VTEP" "$CIDR1" 1450
		# IPv6 pod traffic over the same IPv4 VXLAN device.
		ip -n "$NS_NODE1" addr add "$VTEP1_6/128" dev flannel.1
		ip -n "$NS_NODE2" addr add "$VTEP2_6/128" dev flannel.1
		ip -n "$NS_NODE1" neigh replace "$VTEP2_6" lladdr "$MAC_N2_VTEP" dev flannel.1 nud permanent
		ip -n "$NS_NODE2" neigh replace "$VTEP1_6" lladdr "$MAC_N1_VTEP" dev flannel.1 nud permanent
		ip -n "$NS_NODE1" -6 route add "$CIDR2_6" via "$VTEP2_6" dev flannel.1 onlink
		ip -n "$NS_NODE2" -6 route add "$CIDR1_6" via "$VTEP1_6" dev flannel.1 onlink
		;;
	calico-vxlan)
		add_pod_calico "$NS_NODE1" "$NS_PODA" "$CALI_A" "$POD_A" "$POD_A6" "$MAC_PODA" "$mtu"
		add_pod_calico "$NS_NODE1" "$NS_PODB" "$CALI_B" "$POD_B" "$POD_B6" "$MAC_PODB" "$mtu"
		add_pod_calico "$NS_NODE2" "$NS_PODC" "$CALI_C" "$POD_C" "$POD_C6" "$MAC_PODC" "$mtu"
		# Proxy ARP answers for 169.254.1.1 only if the node has a route to it
		# through another interface; real nodes have a default route via
		# eth0, this lab has none (no route out), so just this one address.
		ip -n "$NS_NODE1" route add 169.254.1.1/32 dev eth0 scope link
		ip -n "$NS_NODE2" route add 169.254.1.1/32 dev eth0 scope link
		vxlan_real "$NS_NODE1" vxlan.calico 4096 4789 "$NODE1_IP" "$MAC_N1_VTEP" 10.244.0.0 32 "$NODE2_IP" 10.244.1.0 "$MAC_N2_VTEP" "$CIDR2" 1450
		vxlan_real "$NS_NODE2" vxlan.calico 4096 4789 "$NODE2_IP" "$MAC_N2_VTEP" 10.244.1.0 32 "$NODE1_IP" 10.244.0.0 "$MAC_N1_VTEP" "$CIDR1" 1450
		vxlan_real "$NS_NODE1" vxlan-v6.calico 4096 4789 "$NODE1_IP6" "$MAC_N1_VTEP6" "$VTEP1_6" 128 "$NODE2_IP6" "$VTEP2_6" "$MAC_N2_VTEP6" "$CIDR2_6" 1430
		vxlan_real "$NS_NODE2" vxlan-v6.calico 4096 4789 "$NODE2_IP6" "$MAC_N2_VTEP6" "$VTEP2_6" 128 "$NODE1_IP6" "$VTEP1_6" "$MAC_N1_VTEP6" "$CIDR1_6" 1430
		;;
	*) die "topo_up_real: unknown MODE $MODE" ;;
	esac
	wait_dad "${LAB_NAMESPACES[@]}"
	sleep 1 # the first MLD reports and router solicitations (see topo_up)
}

# capture_points_real : capture points of the realistic topology
capture_points_real() {
	local n1 n2
	case $MODE in
	vxlan)
		n1="$NS_NODE1:veth-pod-a $NS_NODE1:veth-pod-b $NS_NODE1:cni0 $NS_NODE1:flannel.1"
		n2="$NS_NODE2:veth-pod-c $NS_NODE2:cni0 $NS_NODE2:flannel.1"
		;;
	calico-vxlan)
		n1="$NS_NODE1:$CALI_A $NS_NODE1:$CALI_B $NS_NODE1:vxlan.calico $NS_NODE1:vxlan-v6.calico"
		n2="$NS_NODE2:$CALI_C $NS_NODE2:vxlan.calico $NS_NODE2:vxlan-v6.calico"
		;;
	esac
	echo "$NS_PODA:eth0 $NS_PODB:eth0 $n1 $NS_NODE1:eth0 $NS_NODE1:any"
	echo "$NS_PODC:eth0 $n2 $NS_NODE2:eth0 $NS_NODE2:any"
	echo "$NS_EXT:eth0"
}

# hops_real WHAT : JSON array of the hops, in order, of a segment of a path
# in the current MODE, family 4 or 6 (the calico tunnel differs).
#   pod-out X F  : pod X's eth0 -> its node's tunnel entry side
#   tunnel N F   : node N's tunnel device
pod_side() { # pod_side a|b|c out|in : hops between the pod and its node's routing
	local p=$1 d=$2 n hv
	case $p in a | b) n=n1 ;; c) n=n2 ;; esac
	if [[ $MODE == vxlan ]]; then
		hv=$n-veth-pod-$p
		if [[ $d == out ]]; then echo "pod$p-eth0 $hv $n-cni0"; else echo "$n-cni0 $hv pod$p-eth0"; fi
	else
		case $p in a) hv=$n-$CALI_A ;; b) hv=$n-$CALI_B ;; c) hv=$n-$CALI_C ;; esac
		if [[ $d == out ]]; then echo "pod$p-eth0 $hv"; else echo "$hv pod$p-eth0"; fi
	fi
}
tun_real() { # tun_real n1|n2 4|6
	if [[ $MODE == vxlan ]]; then echo "$1-flannel.1"; elif [[ $2 == 6 ]]; then echo "$1-vxlan-v6.calico"; else echo "$1-vxlan.calico"; fi
}
node_pref() { case $1 in a | b) echo n1 ;; c) echo n2 ;; esac }

# path_real SRC DST FAMILY : hops (words) of a packet between two pods
path_real() {
	local s=$1 d=$2 f=$3 ns nd
	ns=$(node_pref "$s")
	nd=$(node_pref "$d")
	if [[ $ns == "$nd" ]]; then
		if [[ $MODE == vxlan ]]; then
			echo "pod$s-eth0 $ns-veth-pod-$s $ns-veth-pod-$d pod$d-eth0"
		else
			echo "$(pod_side "$s" out) $(pod_side "$d" in)"
		fi
		return
	fi
	echo "$(pod_side "$s" out) $(tun_real "$ns" "$f") $ns-eth0 $nd-eth0 $(tun_real "$nd" "$f") $(pod_side "$d" in)"
}

# jwords WORDS : JSON array of the words of a string
jwords() {
	# shellcheck disable=SC2086
	jarr $1
}

# --- background -------------------------------------------------------------

# bg_start : background traffic during the capture (runs about 2.5 s, in
# parallel with the scenario's own traffic). Its client results go to
# truth/background.jsonl; what it is made of is in scenario.json
# "background".
bg_start() {
	local gw4 gw6 bgj=$SCDIR/truth/background.jsonl
	if [[ $MODE == vxlan ]]; then gw4=10.244.0.1 gw6=fd00:10:244::1; else gw4=169.254.1.1 gw6=fe80::ecee:eeff:feee:eeee%eth0; fi
	(
		set +e
		# Another machine on the LAN comes up: DAD, MLD reports, router
		# solicitations (it is a host: forwarding off).
		ip -n "$NS_LAN" link set eth0 down
		sleep 0.05
		ip -n "$NS_LAN" link set eth0 up
		for ns in "$NS_PODA" "$NS_PODB" "$NS_PODC" "$NS_EXT" "$NS_LAN"; do
			nsx "$ns" "$BIN/traffic" mdns -ifname eth0 -n 3 -gap 700ms >>"$bgj" &
		done
		# All-nodes echo: several hosts answer one request.
		nsx "$NS_PODA" ping -6 -n -c 2 -i 0.8 -I eth0 ff02::1 >/dev/null &
		nsx "$NS_NODE1" ping -6 -n -c 2 -i 0.8 -I eth0 ff02::1 >/dev/null &
		# ARP and neighbour solicitations: pod B forgets its neighbours.
		(
			sleep 0.3
			ip -n "$NS_PODB" neigh flush dev eth0
			nsx "$NS_PODB" ping -n -c 1 -W 1 "$gw4" >/dev/null
			nsx "$NS_PODB" ping -6 -n -c 1 -W 1 "$gw6" >/dev/null
		) &
		# Unrelated unicast: the LAN machine pings the nodes and sends to a
		# closed port on node-2 (ICMP port unreachable); broadcasts.
		# (after ht-lan's DAD: its addresses are tentative for a second)
		(
			sleep 1.2
			nsx "$NS_LAN" ping -n -c 3 -i 0.4 "$NODE1_IP" >/dev/null &
			sleep 0.8
			nsx "$NS_LAN" ping -6 -n -c 2 -i 0.4 "$NODE2_IP6" >/dev/null &
			wait
		) &
		(
			sleep 0.5
			nsx "$NS_LAN" "$BIN/traffic" bcast -to "$NODE2_IP:7777" -n 2 -size 32 -gap 500ms >>"$bgj"
		) &
		nsx "$NS_LAN" "$BIN/traffic" bcast -to 192.168.1.255:9999 -n 3 -size 48 -gap 600ms >>"$bgj" &
		[[ $MODE == vxlan ]] && nsx "$NS_PODB" "$BIN/traffic" bcast -to 10.244.0.255:9999 -n 2 -size 48 -gap 600ms >>"$bgj" &
		wait
	) >"$WORK/background.log" 2>&1 &
	BG_PID=$!
	LAB_PIDS+=("$BG_PID")
}

bg_wait() { wait "$BG_PID" 2>/dev/null || true; }

# BACKGROUND: scenario.json "background": what runs besides the scenario's
# own flows, by kind (the analysis must keep all of it out of drops, paths
# between segments and NAT).
bg_json() {
	cat <<EOF
[
    {"kind": "ipv6-nd", "what": "DAD, NS/NA, RS of every interface (IPv6 on everywhere); ht-lan's eth0 goes down and up during the capture; pod B flushes its neighbours"},
    {"kind": "mld", "what": "MLDv2 reports (ff02::16) of every interface, joins of ff02::fb"},
    {"kind": "igmp", "what": "IGMPv3 reports (224.0.0.22) for 224.0.0.251"},
    {"kind": "arp", "what": "ARP of every IPv4 neighbour; pod B flushes its neighbours"},
    {"kind": "mdns", "proto": "udp", "dport": 5353, "dst": ["224.0.0.251", "ff02::fb"], "from": ["pod-a", "pod-b", "pod-c", "ext", "lan"]},
    {"kind": "all-nodes-echo", "proto": "icmpv6", "dst": "ff02::1", "from": ["pod-a eth0", "node-1 eth0"]},
    {"kind": "broadcast", "proto": "udp", "dport": 9999, "dst": ["192.168.1.255", "10.244.0.255 (flannel mode only)"]},
    {"kind": "unrelated", "proto": "icmp", "src": "$LAN_IP", "dst": "$NODE1_IP", "what": "lan pings node-1"},
    {"kind": "unrelated", "proto": "icmpv6", "src": "$LAN_IP6", "dst": "$NODE2_IP6", "what": "lan pings node-2"},
    {"kind": "unrelated", "proto": "udp", "src": "$LAN_IP", "dst": "$NODE2_IP", "dport": 7777, "what": "closed port: node-2 answers ICMP port unreachable"}
  ]
EOF
}

# segments_json : L2 segments (capture hops that share one link layer)
segments_json() {
	if [[ $MODE == vxlan ]]; then
		cat <<EOF
{"underlay": ["n1-eth0", "n2-eth0", "ext-eth0"],
    "node-1 cni0": ["poda-eth0", "n1-veth-pod-a", "podb-eth0", "n1-veth-pod-b", "n1-cni0"],
    "node-2 cni0": ["podc-eth0", "n2-veth-pod-c", "n2-cni0"],
    "flannel.1": ["n1-flannel.1", "n2-flannel.1"]}
EOF
	else
		cat <<EOF
{"underlay": ["n1-eth0", "n2-eth0", "ext-eth0"],
    "pod-a veth": ["poda-eth0", "n1-$CALI_A"], "pod-b veth": ["podb-eth0", "n1-$CALI_B"], "pod-c veth": ["podc-eth0", "n2-$CALI_C"],
    "vxlan.calico": ["n1-vxlan.calico", "n2-vxlan.calico"], "vxlan-v6.calico": ["n1-vxlan-v6.calico", "n2-vxlan-v6.calico"]}
EOF
	fi
}

# sc_begin_real NAME MODE POD_MTU DESCRIPTION
sc_begin_real() {
	SCENARIO=$1 MODE=$2 POD_MTU=$3 SNAPLEN=65535 DESC=$4
	SCDIR=$OUT/$SCENARIO
	log "=== scenario $SCENARIO (realistic, mode $MODE, pod MTU $POD_MTU)"
	rm -rf "$SCDIR"
	mkdir -p "$SCDIR/truth"
	: >"$SCDIR/truth/traffic.jsonl"
	: >"$SCDIR/truth/background.jsonl"
	printf 'hop\tnode\tnetns\tifname\tfile\n' >"$SCDIR/truth/captures.tsv"
	FLOWS=()
	INJECTED=()
	OFFLOADS=default
	SERVER_PIDS=()
	CLOCK_SHIFT=()
	IPV6=on
	NFT_TRUTH=1
	CAP_IMMEDIATE=1
	topo_up_real
}

# shift_clock NODE SECONDS : move every capture of NODE by SECONDS with
# editcap -t (a node whose clock is off), recorded in scenario.json.
shift_clock() {
	local node=$1 secs=$2 f
	for f in "$SCDIR/$node"/*.pcap "$SCDIR.cooked-v1/$node"/*.pcap; do
		[[ -f $f ]] || continue # no cooked v1 twin
		editcap -F nsecpcap -t "$secs" "$f" "$f.shifted" >/dev/null || die "editcap -t $secs $f"
		mv "$f.shifted" "$f"
	done
	CLOCK_SHIFT+=("\"$node\": $(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1e9 }')")
	sc_inject "editcap -t $secs on every capture of $node (its clock is off by $secs s)"
}

# sc_end_real : like sc_end, with the realistic topology's description
sc_end_real() {
	stop_servers
	truth_collect
	local flows inj shifts
	flows=$(IFS=,; echo "${FLOWS[*]}")
	inj=$(IFS=,; echo "${INJECTED[*]}")
	shifts=$(IFS=,; echo "${CLOCK_SHIFT[*]}")
	local tuns
	case $MODE in vxlan) tuns='["flannel.1"]' ;; calico-vxlan) tuns='["vxlan.calico", "vxlan-v6.calico"]' ;; esac
	cat >"$SCDIR/truth/scenario.json" <<EOF
{
  "schema": 2,
  "scenario": "$SCENARIO",
  "realistic": true,
  "description": $(jstr "$DESC"),
  "mode": "$MODE",
  "tunnel_device": "$(tun_dev)",
  "tunnel_devices": $tuns,
  "vxlan": $(if [[ $MODE == vxlan ]]; then echo '{"port": 8472, "vni": 1}'; else echo '{"port": 4789, "vni": 4096}'; fi),
  "pod_mtu": $POD_MTU,
  "snaplen": $SNAPLEN,
  "offloads": "$OFFLOADS",
  "ipv6": "on",
  "br_netfilter": "$(nsx "$NS_NODE1" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)",
  "nodes": {
    "node-1": {"netns": "$NS_NODE1", "eth0": "$NODE1_IP", "eth0_v6": "$NODE1_IP6", "pod_cidr": "$CIDR1", "pod_cidr_v6": "$CIDR1_6"},
    "node-2": {"netns": "$NS_NODE2", "eth0": "$NODE2_IP", "eth0_v6": "$NODE2_IP6", "pod_cidr": "$CIDR2", "pod_cidr_v6": "$CIDR2_6"},
    "ext": {"netns": "$NS_EXT", "eth0": "$EXT_IP", "eth0_v6": "$EXT_IP6", "external": true}
  },
  "uncaptured_hosts": {"lan": {"netns": "$NS_LAN", "eth0": "$LAN_IP", "eth0_v6": "$LAN_IP6"}, "switch": {"netns": "$NS_WIRE", "bridge": "br0"}},
  "pods": {
    "pod-a": {"netns": "$NS_PODA", "ip": "$POD_A", "ip6": "$POD_A6", "node": "node-1"},
    "pod-b": {"netns": "$NS_PODB", "ip": "$POD_B", "ip6": "$POD_B6", "node": "node-1"},
    "pod-c": {"netns": "$NS_PODC", "ip": "$POD_C", "ip6": "$POD_C6", "node": "node-2"}
  },
  "segments": $(segments_json),
  "clock_shift_ns": {$shifts},
  "background": $(bg_json),
  "injected": [$inj],
  "flows": [$flows]
}
EOF
	"$BIN/truth" -dir "$SCDIR" || die "truth tool failed for $SCENARIO"
	topo_down
	IPV6=off
	NFT_TRUTH=0
	CAP_IMMEDIATE=0
	log "=== scenario $SCENARIO done"
}

# rflow ID PROTO KIND SRC DST DPORT "PATH WORDS" "REPLY WORDS" [EXTRA-JSON]
rflow() {
	local id=$1 proto=$2 kind=$3 src=$4 dst=$5 dport=$6 path=$7 reply=$8 extra=${9:-} rp=""
	[[ -n $reply ]] && rp=",\"reply_path\":$(jwords "$reply")"
	sc_flow "{\"id\":\"$id\",\"proto\":\"$proto\",\"kind\":\"$kind\",\"src\":\"$src\",\"dst\":\"$dst\",\"dport\":$dport,\"path\":$(jwords "$path")$rp$extra}"
}

# dns_servers NS : the DNS-like server on UDP 53, v4 and v6, unconnected
# sockets. Its IPv4 answers carry DF and IP ID 0: this lab's kernel gives
# unconnected DF UDP a per-destination IP ID counter, older kernels (most
# nodes' 5.x/6.1) write 0; the server writes its IPv4 answers as frames
# (AF_PACKET) to get what most real captures show. Equal lengths: one
# question, one answer.
dns_servers() {
	local gw
	if [[ $MODE == vxlan ]]; then gw=$MAC_N2_CNI0; else gw=ee:ee:ee:ee:ee:ee; fi
	in_ns_bg "$1" dns4 "$BIN/traffic" dns-serve -net udp4 -listen :53 -n 0 -frame-to "$gw" -ifname eth0
	in_ns_bg "$1" dns6 "$BIN/traffic" dns-serve -net udp6 -listen "[::]:53" -n 0
	wait_port "$1" udp 53
}

# ping_log NS FILE ARGS... : ping, output to truth/FILE
ping_log() {
	local ns=$1 f=$2
	shift 2
	nsx "$ns" ping -n "$@" >"$SCDIR/truth/$f" 2>&1 || true
}

# ttl_from FILE : the address that sent ping's "Time to live exceeded" /
# "Time exceeded: Hop limit"
ttl_from() {
	awk '/^From .*(Time to live exceeded|Time exceeded)/ { sub(/:$/, "", $2); print $2; exit }' "$SCDIR/truth/$1"
}

# --- scenarios ----------------------------------------------------------------

sc_realistic-vxlan() {
	sc_begin_real realistic-vxlan vxlan 1450 \
		"flannel VXLAN, dual-stack pods, IPv6 on everywhere, background traffic. A DNS-like server on pod C answers from unconnected UDP sockets (IPv4 answers with DF and IP ID 0, all of equal length) to pods A and B querying at the same moment with byte-identical queries, over IPv4 and IPv6; TCP request/response A -> C over IPv4 and B -> C over IPv6; traceroute-style probes A -> C with TTL / hop limit 1 (expire at node-1) and 2 (expire at node-2), ICMP time exceeded back. node-2's captures are shifted by -2.5 s (editcap -t): its clock is off."
	dns_servers "$NS_PODC"
	in_ns_bg "$NS_PODC" tcp4 "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	in_ns_bg "$NS_PODC" tcp6 "$BIN/traffic" tcp-serve -net tcp6 -listen "[::]:8081" -req $TCP_REQ -resp $TCP_RESP -n 0
	wait_port "$NS_PODC" tcp 8080
	wait_port "$NS_PODC" tcp 8081
	# shellcheck disable=SC2046
	caps_start $(capture_points_real)
	bg_start
	sleep 0.3
	local q ns fam to
	for q in "$NS_PODA:4:$POD_C" "$NS_PODB:4:$POD_C" "$NS_PODA:6:[$POD_C6]" "$NS_PODB:6:[$POD_C6]"; do
		IFS=: read -r ns fam to <<<"$q"
		to=${q#*:*:}
		nsx "$ns" "$BIN/traffic" dns-query -net "udp$fam" -to "$to:53" -name $DNS_NAME -n 8 -gap 40ms -timeout 2s >>"$SCDIR/truth/traffic.jsonl" &
	done
	wait_jobs_dns
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_C:8080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	run_traffic "$NS_PODB" "$BIN/traffic" tcp-req -net tcp6 -to "[$POD_C6]:8081" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	log "  TTL probes"
	ping_log "$NS_PODA" ping-ttl1.txt -c 2 -i 0.2 -W 1 -t 1 "$POD_C"
	ping_log "$NS_PODA" ping-ttl2.txt -c 2 -i 0.2 -W 1 -t 2 "$POD_C"
	ping_log "$NS_PODA" ping-hlim1.txt -6 -c 2 -i 0.2 -W 1 -t 1 "$POD_C6"
	ping_log "$NS_PODA" ping-hlim2.txt -6 -c 2 -i 0.2 -W 1 -t 2 "$POD_C6"
	bg_wait
	caps_stop
	shift_clock node-2 -2.5
	local ac ca bc cb ac6 ca6 bc6 cb6
	ac=$(path_real a c 4) ca=$(path_real c a 4) bc=$(path_real b c 4) cb=$(path_real c b 4)
	ac6=$(path_real a c 6) ca6=$(path_real c a 6) bc6=$(path_real b c 6) cb6=$(path_real c b 6)
	rflow dns-a udp dns "$POD_A" "$POD_C" 53 "$ac" "$ca" ',"queries":8,"server_socket":"unconnected","note":"answers: IPv4 DF, IP ID 0, equal length; the same queries as dns-b at the same moment"'
	rflow dns-b udp dns "$POD_B" "$POD_C" 53 "$bc" "$cb" ',"queries":8,"server_socket":"unconnected"'
	rflow dns6-a udp dns "$POD_A6" "$POD_C6" 53 "$ac6" "$ca6" ',"queries":8,"server_socket":"unconnected","note":"byte-identical to dns6-b queries but for the addresses"'
	rflow dns6-b udp dns "$POD_B6" "$POD_C6" 53 "$bc6" "$cb6" ',"queries":8,"server_socket":"unconnected"'
	rflow tcp-req tcp request-response "$POD_A" "$POD_C" 8080 "$ac" "$ca" ",\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP"
	rflow tcp6-req tcp request-response "$POD_B6" "$POD_C6" 8081 "$bc6" "$cb6" ",\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP"
	rflow ttl1 icmp ping "$POD_A" "$POD_C" 0 "$(pod_side a out)" "" ',"count":2,"ttl":1,"truth_file":"truth/ping-ttl1.txt","expire":{"node":"node-1","after":"n1-cni0","before":"n1-flannel.1","icmp_from":"10.244.0.1"}'
	rflow ttl2 icmp ping "$POD_A" "$POD_C" 0 "$(pod_side a out) n1-flannel.1 n1-eth0 n2-eth0 n2-flannel.1" "" ',"count":2,"ttl":2,"truth_file":"truth/ping-ttl2.txt","expire":{"node":"node-2","after":"n2-flannel.1","before":"n2-cni0"}'
	rflow hlim1 icmpv6 ping "$POD_A6" "$POD_C6" 0 "$(pod_side a out)" "" ',"count":2,"ttl":1,"truth_file":"truth/ping-hlim1.txt","expire":{"node":"node-1","after":"n1-cni0","before":"n1-flannel.1"}'
	# The ICMP errors, from the router each probe expired at (as ping printed it).
	local e1 e2 e61 e62
	e1=$(ttl_from ping-ttl1.txt) e2=$(ttl_from ping-ttl2.txt) e61=$(ttl_from ping-hlim1.txt) e62=$(ttl_from ping-hlim2.txt)
	rflow ttl1-error icmp time-exceeded "$e1" "$POD_A" 0 "$(pod_side a in)" "" ',"count":2,"error_for":"ttl1"'
	rflow ttl2-error icmp time-exceeded "$e2" "$POD_A" 0 "n2-flannel.1 n2-eth0 n1-eth0 n1-flannel.1 $(pod_side a in)" "" ',"count":2,"error_for":"ttl2"'
	rflow hlim1-error icmpv6 time-exceeded "$e61" "$POD_A6" 0 "$(pod_side a in)" "" ',"count":2,"error_for":"hlim1"'
	rflow hlim2-error icmpv6 time-exceeded "$e62" "$POD_A6" 0 "n2-flannel.1 n2-eth0 n1-eth0 n1-flannel.1 $(pod_side a in)" "" ',"count":2,"error_for":"hlim2"'
	rflow hlim2 icmpv6 ping "$POD_A6" "$POD_C6" 0 "$(pod_side a out) n1-flannel.1 n1-eth0 n2-eth0 n2-flannel.1" "" ',"count":2,"ttl":2,"truth_file":"truth/ping-hlim2.txt","expire":{"node":"node-2","after":"n2-flannel.1","before":"n2-cni0"}'
	sc_end_real
}

# wait_jobs_dns : wait for the parallel DNS clients (background jobs of this shell
# other than the servers and captures, which are waited for elsewhere)
wait_jobs_dns() {
	local j
	for j in $(jobs -p); do
		case " ${LAB_PIDS[*]} $BG_PID " in *" $j "*) continue ;; esac
		wait "$j" 2>/dev/null || true
	done
}

sc_nodeport-snat() {
	sc_begin_real nodeport-snat vxlan 1450 \
		"NodePort and SNAT to an external host. kube-proxy-style NodePort on node-2 ($NODE2_IP:30080 -> pod A $POD_A:8080, KUBE-MARK-MASQ + MASQUERADE): ext's request enters node-2's eth0 plain, is DNATed and SNATed (to node-2's flannel.1 address 10.244.1.0) and leaves the same eth0 again inside VXLAN to node-1, crossing n2-eth0 twice. Pod A also calls ext ($EXT_IP:8080 TCP, and pings it) through node-1's MASQUERADE on eth0 (flannel's rule), so ext sees node-1's address. node-1's captures are shifted by +4.25 s (editcap -t). Background traffic as in every realistic scenario."
	local ns
	# kube-proxy (iptables mode) NodePort, on both nodes as kube-proxy does.
	for ns in "$NS_NODE1" "$NS_NODE2"; do
		nsx "$ns" iptables -t nat -N KUBE-SERVICES
		nsx "$ns" iptables -t nat -N KUBE-NODEPORTS
		nsx "$ns" iptables -t nat -N KUBE-SVC-HTNP
		nsx "$ns" iptables -t nat -N KUBE-SEP-HTNP
		nsx "$ns" iptables -t nat -N KUBE-MARK-MASQ
		nsx "$ns" iptables -t nat -N KUBE-POSTROUTING
		nsx "$ns" iptables -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		nsx "$ns" iptables -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		nsx "$ns" iptables -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
		nsx "$ns" iptables -t nat -A KUBE-SERVICES -m addrtype --dst-type LOCAL -m comment --comment "kubernetes service nodeports" -j KUBE-NODEPORTS
		nsx "$ns" iptables -t nat -A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-SVC-HTNP
		nsx "$ns" iptables -t nat -A KUBE-SVC-HTNP -p tcp -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
		nsx "$ns" iptables -t nat -A KUBE-SVC-HTNP -m comment --comment "default/web:http -> $POD_A:8080" -j KUBE-SEP-HTNP
		nsx "$ns" iptables -t nat -A KUBE-SEP-HTNP -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination "$POD_A:8080"
		nsx "$ns" iptables -t nat -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
		nsx "$ns" iptables -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
		nsx "$ns" iptables -t nat -A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
		nsx "$ns" iptables -t nat -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
	done
	# flanneld's masquerade for pod traffic leaving the cluster network
	# (its FLANNEL-POSTRTG chain; multicast is left alone).
	local own
	for ns in "$NS_NODE1" "$NS_NODE2"; do
		[[ $ns == "$NS_NODE1" ]] && own=$CIDR1 || own=$CIDR2
		nsx "$ns" iptables -t nat -N FLANNEL-POSTRTG
		nsx "$ns" iptables -t nat -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
		nsx "$ns" iptables -t nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
		nsx "$ns" iptables -t nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
		nsx "$ns" iptables -t nat -A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d "$own" -m comment --comment "flanneld masq" -j RETURN
		nsx "$ns" iptables -t nat -A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
	done
	sc_inject "node-1 and node-2: kube-proxy NodePort chains: nat PREROUTING/OUTPUT -j KUBE-SERVICES; KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS; KUBE-NODEPORTS -p tcp --dport 30080 -j KUBE-SVC-HTNP; KUBE-SVC-HTNP -j KUBE-MARK-MASQ, -j KUBE-SEP-HTNP; KUBE-SEP-HTNP -j DNAT --to-destination $POD_A:8080; POSTROUTING -j KUBE-POSTROUTING (MASQUERADE --random-fully if marked 0x4000)"
	sc_inject "node-1 and node-2: flanneld's FLANNEL-POSTRTG: RETURN pod->pod; -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully; RETURN to the own pod CIDR; ! -s 10.244.0.0/16 -d 10.244.0.0/16 -j MASQUERADE --random-fully"
	in_ns_bg "$NS_PODA" tcp "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	in_ns_bg "$NS_EXT" ext "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	wait_port "$NS_PODA" tcp 8080
	wait_port "$NS_EXT" tcp 8080
	# shellcheck disable=SC2046
	caps_start $(capture_points_real)
	bg_start
	sleep 0.3
	run_traffic "$NS_EXT" "$BIN/traffic" tcp-req -to "$NODE2_IP:30080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$EXT_IP:8080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	ping_log "$NS_PODA" ping-ext.txt -c 3 -i 0.2 -W 1 "$EXT_IP"
	bg_wait
	wait_tcp_quiet "$NS_EXT" "dst $NODE2_IP:30080"
	caps_stop
	shift_clock node-1 4.25
	local np="ext-eth0 n2-eth0 n2-flannel.1 n2-eth0 n1-eth0 n1-flannel.1 $(pod_side a in)"
	local npr="$(pod_side a out) n1-flannel.1 n1-eth0 n2-eth0 n2-flannel.1 n2-eth0 ext-eth0"
	rflow nodeport tcp request-response "$EXT_IP" "$NODE2_IP" 30080 "$np" "$npr" ",\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP,\"nodeport\":{\"node\":\"node-2\",\"port\":30080},\"dnat_to\":{\"ip\":\"$POD_A\",\"port\":8080},\"snat_to\":\"10.244.1.0\",\"twice\":\"n2-eth0\",\"note\":\"n2-eth0 sees each request twice: plain from ext, then inside VXLAN to node-1 after DNAT+SNAT (and each reply twice, in reverse)\""
	rflow snat-ext tcp request-response "$POD_A" "$EXT_IP" 8080 "$(pod_side a out) n1-eth0 ext-eth0" "ext-eth0 n1-eth0 $(pod_side a in)" ",\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP,\"snat_to\":\"$NODE1_IP\""
	rflow ping-ext icmp ping "$POD_A" "$EXT_IP" 0 "$(pod_side a out) n1-eth0 ext-eth0" "ext-eth0 n1-eth0 $(pod_side a in)" ",\"count\":3,\"truth_file\":\"truth/ping-ext.txt\",\"snat_to\":\"$NODE1_IP\""
	sc_end_real
}

sc_underlay-loss() {
	sc_begin_real underlay-loss vxlan 1450 \
		"Loss away from node-1's FORWARD chain, each on its own flow (pod A -> pod C unless stated): on the underlay switch (nft bridge forward chain in ht-wire: every 7th VXLAN packet carrying UDP to 9001, IPv4 and IPv6 inner); at node-2's INPUT (nft inet input: every 6th VXLAN packet carrying UDP to 9002, before decapsulation); in node-2's FORWARD (iptables -m statistic nth every 5th TCP segment to 8080, after decapsulation, before cni0); in node-2's OUTPUT (nft inet output: every 4th VXLAN packet carrying DNS answers from pod C's port 53, after flannel.1, before eth0). Counters: truth/*-nft.json, truth/n2-iptables-save.txt. Background traffic as in every realistic scenario."
	cat >"$WORK/wire.nft" <<'EOF'
table bridge htlab {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ether type ip udp dport 8472 @th,416,16 9001 numgen inc mod 7 0 counter drop comment "hoptrace-lab: wire drop udp 9001 (IPv4 inner)"
		ether type ip udp dport 8472 @th,576,16 9003 numgen inc mod 7 0 counter drop comment "hoptrace-lab: wire drop udp 9003 (IPv6 inner)"
	}
}
EOF
	cat >"$WORK/n2.nft" <<'EOF'
table inet htlab {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 8472 @th,416,16 9002 numgen inc mod 6 0 counter drop comment "hoptrace-lab: node-2 input drop vxlan udp 9002"
	}
	chain output {
		type filter hook output priority 0; policy accept;
		udp dport 8472 @th,400,16 53 numgen inc mod 4 0 counter drop comment "hoptrace-lab: node-2 output drop vxlan dns answers"
	}
}
EOF
	nsx "$NS_WIRE" nft -f "$WORK/wire.nft"
	nsx "$NS_NODE2" nft -f "$WORK/n2.nft"
	local cf="hoptrace-lab: node-2 forward drop tcp 8080"
	nsx "$NS_NODE2" iptables -I FORWARD 1 -s "$POD_A/32" -d "$POD_C/32" -p tcp --dport 8080 \
		-m statistic --mode nth --every 5 --packet 0 -m comment --comment "$cf" -j DROP
	sc_inject "ht-wire (switch): nft bridge forward: udp dport 8472 @th,416,16 9001 numgen inc mod 7 0 drop; same for @th,576,16 9003 (IPv6 inner)"
	sc_inject "node-2: nft inet input: udp dport 8472 @th,416,16 9002 numgen inc mod 6 0 drop"
	sc_inject "node-2: nft inet output: udp dport 8472 @th,400,16 53 numgen inc mod 4 0 drop (VXLAN of DNS answers)"
	sc_inject "node-2: iptables -I FORWARD 1 -s $POD_A/32 -d $POD_C/32 -p tcp --dport 8080 -m statistic --mode nth --every 5 --packet 0 -j DROP"
	in_ns_bg "$NS_PODC" udp1 "$BIN/traffic" udp-sink -listen :9001 -idle 2s
	in_ns_bg "$NS_PODC" udp2 "$BIN/traffic" udp-sink -listen :9002 -idle 2s
	in_ns_bg "$NS_PODC" udp3 "$BIN/traffic" udp-sink -net udp6 -listen "[::]:9003" -idle 2s
	in_ns_bg "$NS_PODC" tcp "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	dns_servers "$NS_PODC"
	wait_port "$NS_PODC" udp 9001
	wait_port "$NS_PODC" udp 9002
	wait_port "$NS_PODC" udp 9003
	wait_port "$NS_PODC" tcp 8080
	# shellcheck disable=SC2046
	caps_start $(capture_points_real)
	bg_start
	sleep 0.3
	nsx "$NS_PODA" "$BIN/traffic" udp-burst -to "$POD_C:9001" -n 60 -size 64 -gap 10ms >>"$SCDIR/truth/traffic.jsonl" &
	nsx "$NS_PODA" "$BIN/traffic" udp-burst -to "$POD_C:9002" -n 60 -size 80 -gap 10ms >>"$SCDIR/truth/traffic.jsonl" &
	nsx "$NS_PODA" "$BIN/traffic" udp-burst -net udp6 -to "[$POD_C6]:9003" -n 60 -size 96 -gap 10ms >>"$SCDIR/truth/traffic.jsonl" &
	nsx "$NS_PODA" "$BIN/traffic" dns-query -to "$POD_C:53" -name $DNS_NAME -n 20 -gap 30ms -timeout 300ms >>"$SCDIR/truth/traffic.jsonl" &
	wait_jobs_dns
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_C:8080" -req $TCP_REQ -resp $TCP_RESP -n 6 -gap 20ms -timeout 15s
	bg_wait
	wait "${SERVER_PIDS[0]}" "${SERVER_PIDS[1]}" "${SERVER_PIDS[2]}" 2>/dev/null || true
	wait_tcp_quiet "$NS_PODA" "dst $POD_C:8080"
	wait_tcp_quiet "$NS_PODC" "sport = :8080"
	caps_stop
	local ac ca ac6
	ac=$(path_real a c 4) ca=$(path_real c a 4) ac6=$(path_real a c 6)
	rflow udp-wire udp burst "$POD_A" "$POD_C" 9001 "$ac" "" ',"datagrams":60,"payload":64,"drop_rule":{"node":"wire","family":"nft","table":"bridge htlab","chain":"forward","comment":"hoptrace-lab: wire drop udp 9001 (IPv4 inner)","between":["n1-eth0","n2-eth0"],"direction":"orig","every":7}'
	rflow udp-input udp burst "$POD_A" "$POD_C" 9002 "$ac" "" ',"datagrams":60,"payload":80,"drop_rule":{"node":"node-2","family":"nft","table":"inet htlab","chain":"input","comment":"hoptrace-lab: node-2 input drop vxlan udp 9002","between":["n2-eth0","n2-flannel.1"],"direction":"orig","every":6}'
	rflow udp6-wire udp burst "$POD_A6" "$POD_C6" 9003 "$ac6" "" ',"datagrams":60,"payload":96,"drop_rule":{"node":"wire","family":"nft","table":"bridge htlab","chain":"forward","comment":"hoptrace-lab: wire drop udp 9003 (IPv6 inner)","between":["n1-eth0","n2-eth0"],"direction":"orig","every":7}'
	rflow dns udp dns "$POD_A" "$POD_C" 53 "$ac" "$ca" ',"queries":20,"server_socket":"unconnected","drop_rule":{"node":"node-2","family":"nft","table":"inet htlab","chain":"output","comment":"hoptrace-lab: node-2 output drop vxlan dns answers","between":["n2-flannel.1","n2-eth0"],"direction":"reply","every":4}'
	rflow tcp-req tcp request-response "$POD_A" "$POD_C" 8080 "$ac" "$ca" ",\"connections\":6,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP,\"drop_rule\":{\"node\":\"node-2\",\"family\":\"iptables\",\"table\":\"filter\",\"chain\":\"FORWARD\",\"comment\":\"$cf\",\"between\":[\"n2-flannel.1\",\"n2-cni0\"],\"direction\":\"orig\",\"every\":5}"
	sc_end_real
}

sc_calico-vxlan() {
	sc_begin_real calico-vxlan calico-vxlan 1430 \
		"Calico-style VXLAN, dual-stack: vxlan.calico (VNI 4096, UDP 4789, MTU 1450, IPv4 underlay) and vxlan-v6.calico (VNI 4096, UDP 4789, MTU 1430, IPv6 underlay); pods on cali veths (no bridge; /32 and /128 host routes, proxy ARP for 169.254.1.1, gateway fe80::ecee:eeff:feee:eeee), pod MTU 1430 (the smaller of the two encapsulations, as Calico sets it). TCP request/response A -> C over IPv4 and IPv6, DNS from pods A and B at once to pod C's unconnected UDP server, same-node TCP A -> B. Background traffic as in every realistic scenario."
	dns_servers "$NS_PODC"
	in_ns_bg "$NS_PODC" tcp "$BIN/traffic" tcp-serve -net tcp -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	in_ns_bg "$NS_PODB" tcpb "$BIN/traffic" tcp-serve -listen :8080 -req $TCP_REQ -resp $TCP_RESP -n 0
	wait_port "$NS_PODC" tcp 8080
	wait_port "$NS_PODB" tcp 8080
	# shellcheck disable=SC2046
	caps_start $(capture_points_real)
	bg_start
	sleep 0.3
	nsx "$NS_PODA" "$BIN/traffic" dns-query -to "$POD_C:53" -name $DNS_NAME -n 6 -gap 50ms -timeout 2s >>"$SCDIR/truth/traffic.jsonl" &
	nsx "$NS_PODB" "$BIN/traffic" dns-query -to "$POD_C:53" -name $DNS_NAME -n 6 -gap 50ms -timeout 2s >>"$SCDIR/truth/traffic.jsonl" &
	wait_jobs_dns
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_C:8080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -net tcp6 -to "[$POD_C6]:8080" -req $TCP_REQ -resp $TCP_RESP -n $TCP_CONNS -gap 100ms
	run_traffic "$NS_PODA" "$BIN/traffic" tcp-req -to "$POD_B:8080" -req $TCP_REQ -resp $TCP_RESP -n 2 -gap 100ms
	bg_wait
	caps_stop
	rflow dns-a udp dns "$POD_A" "$POD_C" 53 "$(path_real a c 4)" "$(path_real c a 4)" ',"queries":6,"server_socket":"unconnected"'
	rflow dns-b udp dns "$POD_B" "$POD_C" 53 "$(path_real b c 4)" "$(path_real c b 4)" ',"queries":6,"server_socket":"unconnected"'
	rflow tcp-req tcp request-response "$POD_A" "$POD_C" 8080 "$(path_real a c 4)" "$(path_real c a 4)" ",\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP"
	rflow tcp6-req tcp request-response "$POD_A6" "$POD_C6" 8080 "$(path_real a c 6)" "$(path_real c a 6)" ",\"connections\":$TCP_CONNS,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP"
	rflow same-node tcp request-response "$POD_A" "$POD_B" 8080 "$(path_real a b 4)" "$(path_real b a 4)" ",\"connections\":2,\"req_bytes\":$TCP_REQ,\"resp_bytes\":$TCP_RESP"
	sc_end_real
}
