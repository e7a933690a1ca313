#!/usr/bin/env bash
# test/criu/check-tcp.sh — checkpoint/restore a stateful Node HTTP server with
# our CRIU build, including an established TCP connection it holds.
#
# The server (own session via setsid, stdio on files, no tty) listens on
# 127.0.0.1:<ephemeral>, keeps a Map of 100k entries plus a request counter,
# and also keeps an established loopback TCP connection to an echo server in
# the same process.  After `criu dump --tcp-established` (which kills it) and
# `criu restore --restore-detached --tcp-established`, the HTTP state must be
# the same (counter continues, map intact) and the held TCP connection must
# still echo.
#
# Env: CRIU (default /usr/local/sbin/criu), KEEP=1 keeps the temp dir,
#      NETWORK_LOCK=iptables|nftables passes --network-lock to criu dump
#      (CRIU 4.1.1's default is iptables; both work with our build).
# Exit 0 on success, non-zero on failure.  Needs root, node, curl.
set -euo pipefail

CRIU=${CRIU:-/usr/local/sbin/criu}
tmp=$(mktemp -d /tmp/ckpt-criu-tcp.XXXXXX)
pid=""

say() { printf 'check-tcp: %s\n' "$*" >&2; }
fail() {
  say "FAIL: $*"
  log_errors 'Error|Warn' 20 "$tmp"/img/dump.log "$tmp"/img/restore.log
  [[ -f $tmp/server.out ]] && { say "--- server output"; tail -n 20 "$tmp/server.out" >&2; }
  exit 1
}
# shellcheck source=test/criu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v node >/dev/null || fail "node not found"
command -v curl >/dev/null || fail "curl not found"

cat >"$tmp/server.js" <<'JS'
const http = require('http');
const net = require('net');
const fs = require('fs');
const dir = process.argv[2];

// State that must survive checkpoint/restore.
const map = new Map();
for (let i = 0; i < 100000; i++) map.set('k' + i, i * 7);
let count = 0;
const sum = () => { let s = 0; for (const v of map.values()) s += v; return s; };

// An echo server and a client connection to it, both in this process: the
// client socket stays established across the checkpoint.
const echo = net.createServer((s) => s.on('data', (d) => s.write(d)));
echo.listen(0, '127.0.0.1', () => {
  const held = net.connect(echo.address().port, '127.0.0.1');
  let waiting = null;
  held.on('data', (d) => { if (waiting) { const w = waiting; waiting = null; w(d.toString()); } });
  held.on('error', (e) => console.error('held connection error', e));

  const srv = http.createServer((req, res) => {
    if (req.url === '/state') {
      count++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ count, size: map.size, sum: sum(), pid: process.pid }));
    } else if (req.url.startsWith('/echo/')) {
      const msg = req.url.slice(6);
      const t = setTimeout(() => { waiting = null; res.statusCode = 504; res.end('timeout'); }, 3000);
      waiting = (d) => { clearTimeout(t); res.end(d); };
      held.write(msg);
    } else {
      res.statusCode = 404; res.end();
    }
  });
  srv.keepAliveTimeout = 1;
  srv.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(dir + '/port.tmp', String(srv.address().port));
    fs.renameSync(dir + '/port.tmp', dir + '/port');
    fs.writeFileSync(dir + '/pid', String(process.pid));
  });
});
JS

mkdir -p "$tmp/img"
say "starting node server (setsid, stdio on files)"
# Started from a non-interactive shell the child is not a process-group
# leader, so setsid(1) calls setsid() itself without forking: $! is node,
# and it stays our child, reaped by this shell when criu dump kills it.
setsid node "$tmp/server.js" "$tmp" </dev/null >"$tmp/server.out" 2>&1 &
pid=$!
# bash still reaps it when it dies; disown only silences the "Killed" job report.
disown "$pid"
for _ in $(seq 100); do [[ -f $tmp/port ]] && break; sleep 0.1; done
[[ -f $tmp/port ]] || fail "server did not start"
port=$(cat "$tmp/port")
[[ $(cat "$tmp/pid") == "$pid" ]] || fail "node pid $(cat "$tmp/pid") != \$! $pid"
url="http://127.0.0.1:$port"
say "server pid $pid on port $port"

curl -fsS "$url/state" >/dev/null
before=$(curl -fsS "$url/state") || fail "curl before dump"
echo1=$(curl -fsS "$url/echo/hello-before") || fail "echo before dump"
[[ $echo1 == hello-before ]] || fail "echo before dump returned '$echo1'"
say "before dump: $before"

t0=$(date +%s.%N)
lock_args=()
[[ -n ${NETWORK_LOCK:-} ]] && lock_args=(--network-lock "$NETWORK_LOCK")
"$CRIU" dump -t "$pid" -D "$tmp/img" --tcp-established "${lock_args[@]}" -v4 -o dump.log ||
  fail "criu dump failed"
t1=$(date +%s.%N)
say "dumped in $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?') s; image size $(du -sh "$tmp/img" | cut -f1)"

# criu dump killed the task; its pid must be free again for restore.
wait_pid_free "$pid" || fail "pid $pid still in use (as pid/pgid/sid) 60 s after dump"
if curl -fsS -m 1 "$url/state" >/dev/null 2>&1; then fail "server still answers after dump"; fi

"$CRIU" restore -D "$tmp/img" --restore-detached --tcp-established -v4 -o restore.log ||
  fail "criu restore failed"
t2=$(date +%s.%N)
say "restored in $(echo "$t2 - $t1" | bc 2>/dev/null || echo '?') s"
kill -0 "$pid" 2>/dev/null || fail "restored pid $pid not running"

after=$(curl -fsS -m 5 "$url/state") || fail "curl after restore"
say "after restore: $after"
exp=$(node -e 'const s=JSON.parse(process.argv[1]); s.count++; console.log(JSON.stringify(s))' "$before")
[[ $after == "$exp" ]] || fail "state after restore '$after', expected '$exp'"
echo2=$(curl -fsS -m 5 "$url/echo/hello-after") || fail "echo after restore"
[[ $echo2 == hello-after ]] || fail "held TCP connection after restore echoed '$echo2'"
say "held established TCP connection still echoes"

say "PASS"
