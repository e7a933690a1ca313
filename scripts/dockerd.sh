#!/usr/bin/env bash
# Makes a Docker engine with checkpoints available (what the docker runtime and its tests need):
# docker.io 20.10 from Debian bookworm, /etc/docker/daemon.json with "experimental": true, and a
# dockerd running. There is often no systemd here, so dockerd is started in the background with
# its log in /var/log/ckpt-dockerd.log. Idempotent: a running, experimental dockerd is left alone.
set -euo pipefail

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

# Checkpoints are an experimental API in Docker 20.10.
mkdir -p /etc/docker
want_experimental() {
  [ -f /etc/docker/daemon.json ] && python3 -c 'import json,sys; sys.exit(0 if json.load(open("/etc/docker/daemon.json")).get("experimental") is True else 1)' 2>/dev/null
}
if ! want_experimental; then
  say "setting \"experimental\": true in /etc/docker/daemon.json"
  python3 - <<'EOF'
import json, os
p = '/etc/docker/daemon.json'
cfg = json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else {}
cfg['experimental'] = True
json.dump(cfg, open(p, 'w'), indent=2)
EOF
  restart=1
fi

answers() { DOCKER_API_VERSION=1.41 timeout 5 "$DOCKER" version --format '{{.Server.Experimental}}' 2>/dev/null; }

state=$(answers || true)
if [ "$state" = true ] && [ -z "${restart:-}" ]; then
  say "dockerd running (experimental)"
  exit 0
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
