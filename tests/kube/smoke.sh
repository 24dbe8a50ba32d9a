#!/usr/bin/env bash
# Smoke test of the test control plane: start it, add two kwok nodes (amd64,
# arm64), run a 2-replica Deployment (controller manager -> ReplicaSet -> Pods,
# scheduler -> nodes, kwok -> Running), delete it and watch garbage collection
# remove the ReplicaSet and Pods, then stop. Last line: "N passed, N failed".
#   tests/kube/smoke.sh [DIR]    (DIR defaults to a fresh temporary directory)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cp="$here/control-plane.sh"
passed=0
failed=0
own_dir=0
if [ $# -ge 1 ]; then dir=$1; else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/yunhui-kube-smoke.XXXXXX")
  own_dir=1
fi

pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

finish() {
  if [ -f "$dir/state" ]; then
    if "$cp" stop "$dir"; then pass "control plane stopped"; else fail "stop"; fi
  fi
  if [ "$failed" -gt 0 ]; then
    echo "logs kept in $dir/logs" >&2
  elif [ "$own_dir" = 1 ]; then
    rm -rf "$dir"
  fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
trap finish EXIT
abort() { fail "$*"; exit 1; }

wait_until() { # seconds description cmd... ; cmd succeeds within seconds
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then
      pass "$what"
      return 0
    fi
    sleep 0.2
  done
  fail "$what (not within ${secs}s)"
  return 1
}

# --- start ------------------------------------------------------------------
bin=$("$here/build-binaries.sh" | tail -n 1) || abort "building the binaries failed"
export YUNHUI_KUBE_BIN=$bin
t0=$(date +%s.%N)
"$cp" start "$dir" >/dev/null || abort "control plane did not start (logs in $dir/logs)"
t1=$(date +%s.%N)
pass "control plane ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s"
# shellcheck disable=SC1091
. "$dir/env"
k() { "$bin/kubectl" "$@"; }

ver=$(k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n 1)
# shellcheck disable=SC1091
. "$here/versions.env"
if [ "$ver" = "$KUBE_VERSION" ]; then pass "server version $ver"; else fail "server version '$ver', want $KUBE_VERSION"; fi

tok=$(cat "$YUNHUI_KUBE_TOKEN_FILE")
if curl -sf --cacert "$YUNHUI_KUBE_CA" -H "Authorization: Bearer $tok" "$YUNHUI_KUBE_SERVER/api/v1/namespaces/default" >/dev/null; then
  pass "bearer token auth"
else fail "bearer token auth"; fi

# --- nodes ------------------------------------------------------------------
"$cp" create-nodes "$dir" 1 amd64 >/dev/null || abort "create amd64 node"
"$cp" create-nodes "$dir" 1 arm64 >/dev/null || abort "create arm64 node"
for n in kwok-amd64-0 kwok-arm64-0; do
  wait_until 60 "node $n Ready" \
    sh -c "'$bin/kubectl' get node $n -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" ||
    abort "nodes"
done
[ "$(k get node kwok-arm64-0 -o jsonpath='{.metadata.labels.kubernetes\.io/arch}')" = arm64 ] &&
  pass "arm64 node labelled" || fail "arm64 node label"

# --- deployment -> replicaset -> pods (Running) -------------------------------
k apply -f - >/dev/null <<'EOF' || abort "create deployment"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      containers:
      - name: app
        image: registry.invalid/yunhui/smoke:1
EOF
pass "deployment created"

wait_until 60 "ReplicaSet owned by the Deployment" \
  sh -c "'$bin/kubectl' get rs -l app=smoke -o jsonpath='{.items[*].metadata.ownerReferences[0].kind}' | grep -qx Deployment" ||
  abort "replicaset"
running() { [ "$(k get pods -l app=smoke -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -cx Running)" = 2 ]; }
wait_until 90 "2 pods Running" running || {
  k get pods -o wide >&2
  abort "pods"
}
nodes=$(k get pods -l app=smoke -o jsonpath='{.items[*].spec.nodeName}')
case "$nodes" in *kwok-*) pass "pods bound to kwok nodes ($nodes)" ;; *) fail "pods on nodes '$nodes'" ;; esac
[ "$(k get pods -l app=smoke -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}')" = ReplicaSet ] &&
  pass "pods owned by the ReplicaSet" || fail "pod owner"
wait_until 30 "deployment reports 2 available replicas" \
  sh -c "[ \"\$('$bin/kubectl' get deploy smoke -o jsonpath='{.status.availableReplicas}')\" = 2 ]"

rss=0
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  r=$(awk '/^VmRSS/{print $2}' "/proc/$(cat "$dir/pids/$c.pid")/status" 2>/dev/null || echo 0)
  rss=$((rss + ${r:-0}))
done
echo "info: control plane resident memory $((rss / 1024)) MiB"

# --- audit log --------------------------------------------------------------
if grep '"verb":"create"' "$YUNHUI_KUBE_AUDIT_LOG" | grep '"resource":"deployments"' | grep -q '"username":"admin"'; then
  pass "audit log records the Deployment create"
else fail "audit log has no Deployment create in $YUNHUI_KUBE_AUDIT_LOG"; fi

# --- delete -> garbage collection -------------------------------------------
k delete deployment smoke --wait=false >/dev/null || abort "delete deployment"
gone() { [ -z "$(k get "$1" -l app=smoke -o name 2>/dev/null)" ]; }
wait_until 60 "garbage collector removed the ReplicaSet" gone rs
wait_until 90 "garbage collector removed the Pods" gone pods || k get pods -o wide >&2
