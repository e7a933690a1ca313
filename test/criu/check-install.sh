#!/usr/bin/env bash
# test/criu/check-install.sh — the installed CRIU is ckpt's build and works
# on this kernel:
#   * /usr/local/sbin/criu --version prints "GitID: <stamp>" and the stamp
#     file holds the same stamp, both equal to `build.sh --print-stamp`;
#   * build.sh run again is a no-op that finishes in a few seconds;
#   * `criu check` passes, and every kernel feature that ckpt needs
#     (`ckpt doctor`'s list) is there; the ones it does not need (autofs,
#     soft-dirty) are printed as warnings;
#   * both network-lock methods are available (iptables, CRIU's default, and
#     nftables).
# Exit 0 on success, non-zero on failure.  Needs root.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
BUILD_SH=${BUILD_SH:-$here/../../criu-patches/build.sh}
CRIU=${CRIU:-/usr/local/sbin/criu}
failed=0
say() { printf 'check-install: %s\n' "$*" >&2; }
bad() { say "FAIL: $*"; failed=1; }

[[ $(id -u) == 0 ]] || { say "FAIL: must run as root"; exit 1; }
[[ -x $CRIU ]] || { say "FAIL: $CRIU not found (run criu-patches/build.sh)"; exit 1; }

want=$("$BUILD_SH" --print-stamp)
stamp_file=$("$BUILD_SH" --print-stamp-path)
say "expected stamp $want"
got_file=$(cat "$stamp_file" 2>/dev/null || true)
[[ $got_file == "$want" ]] || bad "stamp file $stamp_file has '$got_file'"
ver=$("$CRIU" --version)
say "criu --version: $(tr '\n' ' ' <<<"$ver")"
grep -qx "GitID: $want" <<<"$ver" || bad "criu --version does not show GitID: $want"

if ((failed)); then
  say "FAIL: installed CRIU is not the current build; run $BUILD_SH"
  exit 1
fi

t0=$(date +%s%N)
out=$("$BUILD_SH" 2>&1) || bad "build.sh (second run) failed: $out"
ms=$((($(date +%s%N) - t0) / 1000000))
say "build.sh again: ${ms} ms: $out"
grep -q 'nothing to do' <<<"$out" || bad "build.sh did not detect the installed build"
((ms < 5000)) || bad "build.sh no-op took ${ms} ms"

out=$("$CRIU" check 2>&1) || bad "criu check failed: $out"
say "criu check: $out"

# The kernel features ckpt needs, from ckpt's own list (src/core/kernel-features.ts, through
# `ckpt doctor --json`), not `criu check --all`: that one also fails for autofs and soft-dirty,
# which ckpt does not use. A missing required feature fails; the others are printed as warnings.
ckpt_js=$here/../../bin/ckpt.js
report=$(CKPT_CRIU=$CRIU node "$ckpt_js" doctor --json) || true
kernel=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const k = r.checks.filter((c) => c.group === "kernel");
  if (k.length === 0) { console.log("FAIL no kernel features in ckpt doctor --json"); process.exit(0); }
  for (const c of k) console.log(`${c.ok ? "ok" : c.need === "required" ? "FAIL" : "warn"} ${c.name}: ${c.detail}`);
' <<<"$report")
say "kernel features (ckpt doctor):"
while IFS= read -r l; do say "  $l"; done <<<"$kernel"
missing=$(grep '^FAIL' <<<"$kernel" || true)
[[ -z $missing ]] || bad "kernel features ckpt needs are missing: $missing"

for f in network_lock_nftables nftables has_ipt_legacy tcp_half_closed sk_unix_file; do
  out=$("$CRIU" check --feature "$f" 2>&1) || bad "criu check --feature $f: $out"
done
command -v iptables >/dev/null || bad "iptables (CRIU's default network lock) not installed"

if ((failed)); then say "FAIL"; exit 1; fi
say "PASS"
