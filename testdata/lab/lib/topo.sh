# shellcheck shell=bash
# Topology of the hoptrace lab: two "nodes" and three "pods", each a network
# namespace of its own, built only with `ip -n NS ...` so that nothing is
# ever created in (or linked to) the host's namespace, and no route leads
# out of the lab.
#
#   ht-poda 10.244.0.5 --veth-pod-a--+                      +--veth-pod-c-- ht-podc 10.244.1.5
#   ht-podb 10.244.0.6 --veth-pod-b--+ cni0 10.244.0.1/24   | cni0 10.244.1.1/24
#                                    ht-node1               ht-node2
#                                    eth0 192.168.1.10 ==== eth0 192.168.1.11   (veth pair: "the wire")
#
# Cross-node modes (MODE):
#   vxlan  - flannel.1 (VNI 1, UDP 8472, MTU 1450, nolearning) with the static
#            neighbour/FDB entries flannel's daemon writes;
#   routed - Calico BGP style: other node's pod CIDR via its node IP on eth0;
#   ipip   - Calico tunl0 style (MTU 1480), done in user space by ipiptun
#            (TUN + raw IPPROTO_IPIP socket) because this kernel has no ipip.

# Namespace names. All lab namespaces start with "ht-".
NS_NODE1=ht-node1
NS_NODE2=ht-node2
NS_PODA=ht-poda
NS_PODB=ht-podb
NS_PODC=ht-podc
NS_EXT=ht-ext   # realistic scenarios: an external host on the underlay
NS_LAN=ht-lan   # realistic scenarios: another machine on the underlay (background only)
NS_WIRE=ht-wire # realistic scenarios: the underlay switch (bridge br0)
# Namespaces of the current topology (topo_up / topo_up_real set it) and
# every name the lab may ever create (teardown removes all of them).
LAB_NAMESPACES=("$NS_NODE1" "$NS_NODE2" "$NS_PODA" "$NS_PODB" "$NS_PODC")
ALL_LAB_NAMESPACES=("$NS_NODE1" "$NS_NODE2" "$NS_PODA" "$NS_PODB" "$NS_PODC" "$NS_EXT" "$NS_LAN" "$NS_WIRE")
# IPV6=on keeps IPv6 on in every namespace (realistic scenarios); the
# classic scenarios still run with IPv6 off until hoptrace's analysis is
# right on link-local traffic (issue 12).
IPV6=off

NODE1_IP=192.168.1.10
NODE2_IP=192.168.1.11
POD_A=10.244.0.5
POD_B=10.244.0.6
POD_C=10.244.1.5
CIDR1=10.244.0.0/24
CIDR2=10.244.1.0/24

# Deterministic MAC addresses so that captures of different runs look alike.
MAC_N1_ETH0=02:00:c0:a8:01:0a
MAC_N2_ETH0=02:00:c0:a8:01:0b
MAC_N1_VTEP=0e:00:0a:f4:00:00
MAC_N2_VTEP=0e:00:0a:f4:01:00
MAC_N1_CNI0=0a:58:0a:f4:00:01
MAC_N2_CNI0=0a:58:0a:f4:01:01
MAC_PODA=0a:58:0a:f4:00:05
MAC_PODB=0a:58:0a:f4:00:06
MAC_PODC=0a:58:0a:f4:01:05

# Background processes started by the lab (pids); killed by pid on teardown.
LAB_PIDS=()

nsx() { # nsx NS CMD... : run CMD inside namespace NS
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# hop_prefix NS -> prefix used in hop/capture names (n1, n2, poda, ...)
hop_prefix() {
	case $1 in
	"$NS_NODE1") echo n1 ;;
	"$NS_NODE2") echo n2 ;;
	"$NS_PODA") echo poda ;;
	"$NS_PODB") echo podb ;;
	"$NS_PODC") echo podc ;;
	"$NS_EXT") echo ext ;;
	"$NS_LAN") echo lan ;;
	"$NS_WIRE") echo wire ;;
	*) die "hop_prefix: unknown namespace $1" ;;
	esac
}

# node_of NS -> node directory the namespace's captures belong to
node_of() {
	case $1 in
	"$NS_NODE1" | "$NS_PODA" | "$NS_PODB") echo node-1 ;;
	"$NS_NODE2" | "$NS_PODC") echo node-2 ;;
	"$NS_EXT") echo ext ;;
	*) die "node_of: unknown namespace $1" ;;
	esac
}

# tunnel device name for the current MODE (empty in routed mode)
tun_dev() {
	case $MODE in
	vxlan) echo flannel.1 ;;
	calico-vxlan) echo vxlan.calico ;;
	ipip) echo tunl0 ;;
	routed) echo "" ;;
	*) die "unknown MODE $MODE" ;;
	esac
}

# default pod MTU for a mode, as the CNI plugins configure it
mode_pod_mtu() {
	case $1 in
	vxlan) echo 1450 ;;
	ipip) echo 1480 ;;
	routed) echo 1500 ;;
	*) die "unknown MODE $1" ;;
	esac
}

ns_new() { # ns_new NS : create an empty namespace, IPv6 per $IPV6, lo up
	local ns=$1
	ip netns add "$ns" || die "cannot create namespace $ns"
	if [[ $IPV6 == on ]]; then
		nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
	else
		nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	fi
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$ns" link set lo up
}

# add_pod NODE_NS POD_NS HOSTVETH POD_IP GW MAC MTU
add_pod() {
	local node=$1 pod=$2 hveth=$3 ip=$4 gw=$5 mac=$6 mtu=$7
	ns_new "$pod"
	ip -n "$node" link add "$hveth" mtu "$mtu" type veth peer name eth0 netns "$pod" mtu "$mtu"
	ip -n "$pod" link set eth0 address "$mac"
	ip -n "$node" link set "$hveth" master cni0 up
	ip -n "$pod" addr add "$ip/24" dev eth0
	ip -n "$pod" link set eth0 up
	ip -n "$pod" route add default via "$gw" dev eth0
}

# node_base NS CNI0_IP CNI0_MAC : forwarding, cni0 bridge, kube-proxy-like
# FORWARD rule (its conntrack match turns connection tracking on, as on every
# real kube-proxy node).
node_base() {
	local ns=$1 cni_ip=$2 cni_mac=$3
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
	# br_netfilter (as kube-proxy requires): bridged pod traffic traverses
	# iptables, so NAT/filter apply already at the bridge port. Only set
	# where the kernel has it; scenario.json records the value.
	if nsx "$ns" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		nsx "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=1
	fi
	# mcast_snooping off: otherwise the bridge joins 224.0.0.106 (MRD) and sends
	# IGMP reports at random moments, which only adds noise to the captures.
	ip -n "$ns" link add cni0 type bridge mcast_snooping 0
	ip -n "$ns" link set cni0 address "$cni_mac"
	ip -n "$ns" addr add "$cni_ip/24" dev cni0
	ip -n "$ns" link set cni0 up
	nsx "$ns" iptables -N KUBE-FORWARD
	nsx "$ns" iptables -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
	nsx "$ns" iptables -A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED \
		-m comment --comment "kubernetes forwarding conntrack rule" -j ACCEPT
}

# start_ipiptun NS LOCAL REMOTE LOGFILE : start the user-space IPIP tunnel
start_ipiptun() {
	local ns=$1 local_ip=$2 remote=$3 logf=$4
	ip netns exec "$ns" "$BIN/ipiptun" -dev tunl0 -local "$local_ip" -remote "$remote" >"$logf" 2>&1 &
	LAB_PIDS+=($!)
	for _ in $(seq 150); do
		grep -q '^ready' "$logf" 2>/dev/null && return 0
		sleep 0.1
	done
	die "ipiptun in $ns did not start: $(cat "$logf")"
}

# topo_up : build the whole lab for MODE with pod MTU POD_MTU
topo_up() {
	local mtu=$POD_MTU
	log "topology up: mode=$MODE pod_mtu=$mtu"
	LAB_NAMESPACES=("$NS_NODE1" "$NS_NODE2" "$NS_PODA" "$NS_PODB" "$NS_PODC")
	local ns
	for ns in "$NS_NODE1" "$NS_NODE2"; do ns_new "$ns"; done

	# The wire: one veth pair, eth0 in node-1 <-> eth0 in node-2.
	ip -n "$NS_NODE1" link add eth0 type veth peer name eth0 netns "$NS_NODE2"
	ip -n "$NS_NODE1" link set eth0 address "$MAC_N1_ETH0"
	ip -n "$NS_NODE2" link set eth0 address "$MAC_N2_ETH0"
	ip -n "$NS_NODE1" addr add "$NODE1_IP/24" dev eth0
	ip -n "$NS_NODE2" addr add "$NODE2_IP/24" dev eth0
	ip -n "$NS_NODE1" link set eth0 up
	ip -n "$NS_NODE2" link set eth0 up

	node_base "$NS_NODE1" 10.244.0.1 "$MAC_N1_CNI0"
	node_base "$NS_NODE2" 10.244.1.1 "$MAC_N2_CNI0"

	add_pod "$NS_NODE1" "$NS_PODA" veth-pod-a "$POD_A" 10.244.0.1 "$MAC_PODA" "$mtu"
	add_pod "$NS_NODE1" "$NS_PODB" veth-pod-b "$POD_B" 10.244.0.1 "$MAC_PODB" "$mtu"
	add_pod "$NS_NODE2" "$NS_PODC" veth-pod-c "$POD_C" 10.244.1.1 "$MAC_PODC" "$mtu"

	case $MODE in
	vxlan)
		# What flannel's vxlan backend does on each node.
		vxlan_node "$NS_NODE1" "$NODE1_IP" 10.244.0.0 "$MAC_N1_VTEP" "$NODE2_IP" 10.244.1.0 "$MAC_N2_VTEP" "$CIDR2"
		vxlan_node "$NS_NODE2" "$NODE2_IP" 10.244.1.0 "$MAC_N2_VTEP" "$NODE1_IP" 10.244.0.0 "$MAC_N1_VTEP" "$CIDR1"
		;;
	routed)
		# Calico BGP style: plain route to the peer's pod CIDR via its node IP.
		ip -n "$NS_NODE1" route add "$CIDR2" via "$NODE2_IP" dev eth0
		ip -n "$NS_NODE2" route add "$CIDR1" via "$NODE1_IP" dev eth0
		;;
	ipip)
		ipip_node "$NS_NODE1" "$NODE1_IP" "$NODE2_IP" 10.244.0.0 "$CIDR2"
		ipip_node "$NS_NODE2" "$NODE2_IP" "$NODE1_IP" 10.244.1.0 "$CIDR1"
		;;
	*) die "unknown MODE $MODE" ;;
	esac
	if [[ $IPV6 == on ]]; then
		# Let the interfaces' IPv6 start-up (DAD, the first MLD reports and
		# router solicitations) pass before the captures start, as on a
		# node that has been up for a while; later solicitations stay.
		wait_dad "${LAB_NAMESPACES[@]}"
		sleep 1
	fi
}

# vxlan_node NS LOCAL_IP VTEP_IP VTEP_MAC PEER_IP PEER_VTEP_IP PEER_VTEP_MAC PEER_CIDR
vxlan_node() {
	local ns=$1 lip=$2 vip=$3 vmac=$4 pip=$5 pvip=$6 pvmac=$7 pcidr=$8
	ip -n "$ns" link add flannel.1 type vxlan id 1 local "$lip" dev eth0 dstport 8472 nolearning
	ip -n "$ns" link set flannel.1 address "$vmac" mtu 1450
	ip -n "$ns" addr add "$vip/32" dev flannel.1
	ip -n "$ns" link set flannel.1 up
	# flanneld writes: a permanent ARP entry for the peer VTEP, an FDB entry
	# sending that MAC to the peer node, and an onlink route to the peer CIDR.
	ip -n "$ns" neigh replace "$pvip" lladdr "$pvmac" dev flannel.1 nud permanent
	nsx "$ns" bridge fdb append "$pvmac" dev flannel.1 dst "$pip" self permanent
	ip -n "$ns" route add "$pcidr" via "$pvip" dev flannel.1 onlink
}

# ipip_node NS LOCAL_IP PEER_IP TUNL_IP PEER_CIDR
ipip_node() {
	local ns=$1 lip=$2 pip=$3 tip=$4 pcidr=$5
	start_ipiptun "$ns" "$lip" "$pip" "$WORK/ipiptun-$(hop_prefix "$ns").log"
	ip -n "$ns" link set tunl0 mtu 1480
	ip -n "$ns" addr add "$tip/32" dev tunl0
	ip -n "$ns" link set tunl0 up
	# Calico: "10.244.1.0/24 via 192.168.1.11 dev tunl0 proto bird onlink".
	# On a TUN device the gateway is only informational; ipiptun sends
	# everything to its single peer.
	ip -n "$ns" route add "$pcidr" via "$pip" dev tunl0 onlink
}

# kill_lab_pids : stop every background process the lab started, by pid
kill_lab_pids() {
	local p
	for p in "${LAB_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${LAB_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	LAB_PIDS=()
}

# topo_down : remove every lab namespace (only ours, by exact name)
topo_down() {
	kill_lab_pids
	local ns
	for ns in "${ALL_LAB_NAMESPACES[@]}"; do
		if ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then
			ip netns del "$ns" || log "warning: could not delete namespace $ns"
		fi
	done
}

# capture_points : all capture points (NS:IFNAME) for the current MODE
capture_points() {
	local t
	t=$(tun_dev)
	echo "$NS_PODA:eth0" "$NS_PODB:eth0" "$NS_NODE1:veth-pod-a" "$NS_NODE1:veth-pod-b" "$NS_NODE1:cni0"
	[[ -n $t ]] && echo "$NS_NODE1:$t"
	echo "$NS_NODE1:eth0" "$NS_NODE1:any"
	echo "$NS_PODC:eth0" "$NS_NODE2:veth-pod-c" "$NS_NODE2:cni0"
	[[ -n $t ]] && echo "$NS_NODE2:$t"
	echo "$NS_NODE2:eth0" "$NS_NODE2:any"
}

# path_json SRC DST : expected hop list (JSON array) for a packet from pod SRC
# to pod DST (a, b or c) in the current MODE, in order.
path_json() {
	local src=$1 dst=$2 t hops=()
	t=$(tun_dev)
	case "$src$dst" in
	ab) hops=(poda-eth0 n1-veth-pod-a n1-veth-pod-b podb-eth0) ;;
	ba) hops=(podb-eth0 n1-veth-pod-b n1-veth-pod-a poda-eth0) ;;
	ac)
		hops=(poda-eth0 n1-veth-pod-a n1-cni0)
		[[ -n $t ]] && hops+=("n1-$t")
		hops+=(n1-eth0 n2-eth0)
		[[ -n $t ]] && hops+=("n2-$t")
		hops+=(n2-cni0 n2-veth-pod-c podc-eth0)
		;;
	ca)
		hops=(podc-eth0 n2-veth-pod-c n2-cni0)
		[[ -n $t ]] && hops+=("n2-$t")
		hops+=(n2-eth0 n1-eth0)
		[[ -n $t ]] && hops+=("n1-$t")
		hops+=(n1-cni0 n1-veth-pod-a poda-eth0)
		;;
	*) die "path_json: unsupported $src -> $dst" ;;
	esac
	jarr "${hops[@]}"
}

# jarr WORD... : JSON array of strings (words must not contain quotes)
jarr() {
	local out="[" sep="" w
	for w in "$@"; do
		out+="$sep\"$w\""
		sep=","
	done
	echo "$out]"
}
