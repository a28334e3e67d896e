#!/usr/bin/env bash
# cluster-netns.sh: a roam cluster of three (or five) servers, and optionally
# one client, on ONE machine, each agent in its own network namespace on a
# bridge this script creates. The agents talk over real TCP between real
# addresses (10.x.y.11, .12, ...), as they would on separate machines, and
# partitions can be made with iptables between the namespaces.
#
#   scripts/cluster-netns.sh up [-servers 3|5] [-client] [-roam BIN] [-name NAME] [-subnet A.B.C]
#   scripts/cluster-netns.sh status [-name NAME]
#   scripts/cluster-netns.sh down   [-name NAME]
#
# Everything up creates is written to a state file
# (/tmp/roam-netns-NAME/state) as it is created: namespaces, the bridge, the
# host ends of the veth pairs, the iptables rule, agent PIDs. down removes
# exactly those and then the directory; it signals only the recorded PIDs,
# and only while /proc/PID/exe is still the binary it started. Needs root,
# ip(8) and iptables. See docs/cluster.md.
set -Eeuo pipefail

NAME=rcn
SERVERS=3
CLIENT=0
ROAM=""
SUBNET=10.96.47

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "cluster-netns: $*" >&2; exit 1; }

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
while [ $# -gt 0 ]; do
	case $1 in
	-servers) SERVERS=$2; shift 2 ;;
	-client) CLIENT=1; shift ;;
	-roam) ROAM=$2; shift 2 ;;
	-name) NAME=$2; shift 2 ;;
	-subnet) SUBNET=$2; shift 2 ;;
	-h|-help|--help) usage ;;
	*) die "unknown argument $1" ;;
	esac
done
# Interface names are at most 15 bytes: NAME + "br0" / "s5h" must fit.
[[ $NAME =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "-name: 1 to 10 lowercase letters and digits, starting with a letter"
[[ $SUBNET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "-subnet: the first three octets of a /24, e.g. 10.96.47"
[[ $SERVERS =~ ^[1-7]$ ]] || die "-servers: 1 to 7"

DIR=/tmp/roam-netns-$NAME
STATE=$DIR/state
BR=${NAME}br0

record() { echo "$*" >> "$STATE"; }

server_ip() { echo "$SUBNET.$((10 + $1))"; }
client_ip() { echo "$SUBNET.20"; }

# addns NS IP HOSTVETH: a namespace with eth0 on the bridge at IP.
addns() {
	local ns=$1 ip=$2 veth=$3
	ip netns add "$ns"; record ns "$ns"
	ip link add "$veth" type veth peer name eth0 netns "$ns"; record veth "$veth"
	ip link set "$veth" master "$BR" up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" route add default via "$SUBNET.1"
}

server_config() {
	local i=$1 join="" j
	for j in $(seq 1 "$SERVERS"); do join="$join\"$(server_ip "$j"):4647\", "; done
	cat <<EOF
name      = "server$i"
data_dir  = "$DIR/server$i/data"
bind_addr = "$(server_ip "$i")"
log_level = "INFO"
server {
  enabled          = true
  bootstrap_expect = $SERVERS
  server_join {
    retry_join = [${join%, }]
  }
}
EOF
}

client_config() {
	local servers="" j
	for j in $(seq 1 "$SERVERS"); do servers="$servers\"$(server_ip "$j"):4647\", "; done
	cat <<EOF
name      = "client1"
data_dir  = "$DIR/client1/data"
bind_addr = "$(client_ip)"
log_level = "INFO"
client {
  enabled           = true
  servers           = [${servers%, }]
  network_interface = "eth0"
}
EOF
}

# start NS NAME CONFIG: run the agent in the namespace, recording its PID.
start() {
	local ns=$1 name=$2
	mkdir -p "$DIR/$name"
	cat > "$DIR/$name/agent.hcl"
	# ip netns exec execs the agent in place: $! is the agent's own PID.
	nohup ip netns exec "$ns" "$ROAM" agent -config "$DIR/$name/agent.hcl" > "$DIR/$name/agent.log" 2>&1 &
	record pid "$!" "$name"
}

up() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, bridge, iptables)"
	[ ! -e "$STATE" ] || die "$STATE exists: run '$0 down -name $NAME' first"
	if [ -z "$ROAM" ]; then ROAM=$(command -v roam) || die "no roam on PATH: pass -roam BIN"; fi
	ROAM=$(readlink -f "$ROAM")
	[ -x "$ROAM" ] || die "$ROAM is not executable"
	mkdir -p "$DIR"
	record dir "$DIR"
	record roam "$ROAM"
	trap 'echo "cluster-netns: up failed; removing what it made" >&2; down' ERR
	ip link add "$BR" type bridge; record bridge "$BR"
	ip addr add "$SUBNET.1/24" dev "$BR"
	ip link set "$BR" up
	# With br_netfilter, bridged traffic crosses FORWARD, whose policy may
	# be DROP (Docker sets it): let the namespaces reach each other.
	iptables -I FORWARD -i "$BR" -o "$BR" -m comment --comment "roam-cluster-netns $NAME" -j ACCEPT
	record iptables "$BR"
	local i
	for i in $(seq 1 "$SERVERS"); do
		addns "$NAME-s$i" "$(server_ip "$i")" "${NAME}s${i}h"
		server_config "$i" | start "$NAME-s$i" "server$i"
	done
	if [ "$CLIENT" = 1 ]; then
		addns "$NAME-c1" "$(client_ip)" "${NAME}c1h"
		client_config | start "$NAME-c1" client1
	fi
	trap - ERR
	wait_leader
	status
}

# wait_leader waits up to 60 s for the first server to name a leader.
wait_leader() {
	local url="http://$(server_ip 1):4646/v1/status/leader" n
	for n in $(seq 1 600); do
		if curl -sf "$url" 2>/dev/null | grep -q ':'; then return 0; fi
		sleep 0.1
	done
	die "no leader after 60 s; logs in $DIR/*/agent.log"
}

status() {
	[ -e "$STATE" ] || die "no cluster named $NAME (no $STATE)"
	local roam pid name
	roam=$(awk '$1=="roam"{print $2}' "$STATE")
	while read -r kind pid name; do
		[ "$kind" = pid ] || continue
		if alive "$pid" "$roam"; then echo "$name: pid $pid running"; else echo "$name: pid $pid not running"; fi
	done < "$STATE"
	echo "NOMAD_ADDR=http://$(server_ip 1):4646"
	NOMAD_ADDR="http://$(server_ip 1):4646" "$roam" server members || true
}

# alive PID BIN: the PID still runs the binary this script started.
alive() {
	[ -e "/proc/$1" ] && [ "$(readlink -f "/proc/$1/exe" 2>/dev/null)" = "$2" ]
}

down() {
	[ -e "$STATE" ] || { echo "cluster-netns: nothing to remove for $NAME"; return 0; }
	local roam kind a b pid n
	roam=$(awk '$1=="roam"{print $2}' "$STATE")
	# Agents first (SIGTERM, SIGKILL after 10 s), then the network in
	# reverse order of creation.
	for pid in $(awk '$1=="pid"{print $2}' "$STATE"); do
		alive "$pid" "$roam" && kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $(awk '$1=="pid"{print $2}' "$STATE"); do
		for n in $(seq 1 100); do alive "$pid" "$roam" || break; sleep 0.1; done
		alive "$pid" "$roam" && kill -KILL "$pid" 2>/dev/null || true
	done
	tac "$STATE" | while read -r kind a b; do
		case $kind in
		iptables) iptables -D FORWARD -i "$a" -o "$a" -m comment --comment "roam-cluster-netns $NAME" -j ACCEPT 2>/dev/null || true ;;
		veth) ip link del "$a" 2>/dev/null || true ;;
		ns) ip netns del "$a" 2>/dev/null || true ;;
		bridge) ip link del "$a" 2>/dev/null || true ;;
		esac
	done
	rm -rf "$DIR"
	echo "cluster-netns: $NAME removed"
}

case $cmd in
up) up ;;
status) status ;;
down) down ;;
*) usage ;;
esac
