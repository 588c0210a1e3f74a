#!/usr/bin/env bash
# Run HERE before a device call: fills .deps/ (git-ignored) with the Debian
# packages the GPU machine lacks (UCX, prometheus-cpp: ../shared/device's
# recipe; PCRE2 headers), for `carry: [".deps"]` and scripts/device-env.sh.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
bash "$root/../shared/device/prepare-deps.sh"
mkdir -p "$root/.deps/debs"
cd "$root/.deps/debs"
apt-get download libpcre2-dev libpcre2-8-0 >/dev/null
for f in *.deb; do dpkg -x "$f" "$root/.deps/"; done
rm -rf "$root/.deps/debs"
du -sh "$root/.deps"
