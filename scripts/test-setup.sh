#!/usr/bin/env bash
# Installs what roam's tests need on a fresh Debian machine and starts what must
# run. Safe to run again: it only installs what is missing.
set -euo pipefail

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-setup: run as root (the tests create namespaces, cgroups and bridges)" >&2
		exit 1
	fi
}

# Debian packages the test suite uses, by the command that proves each is there.
declare -A pkgs=(
	[ip]=iproute2
	[iptables]=iptables
	[curl]=curl
	[jq]=jq
	# group networking: iptables-restore batches roam's rules; the CNI tests
	# run Debian's reference plugins (bridge, host-local, portmap, loopback)
	[iptables-restore]=iptables
	[/usr/lib/cni/portmap]=containernetworking-plugins
	[dig]=dnsutils
	# the java driver's tests compile a class and pack a jar (java, javac, jar)
	[javac]=default-jdk-headless
	# the docker driver's tests run a real Docker Engine (dockerd, docker)
	[dockerd]=docker.io
	# the redis:7 image (make images) is Debian's redis-server; hello-app's
	# tests run one
	[redis-server]=redis-server
	# pages (counter-dashboard) are tested in a real, headless browser
	[chromium]=chromium
)

missing=()
for cmd in "${!pkgs[@]}"; do
	# A key with a slash is a file the package installs (CNI plugins are not
	# on PATH); the others are commands.
	if [[ "$cmd" == */* ]]; then
		[ -x "$cmd" ] || missing+=("${pkgs[$cmd]}")
	else
		command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	need_root
	echo "test-setup: installing ${missing[*]}"
	"$(dirname "$0")/apt-install.sh" -u "${missing[@]}" >/dev/null
fi
# A Docker Engine must answer for the docker driver's tests; without systemd
# dockerd is started in the background (scripts/dockerd.sh). Where it cannot
# run at all, those tests skip and say why.
if ! "$(dirname "$0")/dockerd.sh" start; then
	echo "test-setup: dockerd could not be started; the docker tests will skip" >&2
fi
echo "test-setup: ready"
