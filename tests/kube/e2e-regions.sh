# shellcheck shell=bash
# Sourced by e2e-install.sh (step 9), with its helpers and variables: issue
# 13's hybrid regions on two real nodes. The first node (yunhui-node) is in
# region east and runs prod's SFU pool (`sfu: {region: east, nodeSelector:
# region east}`); acme prefers east, initech (also on prod) prefers west.
#
#   - a second real node (node.sh start … yunhui-node-west: its own
#     containerd and kubelet on this machine) registers with the labels
#     topology.kubernetes.io/region=west and a taint that keeps every pod
#     off it but west's media;
#   - MediaCluster "west", media only: no signal of its own
#     (`signal.externalUrl` is prod's signal), its keys Secret created up
#     front with prod's keys, an SFU pool of host ports that selects region
#     west and tolerates the taint, on ports of its own (the two nodes share
#     this machine's address), serving TURN with TLS on 443 (a certificate
#     for the node's address; the operator lets the non-root pod bind 443);
#   - west's SFU pod runs on the second node and registers with prod's
#     signal, reporting region west;
#   - an initech meeting (two SDK participants through prod's Gateway) is
#     placed on west's node; its guest joins from a network namespace that
#     drops UDP and lets TCP out only to the Gateway and to the node's 443,
#     so its media goes through west's TURN server over TLS (its relay
#     counter checked); an acme meeting is placed on prod's node in east;
#     media both ways in each (yunhui-meeting-check place);
#   - MediaCluster west deleted: its pod and its keys Secret go.

step "9. two regions on two real nodes: a media-only MediaCluster in region west"
WEST_NODE=yunhui-node-west
YUNHUI_KUBE_NODE_LABELS=topology.kubernetes.io/region=west \
  YUNHUI_KUBE_NODE_TAINTS=yunhui.dev/media=west:NoSchedule \
  "$here/node.sh" start "$kube" "$WEST_NODE" >/dev/null || fail "second node start"
[ "$(k get node "$WEST_NODE" -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/region}')" = west ] ||
  fail "$WEST_NODE has no region label west"
[ "$(k get node yunhui-node -o jsonpath='{.metadata.labels.topology\.kubernetes\.io/region}')" = east ] ||
  fail "yunhui-node has no region label east"
ok "a second real node, $WEST_NODE, Ready in region west (tainted for west's media); yunhui-node in region east"

# The media-only cluster's keys are the central signal's: what an
# integrator copies from the central site before creating it.
k get secret -n "$NS" prod-keys -o json | python3 -c '
import json, sys
secret = json.load(sys.stdin)
print(json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "west-keys", "namespace": secret["metadata"]["namespace"]},
                  "data": secret["data"]}))' | k apply -f - >/dev/null || fail "west's keys Secret"
# TURN over TLS on the node's 443: a certificate for its address, signed by
# a CA the firewalled guest trusts.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=West TURN CA" -keyout "$work/turn-ca.key" -out "$work/turn-ca.crt" 2>"$work/openssl.log" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=west TURN" \
    -keyout "$work/turn-tls.key" -out "$work/turn-tls.csr" 2>>"$work/openssl.log" &&
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:%s\n' "$node_ip" >"$work/turn-tls.ext" &&
  openssl x509 -req -in "$work/turn-tls.csr" -CA "$work/turn-ca.crt" -CAkey "$work/turn-ca.key" -CAcreateserial \
    -days 2 -extfile "$work/turn-tls.ext" -out "$work/turn-tls.crt" 2>>"$work/openssl.log" ||
  fail "making west's TURN certificate: $(cat "$work/openssl.log")"
k create secret tls -n "$NS" west-turn-tls --cert "$work/turn-tls.crt" --key "$work/turn-tls.key" >/dev/null ||
  fail "west's TURN certificate Secret"
k apply -f - >/dev/null <<EOF || fail "MediaCluster west"
apiVersion: yunhui.dev/v1alpha1
kind: MediaCluster
metadata: {name: west, namespace: $NS}
spec:
  version: "0.1.0"
  signal: {externalUrl: "http://prod-signal.$NS.svc:8080"}
  sfu:
    architecture: amd64
    networking: HostPort
    udpPort: 7922
    tcpPort: 7921
    controlPort: 7920
    region: west
    nodeSelector: {topology.kubernetes.io/region: west}
    tolerations: [{key: yunhui.dev/media, operator: Equal, value: west, effect: NoSchedule}]
    turn: {port: 3479, tlsPort: 443, tlsSecretName: west-turn-tls}
EOF
west_pod() { # "name node ip" of west's SFU pod, once Ready
  k get pods -n "$NS" -l app.kubernetes.io/component=sfu,app.kubernetes.io/instance=west \
    -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    awk '$4 == "True" {print $1, $2, $3}'
}
west_ready() { [ -n "$(west_pod)" ]; }
t=$(now)
wait_for 180 "west's SFU pod Ready" west_ready
read -r west_sfu west_on west_ip <<<"$(west_pod)"
[ "$west_on" = "$WEST_NODE" ] || fail "west's SFU pod $west_sfu runs on $west_on, not on $WEST_NODE"
[ -z "$(k get statefulsets -n "$NS" -l app.kubernetes.io/instance=west -o name)" ] ||
  fail "a media-only MediaCluster got a signal of its own"
off_west=$(k get pods -A -o jsonpath="{range .items[?(@.spec.nodeName==\"$WEST_NODE\")]}{.metadata.name}{\"\\n\"}{end}" | grep -vx "$west_sfu" || true)
[ -z "$off_west" ] || fail "pods other than west's media run on the tainted $WEST_NODE: $off_west"
figure "second node's SFU pod Ready $(since "$t") s after MediaCluster west was created"

# Prod's signal holds the node table of both regions.
k get secret -n "$NS" prod-keys -o jsonpath='{.data.internal-key}' | base64 -d >"$work/prod-internal-key"
prod_signal_ip=$(k get pods -n "$NS" -l app.kubernetes.io/component=signal,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].status.podIP}')
prod_nodes="http://$prod_signal_ip:8080/internal/v1/media-nodes"
west_registered() {
  curl -sf -H "authorization: Bearer $(cat "$work/prod-internal-key")" "$prod_nodes" |
    python3 -c 'import json,sys; n=[x for x in json.load(sys.stdin)["nodes"] if x["nodeId"]==sys.argv[1]]; sys.exit(0 if n and n[0]["live"] and n[0].get("region")=="west" else 1)' "$west_sfu"
}
wait_for 60 "west's SFU pod $west_sfu live in prod's node table, in region west" west_registered
ok "MediaCluster west (no signal of its own): its SFU pod runs on $WEST_NODE and registered with prod's signal in region west"

wait_for 120 "the operator wrote initech's administrator password" has_password initech-first-admin
k get secret -n "$NS" initech-first-admin -o jsonpath='{.data.password}' | base64 -d >"$work/initech-password"
printf '%s' "$admin_password" >"$work/acme-password"
prod_sfu=$(k get pods -n "$NS" -l app.kubernetes.io/component=sfu,app.kubernetes.io/instance=prod -o jsonpath='{.items[0].metadata.name}')
[ "$(k get pod -n "$NS" "$prod_sfu" -o jsonpath='{.spec.nodeName}')" = yunhui-node ] || fail "prod's SFU pod $prod_sfu is not on yunhui-node"
place() { # login password-file region out [options]
  local login=$1 password=$2 region=$3 out=$4
  shift 4
  "$checker" --url "$url" --login "$login" --password-file "$password" \
    place --media-nodes "$prod_nodes" --internal-key-file "$work/prod-internal-key" --region "$region" "$@" >"$out"
}
# The guest reaches the Gateway at the node's address (its NodePort) and
# nothing else but the node's 443.
place "$INITECH_ADMIN_EMAIL" "$work/initech-password" west "$work/place-west.json" \
  --guest-url "http://$node_ip:$node_port" --guest-only-tcp-to "$node_ip:$node_port,$node_ip:443" \
  --turn-tls-ca "$work/turn-ca.crt" --turn-metrics "http://$west_ip:7920/metrics" ||
  fail "yunhui-meeting-check place: initech's meeting in region west, its guest through TURN over TLS on 443 (output above)"
[ "$(json_field "$work/place-west.json" node)" = "$west_sfu" ] ||
  fail "initech's meeting is on $(json_field "$work/place-west.json" node), not on west's SFU pod $west_sfu"
place "$ADMIN_EMAIL" "$work/acme-password" east "$work/place-east.json" ||
  fail "yunhui-meeting-check place: acme's meeting in region east (output above)"
[ "$(json_field "$work/place-east.json" node)" = "$prod_sfu" ] ||
  fail "acme's meeting is on $(json_field "$work/place-east.json" node), not on prod's SFU pod $prod_sfu"
figure "meeting by region: initech's on $west_sfu ($WEST_NODE, west), media after $(json_field "$work/place-west.json" media_ms) ms with the guest relayed over TLS on 443 ($(json_field "$work/place-west.json" turn_relayed_bytes) bytes relayed); acme's on $prod_sfu (yunhui-node, east), media after $(json_field "$work/place-east.json" media_ms) ms"
ok "each tenant's meeting placed in its region: initech's on $WEST_NODE (its guest, with only TCP to the Gateway and 443 out, relayed by west's TURN over TLS on 443), acme's on yunhui-node; media both ways in each"

current="9. MediaCluster west deleted"
k delete mediacluster -n "$NS" west --wait=true --timeout=60s >/dev/null || fail "deleting MediaCluster west"
k delete secret -n "$NS" west-turn-tls >/dev/null || fail "deleting west's TURN certificate"
west_gone() {
  [ -z "$(k get pods -n "$NS" -l app.kubernetes.io/instance=west -o name)" ] &&
    ! k get secret -n "$NS" west-keys >/dev/null 2>&1
}
wait_for 120 "west's SFU pod and keys Secret gone" west_gone
ok "MediaCluster west deleted: its pod and its keys Secret are gone"
