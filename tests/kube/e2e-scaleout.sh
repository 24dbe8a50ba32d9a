# shellcheck shell=bash
# Sourced by e2e-install.sh (step 8), with its helpers and variables: issue
# 11's scale-out on the real node, with MediaCluster "office" (external
# PostgreSQL, `signal: {replicas: 2}`, an SFU pool of `networking:
# HostNetworkSlots` with two slots and two pods):
#
#   - both SFU pods run on the one node's host network, on slots 0 and 1
#     (UDP 7892 and 7902);
#   - ten meetings of two SDK participants each (yunhui-meeting-check
#     spread) through the Gateway: every participant receives every other's
#     audio and video, and signal's node table shows rooms on both SFU nodes;
#   - one meeting on one SFU pod, that pod deleted (SIGTERM): it drains,
#     reports itself leaving, the meeting moves to the other pod and its
#     participants' media comes back without a rejoin (yunhui-meeting-check
#     drain; the longest silence is a figure);
#   - one meeting whose participants join through the two signal pods,
#     each addressed directly: media flows (one is relayed to the owner);
#     then the owner pod (named by the meeting's lease in PostgreSQL) is
#     force-deleted, the participants join again through the Gateway's
#     Service, the other replica takes the meeting over and media flows
#     again in the same meeting (yunhui-meeting-check failover).

step "8. scale-out on the real node: two SFU pods, two signal replicas (office)"
checker="$static/yunhui-meeting-check"
[ -x "$checker" ] || fail "no $checker (tests/kube/build-static.sh builds it)"
office_port=$(k get service -n "$NS" office -o jsonpath='{.spec.ports[0].nodePort}')
office_url="http://127.0.0.1:$office_port"
wait_for 60 "office signal through its Gateway" curl -sf "$office_url/readyz"
wait_for 120 "the operator wrote globex's administrator password" has_password globex-first-admin
office_password=$(k get secret -n "$NS" globex-first-admin -o jsonpath='{.data.password}' | base64 -d)
printf '%s' "$office_password" >"$work/office-password"
k get secret -n "$NS" office-keys -o jsonpath='{.data.internal-key}' | base64 -d >"$work/office-internal-key"
office_pods() { # component -> "name ip node" lines
  k get pods -n "$NS" -l "app.kubernetes.io/component=$1,app.kubernetes.io/instance=office" \
    -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName}{"\n"}{end}'
}
mapfile -t sfu_pods < <(office_pods sfu)
[ "${#sfu_pods[@]}" = 2 ] || fail "office should run two SFU pods, has: ${sfu_pods[*]}"
for line in "${sfu_pods[@]}"; do
  read -r name ip node <<<"$line"
  [ "$node" = yunhui-node ] && [ "$ip" = "$node_ip" ] ||
    fail "SFU pod $name is not on the real node's host network ($ip on $node)"
done
for port in 7892 7902; do
  ss -lun | grep -q ":$port " || fail "nothing binds UDP $port on the node (slots 0 and 1): $(ss -lun | grep ':79' || true)"
done
ok "office's two SFU pods share the one node's host network on their own slots (UDP 7892 and 7902)"

mapfile -t signal_pods < <(office_pods signal)
[ "${#signal_pods[@]}" = 2 ] || fail "office should run two signal pods, has: ${signal_pods[*]}"
read -r _ signal_a _ <<<"${signal_pods[0]}"
read -r _ signal_b _ <<<"${signal_pods[1]}"
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

current="8. ten meetings over two SFU nodes"
t=$(now)
"$checker" --url "$office_url" --login "$OFFICE_ADMIN_EMAIL" --password-file "$work/office-password" \
  spread --meetings 10 --participants 2 --min-nodes 2 \
  --media-nodes "http://$signal_a:8080/internal/v1/media-nodes" --internal-key-file "$work/office-internal-key" \
  >"$work/spread.json" || fail "yunhui-meeting-check spread (output above)"
figure "10 meetings, 20 SDK participants through office's Gateway: all media flowing after $(json_field "$work/spread.json" all_media_ms) ms; rooms per SFU node $(json_field "$work/spread.json" rooms_per_node); $(since "$t") s with signing in and leaving"
ok "ten meetings spread over both SFU pods; every participant receives every other's audio and video"

current="8. an SFU pod with a live meeting deleted"
# kubectl delete sends SIGTERM: the pod drains (drainTimeoutSeconds 15),
# reports itself leaving 10 s before the end, signal moves the meeting to
# the other SFU pod and the SDK clients reconnect their media by themselves.
t=$(now)
"$checker" --url "$office_url" --login "$OFFICE_ADMIN_EMAIL" --password-file "$work/office-password" \
  drain --media-nodes "http://$signal_a:8080/internal/v1/media-nodes" --internal-key-file "$work/office-internal-key" \
  --between "$kube_bin/kubectl --kubeconfig $kube/kubeconfig delete pod -n $NS \$YUNHUI_SFU_NODE --wait=false" \
  >"$work/drain.json" || fail "yunhui-meeting-check drain (output above)"
dr() { json_field "$work/drain.json" "$1"; }
figure "SFU pod $(dr drained) deleted with a live meeting: moved to $(dr now_on) after $(dr moved_ms) ms (drain, then leaving), media back after $(dr media_again_ms) ms; longest silence of a track $(dr longest_silence_ms) ms"
ok "an SFU pod deleted with a live meeting drained, and the meeting moved to the other pod without a rejoin"
wait_for 120 "office's two SFU pods Ready again" \
  pods_ready "app.kubernetes.io/component=sfu,app.kubernetes.io/instance=office" 2

current="8. one meeting across two signal pods, its owner killed"
# The owner is the replica whose address the meeting's lease names.
cat >"$work/kill-owner.sh" <<KILL
set -eu
owner=\$(PGPASSWORD=$pg_password "$pg_bin/psql" -h "$node_ip" -p "$pg_port" -U yunhui -d yunhui -tAc \\
  "select replica_url from meeting_owners where meeting_id = '\$YUNHUI_MEETING_ID'")
ip=\${owner#http://}
ip=\${ip%%:*}
pod=\$("$kube_bin/kubectl" --kubeconfig "$kube/kubeconfig" get pods -n "$NS" \\
  -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=office \\
  -o jsonpath="{.items[?(@.status.podIP=='\$ip')].metadata.name}")
[ -n "\$pod" ] || { echo "no signal pod at the owner's address '\$owner'" >&2; exit 1; }
"$kube_bin/kubectl" --kubeconfig "$kube/kubeconfig" delete pod -n "$NS" "\$pod" --grace-period=0 --force >/dev/null 2>&1
echo "\$pod"
KILL
t=$(now)
"$checker" --url "$office_url" --login "$OFFICE_ADMIN_EMAIL" --password-file "$work/office-password" \
  failover --join-urls "http://$signal_a:8080,http://$signal_b:8080" --between "sh $work/kill-owner.sh" \
  >"$work/failover.json" || fail "yunhui-meeting-check failover (output above)"
fo() { json_field "$work/failover.json" "$1"; }
figure "one meeting joined through both signal pods: media after $(fo first_media_ms) ms; owner pod $(fo killed) force-deleted: the SDK participants joined again on their own through the Gateway after $(fo rejoined_ms) ms, media again after $(fo media_again_ms) ms in the same meeting; $(since "$t") s in all"
ok "participants joined through different signal pods exchanged media; after the owner pod was killed they joined again on their own through the Service and the same meeting went on"
wait_for 120 "office's two signal pods Ready again" \
  pods_ready "app.kubernetes.io/component=signal,app.kubernetes.io/instance=office" 2
