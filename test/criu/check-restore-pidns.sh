#!/usr/bin/env bash
# test/criu/check-restore-pidns.sh — criu restore --restore-pidns
# (criu-patches/0007): restore a tree dumped from the host pid namespace
# into a fresh pid namespace of its own, so copies of one image can run side
# by side, each with the saved pid inside and a pid of its own outside.
#
# prog/pidns-counter.c keeps a token and a counter in memory and, on SIGUSR1,
# increments the counter and writes "token counter getpid() pid-in-/proc" to
# DIR/reply.<pid-in-/proc> (/proc is the host's, so that is the pid outside).
# It is asked once (counter 1), dumped with --leave-running, and then
#   (a) a stock restore while the original runs fails: its pid is taken
#       ("Can't fork for PID: File exists");
#   (b) with --restore-pidns, 2 and then 8 concurrent restores of the image
#       (--restore-detached, one --pidfile each) all run: each pidfile holds a
#       distinct pid outside, NSpid is "<outside> <original pid>", and the copy
#       answers with the dumped token, counter 2 and getpid() == the original
#       pid; its parent is the namespace's holder (comm criu-pidns, pid 1
#       inside).  Killing a copy's root makes its holder exit;
#   (c) under prog/pidns-subreaper.c, the orphaned holder exits with the
#       root task's status (SIGTERM: 143) once the root is killed.
# The original keeps running throughout with its own state.
#
# Env: CRIU (default /usr/local/sbin/criu), KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root and gcc.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-pidns.XXXXXX)
pid=""
copies=()

say() { printf 'check-restore-pidns: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error' 10 "$tmp"/img/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
command -v gcc >/dev/null || fail "gcc not found"
require_criu_option '--restore-pidns'

for p in pidns-counter pidns-subreaper; do
  gcc -O2 -Wall -o "$tmp/$p" "$here/prog/$p.c" || fail "gcc $p.c"
done
mkdir -p "$tmp/img"


say "starting pidns-counter (setsid)"
# Not a process-group leader (non-interactive shell): setsid(1) does not fork.
setsid "$tmp/pidns-counter" "$tmp" </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid"
sleep 0.3
r=$(ask "$pid") || fail "no reply from $pid"
read -r token n gp self <<<"$r"
[[ $n == 1 && $gp == "$pid" && $self == "$pid" ]] || fail "unexpected first reply '$r'"
say "original $pid: token $token counter $n"

"$CRIU" dump -t "$pid" -D "$tmp/img" --leave-running -v4 -o dump.log || fail "criu dump failed"
kill -0 "$pid" || fail "original died in the dump"

# (a) Stock restore while the original runs.
if "$CRIU" restore -D "$tmp/img" -d --pidfile "$tmp/stock.pid" -v4 -o restore-stock.log; then
  kill -KILL "$(cat "$tmp/stock.pid")" 2>/dev/null || true
  fail "stock restore succeeded while pid $pid is in use"
fi
grep -q "Can't fork for $pid: File exists" "$tmp/img/restore-stock.log" ||
  fail "stock restore failed, but not with 'Can't fork for $pid: File exists'"
kill -0 "$pid" || fail "original died in the stock restore"
say "(a) stock restore fails while the original runs: $(grep -o "Can't fork for $pid: File exists" "$tmp/img/restore-stock.log")"

# (b) N concurrent --restore-pidns restores.
restore_copies() { # N
  local n=$1 i rc c holder ns outs=() pids=()
  for ((i = 1; i <= n; i++)); do
    rm -f "$tmp/copy-$n-$i.pid"
    "$CRIU" restore -D "$tmp/img" -d --restore-pidns --pidfile "$tmp/copy-$n-$i.pid" \
      -v4 -o "restore-pidns-$n-$i.log" &
    pids+=($!)
  done
  for ((i = 1; i <= n; i++)); do
    rc=0
    wait "${pids[i - 1]}" || rc=$?
    [[ -f $tmp/copy-$n-$i.pid ]] && copies+=("$(cat "$tmp/copy-$n-$i.pid")")
    ((rc == 0)) || fail "restore $i of $n concurrent --restore-pidns restores exited $rc"
  done
  for ((i = 1; i <= n; i++)); do
    c=$(cat "$tmp/copy-$n-$i.pid")
    [[ $c != "$pid" ]] || fail "copy $i has the original's pid outside"
    for o in "${outs[@]}"; do [[ $o != "$c" ]] || fail "two copies share outside pid $c"; done
    outs+=("$c")
    ns=$(awk '/^NSpid:/ {print $2, $3}' "/proc/$c/status")
    [[ $ns == "$c $pid" ]] || fail "copy $c: NSpid '$ns', expected '$c $pid'"
    r=$(ask "$c") || fail "no reply from copy $c"
    [[ $r == "$token 2 $pid $c" ]] || fail "copy $c replied '$r', expected '$token 2 $pid $c'"
    holder=$(awk '/^PPid:/ {print $2}' "/proc/$c/status")
    [[ $(cat "/proc/$holder/comm") == criu-pidns ]] || fail "copy $c: parent $holder is not criu-pidns"
    [[ $(awk '/^NSpid:/ {print $NF}' "/proc/$holder/status") == 1 ]] || fail "holder $holder is not pid 1 inside"
    eval "holder_$i=$holder"
  done
  say "(b) $n concurrent --restore-pidns restores: outside pids ${outs[*]}, each getpid() $pid, counter 2, token kept"
  for ((i = 1; i <= n; i++)); do
    c=$(cat "$tmp/copy-$n-$i.pid")
    kill -KILL "$c"
    holder=$(eval "echo \$holder_$i")
    gone "$holder" || fail "holder $holder still running after its root $c was killed"
  done
  copies=()
  say "(b) killed the $n copies; their holders exited"
}
restore_copies 2
restore_copies 8

# (c) The holder passes the root's exit status on.
"$tmp/pidns-subreaper" "$CRIU" restore -D "$tmp/img" -d --restore-pidns --pidfile "$tmp/sub.pid" \
  -v4 -o restore-pidns-sub.log >"$tmp/sub.out" &
sub=$!
for ((i = 0; i < 100; i++)); do [[ -s $tmp/sub.pid ]] && break; sleep 0.1; done
c=$(cat "$tmp/sub.pid" 2>/dev/null) || fail "restore under pidns-subreaper wrote no pidfile"
copies+=("$c")
holder=$(awk '/^PPid:/ {print $2}' "/proc/$c/status")
for ((i = 0; i < 100; i++)); do grep -q . "$tmp/sub.out" && break; sleep 0.1; done # criu reaped
kill -TERM "$c"
wait "$sub" || fail "pidns-subreaper failed"
grep -q "^reaped $holder 143\$" "$tmp/sub.out" ||
  fail "holder $holder did not exit with 143 (root killed by SIGTERM): $(tr '\n' ';' <"$tmp/sub.out")"
copies=()
say "(c) root $c killed by SIGTERM: its holder $holder exited with status 143"

r=$(ask "$pid") || fail "no reply from the original"
[[ $r == "$token 2 $pid $pid" ]] || fail "original replied '$r'"
say "original $pid still runs with its own state (counter 2)"
say "PASS"
