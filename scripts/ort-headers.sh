#!/usr/bin/env bash
# Prints the directory holding ONNX Runtime's C/C++ headers (onnxruntime_cxx_api.h), fetching them if needed.
# Order: $ORT_INCLUDE_DIR, pkg-config, a previous fetch in deps/ort-headers, then Debian trixie's
# libonnxruntime-dev fetched with apt into a private state dir (the system's apt setup is never touched;
# only the headers are unpacked). Diagnostics go to stderr, the path alone to stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/deps/ort-headers"
header=onnxruntime_cxx_api.h
log() { echo "ort-headers: $*" >&2; }

if [ -n "${ORT_INCLUDE_DIR:-}" ]; then
  if [ -f "$ORT_INCLUDE_DIR/$header" ]; then echo "$ORT_INCLUDE_DIR"; exit 0; fi
  log "ORT_INCLUDE_DIR=$ORT_INCLUDE_DIR has no $header; set it to the folder that holds $header"; exit 1
fi

if command -v pkg-config >/dev/null 2>&1; then
  for pc in libonnxruntime onnxruntime; do
    if pkg-config --exists "$pc" 2>/dev/null; then
      for dir in $(pkg-config --cflags-only-I "$pc" | sed 's/-I//g'); do
        for cand in "$dir" "$dir/onnxruntime"; do
          if [ -f "$cand/$header" ]; then echo "$cand"; exit 0; fi
        done
      done
    fi
  done
fi

if [ -f "$dest/include/$header" ]; then echo "$dest/include"; exit 0; fi

command -v apt-get >/dev/null 2>&1 || { log "no headers found and no apt-get; install ONNX Runtime headers and set ORT_INCLUDE_DIR"; exit 1; }

# Private apt state: sources derived from this machine's own, with its codename renamed to trixie.
work="$dest/.apt"
rm -rf "$work"; mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/etc/preferences.d" "$work/pkg"
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ -n "$codename" ] || { log "cannot read VERSION_CODENAME from /etc/os-release; set ORT_INCLUDE_DIR"; exit 1; }

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
[ -s "$src" ] || { log "could not derive a trixie source from /etc/apt; set ORT_INCLUDE_DIR"; exit 1; }

opts=(-o "Dir::State=$work" -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=/dev/null"
      -o "Dir::Cache=$work/cache" -o "Dir::Etc::SourceList=$src" -o "Dir::Etc::SourceParts=/dev/null"
      -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
      -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" -o "Acquire::Languages=none" -o "APT::Sandbox::User=root")
log "fetching libonnxruntime-dev (Debian trixie) into $dest"
apt-get "${opts[@]}" -qq update >&2
(cd "$work/pkg" && apt-get "${opts[@]}" -qq download libonnxruntime-dev >&2)
deb="$(ls "$work/pkg"/libonnxruntime-dev_*.deb | head -n1)"
dpkg-deb -x "$deb" "$work/x"
inc="$(dirname "$(find "$work/x" -name "$header" | head -n1)")"
[ -f "$inc/$header" ] || { log "$header not in $deb"; exit 1; }
mkdir -p "$dest/include"; cp "$inc"/*.h "$dest/include/"
dpkg-deb -f "$deb" Version > "$dest/VERSION"
rm -rf "$work"
log "headers of libonnxruntime-dev $(cat "$dest/VERSION") in $dest/include"
echo "$dest/include"
