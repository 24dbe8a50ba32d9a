#!/usr/bin/env bash
# Builds the real Kubernetes control plane used by Yunhui's tests from Go
# modules (through the Go module proxy) and caches the binaries outside the
# clone, keyed by version:
#
#   ${YUNHUI_CACHE:-$HOME/.cache/yunhui}/kube/<key>/bin/
#     etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl
#
# With --node it builds the real node's binaries instead (node.sh):
#
#   ${YUNHUI_CACHE:-$HOME/.cache/yunhui}/kube/<node key>/bin/
#     kubelet kube-proxy pause coredns
#
# Idempotent: when every binary is already there it does nothing. The bin
# directory is printed as the last line of stdout; everything else goes to
# stderr. Environment:
#   YUNHUI_CACHE          cache root (default $HOME/.cache/yunhui)
#   YUNHUI_GOTOOLCHAIN    GOTOOLCHAIN for the builds (default auto: the local go
#                         if it is new enough, else the one go.mod asks for,
#                         fetched through the module proxy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache=${YUNHUI_CACHE:-$HOME/.cache/yunhui}
set_node=0
[ "${1:-}" = "--node" ] && set_node=1
if [ "$set_node" = 1 ]; then
  key="$KUBE_VERSION-node-coredns-$COREDNS_VERSION"
  want=(kubelet kube-proxy pause coredns)
else
  key="$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
  want=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl)
fi
root="$cache/kube/$key"
bin="$root/bin"

complete() {
  local b
  for b in "${want[@]}"; do [ -x "$bin/$b" ] || return 1; done
}

if complete; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build-binaries: go is not installed" >&2; exit 1; }
mkdir -p "$bin"
# One build at a time, also across concurrent test runs.
exec 9>"$root/.lock"
if command -v flock >/dev/null; then flock 9; fi
if complete; then
  echo "$bin"
  exit 0
fi

export GOTOOLCHAIN=${YUNHUI_GOTOOLCHAIN:-auto}
export CGO_ENABLED=0
unset GOFLAGS GOOS GOARCH
times="$root/build-times.txt"

# The version the servers report (/version, discovery) and kubectl's client
# version; the same variables upstream's hack/lib/version.sh sets.
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

timed() { # name cmd...
  local name=$1 start end
  shift
  echo "build-binaries: building $name ..." >&2
  start=$(date +%s)
  nice -n 19 "$@" >&2
  end=$(date +%s)
  echo "build-binaries: $name built in $((end - start))s" >&2
  echo "$name $((end - start))s $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$times"
}

build_kube() { # name: package cmd/<name> of tools/
  local name=$1
  [ -x "$bin/$name" ] && return 0
  (cd "$here/tools" && timed "$name" go build -trimpath -ldflags "$kube_ldflags" \
    -o "$bin/.$name.tmp" "./cmd/$name")
  mv -f "$bin/.$name.tmp" "$bin/$name"
}

build_etcd() {
  [ -x "$bin/etcd" ] && return 0
  local v=${ETCD_VERSION#v}
  (cd "$here/tools/etcd" && timed etcd go build -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$v" \
    -o "$bin/.etcd.tmp" ./cmd/etcd)
  mv -f "$bin/.etcd.tmp" "$bin/etcd"
}

build_kwok() {
  [ -x "$bin/kwok" ] && return 0
  local tmp="$root/.kwok-gobin"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Outside any module, so go install resolves kwok's own go.mod (v0.8.0 says
  # go 1.26.0); GOTOOLCHAIN=auto fetches that toolchain through the module
  # proxy when the local go is older.
  (cd "$tmp" && GOBIN="$tmp" \
    timed kwok go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
  mv -f "$tmp/kwok" "$bin/kwok"
  rm -rf "$tmp"
}

build_coredns() {
  [ -x "$bin/coredns" ] && return 0
  (cd "$here/tools/coredns" && timed coredns go build -trimpath \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    -o "$bin/.coredns.tmp" .)
  mv -f "$bin/.coredns.tmp" "$bin/coredns"
}

if [ "$set_node" = 1 ]; then
  build_kube kubelet
  build_kube kube-proxy
  build_kube pause
  build_coredns
else
  build_etcd
  build_kube kube-apiserver
  build_kube kube-controller-manager
  build_kube kube-scheduler
  build_kube kubectl
  build_kwok
fi

complete || { echo "build-binaries: some binaries are missing in $bin" >&2; exit 1; }
echo "build-binaries: done; cache $(du -sh "$root" | cut -f1) in $root" >&2
echo "$bin"
