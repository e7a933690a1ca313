#!/usr/bin/env bash
# Builds the dev-container image ckpt's docker tests, bench and manifests/devcontainer.yaml use,
# without a registry: a small rootfs made of this machine's Node.js (the binary and the shared
# libraries it links), busybox (shell and tools, from Debian's busybox-static package) and the
# sample app images/devcontainer/server.js, imported with `docker import`.
#
#   sudo bash scripts/build-devcontainer-image.sh [TAG]     (default ckpt-devcontainer:1)
#
# Idempotent: the image carries a label with the hash of its recipe (this script, the app, the
# Node and busybox versions); an image with the same hash is kept as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${1:-ckpt-devcontainer:1}
DOCKER=/usr/bin/docker
export DOCKER_API_VERSION=1.41
say() { printf '[devcontainer-image] %s\n' "$*" >&2; }

NODE=$(readlink -f "$(command -v node)")
BUSYBOX_VERSION=$(apt-cache policy busybox-static | sed -n 's/ *Candidate: //p')
recipe=$(cat "$0" images/devcontainer/server.js | sha256sum | cut -c1-16)
recipe=$(printf '%s %s %s' "$recipe" "$("$NODE" --version)" "$BUSYBOX_VERSION" | sha256sum | cut -c1-16)

have=$("$DOCKER" image inspect --format '{{ index .Config.Labels "ckpt.recipe" }}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$recipe" ]; then
  say "$TAG is up to date (recipe $recipe)"
  exit 0
fi

work=$(mktemp -d /tmp/ckpt-devcontainer.XXXXXX)
chmod 755 "$work" # apt-get download drops to the _apt user
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,usr/bin,etc,tmp,root,app,workspace,home/dev,proc,sys,dev}
chmod 1777 "$rootfs/tmp"

say "busybox-static $BUSYBOX_VERSION"
(cd "$work" && apt-get download -qq busybox-static >/dev/null)
dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
cp "$work/bb/bin/busybox" "$rootfs/bin/busybox"
chroot "$rootfs" /bin/busybox --install -s /bin

say "node $("$NODE" --version) and its libraries"
cp "$NODE" "$rootfs/usr/bin/node"
# Each library at the path the loader looks for it (ldd prints "name => /path (addr)").
ldd "$NODE" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
  [ -f "$lib" ] || continue
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
# Debian's loader path is /lib64/ld-linux-x86-64.so.2 → the real file under /lib/x86_64-linux-gnu.
if [ -e /lib64/ld-linux-x86-64.so.2 ] && [ ! -e "$rootfs/lib64/ld-linux-x86-64.so.2" ]; then
  mkdir -p "$rootfs/lib64"
  cp -L /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/"
fi

cp images/devcontainer/server.js "$rootfs/app/server.js"
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
dev:x:1000:1000:dev:/home/dev:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
dev:x:1000:
nogroup:x:65534:
EOF
chown 1000:1000 "$rootfs/home/dev"
# The loader finds the copied libraries without a cache, but a missing one is a clear error.
env -i "$(command -v chroot)" "$rootfs" /usr/bin/node -e 'process.exit(0)' || { say "node does not run in the rootfs"; exit 1; }

say "importing as $TAG (recipe $recipe)"
tar -C "$rootfs" --numeric-owner -c . | "$DOCKER" import \
  --change "LABEL ckpt.recipe=$recipe" \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'WORKDIR /app' \
  --change 'EXPOSE 3000' \
  --change 'CMD ["node", "/app/server.js"]' \
  - "$TAG" >/dev/null
say "built $TAG"
