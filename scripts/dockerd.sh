#!/usr/bin/env bash
# Makes a Docker engine with checkpoints available (what the docker runtime and its tests need):
# docker.io 20.10 from Debian bookworm, /etc/docker/daemon.json with "experimental": true, and a
# dockerd running. There is often no systemd here, so dockerd is started in the background with
# its log in /var/log/ckpt-dockerd.log. Idempotent: a running, experimental dockerd is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[dockerd] %s\n' "$*" >&2; }
SOCK=/var/run/docker.sock
LOG=/var/log/ckpt-dockerd.log
# The docker.io CLI, not a newer client that may sit earlier on PATH.
DOCKER=/usr/bin/docker

if [ "$(id -u)" != 0 ]; then
  say "must run as root: sudo $0"
  exit 69
fi

if ! dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'install ok installed'; then
  say "installing docker.io (20.10, Debian bookworm)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm docker.io >/dev/null
fi

# ckpt's OCI runtime wrapper (src/runtime/docker/ckpt-runc.sh): runc, except that it restores a
# container from a set's images when ckpt asks it to. Installed outside the checkout so that
# dockerd's configuration does not depend on where this checkout lives.
RUNC_WRAPPER=/usr/local/lib/ckpt/ckpt-runc
if ! cmp -s src/runtime/docker/ckpt-runc.sh "$RUNC_WRAPPER" 2>/dev/null; then
  say "installing $RUNC_WRAPPER"
  install -D -m 755 src/runtime/docker/ckpt-runc.sh "$RUNC_WRAPPER"
fi

# Checkpoints are an experimental API in Docker 20.10; the runtime is registered beside runc.
mkdir -p /etc/docker
configured() {
  [ -f /etc/docker/daemon.json ] && python3 - "$RUNC_WRAPPER" 2>/dev/null <<'EOF'
import json, sys
cfg = json.load(open('/etc/docker/daemon.json'))
ok = cfg.get('experimental') is True and cfg.get('runtimes', {}).get('ckpt-runc', {}).get('path') == sys.argv[1]
sys.exit(0 if ok else 1)
EOF
}
if ! configured; then
  say "setting \"experimental\": true and the ckpt-runc runtime in /etc/docker/daemon.json"
  rc=0
  python3 - "$RUNC_WRAPPER" <<'EOF' || rc=$?
import json, os, sys
p = '/etc/docker/daemon.json'
cfg = json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else {}
was_experimental = cfg.get('experimental') is True
cfg['experimental'] = True
cfg.setdefault('runtimes', {})['ckpt-runc'] = {'path': sys.argv[1]}
json.dump(cfg, open(p, 'w'), indent=2)
sys.exit(0 if was_experimental else 3)
EOF
  if [ $rc = 3 ]; then restart=1; elif [ $rc != 0 ]; then exit $rc; fi
fi

answers() { DOCKER_API_VERSION=1.41 timeout 5 "$DOCKER" version --format '{{.Server.Experimental}}' 2>/dev/null; }
has_runtime() { DOCKER_API_VERSION=1.41 timeout 5 "$DOCKER" info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"ckpt-runc"'; }

state=$(answers || true)
if [ "$state" = true ] && [ -z "${restart:-}" ] && has_runtime; then
  say "dockerd running (experimental, ckpt-runc registered)"
  exit 0
fi
# experimental needs a restart; runtimes alone are reloaded on SIGHUP, and running containers stay.
if [ "$state" = true ] && [ -z "${restart:-}" ] && [ -f /var/run/docker.pid ]; then
  say "reloading dockerd's configuration (ckpt-runc runtime)"
  kill -HUP "$(cat /var/run/docker.pid)"
  for _ in $(seq 50); do has_runtime && break; sleep 0.1; done
  if has_runtime; then
    say "dockerd running (experimental, ckpt-runc registered)"
    exit 0
  fi
fi

if [ -n "$state" ]; then
  # Running but without experimental mode: it must be restarted to read daemon.json.
  if systemctl is-active --quiet docker 2>/dev/null; then
    say "restarting the docker service for experimental mode"
    systemctl restart docker
  else
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    if [ -n "$pid" ]; then
      say "stopping dockerd $pid to restart it in experimental mode"
      kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
fi

if [ "$(answers || true)" != true ]; then
  if systemctl is-system-running >/dev/null 2>&1 || systemctl is-system-running 2>/dev/null | grep -q degraded; then
    say "starting the docker service"
    systemctl start docker
  else
    say "starting dockerd in the background (log: $LOG)"
    # setsid: dockerd must outlive this script and the test run that called it.
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
  fi
  for _ in $(seq 300); do
    [ "$(answers || true)" = true ] && break
    sleep 0.1
  done
fi

if [ "$(answers || true)" != true ]; then
  say "dockerd did not come up in experimental mode; see $LOG"
  tail -n 20 "$LOG" >&2 || true
  exit 69
fi
say "dockerd running (experimental)"
