#!/usr/bin/env bash
# Runs docker, or podman where no docker daemon answers, with the settings a
# Debian 12 VM needs:
#   deploy/container.sh build -f deploy/Dockerfile -t pdserve .
#   deploy/container.sh run --rm pdserve
# With podman: `--runtime runc --cgroup-manager=cgroupfs` (crun refuses the
# hybrid cgroup layout), `--network host` on build and run, and, unless
# CONTAINERS_CONF is set, a containers.conf holding `default_ulimits = []`
# (the default ulimits cannot be raised without CAP_SYS_RESOURCE).
# PDSERVE_CONTAINER_ENGINE=docker|podman picks one explicitly.
set -euo pipefail
engine=${PDSERVE_CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null 2>&1; then
    engine=podman
  else
    echo "container.sh: neither a running docker nor podman found (apt-get install podman)" >&2
    exit 1
  fi
fi
if [ "$engine" = docker ]; then
  exec docker "$@"
fi
if [ -z "${CONTAINERS_CONF:-}" ]; then
  CONTAINERS_CONF="${TMPDIR:-/tmp}/pdserve-containers.conf"
  printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
  export CONTAINERS_CONF
fi
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
case "${1:-}" in
  build | run) exec "${podman[@]}" "$1" --network host "${@:2}" ;;
  *) exec "${podman[@]}" "$@" ;;
esac
