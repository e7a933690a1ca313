#!/usr/bin/env bash
# Builds a Debian bookworm base image without a registry, for tests whose services are built from
# Debian's packages (test/integration/mariadb.test.ts: FROM ckpt-debian:bookworm, apt-get install):
# `debootstrap --variant=minbase bookworm` from the mirror this machine's apt already uses, then
# `docker import`. The image's /etc/apt/sources.list names the same mirror, so apt-get works in a
# build FROM it; daemons a package installs are not started during a build (policy-rc.d).
#
#   sudo bash scripts/build-debian-image.sh [TAG]     (default ckpt-debian:bookworm)
#
# The mirror is read at run time from /etc/apt (deb822 .sources files first, then one-line
# sources.list), never written into the repository. Idempotent: the image carries a label with
# the hash of its recipe (this script, the mirror, the architecture); an image with the same hash
# is kept as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${1:-ckpt-debian:bookworm}
SUITE=bookworm
DOCKER=/usr/bin/docker
export DOCKER_API_VERSION=1.41
say() { printf '[debian-image] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, docker): sudo bash $0"

# shellcheck source=lib/apt-source.sh
. "$(dirname "$0")/lib/apt-source.sh"

src=$(find_source "$SUITE" | head -n1)
[ -n "$src" ] || die "no configured Debian source for suite $SUITE in /etc/apt (sources.list.d/*.sources or sources.list)"
MIRROR=${src%%$'\t'*}
KEYRING=${src#*$'\t'}
updates=$(find_source "$SUITE-updates" | head -n1 | cut -f1)
security=$(find_source "$SUITE-security" | head -n1 | cut -f1)
ARCH=$(dpkg --print-architecture)

recipe=$(printf '%s\n' "$(sha256sum "$0" | cut -c1-64)" "$MIRROR" "$updates" "$security" "$ARCH" | sha256sum | cut -c1-16)
have=$("$DOCKER" image inspect --format '{{ index .Config.Labels "ckpt.recipe" }}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$recipe" ]; then
  say "$TAG is up to date (recipe $recipe)"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

work=$(mktemp -d /tmp/ckpt-debian.XXXXXX)
rootfs=$work/rootfs
cleanup() {
  # debootstrap unmounts what it mounted, unless it was interrupted
  local m
  for m in $(awk -v r="$rootfs" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

keyring=()
[ -n "$KEYRING" ] && [ -f "$KEYRING" ] && keyring=(--keyring="$KEYRING")
say "debootstrap --variant=minbase $SUITE from $MIRROR ($ARCH)"
t0=$(date +%s)
if ! debootstrap --variant=minbase --arch="$ARCH" "${keyring[@]}" "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (log above)"
fi
say "debootstrap took $(($(date +%s) - t0)) s"

{
  echo "# Written by ckpt scripts/build-debian-image.sh: the build machine's mirror."
  echo "deb $MIRROR $SUITE main"
  [ -n "$updates" ] && echo "deb $updates $SUITE-updates main"
  [ -n "$security" ] && echo "deb $security $SUITE-security main"
} >"$rootfs/etc/apt/sources.list"
# A package's daemon must not start during `docker build` (there is no init; the image's CMD runs it).
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
# Smaller builds FROM the image: no kept .debs, no recommends.
cat >"$rootfs/etc/apt/apt.conf.d/90ckpt-docker" <<'EOF'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
EOF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
# Docker provides these at run time.
rm -rf "${rootfs:?}"/dev/* "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
: >"$rootfs/etc/resolv.conf"

say "importing as $TAG (recipe $recipe)"
tar -C "$rootfs" --numeric-owner --xattrs -c . | "$DOCKER" import \
  --change "LABEL ckpt.recipe=$recipe" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  --change 'CMD ["bash"]' \
  - "$TAG" >/dev/null
"$DOCKER" run --rm "$TAG" sh -c 'test -x /usr/bin/apt-get && grep -q "^deb " /etc/apt/sources.list' ||
  die "the imported image has no apt-get or no sources.list"
say "built $TAG ($("$DOCKER" image inspect --format '{{.Size}}' "$TAG" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
