#!/usr/bin/env bash
# Brings a fresh machine (Debian bookworm, root) to where ckpt runs and its tests pass:
# apt packages, ckpt's patched CRIU, npm dependencies, the TypeScript and C builds.
# Idempotent: each step checks first and says what it does; a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bootstrap] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  say "must run as root (apt, CRIU install, namespaces): sudo $0"
  exit 69
fi

# Packages ckpt and its tests use at run time (the CRIU build installs its own build deps);
# docker-compose (1.29) is the reference the loader is compared with (compose-reference.test.ts).
APT_PACKAGES=(curl iproute2 util-linux procps build-essential redis-server redis-tools tmux iptables nftables docker-compose
  btrfs-progs xfsprogs postgresql-15 debootstrap)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing apt packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm "${missing[@]}" >/dev/null
  # redis-server's package starts a system instance; tests start their own.
  if systemctl --version >/dev/null 2>&1; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
  pkill -x redis-server 2>/dev/null || true
else
  say "apt packages present"
fi

say "patched CRIU: criu-patches/build.sh"
bash criu-patches/build.sh

say "the Compose Specification schema: scripts/compose-schema.sh"
bash scripts/compose-schema.sh

# Image services: dockerd in experimental mode with ckpt's runtime wrapper, and the local
# dev-container image (no registry is reachable).
bash scripts/dockerd.sh
bash scripts/build-devcontainer-image.sh
bash scripts/build-debian-image.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies present"
fi

say "building (tsc + native shim)"
npm run --silent build

# `ckpt` on PATH, pointing at this checkout.
if [ "$(readlink -f "$(command -v ckpt 2>/dev/null || true)" 2>/dev/null)" != "$(readlink -f bin/ckpt.js)" ]; then
  say "linking the ckpt command to this checkout (npm link)"
  npm link --no-audit --no-fund --loglevel=error >/dev/null
fi
say "ready: $(command -v ckpt)"
