#!/usr/bin/env bash
# criu-patches/build.sh — build and install ckpt's patched CRIU 4.1.1 as
# /usr/local/sbin/criu.
#
# Usage:
#   build.sh                     build + install (no-op when already current)
#   build.sh --force             rebuild even when the stamp matches
#   build.sh --print-stamp       print the expected stamp and exit (no build)
#   build.sh --print-stamp-path  print the path of the installed stamp file
#   build.sh --source-only       set up apt + deps, fetch + unpack pristine
#                                source, print its directory (for patch work)
#   build.sh --stock [--force]   build an unpatched CRIU 4.1.1 (criu + lib) in
#                                /var/cache/ckpt/criu/stock-4.1.1, print that
#                                directory; never installed (the baseline of
#                                test/criu/zdtm); no-op when already built
#
# STAMP FORMULA (ckpt doctor recomputes this in TypeScript):
#   h     = sha256( bytes(series) ++ bytes(patch_1) ++ ... ++ bytes(patch_n)
#                   ++ bytes(build.sh) )
#           where patch_1..patch_n are the files named in `series`, in series
#           order (lines after stripping '#' comments and surrounding
#           whitespace; blank lines skipped), all paths relative to the
#           directory holding this script; plain concatenation, no
#           separators.
#   stamp = "4.1.1+ckpt." + first 12 lowercase hex digits of h
# The stamp is written (plus "\n") to /usr/local/lib/ckpt/criu.stamp and is
# compiled into the binary as its GitID, so `criu --version` prints
# "GitID: 4.1.1+ckpt.<hash>".
#
# Steps: (1) add a deb-src-only trixie apt source whose URIs/Signed-By are
# copied from the machine's own bookworm source, (2) install the build deps
# from bookworm, (3) fetch criu_4.1.1.orig.tar.xz via apt-get source
# --print-uris and check its sha256, (4) unpack into a fresh build dir and
# apply the patches of `series`, (5) make criu (+ lib, for zdtm), (6) install
# + write stamp.  The build tree stays as /var/cache/ckpt/criu/current.
#
# --stock runs steps (1)-(3), unpacks the same verified tarball into
# /var/cache/ckpt/criu/stock-4.1.1 without any patch and builds criu + lib
# there (GitID "4.1.1-stock").  Nothing is installed and the stamp is not
# involved: the tree is rebuilt only when its marker file (.ckpt-stock) is
# missing or names another tarball/build recipe, or with --force.
set -euo pipefail

CRIU_UPSTREAM=4.1.1
CRIU_DEB_VERSION=4.1.1-1
ORIG_NAME="criu_${CRIU_UPSTREAM}.orig.tar.xz"  # Debian repacks upstream as .xz
ORIG_SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
SERIES="$SCRIPT_DIR/series"
CACHE_DIR=${CKPT_CRIU_CACHE:-/var/cache/ckpt/criu}
PREFIX_BIN=/usr/local/sbin/criu
STAMP_FILE=/usr/local/lib/ckpt/criu.stamp
APT_SRC_FILE=/etc/apt/sources.list.d/ckpt-trixie-src.sources

BUILD_DEPS=(
  build-essential pkg-config patch xz-utils
  libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  python3-protobuf
  libnl-3-dev libnl-route-3-dev libcap-dev libnet1-dev libbsd-dev
  libaio-dev libgnutls28-dev uuid-dev libdrm-dev
  # network locking: CRIU 4.x locks with nftables when built against
  # libnftables; iptables is the fallback (and what zdtm/criu check probe).
  libnftables-dev nftables iptables
  # curl is not needed by the build; apt-helper downloads the tarball.
)

log() { printf 'ckpt-criu: %s\n' "$*" >&2; }
die() { printf 'ckpt-criu: ERROR: %s\n' "$*" >&2; exit 1; }

# Patch files named in series, in order.
series_patches() {
  [[ -f $SERIES ]] || die "missing $SERIES"
  sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$SERIES" |
    grep -v '^$' || true
}

compute_stamp() {
  local files=("$SERIES") p
  while IFS= read -r p; do
    [[ -f $SCRIPT_DIR/$p ]] || die "series names $p but $SCRIPT_DIR/$p is missing"
    files+=("$SCRIPT_DIR/$p")
  done < <(series_patches)
  files+=("$SCRIPT_DIR/build.sh")
  local h
  h=$(cat -- "${files[@]}" | sha256sum | cut -c1-12)
  printf '%s+ckpt.%s\n' "$CRIU_UPSTREAM" "$h"
}

FORCE=0
STOCK=0
for arg in "$@"; do
  case "$arg" in
    --print-stamp) compute_stamp; exit 0 ;;
    --print-stamp-path) echo "$STAMP_FILE"; exit 0 ;;
    --force) [[ $FORCE == 2 ]] || FORCE=1 ;;
    --source-only) FORCE=2 ;;
    --stock) STOCK=1 ;;
    "") ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done
[[ $STOCK == 1 && $FORCE == 2 ]] && die "--stock and --source-only do not go together"

# The unpatched baseline: its own directory and marker, checked before
# anything else so that a second run costs milliseconds.
STOCK_DIR="$CACHE_DIR/stock-$CRIU_UPSTREAM"
STOCK_MARKER="$STOCK_DIR/.ckpt-stock"
STOCK_GITID="$CRIU_UPSTREAM-stock"
STOCK_ID="$ORIG_NAME sha256:$ORIG_SHA256 make criu lib GITID=$STOCK_GITID"
stock_ok() {
  [[ -f $STOCK_MARKER && -x $STOCK_DIR/criu/criu ]] &&
    [[ "$(cat "$STOCK_MARKER")" == "$STOCK_ID" ]]
}
if [[ $STOCK == 1 ]]; then
  if [[ $FORCE == 0 ]] && stock_ok; then
    log "stock CRIU $CRIU_UPSTREAM already built in $STOCK_DIR; nothing to do"
    echo "$STOCK_DIR"
    exit 0
  fi
  [[ $(id -u) == 0 ]] || die "must run as root (installs build deps)"
  # Two runs at once (two test runs) must not build into the same tree.
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.stock.lock"
  flock 9
  if [[ $FORCE == 0 ]] && stock_ok; then
    log "stock CRIU $CRIU_UPSTREAM was built meanwhile in $STOCK_DIR"
    echo "$STOCK_DIR"
    exit 0
  fi
fi

# (The stock build has no patches, hence no stamp.)
if [[ $STOCK == 1 ]]; then STAMP=stock; else STAMP=$(compute_stamp); fi

if [[ $STOCK == 0 && $FORCE == 0 && -x $PREFIX_BIN && -f $STAMP_FILE ]] &&
   [[ "$(cat "$STAMP_FILE")" == "$STAMP" ]] &&
   "$PREFIX_BIN" --version >/dev/null 2>&1; then
  log "$PREFIX_BIN is already $STAMP (stamp $STAMP_FILE matches); nothing to do"
  exit 0
fi

[[ $(id -u) == 0 ]] || die "must run as root (installs packages and $PREFIX_BIN)"
if [[ $STOCK == 1 ]]; then
  log "building stock (unpatched) CRIU $CRIU_UPSTREAM in $STOCK_DIR"
else
  log "building CRIU $STAMP"
fi

# ---------------------------------------------------------------- (1) apt
# The first configured deb source that serves the bookworm suite ("URI<TAB>SIGNED_BY"), not
# counting the source this script adds.
# shellcheck source=../scripts/lib/apt-source.sh
. "$SCRIPT_DIR/../scripts/lib/apt-source.sh"
find_bookworm_source() { find_source bookworm "$APT_SRC_FILE"; }

apt_updated=0
if [[ ! -f $APT_SRC_FILE ]]; then
  src=$(find_bookworm_source | head -n1)
  [[ -n $src ]] || die "no configured Debian source for suite bookworm found in /etc/apt"
  uri=${src%%$'\t'*}
  signed=${src#*$'\t'}
  log "adding deb-src-only trixie source $APT_SRC_FILE (URI copied from the bookworm source: $uri)"
  {
    echo "# Added by ckpt criu-patches/build.sh: source packages only (criu orig tarball)."
    echo "# Never add 'deb' here: no trixie binaries are installed."
    echo "Types: deb-src"
    echo "URIs: $uri"
    echo "Suites: trixie"
    echo "Components: main"
    [[ -n $signed ]] && echo "Signed-By: $signed"
  } >"$APT_SRC_FILE.tmp"
  mv "$APT_SRC_FILE.tmp" "$APT_SRC_FILE"
  log "apt-get update"
  apt-get update -q >&2
  apt_updated=1
fi
if [[ $apt_updated == 0 ]] &&
   ! compgen -G '/var/lib/apt/lists/*_dists_trixie_*Sources*' >/dev/null; then
  log "trixie source lists missing; apt-get update"
  apt-get update -q >&2
  apt_updated=1
fi

# ------------------------------------------------------------ (2) build deps
missing=()
for p in "${BUILD_DEPS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $st == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $apt_updated == 0 ]] &&
     ! compgen -G '/var/lib/apt/lists/*_dists_bookworm_*Packages*' >/dev/null; then
    log "bookworm package lists missing; apt-get update"
    apt-get update -q >&2
  fi
  log "installing build deps from bookworm: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm \
    --no-install-recommends "${missing[@]}" >&2
else
  log "build deps already installed"
fi

# ------------------------------------------------------- (3) orig tarball
mkdir -p "$CACHE_DIR"
tarball="$CACHE_DIR/$ORIG_NAME"
sha_ok() { [[ -f $1 ]] && [[ $(sha256sum "$1" | cut -d' ' -f1) == "$ORIG_SHA256" ]]; }
if sha_ok "$tarball"; then
  log "using cached $tarball"
else
  rm -f "$tarball"
  uris=$(cd "$CACHE_DIR" && apt-get source --print-uris -qq "criu=$CRIU_DEB_VERSION" 2>/dev/null || true)
  url=$(awk -v n="$ORIG_NAME" '$2 == n { gsub(/\047/, "", $1); print $1; exit }' <<<"$uris")
  if [[ -z $url ]]; then
    # A later Debian revision (e.g. 4.1.1-2) ships the same orig tarball.
    log "criu=$CRIU_DEB_VERSION not offered by apt; trying criu/trixie"
    uris=$(cd "$CACHE_DIR" && apt-get source --print-uris -qq criu/trixie 2>/dev/null || true)
    url=$(awk -v n="$ORIG_NAME" '$2 == n { gsub(/\047/, "", $1); print $1; exit }' <<<"$uris")
  fi
  [[ -n $url ]] || die "apt-get source --print-uris did not offer $ORIG_NAME (is $APT_SRC_FILE set up and apt-get update done?)"
  log "downloading $url"
  # Download with apt's own fetcher (uses the machine's apt proxy/config);
  # into a dir the _apt sandbox user may write, to keep apt quiet.
  dl_dir=$(mktemp -d "$CACHE_DIR/dl.XXXXXX")
  chmod 0755 "$dl_dir"
  id _apt >/dev/null 2>&1 && chown _apt "$dl_dir"
  if ! /usr/lib/apt/apt-helper download-file "$url" "$dl_dir/$ORIG_NAME" >&2; then
    rm -rf "$dl_dir"
    die "download of $url failed"
  fi
  got=$(sha256sum "$dl_dir/$ORIG_NAME" | cut -d' ' -f1)
  if [[ $got != "$ORIG_SHA256" ]]; then
    rm -rf "$dl_dir"
    die "sha256 mismatch for $ORIG_NAME: got $got, expected $ORIG_SHA256"
  fi
  mv "$dl_dir/$ORIG_NAME" "$tarball"
  rm -rf "$dl_dir"
  log "sha256 of $ORIG_NAME verified"
fi

# ------------------------------------------------------ (4) unpack + patch
unpack() { # dest
  local dest=$1
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -xJf "$tarball" -C "$dest" --strip-components=1
}

if [[ $FORCE == 2 ]]; then
  src_dir="$CACHE_DIR/pristine-$CRIU_UPSTREAM"
  [[ -f $src_dir/Makefile ]] || unpack "$src_dir"
  echo "$src_dir"
  exit 0
fi

if [[ $STOCK == 1 ]]; then
  rm -f "$STOCK_MARKER"
  log "unpacking into fresh $STOCK_DIR (no patches)"
  unpack "$STOCK_DIR"
  log "make -j$(nproc) criu lib GITID=$STOCK_GITID (log: $STOCK_DIR/.build.log)"
  if ! make -C "$STOCK_DIR" -j"$(nproc)" criu lib GITID="$STOCK_GITID" >"$STOCK_DIR/.build.log" 2>&1; then
    tail -n 40 "$STOCK_DIR/.build.log" >&2
    die "make criu (stock) failed (full log: $STOCK_DIR/.build.log)"
  fi
  printf '%s\n' "$STOCK_ID" >"$STOCK_MARKER"
  log "built stock $("$STOCK_DIR/criu/criu" --version | tr '\n' ' ')in $STOCK_DIR (not installed)"
  echo "$STOCK_DIR"
  exit 0
fi

build_dir="$CACHE_DIR/build-$STAMP"
log "unpacking into fresh $build_dir"
unpack "$build_dir"

while IFS= read -r p; do
  log "applying $p"
  if ! patch -d "$build_dir" -p1 --forward --batch <"$SCRIPT_DIR/$p" >"$build_dir/.patch.log" 2>&1; then
    cat "$build_dir/.patch.log" >&2
    die "patch $p failed to apply (see above); build stopped"
  fi
done < <(series_patches)

# ------------------------------------------------------------ (5) build
# GITID ends up in criu/include/version.h (CRIU_GITID) and is printed by
# `criu --version` as "GitID: ...".  `lib` (libcriu + the pycriu protobuf
# modules, a few seconds) is built too so that test/zdtm.py in the build tree
# works; zdtm.py builds its own test programs on first use.
log "make -j$(nproc) criu lib GITID=$STAMP (log: $build_dir/.build.log)"
if ! make -C "$build_dir" -j"$(nproc)" criu lib GITID="$STAMP" >"$build_dir/.build.log" 2>&1; then
  tail -n 40 "$build_dir/.build.log" >&2
  die "make criu failed (full log: $build_dir/.build.log)"
fi

# ---------------------------------------------------------- (6) install
install -D -m 0755 "$build_dir/criu/criu" "$PREFIX_BIN"
mkdir -p "$(dirname "$STAMP_FILE")"
printf '%s\n' "$STAMP" >"$STAMP_FILE.tmp"
mv "$STAMP_FILE.tmp" "$STAMP_FILE"
# Stable path to the tree of the installed build.  zdtm: cd into its test/
# and run ./zdtm.py with /usr/bin first in PATH (it needs Debian's
# python3-protobuf, not a pyenv python).
ln -sfn "$build_dir" "$CACHE_DIR/current"
# Drop build trees of older stamps.
for d in "$CACHE_DIR"/build-*; do
  [[ -d $d && $d != "$build_dir" ]] && { log "removing old build tree $d"; rm -rf "$d"; }
done
log "installed $PREFIX_BIN ($("$PREFIX_BIN" --version | tr '\n' ' '))"
log "stamp $STAMP written to $STAMP_FILE"
