#!/usr/bin/env bash
# Makes sure a Docker Engine answers on /var/run/docker.sock, starting one when
# none runs. Used by test-setup.sh and by the docker driver's tests (which
# restart the engine under a running task). Safe to run again.
#
#   scripts/dockerd.sh start     start dockerd unless `docker info` answers
#   scripts/dockerd.sh restart   stop the running dockerd, then start it again
#
# Without systemd (containers, CI sandboxes) dockerd runs in the background in
# its own session, logging to $ROAM_DOCKERD_LOG (/var/log/roam-dockerd.log);
# its PID is in /var/run/docker.pid, written by dockerd itself.
set -euo pipefail

log=${ROAM_DOCKERD_LOG:-/var/log/roam-dockerd.log}
pidfile=/var/run/docker.pid

answers() { docker info >/dev/null 2>&1; }

has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

wait_until() { # wait_until <seconds> <command...>
	local n=$(($1 * 5)); shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

start() {
	answers && return 0
	if has_systemd; then
		systemctl start docker
	else
		setsid nohup dockerd >>"$log" 2>&1 </dev/null &
	fi
	if ! wait_until 60 answers; then
		echo "dockerd.sh: dockerd did not answer within 60s; its log ($log):" >&2
		tail -n 30 "$log" >&2 || true
		exit 1
	fi
}

gone() { ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; }

stop() {
	if has_systemd; then
		systemctl stop docker docker.socket
		return 0
	fi
	gone && return 0
	kill -TERM "$(cat "$pidfile")"
	wait_until 60 gone || { echo "dockerd.sh: dockerd did not stop within 60s" >&2; exit 1; }
}

case "${1:-start}" in
start) start ;;
restart) stop; start ;;
*) echo "usage: $0 start|restart" >&2; exit 2 ;;
esac
