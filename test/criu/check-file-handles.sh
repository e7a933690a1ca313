#!/usr/bin/env bash
# test/criu/check-file-handles.sh — regular files kept by file handle, and
# changed files refused (criu-patches/0010).
#
# prog/fh-map.c maps a 4096-byte file (shared: O_RDWR + MAP_SHARED
# writable; private: O_RDONLY + MAP_PRIVATE PROT_READ) and closes the fd; on
# SIGUSR1 it counts (in memory), writes "count N" into a shared mapping and
# replies "N <first 16 bytes of the mapping>".  Each case dumps it (the dump
# kills it), changes the file, and restores (--restore-pidns -d, so restores
# never wait for the pid):
#   (a) shared mapping, file renamed after the dump: stock CRIU fails (the
#       path is gone); patched CRIU reopens it through its file handle, the
#       restore log names the new path, and the restored program's writes
#       land in the renamed file;
#   (b) shared mapping, file replaced (unlink + recreate, same size): stock
#       CRIU silently maps the new file; patched CRIU refuses, naming the
#       file;
#   (c) private read-only mapping, file modified in place (same size):
#       stock CRIU restores and the program sees the new bytes; patched CRIU
#       refuses ("was modified since the dump: mtime ..."), and restores with
#       --allow-changed-files;
#   (d) shared mapping of a file on an overlayfs mounted under the temp dir:
#       the dump log says the filesystem has no file handles and the file is
#       restored by path.
# Stock CRIU is /var/cache/ckpt/criu/stock-4.1.1/criu/criu (build.sh
# --stock); its cases are skipped (with a note) when it is not built.
#
# Env: CRIU (default /usr/local/sbin/criu), STOCK_CRIU, KEEP=1 keeps the
# temp dir.  Exit 0 on success, non-zero on failure.  Needs root and gcc.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
STOCK_CRIU=${STOCK_CRIU:-/var/cache/ckpt/criu/stock-4.1.1/criu/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-fh.XXXXXX)
pid=""
copy=""
ovl=""

say() { printf 'check-file-handles: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|fhandle' 10 "$tmp"/img-*/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
cleanup_fh() {
  [[ -n $copy ]] && kill -KILL "$copy" 2>/dev/null || true
  # lazily: the killed copy may still hold the file for a moment (EBUSY would leak the mount)
  [[ -n $ovl ]] && umount -l "$ovl" 2>/dev/null || true
  cleanup
}
trap cleanup_fh EXIT
command -v gcc >/dev/null || fail "gcc not found"
require_criu_option '--allow-changed-files'
gcc -O2 -Wall -o "$tmp/fh-map" "$here/prog/fh-map.c" || fail "gcc fh-map.c"
have_stock=0
[[ -x $STOCK_CRIU ]] && have_stock=1 || say "no stock CRIU at $STOCK_CRIU: stock cases skipped"

# mkfile PATH [TEXT]: 4096 bytes, TEXT at the start, spaces after.
mkfile() {
  local t=${2:-}
  { printf '%s' "$t"; head -c $((4096 - ${#t})) /dev/zero | tr '\0' ' '; } >"$1"
}
# ask PID: SIGUSR1, then print the reply line "N head".
ask() {
  local i
  rm -f "$tmp/reply"
  kill -USR1 "$1" || return 1
  for ((i = 0; i < 50; i++)); do
    [[ -s $tmp/reply ]] && { cat "$tmp/reply"; return 0; }
    sleep 0.1
  done
  return 1
}
# start FILE MODE: run fh-map, ask once, dump it (killed) into $tmp/img-NAME.
start_and_dump() { # NAME FILE MODE
  local name=$1 r
  setsid "$tmp/fh-map" "$2" "$3" "$tmp/reply" </dev/null >/dev/null 2>&1 &
  pid=$!
  disown "$pid"
  sleep 0.2
  r=$(ask "$pid") || fail "($name) no reply from $pid"
  [[ $r == 1\ * ]] || fail "($name) first reply '$r'"
  mkdir -p "$tmp/img-$name"
  "$CRIU" dump -t "$pid" -D "$tmp/img-$name" -v4 -o dump.log || fail "($name) criu dump failed"
  wait_pid_free "$pid" || fail "pid $pid not free"
}
# restore NAME LOG [criu options...]: patched restore into a pid namespace;
# sets copy (outside pid).  Returns criu's status.
restore() {
  local name=$1 log=$2 rc=0
  shift 2
  rm -f "$tmp/copy.pid"
  "$CRIU" restore -D "$tmp/img-$name" -d --restore-pidns --pidfile "$tmp/copy.pid" -v4 -o "$log" "$@" || rc=$?
  copy=$(cat "$tmp/copy.pid" 2>/dev/null || true)
  return $rc
}
# stock_restore NAME LOG: stock CRIU, saved pid.  Sets copy.  Returns status.
stock_restore() {
  local name=$1 log=$2 rc=0
  rm -f "$tmp/copy.pid"
  wait_pid_free "$pid" || fail "pid $pid not free"
  "$STOCK_CRIU" restore -D "$tmp/img-$name" -d --pidfile "$tmp/copy.pid" -v4 -o "$log" || rc=$?
  copy=$(cat "$tmp/copy.pid" 2>/dev/null || true)
  return $rc
}
kill_copy() {
  [[ -n $copy ]] && kill -KILL "$copy" 2>/dev/null || true
  copy=""
}

# ---- (a) rename
mkfile "$tmp/a.dat"
start_and_dump a "$tmp/a.dat" shared
mv "$tmp/a.dat" "$tmp/a-renamed.dat"
if ((have_stock)); then
  if stock_restore a restore-stock.log; then kill_copy; fail "(a) stock restore of a renamed file succeeded"; fi
  say "(a) stock: $(grep -o "Error.*Can't open file.*" "$tmp/img-a/restore-stock.log" | tail -n1)"
fi
restore a restore.log || fail "(a) restore after rename failed"
line=$(grep -o 'fhandle: .* reopened the dumped file through its file handle.*' "$tmp/img-a/restore.log" | head -n1)
[[ $line == *"(now $tmp/a-renamed.dat)" ]] || fail "(a) restore log does not name the renamed file: '$line'"
r=$(ask "$copy") || fail "(a) no reply from restored $copy"
[[ $r == "2 count 2"* ]] || fail "(a) restored copy replied '$r'"
[[ $(head -c 7 "$tmp/a-renamed.dat") == "count 2" ]] || fail "(a) write after restore not in the renamed file"
kill_copy
say "(a) patched: restored; $line"
say "(a) restored copy wrote 'count 2' into a-renamed.dat"

# ---- (b) replace: unlink + recreate the same path, same size
mkfile "$tmp/b.dat"
start_and_dump b "$tmp/b.dat" shared
cp "$tmp/b.dat" "$tmp/b.copy"
rm "$tmp/b.dat"
mkfile "$tmp/b.dat" "replaced"
if ((have_stock)); then
  stock_restore b restore-stock.log || fail "(b) stock restore of a replaced file failed (expected: silently maps the new file)"
  r=$(ask "$copy") || fail "(b) no reply from stock copy"
  kill_copy
  say "(b) stock: restored silently onto the new file (reply '$r')"
  mkfile "$tmp/b.dat" "replaced"
fi
if restore b restore.log; then kill_copy; fail "(b) restore of a replaced file succeeded"; fi
line=$(grep -o "File $tmp/b.dat was replaced.*" "$tmp/img-b/restore.log" | head -n1)
[[ -n $line ]] || fail "(b) restore log does not say that $tmp/b.dat was replaced"
say "(b) patched: refused: $line"
restore b restore-allow.log --allow-changed-files || fail "(b) restore with --allow-changed-files failed"
kill_copy
say "(b) patched --allow-changed-files: restored onto the new file"

# ---- (c) modify a read-only private mapping in place (same size)
mkfile "$tmp/c.dat" "original"
start_and_dump c "$tmp/c.dat" private
sleep 0.05
printf 'MODIFIED' | dd of="$tmp/c.dat" conv=notrunc status=none
if ((have_stock)); then
  stock_restore c restore-stock.log || fail "(c) stock restore of a modified file failed"
  r=$(ask "$copy") || fail "(c) no reply from stock copy"
  kill_copy
  [[ $r == "2 MODIFIED"* ]] || fail "(c) stock copy replied '$r'"
  say "(c) stock: restored silently, the program now sees the new bytes (reply '$r')"
fi
if restore c restore.log; then kill_copy; fail "(c) restore of a modified file succeeded"; fi
line=$(grep -o "File $tmp/c.dat was modified since the dump.*" "$tmp/img-c/restore.log" | head -n1)
[[ -n $line ]] || fail "(c) restore log does not say that $tmp/c.dat was modified"
say "(c) patched: refused: $line"
restore c restore-allow.log --allow-changed-files || fail "(c) restore with --allow-changed-files failed"
r=$(ask "$copy") || fail "(c) no reply from the --allow-changed-files copy"
kill_copy
[[ $r == "2 MODIFIED"* ]] || fail "(c) --allow-changed-files copy replied '$r'"
grep -q "File $tmp/c.dat was modified since the dump.*restoring it anyway (--allow-changed-files)" \
  "$tmp/img-c/restore-allow.log" || fail "(c) no warning in the --allow-changed-files restore log"
say "(c) patched --allow-changed-files: restored with a warning (reply '$r')"

# ---- (d) overlayfs: no file handles, restore by path
mkdir -p "$tmp/ovl/lower" "$tmp/ovl/upper" "$tmp/ovl/work" "$tmp/ovl/merged"
mkfile "$tmp/ovl/lower/d.dat"
mount -t overlay overlay -o "lowerdir=$tmp/ovl/lower,upperdir=$tmp/ovl/upper,workdir=$tmp/ovl/work" \
  "$tmp/ovl/merged" || fail "(d) cannot mount overlayfs"
ovl=$tmp/ovl/merged
start_and_dump d "$ovl/d.dat" shared
line=$(grep -o "fhandle: no file handles on the filesystem of $ovl/d.dat.*" "$tmp/img-d/dump.log" | head -n1)
[[ -n $line ]] || fail "(d) dump log does not say that the overlayfs has no file handles"
say "(d) dump log: $line"
restore d restore.log || fail "(d) restore of the overlayfs file failed"
r=$(ask "$copy") || fail "(d) no reply from restored $copy"
kill_copy
[[ $r == "2 count 2"* && $(head -c 7 "$ovl/d.dat") == "count 2" ]] || fail "(d) restored copy replied '$r'"
say "(d) restored by path: the copy wrote 'count 2' into $ovl/d.dat"
umount "$ovl"
ovl=""
say "PASS"
