#!/usr/bin/env bash
# Builds roam, starts `roam agent -dev`, runs the example job and keeps the
# agent in the foreground until Ctrl-C (which stops the agent and its tasks).
#
# ROAM_ADDR=http://127.0.0.1:<port> moves the agent: its HTTP API listens on
# <port> and its RPC, serf and DNS ports move by the same offset from their
# defaults (4647, 4648, 8600), so a second dev agent can run beside a first.
set -euo pipefail
cd "$(dirname "$0")/.."

export ROAM_ADDR=${ROAM_ADDR:-http://127.0.0.1:4646}
# Only a loopback http address with an explicit port can be honoured: the dev
# agent binds 127.0.0.1. Anything else is refused before anything starts.
if [[ ! $ROAM_ADDR =~ ^http://(127\.0\.0\.1|localhost):([0-9]+)/?$ ]]; then
	echo "make dev: ROAM_ADDR=$ROAM_ADDR is not http://127.0.0.1:<port>; the dev agent listens on 127.0.0.1 only (unset ROAM_ADDR for the default port 4646)" >&2
	exit 1
fi
port=${BASH_REMATCH[2]}
offset=$((port - 4646))
dns_port=$((8600 + offset))
if ((port < 1024 || port + 2 > 65535 || dns_port < 1024 || dns_port > 65535)); then
	echo "make dev: port $port in ROAM_ADDR is out of range: it needs $port-$((port + 2)) and $dns_port (DNS, 8600 + the offset from 4646) between 1024 and 65535" >&2
	exit 1
fi
recipe='to run beside it, pick other ports: ROAM_ADDR=http://127.0.0.1:5746 make dev (README.md, "To use other ports")'

# If anything holds the HTTP port the agent cannot start, and whatever answers
# there must not be mistaken for it (the example job would be sent to it):
# stop here and say so.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "make dev: 127.0.0.1:$port is taken (another roam or Nomad agent?); stop what listens there, or $recipe" >&2
	exit 1
fi
echo "make dev: building bin/roam (the first build takes a minute or two) ..."
go build -o bin/roam ./cmd/roam

# The ports, as a config file the agent reads after its -dev preset.
workdir=$(mktemp -d "${TMPDIR:-/tmp}/roam-dev.XXXXXX")
cat >"$workdir/dev.hcl" <<HCL
ports {
  http = $port
  rpc  = $((4647 + offset))
  serf = $((4648 + offset))
  dns  = $dns_port
}
HCL
log=$workdir/agent.log
echo "make dev: starting roam agent -dev on 127.0.0.1:$port (log: $log; Ctrl-C stops it and its tasks)"

# The agent runs in its own session so that Ctrl-C reaches it exactly once,
# through the trap below: a second signal would make it exit without stopping
# its tasks. Its output goes to the log, which tail shows here; the agent
# never writes to a pipe that Ctrl-C could close under it.
setsid bin/roam agent -dev -config "$workdir/dev.hcl" >"$log" 2>&1 &
agent=$!
tail -n +1 -f --pid="$agent" "$log" &
stop_agent() {
	trap - INT TERM EXIT
	if kill -0 "$agent" 2>/dev/null; then
		kill -INT "$agent"
		wait "$agent" || true
	fi
}
trap 'stop_agent; exit 130' INT TERM
trap stop_agent EXIT

ready=
for _ in $(seq 300); do
	# Alive first: an agent that exited (the port was taken meanwhile)
	# must not be mistaken for whatever answers on its port.
	if ! kill -0 "$agent" 2>/dev/null; then echo "make dev: roam agent exited; its log is $log" >&2; exit 1; fi
	if curl -sf "$ROAM_ADDR/v1/agent/health" >/dev/null 2>&1; then ready=1; break; fi
	sleep 0.1
done
if [[ -z $ready ]]; then
	echo "make dev: roam agent never became ready (no answer from $ROAM_ADDR/v1/agent/health in 30 s); its log is $log" >&2
	exit 1
fi

bin/roam job run examples/hello.nomad
bin/roam job status hello
cat <<MSG

roam is running at $ROAM_ADDR with the example job "hello".
Web UI: $ROAM_ADDR/ui/  (bin/roam ui opens it)
Try:  bin/roam status | bin/roam node status | bin/roam job status hello
Press Ctrl-C to stop the agent and its tasks.
MSG
wait "$agent"
