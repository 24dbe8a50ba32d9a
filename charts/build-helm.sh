#!/usr/bin/env bash
# Builds helm from its Go module through the module proxy, cached outside the
# clone like tests/kube's binaries; prints the binary's path on the last line.
# HELM_GOARCH=arm64 (or amd64) cross-builds a static linux binary for that
# arch (what `yunhui bundle build` ships as bin/<arch>/helm).
set -euo pipefail
version=${HELM_VERSION:-v3.19.0}
base="${YUNHUI_CACHE:-$HOME/.cache/yunhui}/helm/$version"
host_arch=$(go env GOARCH)
goarch=${HELM_GOARCH:-$host_arch}
if [ "$goarch" = "$host_arch" ]; then
  cache=$base
else
  cache="$base/linux-$goarch"
fi
if [ ! -x "$cache/helm" ]; then
  mkdir -p "$cache"
  exec 9>"$cache.lock"
  flock 9
  if [ ! -x "$cache/helm" ]; then
    if [ "$goarch" = "$host_arch" ]; then
      GOBIN="$cache" CGO_ENABLED=0 nice -n 19 go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$version" >&2
    else
      # go install refuses GOBIN for cross builds: install into a private
      # GOPATH (bin/linux_<arch>/), sharing the module cache.
      gopath=$(mktemp -d)
      trap 'rm -rf "$gopath"' EXIT
      GOMODCACHE=$(go env GOMODCACHE) GOPATH="$gopath" GOOS=linux GOARCH="$goarch" CGO_ENABLED=0 \
        nice -n 19 go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$version" >&2
      mv "$gopath/bin/linux_$goarch/helm" "$cache/helm"
    fi
  fi
fi
echo "$cache/helm"
