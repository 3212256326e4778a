#!/usr/bin/env bash
# hoptrace lab: small dumpcap (pcapng) captures whose Interface Statistics
# Blocks say when each capture started and stopped, with the kernel's truth
# beside them. They test that a capture's own start and end, when its file
# says them, decide what it covers (issue 12, coverage).
#
# Usage (as root):  testdata/lab/isb.sh [--out DIR]   (default testdata/captures: isb-quiet-end/, isb-stopped-early/)
#
#   ht-isbc 10.99.0.2 eth0 ==veth== eth0 10.99.0.1 ht-isbr eth1 10.99.1.1 ==veth== eth0 10.99.1.2 ht-isbs
#   (client, "node-1")               (router, not captured)              (server, "node-2")
#
# Cases (each a fresh topology, IPv6 on, its start-up let pass first):
#   quiet-end      the router drops the last 5 of 15 datagrams (payload
#                  marker, iptables string match); the server's capture
#                  (dumpcap) stays running 1.5 s after the last datagram
#                  but sees nothing more: its file's ISB end covers the
#                  drops, its last packet does not.
#   stopped-early  nothing is dropped; the server's dumpcap on eth0 is
#                  stopped after the first 10 datagrams, the 5 later ones
#                  arrive unseen (the server's Udp InDatagrams counts 15),
#                  while node-2's other capture (tcpdump, classic pcap, on
#                  lo) runs on: the node's window covers the 5, the eth0
#                  capture's ISB end says it had stopped.
#
# Only the namespaces ht-isbc, ht-isbr, ht-isbs are made, linked only to
# each other, and removed on exit.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$LAB_DIR/../captures
[[ ${1:-} == --out ]] && OUT=$2
[[ $(id -u) -eq 0 ]] || {
	echo "isb.sh: must run as root" >&2
	exit 1
}
for t in ip dumpcap tcpdump iptables python3; do
	command -v "$t" >/dev/null || {
		echo "isb.sh: missing $t" >&2
		exit 1
	}
done

NS=(ht-isbc ht-isbr ht-isbs)
PIDS=()
log() { printf '[isb %s] %s\n' "$(date +%T)" "$*" >&2; }
down() {
	local p n
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
trap down EXIT
trap 'exit 130' INT TERM

up() {
	down
	local n dev
	for n in "${NS[@]}"; do
		ip netns add "$n"
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
		ip -n "$n" link set lo up
	done
	ip -n ht-isbc link add eth0 type veth peer name eth0 netns ht-isbr
	ip -n ht-isbr link add eth1 type veth peer name eth0 netns ht-isbs
	ip -n ht-isbc link set eth0 address 02:00:0a:63:00:02
	ip -n ht-isbr link set eth0 address 02:00:0a:63:00:01
	ip -n ht-isbr link set eth1 address 02:00:0a:63:01:01
	ip -n ht-isbs link set eth0 address 02:00:0a:63:01:02
	ip -n ht-isbc addr add 10.99.0.2/24 dev eth0
	ip -n ht-isbr addr add 10.99.0.1/24 dev eth0
	ip -n ht-isbr addr add 10.99.1.1/24 dev eth1
	ip -n ht-isbs addr add 10.99.1.2/24 dev eth0
	for n in "${NS[@]}"; do
		for dev in $(ip -n "$n" -o link | awk -F': ' '{sub(/@.*/,"",$2); print $2}'); do ip -n "$n" link set "$dev" up; done
	done
	ip -n ht-isbc route add default via 10.99.0.1
	ip -n ht-isbs route add default via 10.99.1.1
	ip netns exec ht-isbr sysctl -qw net.ipv4.ip_forward=1
	# Neighbours resolved before the captures: what is captured is the
	# datagrams and IPv6's own background, not a first ARP exchange.
	ip netns exec ht-isbc ping -c1 -W1 10.99.1.2 >/dev/null
	# Let IPv6 start-up (DAD, router solicitations, MLD reports) pass.
	sleep "${IPV6_SETTLE:-10}"
}

# send FROM-NS N MARKER : N UDP datagrams 10.99.0.2:40000 -> 10.99.1.2:9000,
# 20 ms apart, payload "seq=<i> <MARKER>" padded to 64 bytes.
send() {
	ip netns exec "$1" python3 - "$2" "$3" <<'EOF'
import socket, sys, time
n, marker = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.0.2", 40000))
for i in range(n):
    s.sendto(("seq=%d %s" % (i, marker)).ljust(64).encode(), ("10.99.1.2", 9000))
    time.sleep(0.02)
EOF
}

# sink FILE : a UDP server on 10.99.1.2:9000 in the server's namespace that
# writes each datagram's payload (a line) to FILE; stopped with SIGTERM.
sink() {
	ip netns exec ht-isbs python3 -u -c '
import signal, socket, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.1.2", 9000))
with open(sys.argv[1], "w") as out:
    while True:
        out.write(s.recv(2048).decode().rstrip() + "\n")
        out.flush()
' "$1" &
	SINK=$!
	PIDS+=("$SINK")
	for _ in $(seq 100); do
		ip netns exec ht-isbs ss -Hlun 'sport = :9000' | grep -q . && return 0
		sleep 0.05
	done
	echo "isb.sh: the UDP sink did not start" >&2
	exit 1
}

# cap NS IF FILE dumpcap|tcpdump : start a capture, wait until it listens
cap() {
	local ns=$1 ifn=$2 file=$3 tool=$4 logf
	logf=$(mktemp /tmp/hoptrace-isb.XXXXXX)
	if [[ $tool == dumpcap ]]; then
		ip netns exec "$ns" dumpcap -i "$ifn" -s 262144 -w "$file" >"$logf" 2>&1 &
	else
		ip netns exec "$ns" tcpdump -n -U --immediate-mode -i "$ifn" -s 262144 --time-stamp-precision=nano -w "$file" >"$logf" 2>&1 &
	fi
	CAP=$!
	PIDS+=("$CAP")
	for _ in $(seq 300); do
		grep -qi 'capturing on\|listening on' "$logf" && break
		sleep 0.02
	done
	grep -qi 'capturing on\|listening on' "$logf" || {
		echo "isb.sh: $tool on $ns:$ifn did not start: $(cat "$logf")" >&2
		exit 1
	}
	rm -f "$logf"
}

stop() { kill -INT "$1" 2>/dev/null && wait "$1" || true; }

snmp_udp() { ip netns exec "$1" awk '/^Udp:/ { if (h) { print $2 } h = 1 }' /proc/net/snmp; } # InDatagrams

truth() { # truth DIR : the counters and rules the tests compare with
	local d=$1
	ip netns exec ht-isbr iptables-save -c >"$d/truth/r-iptables-save.txt"
	printf '%s\n' "$2" >"$d/truth/server-udp-indatagrams.txt"
}

quiet_end() {
	local d=$OUT/isb-quiet-end
	rm -rf "$d" && mkdir -p "$d/node-1" "$d/node-2" "$d/truth"
	up
	ip netns exec ht-isbr iptables -A FORWARD -p udp --dport 9000 -m string --string DROPME --algo bm \
		-m comment --comment "hoptrace-lab: drop the marked datagrams" -j DROP
	local before c s
	sink "$d/truth/server-received.txt"
	before=$(snmp_udp ht-isbs)
	cap ht-isbc eth0 "$d/node-1/c-eth0.pcapng" dumpcap
	c=$CAP
	cap ht-isbs eth0 "$d/node-2/s-eth0.pcapng" dumpcap
	s=$CAP
	sleep 0.5
	log "quiet-end: 10 datagrams, then 5 dropped at the router"
	send ht-isbc 10 pass
	send ht-isbc 5 DROPME
	sleep 1.5
	stop "$s"
	stop "$c"
	truth "$d" "$(($(snmp_udp ht-isbs) - before))"
	kill "$SINK" && wait "$SINK" || true
	down
}

stopped_early() {
	local d=$OUT/isb-stopped-early
	rm -rf "$d" && mkdir -p "$d/node-1" "$d/node-2" "$d/truth"
	up
	local before c s l
	sink "$d/truth/server-received.txt"
	before=$(snmp_udp ht-isbs)
	cap ht-isbc eth0 "$d/node-1/c-eth0.pcapng" dumpcap
	c=$CAP
	cap ht-isbs eth0 "$d/node-2/s-eth0.pcapng" dumpcap
	s=$CAP
	cap ht-isbs lo "$d/node-2/s-lo.pcap" tcpdump
	l=$CAP
	sleep 0.5
	log "stopped-early: 10 datagrams, the server's eth0 capture stops, 5 more"
	send ht-isbc 10 pass
	sleep 0.3
	stop "$s"
	send ht-isbc 5 late
	sleep 0.3
	ip netns exec ht-isbs ping -c 2 -i 0.2 127.0.0.1 >/dev/null
	sleep 0.3
	stop "$l"
	stop "$c"
	truth "$d" "$(($(snmp_udp ht-isbs) - before))"
	kill "$SINK" && wait "$SINK" || true
	down
}

mkdir -p "$OUT"
quiet_end
stopped_early
log "done -> $OUT"
