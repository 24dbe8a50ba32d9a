#!/usr/bin/env bash
# A real Kubernetes node for tests, next to the control plane of
# control-plane.sh: containerd and runc (Debian), kubelet and kube-proxy (built
# from the control plane's Kubernetes version), the CNI bridge and portmap
# plugins (Debian's containernetworking-plugins), CoreDNS as the cluster DNS
# and a pause image built here. Containers really run: this is where Yunhui's
# own images run as pods.
#
#   node.sh start DIR [NAME] DIR is a control plane started with
#                            YUNHUI_KUBE_NODE_IP set; waits until the node is
#                            Ready and the cluster DNS answers
#   node.sh stop DIR [NAME]  stops everything and undoes every change to the
#                            host (also after a failed start); stopping the
#                            first node stops the others first
#   node.sh import DIR TAR   loads an image archive (docker-archive or OCI
#                            layout tar) into the first node's containerd
#   node.sh registry DIR HOST:PORT [CA-FILE]
#                            lets every node pull from a registry on this
#                            machine: plain HTTP without CA-FILE, else HTTPS
#                            checked against CA-FILE
#   node.sh name DIR [NAME]  prints the node's name
#
# NAME is the Kubernetes node's name; without it, the first node
# (yunhui-node), which also runs what a cluster needs once: kube-proxy,
# CoreDNS and the pods' bridge. Another NAME starts one more node beside a
# running first node, on the same address (this machine's): a containerd and
# a kubelet of its own, its own range of pod addresses on the first node's
# bridge, its own cgroup root (/NAME) and pod-log folder. Host-network pods of
# the two nodes share this machine's ports, so pools meant for different
# nodes need different ports (or a node selector and a taint).
#
# Must run as root (containers, mounts, the bridge and iptables). Everything
# lives under DIR/node (the first node) or DIR/nodes/NAME (containerd's root,
# state and socket, the kubelet's root, logs, certificates); what the
# kubelets and the CNI plugins change outside it is recorded at the first
# node's start and undone at its stop: the bridge, iptables rules, sysctls,
# the kubepods cgroups, /var/lib/kubelet, /var/log/pods and
# /var/log/containers (another node removes its own cgroup root).
#
# Environment: YUNHUI_KUBE_NODE_IP (default: the address of the default
# route's interface; must be what the control plane was started with),
# YUNHUI_KUBE_NODE_BIN (node binaries; default: build-binaries.sh --node),
# YUNHUI_KUBE_NODE_LABELS (extra labels, k=v,k2=v2, e.g.
# topology.kubernetes.io/region=west), YUNHUI_KUBE_NODE_TAINTS (taints the
# node registers with, k=v:NoSchedule,...).
#
# Files in a node's folder: logs/{containerd,kubelet,kube-proxy,coredns}.log,
# pids/*.pid, kubelet/ (root dir), containerd/ (root, state, socket),
# certs.d/ (registry hosts; the first node's, shared by all), host-state/
# (what stop restores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

FIRST_NODE=yunhui-node
BRIDGE=yhnode0
# Every node's pods on the one bridge: the first node's from 10.245.0.2, the
# others' from 10.245.<index>.1.
POD_SUBNET=10.245.0.0/16
POD_GATEWAY=10.245.0.1
PAUSE_IMAGE=yunhui.test/pause:1
CLUSTER_DOMAIN=cluster.local

die() { echo "node: $*" >&2; exit 1; }
log() { echo "node: $*" >&2; }

usage() {
  sed -n '2,/^# Must run as root/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
case "$cmd" in
  start | stop | name) NODE_NAME=${3:-$FIRST_NODE} ;;
  *) NODE_NAME=$FIRST_NODE ;;
esac
[[ "$NODE_NAME" =~ ^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$ ]] || die "bad node name '$NODE_NAME' (lowercase letters, digits and '-')"
first="$dir/node"
if [ "$NODE_NAME" = "$FIRST_NODE" ]; then
  node=$first
  components=(containerd kubelet kube-proxy coredns)
else
  node="$dir/nodes/$NODE_NAME"
  components=(containerd kubelet)
fi
sock="$node/containerd/containerd.sock"
is_first() { [ "$node" = "$first" ]; }

default_ip() {
  ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    if port_free "$p" && ! grep -qx "$p" "$node/.ports" 2>/dev/null; then
      echo "$p" >>"$node/.ports"
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

pid_of() { proc_in "$node" "$1"; }
launch() { launch_in "$node" "$@"; } # name binary args...

wait_until() { # what seconds cmd...
  local what=$1 secs=$2
  shift 2
  poll "$secs" "$@" && return 0
  log "$what: not ready after ${secs}s"
  return 1
}

tail_logs() {
  local c
  for c in "${components[@]}"; do
    [ -f "$node/logs/$c.log" ] || continue
    echo "--- last lines of $node/logs/$c.log" >&2
    tail -n 25 "$node/logs/$c.log" >&2 || true
  done
}

kubectl_() { "$kube_bin/kubectl" --kubeconfig "$dir/kubeconfig" "$@"; }
ctr_() { ctr --address "$sock" -n k8s.io "$@"; }

sign() { # name subject ext : key + cert signed by the control plane's CA
  local name=$1 subj=$2 ext=$3 pki="$node/pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$dir/pki/ca.crt" -CAkey "$dir/pki/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
  chmod 600 "$pki/$name.key"
}

kubeconfig() { # file user
  local b64ca server
  b64ca=$(base64 -w0 <"$dir/pki/ca.crt")
  server=$(sed -n 's/^server=//p' "$dir/state")
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: yunhui-test
  cluster: {server: "$server", certificate-authority-data: $b64ca}
users:
- name: $2
  user: {client-certificate: "$node/pki/$2.crt", client-key: "$node/pki/$2.key"}
contexts:
- name: $2
  context: {cluster: yunhui-test, user: $2}
current-context: $2
EOF
  chmod 600 "$1"
}

# --- host state: recorded at start, restored at stop -----------------------

sysctls=(net/ipv4/ip_forward net/ipv4/conf/all/route_localnet
  net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables)

record_host() {
  local hs="$node/host-state" s
  [ -f "$hs/recorded" ] && return 0
  mkdir -p "$hs"
  for s in "${sysctls[@]}"; do
    [ -f "/proc/sys/$s" ] && echo "$s=$(cat "/proc/sys/$s")" >>"$hs/sysctls"
  done
  iptables-save >"$hs/iptables" 2>/dev/null || : >"$hs/iptables"
  ip6tables-save >"$hs/ip6tables" 2>/dev/null || : >"$hs/ip6tables"
  for p in /var/lib/kubelet /var/log/pods /var/log/containers /run/netns; do
    [ -e "$p" ] && echo "$p" >>"$hs/existing-paths"
  done
  : >>"$hs/existing-paths"
  touch "$hs/recorded"
}

restore_tables() { # save-cmd restore-cmd saved-file
  local save=$1 restore=$2 saved=$3 t
  command -v "$save" >/dev/null || return 0
  # Tables that were not there before are emptied; the others get back
  # exactly what they held.
  for t in $("$save" 2>/dev/null | sed -n 's/^\*//p'); do
    grep -qx "\*$t" "$saved" && continue
    "${save%-save}" -t "$t" -F 2>/dev/null || true
    "${save%-save}" -t "$t" -X 2>/dev/null || true
  done
  [ -s "$saved" ] && "$restore" <"$saved"
}

restore_host() {
  local hs="$node/host-state" line p c
  [ -f "$hs/recorded" ] || return 0
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE" || true; fi
  restore_tables iptables-save iptables-restore "$hs/iptables"
  restore_tables ip6tables-save ip6tables-restore "$hs/ip6tables"
  while IFS= read -r line; do
    [ -n "$line" ] && echo "${line#*=}" >"/proc/sys/${line%%=*}" 2>/dev/null || true
  done <"$hs/sysctls"
  # The kubelet's cgroups (cgroupfs driver): deepest first.
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice /sys/fs/cgroup/kubepods; do
    [ -d "$c" ] || continue
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  for p in /var/lib/kubelet /var/log/pods /var/log/containers; do
    grep -qx "$p" "$hs/existing-paths" && continue
    [ -e "$p" ] || continue
    unmount_under "$p"
    rm -rf "$p"
  done
  rm -f "$hs/recorded"
}

unmount_under() { # every mount point under a path, deepest first
  local root=$1 m
  { awk '{print $2}' /proc/self/mounts | sed 's/\\040/ /g' | grep -E "^$root(/|$)" || true; } | sort -r |
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

# --- start ------------------------------------------------------------------

write_containerd_config() {
  local cfg="$node/containerd/config.toml"
  cat >"$cfg" <<EOF
version = 2
root = "$node/containerd/root"
state = "$node/containerd/state"
oom_score = 0
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$node/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$first/certs.d"
EOF
}

write_cni_config() { # index: 0 for the first node
  local start end
  if [ "$1" = 0 ]; then
    start=10.245.0.2 end=10.245.0.254
  else
    start=10.245.$1.1 end=10.245.$1.254
  fi
  mkdir -p "$node/cni/net.d" "$node/cni/ipam"
  cat >"$node/cni/net.d/10-yunhui-test.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "yunhui-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET", "rangeStart": "$start", "rangeEnd": "$end", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$node/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# The sandbox image: the static pause binary in a one-layer image, built
# with umoci and handed to containerd as a docker-archive by skopeo.
import_pause() {
  local work="$node/pause-image"
  rm -rf "$work"
  mkdir -p "$work/rootfs"
  cp "$node_bin/pause" "$work/rootfs/pause"
  umoci init --layout "$work/layout" >/dev/null
  umoci new --image "$work/layout:pause" >/dev/null
  umoci insert --image "$work/layout:pause" "$work/rootfs/pause" /pause >/dev/null
  umoci config --image "$work/layout:pause" --config.entrypoint /pause \
    --config.user 65535 --os linux --architecture "$(go_arch)" >/dev/null
  skopeo copy --quiet "oci:$work/layout:pause" "docker-archive:$work/pause.tar:$PAUSE_IMAGE" >/dev/null
  ctr_ images import "$work/pause.tar" >/dev/null
  rm -rf "$work"
}

go_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    loongarch64) echo loong64 ;;
    *) uname -m ;;
  esac
}

cmd_start() {
  [ "$(id -u)" = 0 ] || die "must run as root (containers, mounts, bridge, iptables)"
  [ -f "$dir/state" ] || die "no control plane in $dir (start it with YUNHUI_KUBE_NODE_IP set)"
  local c
  for c in "${components[@]}"; do
    if pid_of "$c" >/dev/null; then die "$c is already running from $node (stop it first)"; fi
  done
  for c in containerd runc iptables-save umoci skopeo openssl; do
    command -v "$c" >/dev/null || die "$c is missing; run tests/setup-machine"
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/portmap ] || die "CNI plugins missing; run tests/setup-machine"
  node_ip=${YUNHUI_KUBE_NODE_IP:-$(default_ip)}
  [ -n "$node_ip" ] || die "no node address: set YUNHUI_KUBE_NODE_IP"
  local cp_ip
  if ! is_first; then
    proc_in "$first" kubelet >/dev/null && [ -f "$first/state" ] ||
      die "start the first node ($FIRST_NODE) before $NODE_NAME: it runs the bridge, kube-proxy and CoreDNS"
  fi
  cp_ip=$(sed -n 's/^node_ip=//p' "$dir/state")
  [ "$cp_ip" = "$node_ip" ] || die "the control plane in $dir was started with YUNHUI_KUBE_NODE_IP='$cp_ip', not $node_ip"
  kube_bin=$(sed -n 's/^bin=//p' "$dir/state")
  node_bin=${YUNHUI_KUBE_NODE_BIN:-$("$here/build-binaries.sh" --node | tail -n 1)}
  for c in kubelet kube-proxy pause coredns; do [ -x "$node_bin/$c" ] || die "missing $node_bin/$c"; done

  local t0
  t0=$(date +%s.%N)
  mkdir -p "$node/logs" "$node/pids" "$node/pki" "$node/containerd" "$node/kubelet" "$first/certs.d"
  rm -f "$node/.ports"
  if is_first; then
    record_host
  else
    make_cgroup_root
  fi
  if ! start_all; then
    tail_logs
    log "start failed; stopping what was started"
    cmd_stop
    exit 1
  fi
  log "node $NODE_NAME ($node_ip) ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
  echo "$NODE_NAME"
}

start_all() {
  local index=0
  is_first || index=$(node_index)
  cat >"$node/state" <<EOF
node_ip=$node_ip
kube_bin=$kube_bin
node_bin=$node_bin
index=$index
EOF
  if is_first; then
    # Routing for pods and Services; restored at stop.
    echo 1 >/proc/sys/net/ipv4/ip_forward
    [ -f /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null || true
    [ -f /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  fi

  write_containerd_config
  write_cni_config "$index"
  log "starting containerd ($sock)"
  launch containerd containerd --config "$node/containerd/config.toml"
  wait_until containerd 30 ctr --address "$sock" version || return 1
  import_pause || { log "could not build or import the pause image"; return 1; }

  # Certificates: the kubelet's client identity (Node authorizer), its
  # serving certificate (the API server checks it against the CA), and
  # kube-proxy's identity (bound to system:node-proxier by default).
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
  sign kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$node_ip,DNS:$NODE_NAME"
  kubeconfig "$node/kubelet.kubeconfig" kubelet

  local kubelet_port healthz_port proxy_healthz dns_ready
  kubelet_port=$(free_port)
  healthz_port=$(free_port)
  echo "kubelet_healthz=$healthz_port" >>"$node/state"
  if is_first; then
    start_cluster_dns "$client"
  fi
  start_kubelet
  if is_first; then
    start_kube_proxy "$client"
  fi
  wait_until kubelet 60 curl -sf "http://127.0.0.1:$healthz_port/healthz" || return 1
  wait_until "node $NODE_NAME Ready" 90 node_ready || return 1
  if is_first; then
    wait_until kube-proxy 60 curl -sf "http://127.0.0.1:$proxy_healthz/healthz" || return 1
    wait_until coredns 60 curl -sf "http://127.0.0.1:$dns_ready/ready" || return 1
  fi
  # Pods may be created once the namespace's ServiceAccount exists.
  wait_until "default ServiceAccount" 60 kubectl_ get serviceaccount default -n default || return 1
}

# The lowest index no other node of DIR holds (its pod addresses).
node_index() {
  local i f taken
  for ((i = 1; i < 250; i++)); do
    taken=0
    for f in "$dir"/nodes/*/state; do
      [ -f "$f" ] && [ "$f" != "$node/state" ] && grep -qx "index=$i" "$f" && taken=1
    done
    [ "$taken" = 0 ] && { echo "$i"; return 0; }
  done
  die "no pod address range left"
}

# Another node's cgroup root (cgroupfs driver): /NAME in every hierarchy,
# the cpuset's CPUs and memory nodes copied from the root's.
make_cgroup_root() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -f "${h}cgroup.procs" ] || continue
    mkdir -p "$h$NODE_NAME"
    if [ -f "${h}cpuset.cpus" ]; then
      cat "${h}cpuset.cpus" >"$h$NODE_NAME/cpuset.cpus"
      cat "${h}cpuset.mems" >"$h$NODE_NAME/cpuset.mems"
    fi
  done
  if [ -f /sys/fs/cgroup/cgroup.procs ]; then mkdir -p "/sys/fs/cgroup/$NODE_NAME"; fi
}

remove_cgroup_root() {
  local c
  for c in /sys/fs/cgroup/*/"$NODE_NAME" "/sys/fs/cgroup/$NODE_NAME"; do
    [ -d "$c" ] || continue
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# CoreDNS answers for the cluster domain on the node's address, port 53:
# the pods of every node get it as their nameserver (clusterDNS below).
start_cluster_dns() { # client-certificate extensions
  local dns_health
  dns_health=$(free_port)
  dns_ready=$(free_port)
  sign coredns "/O=system:masters/CN=coredns" "$1"
  kubeconfig "$node/coredns.kubeconfig" coredns

  cat >"$node/Corefile" <<EOF
.:53 {
    bind $node_ip
    errors
    health 127.0.0.1:$dns_health
    ready 127.0.0.1:$dns_ready
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $node/coredns.kubeconfig coredns
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
EOF
  log "starting coredns on $node_ip:53"
  launch coredns "$node_bin/coredns" -conf "$node/Corefile"
}

start_kubelet() {
  local labels="yunhui.dev/test-node=real${YUNHUI_KUBE_NODE_LABELS:+,$YUNHUI_KUBE_NODE_LABELS}"
  local extra="" taints=()
  if ! is_first; then
    # Apart from the first node's pods: their cgroups and their logs (a
    # kubelet removes the pod logs of pods it does not know).
    extra="cgroupRoot: /$NODE_NAME
podLogsDir: $node/pod-logs"
    mkdir -p "$node/pod-logs"
  fi
  [ -n "${YUNHUI_KUBE_NODE_TAINTS:-}" ] && taints=(--register-with-taints "$YUNHUI_KUBE_NODE_TAINTS")

  cat >"$node/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$dir/pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$node/pki/kubelet-serving.crt"
tlsPrivateKeyFile: "$node/pki/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$sock"
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDNS: [$node_ip]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
$extra
EOF
  log "starting kubelet (node $NODE_NAME at $node_ip:$kubelet_port)"
  launch kubelet "$node_bin/kubelet" \
    --config "$node/kubelet.yaml" \
    --kubeconfig "$node/kubelet.kubeconfig" \
    --root-dir "$node/kubelet" \
    --hostname-override "$NODE_NAME" \
    --node-ip "$node_ip" \
    --node-labels "$labels" "${taints[@]}"
}

start_kube_proxy() { # client-certificate extensions
  local proxy_metrics
  proxy_healthz=$(free_port)
  proxy_metrics=$(free_port)
  sign kube-proxy "/CN=system:kube-proxy" "$1"
  kubeconfig "$node/kube-proxy.kubeconfig" kube-proxy

  cat >"$node/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$node/kube-proxy.kubeconfig"}
mode: iptables
hostnameOverride: $NODE_NAME
bindAddress: $node_ip
clusterCIDR: $POD_SUBNET
healthzBindAddress: 127.0.0.1:$proxy_healthz
metricsBindAddress: 127.0.0.1:$proxy_metrics
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  log "starting kube-proxy"
  launch kube-proxy "$node_bin/kube-proxy" --config "$node/kube-proxy.yaml"
}

node_ready() {
  [ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# --- stop -------------------------------------------------------------------

stop_pid() { # name: TERM, then KILL after 15s
  local pid i
  pid=$(pid_of "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 75; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

cmd_stop() {
  [ -d "$node" ] || return 0
  # Best effort from here on: every step runs even when one fails.
  set +e
  if is_first; then
    local other
    for other in "$dir"/nodes/*/; do
      [ -d "$other" ] && "$0" stop "$dir" "$(basename "$other")"
    done
  fi
  local st="$node/state" kube_bin="" node_bin="" id
  if [ -f "$st" ]; then
    kube_bin=$(sed -n 's/^kube_bin=//p' "$st")
    node_bin=$(sed -n 's/^node_bin=//p' "$st")
  fi
  # Pods first, gracefully, while the kubelet runs (their controllers may
  # make new ones, which the forced stop below takes care of).
  if [ -n "$kube_bin" ] && pid_of kubelet >/dev/null && [ -f "$dir/kubeconfig" ]; then
    kubectl_ delete pods --all-namespaces --all --field-selector "spec.nodeName=$NODE_NAME" \
      --wait=true --timeout=30s >/dev/null 2>&1 || true
  fi
  stop_pid kube-proxy
  if [ -n "$node_bin" ] && [ -x "$node_bin/kube-proxy" ]; then
    "$node_bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  stop_pid kubelet
  stop_pid coredns
  # Whatever still runs: every container's task, then the sandboxes.
  if pid_of containerd >/dev/null; then
    for id in $(ctr_ tasks list -q 2>/dev/null); do
      ctr_ tasks kill -s KILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for id in $(ctr_ tasks list -q 2>/dev/null); do
      ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ containers list -q 2>/dev/null); do
      ctr_ containers delete "$id" >/dev/null 2>&1 || true
    done
  fi
  stop_pid containerd
  # Shims of this containerd (they outlive it by design).
  pkill -KILL -f -- "-address $sock" 2>/dev/null || true
  pkill -KILL -f -- "containerd-shim.*$node/" 2>/dev/null || true
  unmount_under "$node"
  if is_first; then
    restore_host
  else
    remove_cgroup_root
  fi
  if [ -n "$kube_bin" ] && [ -f "$dir/kubeconfig" ] && [ -f "$dir/state" ]; then
    kubectl_ delete node "$NODE_NAME" --wait=false >/dev/null 2>&1 || true
  fi
  rm -f "$node/pids/"*.pid "$node/.ports"
  # The node's data is throw-away: overlay snapshots and pod volumes.
  rm -rf "$node/containerd/root" "$node/containerd/state" "$node/kubelet" "$node/cni/ipam" "$node/pod-logs"
}

cmd_import() {
  [ -f "${1:-}" ] || die "import: no such archive: ${1:-}"
  ctr_ images import "$1"
}

cmd_registry() {
  local host=${1:-} ca=${2:-} d
  [ -n "$host" ] || die "registry: HOST:PORT is missing"
  d="$node/certs.d/$host"
  mkdir -p "$d"
  if [ -n "$ca" ]; then
    cp "$ca" "$d/ca.crt"
    printf 'server = "https://%s"\n\n[host."https://%s"]\n  capabilities = ["pull", "resolve"]\n  ca = "%s"\n' \
      "$host" "$host" "$d/ca.crt" >"$d/hosts.toml"
  else
    printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$host" "$host" >"$d/hosts.toml"
  fi
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  import) cmd_import "${3:-}" ;;
  registry) cmd_registry "${3:-}" "${4:-}" ;;
  name) echo "$NODE_NAME" ;;
  *) usage ;;
esac
