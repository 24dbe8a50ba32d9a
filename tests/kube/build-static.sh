#!/usr/bin/env bash
# Builds the static (musl) debug binaries that Yunhui's images are made of in
# tests (e2e-install.sh): yunhui, yunhui-signal, yunhui-sfu, yunhui-sipgw,
# yunhui-recorder and yunhui-operator for this machine's arch (and
# yunhui-meeting-check, testkit's SDK client the e2e runs meetings with), with cargo-zigbuild (ring's C code
# compiled by zig). Release builds are for real bundles and benchmarks; the
# dev profile optimises dependencies already (Cargo.toml). Prints the folder
# holding them as its last stdout line. Installs the rustup target and
# cargo-zigbuild (PyPI) when missing; builds go to $CARGO_TARGET_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/yunhui/target}"
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl ;;
  aarch64) target=aarch64-unknown-linux-musl ;;
  *) echo "build-static: no musl target for $(uname -m)" >&2; exit 1 ;;
esac
rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
command -v cargo-zigbuild >/dev/null || python3 -m pip install --quiet ziglang cargo-zigbuild >&2
command -v cargo-zigbuild >/dev/null || { echo "build-static: cargo-zigbuild is not on PATH after installing it" >&2; exit 1; }
nice -n 10 cargo zigbuild --locked --target "$target" \
  -p yunhui-installer -p yunhui-signal -p yunhui-sfu -p yunhui-sipgw -p yunhui-recorder \
  -p yunhui-operator -p yunhui-testkit \
  --bins >&2
echo "$CARGO_TARGET_DIR/$target/debug"
