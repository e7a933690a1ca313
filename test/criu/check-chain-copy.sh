#!/usr/bin/env bash
# test/criu/check-chain-copy.sh — chained copy at dump (criu-patches/0013):
# a private mapping of a CRIU pages image (recognised by the xattr
# user.criu.pages, or by its name pages-N.img next to a CRIU inventory.img)
# is dumped as anonymous memory with all its pages in the new images, so the
# new checkpoint restores after the old image directory is gone.
#
# prog/map-image.c maps a 32 MiB file of a known pattern (the "old image",
# made by the test) MAP_PRIVATE (or MAP_SHARED) read-write, writes another
# pattern into every third page, reads the first eighth and never touches
# the rest (not present at dump time).  On a trigger file it verifies every
# byte ("full N ok ... gensum=S").  Each case dumps it (the dump kills it)
# and restores with --restore-pidns -d --pidfile (pids never collide; (g)
# restores to the saved pid, as a task in a pid namespace it is not init of
# cannot be dumped again):
#   (a) xattr set: the same task is dumped by stock CRIU and by the patched
#       one with --no-chain-copy (both --leave-running), then by the patched
#       one; the old directory is removed (rm -rf); the stock and the
#       --no-chain-copy checkpoints fail to restore, the patched one
#       restores, every byte verifies, /proc/PID/maps names no old file;
#   (b) xattr set, old directory removed before the dump (the task maps
#       "pages-1.img (deleted)"), the mapping split in three VMAs (the
#       middle one executable; CRIU's "borrowed" file path): all three
#       copied, restored the same way;
#   (c) no xattr, pages-1.img beside a real inventory.img (name fallback):
#       copied, restores after rm -rf;
#   (d) a plain file (data.bin) mapped private, split in three VMAs: stays
#       a file mapping as in stock (few pages in the images, maps names it
#       after the restore);
#   (e) pages-1.img without xattr and without inventory.img: same as (d);
#   (f) a marked pages-1.img, its first half mapped private and the second
#       half MAP_SHARED right after it: the private half is copied, the
#       shared half is not (the task writes through to that file on
#       purpose), dump.log warns that the checkpoint needs it; restored with
#       the shared half a shared file mapping again.
#   (g) with restore --map-pages (criu-patches/0012, which 0013 needs),
#       the real chain: an anonymous 32 MiB process is dumped (img-g1),
#       restored with --map-pages, writes pages, dumped (img-g2; and with
#       --no-chain-copy, which fails to restore once img-g1 is gone, as
#       stock would); img-g1 is removed; img-g2 restores with and without
#       --map-pages, every byte verifies (and the sum of the pages'
#       generations says no write was lost); the --map-pages copy writes again, is dumped (img-g3),
#       img-g2 is removed and img-g3 restores and verifies (with and
#       without --map-pages); the last copy, mapped from img-g3, is dumped
#       into img-g3 itself (0012 replaces the files, the task keeps the old
#       inodes) and that restores.
# Stock CRIU is /var/cache/ckpt/criu/stock-4.1.1/criu/criu (build.sh
# --stock); its case is skipped (with a note) when it is not built.
#
# Env: CRIU (default /usr/local/sbin/criu), STOCK_CRIU, KEEP=1 keeps the
# temp dir.  Exit 0 on success, non-zero on failure.  Needs root and gcc.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
STOCK_CRIU=${STOCK_CRIU:-/var/cache/ckpt/criu/stock-4.1.1/criu/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-chain.XXXXXX)
pid=""
copy=""
MIB=32
SEED=0x5eed1234

say() { printf 'check-chain-copy: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 10 "$tmp"/img-*/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
cleanup_chain() {
  [[ -n $copy ]] && kill -KILL "$copy" 2>/dev/null || true
  cleanup
}
trap cleanup_chain EXIT
command -v gcc >/dev/null || fail "gcc not found"
require_criu_option '--no-chain-copy'
gcc -O2 -Wall -o "$tmp/map-image" "$here/prog/map-image.c" || fail "gcc map-image.c"
mi=$tmp/map-image
have_stock=0
[[ -x $STOCK_CRIU ]] && have_stock=1 || say "no stock CRIU at $STOCK_CRIU: stock case skipped"
require_criu_option '--map-pages' '0013 comes after 0012'

# start NAME MODE FILE: run map-image on FILE, output in $tmp/NAME.log,
# trigger files in $tmp/trig-NAME; waits for its first tick.  Sets pid.
start() {
  local name=$1 mode=$2 file=$3 i
  mkdir -p "$tmp/trig-$name"
  touch "$tmp/$name.log"
  setsid "$mi" run "$mode" "$file" "$MIB" "$SEED" "$tmp/trig-$name" </dev/null >>"$tmp/$name.log" 2>&1 &
  pid=$!
  disown "$pid"
  for ((i = 0; i < 50; i++)); do
    grep -q '^tick 0$' "$tmp/$name.log" && break
    sleep 0.1
  done
  grep -q '^tick 0$' "$tmp/$name.log" || fail "($name) map-image did not start: $(head -c 300 "$tmp/$name.log")"
  grep -q '^setup .*BAD' "$tmp/$name.log" && fail "($name) bad data before any dump"
  return 0
}
# dump NAME IMGDIR [criu options...]: patched dump of $pid into $tmp/IMGDIR.
dump() {
  local name=$1 img=$2
  shift 2
  mkdir -p "$tmp/$img"
  "$CRIU" dump -t "$pid" -D "$tmp/$img" -v4 -o dump.log "$@" || fail "($name) criu dump into $img failed"
}
# restore IMGDIR LOG [criu options...]: patched restore into a pid
# namespace, or with pidns=0 to the saved pid (a task in a pid namespace
# it is not init of cannot be dumped again); sets copy (outside pid).
# With stdio=FILE the task gets CRIU's stdio (--inherit-stdio, 0005):
# stdin /dev/null, stdout and stderr appended to FILE (a log that grew
# since the dump fails CRIU's size check when restored from the image).
# Returns criu's status.
pidns=1
stdio=""
restore() {
  local img=$1 log=$2 rc=0
  shift 2
  rm -f "$tmp/copy.pid"
  if ((pidns)); then
    set -- --restore-pidns "$@"
  else
    wait_pid_free "$pid" || fail "pid $pid not free"
  fi
  if [[ -n $stdio ]]; then
    "$CRIU" restore -D "$tmp/$img" -d --pidfile "$tmp/copy.pid" -v4 -o "$log" --inherit-stdio "$@" \
      </dev/null >>"$stdio" 2>&1 || rc=$?
  else
    "$CRIU" restore -D "$tmp/$img" -d --pidfile "$tmp/copy.pid" -v4 -o "$log" "$@" || rc=$?
  fi
  copy=$(cat "$tmp/copy.pid" 2>/dev/null || true)
  return $rc
}
kill_copy() {
  [[ -n $copy ]] && kill -KILL "$copy" 2>/dev/null || true
  copy=""
}
# trigger NAME WHAT PATTERN: create trig-NAME/WHAT, wait for a new log
# line matching PATTERN and print it.
trigger() {
  local name=$1 what=$2 pat=$3 n i line
  n=$(grep -c -E "$pat" "$tmp/$name.log" || true)
  touch "$tmp/trig-$name/$what"
  for ((i = 0; i < 100; i++)); do
    line=$(grep -E "$pat" "$tmp/$name.log" | sed -n "$((n + 1))p" || true)
    [[ -n $line ]] && break
    sleep 0.1
  done
  [[ -n $line ]] || fail "($name) no '$pat' line after the $what trigger"
  echo "$line"
}
# verify NAME [GENSUM]: every byte of the restored copy's memory is right
# (and the generations of its pages add up to GENSUM: no write lost).
verify() {
  local line
  line=$(trigger "$1" full '^full ')
  [[ $line == "full "*" ok "* ]] || fail "($1) restored memory is wrong: $line"
  [[ -z ${2:-} || $line == *" gensum=$2" ]] || fail "($1) expected gensum=$2: $line"
  echo "$line"
}
# pages_mib IMGDIR: MiB of page data in the images.
pages_mib() { du -cm --apparent-size "$tmp/$1"/pages-*.img | tail -n1 | cut -f1; }
# maps_names NAME PATTERN: the restored copy's maps have a line with PATTERN.
maps_names() { grep -q -- "$2" "/proc/$copy/maps"; }
# copied NAME IMGDIR: the dump converted the mapping and stored every page.
copied() {
  local name=$1 img=$2 mib
  grep -q 'chain-copy: .* dumped as anonymous memory' "$tmp/$img/dump.log" ||
    fail "($name) dump.log of $img does not say the mapping was dumped as anonymous memory"
  mib=$(pages_mib "$img")
  ((mib >= MIB)) || fail "($name) $img holds $mib MiB of pages, less than the $MIB MiB mapping"
  echo "$mib"
}
# not_copied NAME IMGDIR: stock behaviour, the mapping stays a file mapping.
not_copied() {
  local name=$1 img=$2 mib
  grep -q 'chain-copy: .* dumped as anonymous memory' "$tmp/$img/dump.log" &&
    fail "($name) $img: the mapping was dumped as anonymous memory"
  mib=$(pages_mib "$img")
  ((mib < MIB / 2)) || fail "($name) $img holds $mib MiB of pages, expected only the written third"
  echo "$mib"
}
# restored_ok NAME IMGDIR OLDDIR [GENSUM]: restore, every byte right, maps
# free of OLDDIR.
restored_ok() {
  local name=$1 img=$2 old=$3 line
  restore "$img" restore.log || fail "($name) restore of $img failed"
  line=$(verify "$name" "${4:-}")
  maps_names "$name" "$old/" && fail "($name) restored copy still maps a file of $old: $(grep -- "$old/" "/proc/$copy/maps")"
  kill_copy
  echo "$line"
}
newimg() { mkdir -p "$1"; "$mi" create "$1/$2" "$MIB" "$SEED" || fail "map-image create $1/$2"; }

# ---- (a) xattr set; stock and --no-chain-copy fail after rm -rf, patched restores
newimg "$tmp/a" pages-1.img
"$mi" mark "$tmp/a/pages-1.img" || fail "setxattr on $tmp/a/pages-1.img (filesystem without user xattrs?)"
start a private "$tmp/a/pages-1.img"
setup=$(grep '^setup ' "$tmp/a.log")
if ((have_stock)); then
  mkdir -p "$tmp/img-a-stock"
  "$STOCK_CRIU" dump -t "$pid" -D "$tmp/img-a-stock" -v4 -o dump.log --leave-running || fail "(a) stock dump failed"
fi
dump a img-a-off --no-chain-copy --leave-running
mib_off=$(not_copied a img-a-off)
dump a img-a
mib=$(copied a img-a)
grep -q "chain-copy: $tmp/a/pages-1.img carries user.criu.pages" "$tmp/img-a/dump.log" ||
  fail "(a) dump.log does not say the file carries user.criu.pages"
say "(a) map-image: $setup"
say "(a) patched dump: $mib MiB of pages; with --no-chain-copy: $mib_off MiB"
rm -rf "$tmp/a"
wait_pid_free "$pid" || fail "pid $pid not free"
if ((have_stock)); then
  rm -f "$tmp/copy.pid"
  if "$STOCK_CRIU" restore -D "$tmp/img-a-stock" -d --pidfile "$tmp/copy.pid" -v4 -o restore.log; then
    copy=$(cat "$tmp/copy.pid" 2>/dev/null || true)
    kill_copy
    fail "(a) stock checkpoint restored after rm -rf of the old image dir"
  fi
  line=$(grep -o "Error.*${tmp#/}/a/pages-1.img.*" "$tmp/img-a-stock/restore.log" | head -n1 || true)
  [[ -n $line ]] || fail "(a) stock restore failed without naming ${tmp#/}/a/pages-1.img"
  say "(a) stock checkpoint, old dir removed: restore failed: $line"
fi
if restore img-a-off restore.log; then kill_copy; fail "(a) --no-chain-copy checkpoint restored after rm -rf"; fi
line=$(grep -o "Error.*pages-1.img.*" "$tmp/img-a-off/restore.log" | head -n1 || true)
[[ -n $line ]] || fail "(a) --no-chain-copy restore failed without naming pages-1.img"
say "(a) --no-chain-copy checkpoint, old dir removed: restore failed: $line"
written=$(sed -n 's/.* written=\([0-9]*\) .*/\1/p' <<<"$setup")
line=$(restored_ok a img-a "$tmp/a" "$written")
say "(a) patched checkpoint, old dir removed: restored, $line"

# ---- (b) xattr set, old directory removed before the dump
newimg "$tmp/b" pages-1.img
"$mi" mark "$tmp/b/pages-1.img"
start b private+split "$tmp/b/pages-1.img"
rm -rf "$tmp/b"
grep -q "$tmp/b/pages-1.img (deleted)" "/proc/$pid/maps" || fail "(b) maps do not show the deleted image"
dump b img-b
mib=$(copied b img-b)
n=$(grep -c 'chain-copy: .* dumped as anonymous memory' "$tmp/img-b/dump.log")
((n == 3)) || fail "(b) $n VMAs dumped as anonymous memory, expected 3"
line=$(restored_ok b img-b "$tmp/b")
say "(b) dumped while mapping 'pages-1.img (deleted)': $mib MiB of pages; restored, $line"

# ---- (c) no xattr: name fallback (pages-1.img next to a CRIU inventory.img)
newimg "$tmp/c" pages-1.img
cp "$tmp/img-b/inventory.img" "$tmp/c/"
"$mi" hasmark "$tmp/c/pages-1.img" && fail "(c) pages-1.img has the xattr"
start c private "$tmp/c/pages-1.img"
dump c img-c
mib=$(copied c img-c)
grep -q "chain-copy: $tmp/c/pages-1.img is named like a pages image" "$tmp/img-c/dump.log" ||
  fail "(c) dump.log does not name the fallback"
rm -rf "$tmp/c"
line=$(restored_ok c img-c "$tmp/c")
say "(c) no xattr, name + inventory.img: $mib MiB of pages; restored after rm -rf, $line"

# ---- (d) plain private file mapping: stock behaviour; (e) pages-1.img, no xattr, no inventory.img
for c in d:data.bin:private+split e:pages-1.img:private; do
  IFS=: read -r name file mode <<<"$c"
  newimg "$tmp/$name" "$file"
  start "$name" "$mode" "$tmp/$name/$file"
  dump "$name" "img-$name"
  mib=$(not_copied "$name" "img-$name")
  restore "img-$name" restore.log || fail "($name) restore failed"
  line=$(verify "$name")
  maps_names "$name" "$tmp/$name/$file" || fail "($name) restored copy does not map $tmp/$name/$file"
  kill_copy
  say "($name) $mode mapping of $file: stays a file mapping ($mib MiB of pages), restored, $line"
done

# ---- (f) marked pages-1.img: first half private (copied), second half MAP_SHARED (kept)
newimg "$tmp/f" pages-1.img
"$mi" mark "$tmp/f/pages-1.img"
start f mixed "$tmp/f/pages-1.img"
dump f img-f
n=$(grep -c 'chain-copy: .* dumped as anonymous memory' "$tmp/img-f/dump.log")
((n == 1)) || fail "(f) $n VMAs dumped as anonymous memory, expected 1 (the private half)"
warn=$(grep -o "Warn.*chain-copy: $tmp/f/pages-1.img is mapped shared.*" "$tmp/img-f/dump.log" || true)
[[ -n $warn ]] || fail "(f) no warning about the shared mapping in dump.log"
mib=$(pages_mib img-f)
((mib >= MIB / 2 && mib < MIB)) || fail "(f) img-f holds $mib MiB of pages, expected the private half"
restore img-f restore.log || fail "(f) restore failed"
line=$(verify f)
maps=$(grep -- "$tmp/f/pages-1.img" "/proc/$copy/maps" || true)
[[ $(wc -l <<<"$maps") == 1 && $maps == *" rw-s "* ]] ||
  fail "(f) restored copy should map $tmp/f/pages-1.img once, shared: $maps"
kill_copy
say "(f) private + shared halves of a marked image: $mib MiB of pages (the private half), restored, $line"
say "(f)   maps: ${maps:0:60}...; dump.log: ${warn:0:90}..."

# ---- (g) the real chain, with restore --map-pages (criu-patches/0012)
pidns=0 stdio=$tmp/g.log
start g anon -
dump g img-g1
"$mi" hasmark "$tmp/img-g1/pages-1.img" || fail "(g) dump did not set user.criu.pages on img-g1/pages-1.img"
restore img-g1 restore.log --map-pages || fail "(g) restore --map-pages of img-g1 failed"
maps_names g "$tmp/img-g1/pages-" || fail "(g) the --map-pages copy does not map img-g1's pages image"
trigger g write '^write ' >/dev/null
# every page generation 1, then each write: pages i % 7 == 1 one more
pages=$((MIB * 1048576 / $(getconf PAGESIZE))) per_write=$(((MIB * 1048576 / $(getconf PAGESIZE) + 5) / 7))
dump g img-g2-off --no-chain-copy --leave-running
mib_off=$(not_copied g img-g2-off)
dump g img-g2
mib=$(copied g img-g2)
rm -rf "$tmp/img-g1"
if restore img-g2-off restore.log; then kill_copy; fail "(g) --no-chain-copy generation 2 restored after rm -rf img-g1"; fi
line=$(grep -o "Error.*img-g1/pages-.*" "$tmp/img-g2-off/restore.log" | head -n1 || true)
[[ -n $line ]] || fail "(g) --no-chain-copy generation 2 failed without naming img-g1's pages image"
say "(g) generation 2 with --no-chain-copy ($mib_off MiB of pages), img-g1 removed: restore failed: $line"
line=$(restored_ok g img-g2 "$tmp/img-g1" $((pages + per_write)))
say "(g) generation 2 ($mib MiB of pages) restored after rm -rf img-g1, $line"
restore img-g2 restore.log --map-pages || fail "(g) restore --map-pages of img-g2 failed"
maps_names g "$tmp/img-g2/pages-" || fail "(g) the --map-pages copy does not map img-g2's pages image"
line=$(verify g $((pages + per_write)))
say "(g) generation 2 restored with --map-pages, $line"
trigger g write '^write ' >/dev/null
dump g img-g3
copy=""
mib=$(copied g img-g3)
rm -rf "$tmp/img-g2"
line=$(restored_ok g img-g3 "$tmp/img-g2" $((pages + 2 * per_write)))
say "(g) generation 3 ($mib MiB of pages) restored after rm -rf img-g2, $line"
restore img-g3 restore.log --map-pages || fail "(g) restore --map-pages of img-g3 failed"
line=$(verify g $((pages + 2 * per_write)))
maps_names g "$tmp/img-g3/pages-" || fail "(g) the --map-pages copy does not map img-g3's pages image"
maps_names g "$tmp/img-g2/" && fail "(g) the copy of img-g3 maps img-g2"
say "(g) generation 3 restored with --map-pages, $line"
# generation 4 into img-g3 itself, the directory the task's memory is mapped from
trigger g write '^write ' >/dev/null
mv "$tmp/img-g3/dump.log" "$tmp/img-g3/dump-g3.log"
dump g img-g3
mib=$(copied g img-g3)
line=$(restored_ok g img-g3 "$tmp/img-g3" $((pages + 3 * per_write)))
say "(g) generation 4 dumped over img-g3, which its memory was mapped from ($mib MiB of pages): restored, $line"
say "PASS"
