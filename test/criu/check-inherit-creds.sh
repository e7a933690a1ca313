#!/usr/bin/env bash
# test/criu/check-inherit-creds.sh — `criu restore --inherit-creds`
# (criu-patches/0006) gives the restored task the credentials of whoever
# restores it, as DragonFly BSD's sys_checkpoint(2) does, and stock
# behaviour is unchanged without it; plus the unprivileged restore fix of
# criu-patches/0008 (bounding set, CAP_CHECKPOINT_RESTORE).
#
# The task is prog/creds-show.c run as nobody (65534): it counts and appends
# "pid= n= uid=r,e,s gid=r,e,s ... groups= prm= eff= inh= nnp=" to a file
# every 100 ms.  Root dumps it once; then, each time from that image (or a
# copy edited with pycriu, the library crit is built on):
#
#   unprivileged CRIU = a copy of criu with file capability
#   cap_checkpoint_restore+eip, run as nobody with --unprivileged
#   U1  stock, image as dumped       -> runs as nobody, no caps at all (no
#                                       CAP_CHECKPOINT_RESTORE from criu's
#                                       file caps; bounding set without
#                                       CAP_SYS_RESOURCE needs no CAP_SETPCAP)
#   U2  stock, image edited to root  -> restore fails: setresuid EPERM
#       (uid/gid 0, all caps)
#   U3  --inherit-creds, same image  -> runs as nobody, groups 100, no caps
#   root CRIU
#   R1  stock, image as dumped       -> runs as nobody (the dumped creds)
#   R2  --inherit-creds, image with  -> runs as root with root's caps minus
#       no_new_privs=1 and           CAP_SYS_MODULE (bounding = root's ∩
#       CAP_SYS_MODULE out of bnd     saved), no_new_privs kept
#   R3  RPC (criu swrk) with         -> runs as root with root's caps
#       criu_opts.inherit_creds,
#       image as dumped
#
# Each restored task must also go on counting from the dumped count.
#
# Env: CRIU (default /usr/local/sbin/criu), CRIU_PYLIB (dir holding pycriu,
#      default /var/cache/ckpt/criu/current/lib), KEEP=1 keeps the temp dir.
# Exit 0 on success, non-zero on failure.  Needs root, gcc, setcap, setpriv,
# and Debian's python3 with protobuf (/usr/bin/python3).
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
CRIU_PYLIB=${CRIU_PYLIB:-/var/cache/ckpt/criu/current/lib}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d /tmp/ckpt-criu-creds.XXXXXX)
chmod 0755 "$tmp"
pid=""
NOBODY=65534

say() { printf 'check-inherit-creds: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 20 "$tmp"/img/dump.log "$tmp"/w-*/restore.log
  [[ -f $tmp/out ]] && { say "--- task output"; tail -n 3 "$tmp/out" >&2; }
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$here/lib.sh"
for c in gcc setcap getcap setpriv; do command -v "$c" >/dev/null || fail "$c not found"; done
PY=/usr/bin/python3
PYTHONPATH=$CRIU_PYLIB "$PY" -c 'import pycriu.images' 2>/dev/null ||
  fail "no pycriu under $CRIU_PYLIB for $PY (run criu-patches/build.sh; Debian python3-protobuf)"
# (not "| grep -q": with pipefail, criu's SIGPIPE after an early match fails it)
require_criu_option '--inherit-creds'

gcc -O2 -Wall -o "$tmp/creds-show" "$here/prog/creds-show.c" || fail "gcc creds-show.c"
# The unprivileged CRIU.  File capabilities are ignored on nosuid mounts.
cp "$CRIU" "$tmp/criu-unpriv"
chmod 0755 "$tmp/criu-unpriv"
setcap cap_checkpoint_restore+eip "$tmp/criu-unpriv" || fail "setcap on $tmp/criu-unpriv"
findmnt -no OPTIONS -T "$tmp" | grep -qw nosuid && fail "$tmp is on a nosuid mount: file capabilities would be ignored"
say "unprivileged CRIU: $(getcap "$tmp/criu-unpriv"), run as uid $NOBODY with --unprivileged"
# as_nobody GROUPS-OPTION CMD...: run CMD as uid/gid nobody (--clear-groups or --groups=...).
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY "$@"; }

# Edit the creds of every thread in the core images of image dir $1, from
# JSON $2 (creds_entry fields), with pycriu (what crit decode/encode uses).
edit_creds() {
  PYTHONPATH=$CRIU_PYLIB "$PY" - "$1" "$2" <<'PY'
import glob, json, sys
from pycriu import images
changes = json.loads(sys.argv[2])
for path in glob.glob(sys.argv[1] + '/core-*.img'):
    with open(path, 'rb') as f:
        img = images.load(f)
    for e in img['entries']:
        e['thread_core']['creds'].update(changes)
    with open(path, 'wb') as f:
        images.dump(img, f)
PY
}

status() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# restore STEP IMAGE [as_nobody ...] CRIU [ARGS...]: restore $tmp/img-IMAGE, logs in
# $tmp/w-STEP; returns CRIU's status.
restore() {
  local w="$tmp/w-$1" img="$tmp/img-$2"
  shift 2
  mkdir -p "$w" && chown $NOBODY:$NOBODY "$w"
  wait_pid_free "$pid" || fail "pid $pid still in use"
  : >"$tmp/out" # only the restored task's lines (it appends)
  "$@" restore -D "$img" -W "$w" --restore-detached -v4 -o restore.log
}

# expect_task NAME UID GID GROUPS PRM EFF BND NNP: the restored task runs with these.
expect_task() {
  local name=$1 uid=$2 gid=$3 groups=$4 prm=$5 eff=$6 bnd=$7 nnp=$8 line n
  kill -0 "$pid" 2>/dev/null || fail "$name: restored pid $pid not running"
  sleep 0.5
  line=$(grep "^pid=$pid " "$tmp/out" | tail -n1)
  n=$(sed -n 's/.* n=\([0-9]*\) .*/\1/p' <<<"$line")
  [[ -n $n ]] && ((n > n_dump)) || fail "$name: task did not go on counting after $n_dump: '$line'"
  local want="uid=$uid,$uid,$uid gid=$gid,$gid,$gid fsuid=$uid fsgid=$gid groups=$groups"
  [[ $line == *" $want "* ]] || fail "$name: task reports '$line', expected '$want'"
  local got
  got="Uid=$(status "$pid" Uid | tr '\t' ' ') Gid=$(status "$pid" Gid | tr '\t' ' ') Groups=$(status "$pid" Groups)"
  got+=" CapPrm=$(status "$pid" CapPrm) CapEff=$(status "$pid" CapEff) CapBnd=$(status "$pid" CapBnd)"
  got+=" CapAmb=$(status "$pid" CapAmb) NoNewPrivs=$(status "$pid" NoNewPrivs)"
  want="Uid=$uid $uid $uid $uid Gid=$gid $gid $gid $gid Groups=${groups//,/ } CapPrm=$prm CapEff=$eff CapBnd=$bnd"
  want+=" CapAmb=0000000000000000 NoNewPrivs=$nnp"
  [[ $got == "$want" ]] || fail "$name: /proc/$pid/status has $got, expected $want"
  say "$name: OK, counts on (n=$n), /proc/$pid/status: $got"
  kill -KILL "$pid"
}

# ---------------------------------------------------------------- dump
touch "$tmp/out" && chmod 0666 "$tmp/out"
say "starting creds-show as uid $NOBODY (setsid, no tty)"
# Not a process-group leader (non-interactive shell), so setsid(1) does not
# fork and $! is the task itself, our child, reaped by this shell.
setsid setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$tmp/creds-show" </dev/null >>"$tmp/out" 2>&1 &
pid=$!
disown "$pid"
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail "task did not start"
mkdir "$tmp/img"
"$CRIU" dump -t "$pid" -D "$tmp/img" -v4 -o dump.log || fail "criu dump failed"
n_dump=$(tail -n1 "$tmp/out" | sed -n 's/.* n=\([0-9]*\) .*/\1/p')
say "dumped task $pid: $(tail -n1 "$tmp/out")"
chmod -R a+rX "$tmp/img"

zero=0000000000000000
root_bnd=$(status $$ CapBnd)
cap_sys_module=16
for v in asis root nnp; do cp -a "$tmp/img" "$tmp/img-$v"; done
all_caps=$(printf '[%d, %d]' 0xffffffff 0x1ff)
edit_creds "$tmp/img-root" "{\"uid\":0,\"gid\":0,\"euid\":0,\"egid\":0,\"suid\":0,\"sgid\":0,\"fsuid\":0,\"fsgid\":0,\"cap_prm\":$all_caps,\"cap_eff\":$all_caps,\"cap_bnd\":$all_caps}" ||
  fail "editing img-root"
saved_bnd=$((0x$root_bnd & ~(1 << cap_sys_module)))
edit_creds "$tmp/img-nnp" "{\"no_new_privs\":1,\"cap_bnd\":[$((saved_bnd & 0xffffffff)), $((saved_bnd >> 32))]}" ||
  fail "editing img-nnp"
say "images: img-asis (as dumped), img-root (creds edited to uid/gid 0, all caps),"
say "        img-nnp (no_new_privs=1, CAP_SYS_MODULE out of the bounding set)"

# ------------------------------------------------- unprivileged restorer
restore U1 asis as_nobody --clear-groups "$tmp/criu-unpriv" --unprivileged ||
  fail "U1: unprivileged stock restore of the image as dumped failed"
expect_task "U1 unprivileged, stock, img-asis" $NOBODY $NOBODY "" $zero $zero "$root_bnd" 0

if restore U2 root as_nobody --clear-groups "$tmp/criu-unpriv" --unprivileged; then
  fail "U2: unprivileged stock restore of the image edited to root succeeded"
fi
why=$(grep -E 'Error.*(Unable to set|Can.t setgroups)' "$tmp/w-U2/restore.log" | head -n1 | sed 's/^.*Error ([^)]*): //')
[[ -n $why ]] || fail "U2: restore failed, but not on setting the ids"
say "U2 unprivileged, stock, img-root: OK, restore fails: $why"

restore U3 root as_nobody --groups=100 "$tmp/criu-unpriv" --unprivileged --inherit-creds ||
  fail "U3: unprivileged restore --inherit-creds of the image edited to root failed"
expect_task "U3 unprivileged, --inherit-creds, img-root" $NOBODY $NOBODY 100 $zero $zero "$root_bnd" 0

# ---------------------------------------------------------- root restorer
restore R1 asis "$CRIU" || fail "R1: root stock restore failed"
expect_task "R1 root, stock, img-asis" $NOBODY $NOBODY "" $zero $zero "$root_bnd" 0

restore R2 nnp "$CRIU" --inherit-creds || fail "R2: root restore --inherit-creds failed"
r2_caps=$(printf '%016x' "$saved_bnd")
expect_task "R2 root, --inherit-creds, img-nnp" 0 0 "" "$r2_caps" "$r2_caps" "$r2_caps" 1

# The same through RPC: criu swrk, criu_opts.inherit_creds (field 1002).
mkdir -p "$tmp/w-R3"
wait_pid_free "$pid" || fail "pid $pid still in use"
: >"$tmp/out"
PYTHONPATH=$CRIU_PYLIB "$PY" - "$CRIU" "$tmp/img-asis" "$tmp/w-R3" <<'PY' || fail "R3: RPC restore with inherit_creds failed"
import os, socket, subprocess, sys
from pycriu import rpc_pb2 as rpc
criu, img, work = sys.argv[1:]
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
dfd, wfd = os.open(img, os.O_DIRECTORY), os.open(work, os.O_DIRECTORY)
p = subprocess.Popen([criu, 'swrk', str(b.fileno())], pass_fds=[b.fileno(), dfd, wfd])
b.close()
req = rpc.criu_req(type=rpc.RESTORE)
req.opts.images_dir_fd, req.opts.work_dir_fd = dfd, wfd
req.opts.log_file, req.opts.log_level = 'restore.log', 4
req.opts.rst_sibling = True
req.opts.inherit_creds = True
a.send(req.SerializeToString())
resp = rpc.criu_resp()
resp.ParseFromString(a.recv(4096))
p.wait()
sys.exit(0 if resp.success else 1)
PY
expect_task "R3 root, RPC inherit_creds, img-asis" 0 0 "" "$root_bnd" "$root_bnd" "$root_bnd" 0

say "PASS"
