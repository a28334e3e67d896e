#!/usr/bin/env bash
# Installs Debian packages, waiting (up to ten minutes) for another apt or
# dpkg that holds the locks (unattended upgrades, a second make test) rather
# than failing. Installing what is already there changes nothing.
#   scripts/apt-install.sh [-u] PKG...   (-u: apt-get update first)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
wait_lock=(-o DPkg::Lock::Timeout=600)
if [ "${1:-}" = "-u" ]; then
	shift
	apt-get "${wait_lock[@]}" update -qq
fi
apt-get "${wait_lock[@]}" install -y -q --no-install-recommends "$@"
