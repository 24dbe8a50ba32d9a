#!/usr/bin/env bash
# Installed for real (F-OPS-1, F-OPS-3, F-OPS-5, F-OPS-6, F-OPS-7): the path
# an integrator takes, on a real node (node.sh) where Yunhui's own images run
# as pods:
#
#   1. static binaries (musl) and `yunhui bundle build` of the enterprise
#      edition for amd64; `yunhui bundle verify`
#   2. the bundle's images in a registry on loopback (`yunhui registry serve`)
#   3. a control plane and a real node that pulls from it
#   4. `yunhui install --config site.yaml`: CRDs, the operator chart (the
#      operator runs as a pod from the bundle's image, with the chart's RBAC),
#      both shapes of the database — MediaCluster "prod" with SQLite on a
#      volume and a recorder pool writing to a volume of its own, "office"
#      with an external PostgreSQL the harness starts — each with a Tenant
#      whose first administrator comes from a Secret (acme may record) and a
#      Gateway (NodePort)
#   5. signal, SFU, SIP gateway and recorder pods Ready from our images:
#      non-root, read-only root filesystems
#   6. signal serves the Gateway's discovery document and hands out join
#      links on the Gateway's address (its allocated node port); two
#      Chromium browsers meet through that address: the
#      administrator signs in, a colleague joins, each decodes the other
#   7. `kubectl delete pod` of the SFU: media comes back by itself (timed);
#      then room systems (SIPp) dial the SIP gateway, which runs on the
#      node's host network with SIP over TLS, at the node's address: one over
#      TCP, one over TLS checking the gateway's certificate; each keys in the
#      meeting's password and is heard by the administrator; the gateway
#      (a pool scaled by its calls, of one node) reports to signal under its
#      pod's name and the operator shows the pool in status.sipScaling; then the
#      administrator records the meeting in the cloud from the meeting page
#      (the colleague sees the indicator): the recorder pod's WebM file is on
#      its hostPath volume (ffprobe: one VP8 and one Opus stream, >= 3 s),
#      listed as finished by `GET /api/v1/recordings` and served, byte for
#      byte, at the media_url listed (on the Gateway's address) by signal
#      from the recorder pod
#   8. scale-out (issue 11, e2e-scaleout.sh): office's two SFU pods share
#      the node's host network on their own port slots and carry ten
#      meetings between them; one meeting is joined through both signal
#      pods, its owner pod is force-deleted and the meeting goes on
#   9. two regions (issue 13, e2e-regions.sh): a second real node in
#      region west runs the SFU pod of a media-only MediaCluster that
#      registers with prod's signal; a tenant preferring west gets its
#      meeting there, acme (east) on the first node
#  10. `yunhui registry push` of a second bundle (a new version) into the
#      site's registry (docker-registry, TLS and basic auth), then
#      `yunhui upgrade` from it: every pod pulls with the credentials,
#      signal rolls out,
#      the administrators' accounts and scheduled meetings survive, on the
#      volume and in PostgreSQL
#  11. `yunhui uninstall`: nothing of ours is left in the API or on the node
#      but the volume claims of the database and the recordings, kept on
#      purpose
#
# Every failure names its step and prints the pods, their events and logs.
# Must run as root. Figures (image sizes, times, the recording, node
# memory) go to $YUNHUI_E2E_FIGURES (default: <work dir>/figures.txt) and
# stdout.
#
# Environment: YUNHUI_BIN (the host's `yunhui`; default
# $CARGO_TARGET_DIR/debug/yunhui), YUNHUI_STATIC_BIN (a folder with the
# static amd64 binaries; default: built here with cargo zigbuild),
# YUNHUI_E2E_KEEP=1 keeps the work folder, YUNHUI_E2E_HOLD=1 keeps a failed
# run's cluster up for 15 minutes to look at.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/yunhui/target}"
export RUST_BACKTRACE=0
yunhui=${YUNHUI_BIN:-$CARGO_TARGET_DIR/debug/yunhui}
[ -x "$yunhui" ] || { echo "e2e: $yunhui is missing (cargo build -p yunhui-installer)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "e2e: must run as root (a real node runs containers)" >&2; exit 2; }

work=$(mktemp -d /tmp/yunhui-e2e.XXXXXX)
# Traversable by the PostgreSQL server's user and the pods' (volumes).
chmod 755 "$work"
figures=${YUNHUI_E2E_FIGURES:-$work/figures.txt}
: >"$figures"
kube="$work/kube"
NS=yunhui-system
RELEASE=yunhui
ADMIN_EMAIL=admin@acme.example
OFFICE_ADMIN_EMAIL=it@globex.example
INITECH_ADMIN_EMAIL=admin@initech.example
STATIC_BINARIES=(yunhui yunhui-signal yunhui-sfu yunhui-sipgw yunhui-recorder yunhui-operator)

current="setup"
passed=0
registry_pid=""

say() { echo "e2e: $*"; }
figure() { echo "$*" | tee -a "$figures"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

k() { "$kube_bin/kubectl" --kubeconfig "$kube/kubeconfig" "$@"; }

diagnostics() {
  [ -n "${kube_bin:-}" ] && [ -f "$kube/kubeconfig" ] || return 0
  echo "----- pods -----"
  k get pods -A -o wide 2>&1 || true
  echo "----- events -----"
  k get events -A --sort-by=.lastTimestamp 2>&1 | tail -n 40 || true
  echo "----- our resources' status -----"
  k get tenants,mediaclusters,gateways -A -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}: {.status}{"\n"}{end}' 2>&1 || true
  local ns pod
  while read -r ns pod; do
    [ -n "$pod" ] || continue
    echo "----- $ns/$pod -----"
    k describe pod -n "$ns" "$pod" 2>&1 | sed -n '/^Containers:/,/^Conditions:/p;/^Events:/,$p' | tail -n 40 || true
    local lines=40
    case "$pod" in "$RELEASE"-*) lines=200 ;; esac
    k logs -n "$ns" "$pod" --all-containers --tail="$lines" 2>&1 || true
    k logs -n "$ns" "$pod" --all-containers --tail=20 --previous 2>/dev/null || true
  done < <(k get pods -A --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name 2>/dev/null | grep -v '^kube-system' || true)
  echo "----- node logs -----"
  local logs
  for logs in "$kube"/node/logs "$kube"/nodes/*/logs; do
    for c in kubelet containerd; do
      [ -f "$logs/$c.log" ] || continue
      echo "--- $logs/$c.log"
      grep -E 'level=error|^E[0-9]{4}' "$logs/$c.log" 2>/dev/null | tail -n 15 || true
    done
  done
}

fail() {
  echo "FAIL [step: $current]: $*" >&2
  diagnostics >&2
  if [ "${YUNHUI_E2E_HOLD:-0}" = 1 ]; then
    echo "e2e: holding the cluster for 15 min (KUBECONFIG=$kube/kubeconfig)" >&2
    sleep 900
  fi
  exit 1
}

step() {
  current=$1
  echo
  echo "=== step $current"
}

ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}

cleanup() {
  local rc=$?
  set +e
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null
  [ -n "${site_registry_pid:-}" ] && kill "$site_registry_pid" 2>/dev/null
  [ -n "${relay_pid:-}" ] && kill "$relay_pid" 2>/dev/null
  [ -n "${pg_bin:-}" ] && runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/postgres/data" -m immediate stop >/dev/null 2>&1
  if [ -f "$kube/state" ] || [ -d "$kube/node" ]; then
    "$here/node.sh" stop "$kube" >/dev/null 2>&1
    "$here/control-plane.sh" stop "$kube" >/dev/null 2>&1
  fi
  if [ "$rc" = 0 ] && [ "${YUNHUI_E2E_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "e2e: work folder kept: $work" >&2
  fi
  echo "$passed checks passed$([ "$rc" = 0 ] || echo ", failed in step: $current")"
}
trap cleanup EXIT

wait_for() { # seconds description cmd...
  local secs=$1 what=$2
  shift 2
  poll "$secs" "$@" || fail "$what: not after ${secs}s"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------
step "1. static binaries and a signed bundle"
if [ -n "${YUNHUI_STATIC_BIN:-}" ]; then
  static=$YUNHUI_STATIC_BIN
else
  static=$("$here/build-static.sh" | tail -n 1)
fi
mkdir -p "$work/binaries/amd64"
for b in "${STATIC_BINARIES[@]}"; do
  [ -x "$static/$b" ] || fail "no static binary $static/$b"
  file -b "$static/$b" | grep -q "statically linked" || fail "$static/$b is not statically linked: $(file -b "$static/$b")"
  cp "$static/$b" "$work/binaries/amd64/$b"
done
# The helm the bundle ships for rendering the chart on the site.
helm=$("$root/charts/build-helm.sh" | tail -n 1) || fail "building helm"
cp "$helm" "$work/binaries/amd64/helm"
ok "the six binaries are static executables"
"$yunhui" bundle keygen --out "$work/signing" >/dev/null
build_bundle() { # out source revision
  "$yunhui" bundle build --edition enterprise --arch amd64 --binaries "$work/binaries" \
    --key "$work/signing.key" --source "$2" --revision "$3" --archive none --out "$1" >/dev/null
}
t=$(now)
build_bundle "$work/bundle-1" "$root" e2e-1 || fail "yunhui bundle build"
figure "bundle build (enterprise, amd64, 5 images): $(since "$t") s"
"$yunhui" bundle verify "$work/bundle-1" --key "$work/signing.pub" >/dev/null || fail "yunhui bundle verify"
ok "bundle built and verified"
python3 - "$work/bundle-1" <<'PY' | tee -a "$figures"
import json, os, sys
bundle = sys.argv[1]
manifest = json.load(open(os.path.join(bundle, "manifest.json")))
blobs = os.path.join(bundle, "images", "blobs", "sha256")
def blob(d): return os.path.join(blobs, d.split(":", 1)[1])
for image in manifest["images"]:
    for p in image["platforms"]:
        m = json.load(open(blob(p["digest"])))
        size = sum(l["size"] for l in m["layers"])
        print(f"image {image['repository']}:{image['tag']} ({p['arch']}): {size / 1048576:.1f} MiB compressed")
PY

# ---------------------------------------------------------------------------
step "2. the bundle's images in a registry on loopback"
reg_port=$(free_port)
registry="127.0.0.1:$reg_port"
"$yunhui" registry serve "$work/bundle-1" --listen "$registry" --key "$work/signing.pub" \
  >"$work/registry.log" 2>&1 &
registry_pid=$!
wait_for 30 "yunhui registry serve answers /v2/" curl -sf "http://$registry/v2/"
curl -sf "http://$registry/v2/yunhui/signal/tags/list" | grep -q '"0.1.0"' || fail "the registry does not list yunhui/signal:0.1.0"
ok "yunhui registry serve on $registry"

# ---------------------------------------------------------------------------
step "3. control plane and a real node"
node_ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1)
[ -n "$node_ip" ] || fail "no address for the node (no default route)"
export YUNHUI_KUBE_NODE_IP=$node_ip
t=$(now)
YUNHUI_KUBE_OWNER_PID=$$ "$here/control-plane.sh" start "$kube" >/dev/null || fail "control plane start"
kube_bin=$(sed -n 's/^bin=//p' "$kube/state")
YUNHUI_KUBE_NODE_LABELS=topology.kubernetes.io/region=east "$here/node.sh" start "$kube" >/dev/null || fail "node start"
"$here/node.sh" registry "$kube" "$registry"
figure "control plane and node ready: $(since "$t") s"
ok "node $("$here/node.sh" name "$kube") Ready at $node_ip"

# The external database of the second shape, where pods reach it: the
# node's address, password authentication.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || fail "PostgreSQL is not installed (tests/setup-machine)"
mkdir -p "$work/postgres"
openssl rand -hex 16 >"$work/postgres/password"
chown -R postgres:postgres "$work/postgres"
runuser -u postgres -- "$pg_bin/initdb" -A scram-sha-256 -U yunhui --pwfile "$work/postgres/password" \
  -E UTF8 --no-sync -D "$work/postgres/data" >/dev/null || fail "initdb"
echo "host all all 0.0.0.0/0 scram-sha-256" >>"$work/postgres/data/pg_hba.conf"
pg_port=$(free_port)
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/postgres/data" -l "$work/postgres/log" -w \
  -o "-p $pg_port -c listen_addresses=$node_ip -c fsync=off -k $work/postgres" start >/dev/null ||
  fail "PostgreSQL start: $(tail -n 5 "$work/postgres/log")"
pg_password=$(cat "$work/postgres/password")
PGPASSWORD=$pg_password "$pg_bin/createdb" -h "$node_ip" -p "$pg_port" -U yunhui yunhui || fail "createdb"
ok "PostgreSQL on $node_ip:$pg_port"

# ---------------------------------------------------------------------------
step "4. yunhui install"
# The signal database's volume: a hostPath PersistentVolume the claim binds
# to (what a local-path provisioner would make), owned by the pods' user.
mkdir -p "$work/volumes/signal-data"
chown 65532:65532 "$work/volumes/signal-data"
k apply -f - >/dev/null <<EOF || fail "PersistentVolume"
apiVersion: v1
kind: PersistentVolume
metadata: {name: yunhui-e2e-signal-data}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: "$work/volumes/signal-data", type: Directory}
EOF
# The recorder's volume likewise; its storage class (which names no
# StorageClass: nothing provisions) binds the recorder's claim to it and
# the database's claim elsewhere.
recordings_dir="$work/volumes/recordings"
mkdir -p "$recordings_dir"
chown 65532:65532 "$recordings_dir"
k apply -f - >/dev/null <<EOF || fail "PersistentVolume for the recordings"
apiVersion: v1
kind: PersistentVolume
metadata: {name: yunhui-e2e-recordings}
spec:
  storageClassName: yunhui-e2e-recordings
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: "$recordings_dir", type: Directory}
EOF
# SIP over TLS on the node's address: the gateway's certificate names it,
# and the room system checks it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Acme SIP gateway" -addext "subjectAltName=IP:$node_ip" \
  -keyout "$work/sip-tls.key" -out "$work/sip-tls.crt" 2>"$work/openssl.log" || fail "making the SIP gateway's certificate: $(cat "$work/openssl.log")"
mkdir -p "$work/site"
cat >"$work/site/resources.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: acme-first-admin, namespace: $NS}
stringData: {email: $ADMIN_EMAIL, displayName: "Acme Admin 管理员"}
---
apiVersion: v1
kind: Secret
metadata: {name: prod-sip-tls, namespace: $NS}
type: kubernetes.io/tls
data: {tls.crt: $(base64 -w0 "$work/sip-tls.crt"), tls.key: $(base64 -w0 "$work/sip-tls.key")}
---
apiVersion: yunhui.dev/v1alpha1
kind: MediaCluster
metadata: {name: prod, namespace: $NS}
spec:
  version: "VERSION"
  database: {embedded: {storageSize: 1Gi}}
  signal: {replicas: 1}
  sfu: {architecture: amd64, networking: HostNetwork, udpPort: 7882, tcpPort: 7881, minNodes: 1, maxNodes: 1, region: east, nodeSelector: {topology.kubernetes.io/region: east}}
  sip: {enabled: true, port: 5060, hostNetwork: true, tls: {port: 5061, secretName: prod-sip-tls}, autoscale: {minNodes: 1, maxNodes: 1, callsPerNode: 10}}
  recorder: {enabled: true, replicas: 1, storageSize: 1Gi, storageClassName: yunhui-e2e-recordings}
---
apiVersion: yunhui.dev/v1alpha1
kind: Tenant
metadata: {name: acme, namespace: $NS}
spec:
  displayName: Acme Ltd
  mediaCluster: prod
  domains: [acme.example]
  licence: {concurrentPorts: 50}
  features: {recording: true}
  firstAdmin: {secretName: acme-first-admin}
  mediaRegion: east
---
apiVersion: v1
kind: Secret
metadata: {name: initech-first-admin, namespace: $NS}
stringData: {email: $INITECH_ADMIN_EMAIL}
---
apiVersion: yunhui.dev/v1alpha1
kind: Tenant
metadata: {name: initech, namespace: $NS}
spec:
  displayName: Initech West
  mediaCluster: prod
  domains: [initech.example]
  licence: {concurrentPorts: 10}
  firstAdmin: {secretName: initech-first-admin}
  mediaRegion: west
---
apiVersion: yunhui.dev/v1alpha1
kind: Gateway
metadata: {name: public, namespace: $NS}
spec:
  mediaCluster: prod
  hosts: [127.0.0.1]
  tls: {generate: {caCommonName: Acme private CA}}
  exposure: {mode: NodePort}
---
apiVersion: v1
kind: Secret
metadata: {name: office-database, namespace: $NS}
stringData: {url: "postgres://yunhui:$pg_password@$node_ip:$pg_port/yunhui"}
---
apiVersion: v1
kind: Secret
metadata: {name: globex-first-admin, namespace: $NS}
stringData: {email: $OFFICE_ADMIN_EMAIL}
---
apiVersion: yunhui.dev/v1alpha1
kind: MediaCluster
metadata: {name: office, namespace: $NS}
spec:
  version: "VERSION"
  database: {external: {urlSecretName: office-database}}
  signal: {replicas: 2}
  sfu: {architecture: amd64, networking: HostNetworkSlots, slotsPerNode: 2, slotPortStride: 10, udpPort: 7892, tcpPort: 7891, controlPort: 7890, minNodes: 2, maxNodes: 2, drainTimeoutSeconds: 15}
---
apiVersion: yunhui.dev/v1alpha1
kind: Tenant
metadata: {name: globex, namespace: $NS}
spec:
  displayName: Globex Corp
  mediaCluster: office
  domains: [globex.example]
  licence: {concurrentPorts: 40}
  firstAdmin: {secretName: globex-first-admin}
---
apiVersion: yunhui.dev/v1alpha1
kind: Gateway
metadata: {name: office, namespace: $NS}
spec:
  mediaCluster: office
  hosts: [127.0.0.1]
  tls: {generate: {caCommonName: Globex private CA}}
  exposure: {mode: NodePort}
EOF
site() { # file bundle version registry [credentials]
  sed "s/VERSION/$3/" "$work/site/resources.yaml" >"$work/site/resources-$3.yaml"
  cat >"$1" <<EOF
bundle: $2
bundleKey: $work/signing.pub
namespace: $NS
release: $RELEASE
kubeconfig: $kube/kubeconfig
registry: {host: "$4"${5:+, credentials: $5}}
chart:
  values: {replicaCount: 1}
resources:
  - file: $work/site/resources-$3.yaml
rolloutTimeoutSeconds: 240
EOF
}
site "$work/site-1.yaml" "$work/bundle-1" 0.1.0 "$registry"
t_install=$(now)
"$yunhui" install --config "$work/site-1.yaml" || fail "yunhui install"
figure "yunhui install (until the operator rolled out): $(since "$t_install") s"
ok "yunhui install"

# ---------------------------------------------------------------------------
step "5. our pods Running and Ready"
pods_ready() { # selector count
  local ready
  ready=$(k get pods -n "$NS" -l "$1" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
  [ "$ready" -ge "$2" ]
}
for component in signal sfu sip recorder; do
  wait_for 240 "the $component pod of prod Ready" pods_ready "app.kubernetes.io/component=$component,app.kubernetes.io/instance=prod" 1
  figure "$component pod Ready $(since "$t_install") s after yunhui install began"
done
for component in signal sfu; do
  wait_for 240 "both $component pods of office Ready" pods_ready "app.kubernetes.io/component=$component,app.kubernetes.io/instance=office" 2
done
ok "signal, SFU, SIP gateway and recorder pods Ready (prod on SQLite, office on PostgreSQL with two signal and two SFU pods)"
# What runs is what the pod spec says: the containers' processes run as
# 65532 and their root filesystems are read-only.
check_process() { # pod container
  local cid pid uid
  cid=$(k get pod -n "$NS" "$1" -o jsonpath="{.status.containerStatuses[?(@.name==\"$2\")].containerID}")
  cid=${cid#containerd://}
  [ -n "$cid" ] || fail "$1: no container id for $2"
  pid=$(ctr --address "$kube/node/containerd/containerd.sock" -n k8s.io tasks list | awk -v c="$cid" '$1==c{print $2}')
  [ -n "$pid" ] || fail "$1: no running task for container $cid"
  uid=$(awk '/^Uid:/{print $2}' "/proc/$pid/status")
  [ "$uid" = 65532 ] || fail "$1/$2 runs as uid $uid, not 65532"
  grep -E '^[^ ]+ / ' "/proc/$pid/mounts" | grep -qE ' ro[ ,]' || fail "$1/$2: root filesystem is writable"
}
for component in signal sfu sip recorder operator; do
  label="app.kubernetes.io/component=$component,app.kubernetes.io/instance=prod"
  [ "$component" = operator ] && label="app.kubernetes.io/name=yunhui-operator"
  pod=$(k get pods -n "$NS" -l "$label" -o jsonpath='{.items[0].metadata.name}')
  [ -n "$pod" ] || fail "no $component pod"
  [ "$(k get pod -n "$NS" "$pod" -o jsonpath='{.spec.nodeName}')" = yunhui-node ] || fail "$pod is not on the real node"
  container=$(k get pod -n "$NS" "$pod" -o jsonpath='{.spec.containers[0].name}')
  check_process "$pod" "$container"
  image=$(k get pod -n "$NS" "$pod" -o jsonpath='{.spec.containers[0].image}')
  case "$image" in "$registry/yunhui/"*) ;; *) fail "$pod runs $image, not an image of the bundle" ;; esac
done
ok "operator, signal, SFU, SIP gateway and recorder run as uid 65532 on read-only root filesystems, from the bundle's images"

# ---------------------------------------------------------------------------
step "6. a meeting through the Gateway"
node_port=$(k get service -n "$NS" public -o jsonpath='{.spec.ports[0].nodePort}')
[ -n "$node_port" ] || fail "the Gateway's NodePort Service has no node port"
url="http://127.0.0.1:$node_port"
wait_for 60 "signal through the Gateway's NodePort ($url/readyz)" curl -sf "$url/readyz"
curl -sf "$url/" | grep -qi '<html' || fail "$url/ does not serve the web client"
has_password() { [ -n "$(k get secret -n "$NS" "$1" -o jsonpath='{.data.password}')" ]; }
sign_in() { # url email password -> token
  curl -sf -H 'content-type: application/json' \
    -d "{\"login\":\"$2\",\"password\":\"$3\"}" "$1/api/v1/sessions" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
wait_for 120 "the operator wrote the first administrator's password into the Secret" has_password acme-first-admin
admin_password=$(k get secret -n "$NS" acme-first-admin -o jsonpath='{.data.password}' | base64 -d)
figure "meeting possible (web client served, administrator created) $(since "$t_install") s after yunhui install began"
# Signal builds its links on the Gateway's address: the discovery document
# the operator writes (with the node port Kubernetes allocated), mounted
# into the pod (the kubelet may take a minute to bring a later version).
discovery_api() { curl -sf "$url/.well-known/yunhui" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api"])'; }
discovery_names_gateway() { [ "$(discovery_api)" = "$url/api/v1" ]; }
wait_for 120 "signal serves the Gateway's discovery document naming $url" discovery_names_gateway
token=$(sign_in "$url" "$ADMIN_EMAIL" "$admin_password") || fail "signing in over the API (prod)"
join_url=$(curl -sf -H 'content-type: application/json' -H "authorization: Bearer $token" -d '{}' "$url/api/v1/meetings" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["join_url"])') || fail "creating a meeting over the API (prod)"
case "$join_url" in "$url/j/"*) ;; *) fail "a new meeting's join_url $join_url is not on the Gateway's address $url (discovery: $(discovery_api))" ;; esac
curl -sf "$join_url" | grep -qi '<html' || fail "the join link $join_url does not open the web client"
ok "the discovery document and a new meeting's join link are on the Gateway's address ($join_url)"
sfu_pod=$(k get pods -n "$NS" -l app.kubernetes.io/component=sfu,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].metadata.name}')
# Room systems outside the cluster dial the SIP gateway at the node's address
# (the gateway on the host network advertises it): one over TCP, one over
# TLS, checking the gateway's certificate (SIPp's TCP carried by a TLS relay:
# Debian's SIPp has no TLS).
sip_ip=$(k get pods -n "$NS" -l app.kubernetes.io/component=sip,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].status.podIP}')
[ "$sip_ip" = "$node_ip" ] || fail "the SIP gateway pod is not on the node's host network (pod $sip_ip, node $node_ip)"
command -v sipp >/dev/null || fail "sipp is missing (tests/setup-machine)"
any_port() { # SOCK_STREAM or SOCK_DGRAM: a free port on every address
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])' "$1"
}
relay_port=$(any_port SOCK_STREAM)
python3 "$here/sip/tls_relay.py" "$node_ip:$relay_port" "$node_ip:5061" "$work/sip-tls.crt" >"$work/tls-relay.log" 2>&1 &
relay_pid=$!
relay_ready() { grep -q '^ready' "$work/tls-relay.log"; }
wait_for 10 "the TLS relay listens" relay_ready
sipp_dial() { # name target
  local port media
  port=$(any_port SOCK_STREAM)
  media=$(any_port SOCK_DGRAM)
  echo "sipp -sf $here/sip/dial_in_and_talk.xml -t t1 -s {number} $2 -i $node_ip -p $port \
-mi $node_ip -mp $media -m 1 -timeout 90s -nostdin \
-trace_msg -message_file $work/sipp-$1-messages.log -trace_err -error_file $work/sipp-$1-errors.log"
}
sip_dials=$(python3 -c 'import json,sys; print(json.dumps([{"name": "tcp", "command": sys.argv[1]}, {"name": "tls", "command": sys.argv[2]}]))' \
  "$(sipp_dial tcp "$node_ip:5060")" "$(sipp_dial tls "$node_ip:$relay_port")")
(cd "$root/tests/browser" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error)
YUNHUI_URL=$url YUNHUI_ADMIN_EMAIL=$ADMIN_EMAIL YUNHUI_ADMIN_PASSWORD=$admin_password \
  YUNHUI_SFU_RESTART="$kube_bin/kubectl --kubeconfig $kube/kubeconfig delete pod -n $NS $sfu_pod --wait=false" \
  YUNHUI_SIP_DIALS="$sip_dials" YUNHUI_RECORD=1 YUNHUI_RESULT="$work/meeting.json" \
  node "$root/tests/browser/installed/meeting.js" || { current="6-7. a meeting, then the SFU pod deleted"; fail "browsers (output above)"; }
ok "two browsers exchanged audio and video through the Gateway"
current="7. the SFU pod deleted"
restart_ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sfu_restart_ms"])' "$work/meeting.json")
figure "SFU pod deleted: media back in both browsers after $restart_ms ms"
for transport in tcp tls; do
  figure "SIP room system over ${transport^^} in the meeting $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sip_join_ms"][sys.argv[2]])' "$work/meeting.json" "$transport") ms after SIPp dialled (password keyed in)"
done
ok "media came back by itself after the SFU pod was deleted"
grep -q "over TLSv1.[23], certificate checked" "$work/tls-relay.log" || fail "the room system's TLS connection to the gateway: $(cat "$work/tls-relay.log")"
kill "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null || true; relay_pid=""
ok "SIP room systems (SIPp) dialled into the meeting at the node's address over TCP and over TLS (certificate checked), keyed in the password and were heard"
# The pool is scaled by its calls (one node: minNodes = maxNodes = 1): its
# gateway reports to signal under its pod's name, from its own address.
sip_pod=$(k get pods -n "$NS" -l app.kubernetes.io/component=sip,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].metadata.name}')
prod_signal_ip=$(k get pods -n "$NS" -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].status.podIP}')
k get secret -n "$NS" prod-keys -o jsonpath='{.data.internal-key}' | base64 -d >"$work/prod-internal-key"
gateway_reports() {
  curl -sf -H "Authorization: Bearer $(cat "$work/prod-internal-key")" \
    "http://$prod_signal_ip:8080/internal/v1/sip-gateways" >"$work/sip-gateways.json" &&
    python3 -c 'import json,sys; g=[g for g in json.load(open(sys.argv[1]))["workers"] if g["workerId"]==sys.argv[2]]; sys.exit(0 if g and g[0]["live"] and g[0]["capacity"]==10 and not g[0]["draining"] else 1)' \
      "$work/sip-gateways.json" "$sip_pod"
}
poll 30 gateway_reports || fail "prod's SIP gateway $sip_pod does not report to signal: $(cat "$work/sip-gateways.json" 2>/dev/null)"
sip_scaling() { [ "$(k get mediacluster -n "$NS" prod -o jsonpath='{.status.sipScaling.currentNodes}/{.status.sipScaling.desiredNodes}')" = 1/1 ]; }
wait_for 30 "prod's status.sipScaling showing 1/1 gateways" sip_scaling
ok "the SIP gateway pod reports its calls to signal (capacity 10) and the operator scales its pool (status.sipScaling 1/1)"
current="7. a cloud recording"
recording() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recording"][sys.argv[2]])' "$work/meeting.json" "$1"; }
recording_id=$(recording id) || fail "meeting.js reported no recording"
ok "the administrator recorded the meeting from the meeting page; the colleague saw the indicator"
# The file, once the recorder reported it finished: listed as the
# administrator's, finished, with its length and size.
token=$(sign_in "$url" "$ADMIN_EMAIL" "$admin_password") || fail "signing in over the API (prod)"
recording_listed() {
  curl -sf -H "authorization: Bearer $token" "$url/api/v1/recordings" >"$work/recordings.json" &&
    python3 - "$work/recordings.json" "$recording_id" <<'PY'
import json, sys
listed = json.load(open(sys.argv[1]))
mine = [r for r in listed if r["id"] == sys.argv[2]]
sys.exit(0 if len(listed) == 1 and mine and mine[0]["state"] == "ready" and mine[0]["duration_ms"] >= 3000 else 1)
PY
}
poll 30 recording_listed ||
  fail "GET /api/v1/recordings does not list recording $recording_id alone as finished (ready, >= 3 s) after 30 s: $(cat "$work/recordings.json" 2>/dev/null)"
listed() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0][sys.argv[2]])' "$work/recordings.json" "$1"; }
listed_size=$(listed size_bytes)
media_url=$(listed media_url)
say "the recording's media_url: $media_url"
case "$media_url" in "$url/api/v1/recordings/$recording_id/media?key="*) ;; *) fail "the recording's media_url $media_url is not on the Gateway's address $url" ;; esac
ok "GET /api/v1/recordings through the Gateway lists the recording as finished ($(listed duration_ms) ms, $listed_size bytes)"
# On the recorder pod's volume: written by the pod's user, as long as listed.
mapfile -t recorded < <(find "$recordings_dir" -maxdepth 1 -type f -name '*.webm')
[ "${#recorded[@]}" = 1 ] || fail "want one WebM file on the recorder's volume $recordings_dir, found: $(ls -ln "$recordings_dir")"
recorded_file=${recorded[0]}
[ "$(stat -c %u:%g "$recorded_file")" = 65532:65532 ] || fail "$recorded_file is owned by $(stat -c %u:%g "$recorded_file"), not the recorder's 65532"
recorded_size=$(stat -c %s "$recorded_file")
[ "$recorded_size" = "$listed_size" ] || fail "the list says $listed_size bytes, $recorded_file has $recorded_size"
ok "the recording is on the recorder's volume: $(basename "$recorded_file"), $recorded_size bytes"
ffprobe -v error -show_entries stream=codec_type,codec_name:format=duration -of json "$recorded_file" >"$work/ffprobe.json" ||
  fail "ffprobe cannot read $recorded_file"
recorded_s=$(python3 - "$work/ffprobe.json" <<'PY'
import json, sys
probe = json.load(open(sys.argv[1]))
streams = sorted((s["codec_type"], s["codec_name"]) for s in probe["streams"])
duration = float(probe["format"].get("duration", 0))
if streams != [("audio", "opus"), ("video", "vp8")] or duration < 3:
    sys.exit(f"want one vp8 and one opus stream lasting >= 3 s, ffprobe says {streams}, {duration} s")
print(f"{duration:.1f}")
PY
) || fail "the recorded file: $recorded_s"
# The demuxer's time base for the decoded frames: the speaker's switch may
# put two frames 1 ms apart, which a frame-rate time base would collide.
ffmpeg -nostdin -v error -xerror -i "$recorded_file" -enc_time_base -1 -f null - 2>"$work/ffmpeg-decode.log" && [ ! -s "$work/ffmpeg-decode.log" ] ||
  fail "ffmpeg does not decode $recorded_file cleanly: $(head -n 5 "$work/ffmpeg-decode.log")"
ok "ffprobe reads one VP8 and one Opus stream, $recorded_s s; ffmpeg decodes it to the end"
# Signal cannot read the recorder's volume: it relays the recorder pod's
# internal API, whole and by range.
media=$media_url
curl -sf -o "$work/recording-served.webm" "$media" || fail "GET $media failed"
cmp -s "$work/recording-served.webm" "$recorded_file" ||
  fail "GET /api/v1/recordings/$recording_id/media served $(stat -c %s "$work/recording-served.webm") bytes that differ from the file on the volume"
range_status=$(curl -s -o "$work/recording-range" -w '%{http_code}' -H 'Range: bytes=100-1099' "$media")
[ "$range_status" = 206 ] && cmp -s "$work/recording-range" <(tail -c +101 "$recorded_file" | head -c 1000) ||
  fail "a range request for bytes 100-1099 answered $range_status with $(stat -c %s "$work/recording-range") bytes that are not the file's"
ok "the recording's media_url (the Gateway's address) serves the file's bytes from the recorder pod (whole and a range)"
figure "cloud recording: $recorded_s s, $((recorded_size / 1024)) KiB ($(awk -v b="$recorded_size" -v s="$recorded_s" 'BEGIN{printf "%.0f", b*8/s/1000}') kbit/s); the colleague saw the indicator $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recording_indicator_ms"])' "$work/meeting.json") ms after the click; $(recording took_ms) ms in the browsers from Record to stopped"
free -m | awk '/^Mem:/{print "node memory used with the meeting over: " $3 " MiB of " $2 " MiB"}' | tee -a "$figures"

# ---------------------------------------------------------------------------
# shellcheck source=e2e-scaleout.sh
. "$here/e2e-scaleout.sh"
# shellcheck source=e2e-regions.sh
. "$here/e2e-regions.sh"

# ---------------------------------------------------------------------------
step "10. yunhui upgrade to a new version"
schedule() { # url token topic -> id
  curl -sf -H 'content-type: application/json' -H "authorization: Bearer $2" \
    -d "{\"topic\":\"$3\",\"start\":\"2030-01-07T10:00\",\"time_zone\":\"Asia/Shanghai\",\"duration_minutes\":30}" \
    "$1/api/v1/schedules" | python3 -c 'import json,sys; print(json.load(sys.stdin)["meeting"]["id"])'
}
token=$(sign_in "$url" "$ADMIN_EMAIL" "$admin_password") || fail "signing in over the API (prod)"
schedule_id=$(schedule "$url" "$token" "Survives the upgrade 升级") || fail "scheduling a meeting (prod)"
office_token=$(sign_in "$office_url" "$OFFICE_ADMIN_EMAIL" "$office_password") || fail "signing in over the API (office, PostgreSQL)"
office_schedule=$(schedule "$office_url" "$office_token" "In PostgreSQL 数据库") || fail "scheduling a meeting (office)"
PGPASSWORD=$pg_password "$pg_bin/psql" -h "$node_ip" -p "$pg_port" -U yunhui -d yunhui -tAc "select count(*) from accounts" |
  grep -qv '^0$' || fail "office's accounts are not in PostgreSQL"
ok "office keeps its data in the external PostgreSQL"
# The next release: the same sources (the files git knows, and the built web
# client) as version 0.1.1.
src2="$work/source-2"
mkdir -p "$src2/services/web"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$src2" -xf -
cp -r "$root/services/web/dist" "$src2/services/web/dist"
sed -i 's/^version = "0.1.0"/version = "0.1.1"/' "$src2/Cargo.toml"
# The workspace's own packages in Cargo.lock carry the version too.
sed -i '/^name = "yunhui-/{n;s/^version = "0.1.0"/version = "0.1.1"/}' "$src2/Cargo.lock"
grep -q '^version = "0.1.1"' "$src2/Cargo.toml" || fail "could not set the second bundle's version"
build_bundle "$work/bundle-2" "$src2" e2e-2 || fail "building the second bundle"
old_digest=$(k get pods -n "$NS" -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].status.containerStatuses[0].imageID}')
# The new release comes through the site's own registry: Debian's
# docker-registry with TLS (the site's CA) and basic auth, filled by
# `yunhui registry push`; the first bundle's registry goes away.
kill "$registry_pid"
wait "$registry_pid" 2>/dev/null || true
registry_pid=""
sr="$work/site-registry"
mkdir -p "$sr/storage"
openssl req -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -subj "/CN=Acme site CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$sr/ca.key" -out "$sr/ca.crt" 2>/dev/null
openssl req -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj "/CN=127.0.0.1" \
  -keyout "$sr/server.key" -out "$sr/server.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' >"$sr/ext.cnf"
openssl x509 -req -days 2 -CAcreateserial -in "$sr/server.csr" -CA "$sr/ca.crt" -CAkey "$sr/ca.key" \
  -extfile "$sr/ext.cnf" -out "$sr/server.crt" 2>/dev/null || fail "the site registry's certificate"
openssl rand -hex 12 >"$sr/password"
htpasswd -Bbn puller "$(cat "$sr/password")" >"$sr/htpasswd"
site_port=$(free_port)
site_registry="127.0.0.1:$site_port"
cat >"$sr/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $sr/storage}}
http:
  addr: $site_registry
  tls: {certificate: $sr/server.crt, key: $sr/server.key}
auth: {htpasswd: {realm: acme, path: $sr/htpasswd}}
EOF
docker-registry serve "$sr/config.yml" >"$sr/log" 2>&1 &
site_registry_pid=$!
wait_for 30 "docker-registry (TLS, basic auth) answers" \
  curl -sf --cacert "$sr/ca.crt" -u "puller:$(cat "$sr/password")" "https://$site_registry/v2/"
"$yunhui" registry push "$work/bundle-2" --key "$work/signing.pub" --registry "$site_registry" --ca "$sr/ca.crt" \
  --username puller --password-stdin <"$sr/password" >/dev/null || fail "yunhui registry push"
curl -sf --cacert "$sr/ca.crt" -u "puller:$(cat "$sr/password")" "https://$site_registry/v2/yunhui/signal/tags/list" |
  grep -q '"0.1.1"' || fail "the site registry does not list yunhui/signal:0.1.1 after the push"
ok "yunhui registry push into docker-registry over TLS with basic auth"
"$here/node.sh" registry "$kube" "$site_registry" "$sr/ca.crt"
registry=$site_registry
site "$work/site-2.yaml" "$work/bundle-2" 0.1.1 "$registry" "{username: puller, passwordFile: $sr/password}"
t=$(now)
"$yunhui" upgrade --config "$work/site-2.yaml" || fail "yunhui upgrade"
signal_upgraded() {
  local image id
  image=$(k get pods -n "$NS" -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].spec.containers[0].image}')
  id=$(k get pods -n "$NS" -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].status.containerStatuses[0].imageID}')
  [ "$image" = "$registry/yunhui/signal:0.1.1" ] && [ -n "$id" ] && [ "$id" != "$old_digest" ] && pods_ready app.kubernetes.io/component=signal,app.kubernetes.io/instance=prod 1
}
wait_for 240 "signal rolled out to 0.1.1" signal_upgraded
office_upgraded() {
  # Both replicas, each on the new image.
  [ "$(k get pods -n "$NS" -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=office -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u)" = "$registry/yunhui/signal:0.1.1" ] &&
    pods_ready app.kubernetes.io/component=signal,app.kubernetes.io/instance=office 2
}
wait_for 240 "office's signal rolled out to 0.1.1" office_upgraded
all_from_site_registry() {
  local images not_ready
  images=$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u)
  not_ready=$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -vc True || true)
  [ "$not_ready" = 0 ] && [ -z "$(echo "$images" | grep -v "^$registry/yunhui/[a-z]*:0.1.1$")" ]
}
wait_for 240 "every pod (operator, signal, SFU, SIP, recorder) Ready on 0.1.1 from the site registry" all_from_site_registry
figure "yunhui upgrade until signal 0.1.1 Ready: $(since "$t") s"
wait_for 60 "signal answers after the upgrade" curl -sf "$url/readyz"
token=$(sign_in "$url" "$ADMIN_EMAIL" "$admin_password") || fail "prod's administrator cannot sign in after the upgrade"
curl -sf -H "authorization: Bearer $token" "$url/api/v1/schedules/$schedule_id" | grep -q "Survives the upgrade" ||
  fail "prod's scheduled meeting is gone after the upgrade"
wait_for 60 "office signal answers after the upgrade" curl -sf "$office_url/readyz"
office_token=$(sign_in "$office_url" "$OFFICE_ADMIN_EMAIL" "$office_password") || fail "office's administrator cannot sign in after the upgrade"
curl -sf -H "authorization: Bearer $office_token" "$office_url/api/v1/schedules/$office_schedule" | grep -q "In PostgreSQL" ||
  fail "office's scheduled meeting is gone after the upgrade"
ok "upgraded to 0.1.1; accounts and scheduled meetings survived (volume and PostgreSQL)"
# The recorder pod was replaced (new image, new IP): signal still reaches
# the file by the recorder's stable name.
served_again() { curl -sf -o "$work/recording-after-upgrade.webm" "$media" && cmp -s "$work/recording-after-upgrade.webm" "$recorded_file"; }
wait_for 60 "the recording streams from the upgraded recorder pod" served_again
ok "after the upgrade, the recording made before it streams from the replaced recorder pod's volume"

# ---------------------------------------------------------------------------
step "11. yunhui uninstall"
"$yunhui" uninstall --config "$work/site-2.yaml" || fail "yunhui uninstall"
gone() {
  [ -z "$(k get pods -n "$NS" --no-headers 2>/dev/null)" ] &&
    ! k get crd mediaclusters.yunhui.dev >/dev/null 2>&1 &&
    [ -z "$(k get clusterroles,clusterrolebindings --no-headers 2>/dev/null | grep -i yunhui)" ]
}
wait_for 120 "pods, CRDs and cluster roles of ours gone" gone
left=$(k get all,secrets,configmaps,serviceaccounts,roles,rolebindings,networkpolicies,poddisruptionbudgets,leases \
  -n "$NS" -o name 2>/dev/null | grep -vxE 'configmap/kube-root-ca.crt|serviceaccount/default' || true)
[ -z "$left" ] || fail "left in $NS after uninstall: $left"
# The volume claims of the database and of the recordings are kept on
# purpose, with the accounts, meetings and recorded files in them: removing
# them is a separate decision of the site's.
claims=$(k get persistentvolumeclaims -n "$NS" -o name | sort | tr '\n' ' ')
want_claims="persistentvolumeclaim/data-prod-signal-0 persistentvolumeclaim/recordings-prod-recorder-0 "
[ "$claims" = "$want_claims" ] || fail "volume claims after uninstall: '$claims' (want only the kept $want_claims)"
[ "$(k get persistentvolume yunhui-e2e-recordings -o jsonpath='{.status.phase}/{.spec.claimRef.name}')" = Bound/recordings-prod-recorder-0 ] ||
  fail "the recordings' volume is not bound to the kept claim: $(k get persistentvolume yunhui-e2e-recordings -o jsonpath='{.status.phase}/{.spec.claimRef.name}')"
cmp -s "$recorded_file" "$work/recording-served.webm" || fail "the recorded file is gone from the kept volume: $recorded_file"
no_containers() {
  local sock
  for sock in "$kube"/node/containerd/containerd.sock "$kube"/nodes/*/containerd/containerd.sock; do
    [ -S "$sock" ] || continue
    [ -z "$(ctr --address "$sock" -n k8s.io tasks list -q 2>/dev/null)" ] || return 1
  done
}
wait_for 60 "no containers left on either node" no_containers
ss -lun | grep -q ':7882 ' && fail "the SFU's UDP port 7882 is still bound on the node"
ok "nothing of ours left in the API (but the kept claims of the database and the recordings, the file still on its volume) or on the node"
echo
echo "figures:"
cat "$figures"
