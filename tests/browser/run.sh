#!/usr/bin/env bash
# End-to-end browser tests. Needs:
#   YUNHUI_BIN  the all-in-one `yunhui` binary (cargo build -p yunhui-installer)
#   /usr/bin/chromium (Debian's chromium; this script does not install it)
# Builds services/web/dist first when it is missing (or when YUNHUI_BUILD_WEB=1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "error: $chromium not found. Install Debian's chromium first: apt-get update && apt-get install -y chromium" >&2
  exit 2
fi
if [[ -z "${YUNHUI_BIN:-}" ]]; then
  default="${CARGO_TARGET_DIR:-$repo/target}/debug/yunhui"
  if [[ -x "$default" ]]; then
    export YUNHUI_BIN="$default"
  else
    echo "error: set YUNHUI_BIN to the yunhui binary (cargo build -p yunhui-installer)" >&2
    exit 2
  fi
fi

if [[ ! -f "$repo/services/web/dist/index.html" || "${YUNHUI_BUILD_WEB:-0}" == 1 ]]; then
  (cd "$repo/services/web" && npm ci --no-audit --no-fund && npm run build)
fi

cd "$here"
npm ci --no-audit --no-fund
# Arguments select test files (default: all of test/).
if [[ $# -eq 0 ]]; then set -- test/; fi
exec node --test --test-concurrency=1 --test-timeout=150000 "$@"
