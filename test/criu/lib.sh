# test/criu/lib.sh — shared by the check-*.sh scripts, sourced after they set CRIU, tmp, pid,
# say() and fail() (and copies=() if it restores copies): cleanup on exit, waiting for a pid to
# be free, asking CRIU for an option, the root/CRIU checks.
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # restored copies a script keeps in copies=() (killing a copy's root empties its namespace)
  local c
  for c in ${copies[@]+"${copies[@]}"}; do kill -KILL "$c" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# For fail(): the matching lines of each CRIU log that exists (the tail, where the cause is).
# Usage: log_errors PATTERN LINES FILE...   (defined here, called later, so fail() can be
# defined before this file is sourced)
log_errors() {
  local pattern=$1 lines=$2 f
  shift 2
  for f in "$@"; do
    [[ -f $f ]] && { say "--- errors in $f"; grep -E "$pattern" "$f" | tail -n "$lines" >&2 || true; }
  done
  return 0
}

# The restored task must get its old pid back, and the kernel refuses it
# (clone3 set_tid: EEXIST, "Can't fork for PID: File exists") while any task,
# zombies included, still uses that number as pid, process group or session.
# Children of the dumped task are orphaned zombies after the dump and this
# machine's PID 1 reaps them only every now and then, so wait for that.
wait_pid_free() {
  local p=$1 i t0=$SECONDS
  for ((i = 0; i < 600; i++)); do
    if [[ ! -e /proc/$p ]] && ! ps -e -o pid=,pgid=,sid= | awk -v p="$p" '$1==p||$2==p||$3==p {f=1} END {exit !f}'; then
      say "pid $p free after $((SECONDS - t0)) s"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# fail() unless `$CRIU --help` lists OPTION (a grep pattern). The help is read whole first: grep -q
# quitting early would kill criu with SIGPIPE under pipefail. Usage: require_criu_option OPTION [WHY]
require_criu_option() {
  [[ -n ${criu_help:-} ]] || criu_help=$("$CRIU" --help 2>&1 | tr -d '\0' || true)
  grep -q -- "$1" <<<"$criu_help" || fail "$CRIU --help does not list ${1%% *}${2:+ ($2)}"
}

[[ $(id -u) == 0 ]] || fail "must run as root"
[[ -x $CRIU ]] || fail "$CRIU not found (run criu-patches/build.sh)"

# ask PID: SIGUSR1 to a test program that answers into $tmp/reply.PID; prints that line
# (within 5 s).
ask() {
  local p=$1 i
  rm -f "$tmp/reply.$p"
  kill -USR1 "$p" || return 1
  for ((i = 0; i < 50; i++)); do
    [[ -f $tmp/reply.$p ]] && { cat "$tmp/reply.$p"; return 0; }
    sleep 0.1
  done
  return 1
}

# gone PID: true once PID has exited (gone or a zombie), within 10 s.
gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ ! -e /proc/$1 || $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]] && return 0
    sleep 0.1
  done
  return 1
}
