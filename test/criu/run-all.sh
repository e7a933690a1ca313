#!/usr/bin/env bash
# test/criu/run-all.sh — run every test/criu/check-*.sh (root, installed
# /usr/local/sbin/criu from criu-patches/build.sh) and print a summary line
# "criu: N passed, N failed".  Exit non-zero if any check failed.
set -uo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
pass=0 fail=0
for t in "$here"/check-*.sh; do
  name=$(basename "$t")
  if "$t"; then
    echo "ok   $name"; pass=$((pass + 1))
  else
    echo "FAIL $name"; fail=$((fail + 1))
  fi
done
# The TCP check once more with the nftables network lock (default: iptables).
if NETWORK_LOCK=nftables "$here/check-tcp.sh"; then
  echo "ok   check-tcp.sh (NETWORK_LOCK=nftables)"; pass=$((pass + 1))
else
  echo "FAIL check-tcp.sh (NETWORK_LOCK=nftables)"; fail=$((fail + 1))
fi
echo "criu: $pass passed, $fail failed"
((fail == 0))
