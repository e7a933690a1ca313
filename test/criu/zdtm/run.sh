#!/usr/bin/env bash
# test/criu/zdtm/run.sh — CRIU's own regression suite (zdtm, test/zdtm in the CRIU source), the
# subset listed in subset.txt next to this script, on stock CRIU 4.1.1 and on ckpt's patched
# build, one after the other.  Each tree runs its own zdtm.py with its own criu/criu:
#   stock    /var/cache/ckpt/criu/stock-4.1.1  (criu-patches/build.sh --stock; built here on
#            first use, a few seconds' no-op afterwards; never installed)
#   patched  /var/cache/ckpt/criu/current      (criu-patches/build.sh, run by bootstrap; it must
#            carry the stamp of this checkout's criu-patches/), run in a copy of it,
#            /var/cache/ckpt/criu/zdtm-<stamp>, made on first use
#
# Usage: run.sh [--trees stock,patched] [--flavors h,ns] [--out DIR] [--only REGEX]
#               [--list]
#   --trees    which trees, in this order (default: stock,patched)
#   --flavors  zdtm flavors (default h,ns: on the host, and in fresh pid, mount, net, ipc and
#              uts namespaces; see subset.txt for why not uns)
#   --out      where logs and results go (default: a new /tmp/ckpt-zdtm.XXXXXX)
#   --only     run only the subset's tests whose name matches this regex (for debugging)
#   --list     print the subset (one test a line) and exit
#
# Output, per tree T: DIR/T.log (zdtm.py's output), DIR/T.results (lines "PASS name",
# "FAIL name flavor", "SKIP name reason", "NOTRUN name"), DIR/T.build.log (zdtm's programs;
# DIR/stock.criu-build.log: build.sh --stock), and a line
#   zdtm T: P/N passed, F failed, S skipped (M s: test programs + zdtm.py, not the CRIU build)
# then, with both trees,
#   zdtm subset: stock S/N passed, patched P/N passed
# A test passes when every flavor it ran in passed.  Exit status: 0 when the patched tree passes
# every test stock passes (so patched >= stock); 1 when it does not; 2 when a run did not
# complete (zdtm.py crashed or timed out) or a tree is missing.  Must run as root.
set -uo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/../../.." && pwd -P)
CACHE_DIR=${CKPT_CRIU_CACHE:-/var/cache/ckpt/criu}
# zdtm.py needs Debian's python3 with python3-protobuf (and PyYAML), not a pyenv/venv python.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# Per tree; the subset takes 1-2.5 minutes per tree here.
ZDTM_TIMEOUT=${ZDTM_TIMEOUT:-900}

trees=stock,patched flavors=h,ns out='' only='' list=0
while (($#)); do
  case "$1" in
    --trees) trees=$2; shift 2 ;;
    --flavors) flavors=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

say() { printf '[zdtm] %s\n' "$*" >&2; }
die() { printf '[zdtm] ERROR: %s\n' "$*" >&2; exit 2; }

# The subset: first word of each line, '#' starts a comment.
mapfile -t tests < <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]].*//' "$here/subset.txt" | grep -v '^$')
if [[ -n $only ]]; then
  mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -E -- "$only")
fi
((${#tests[@]})) || die "no tests selected"
if ((list)); then printf '%s\n' "${tests[@]}"; exit 0; fi

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -n $out ]] || out=$(mktemp -d /tmp/ckpt-zdtm.XXXXXX)
mkdir -p "$out"
out=$(cd "$out" && pwd -P)

# Two runs at once would share test/dump and the test programs' pid/out files in a tree.
mkdir -p /run/lock
exec 8>/run/lock/ckpt-zdtm.lock
if ! flock -n 8; then
  say "another zdtm run holds /run/lock/ckpt-zdtm.lock; waiting"
  flock 8
fi

tree_dir() { # name -> tree directory (builds the stock tree when needed)
  case "$1" in
    stock)
      bash "$repo/criu-patches/build.sh" --stock 2>>"$out/stock.criu-build.log" | tail -n1 ||
        { tail -n 20 "$out/stock.criu-build.log" >&2; return 1; }
      ;;
    patched)
      local d stamp gitid
      d=$(readlink -f "$CACHE_DIR/current") && [[ -x $d/criu/criu ]] ||
        { say "no patched build at $CACHE_DIR/current (run: sudo bash criu-patches/build.sh)"; return 1; }
      stamp=$(bash "$repo/criu-patches/build.sh" --print-stamp)
      gitid=$("$d/criu/criu" --version | sed -n 's/^GitID: //p')
      [[ $gitid == "$stamp" ]] ||
        { say "$d is $gitid, this checkout's criu-patches/ is $stamp (run: sudo bash criu-patches/build.sh)"; return 1; }
      # Run in a copy: the next build.sh (a new stamp) deletes the tree behind current, and zdtm
      # builds its programs and dumps into the tree it runs in.  One copy per stamp (50 MB), kept
      # for the next run; copies of older stamps go.
      local snap="$CACHE_DIR/zdtm-$gitid" o
      if [[ ! -x $snap/criu/criu || ! -f $snap/.ckpt-zdtm-copy ]]; then
        rm -rf "$snap" "$snap.tmp"
        cp -a "$d" "$snap.tmp" && touch "$snap.tmp/.ckpt-zdtm-copy" && mv "$snap.tmp" "$snap" ||
          { say "copying $d to $snap failed"; return 1; }
      fi
      for o in "$CACHE_DIR"/zdtm-*; do
        [[ -d $o && $o != "$snap" ]] && rm -rf "$o"
      done
      echo "$snap"
      ;;
    *) say "unknown tree $1 (stock or patched)"; return 1 ;;
  esac
}

# Build what zdtm.py needs up front, in parallel: its helpers, the test library and the
# subset's programs (zdtm.py would otherwise build the lib by building every zdtm test).
prepare() { # tree-dir name
  local d=$1 name=$2 names=() t
  for t in "${tests[@]}"; do names+=("${t##*/}"); done
  rm -rf "$d/test/dump"
  {
    make -C "$d/test" umount2 zdtm_ct &&
      make -C "$d/test/zdtm/lib" -j"$(nproc)" &&
      make -C "$d/test/zdtm/static" -j"$(nproc)" "${names[@]}"
  } >"$out/$name.build.log" 2>&1 || { tail -n 30 "$out/$name.build.log" >&2; return 1; }
}

# zdtm.py's output -> results lines, in subset order.
parse() { # log
  awk -v list="$(printf '%s\n' "${tests[@]}")" '
    BEGIN { n = split(list, order, "\n") }
    /^Skipping zdtm\/[^ ]+ \(/ { t = $2; sub(/^Skipping [^ ]+ \(/, ""); sub(/\)$/, ""); skip[t] = $0; next }
    /^=+ Run zdtm\/[^ ]+ in [a-z]+ =+$/ { runs[$3]++; flav[$3] = $5; next }
    /^=+ Test zdtm\/[^ ]+ PASS =+$/ { pass[$3]++; next }
    /^#+ Test zdtm\/[^ ]+ FAIL / { fail[$3] = 1; next }
    /^ \* zdtm\/[^ ]+\([a-z]+\)$/ { s = $2; f = s; sub(/\(.*/, "", s); sub(/.*\(/, "", f); sub(/\)/, "", f); failed[s] = f; next }
    END {
      for (i = 1; i <= n; i++) {
        t = order[i]
        if (t in skip) print "SKIP " t " " skip[t]
        else if (t in failed) print "FAIL " t " " failed[t]
        else if (fail[t]) print "FAIL " t " " flav[t]
        else if (runs[t] > 0 && pass[t] == runs[t]) print "PASS " t
        else print "NOTRUN " t
      }
    }' "$1"
}

declare -A npass
incomplete=0
for name in ${trees//,/ }; do
  d=$(tree_dir "$name") || exit 2
  say "$name: $d"
  t0=$SECONDS
  prepare "$d" "$name" || die "$name: building zdtm's programs failed (log: $out/$name.build.log)"
  args=()
  for t in "${tests[@]}"; do args+=(-t "$t"); done
  say "$name: ./test/zdtm.py run -f $flavors --keep-going (${#tests[@]} tests; log: $out/$name.log)"
  (cd "$d" && timeout -k 10 "$ZDTM_TIMEOUT" ./test/zdtm.py run -f "$flavors" --keep-going "${args[@]}") \
    >"$out/$name.log" 2>&1
  rc=$?
  parse "$out/$name.log" >"$out/$name.results"
  if ! grep -qE '^#+ (ALL TEST\(S\) PASSED|[0-9]+ TEST\(S\) FAILED) \(TOTAL' "$out/$name.log"; then
    say "$name: zdtm.py did not complete (exit $rc); see $out/$name.log"
    incomplete=1
  fi
  p=$(grep -c '^PASS ' "$out/$name.results")
  f=$(grep -cE '^(FAIL|NOTRUN) ' "$out/$name.results")
  s=$(grep -c '^SKIP ' "$out/$name.results")
  npass[$name]=$p
  echo "zdtm $name: $p/${#tests[@]} passed, $f failed, $s skipped ($((SECONDS - t0)) s)"
done

rc=0
if [[ -n ${npass[stock]:-} && -n ${npass[patched]:-} ]]; then
  echo "zdtm subset: stock ${npass[stock]}/${#tests[@]} passed, patched ${npass[patched]}/${#tests[@]} passed"
  regressions=$(join <(awk '$1 == "PASS" { print $2 }' "$out/stock.results" | sort) \
    <(awk '$1 != "PASS" { print $2 }' "$out/patched.results" | sort))
  if [[ -n $regressions ]]; then
    echo "zdtm: passes on stock but not on patched:"
    sed 's/^/  /' <<<"$regressions"
    rc=1
  fi
  ((npass[patched] >= npass[stock])) || rc=1
fi
echo "zdtm: logs and results in $out"
((incomplete)) && exit 2
exit "$rc"
