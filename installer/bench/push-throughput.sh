#!/usr/bin/env bash
# Push throughput of `yunhui registry push` to a local Debian docker-registry
# (TLS with a throw-away CA, basic auth, as on a site), next to plain disk
# copy throughput of the same bytes. Rerun with:
#
#   installer/bench/push-throughput.sh [MiB per binary, default 64]
#
# Stand-in binaries are random bytes (incompressible, so layer sizes equal the
# input); the bundle has 3 images x 2 arches. Needs docker-registry, openssl
# and htpasswd (apache2-utils), as tests/setup-machine installs; uses
# $YUNHUI_BIN or the debug build in $CARGO_TARGET_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mib=${1:-64}
target=${CARGO_TARGET_DIR:-$HOME/.cache/yunhui/target}
yunhui=${YUNHUI_BIN:-$target/debug/yunhui}
[ -x "$yunhui" ] || (cd "$root" && cargo build -p yunhui-installer --bin yunhui >&2)
work=$(mktemp -d)
registry_pid=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

for arch in amd64 arm64; do
  mkdir -p "bins/$arch"
  for b in yunhui yunhui-signal yunhui-sfu yunhui-operator; do
    head -c "$((mib * 1024 * 1024))" /dev/urandom >"bins/$arch/$b"
  done
done
"$yunhui" bundle keygen --out k >/dev/null
start=$(date +%s.%N)
"$yunhui" bundle build --edition enterprise --arch amd64,arm64 --binaries bins --key k.key \
  --source "$root" --revision bench --archive none --out bundle >/dev/null 2>&1
build_s=$(elapsed "$start")

# Registry: TLS with a throw-away CA, htpasswd basic auth.
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
openssl req -x509 -nodes -days 1 "${ec[@]}" -subj "/CN=bench CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -nodes "${ec[@]}" -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' >ext.cnf
openssl x509 -req -days 1 -CAcreateserial -in server.csr -CA ca.crt -CAkey ca.key \
  -extfile ext.cnf -out server.crt 2>/dev/null
htpasswd -Bbn bench bench >htpasswd
port=$((20000 + RANDOM % 10000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((20000 + RANDOM % 10000)); done
cat >config.yml <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: 127.0.0.1:$port, tls: {certificate: $work/server.crt, key: $work/server.key}}
auth: {htpasswd: {realm: bench, path: $work/htpasswd}}
EOF
docker-registry serve config.yml >/dev/null 2>registry.log &
registry_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

push() {
  echo bench | "$yunhui" registry push bundle --registry "127.0.0.1:$port" --ca ca.crt \
    --username bench --password-stdin --key k.pub --output json
}
start=$(date +%s.%N)
push >first.json
push_s=$(elapsed "$start")
start=$(date +%s.%N)
push >second.json
again_s=$(elapsed "$start")
total() { grep -o "\"$1\": [0-9]*" "$2" | tail -1 | grep -o '[0-9]*$'; }  # the summary's last field of that name
bytes=$(total bytes_uploaded first.json)
skipped=$(total blobs_skipped second.json)

sync
start=$(date +%s.%N)
cp -r bundle/images copy
sync
copy_s=$(elapsed "$start")
copied=$(du -sb copy | cut -f1)

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }
echo "bundle: $(du -sh bundle | cut -f1) ($mib MiB x 8 random binaries), built in ${build_s}s"
echo "push (TLS, basic auth, verify included): $bytes bytes in ${push_s}s = $(mbps "$bytes" "$push_s") MiB/s"
echo "second push (every blob present, $skipped skipped): ${again_s}s"
echo "disk copy (cp -r images + sync): $copied bytes in ${copy_s}s = $(mbps "$copied" "$copy_s") MiB/s"
