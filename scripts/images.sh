#!/usr/bin/env bash
# Builds the images the seed job files name, locally, from this repository
# (see images/README.md). Needs Docker and Go; installs Debian's
# redis-server for the redis image when it is missing (as root). Idempotent.
#
#   scripts/images.sh            build all four
#   scripts/images.sh redis      build some (counter-api counter-dashboard hello-app redis)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
declare -A tags=(
	[counter-api]=hashicorpnomad/counter-api:v3
	[counter-dashboard]=hashicorpnomad/counter-dashboard:v3
	[hello-app]=mrkaran/hello-app:1.0.0
	[redis]=redis:7
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build() { # build <name> <context>
	echo "images: ${tags[$1]}"
	DOCKER_BUILDKIT=0 docker build -q -t "${tags[$1]}" -f "$root/images/$1/Dockerfile" "$2" 2>/dev/null >/dev/null \
		|| { echo "images: docker build of ${tags[$1]} failed:" >&2; DOCKER_BUILDKIT=0 docker build -t "${tags[$1]}" -f "$root/images/$1/Dockerfile" "$2" >&2; exit 1; }
}

go_app() { # go_app <name>: a static binary on an empty image
	local ctx="$work/$1"
	mkdir -p "$ctx"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/$1" "./apps/$1")
	build "$1" "$ctx"
}

# copy_with_parents <file> <rootfs>: the file's content at the same path.
copy_with_parents() {
	mkdir -p "$2$(dirname "$1")"
	cp -L "$1" "$2$1"
}

redis() {
	if ! command -v redis-server >/dev/null 2>&1; then
		[ "$(id -u)" -eq 0 ] || { echo "images: redis-server is missing; install Debian's redis-server (as root)" >&2; exit 1; }
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
	fi
	local ctx="$work/redis" bin
	bin=$(command -v redis-server)
	bin=$(readlink -f "$bin")
	mkdir -p "$ctx/rootfs/data" "$ctx/rootfs/etc/redis" "$ctx/rootfs/usr/bin" "$ctx/rootfs/tmp"
	cp "$bin" "$ctx/rootfs/usr/bin/redis-server"
	# Every library ldd resolves ("name => /path (addr)") and the loader
	# ("/lib64/ld-linux-x86-64.so.2 (addr)"), at their own paths.
	ldd "$bin" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
		copy_with_parents "$lib" "$ctx/rootfs"
	done
	cp "$root/images/redis/redis.conf" "$ctx/rootfs/etc/redis/redis.conf"
	chmod 1777 "$ctx/rootfs/tmp"
	build redis "$ctx"
}

names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(counter-api counter-dashboard hello-app redis)
for n in "${names[@]}"; do
	case "$n" in
	counter-api | counter-dashboard | hello-app) go_app "$n" ;;
	redis) redis ;;
	*) echo "images: unknown image $n" >&2; exit 2 ;;
	esac
done
