#!/usr/bin/env bash
# test/criu/check-restore-pidns-external.sh — criu restore --restore-pidns of
# an image whose pid namespace was dumped as external (criu-patches/0016):
# a tree restored with --restore-pidns (0007) is dumped again with
# --external pid[<its pid ns inode>]:ckpt-pidns, and that image restores with
# --restore-pidns into a new pid namespace of its own, generation after
# generation.
#
# prog/pidns-clock.c is a root task and a waiting child; on SIGUSR1 the root
# writes "token counter getpid getppid pid-in-/proc child monotonic realtime
# backward-steps" to DIR/reply.<pid-in-/proc> (the host's /proc: the pid
# outside).  Started in the host pid namespace (setsid), asked once, dumped
# with --leave-running (it keeps running throughout), then:
#   gen 1  restore --restore-pidns: NSpid "<outside> <original pid>", the
#          child is in the same pid namespace with its saved pid, the parent
#          is the holder (criu-pidns, pid 1 inside, getppid() 1), the copy is
#          in a time namespace of its own and the holder in the host's;
#          dumped with --external pid[<inode>]:ckpt-pidns (the copy ends);
#   stock  that image without --restore-pidns fails with "Unable to find an
#          external pidns: ckpt-pidns", and restores (stock path) into a
#          fresh pid namespace given by --inherit-fd fd[9]:ckpt-pidns;
#   gen 2  two concurrent --restore-pidns restores of it, each in its own new
#          pid namespace, same checks; one is dumped the same way with
#          --leave-running;
#   gen 3  restore --restore-pidns of that, same checks, while both gen 2
#          copies still run; the dumped one answers with its own state.
# Every reply: the dumped token, the counter one more than at the dump,
# getpid() the original pid, no backward step of CLOCK_MONOTONIC seen by the
# program, and monotonic since the last reply before the dump >= 0 and not
# more than realtime since then (+1 s): CRIU's time namespace offsets keep
# the clock going from the dumped value.  Finally a tree that is the init of
# its own pid namespace (unshare --pid) is dumped and --restore-pidns still
# refuses it: "the image has a pid namespace of its own already".
#
# Env: CRIU (default /usr/local/sbin/criu), KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root, gcc, unshare.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-pidns-ext.XXXXXX)
pid=""
copies=()
key=ckpt-pidns

say() { printf 'check-restore-pidns-external: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error' 10 "$tmp"/img*/*.log
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
command -v gcc >/dev/null || fail "gcc not found"
command -v unshare >/dev/null || fail "unshare not found"
require_criu_option '--restore-pidns'
require_criu_option 'replaces an external pid namespace' 'criu-patches/0016'

gcc -O2 -Wall -o "$tmp/pidns-clock" "$here/prog/pidns-clock.c" || fail "gcc pidns-clock.c"

nsino() { stat -L -c %i "/proc/$1/ns/$2"; } # PID NS: inode of PID's namespace NS
nspid() { awk '/^NSpid:/ {$1 = ""; print substr($0, 2)}' "/proc/$1/status"; }

# restore IMG NAME [ARGS...]: criu restore -d --pidfile; the root's pid outside in $restored.
restore() {
  local img=$1 name=$2
  shift 2
  rm -f "$tmp/$name.pid"
  "$CRIU" restore -D "$tmp/$img" -d --pidfile "$tmp/$name.pid" -v4 -o "restore-$name.log" "$@" ||
    fail "criu restore $* of $img ($name) failed"
  restored=$(cat "$tmp/$name.pid")
  copies+=("$restored")
}

# check_copy C PREV NAME: C (pid outside) is a --restore-pidns copy of the
# program whose last reply before its dump was PREV; sets $reply.
check_copy() {
  local c=$1 prev=$2 name=$3 r tok n gp pp self child mono real back
  local ptok pn pgp ppp pself pchild pmono preal pback kids kid holder dm dr
  read -r ptok pn pgp ppp pself pchild pmono preal pback <<<"$prev"
  [[ $(nspid "$c") == "$c $pid" ]] || fail "$name $c: NSpid '$(nspid "$c")', expected '$c $pid'"
  r=$(ask "$c") || fail "no reply from $name $c"
  read -r tok n gp pp self child mono real back <<<"$r"
  [[ $tok == "$ptok" && $n == $((pn + 1)) && $gp == "$pid" && $pp == 1 && $self == "$c" && $child == "$pchild" ]] ||
    fail "$name $c replied '$r'; expected token $ptok, counter $((pn + 1)), getpid $pid, getppid 1, /proc/self $c, child $pchild"
  ((back == 0)) || fail "$name $c: CLOCK_MONOTONIC went backwards $back times"
  dm=$((mono - pmono)) dr=$((real - preal))
  ((dm >= 0)) || fail "$name $c: CLOCK_MONOTONIC went back by $((-dm)) ns across the restore"
  ((dm <= dr + 1000000000)) || fail "$name $c: CLOCK_MONOTONIC jumped $dm ns while realtime moved $dr ns"
  # The child: same pid namespace, its saved pid inside.
  kids=$(cat "/proc/$c/task/$c/children")
  read -r kid _ <<<"$kids"
  [[ -n $kid && $kids == "$kid " ]] || fail "$name $c: children '$kids', expected one"
  [[ $(nspid "$kid") == "$kid $pchild" ]] || fail "$name child $kid: NSpid '$(nspid "$kid")', expected '$kid $pchild'"
  [[ $(nsino "$kid" pid) == $(nsino "$c" pid) ]] || fail "$name child $kid is not in the pid namespace of $c"
  # The holder: pid 1 of that namespace, in the host's time namespace.
  holder=$(awk '/^PPid:/ {print $2}' "/proc/$c/status")
  [[ $(cat "/proc/$holder/comm") == criu-pidns ]] || fail "$name $c: parent $holder is not criu-pidns"
  [[ $(nspid "$holder") == "$holder 1" ]] || fail "$name holder $holder: NSpid '$(nspid "$holder")'"
  [[ $(nsino "$holder" pid) == $(nsino "$c" pid) ]] || fail "$name holder $holder is not in the pid namespace of $c"
  [[ $(nsino "$holder" time) == $(nsino $$ time) ]] || fail "$name holder $holder is not in the host's time namespace"
  [[ $(nsino "$c" time) != $(nsino $$ time) ]] || fail "$name $c is in the host's time namespace"
  [[ $(nsino "$kid" time) == $(nsino "$c" time) ]] || fail "$name child $kid is not in the time namespace of $c"
  say "$name: $c (NSpid $(nspid "$c")), child $kid (NSpid $(nspid "$kid")), holder $holder, pid ns $(nsino "$c" pid), counter $n, monotonic +$((dm / 1000000)) ms over $((dr / 1000000)) ms realtime"
  reply=$r
}

# dump_ext C IMG [ARGS...]: dump the copy C with its pid namespace as external.
dump_ext() {
  local c=$1 img=$2 ino
  shift 2
  ino=$(nsino "$c" pid)
  mkdir -p "$tmp/$img"
  "$CRIU" dump -t "$c" -D "$tmp/$img" --external "pid[$ino]:$key" -v4 -o dump.log "$@" ||
    fail "criu dump -t $c --external pid[$ino]:$key failed"
  grep -q "The pid\[$ino\] pidns is external" "$tmp/$img/dump.log" || fail "$img/dump.log: pid[$ino] not external"
  compgen -G "$tmp/$img/pidns-*.img" >/dev/null || fail "$img has no pidns-*.img"
  say "dumped $c with --external pid[$ino]:$key into $img"
}

say "starting pidns-clock (setsid)"
# Not a process-group leader (non-interactive shell): setsid(1) does not fork.
setsid "$tmp/pidns-clock" "$tmp" </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid"
sleep 0.3
r0=$(ask "$pid") || fail "no reply from $pid"
read -r _ n gp pp self child _ _ back <<<"$r0"
[[ $n == 1 && $gp == "$pid" && $self == "$pid" && $back == 0 && $child -gt 0 ]] || fail "unexpected first reply '$r0'"
say "original $pid, child $child"
mkdir -p "$tmp/img0"
"$CRIU" dump -t "$pid" -D "$tmp/img0" --leave-running -v4 -o dump.log || fail "criu dump of the original failed"
kill -0 "$pid" || fail "original died in the dump"
sleep 0.5 # time spent checkpointed: monotonic must not count it

# Generation 1, dumped with its pid namespace external (the copy ends).
restore img0 gen1 --restore-pidns
c1=$restored
check_copy "$c1" "$r0" "gen 1"
r1=$reply
holder1=$(awk '/^PPid:/ {print $2}' "/proc/$c1/status")
dump_ext "$c1" img1
gone "$holder1" || fail "holder $holder1 of gen 1 still runs after the dump killed its tree"
sleep 0.5

# Stock behaviour without --restore-pidns: the external pid ns must be given.
if "$CRIU" restore -D "$tmp/img1" -d --pidfile "$tmp/stock.pid" -v4 -o restore-stock.log; then
  copies+=("$(cat "$tmp/stock.pid")")
  fail "restore of img1 without --restore-pidns or --inherit-fd succeeded"
fi
grep -q "Unable to find an external pidns: $key" "$tmp/img1/restore-stock.log" ||
  fail "restore without --restore-pidns failed, but not with 'Unable to find an external pidns: $key'"
say "stock: without --restore-pidns: $(grep -o "Unable to find an external pidns: $key" "$tmp/img1/restore-stock.log")"
unshare --pid --fork sleep 1000 </dev/null >/dev/null 2>&1 &
ush=$!
disown "$ush"
copies+=("$ush")
for ((i = 0; i < 50; i++)); do
  nsinit=$(cat "/proc/$ush/task/$ush/children" 2>/dev/null || true)
  nsinit=${nsinit%% *}
  [[ -n $nsinit ]] && break
  sleep 0.1
done
[[ -n $nsinit ]] || fail "unshare --pid --fork sleep started no child"
copies+=("$nsinit")
restore img1 stock-inherit --inherit-fd "fd[9]:$key" 9<"/proc/$nsinit/ns/pid"
[[ $(nsino "$restored" pid) == $(nsino "$nsinit" pid) ]] || fail "stock restore with --inherit-fd: $restored is not in the pid ns of $nsinit"
[[ $(nspid "$restored") == "$restored $pid" ]] || fail "stock restore with --inherit-fd: NSpid '$(nspid "$restored")'"
grep -q "Inheriting external pidns $key" "$tmp/img1/restore-stock-inherit.log" || fail "restore-stock-inherit.log: no 'Inheriting external pidns $key'"
r=$(ask "$restored") || fail "no reply from the stock restore $restored"
[[ $(cut -d' ' -f1-3 <<<"$r") == "$(cut -d' ' -f1 <<<"$r1") 3 $pid" ]] || fail "stock restore $restored replied '$r'"
say "stock: with --inherit-fd fd[9]:$key of a fresh pid ns: $restored (NSpid $(nspid "$restored")) in it"
kill -KILL "$nsinit"
gone "$restored" || fail "stock restore $restored survived its pid ns init"

# Generation 2: two concurrent restores of the gen 1 image.
rc_a=0 rc_b=0
"$CRIU" restore -D "$tmp/img1" -d --restore-pidns --pidfile "$tmp/gen2a.pid" -v4 -o restore-gen2a.log &
pa=$!
"$CRIU" restore -D "$tmp/img1" -d --restore-pidns --pidfile "$tmp/gen2b.pid" -v4 -o restore-gen2b.log &
pb=$!
wait "$pa" || rc_a=$?
wait "$pb" || rc_b=$?
for x in a b; do [[ -f $tmp/gen2$x.pid ]] && copies+=("$(cat "$tmp/gen2$x.pid")"); done
((rc_a == 0 && rc_b == 0)) || fail "concurrent --restore-pidns restores of img1 exited $rc_a and $rc_b"
grep -q "the new pid namespace replaces the external one ($key)" "$tmp/img1/restore-gen2a.log" ||
  fail "restore-gen2a.log does not say the new pid namespace replaces $key"
c2a=$(cat "$tmp/gen2a.pid") c2b=$(cat "$tmp/gen2b.pid")
[[ $c2a != "$c2b" && $(nsino "$c2a" pid) != $(nsino "$c2b" pid) ]] || fail "gen 2 copies $c2a and $c2b share a pid or a pid ns"
check_copy "$c2a" "$r1" "gen 2a"
r2a=$reply
check_copy "$c2b" "$r1" "gen 2b"
dump_ext "$c2a" img2 --leave-running
sleep 0.5

# Generation 3, while both gen 2 copies run.
restore img2 gen3 --restore-pidns
c3=$restored
check_copy "$c3" "$r2a" "gen 3"
for c in "$c2a" "$c2b" "$c3"; do kill -0 "$c" || fail "$c is not running"; done
r=$(ask "$c2a") || fail "no reply from gen 2a $c2a after the gen 3 restore"
[[ $(cut -d' ' -f2,3 <<<"$r") == "4 $pid" ]] || fail "gen 2a $c2a replied '$r' after its dump"
say "gen 2a $c2a, gen 2b $c2b and gen 3 $c3 run side by side, pid ns $(nsino "$c2a" pid), $(nsino "$c2b" pid), $(nsino "$c3" pid), each getpid() $pid"
for c in "$c2a" "$c2b" "$c3"; do
  h=$(awk '/^PPid:/ {print $2}' "/proc/$c/status")
  kill -KILL "$c"
  gone "$h" || fail "holder $h still runs after its root $c was killed"
done
copies=()

# The original was never disturbed.
r=$(ask "$pid") || fail "no reply from the original"
[[ $(cut -d' ' -f2,3,5 <<<"$r") == "2 $pid $pid" ]] || fail "original replied '$r'"
say "original $pid still runs with its own state (counter 2)"

# A tree that is its pid namespace's init (CRIU dumps that namespace): still refused.
unshare --pid --fork setsid sleep 1000 </dev/null >/dev/null 2>&1 &
ush=$!
disown "$ush"
copies+=("$ush")
for ((i = 0; i < 50; i++)); do
  nsinit=$(cat "/proc/$ush/task/$ush/children" 2>/dev/null || true)
  nsinit=${nsinit%% *}
  [[ -n $nsinit && $(cat "/proc/$nsinit/comm" 2>/dev/null) == sleep ]] && break
  sleep 0.1
done
[[ -n $nsinit ]] || fail "unshare --pid --fork setsid sleep started no child"
copies+=("$nsinit")
[[ $(nspid "$nsinit") == "$nsinit 1" ]] || fail "sleep $nsinit is not pid 1 of its namespace"
mkdir -p "$tmp/imgns"
"$CRIU" dump -t "$nsinit" -D "$tmp/imgns" -v4 -o dump.log || fail "criu dump of pid ns init $nsinit failed"
if "$CRIU" restore -D "$tmp/imgns" -d --restore-pidns --pidfile "$tmp/ns.pid" -v4 -o restore-pidns.log; then
  copies+=("$(cat "$tmp/ns.pid")")
  fail "--restore-pidns restored an image with a CRIU-dumped pid namespace"
fi
grep -q -- "--restore-pidns: the image has a pid namespace of its own already" "$tmp/imgns/restore-pidns.log" ||
  fail "--restore-pidns of a pid ns init's image failed, but not with 'the image has a pid namespace of its own already'"
say "a pid ns init's image: $(grep -o -- "--restore-pidns: the image has a pid namespace of its own already" "$tmp/imgns/restore-pidns.log")"
say "PASS"
