# Sourced by criu-patches/build.sh and scripts/build-debian-image.sh: where this machine's apt
# gets Debian from, read at run time (no mirror host is ever written into the repository).
#
# find_source SUITE [SKIP_FILE]: "URI<TAB>SIGNED_BY" of the first configured deb source serving
# SUITE, from deb822 files
# (Types/URIs/Suites/Signed-By stanzas), then one-line "deb [opts] URI suite components" files.
find_source() {
  local suite=$1 skip=${2:-} f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && [ "$f" != "$skip" ] || continue
    awk -v want="$suite" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uris != "") {
          split(uris, u, " "); print u[1] "\t" signed; found = 1; exit
        }
        types = suites = uris = signed = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      {
        line = $0; key = line; sub(/:.*/, "", key); val = line; sub(/^[^:]*:[[:space:]]*/, "", val)
        key = tolower(key)
        if (key == "types") types = val
        else if (key == "suites") suites = val
        else if (key == "uris") uris = val
        else if (key == "signed-by") signed = val
      }
      END { if (!found) flush() }
    ' "$f" | head -n1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$suite" '
      /^[[:space:]]*deb[[:space:]]/ {
        signed = ""; i = 2
        if ($2 ~ /^\[/) {
          opts = ""
          for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
          if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
        }
        if ($(i + 1) == want) { print $i "\t" signed; exit }
      }
    ' "$f" | head -n1
  done
}
