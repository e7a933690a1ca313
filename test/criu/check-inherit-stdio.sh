#!/usr/bin/env bash
# test/criu/check-inherit-stdio.sh — criu restore --inherit-stdio
# (criu-patches/0005): the restored root task gets the restoring CRIU's own
# fds 0, 1 and 2, as with DragonFly BSD's sys_checkpoint(2).
#
# prog/stdio-writer.c writes "out N" to stdout and "err N" to stderr every
# 100 ms (N only in memory).  It runs with stdout and stderr on ONE log file
# (>app.log 2>&1), is dumped, and then:
#   (1) the log grows after the dump: stock restore fails ("has bad size",
#       CRIU validates the file it would reopen); with --inherit-stdio and
#       CRIU's stdout/stderr on two NEW files, the counter continues from its
#       dumped value, "out" lines in one file and "err" lines in the other
#       (fd 1 and 2 are replaced one by one although they shared a file), and
#       nothing more goes to the old log;
#   (2) the log is deleted: stock restore fails (can't open it); with
#       --inherit-stdio the same image restores again, into new files;
#   (3) a second run has stdout and stderr on ONE pipe to a reader outside
#       the tree (| cat), which is gone after the dump: stock restore
#       recreates the pipe without a reader and the task dies of SIGPIPE at
#       its next write; with --inherit-stdio it continues into new files.
# Restores use --restore-detached and --pidfile.
#
# Env: CRIU (default /usr/local/sbin/criu), KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root and gcc.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-stdio.XXXXXX)
pid=""

say() { printf 'check-inherit-stdio: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 20 "$tmp"/img/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
command -v gcc >/dev/null || fail "gcc not found"
require_criu_option '--inherit-stdio'

gcc -O2 -Wall -o "$tmp/stdio-writer" "$here/prog/stdio-writer.c" || fail "gcc stdio-writer.c"
mkdir -p "$tmp/img"

last() { # file word -> last N of "word N" lines (0 if none)
  awk -v w="$2" '$1 == w { n = $2 } END { print n + 0 }' "$1"
}
first() { # file word -> first N of "word N" lines (0 if none)
  awk -v w="$2" '$1 == w { print $2; f = 1; exit } END { if (!f) print 0 }' "$1"
}
kill_restored() {
  kill -KILL "$pid" 2>/dev/null || true
  wait_pid_free "$pid" || fail "pid $pid still in use 60 s after kill"
}
# restore_stock NAME: a stock restore (no --inherit-stdio) must fail.
restore_stock() {
  if "$CRIU" restore -D "$tmp/img" -d --pidfile "$tmp/stock.pid" -v4 -o "restore-stock-$1.log"; then
    kill_restored
    fail "stock restore with the $1 log file succeeded"
  fi
  # The failed restore's killed task may linger as a zombie for a while.
  wait_pid_free "$pid" || fail "pid $pid still in use 60 s after the failed restore"
}
# restore_inherit NAME: restore with CRIU's stdout/stderr on new files and
# check that the counter continues there.
restore_inherit() {
  local o=$tmp/new-$1.out e=$tmp/new-$1.err size_before
  size_before=$(stat -c %s "$tmp/app.log" 2>/dev/null || echo gone)
  rm -f "$tmp/inh.pid"
  "$CRIU" restore -D "$tmp/img" -d --pidfile "$tmp/inh.pid" --inherit-stdio -v4 \
    -o "restore-inherit-$1.log" </dev/null >"$o" 2>"$e" || fail "restore --inherit-stdio ($1) failed"
  [[ $(cat "$tmp/inh.pid") == "$pid" ]] || fail "pidfile says $(cat "$tmp/inh.pid"), not $pid"
  kill -0 "$pid" 2>/dev/null || fail "restored $pid not running"
  sleep 0.5
  local fo fe
  fo=$(first "$o" out) fe=$(first "$e" err)
  [[ $fo == $((dump_out + 1)) ]] || fail "$1: first stdout line in new file is 'out $fo', expected $((dump_out + 1))"
  [[ $fe == $((dump_err + 1)) ]] || fail "$1: first stderr line in new file is 'err $fe', expected $((dump_err + 1))"
  grep -q '^err' "$o" && fail "$1: stderr lines in the stdout file"
  grep -q '^out' "$e" && fail "$1: stdout lines in the stderr file"
  [[ $(stat -c %s "$tmp/app.log" 2>/dev/null || echo gone) == "$size_before" ]] ||
    fail "$1: the old log changed after restore"
  say "$1: --inherit-stdio restore ok: new stdout file starts at 'out $fo' ($(wc -l <"$o") lines), new stderr file at 'err $fe'"
  kill_restored
}

say "starting stdio-writer (setsid, stdout+stderr on one file)"
# Not a process-group leader (non-interactive shell): setsid(1) does not fork.
setsid "$tmp/stdio-writer" </dev/null >"$tmp/app.log" 2>&1 &
pid=$!
disown "$pid"
sleep 1
kill -0 "$pid" 2>/dev/null || fail "stdio-writer did not start"

"$CRIU" dump -t "$pid" -D "$tmp/img" -v4 -o dump.log || fail "criu dump failed"
wait_pid_free "$pid" || fail "pid $pid still in use 60 s after dump"
dump_out=$(last "$tmp/app.log" out) dump_err=$(last "$tmp/app.log" err)
((dump_out > 0)) || fail "no output before dump"
say "dumped pid $pid at 'out $dump_out' / 'err $dump_err'"

# (1) The log grows after the dump.
echo "appended after the dump" >>"$tmp/app.log"
restore_stock grown
grep -q 'has bad size' "$tmp/img/restore-stock-grown.log" || fail "stock restore failed, but not with 'has bad size'"
say "grown: stock restore fails: $(grep -o 'File .* has bad size.*' "$tmp/img/restore-stock-grown.log" | head -n1)"
restore_inherit grown

# (2) The log is deleted.
rm "$tmp/app.log"
restore_stock deleted
say "deleted: stock restore fails: $(grep -E 'Error' "$tmp/img/restore-stock-deleted.log" | head -n1 | sed 's/^.*Error/Error/')"
restore_inherit deleted

# (3) stdout and stderr on one pipe whose reader is outside the tree.
say "starting stdio-writer again, stdout+stderr on one pipe to cat"
rm -rf "$tmp/img" && mkdir -p "$tmp/img"
# No job control: the pipeline's processes stay in this shell's process
# group, so setsid(1) does not fork and the writer is found by its path.
{ setsid "$tmp/stdio-writer" </dev/null 2>&1 | cat >"$tmp/pipe.out"; } 2>/dev/null &
disown $!
for _ in $(seq 50); do pid=$(pgrep -x -f "$tmp/stdio-writer" || true); [[ -n $pid ]] && break; sleep 0.1; done
[[ -n $pid ]] || fail "stdio-writer on a pipe did not start"
sleep 1
"$CRIU" dump -t "$pid" -D "$tmp/img" -v4 -o dump.log || fail "criu dump (pipe) failed"
wait_pid_free "$pid" || fail "pid $pid still in use 60 s after dump"
sleep 0.2 # cat drains the pipe and exits
dump_out=$(last "$tmp/pipe.out" out) dump_err=$(last "$tmp/pipe.out" err)
((dump_out > 0)) || fail "no output through the pipe before dump"
say "dumped pid $pid at 'out $dump_out' / 'err $dump_err'"
"$CRIU" restore -D "$tmp/img" -d --pidfile "$tmp/stock.pid" -v4 -o restore-stock-pipe.log ||
  fail "stock restore with the pipe failed"
for _ in $(seq 50); do
  [[ ! -e /proc/$pid || $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
  sleep 0.1
done
[[ ! -e /proc/$pid || $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] ||
  { kill_restored; fail "stock-restored task still runs with a pipe nobody reads"; }
say "pipe: stock restore succeeds, but the task dies at once (SIGPIPE: the pipe's reader is gone)"
wait_pid_free "$pid" || fail "pid $pid still in use 60 s after it died"
restore_inherit pipe
grep -q 'is restored on fake fd' "$tmp/img/restore-inherit-pipe.log" ||
  fail "pipe: no fake fd for the dumped pipe in the restore log"

pid=""
say "PASS"
