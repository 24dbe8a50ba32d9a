#!/usr/bin/env bash
# Builds s3s-fs, an S3-compatible server over a directory (Apache-2.0, from
# crates.io), which the tests of recordings kept in an object store run as
# their S3 endpoint, and caches it outside the clone, keyed by version:
#
#   ${YUNHUI_CACHE:-$HOME/.cache/yunhui}/tools/s3s-fs-<version>/bin/s3s-fs
#
# Idempotent: when the binary is there it does nothing. Its path is printed
# as the last line of stdout; everything else goes to stderr.
set -euo pipefail
version=0.14.1
cache=${YUNHUI_CACHE:-$HOME/.cache/yunhui}
root="$cache/tools/s3s-fs-$version"
if [ ! -x "$root/bin/s3s-fs" ]; then
  echo "building s3s-fs $version into $root" >&2
  # Its own target directory: the workspace's build cache stays the workspace's.
  cargo install --quiet --locked "s3s-fs@$version" --features binary \
    --root "$root" --target-dir "$cache/tools/target" >&2
  rm -rf "$cache/tools/target"
fi
echo "$root/bin/s3s-fs"
