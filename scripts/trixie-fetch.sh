#!/usr/bin/env bash
# Unpacks one package from Debian trixie into a folder without installing it: apt runs with a private state dir and
# sources derived from this machine's own (codename renamed to trixie), so the system's apt setup is never touched.
#   scripts/trixie-fetch.sh <package> <dest>     → the package's files under <dest>/ (e.g. <dest>/usr/bin/…)
# Used for ONNX Runtime's headers (libonnxruntime-dev) and a qemu-user recent enough to run ONNX Runtime for arm64
# (it emulates /proc/cpuinfo, which ORT's CPU detection reads). Diagnostics go to stderr.
set -euo pipefail
pkg="$1"
dest="$2"
log() { echo "trixie-fetch: $*" >&2; }
command -v apt-get >/dev/null 2>&1 || { log "no apt-get here: install $pkg another way"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/etc/preferences.d" "$work/pkg"
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ -n "$codename" ] || { log "cannot read VERSION_CODENAME from /etc/os-release"; exit 1; }

src="$work/etc/sources.list"; : > "$src"
# one-line format
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  grep -E "^deb[[:space:]]" "$f" | awk -v c="$codename" '$0 ~ " "c" " {print}' | grep -v security \
    | sed -E "s/ $codename / trixie /" >> "$src" || true
done
# deb822 format: take URIs/Signed-By of stanzas whose Suites include the bare codename
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  awk -v c="$codename" '
    function flush() { if (uri != "" && has) { line = "deb"; if (key != "") line = line " [signed-by=" key "]"; print line " " uri " trixie main" } uri=""; key=""; has=0 }
    /^[[:space:]]*$/ { flush(); next }
    /^URIs:/ { uri=$2 }
    /^Signed-By:/ { key=$2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) has=1 }
    END { flush() }' "$f" | grep -v security >> "$src" || true
done
[ -s "$src" ] || { log "could not derive a trixie source from /etc/apt"; exit 1; }

opts=(-o "Dir::State=$work" -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=/dev/null"
      -o "Dir::Cache=$work/cache" -o "Dir::Etc::SourceList=$src" -o "Dir::Etc::SourceParts=/dev/null"
      -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
      -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" -o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
log "fetching $pkg (Debian trixie) into $dest"
apt-get "${opts[@]}" -qq update >&2
(cd "$work/pkg" && apt-get "${opts[@]}" -qq download "$pkg" >&2)
deb="$(ls "$work/pkg/${pkg}"_*.deb | head -n1)"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
dpkg-deb -f "$deb" Version > "$dest/VERSION"
log "$pkg $(cat "$dest/VERSION") in $dest"
