#!/usr/bin/env bash
# Builds the CPU image from deploy/Dockerfile with docker or podman
# (deploy/container.sh), from the repository root:
#   deploy/build-image.sh [--tag pdserve:latest] [--prebuilt BUILD_DIR]
# --prebuilt BUILD_DIR: take BUILD_DIR/cli/pdserve (a tree already built on
# Debian 12) instead of compiling again inside the image.
# When the image debian:bookworm is not present (no registry reachable), it
# is made from Debian's own packages: debootstrap --variant=minbase with the
# mirror apt uses on this machine (the debootstrap package; root, or sudo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tag=pdserve:latest
prebuilt=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --prebuilt) prebuilt=$2; shift 2 ;;
    *) echo "build-image.sh: unknown argument '$1' (--tag NAME, --prebuilt BUILD_DIR)" >&2; exit 2 ;;
  esac
done
engine=deploy/container.sh

# The first http(s) Debian mirror in apt's sources (deb822 or one-line form).
apt_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' |
        grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' |
                          grep -v security | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

if ! $engine image inspect debian:bookworm >/dev/null 2>&1; then
  [ -x /usr/sbin/debootstrap ] || command -v debootstrap >/dev/null || { echo "build-image.sh: debian:bookworm is absent and debootstrap is not installed" >&2; exit 1; }
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  rootfs=$(mktemp -d)
  trap '$sudo rm -rf "$rootfs"' EXIT
  mirror=$(apt_mirror)
  echo "build-image.sh: making debian:bookworm with debootstrap from $mirror"
  $sudo debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  $sudo tar -C "$rootfs" -c . | $engine import - debian:bookworm >/dev/null
fi

args=(build -f deploy/Dockerfile -t "$tag")
if [ -n "$prebuilt" ]; then
  [ -x "$prebuilt/cli/pdserve" ] || { echo "build-image.sh: no $prebuilt/cli/pdserve" >&2; exit 1; }
  mkdir -p deploy/.prebuilt
  cp "$prebuilt/cli/pdserve" deploy/.prebuilt/pdserve
  args+=(--build-arg PDSERVE_BINARY=prebuilt)
fi
$engine "${args[@]}" .
echo "build-image.sh: built $tag"
