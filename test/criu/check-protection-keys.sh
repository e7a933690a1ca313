#!/usr/bin/env bash
# test/criu/check-protection-keys.sh — memory protection keys survive a restore
# (criu-patches/0017).
#
# Node 20's V8 puts its wasm code space under a protection key (pkey_alloc +
# pkey_mprotect; smaps shows ProtectionKey 1) and calls pkey_mprotect(..., 1)
# again each time it commits more code space.  Stock 4.1.1 restores every VMA
# with key 0 and never allocates key 1 in the new mm, so the first new wasm
# module after a restore dies with "FATAL ERROR: Commit wasm code space
# Allocation failed - process out of memory" (pkey_mprotect: EINVAL).
#
# The program (own session via setsid, stdio on files) fetches (undici
# compiles its llhttp wasm) and compiles, instantiates and calls a new
# WebAssembly.Module every 100 ms, writing its count to a status file.  Cases:
#   (1) after warm-up it has VMAs with ProtectionKey 1; dump (kills it): the
#       mm image records keys (dump by this CRIU);
#   (2) restore: restore.log says which keys were allocated, the program runs
#       for 5 s after the restore and compiles at least 25 more modules, its
#       smaps shows ProtectionKey 1 again, its log has no FATAL ERROR;
#   (3) the same image restored with pkey_alloc failing with ENOSPC (what a
#       CPU without PKU gives; prog/no-pkeys.c, a seccomp filter): the restore
#       fails and restore.log says why (no VMA silently keeps key 0);
#   (4) a program without keys (sleep): its restore.log has no protection key
#       line (stock path);
#   (5) prog/pkey-holes.c owns keys 2 and 4 (1 and 3 freed, key 4 with
#       PKEY_DISABLE_WRITE in its PKRU), a page under each: restored, it
#       answers as before the dump: the same keys in smaps, the same PKRU
#       (the xsave area CRIU restores carries it), pkey_alloc() gives 1 and
#       pkey_mprotect(key 3) fails with EINVAL (the keys allocated on the way
#       to 2 and 4 were freed), restore.log says "Allocated protection keys
#       0x14"; a dump with --leave-running leaves it answering the same;
#   (6) the same with key 4's access disabled in its PKRU (PKEY_DISABLE_ACCESS,
#       lifted by the program only while it reads): stock's dump fails with
#       "Can't splice all pages to pipe" (the parasite's vmsplice runs under
#       the task's PKRU); here it dumps, keeps the PKRU, restores the same.
# With STOCK_CRIU built (criu-patches/build.sh --stock) the image of (1) is
# restored by stock too and must die as above (a note, not a failure, if it
# does not; skipped with a note if stock is not built).
#
# Env: CRIU (default /usr/local/sbin/criu; CKPT_CRIU is used when CRIU is
# unset), STOCK_CRIU (default /var/cache/ckpt/criu/stock-4.1.1/criu/criu),
# KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root, node 20+, gcc, a CPU
# and kernel with protection keys (pku and ospke in /proc/cpuinfo: without
# them V8 uses no keys and there is nothing to test, so the check fails
# saying so).
set -euo pipefail

CRIU=${CRIU:-${CKPT_CRIU:-/usr/local/sbin/criu}}
STOCK_CRIU=${STOCK_CRIU:-/var/cache/ckpt/criu/stock-4.1.1/criu/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-pkeys.XXXXXX)
pid=""
copies=()

say() { printf 'check-protection-keys: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 10 "$tmp"/img*/*.log
  [[ -f $tmp/node.out ]] && { say "--- node output"; tail -n 15 "$tmp/node.out" >&2; }
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
command -v node >/dev/null || fail "node not found"
command -v gcc >/dev/null || fail "gcc not found"
grep -qw pku /proc/cpuinfo && grep -qw ospke /proc/cpuinfo ||
  fail "this CPU or kernel has no memory protection keys (pku/ospke in /proc/cpuinfo): nothing to test"
gcc -O2 -Wall -o "$tmp/no-pkeys" "$here/prog/no-pkeys.c" || fail "gcc no-pkeys.c"
gcc -O2 -Wall -o "$tmp/pkey-holes" "$here/prog/pkey-holes.c" || fail "gcc pkey-holes.c"

cat >"$tmp/wasm.js" <<'JS'
// A new wasm module every 100 ms (each one makes V8 commit code space with
// pkey_mprotect), a failing fetch every 500 ms; the count in DIR/status.
const fs = require('fs');
const dir = process.argv[2];
// (module (func (export "f") (result i32) (i32.const N)))
const bytes = (n) => new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0,
  7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0, 65, n & 0x3f, 11]);
let compiled = 0, fetches = 0;
const status = () => {
  fs.writeFileSync(dir + '/.status', `${compiled} ${fetches}\n`);
  fs.renameSync(dir + '/.status', dir + '/status');
};
fetch('http://127.0.0.1:1/').catch(() => { fetches++; });
setInterval(() => {
  const i = new WebAssembly.Instance(new WebAssembly.Module(bytes(compiled)));
  if (i.exports.f() !== (compiled & 0x3f)) throw new Error('wrong result');
  compiled++;
  if (compiled % 5 === 0) fetch('http://127.0.0.1:1/').catch(() => { fetches++; });
  status();
}, 100);
JS

# compiled: the program's module count (status file), or -1.
compiled() { awk '{print $1}' "$tmp/run/status" 2>/dev/null || echo -1; }
pkey_vmas() { grep -cE '^ProtectionKey:\s+[1-9]' "/proc/$1/smaps" || true; }
# alive PID: running and not a zombie
alive() { [[ -e /proc/$1 && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
# restore_img CRIU DIR LOG [wrapper...]: restore detached; criu's status
restore_img() {
  local criu=$1 dir=$2 log=$3
  shift 3
  "$@" "$criu" restore -D "$dir" --shell-job -d -v4 -o "$log" >&2
}

# ---- (1) warm up, dump
mkdir -p "$tmp/run" "$tmp/img"
setsid node "$tmp/wasm.js" "$tmp/run" </dev/null >"$tmp/node.out" 2>&1 &
pid=$!
disown "$pid"
for ((i = 0; i < 100; i++)); do (($(compiled) >= 20)) && break; sleep 0.1; done
(($(compiled) >= 20)) || fail "(1) node did not compile 20 modules in 10 s"
n=$(pkey_vmas "$pid")
((n > 0)) || fail "(1) node $pid has no VMA with a protection key after warm-up"
"$CRIU" dump -t "$pid" -D "$tmp/img" --shell-job -v4 -o dump.log || fail "(1) criu dump failed"
before=$(compiled)
gone "$pid" || fail "(1) node $pid still runs after the dump"
say "(1) node $pid: $before modules, $n VMAs with ProtectionKey 1..15; dumped"
wait_pid_free "$pid" || fail "pid $pid not free"
cp -a "$tmp/img" "$tmp/img-stock"
cp -a "$tmp/img" "$tmp/img-nopku"

# ---- (2) restore, keep compiling
restore_img "$CRIU" "$tmp/img" restore.log || fail "(2) criu restore failed"
log=$tmp/img/restore.log
grep -q 'Allocated protection keys 0x2$' "$log" || fail "(2) restore.log does not say 'Allocated protection keys 0x2'"
nlog=$(grep -c 'has protection key' "$log" || true)
sleep 5
alive "$pid" || fail "(2) node $pid died after the restore"
after=$(compiled)
((after >= before + 25)) || fail "(2) node compiled $((after - before)) modules in 5 s after the restore (want 25+)"
n=$(pkey_vmas "$pid")
((n > 0)) || fail "(2) the restored node has no VMA with a protection key"
grep -q 'FATAL ERROR' "$tmp/node.out" && fail "(2) node printed a FATAL ERROR"
say "(2) restored: $nlog VMAs given their key, keys 0x2 allocated; 5 s later node runs," \
  "compiled $((after - before)) more modules ($after), $n VMAs with ProtectionKey 1..15"
kill -KILL "$pid"
gone "$pid" || fail "node $pid did not die"
wait_pid_free "$pid" || fail "pid $pid not free"

# ---- (3) no PKU (pkey_alloc fails): the restore fails and says why
rc=0
restore_img "$CRIU" "$tmp/img-nopku" restore.log "$tmp/no-pkeys" 2>/dev/null || rc=$?
alive "$pid" && fail "(3) restored without protection keys, and runs"
((rc != 0)) || fail "(3) criu restore exited 0 without protection keys"
msg=$(grep -o 'has memory protection key .*' "$tmp/img-nopku/restore.log" | head -n1)
[[ $msg == *'cannot allocate protection keys (pkey_alloc: No space left on device'* ]] ||
  fail "(3) restore.log does not say the keys cannot be allocated"
say "(3) without PKU: criu restore exited $rc: ...$msg"
wait_pid_free "$pid" || fail "pid $pid not free"

# ---- stock restores the image of (1) with key 0 and the program dies
if [[ -x $STOCK_CRIU ]]; then
  restore_img "$STOCK_CRIU" "$tmp/img-stock" restore.log || fail "(stock) stock criu restore failed"
  for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    say "(stock) note: stock CRIU's restore still runs after 5 s"
    kill -KILL "$pid"
  else
    fatal=$(grep -m1 -o 'FATAL ERROR: .*' "$tmp/node.out" || true)
    say "(stock) stock CRIU: node died after the restore: ${fatal:-no FATAL ERROR line}"
  fi
  gone "$pid" || true
else
  say "(stock) skipped: no stock CRIU at $STOCK_CRIU (criu-patches/build.sh --stock)"
fi

# ---- (4) no keys: stock path
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid"
sleep 0.2
mkdir -p "$tmp/img4"
"$CRIU" dump -t "$pid" -D "$tmp/img4" --shell-job -v4 -o dump.log || fail "(4) criu dump of sleep failed"
gone "$pid" || fail "(4) sleep $pid still runs after the dump"
wait_pid_free "$pid" || fail "pid $pid not free"
restore_img "$CRIU" "$tmp/img4" restore.log || fail "(4) criu restore of sleep failed"
alive "$pid" || fail "(4) restored sleep does not run"
# (not "cpu: fpu: Protection Keys User registers": stock lists the xsave features)
grep -qE 'memory protection key|Allocated protection keys|has protection key' "$tmp/img4/restore.log" &&
  fail "(4) restore.log of a program without keys mentions protection keys"
say "(4) sleep (no keys): dumped and restored, no protection key line in restore.log"
kill -KILL "$pid"
gone "$pid" || fail "sleep $pid did not die"

# ---- (5), (6) keys with holes below them, PKRU
# holes CASE [deny]: pkey-holes answers the same before a --leave-running dump, after it, and
# after a dump and restore.
holes() {
  local c=$1 img=$tmp/img$1 want got lr
  shift
  mkdir -p "$img" "$img-lr"
  setsid "$tmp/pkey-holes" "$tmp" "$@" </dev/null >"$tmp/holes.out" 2>&1 &
  pid=$!
  disown "$pid"
  for ((i = 0; i < 50; i++)); do [[ -f $tmp/reply.$pid ]] && break; sleep 0.1; done
  [[ $(cat "$tmp/reply.$pid" 2>/dev/null) == ready ]] || fail "($c) pkey-holes did not get ready: $(cat "$tmp/holes.out")"
  want=$(ask "$pid") || fail "($c) no reply from pkey-holes $pid"
  [[ $want == "A=2 B=4 "*" alloc=1 key3=EINVAL key2=0" ]] || fail "($c) pkey-holes before the dump: $want"
  "$CRIU" dump -t "$pid" -D "$img-lr" --shell-job --leave-running -v4 -o dump.log || fail "($c) criu dump --leave-running failed"
  lr=$(ask "$pid") || fail "($c) no reply from pkey-holes $pid after dump --leave-running"
  [[ $lr == "$want" ]] || fail "($c) after dump --leave-running pkey-holes answers '$lr', before '$want'"
  "$CRIU" dump -t "$pid" -D "$img" --shell-job -v4 -o dump.log || fail "($c) criu dump failed"
  gone "$pid" || fail "($c) pkey-holes $pid still runs after the dump"
  wait_pid_free "$pid" || fail "pid $pid not free"
  restore_img "$CRIU" "$img" restore.log || fail "($c) criu restore failed"
  grep -q 'Allocated protection keys 0x14$' "$img/restore.log" ||
    fail "($c) restore.log does not say 'Allocated protection keys 0x14'"
  got=$(ask "$pid") || fail "($c) no reply from the restored pkey-holes $pid"
  [[ $got == "$want" ]] || fail "($c) restored pkey-holes answers '$got', before the dump '$want'"
  say "($c) pkey-holes${*:+ $*}: before and after dump --leave-running, and restored: '$got'"
  kill -KILL "$pid"
  gone "$pid" || fail "pkey-holes $pid did not die"
}
holes 5
# key 4's access disabled in the PKRU: stock's parasite could not vmsplice page B
wait_pid_free "$pid" || fail "pid $pid not free"
holes 6 deny
say "ok"
