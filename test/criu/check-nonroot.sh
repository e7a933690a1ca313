#!/usr/bin/env bash
# test/criu/check-nonroot.sh — checkpoint/restore a process that runs as
# uid/gid 65534 (nobody) with our CRIU build.
#
# Root here lacks CAP_SYS_RESOURCE, so stock CRIU 4.1.1 fails with
# "Can't get rlimit 0: Operation not permitted" (prlimit64 on a task of
# another uid); criu-patches/0002 reads /proc/PID/limits instead.  The check
# also gives the task non-default rlimits and verifies they survive.
#
# Env: CRIU (default /usr/local/sbin/criu), KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
tmp=$(mktemp -d /tmp/ckpt-criu-nonroot.XXXXXX)
chmod 0755 "$tmp"
pid=""

say() { printf 'check-nonroot: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 20 "$tmp"/img/dump.log "$tmp"/img/restore.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$tmp/img"
# A shell loop as nobody that counts in memory and writes the count to a
# file it holds open, so restore must bring back both memory and an fd.
cat >"$tmp/loop.sh" <<'SH'
ulimit -S -n 777
ulimit -S -c 12345
n=0
exec 3>"$1/count"
while :; do n=$((n+1)); echo "$n" >&3; sleep 0.2; done
SH
touch "$tmp/count" && chown 65534:65534 "$tmp/count"
say "starting a uid 65534 task (setsid, no tty)"
# Not a process-group leader (non-interactive shell), so setsid(1) does not
# fork and $! is the task itself, our child, reaped by this shell.
setsid setpriv --reuid=65534 --regid=65534 --clear-groups \
  bash "$tmp/loop.sh" "$tmp" </dev/null >/dev/null 2>&1 &
pid=$!
# bash still reaps it when it dies; disown only silences the "Killed" job report.
disown "$pid"
sleep 1
kill -0 "$pid" 2>/dev/null || fail "task did not start"
uid=$(awk '/^Uid:/ {print $2}' /proc/$pid/status)
[[ $uid == 65534 ]] || fail "task $pid runs as uid $uid, not 65534"
limits_before=$(cat /proc/$pid/limits)
grep -Eq '^Max open files +777 ' <<<"$limits_before" || fail "ulimit -n 777 not in effect"
say "task $pid runs as uid $uid"

"$CRIU" dump -t "$pid" -D "$tmp/img" -v4 -o dump.log || fail "criu dump failed"
grep -q 'reading /proc/.*/limits' "$tmp/img/dump.log" &&
  say "dump used the /proc/PID/limits fallback (no CAP_SYS_RESOURCE)"
wait_pid_free "$pid" || fail "pid $pid still in use (as pid/pgid/sid) 60 s after dump"
c1=$(tail -n1 "$tmp/count")

"$CRIU" restore -D "$tmp/img" --restore-detached -v4 -o restore.log || fail "criu restore failed"
kill -0 "$pid" 2>/dev/null || fail "restored pid $pid not running"
uid=$(awk '/^Uid:/ {print $2}' /proc/$pid/status)
gid=$(awk '/^Gid:/ {print $2}' /proc/$pid/status)
[[ $uid == 65534 && $gid == 65534 ]] || fail "restored task runs as $uid:$gid"
limits_after=$(cat /proc/$pid/limits)
[[ $limits_after == "$limits_before" ]] ||
  fail "rlimits differ after restore: $(diff <(echo "$limits_before") <(echo "$limits_after") || true)"
sleep 1
c2=$(tail -n1 "$tmp/count")
((c2 > c1)) || fail "counter did not advance after restore ($c1 -> $c2)"
say "restored task $pid runs as $uid:$gid, same rlimits, counter $c1 -> $c2"
say "PASS"
