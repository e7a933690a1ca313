#!/bin/sh
# CRIU action script used by `ckpt restore`: the restored tree is held just before it resumes
# until ckpt has finished verifying the set's hashes, which runs at the same time as the
# restore. A verdict other than "ok", or ckpt going away, fails the restore: CRIU then kills
# the tree, so a process restored from an unverified set never runs.
#
# A stack's trees resume together: each says it has arrived here (a file in $CKPT_ARRIVED), and
# ckpt gives the verdict once all have, so no restored socket meets a peer that is not back yet.
[ "$CRTOOLS_SCRIPT_ACTION" = "pre-resume" ] || exit 0
[ -n "${CKPT_ARRIVED:-}" ] && : >"$CKPT_ARRIVED/$$"
i=0
while [ ! -e "$CKPT_GATE" ]; do
	kill -0 "$CKPT_PID" 2>/dev/null || exit 1
	i=$((i + 1))
	[ "$i" -le 60000 ] || exit 1
	sleep 0.005
done
[ "$(cat "$CKPT_GATE")" = ok ]
