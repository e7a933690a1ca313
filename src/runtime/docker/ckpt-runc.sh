#!/bin/bash
# ckpt-runc: the OCI runtime ckpt registers in dockerd (scripts/dockerd.sh installs this file as
# /usr/local/lib/ckpt/ckpt-runc and names it "ckpt-runc" in daemon.json). It is runc for every
# call, except when ckpt restores a container: ckpt writes the set's image directory to
# $REQUESTS/<id>/images before `docker start`, and the `create` containerd's shim asks for
# becomes `runc restore --detach` of those images, in the bundle Docker prepared. The shim, dockerd
# and the container's logs then own the restored process as they own a started one; the images
# never pass through containerd's content store (the slow part of `docker start --checkpoint`).
set -u
RUNC=${CKPT_RUNC:-/usr/sbin/runc}
REQUESTS=/run/ckpt-runc

# runc's global options come before the command; the container id is the last argument.
cmd= skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$a" in
    --root|--log|--log-format|--criu) skip=1 ;;
    -*) ;;
    *) cmd=$a; break ;;
  esac
done
id=${!#}
req=$REQUESTS/$id

if [ "$cmd" = create ] && [ -f "$req/images" ]; then
  images=$(<"$req/images")
  # ckpt's restore gate: a CRIU config file naming the action script that holds the restored
  # process before it resumes until ckpt has verified the set (CRIU runs config-file scripts in
  # RPC mode too, after notifying runc), and the script's environment.
  if [ -f "$req/criu.conf" ]; then export CRIU_CONFIG_FILE="$req/criu.conf"; fi
  if [ -f "$req/gate.env" ]; then set -a; . "$req/gate.env"; set +a; fi
  # The global options, the create options runc restore also takes, then restore's own.
  global=() opts=() seen=
  while [ $# -gt 1 ]; do
    a=$1; shift
    if [ -z "$seen" ]; then
      if [ "$a" = create ]; then seen=1; continue; fi
      global+=("$a")
      case "$a" in --root|--log|--log-format|--criu|--rootless) global+=("$1"); shift ;; esac
      continue
    fi
    case "$a" in
      # --console-socket: a container with a terminal (tty: true). CRIU restores its process on a
      # new pty (orphan-pts-master, which runc always asks for) and runc sends the master over this
      # socket to the shim, as a create would: docker logs, attach and stdin work again.
      --bundle|-b|--pid-file|--console-socket) opts+=("$a" "$1"); shift ;;
      --no-pivot|--no-new-keyring) opts+=("$a") ;;
      *) ;;
    esac
  done
  # the connections of the cut come back open (runc's flag; runc overrides the options file)
  if [ -f "$req/tcp-established" ]; then opts+=(--tcp-established); fi
  # the file locks of the cut (ckpt's checkpoints take them: runc's flag, like tcp-established)
  if [ -f "$req/file-locks" ]; then opts+=(--file-locks); fi
  "$RUNC" "${global[@]}" restore --detach "${opts[@]}" --image-path "$images" --work-path "$req" "$id"
  rc=$?
  [ $rc = 0 ] && touch "$req/restored"
  exit $rc
fi

if [ "$cmd" = start ] && [ -f "$req/restored" ]; then
  # Already running since create: runc restore has no created-but-not-started state.
  rm -f "$req/restored"
  exit 0
fi

exec "$RUNC" "$@"
