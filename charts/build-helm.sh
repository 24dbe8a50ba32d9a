#!/usr/bin/env bash
# Builds helm from its Go module through the module proxy, cached outside the
# clone like tests/kube's binaries; prints the binary's path on the last line.
set -euo pipefail
version=${HELM_VERSION:-v3.19.0}
cache="${YUNHUI_CACHE:-$HOME/.cache/yunhui}/helm/$version"
if [ ! -x "$cache/helm" ]; then
  mkdir -p "$cache"
  exec 9>"$cache.lock"
  flock 9
  if [ ! -x "$cache/helm" ]; then
    GOBIN="$cache" CGO_ENABLED=0 nice -n 19 go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$version" >&2
  fi
fi
echo "$cache/helm"
