#!/usr/bin/env bash
# `make demo`: a simulated two-node cluster in network namespaces, pods created through Debian's real CNI
# reference plugins (bridge + host-local) with Ferry chained last, one ferry-agent per node, and a request from a
# pod on node 1 to a Service VIP served by a pod on node 2:
#
#   node-1 netns (192.168.100.1, cni0 10.244.1.1)  ==underlay veth==  node-2 netns (192.168.100.2, cni0 10.244.2.1)
#     client pod 10.244.1.x: curl http://10.96.0.10/      web pod 10.244.2.y: nginx :8080
#       └ nft REDIRECT (in the pod) → agent-1's listener in the client pod → 10.244.2.y:8080 (from the pod's IP)
#                                                         └ nft REDIRECT (in the web pod) → agent-2's listener
#                                                              → nginx, from the client's IP (IP_TRANSPARENT)
#
# This script plays the runtime (a CNI driver per the spec) and the control plane (it writes each pod's IP into
# the mesh file the agents watch). Everything is torn down on exit, Ctrl-C and failure.
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PLUGIN=$ROOT/cni-plugin/target/native/ferry-cni
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)}
JAVA=$JAVA_HOME/bin/java
WORK=$(mktemp -d /tmp/ferry-cluster.XXXXXX)
S=$$
N1=ferry-node1-$S; N2=ferry-node2-$S; CP=ferry-client-$S; WP=ferry-web-$S
PIDS=()

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for ns in $CP $WP $N1 $N2; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for ns in $CP $WP $N1 $N2; do ip netns delete "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, nftables)" >&2; exit 1; }
[ -f "$JAR" ] && [ -x "$PLUGIN" ] || { echo "demo: run 'make demo' (it builds first)" >&2; exit 1; }

mesh() { # client-ip web-ip (empty: not known yet)
  st() { if [ -z "$1" ]; then echo "status: {phase: Pending}"; else echo "status: {phase: Running, podIP: $1, conditions: [{type: Ready, status: \"True\"}]}"; fi; }
  cat > "$WORK/mesh.yaml.tmp" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {ferry.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: client-7d9f8c6b5-x2x4z, namespace: demo, uid: uid-client, labels: {app: client}}
spec: {nodeName: node-1, serviceAccountName: client, containers: [{name: curl, image: curl}]}
$(st "$1")
---
apiVersion: v1
kind: Pod
metadata: {name: web-5c7b9d8f4-k8m2p, namespace: demo, uid: uid-web, labels: {app: web}}
spec:
  nodeName: node-2
  serviceAccountName: web
  containers: [{name: nginx, image: nginx, ports: [{name: http, containerPort: 8080}]}]
$(st "$2")
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: http}], selector: {app: web}}
YAML
  mv "$WORK/mesh.yaml.tmp" "$WORK/mesh.yaml" # atomic, as a ConfigMap update would be
}

cni() { # node-ns n command pod-ns pod-name uid container-id -> prints the chain's result
  local node=$1 n=$2 cmd=$3 podns=$4 name=$5 uid=$6 cid=$7
  local env=(CNI_COMMAND=$cmd CNI_CONTAINERID=$cid CNI_NETNS=/run/netns/$podns CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
             "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$name;K8S_POD_UID=$uid")
  local bridge="{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"bridge\",\"bridge\":\"cni0\",\"isDefaultGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.244.$n.0/24\"}]],\"dataDir\":\"$WORK/node$n/ipam\"}}"
  local ferry="\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"ferry-cni\",\"agentSocket\":\"$WORK/node$n/run/cni.sock\",\"enrolledNamespacesFile\":\"$WORK/node$n/enrolled-namespaces\""
  if [ "$cmd" = ADD ]; then
    local result
    result=$(echo "$bridge" | env -i "${env[@]}" ip netns exec "$node" /usr/lib/cni/bridge)
    echo "{$ferry,\"prevResult\":$result}" | env -i "${env[@]}" ip netns exec "$node" "$PLUGIN"
  else
    echo "{$ferry}" | env -i "${env[@]}" ip netns exec "$node" "$PLUGIN"
    echo "$bridge" | env -i "${env[@]}" ip netns exec "$node" /usr/lib/cni/bridge
  fi
}

echo "== two nodes joined by an underlay"
for ns in $N1 $N2 $CP $WP; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add u1-$S type veth peer name u2-$S
ip link set u1-$S netns $N1 name underlay; ip link set u2-$S netns $N2 name underlay
ip -n $N1 addr add 192.168.100.1/24 dev underlay; ip -n $N2 addr add 192.168.100.2/24 dev underlay
for ns in $N1 $N2; do ip -n "$ns" link set underlay up; ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
ip -n $N1 route add 10.244.2.0/24 via 192.168.100.2
ip -n $N2 route add 10.244.1.0/24 via 192.168.100.1

echo "== one ferry-agent per node (pod-event socket for the CNI plugin, enrolled-namespaces file, state dir)"
mesh "" ""
for n in 1 2; do
  mkdir -p "$WORK/node$n"
  cat > "$WORK/node$n/node.yaml" <<CFG
nodeName: node-$n
meshFile: $WORK/mesh.yaml
meshPollInterval: 200ms
eventLoops: 1
metricsAddress: 127.0.0.1
podEventSocket: $WORK/node$n/run/cni.sock
enrolledNamespacesFile: $WORK/node$n/enrolled-namespaces
stateDir: $WORK/node$n/state
CFG
  node=$N1; [ $n = 2 ] && node=$N2
  ip netns exec "$node" "$JAVA" -Xmx128m -jar "$JAR" run --config "$WORK/node$n/node.yaml" > "$WORK/node$n/agent.log" 2>&1 &
  PIDS+=($!)
done
for n in 1 2; do
  node=$N1; [ $n = 2 ] && node=$N2
  for i in $(seq 1 100); do
    ip netns exec "$node" curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1 && break
    sleep 0.2
  done
  ip netns exec "$node" curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null || { cat "$WORK/node$n/agent.log"; exit 1; }
done

echo "== pods through the CNI chain: bridge + host-local, then ferry-cni (captures the pod in the same ADD)"
CR=$(cni $N1 1 ADD $CP client-7d9f8c6b5-x2x4z uid-client c1)
WR=$(cni $N2 2 ADD $WP web-5c7b9d8f4-k8m2p uid-web c2)
CIP=$(echo "$CR" | grep -o '"address": *"[0-9.]*' | head -1 | grep -o '[0-9.]*$')
WIP=$(echo "$WR" | grep -o '"address": *"[0-9.]*' | head -1 | grep -o '[0-9.]*$')
echo "client pod $CIP on node-1, web pod $WIP on node-2"
mesh "$CIP" "$WIP"   # the control plane learns the pod IPs
sleep 1

mkdir -p "$WORK/tmp"
cat > "$WORK/nginx.conf" <<NGX
user root; worker_processes 1; master_process off; daemon off; pid $WORK/nginx.pid; error_log stderr warn;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server { listen $WIP:8080; location / { return 200 "hello from web on node-2, you are \$remote_addr\n"; } } }
NGX
ip netns exec $WP nginx -c "$WORK/nginx.conf" -e stderr & PIDS+=($!)
sleep 0.5

echo
echo "== client pod (node-1): curl http://10.96.0.10/   (a Service VIP; nothing listens there)"
ip netns exec $CP curl -sS --max-time 5 http://10.96.0.10/
ip netns exec $CP curl -sS --max-time 5 -o /dev/null -w "second request: HTTP %{http_code} in %{time_total}s\n" http://10.96.0.10/
sleep 0.5
for n in 1 2; do
  node=$N1; [ $n = 2 ] && node=$N2
  echo
  echo "== node-$n agent: access log"
  grep '"direction"' "$WORK/node$n/agent.log" || true
  echo "== node-$n agent: Istio TCP metrics"
  ip netns exec "$node" curl -sS --max-time 5 http://127.0.0.1:15020/metrics \
    | grep -E '^istio_tcp_connections_(opened|closed)_total' || true
done

if [ -t 0 ]; then
  echo
  echo "Cluster is up. Try: ip netns exec $CP curl http://10.96.0.10/   |   Ctrl-C tears it down."
  while kill -0 "${PIDS[0]}" 2>/dev/null; do sleep 1; done
fi
