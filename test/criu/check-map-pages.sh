#!/usr/bin/env bash
# test/criu/check-map-pages.sh — criu restore --map-pages
# (criu-patches/0012): private anonymous memory is mapped MAP_PRIVATE from
# the pages images instead of copied, so a restore costs next to nothing
# and copies of one set share one page cache.
#
# prog/mem-pattern.c holds 64 MiB of private anonymous memory with a
# pseudo-random pattern (40-page holes every 8 MiB that are never touched),
# a 1 MiB read-only area and a 16-page MAP_GROWSDOWN area; on SIGUSR1 it
# runs a command (verify, rewrite, madvise, maps) and writes a reply file.
# It is dumped with --leave-running; every restore is --restore-pidns -d
# (pids never collide).  Cases:
#   (0) the dump marks every pages-*.img with the xattr user.criu.pages;
#   (1) --map-pages: the copy verifies byte for byte (holes zero), its
#       /proc/PID/maps names pages-*.img, restore.log says what was mapped
#       and that the growsdown/stack areas were copied, the image carries
#       user.criu.mapped;
#   (2) the copy writes every page (generation 2) and verifies;
#   (3) MADV_DONTNEED on a mapped range reads back the checkpoint's data
#       (generation 1), not zeros; MADV_FREE fails with EINVAL;
#   (4) 8 concurrent --map-pages restores of one image all verify; the sum
#       of their Anonymous memory (smaps_rollup) is below one image's size;
#       the figures (and MemAvailable's drop) are printed;
#   (5) the image directory is rm -rf'd while a mapped copy runs: it goes on
#       verifying and writing;
#   (6) another program is dumped into the directory of a mapped copy: the
#       images are replaced (new inode), the old one keeps its size, the
#       copy keeps verifying, and the new images restore;
#   (7) criu dedup and restore --auto-dedup refuse an image carrying
#       user.criu.mapped (unmarked images dedup as before); --map-pages
#       with --auto-dedup is refused;
#   (8) without --map-pages the restore is stock: memory copied (Anonymous
#       holds it), no image in the maps, MADV_DONTNEED gives zeros, MADV_FREE
#       works, no map-pages lines in the log.
# The wall time of the restores of (1) and (8) is printed, never asserted
# (MIB=1024 gives the 1 GiB figures of criu-patches/README.md).
#
# Env: CRIU (default /usr/local/sbin/criu), MIB (memory of the program,
# default 64), KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root, gcc, /usr/bin/python3.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-mappages.XXXXXX)
pid=""
copies=()
MIB=${MIB:-64}

say() { printf 'check-map-pages: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 10 "$tmp"/img*/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
command -v gcc >/dev/null || fail "gcc not found"
[[ -x /usr/bin/python3 ]] || fail "/usr/bin/python3 not found (reads xattrs)"
require_criu_option '--map-pages'
gcc -O2 -Wall -o "$tmp/mem-pattern" "$here/prog/mem-pattern.c" || fail "gcc mem-pattern.c"
mkdir -p "$tmp/run"

# xattr FILE NAME: the value, or "-" when FILE has no such attribute.
xattr() {
  /usr/bin/python3 -c 'import os, sys
try: print(os.getxattr(sys.argv[1], sys.argv[2]).decode())
except OSError: print("-")' "$1" "$2"
}
# ask PID CMD: run CMD in mem-pattern PID, print its reply.
ask() {
  local p=$1 i
  rm -f "$tmp/run/reply.$p"
  echo "$2" >"$tmp/run/cmd.$p"
  kill -USR1 "$p" || return 1
  for ((i = 0; i < 300; i++)); do
    [[ -f $tmp/run/reply.$p ]] && { cat "$tmp/run/reply.$p"; return 0; }
    sleep 0.05
  done
  return 1
}
# expect PID CMD REPLY: fail unless the reply is REPLY.
expect() {
  local r
  r=$(ask "$1" "$2") || fail "no reply from $1 to $2"
  [[ $r == "$3" ]] || fail "$1: $2 replied '$r', expected '$3'"
}
# start SEED: run mem-pattern, wait until it has filled its memory; sets pid.
start() {
  local i
  setsid "$tmp/mem-pattern" "$tmp/run" "$MIB" "$1" </dev/null >/dev/null 2>&1 &
  pid=$!
  disown "$pid"
  for ((i = 0; i < 200; i++)); do
    [[ -f $tmp/run/reply.$pid ]] && return 0
    sleep 0.05
  done
  fail "mem-pattern $pid did not get ready"
}
# restore DIR LOG [options...]: --restore-pidns -d restore; prints the pid
# outside.  Returns criu's status.
restore() {
  local dir=$1 log=$2 rc=0 pf
  shift 2
  pf=$(mktemp -u "$tmp/copy.XXXXXX")
  "$CRIU" restore -D "$dir" -d --restore-pidns --pidfile "$pf" -v4 -o "$log" "$@" >&2 || rc=$?
  [[ -f $pf ]] && cat "$pf"
  return $rc
}
# kb PID FIELD: a field of /proc/PID/smaps_rollup in kB.
kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }
mapped_images() { grep -c '/pages-[0-9]*\.img' "/proc/$1/maps" || true; }
image_bytes=$((MIB << 20))

# ---- (0) dump
start 7
orig=$pid
mkdir -p "$tmp/img"
"$CRIU" dump -t "$orig" -D "$tmp/img" --leave-running -v4 -o dump.log || fail "criu dump failed"
pages=$(find "$tmp/img" -name 'pages-*.img' | sort)
[[ -n $pages ]] || fail "(0) no pages-*.img"
for f in $pages; do
  [[ $(xattr "$f" user.criu.pages) == 1 ]] || fail "(0) $f lacks the xattr user.criu.pages"
done
say "(0) dumped $orig: $(du -sh "$tmp/img" | cut -f1), $(echo $pages | wc -w) pages image(s), each with user.criu.pages=1"

# ---- (1) --map-pages restore verifies, maps name the image
t0=$(date +%s%N)
c=$(restore "$tmp/img" restore-map.log --map-pages) || fail "(1) restore --map-pages failed"
map_ms=$((($(date +%s%N) - t0) / 1000000))
copies+=("$c")
expect "$c" verify "ok 1"
n=$(mapped_images "$c")
((n > 0)) || fail "(1) /proc/$c/maps names no pages-*.img"
grep -q "$tmp/img/pages-1.img" "/proc/$c/maps" || fail "(1) /proc/$c/maps does not name $tmp/img/pages-1.img"
log=$tmp/img/restore-map.log
mapped=$(grep -o 'map-pages: [0-9]* KiB mapped from pages-[0-9]*.img.*' "$log" | head -n1)
[[ -n $mapped ]] || fail "(1) restore-map.log has no 'map-pages: ... mapped' summary"
kib=$(awk '{print $2}' <<<"$mapped")
((kib > MIB * 1024 * 95 / 100)) || fail "(1) only $kib KiB mapped of $MIB MiB: $mapped"
grep -q 'map-pages: copied [0-9]* KiB of [0-9]* areas: growsdown/stack area' "$log" ||
  fail "(1) restore-map.log does not say the growsdown/stack areas were copied"
[[ $(xattr "$tmp/img/pages-1.img" user.criu.mapped) == 1 ]] || fail "(1) pages-1.img lacks user.criu.mapped"
say "(1) --map-pages: copy $c verifies; $n mappings of pages-*.img in its maps; $mapped"
grep -o 'map-pages: copied.*' "$log" | sed 's/^/check-map-pages: (1)   /' >&2

# ---- (2) write every page, verify
expect "$c" rewrite "ok 2"
expect "$c" verify "ok 2"
say "(2) copy $c wrote every page (generation 2) and verifies"

# ---- (3) MADV_DONTNEED reads back the checkpoint, MADV_FREE fails
expect "$c" madvise "dontneed gen1 free EINVAL ok 2"
say "(3) MADV_DONTNEED on a mapped range reads back the checkpoint's data (gen1, not zeros); MADV_FREE: EINVAL"
kill -KILL "$c"

# ---- (4) 8 concurrent --map-pages restores
avail_kb() { awk '$1 == "MemAvailable:" {print $2}' /proc/meminfo; }
sync
before=$(avail_kb)
pids=()
for ((i = 1; i <= 8; i++)); do
  ( restore "$tmp/img" "restore-map8-$i.log" --map-pages >"$tmp/copy8.$i" ) &
  pids+=($!)
done
for ((i = 1; i <= 8; i++)); do
  rc=0
  wait "${pids[i - 1]}" || rc=$?
  [[ -s $tmp/copy8.$i ]] && copies+=("$(cat "$tmp/copy8.$i")")
  ((rc == 0)) || fail "(4) restore $i of 8 concurrent --map-pages restores exited $rc"
done
for ((i = 1; i <= 8; i++)); do expect "$(cat "$tmp/copy8.$i")" verify "ok 1"; done
anon=0 dirty=0 pss=0 rss=0
for ((i = 1; i <= 8; i++)); do
  c=$(cat "$tmp/copy8.$i")
  anon=$((anon + $(kb "$c" Anonymous)))
  dirty=$((dirty + $(kb "$c" Private_Dirty)))
  pss=$((pss + $(kb "$c" Pss)))
  rss=$((rss + $(kb "$c" Rss)))
done
after=$(avail_kb)
say "(4) 8 concurrent --map-pages copies verify; after reading all their memory: Rss $((rss >> 10)) MiB," \
  "Pss $((pss >> 10)) MiB, Anonymous $((anon >> 10)) MiB ($anon kB), Private_Dirty $((dirty >> 10)) MiB;" \
  "MemAvailable dropped $(((before - after) >> 10)) MiB (8 x $MIB MiB image)"
((anon * 1024 < image_bytes)) || fail "(4) the 8 copies hold $anon kB of anonymous memory, not below one image ($MIB MiB)"
((dirty * 1024 < image_bytes)) || fail "(4) the 8 copies hold $dirty kB Private_Dirty, not below one image ($MIB MiB)"
for ((i = 1; i <= 8; i++)); do kill -KILL "$(cat "$tmp/copy8.$i")"; done

# ---- (5) rm -rf the image directory under a mapped copy
cp -a "$tmp/img" "$tmp/img5"
c=$(restore "$tmp/img5" "$tmp/restore-5.log" --map-pages) || fail "(5) restore --map-pages from img5 failed"
copies+=("$c")
rm -rf "$tmp/img5"
grep -q "$tmp/img5/pages-1.img (deleted)" "/proc/$c/maps" || fail "(5) /proc/$c/maps does not show the deleted image"
expect "$c" verify "ok 1"
expect "$c" rewrite "ok 2"
expect "$c" madvise "dontneed gen1 free EINVAL ok 2"
kill -KILL "$c"
say "(5) image directory removed under copy $c: it verifies, rewrites and still reads the checkpoint after MADV_DONTNEED"

# ---- (6) re-dump into the directory of a mapped copy
cp -a "$tmp/img" "$tmp/img6"
c=$(restore "$tmp/img6" "$tmp/restore-6.log" --map-pages) || fail "(6) restore --map-pages from img6 failed"
copies+=("$c")
old_ino=$(stat -c %i "$tmp/img6/pages-1.img")
old_size=$(stat -c %s "$tmp/img6/pages-1.img")
start 8
other=$pid
"$CRIU" dump -t "$other" -D "$tmp/img6" -v4 -o dump-other.log || fail "(6) dump of a second program into img6 failed"
pid=$orig
new_ino=$(stat -c %i "$tmp/img6/pages-1.img")
[[ $new_ino != "$old_ino" ]] || fail "(6) pages-1.img was rewritten in place (inode $old_ino)"
[[ $(xattr "$tmp/img6/pages-1.img" user.criu.pages) == 1 ]] || fail "(6) the new pages-1.img lacks user.criu.pages"
[[ $(xattr "$tmp/img6/pages-1.img" user.criu.mapped) == - ]] || fail "(6) the new pages-1.img carries user.criu.mapped"
range=$(awk '/pages-1.img/ {print $1; exit}' "/proc/$c/maps")
[[ $(stat -L -c '%i %s' "/proc/$c/map_files/$range") == "$old_ino $old_size" ]] ||
  fail "(6) the mapped image is not the old inode with its size: $(stat -L -c '%i %s' "/proc/$c/map_files/$range")"
expect "$c" verify "ok 1"
expect "$c" rewrite "ok 2"
kill -KILL "$c"
wait_pid_free "$other" || fail "pid $other not free"
c=$(restore "$tmp/img6" restore-other.log --map-pages) || fail "(6) restore of the new images failed"
copies+=("$c")
expect "$c" verify "ok 1"
kill -KILL "$c"
say "(6) dump into img6 replaced pages-1.img (inode $old_ino -> $new_ino); the mapped copy kept the old inode" \
  "($old_size bytes) and verified; the new images restore"

# ---- (7) dedup refuses a mapped image
# (No soft-dirty here, so no pre-dump: the parent link is made by hand.
# criu dedup then punches out of the parent every page the child holds too.)
blocks() { stat -c %b "$1"; }
mkdir -p "$tmp/img7a" "$tmp/img7b" "$tmp/img7"
for d in img7a img7b img7; do
  "$CRIU" dump -t "$orig" -D "$tmp/$d" --leave-running -v4 -o dump.log || fail "(7) dump $d failed"
done
ln -s ../img7a "$tmp/img7b/parent"
b0=$(blocks "$tmp/img7a/pages-1.img")
"$CRIU" dedup -D "$tmp/img7b" -v4 -o dedup.log || fail "(7) criu dedup of unmarked images failed"
b1=$(blocks "$tmp/img7a/pages-1.img")
((b1 < b0 / 2)) || fail "(7) criu dedup did not punch the unmarked parent image ($b0 -> $b1 blocks)"
ln -s ../img "$tmp/img7/parent"
b0=$(blocks "$tmp/img/pages-1.img")
if "$CRIU" dedup -D "$tmp/img7" -v4 -o dedup.log; then fail "(7) criu dedup of a mapped parent image succeeded"; fi
msg=$(grep -o 'Error.*pages-1.img is mapped by tasks restored with --map-pages.*' "$tmp/img7/dedup.log" | head -n1)
[[ -n $msg ]] || fail "(7) criu dedup failed, but without the mapped-image message"
[[ $(blocks "$tmp/img/pages-1.img") == "$b0" ]] || fail "(7) blocks of the mapped img/pages-1.img changed"
say "(7) criu dedup of an unmarked parent punched it ($((b0 / 2048)) MiB -> $((b1 / 2048)) MiB);" \
  "of the mapped parent img: refused, ${msg#*: }"
if c=$(restore "$tmp/img" restore-dedup.log --auto-dedup); then
  copies+=("$c")
  fail "(7) restore --auto-dedup of a mapped image succeeded"
fi
grep -q 'is mapped by tasks restored with --map-pages' "$tmp/img/restore-dedup.log" ||
  fail "(7) restore --auto-dedup failed, but without the mapped-image message"
if "$CRIU" restore -D "$tmp/img" --map-pages --auto-dedup -o restore-both.log 2>/dev/null; then
  fail "(7) --map-pages --auto-dedup accepted"
fi
grep -q -- '--map-pages and --auto-dedup exclude each other' "$tmp/img/restore-both.log" ||
  fail "(7) --map-pages --auto-dedup refused without saying why"
say "(7) restore --auto-dedup of the mapped image refused; --map-pages with --auto-dedup refused"

# ---- (8) without --map-pages: stock
t0=$(date +%s%N)
c=$(restore "$tmp/img" restore-copy.log) || fail "(8) restore without --map-pages failed"
copy_ms=$((($(date +%s%N) - t0) / 1000000))
copies+=("$c")
expect "$c" verify "ok 1"
[[ $(mapped_images "$c") == 0 ]] || fail "(8) /proc/$c/maps names a pages image without --map-pages"
grep -q 'map-pages' "$tmp/img/restore-copy.log" && fail "(8) restore-copy.log has map-pages lines"
a=$(kb "$c" Anonymous)
((a * 100 >= MIB * 1024 * 95)) || fail "(8) copy $c holds only $a kB anonymous memory"
expect "$c" madvise "dontneed zero free 0 ok 1"
kill -KILL "$c"
say "(8) without --map-pages: copy $c verifies, no image in its maps, Anonymous $((a >> 10)) MiB," \
  "MADV_DONTNEED gives zeros, MADV_FREE works"
say "criu restore of $MIB MiB (wall time, not asserted): --map-pages $map_ms ms, copying $copy_ms ms"
say "PASS"
