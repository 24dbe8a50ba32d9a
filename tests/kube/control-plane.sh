#!/usr/bin/env bash
# A real, throw-away Kubernetes control plane for tests, all on loopback:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
# (fake nodes that "run" pods). Binaries come from build-binaries.sh.
#
#   control-plane.sh start DIR          start everything, state in DIR; waits for /readyz
#   control-plane.sh stop DIR           stop everything started in DIR and wait for it
#   control-plane.sh env DIR            print `export NAME=value` lines (same as DIR/env)
#   control-plane.sh create-nodes DIR N [ARCH] [PREFIX]
#                                       create N kwok fake nodes (ARCH amd64|arm64,
#                                       default amd64; names PREFIX-ARCH-i, default kwok)
#   control-plane.sh user DIR NAME [GROUP...]
#                                       mint a client certificate for user NAME and
#                                       write DIR/users/NAME.kubeconfig (prints its path)
#
# Files written to DIR by start:
#   kubeconfig       admin (group system:masters) by client certificate
#   admin.token      a static bearer token for the same admin (token auth also works)
#   audit.log        API server audit log, one JSON event per line (stage
#                    ResponseComplete, level Metadata, every request)
#   env              the variables below, as `export NAME=value` lines
#   pki/             ca.crt ca.key apiserver.{crt,key} admin.{crt,key} sa.{key,pub}
#   logs/*.log       each component's output; pids/*.pid its process id
#
# Variables (in DIR/env): KUBECONFIG, YUNHUI_KUBE_DIR, YUNHUI_KUBE_SERVER,
# YUNHUI_KUBE_CA, YUNHUI_KUBE_TOKEN_FILE, YUNHUI_KUBE_AUDIT_LOG, YUNHUI_KUBE_BIN.
#
# Environment for start: YUNHUI_KUBE_OWNER_PID=PID stops the control plane when
# that process exits (so a crashed test run leaves nothing behind);
# YUNHUI_KUBE_NODE_IP=IP prepares for a real node (node.sh) at that address:
# the API server listens on all addresses and advertises IP (so the
# `kubernetes` Service reaches it from pods), its certificate names IP, and it
# reaches kubelets with a client certificate, checking theirs against the CA;
# YUNHUI_KUBE_BIN=DIR uses binaries from DIR instead of calling build-binaries.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

die() { echo "control-plane: $*" >&2; exit 1; }
log() { echo "control-plane: $*" >&2; }

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

abs_dir() { # creates it
  mkdir -p "$1"
  (cd "$1" && pwd)
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports come from below the kernel's ephemeral range, so an outgoing
# connection's local port cannot take one between the check and the bind.
free_port() {
  local p i lo hi
  lo=10000
  hi=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$hi" -gt $((lo + 1000)) ] || { lo=$((hi + 1000)); hi=60000; }
  for ((i = 0; i < 200; i++)); do
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
    if port_free "$p" && ! grep -qx "$p" "$dir/.ports" 2>/dev/null; then
      echo "$p" >>"$dir/.ports"
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# Every component has DIR on its command line (a guard against reused pids).
pid_of() { proc_in "$dir" "$1"; } # component -> pid if running and ours
launch() { launch_in "$dir" "$@"; } # name binary args...

wait_for() { # name seconds cmd... ; waits until cmd succeeds while name runs
  local name=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! pid_of "$name" >/dev/null; then
      local pid rc=unknown
      pid=$(cat "$dir/pids/$name.pid" 2>/dev/null) || true
      # Our own child: its exit status says whether it failed or was killed.
      if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        rc=$?
      elif [ -n "$pid" ]; then
        rc="still running as pid $pid with cmdline '$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)'"
      fi
      log "$name exited (status $rc); last lines of $dir/logs/$name.log:"
      tail -n 30 "$dir/logs/$name.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  log "$name not ready after ${secs}s; last lines of $dir/logs/$name.log:"
  tail -n 30 "$dir/logs/$name.log" >&2 || true
  return 1
}

curl_admin() { # path [curl args...]
  local path=$1
  shift
  curl -sS --fail --max-time 10 --cacert "$dir/pki/ca.crt" \
    --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$@" "$server$path"
}

# --- certificates (openssl) -------------------------------------------------

sign() { # name subject ext-file-content : key + cert signed by the CA
  local name=$1 subj=$2 ext=$3
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$pki/$name.ext" \
    -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
  chmod 600 "$pki/$name.key"
}

make_pki() {
  pki="$dir/pki"
  mkdir -p "$pki"
  [ -f "$pki/front-proxy-client.crt" ] && return 0 # complete set
  command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=yunhui-test-ca" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$pki/ca.crt" 2>/dev/null
  chmod 600 "$pki/ca.key"
  sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1${node_ip:+,IP:$node_ip},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  sign admin "/O=system:masters/CN=admin" "$client"
  # Each component has its own identity, so audit entries tell them apart from
  # a test's own requests (user.username in audit.log).
  sign kube-controller-manager "/CN=system:kube-controller-manager" "$client"
  sign kube-scheduler "/CN=system:kube-scheduler" "$client"
  sign kwok "/O=system:masters/CN=kwok" "$client"
  # The API server's client certificate towards kubelets (node.sh).
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  # The API server's client certificate towards aggregated API servers.
  sign front-proxy-client "/CN=front-proxy-client" "$client"
  # Service-account token signing key (RSA, as most clients expect RS256).
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  chmod 600 "$pki/sa.key"
}

b64() { base64 -w0 <"$1"; }

write_kubeconfig() { # file user cert key
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: yunhui-test
  cluster:
    server: $server
    certificate-authority-data: $(b64 "$dir/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: $2@yunhui-test
  context:
    cluster: yunhui-test
    user: $2
current-context: $2@yunhui-test
EOF
  chmod 600 "$1"
}

# --- commands ---------------------------------------------------------------

load_state() {
  [ -f "$dir/state" ] || die "no control plane in $dir (run: $0 start $dir)"
  # shellcheck disable=SC1091
  . "$dir/state"
}

cmd_start() {
  local t0 bin
  t0=$(date +%s.%N)
  for c in "${components[@]}"; do
    if pid_of "$c" >/dev/null; then die "$c is already running from $dir (stop it first)"; fi
  done
  if [ -n "${YUNHUI_KUBE_BIN:-}" ]; then
    bin=$YUNHUI_KUBE_BIN
  else
    bin=$("$here/build-binaries.sh" | tail -n 1)
  fi
  for c in "${components[@]}"; do [ -x "$bin/$c" ] || die "missing $bin/$c"; done
  command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

  mkdir -p "$dir/logs" "$dir/pids"
  rm -f "$dir/.ports" "$dir/pids/"*.pid
  node_ip=${YUNHUI_KUBE_NODE_IP:-}
  make_pki
  t0=$(date +%s.%N) # start-up time excludes the (cached) build and key generation

  local token
  if [ -f "$dir/admin.token" ]; then token=$(cat "$dir/admin.token"); else
    token=$(openssl rand -hex 24)
    echo "$token" >"$dir/admin.token"
    chmod 600 "$dir/admin.token"
  fi
  echo "$token,admin,admin,system:masters" >"$dir/pki/tokens.csv"
  chmod 600 "$dir/pki/tokens.csv"

  cat >"$dir/audit-policy.yaml" <<'EOF'
# Every request once (when its response is complete), with metadata only:
# tests count requests by verb, resource and user from DIR/audit.log.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
EOF

  local attempt ok=0
  for attempt in 1 2 3; do
    if launch_all "$bin"; then ok=1; break; fi
    log "start failed; stopping what was started"
    cmd_stop
    # Keep this attempt's logs; the next attempt starts them afresh.
    mkdir -p "$dir/logs/attempt-$attempt"
    cp "$dir/logs/"*.log "$dir/logs/attempt-$attempt/" 2>/dev/null || true
    # A port another process took, or a component that died on a loaded
    # machine: choose ports again and start once more.
    [ "$attempt" -lt 3 ] && log "retrying with other ports (attempt $((attempt + 1)) of 3; logs of the last one in $dir/logs/attempt-$attempt)"
  done
  [ "$ok" = 1 ] || die "could not start the control plane; logs in $dir/logs"

  if [ -n "${YUNHUI_KUBE_OWNER_PID:-}" ]; then
    local owner=$YUNHUI_KUBE_OWNER_PID
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$3" ]; do sleep 1; done
      [ -f "$3" ] && exec "$2" stop "${3%/state}"' watchdog "$owner" "$here/control-plane.sh" "$dir/state" \
      </dev/null >>"$dir/logs/watchdog.log" 2>&1 &
    echo $! >"$dir/pids/watchdog.pid"
  fi

  local t1
  t1=$(date +%s.%N)
  log "ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s: KUBECONFIG=$dir/kubeconfig"
  echo "$dir/env"
}

# Chooses ports and starts every component; returns non-zero when one fails.
launch_all() {
  local bin=$1
  rm -f "$dir/.ports"
  for c in "${components[@]}"; do : >"$dir/logs/$c.log"; done
  local etcd_port etcd_peer api_port kcm_port sched_port kwok_port
  etcd_port=$(free_port) || return 1
  etcd_peer=$(free_port) || return 1
  api_port=$(free_port) || return 1
  kcm_port=$(free_port) || return 1
  sched_port=$(free_port) || return 1
  kwok_port=$(free_port) || return 1
  server="https://127.0.0.1:$api_port"
  write_kubeconfig "$dir/kubeconfig" admin "$dir/pki/admin.crt" "$dir/pki/admin.key"
  mkdir -p "$dir/components"
  for c in kube-controller-manager kube-scheduler kwok; do
    write_kubeconfig "$dir/components/$c.kubeconfig" "$c" "$dir/pki/$c.crt" "$dir/pki/$c.key"
  done

  cat >"$dir/state" <<EOF
bin=$bin
server=$server
etcd_port=$etcd_port
api_port=$api_port
kcm_port=$kcm_port
sched_port=$sched_port
kwok_port=$kwok_port
node_ip=$node_ip
EOF
  write_env "$bin"

  local t_launch
  t_launch=$(date +%s.%N)
  log "starting etcd on 127.0.0.1:$etcd_port"
  mkdir -p -m 700 "$dir/etcd"
  launch etcd "$bin/etcd" \
    --name default --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" \
    --quota-backend-bytes $((512 * 1024 * 1024)) \
    --unsafe-no-fsync --log-level warn
  wait_for etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health" || return 1

  local network=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none)
  if [ -n "$node_ip" ]; then
    network=(--bind-address 0.0.0.0 --advertise-address "$node_ip"
      --kubelet-client-certificate "$dir/pki/apiserver-kubelet-client.crt"
      --kubelet-client-key "$dir/pki/apiserver-kubelet-client.key"
      --kubelet-certificate-authority "$dir/pki/ca.crt"
      --kubelet-preferred-address-types InternalIP,Hostname)
  fi
  log "starting kube-apiserver on $server"
  launch kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --secure-port "$api_port" "${network[@]}" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --requestheader-client-ca-file "$dir/pki/ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$dir/pki/front-proxy-client.crt" \
    --proxy-client-key-file "$dir/pki/front-proxy-client.key" \
    --token-auth-file "$dir/pki/tokens.csv" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$dir/pki/sa.pub" \
    --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode Node,RBAC \
    --allow-privileged \
    --audit-policy-file "$dir/audit-policy.yaml" \
    --audit-log-path "$dir/audit.log" --audit-log-format json --audit-log-maxsize 0 \
    --profiling=false
  wait_for kube-apiserver 90 curl_admin /readyz || return 1
  log "kube-apiserver /readyz ok after $(awk -v a="$t_launch" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s (etcd included)"

  log "starting kube-controller-manager"
  launch kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$dir/components/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$dir/components/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$dir/components/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" \
    --controllers '*' --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$dir/pki/sa.key" \
    --root-ca-file "$dir/pki/ca.crt" \
    --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --node-monitor-grace-period 5m \
    --profiling=false

  log "starting kube-scheduler"
  launch kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$dir/components/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$dir/components/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$dir/components/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$sched_port" \
    --leader-elect=false --profiling=false

  log "starting kwok"
  launch kwok "$bin/kwok" \
    --config "$here/kwok-stages.yaml" \
    --kubeconfig "$dir/components/kwok.kubeconfig" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --cidr 10.244.0.1/16 \
    --server-address "127.0.0.1:$kwok_port"

  wait_for kube-controller-manager 60 curl -skf "https://127.0.0.1:$kcm_port/healthz" || return 1
  wait_for kube-scheduler 60 curl -skf "https://127.0.0.1:$sched_port/healthz" || return 1
  wait_for kwok 60 curl -sf "http://127.0.0.1:$kwok_port/healthz" || return 1

}

write_env() {
  cat >"$dir/env" <<EOF
export KUBECONFIG=$dir/kubeconfig
export YUNHUI_KUBE_DIR=$dir
export YUNHUI_KUBE_SERVER=$server
export YUNHUI_KUBE_CA=$dir/pki/ca.crt
export YUNHUI_KUBE_TOKEN_FILE=$dir/admin.token
export YUNHUI_KUBE_AUDIT_LOG=$dir/audit.log
export YUNHUI_KUBE_BIN=$1
EOF
}

cmd_stop() {
  # TERM to everything but etcd at once (each takes a second or more to shut
  # down), then etcd: an API server whose etcd is gone takes 10s to give up.
  # KILL whatever is left after 20s.
  stop_group watchdog kwok kube-scheduler kube-controller-manager kube-apiserver
  stop_group etcd
  rm -f "$dir/pids/"*.pid "$dir/state" "$dir/.ports"
}

stop_group() {
  local c pid i pids=()
  for c in "$@"; do
    if pid=$(pid_of "$c") && [ "$pid" != "$$" ]; then # $$: the watchdog, become this stop
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 200; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "process $pid did not stop in 20s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
}

cmd_create_nodes() {
  local n=$1 arch=${2:-amd64} prefix=${3:-kwok} i name
  case $arch in amd64 | arm64 | loong64 | riscv64 | s390x | ppc64le) ;; *) die "unknown arch $arch" ;; esac
  load_state
  for ((i = 0; i < n; i++)); do
    name="$prefix-$arch-$i"
    curl_admin /api/v1/nodes -o /dev/null -X POST -H 'Content-Type: application/json' -d @- <<EOF
{
  "apiVersion": "v1",
  "kind": "Node",
  "metadata": {
    "name": "$name",
    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
    "labels": {
      "type": "kwok",
      "kubernetes.io/arch": "$arch",
      "kubernetes.io/os": "linux",
      "kubernetes.io/hostname": "$name",
      "node-role.kubernetes.io/agent": ""
    }
  },
  "spec": {},
  "status": {
    "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
    "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
    "nodeInfo": {"architecture": "$arch", "operatingSystem": "linux", "kubeletVersion": "fake", "kubeProxyVersion": "fake",
      "bootID": "", "containerRuntimeVersion": "", "kernelVersion": "", "machineID": "", "osImage": "", "systemUUID": ""}
  }
}
EOF
    echo "$name"
  done
}

cmd_user() {
  local name=$1 subj="" g
  shift
  load_state
  pki="$dir/pki"
  for g in "$@"; do subj+="/O=$g"; done
  mkdir -p "$dir/users"
  sign "user-$name" "$subj/CN=$name" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  mv "$pki/user-$name.crt" "$pki/user-$name.key" "$dir/users/"
  mv "$dir/users/user-$name.crt" "$dir/users/$name.crt"
  mv "$dir/users/user-$name.key" "$dir/users/$name.key"
  write_kubeconfig "$dir/users/$name.kubeconfig" "$name" "$dir/users/$name.crt" "$dir/users/$name.key"
  echo "$dir/users/$name.kubeconfig"
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$(abs_dir "$2")
shift 2
case $cmd in
start) cmd_start ;;
stop) cmd_stop ;;
env)
  [ -f "$dir/env" ] || die "no control plane in $dir"
  cat "$dir/env"
  ;;
create-nodes)
  [ $# -ge 1 ] || usage
  cmd_create_nodes "$@"
  ;;
user)
  [ $# -ge 1 ] || usage
  cmd_user "$@"
  ;;
*) usage ;;
esac
