#!/usr/bin/env bash
# Prints the directory holding ONNX Runtime's C/C++ headers (onnxruntime_cxx_api.h), fetching them if needed.
# Order: $ORT_INCLUDE_DIR, pkg-config, a previous fetch in deps/ort-headers, then Debian trixie's
# libonnxruntime-dev unpacked by scripts/trixie-fetch.sh (the system's apt setup is never touched; only the headers
# are kept). Diagnostics go to stderr, the path alone to stdout.
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

work="$dest/.fetch"
rm -rf "$work"
bash "$root/scripts/trixie-fetch.sh" libonnxruntime-dev "$work"
inc="$(dirname "$(find "$work" -name "$header" | head -n1)")"
[ -f "$inc/$header" ] || { log "$header not in libonnxruntime-dev"; exit 1; }
mkdir -p "$dest/include"; cp "$inc"/*.h "$dest/include/"
cp "$work/VERSION" "$dest/VERSION"
rm -rf "$work"
log "headers of libonnxruntime-dev $(cat "$dest/VERSION") in $dest/include"
echo "$dest/include"
