#!/usr/bin/env bash
# Builds roam, starts `roam agent -dev`, runs the example job and keeps the
# agent in the foreground until Ctrl-C (which stops the agent and its tasks).
set -euo pipefail
cd "$(dirname "$0")/.."

export ROAM_ADDR=${ROAM_ADDR:-http://127.0.0.1:4646}
# The dev agent listens on 127.0.0.1:4646. If anything holds that port the
# agent cannot start, and whatever answers there must not be mistaken for it
# (the example job would be sent to it): stop here and say so.
if (exec 3<>/dev/tcp/127.0.0.1/4646) 2>/dev/null; then
	echo "make dev: 127.0.0.1:4646 is taken (another roam or Nomad agent?); stop what listens there and try again" >&2
	exit 1
fi
echo "make dev: building bin/roam (the first build takes a minute or two) ..."
go build -o bin/roam ./cmd/roam
echo "make dev: starting roam agent -dev on 127.0.0.1:4646 (Ctrl-C stops it and its tasks)"

# The agent runs in its own session so that Ctrl-C reaches it exactly once,
# through the trap below: a second signal would make it exit without stopping
# its tasks.
setsid bin/roam agent -dev &
agent=$!
stop_agent() {
	trap - INT TERM EXIT
	if kill -0 "$agent" 2>/dev/null; then
		kill -INT "$agent"
		wait "$agent" || true
	fi
}
trap 'stop_agent; exit 130' INT TERM
trap stop_agent EXIT

for _ in $(seq 300); do
	# Alive first: an agent that exited (the port was taken meanwhile)
	# must not be mistaken for whatever answers on its port.
	if ! kill -0 "$agent" 2>/dev/null; then echo "make dev: roam agent exited" >&2; exit 1; fi
	if curl -sf "$ROAM_ADDR/v1/agent/health" >/dev/null 2>&1; then break; fi
	sleep 0.1
done

bin/roam job run examples/hello.nomad
bin/roam job status hello
cat <<MSG

roam is running at $ROAM_ADDR with the example job "hello".
Web UI: $ROAM_ADDR/ui/  (bin/roam ui opens it)
Try:  bin/roam status | bin/roam node status | bin/roam job status hello
Press Ctrl-C to stop the agent and its tasks.
MSG
wait "$agent"
