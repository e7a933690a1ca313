#!/usr/bin/env bash
# test/criu/check-ghost-file.sh — criu dump --ghost-file PATH
# (criu-patches/0011): a file that still exists is dumped like an unlinked
# one, its contents in the images (ghost-file-N.img), and the restore opens
# and maps a recreated copy instead of PATH.
#
# prog/ghost-reader.c opens a data file read-only (the fd stays open), maps
# it MAP_PRIVATE PROT_READ and writes every 100 ms "tick N sum S fd HEAD16
# map FIRSTLINE" to its stdout, a log (O_APPEND).  The data file is ~2 MB,
# more than the default --ghost-limit (1 MiB): named files are not limited.
# Each case dumps it (the dump kills it), changes the data file and restores
# with --restore-pidns -d --pidfile (pids never collide):
#   (a) --ghost-file, data file deleted: the images hold ghost-file-*.img,
#       the restore works and the program goes on with tick N+1 and the
#       original bytes (same sum, same first line through fd and mapping);
#       no recreated copy is left behind, PATH stays absent.  A second
#       --ghost-file naming no file of the task gets a warning in dump.log;
#   (b) --ghost-file, data file replaced by other contents: restored with
#       the original bytes, the new file at PATH untouched (no change check:
#       criu-patches/0010 skips ghost remaps);
#   (c) no --ghost-file, data file deleted: no ghost image; stock CRIU fails
#       ("Can't open file"), and so does the patched one.
# Stock CRIU is /var/cache/ckpt/criu/stock-4.1.1/criu/criu (build.sh
# --stock); its case is skipped (with a note) when it is not built.
#
# Env: CRIU (default /usr/local/sbin/criu), STOCK_CRIU, KEEP=1 keeps the
# temp dir.  Exit 0 on success, non-zero on failure.  Needs root and gcc.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
STOCK_CRIU=${STOCK_CRIU:-/var/cache/ckpt/criu/stock-4.1.1/criu/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-ghost.XXXXXX)
pid=""
copy=""

say() { printf 'check-ghost-file: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 10 "$tmp"/img-*/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
cleanup_ghost() {
  [[ -n $copy ]] && kill -KILL "$copy" 2>/dev/null || true
  cleanup
}
trap cleanup_ghost EXIT
command -v gcc >/dev/null || fail "gcc not found"
require_criu_option '--ghost-file PATH'
gcc -O2 -Wall -o "$tmp/ghost-reader" "$here/prog/ghost-reader.c" || fail "gcc ghost-reader.c"
have_stock=0
[[ -x $STOCK_CRIU ]] && have_stock=1 || say "no stock CRIU at $STOCK_CRIU: stock case skipped"

# mkdata PATH VERSION: first line "dataset VERSION <random>", then ~2 MB.
mkdata() {
  { echo "dataset $2 $RANDOM$RANDOM"; head -c 1500000 /dev/urandom | base64; } >"$1"
}
# last_tick LOG: the last "tick N ..." line.
last_tick() { grep '^tick ' "$1" | tail -n1; }
# start_and_dump NAME DATA [criu dump options...]: run ghost-reader on DATA
# with its output in $tmp/NAME.log, let it tick, dump it (killed) into
# $tmp/img-NAME.  Sets dumped (the last line before the dump).
start_and_dump() {
  local name=$1 data=$2 i
  shift 2
  setsid "$tmp/ghost-reader" "$data" </dev/null >>"$tmp/$name.log" 2>&1 &
  pid=$!
  disown "$pid"
  for ((i = 0; i < 50; i++)); do
    [[ $(last_tick "$tmp/$name.log") == "tick 3 "* ]] && break
    sleep 0.1
  done
  mkdir -p "$tmp/img-$name"
  "$CRIU" dump -t "$pid" -D "$tmp/img-$name" -v4 -o dump.log "$@" || fail "($name) criu dump failed"
  kill -0 "$pid" 2>/dev/null && fail "($name) $pid still runs after the dump"
  dumped=$(last_tick "$tmp/$name.log")
  [[ -n $dumped ]] || fail "($name) no output before the dump"
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
kill_copy() {
  [[ -n $copy ]] && kill -KILL "$copy" 2>/dev/null || true
  copy=""
}
# check_continues NAME: the restored copy's first line is tick N+1 with the
# same data as the dumped line ($dumped); prints that line.
check_continues() {
  local name=$1 n i line
  n=$(awk '{print $2}' <<<"$dumped")
  for ((i = 0; i < 50; i++)); do
    line=$(grep "^tick $((n + 1)) " "$tmp/$name.log" || true)
    [[ -n $line ]] && break
    sleep 0.1
  done
  [[ -n $line ]] || fail "($name) restored copy wrote no 'tick $((n + 1))' line"
  [[ $(grep -c "^tick $((n + 1)) " "$tmp/$name.log") == 1 ]] || fail "($name) tick $((n + 1)) twice"
  [[ ${line#tick * } == "${dumped#tick * }" ]] || fail "($name) restored copy reads other data: '$line' (dumped: '$dumped')"
  echo "$line"
}
# no_leftovers DIR: no recreated ghost copies or fake links left in DIR.
no_leftovers() {
  local left
  left=$(find "$1" -maxdepth 1 \( -name '*.cr.*.ghost' -o -name '*.cr_link' \) | head -n1)
  [[ -z $left ]] || fail "left behind: $left"
}

# ---- (a) --ghost-file, data file deleted
mkdir -p "$tmp/a"
mkdata "$tmp/a/data.txt" v1
size=$(stat -c %s "$tmp/a/data.txt")
start_and_dump a "$tmp/a/data.txt" --ghost-file "$tmp/a/data.txt" --ghost-file "$tmp/a/unused.txt"
img=$(find "$tmp/img-a" -name 'ghost-file-*.img' -printf '%f %s\n')
[[ -n $img ]] || fail "(a) no ghost-file-*.img in the images"
grep -q "Dumping $tmp/a/data.txt as a ghost file (--ghost-file)" "$tmp/img-a/dump.log" ||
  fail "(a) dump.log does not say $tmp/a/data.txt was dumped as a ghost file"
grep -q -- "--ghost-file $tmp/a/unused.txt: no regular file of the dumped tasks has this path" "$tmp/img-a/dump.log" ||
  fail "(a) no warning about the unused --ghost-file $tmp/a/unused.txt"
say "(a) dumped with --ghost-file: images hold $img (data file $size bytes > --ghost-limit 1 MiB)"
rm "$tmp/a/data.txt"
restore a restore.log || fail "(a) restore with the data file deleted failed"
line=$(check_continues a)
kill_copy
[[ ! -e $tmp/a/data.txt ]] || fail "(a) $tmp/a/data.txt exists after the restore"
no_leftovers "$tmp/a"
say "(a) data file deleted, restored: before the dump '${dumped:0:60}...'"
say "(a)                       after the restore '${line:0:60}...'"

# ---- (b) --ghost-file, data file replaced
mkdir -p "$tmp/b"
mkdata "$tmp/b/data.txt" v1
start_and_dump b "$tmp/b/data.txt" --ghost-file "$tmp/b/data.txt"
rm "$tmp/b/data.txt"
mkdata "$tmp/b/data.txt" v2
before=$(stat -c '%i %s %Y' "$tmp/b/data.txt")$(sha256sum <"$tmp/b/data.txt")
restore b restore.log || fail "(b) restore with the data file replaced failed"
line=$(check_continues b)
kill_copy
after=$(stat -c '%i %s %Y' "$tmp/b/data.txt")$(sha256sum <"$tmp/b/data.txt")
[[ $before == "$after" ]] || fail "(b) the new file at $tmp/b/data.txt was changed by the restore"
grep -q "File $tmp/b/data.txt was" "$tmp/img-b/restore.log" && fail "(b) restore.log has a change check for the ghost file"
no_leftovers "$tmp/b"
say "(b) data file replaced by '$(head -n1 "$tmp/b/data.txt")', restored with the original:"
say "(b)   '${line:0:60}...'; the new file untouched"

# ---- (c) no --ghost-file, data file deleted: the restore fails
mkdir -p "$tmp/c"
mkdata "$tmp/c/data.txt" v1
start_and_dump c "$tmp/c/data.txt"
[[ -z $(find "$tmp/img-c" -name 'ghost-file-*.img') ]] || fail "(c) ghost-file-*.img without --ghost-file"
rm "$tmp/c/data.txt"
if ((have_stock)); then
  wait_pid_free "$pid" || fail "pid $pid not free"
  rm -f "$tmp/copy.pid"
  if "$STOCK_CRIU" restore -D "$tmp/img-c" -d --pidfile "$tmp/copy.pid" -v4 -o restore-stock.log; then
    copy=$(cat "$tmp/copy.pid" 2>/dev/null || true)
    kill_copy
    fail "(c) stock restore with the data file deleted succeeded"
  fi
  # (paths in restore.log are relative to the root: no leading slash)
  line=$(grep -o "Error.*Can't open file ${tmp#/}/c/data.txt.*" "$tmp/img-c/restore-stock.log" | head -n1 || true)
  [[ -n $line ]] || fail "(c) stock restore failed without \"Can't open file ${tmp#/}/c/data.txt\""
  say "(c) stock, no --ghost-file: restore failed: $line"
fi
if restore c restore.log; then kill_copy; fail "(c) patched restore with the data file deleted succeeded"; fi
line=$(grep -o 'Error.*' "$tmp/img-c/restore.log" | head -n1 || true)
say "(c) patched, no --ghost-file: restore failed: $line"
say "PASS"
