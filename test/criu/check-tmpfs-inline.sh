#!/usr/bin/env bash
# test/criu/check-tmpfs-inline.sh — criu dump --tmpfs-inline (criu-patches/0015):
# CRIU writes a simple tmpfs's tmpfs-dev-N.tar.gz.img itself (the tar stream
# GNU tar writes, in a gzip member of stored deflate blocks) instead of running
# tar, which runs gzip through /bin/sh; anything else still goes to tar.
#
# prog/tmpfs-tree.c (static) is pid 1 of a fresh pid + mount namespace whose
# root is $tmp/root with these tmpfs mounts (made by this script's `setup`
# mode before it execs the program):
#   /empty      empty, mode 0555, remounted read-only (Docker's masks);
#   /tree       directories (one 1777, one 0700, one with a space), files
#               with contents (one of 300 KB: several deflate blocks), odd
#               modes (4751, 000), uids/gids (1234:5678, also on a symlink and
#               on the root), mtimes (touch -d), relative and dangling
#               symlinks, char devices (1,3 and 4095,1048575), a block
#               device, a FIFO, UTF-8 names, a 99-byte path (the longest
#               that fits);
#   /nest       with /nest/sub a tmpfs mounted on one of its directories;
#   /fall-*     one reason each to run tar: a hard link, a sparse file, a
#               socket, a path longer than 99 bytes, 1.1 MB of files.
# The task is dumped (--leave-running) three times, with a `tar` first in
# PATH that logs its arguments and runs the real one:
#   (1) with --tmpfs-inline: the 4 simple mounts are "written without tar"
#       and only the 5 fallbacks run tar; every image passes gzip -t,
#       decompresses to the very bytes of the stock dump's image, and
#       `tar --extract --gzip --no-unquote --no-wildcards` (CRIU's restore
#       argv) extracts it without a word on stderr to the same tree
#       (find -printf names, modes, owners, mtimes, types, link targets,
#       sizes; sha256 of the files) as the stock image;
#   (2) the inline images restore with this CRIU (--root, a new pid
#       namespace), every tmpfs extracted by tar, and the restored task's
#       mounts (through /proc/PID/root) hold the original tree, /empty
#       read-only;
#   (3) stock CRIU (/var/cache/ckpt/criu/stock-4.1.1, build.sh --stock)
#       restores the inline images the same way (if stock fails on its own
#       images too, that is not ours: noted, and (1)'s extraction stands);
#   (4) each fallback logged its reason ("...: running tar") and its image
#       is tar's (the byte comparison of (1));
#   (5) without the option: all 9 mounts run tar and the log has no
#       tmpfs-inline line; with `tmpfs-inline` in a CRIU_CONFIG_FILE (how
#       ckpt passes it through runc) the dump is inline as in (1).
# The time from "Dumping mountpoints" to "Dumping file-locks" in the dump logs
# (the tmpfs part) is printed for both dumps, never asserted.
#
# Env: CRIU (default /usr/local/sbin/criu), STOCK_CRIU, KEEP=1 keeps the temp
# dir.  Exit 0 on success, non-zero on failure.  Needs root, gcc with a static
# libc, /usr/bin/python3 (to make the socket).
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
STOCK_CRIU=${STOCK_CRIU:-/var/cache/ckpt/criu/stock-4.1.1/criu/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=${CKPT_TMPFS_TMP:-$(mktemp -d /tmp/ckpt-criu-tmpfs.XXXXXX)}
pid=""
copies=()

say() { printf 'check-tmpfs-inline: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|tmpfs-inline' 12 "$tmp"/img-*/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"

# The mounts, made under ROOT in the new namespaces, mountpoint => expected
# reason to run tar ("" = written inline).
declare -A reason=(
  [empty]="" [tree]="" [nest]="" [nest/sub]=""
  [fall-link]="hard link (2 links)"
  [fall-sparse]="sparse file"
  [fall-sock]="socket"
  [fall-long]="name longer than 99 bytes"
  [fall-big]="more than 1048576 bytes of files"
)

setup_tree() {
  local r=$1 m
  mount --bind "$r" "$r"
  for m in empty tree nest fall-link fall-sparse fall-sock fall-long fall-big; do mkdir -p "$r/$m"; done
  mount -t tmpfs -o mode=0555 ckpt-empty "$r/empty"
  mount -o remount,ro "$r/empty"

  mount -t tmpfs -o mode=0751 ckpt-tree "$r/tree"
  cd "$r/tree"
  mkdir -p d1/d2 d3 sticky 'sp ace'
  chmod 0700 d3
  chmod 1777 sticky
  printf 'hello\n' >d1/f
  chown 1234:5678 d1/f
  chmod 4751 d1/f
  touch -d '2001-02-03 04:05:06' d1/f
  : >nothing
  chmod 000 nothing
  head -c 5000 /dev/urandom >d3/rnd
  chown 0:5678 d3/rnd
  chmod 0640 d3/rnd
  head -c 300000 /dev/urandom >big
  printf 'x' >'sp ace/ünï cødé'
  ln -s ../f d1/d2/lnk
  chown -h 1234:5678 d1/d2/lnk
  touch -h -d '2002-03-04 05:06:07' d1/d2/lnk
  ln -s /nowhere/at/all dangling
  mknod null c 1 3
  chown 12:34 null
  chmod 0666 null
  mknod huge c 4095 1048575
  mknod loop b 7 200
  mkfifo fifo
  chmod 0620 fifo
  : >"$(printf 'n%.0s' {1..97})" # ./ + 97 = 99 bytes, the longest name that fits
  touch -d '2003-01-01 10:00:00' d1/d2
  touch -d '1999-12-31 23:59:59' d3
  chown 4321:8765 .
  touch -d '2010-10-10 10:10:10' .

  mount -t tmpfs -o mode=0755 ckpt-nest "$r/nest"
  mkdir -p "$r/nest/sub" "$r/nest/other"
  echo outer >"$r/nest/other/x"
  mount -t tmpfs -o mode=0700 ckpt-nest-sub "$r/nest/sub"
  echo inner >"$r/nest/sub/y"
  chown 7:8 "$r/nest/sub"

  mount -t tmpfs ckpt-fall-link "$r/fall-link"
  echo a >"$r/fall-link/a"
  ln "$r/fall-link/a" "$r/fall-link/b"
  mount -t tmpfs ckpt-fall-sparse "$r/fall-sparse"
  echo small >"$r/fall-sparse/small"
  truncate -s 1M "$r/fall-sparse/holes"
  mount -t tmpfs ckpt-fall-sock "$r/fall-sock"
  echo data >"$r/fall-sock/data"
  /usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$r/fall-sock/sock"
  mount -t tmpfs ckpt-fall-long "$r/fall-long"
  mkdir -p "$r/fall-long/$(printf 'd%.0s' {1..60})"
  echo long >"$r/fall-long/$(printf 'd%.0s' {1..60})/$(printf 'f%.0s' {1..60})"
  mount -t tmpfs ckpt-fall-big "$r/fall-big"
  head -c 1100000 /dev/urandom >"$r/fall-big/big"
  cd /
}

if [[ ${1:-} == setup ]]; then
  # pid 1 of the new namespaces: build the tree, become tmpfs-tree
  trap - EXIT
  setup_tree "$2" # set -e: any failure ends the namespace
  exec "$2/tmpfs-tree" "$2"
fi

command -v gcc >/dev/null || fail "gcc not found"
[[ -x /usr/bin/python3 ]] || fail "/usr/bin/python3 not found (makes the socket)"
require_criu_option '--tmpfs-inline'
root=$tmp/root
mkdir -p "$root" "$tmp/bin"
gcc -static -O2 -Wall -o "$root/tmpfs-tree" "$here/prog/tmpfs-tree.c" ||
  fail "gcc -static tmpfs-tree.c (is libc6-dev's libc.a there?)"

# A tar that logs its arguments, first in CRIU's PATH.
real_tar=$(command -v tar) || fail "tar not found"
cat >"$tmp/bin/tar" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/tar-calls"
exec $real_tar "\$@"
EOF
chmod 0755 "$tmp/bin/tar"
# tar_calls ACTION: how many tar runs with --ACTION since the last reset
tar_calls() { grep -c -- "--$1" "$tmp/tar-calls" 2>/dev/null || true; }
criu_path=$tmp/bin:$PATH

CKPT_TMPFS_TMP=$tmp unshare -m -p -f --propagation private bash "$here/$(basename -- "$0")" setup "$root" </dev/null >"$tmp/setup.log" 2>&1 &
up=$!
for ((i = 0; i < 100; i++)); do
  [[ -e $root/ready ]] && break
  kill -0 "$up" 2>/dev/null || { cat "$tmp/setup.log" >&2; fail "the namespace's setup failed"; }
  sleep 0.05
done
[[ -e $root/ready ]] || fail "tmpfs-tree did not get ready"
pid=$(tr -d ' \n' <"/proc/$up/task/$up/children")
[[ -n $pid ]] || fail "no pid for tmpfs-tree"
say "tmpfs-tree is $pid (pid 1 of its namespaces), ${#reason[@]} tmpfs mounts"

# listing DIR: one line per entry (sockets left out: tar never stores them),
# mtime in seconds, no directory sizes (they depend on the filesystem)
listing() {
  (cd "$1" && find . ! -type s -printf '%p|%m|%U|%G|%T@|%y|%l|%s\n' |
    awk -F'|' -v OFS='|' '{ sub(/\..*/, "", $5); if ($6 == "d") $8 = ""; print }' | LC_ALL=C sort)
}
# sums DIR: the files' sha256 and the devices' numbers
sums() {
  (cd "$1" && { find . -type f -exec sha256sum {} +; find . \( -type c -o -type b \) -exec stat -c '%t:%T %n' {} +; } |
    LC_ALL=C sort -k2)
}
for m in "${!reason[@]}"; do
  f=$tmp/orig.${m//\//_}
  listing "/proc/$pid/root/$m" >"$f.list"
  sums "/proc/$pid/root/$m" >"$f.sums"
done
grep -q '|c|' "$tmp/orig.tree.list" || fail "the tree has no device (listing broken?)"

# dump DIR [criu options]: --leave-running dump through the logging tar
dump() {
  local dir=$1
  shift
  mkdir -p "$tmp/$dir"
  : >"$tmp/tar-calls"
  PATH=$criu_path "$CRIU" dump -t "$pid" -D "$tmp/$dir" --leave-running -v4 -o dump.log "$@" ||
    fail "criu dump $* ($dir) failed"
}
# tmpfs_ms DIR: ms from "Dumping mountpoints" to "Dumping file-locks"
tmpfs_ms() {
  awk -F'[()]' '/mnt: Dumping mountpoints/ {a = $2} /Dumping file-locks/ {b = $2} END {printf "%.1f", (b - a) * 1000}' \
    "$tmp/$1/dump.log"
}
# image MOUNT: the image name of a mount, from the inline dump's log
image() {
  local hex
  hex=$(awk -v m="./$1" '$2 == "mnt:" && $5 == "@" && $6 == m {sub(/:.*/, "", $4); print $4; exit}' "$tmp/img-inline/dump.log")
  [[ -n $hex ]] || fail "no mount ./$1 in img-inline/dump.log"
  echo "tmpfs-dev-$((16#$hex)).tar.gz.img"
}

# ---- (5) without the option first: stock, tar for every mount
dump img-stock
stock_tars=$(tar_calls create)
[[ $stock_tars == "${#reason[@]}" ]] || fail "(5) without the option tar ran $stock_tars times, expected ${#reason[@]}"
! grep -q 'tmpfs-inline' "$tmp/img-stock/dump.log" || fail "(5) without the option the log has tmpfs-inline lines"
say "(5) without --tmpfs-inline: tar ran for all $stock_tars mounts, no tmpfs-inline line; tmpfs part $(tmpfs_ms img-stock) ms"

# ---- (1) + (4) --tmpfs-inline
dump img-inline --tmpfs-inline
inline_tars=$(tar_calls create)
nfall=0
for m in "${!reason[@]}"; do
  log=$tmp/img-inline/dump.log
  if [[ -z ${reason[$m]} ]]; then
    grep -q "tmpfs-inline: ./$m (mnt_id [0-9]*): written without tar" "$log" || fail "(1) ./$m was not written inline"
  else
    nfall=$((nfall + 1))
    line=$(grep "tmpfs-inline: ./$m (mnt_id [0-9]*): " "$log") || fail "(4) no tmpfs-inline line for ./$m"
    [[ $line == *": ${reason[$m]}"*": running tar" ]] || fail "(4) ./$m: expected '${reason[$m]}', got: $line"
  fi
done
[[ $inline_tars == "$nfall" ]] || fail "(1) with --tmpfs-inline tar ran $inline_tars times, expected $nfall (the fallbacks)"
say "(1) --tmpfs-inline: $((${#reason[@]} - nfall)) mounts written without tar, tar ran $inline_tars times; tmpfs part $(tmpfs_ms img-inline) ms"
grep -o 'tmpfs-inline: .*' "$tmp/img-inline/dump.log" | sed 's/^/check-tmpfs-inline:     /' >&2

# the same images: gzip -t, the same tar bytes, the same extracted tree
for m in "${!reason[@]}"; do
  img=$(image "$m")
  a=$tmp/img-inline/$img b=$tmp/img-stock/$img
  [[ -f $a && -f $b ]] || fail "(1) ./$m: $img missing in img-inline or img-stock"
  gzip -t "$a" || fail "(1) ./$m: $a is not a valid gzip file"
  cmp -s <(gzip -dc "$a") <(gzip -dc "$b") ||
    fail "(1) ./$m: $img decompresses to other bytes than the stock dump's (tar -tvzf both to see)"
  for k in inline stock; do
    x=$tmp/x-$k/${m//\//_}
    mkdir -p "$x"
    # exactly as tmpfs_restore() runs it
    "$real_tar" --extract --gzip --no-unquote --no-wildcards --directory "$x" <"$tmp/img-$k/$img" 2>"$x.err" ||
      { cat "$x.err" >&2; fail "(1) ./$m: tar --extract of img-$k/$img failed"; }
    [[ ! -s $x.err ]] || { cat "$x.err" >&2; fail "(1) ./$m: tar --extract of img-$k/$img wrote to stderr"; }
    listing "$x" >"$x.list"
    sums "$x" >"$x.sums"
  done
  for f in list sums; do
    diff "$tmp/x-inline/${m//\//_}.$f" "$tmp/x-stock/${m//\//_}.$f" >&2 ||
      fail "(1) ./$m: the inline image extracts to another tree than the stock one ($f)"
  done
  if [[ -z ${reason[$m]} ]]; then
    # what tar stored is the original tree (the mountpoint ./nest/sub is an empty directory)
    [[ $m == nest ]] && continue
    diff "$tmp/orig.${m//\//_}.list" "$tmp/x-inline/${m//\//_}.list" >&2 ||
      fail "(1) ./$m: the inline image does not hold the original tree"
  fi
done
say "(1) every image: gzip -t ok, same tar bytes as stock's, extracts silently (CRIU's argv) to the same tree"
say "(4) every fallback logged its reason and wrote tar's image"

# ---- (5) the config-file key, as ckpt passes it through runc
echo tmpfs-inline >"$tmp/inline.conf"
CRIU_CONFIG_FILE=$tmp/inline.conf dump img-conf
n=$(grep -c 'tmpfs-inline: .*written without tar' "$tmp/img-conf/dump.log" || true)
[[ $n == $((${#reason[@]} - nfall)) && $(tar_calls create) == "$nfall" ]] ||
  fail "(5) CRIU_CONFIG_FILE with 'tmpfs-inline': $n mounts inline, tar ran $(tar_calls create) times"
say "(5) 'tmpfs-inline' in CRIU_CONFIG_FILE: $n mounts inline, tar ran $nfall times"

# restore CRIU IMGDIR LOG: restore the namespaces (--root) detached; prints the new pid
restore() {
  local bin=$1 dir=$2 log=$3 pf
  pf=$(mktemp -u "$tmp/copy.XXXXXX")
  : >"$tmp/tar-calls"
  PATH=$criu_path "$bin" restore -D "$tmp/$dir" --root "$root" -d --pidfile "$pf" -v4 -o "$log" >&2 || return 1
  cat "$pf"
}
# verify WHAT PID: the restored task's mounts hold the original trees
verify() {
  local what=$1 c=$2 m f
  for m in "${!reason[@]}"; do
    f=$tmp/orig.${m//\//_}
    diff "$f.list" <(listing "/proc/$c/root/$m") >&2 || fail "($what) ./$m differs from the original"
    diff "$f.sums" <(sums "/proc/$c/root/$m") >&2 || fail "($what) ./$m: file contents differ from the original"
  done
  awk '$5 == "/empty"' "/proc/$c/mountinfo" | grep -q ' ro,' || fail "($what) /empty is not read-only"
}

# ---- (2) restore the inline images with this CRIU
c=$(restore "$CRIU" img-inline restore.log) || fail "(2) restore of the inline images failed"
copies+=("$c")
[[ $(tar_calls extract) == "${#reason[@]}" ]] || fail "(2) the restore ran tar --extract $(tar_calls extract) times, expected ${#reason[@]}"
verify 2 "$c"
say "(2) restored as $c with $CRIU: tar extracted all ${#reason[@]} images, every mount holds the original tree"
kill -KILL "$c"

# ---- (3) stock CRIU restores them too
if [[ ! -x $STOCK_CRIU ]]; then
  say "(3) skipped: no stock CRIU at $STOCK_CRIU (criu-patches/build.sh --stock); (1) extracted the images as it would"
elif c=$(restore "$STOCK_CRIU" img-inline restore-stock.log); then
  copies+=("$c")
  verify 3 "$c"
  say "(3) restored as $c with stock CRIU: every mount holds the original tree"
  kill -KILL "$c"
elif c=$(restore "$STOCK_CRIU" img-stock restore-stock.log); then
  copies+=("$c")
  fail "(3) stock CRIU restores its own images but not the inline ones (img-inline/restore-stock.log)"
else
  say "(3) stock CRIU restores neither image set (unrelated to 0015, see img-*/restore-stock.log); (1) extracted the images as it would"
fi
say "ok"
