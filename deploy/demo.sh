#!/usr/bin/env bash
# `make demo`: a simulated two-node cluster in network namespaces, pods created through Debian's real CNI
# reference plugins (bridge + host-local) with Ferry chained last, one ferry-agent per node, and a request from a
# pod on node 1 to a Service VIP served by a pod on node 2:
#
#   node-1 netns (192.168.100.1, cni0 10.244.1.1)  ==underlay veth==  node-2 netns (192.168.100.2, cni0 10.244.2.1)
#     client pod 10.244.1.x: curl http://10.96.0.10/      web pod 10.244.2.y: nginx :8080
#       └ nft REDIRECT (in the pod) → agent-1's listener in the client pod
#           → HBONE: mTLS (client's certificate) + HTTP/2 CONNECT 10.244.2.y:8080 → 10.244.2.y:15008
#                                                         └ agent-2's HBONE listener in the web pod (web's certificate)
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
# shellcheck source=deploy/cluster.sh
. "$ROOT/deploy/cluster.sh"
CP=ferry-client-$S; WP=ferry-web-$S
trap cluster_cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, nftables)" >&2; exit 1; }
[ -f "$JAR" ] && [ -x "$PLUGIN" ] || { echo "demo: run 'make demo' (it builds first)" >&2; exit 1; }

mesh() { # client-ip web-ip (empty: not known yet)
  st() { if [ -z "$1" ]; then echo "status: {phase: Pending}"; else echo "status: {phase: Running, podIP: $1, conditions: [{type: Ready, status: \"True\"}]}"; fi; }
  # a pod its node's agent captured carries the mark the agent sets through the API on a real cluster: this script
  # is the control plane here, so it writes it (once the pod has an IP, it went through the CNI chain)
  cap() { if [ -n "$1" ]; then echo ", annotations: {ambient.istio.io/redirection: enabled}"; fi; }
  cat > "$WORK/mesh.yaml.tmp" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {ferry.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: client-7d9f8c6b5-x2x4z, namespace: demo, uid: uid-client, labels: {app: client}$(cap "$1")}
spec: {nodeName: node-1, serviceAccountName: client, containers: [{name: curl, image: curl}]}
$(st "$1")
---
apiVersion: v1
kind: Pod
metadata: {name: web-5c7b9d8f4-k8m2p, namespace: demo, uid: uid-web, labels: {app: web}$(cap "$2")}
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

echo "== two nodes joined by an underlay, one ferry-agent per node (pod-event socket, enrolled namespaces, state dir)"
mesh "" ""
# No kubelet runs here: exempt every connection the node itself opens (Istio ambient's rule) from capture.
# Between the nodes the pods' bytes travel in HBONE (to pods marked captured, hboneOutbound's default "auto"): mTLS
# with each workload's certificate from one local CA.
mesh_ca
cluster_up "probeSnat: node
hboneOutbound: auto
$(mesh_ca_config)"
netns_add "$CP"; netns_add "$WP"

echo "== pods through the CNI chain: bridge + host-local, then ferry-cni (captures the pod in the same ADD)"
cni 1 ADD "$CP" demo client-7d9f8c6b5-x2x4z uid-client c1; CR=$CNI_OUT
[ "$CNI_RC" = 0 ] || { echo "ADD failed: $CR" >&2; exit 1; }
cni 2 ADD "$WP" demo web-5c7b9d8f4-k8m2p uid-web c2; WR=$CNI_OUT
[ "$CNI_RC" = 0 ] || { echo "ADD failed: $WR" >&2; exit 1; }
CIP=$(pod_ip "$CR"); WIP=$(pod_ip "$WR")
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
for i in $(seq 1 50); do # each workload's certificate arrives within a second or so of the pod appearing
  ip netns exec $CP curl -sf --max-time 2 -o /dev/null http://10.96.0.10/ 2>/dev/null && break
  sleep 0.2
done
ip netns exec $CP curl -sS --max-time 5 http://10.96.0.10/
ip netns exec $CP curl -sS --max-time 5 -o /dev/null -w "second request: HTTP %{http_code} in %{time_total}s\n" http://10.96.0.10/
echo
echo "== a probe from node-2 itself (as the kubelet's would be) reaches nginx directly, from the probe address"
ip netns exec $N2 curl -sS --max-time 5 http://$WIP:8080/
sleep 0.5
for n in 1 2; do
  node=$N1; [ $n = 2 ] && node=$N2
  echo
  echo "== node-$n agent: access log"
  grep '"direction"' "$WORK/node$n/agent.log" || true
  echo "== node-$n agent: Istio TCP metrics"
  ip netns exec "$node" curl -sS --max-time 5 http://127.0.0.1:15020/metrics \
    | grep -E '^istio_tcp_connections_(opened|closed)_total' | grep -v 'connection_security_policy="unknown"' || true
done

if [ -t 0 ]; then
  echo
  echo "Cluster is up. Try: ip netns exec $CP curl http://10.96.0.10/   |   Ctrl-C tears it down."
  while kill -0 "${PIDS[0]}" 2>/dev/null; do sleep 1; done
fi
