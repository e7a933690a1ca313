#!/usr/bin/env bash
# test/criu/check-kdat-cache.sh — criu-patches/0014: CRIU keeps its kernel-probe cache
# (/run/criu.kdat) where /run is not a tmpfs, tied to the boot id.
#
# Runs in a private mount namespace whose /run is either a plain directory of the root
# filesystem (as on this VM) or a fresh tmpfs, so no other CRIU sees or touches the files:
#   (a) plain /run with an empty criu.kdat.tmp ten seconds old (left by stock CRIU, which unlinks
#       the cache instead of its temporary file): the first `criu check` removes it and saves
#       the cache, this boot's id after the kdat struct; the second loads it
#       ("Loaded kdat cache");
#   (b) the same cache with another boot id: "Stale", probed again, saved with the right id;
#   (c) a tmpfs /run: saved in the stock format (no boot id), loaded by the next run.
# Env: CRIU (default /usr/local/sbin/criu), KEEP=1.  Exit 0 on success.  Needs root.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=${CKPT_KDAT_TMP:-$(mktemp -d /tmp/ckpt-criu-kdat.XXXXXX)}
pid=""

say() { printf 'check-kdat-cache: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'kdat|Error' 10 "$tmp"/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"

if [[ ${1:-} != inside ]]; then
  unshare -m --propagation private env CRIU="$CRIU" KEEP="${KEEP:-0}" CKPT_KDAT_TMP="$tmp" "$0" inside
  exit $?
fi
trap - EXIT # the outer run cleans up

boot=$(cat /proc/sys/kernel/random/boot_id)
check() { "$CRIU" check -v4 -o "$tmp/$1.log" >/dev/null 2>&1 || fail "criu check ($1)"; }

# (a) plain directory, abandoned temporary file
mkdir -p "$tmp/run"
mount --bind "$tmp/run" /run
: >/run/criu.kdat.tmp
touch -d '10 seconds ago' /run/criu.kdat.tmp
check a1
grep -q 'Removing abandoned /run/criu.kdat.tmp' "$tmp/a1.log" || fail "(a) the abandoned temporary file was not removed"
[[ -s /run/criu.kdat && ! -e /run/criu.kdat.tmp ]] || fail "(a) no cache saved"
[[ $(tail -c 36 /run/criu.kdat) == "$boot" ]] || fail "(a) the cache does not end with this boot's id"
check a2
grep -q 'Loaded kdat cache from /run/criu.kdat' "$tmp/a2.log" || fail "(a) the second run did not load the cache"
say "(a) plain /run: abandoned tmp removed, cache saved with the boot id, loaded next time"

# (b) another boot's cache
size=$(stat -c %s /run/criu.kdat)
head -c $((size - 36)) /run/criu.kdat >"$tmp/k"
printf '00000000-0000-0000-0000-000000000000' >>"$tmp/k"
cp "$tmp/k" /run/criu.kdat
check b1
grep -q 'Stale /run/criu.kdat' "$tmp/b1.log" || fail "(b) another boot's cache was not called stale"
[[ $(tail -c 36 /run/criu.kdat) == "$boot" ]] || fail "(b) not saved again with this boot's id"
say "(b) another boot's cache: stale, probed and saved again"

# (c) tmpfs: stock format
mount -t tmpfs -o size=1m ckpt-kdat /run
check c1
check c2
grep -q 'Loaded kdat cache from /run/criu.kdat' "$tmp/c2.log" || fail "(c) the cache on tmpfs was not loaded"
[[ $(stat -c %s /run/criu.kdat) == $((size - 36)) ]] || fail "(c) the tmpfs cache is not in the stock format ($(stat -c %s /run/criu.kdat) bytes)"
say "(c) tmpfs /run: stock format, loaded next time"
say "ok"
