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
	# the java driver's tests compile a class and pack a jar (java, javac, jar)
	[javac]=default-jdk-headless
)

missing=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done

if [ "${#missing[@]}" -gt 0 ]; then
	need_root
	echo "test-setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "test-setup: ready"
