#!/usr/bin/env bash
# Native leak check: builds the addon with AddressSanitizer + LeakSanitizer into build-asan/, drives it through a
# script on the shared random-weight model (create/run/close, errors, top-k, closing with jobs in flight), and fails on any
# leak or memory error whose stack passes through this addon's code. Node's own allocations at exit are not ours
# and are ignored.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
npx cmake-js compile --log-level warn -O build-asan --CDFASTEMBED_SANITIZE=ON >/dev/null
asan="$(g++ -print-file-name=libasan.so)"
log="$(mktemp)"
set +e
LD_PRELOAD="$asan" ASAN_OPTIONS="detect_leaks=1:halt_on_error=0:log_path=$log.asan" \
  node "$root/scripts/leak-check-driver.mjs" "$root/build-asan/Release/fastembed_native.node"
status=$?
set -e
cat "$log".asan.* > "$log" 2>/dev/null || true
ours=$(awk 'BEGIN{RS="\n\n"} /fastembed/ && /(Direct|Indirect) leak|ERROR: AddressSanitizer/' "$log" | head -c 20000)
if [ $status -ne 0 ] || [ -n "$ours" ]; then
  echo "leak-check: FAILED (driver exit $status)"
  [ -n "$ours" ] && echo "$ours"
  exit 1
fi
total=$(grep -c "leak of" "$log" || true)
echo "leak-check: no leak or memory error in fastembed-native code (ASan/LSan; $total leak records from Node itself ignored)"
