#!/usr/bin/env bash
# Installs the Compose Specification's JSON Schema as schema/compose-spec.json, the reference the
# manifest loader validates compose files against (src/manifest/compose/spec-schema.ts).
#
# Where it comes from: the schema is published with compose-go, the Compose Specification's
# reference loader (schema/compose-spec.json there). Debian packages compose-go as the source
# package golang-github-compose-spec-compose-go; this takes release 2.4.8 (Debian 2.4.8-1,
# trixie) through apt from the deb-src source that criu-patches/build.sh sets up, checks the
# orig tarball's sha256, and extracts that one file unchanged. The file is not kept in git.
#
#   sudo bash scripts/compose-schema.sh        idempotent: a file with the pinned sha256 is kept
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=golang-github-compose-spec-compose-go
VERSION=2.4.8
DEB_VERSION=2.4.8-1
ORIG_NAME="${PKG}_${VERSION}.orig.tar.xz"
ORIG_SHA256=c27a82c10814eac914508ddb7bc45f094da3f15e4927707d2c5292b944b92b39
SCHEMA_SHA256=$(sed -n 's/^sha256 *//p' schema/compose-spec.pin)
DEST=schema/compose-spec.json
CACHE_DIR=${CKPT_SCHEMA_CACHE:-/var/cache/ckpt/compose-spec}

say() { printf '[compose-schema] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

if [[ -f $DEST ]] && [[ $(sha256sum "$DEST" | cut -d' ' -f1) == "$SCHEMA_SHA256" ]]; then
  say "$DEST is compose-go $VERSION's schema (sha256 matches)"
  exit 0
fi

mkdir -p "$CACHE_DIR"
tarball=$CACHE_DIR/$ORIG_NAME
if ! [[ -f $tarball && $(sha256sum "$tarball" | cut -d' ' -f1) == "$ORIG_SHA256" ]]; then
  rm -f "$tarball"
  uris=$(cd "$CACHE_DIR" && apt-get source --print-uris -qq "$PKG=$DEB_VERSION" 2>/dev/null || true)
  url=$(awk -v n="$ORIG_NAME" '$2 == n { gsub(/\047/, "", $1); print $1; exit }' <<<"$uris")
  if [[ -z $url ]]; then
    # the deb-src source of trixie, added by the CRIU build; its lists may need an update
    apt-get update -qq >/dev/null 2>&1 || true
    uris=$(cd "$CACHE_DIR" && apt-get source --print-uris -qq "$PKG=$DEB_VERSION" 2>/dev/null || true)
    url=$(awk -v n="$ORIG_NAME" '$2 == n { gsub(/\047/, "", $1); print $1; exit }' <<<"$uris")
  fi
  [[ -n $url ]] || die "apt does not offer the source of $PKG=$DEB_VERSION (run criu-patches/build.sh first: it adds the deb-src source)"
  say "downloading $url"
  dl=$(mktemp -d "$CACHE_DIR/dl.XXXXXX")
  chmod 0755 "$dl"
  id _apt >/dev/null 2>&1 && chown _apt "$dl"
  /usr/lib/apt/apt-helper download-file "$url" "$dl/$ORIG_NAME" >/dev/null || { rm -rf "$dl"; die "download of $url failed"; }
  got=$(sha256sum "$dl/$ORIG_NAME" | cut -d' ' -f1)
  [[ $got == "$ORIG_SHA256" ]] || { rm -rf "$dl"; die "sha256 mismatch for $ORIG_NAME: got $got, expected $ORIG_SHA256"; }
  mv "$dl/$ORIG_NAME" "$tarball"
  rm -rf "$dl"
fi

tmp=$(mktemp "$DEST.XXXXXX")
tar -xJOf "$tarball" "${PKG}-${VERSION}/schema/compose-spec.json" >"$tmp"
got=$(sha256sum "$tmp" | cut -d' ' -f1)
[[ $got == "$SCHEMA_SHA256" ]] || { rm -f "$tmp"; die "schema/compose-spec.json of $ORIG_NAME has sha256 $got, expected $SCHEMA_SHA256"; }
chmod 0644 "$tmp"
mv "$tmp" "$DEST"
say "installed $DEST (compose-go $VERSION)"
