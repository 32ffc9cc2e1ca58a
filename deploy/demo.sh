#!/usr/bin/env bash
# `make demo`: the L4 data path end to end on this machine, with the kernel doing the capture.
#
#   client pod netns (10.244.1.2)  --veth--  web pod netns (10.244.1.3, nginx :8080)
#     curl http://10.96.0.10/ (Service VIP)
#       └─ nftables REDIRECT (inside the client pod) → ferry-agent :15001 (inside the client pod)
#            SO_ORIGINAL_DST → Service demo/web → endpoint web pod 10.244.1.3:8080 → nginx
#
# Everything is torn down on exit, on Ctrl-C and on failure. The two-node cluster with the CNI plugin chained
# comes with the in-pod capture work; this is the single-hop foundation it builds on.
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)}
JAVA=${JAVA_HOME}/bin/java
WORK=$(mktemp -d /tmp/ferry-demo.XXXXXX)
SUFFIX=$$
CLIENT=ferry-demo-client-$SUFFIX
WEB=ferry-demo-web-$SUFFIX
AGENT_PID=""
NGINX_PID=""

cleanup() {
  set +e
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  ip netns delete "$CLIENT" 2>/dev/null
  ip netns delete "$WEB" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, nftables)" >&2; exit 1; }
[ -f "$JAR" ] || { echo "demo: $JAR not built; run 'make demo' (it builds first)" >&2; exit 1; }

echo "== creating pod namespaces $CLIENT and $WEB"
ip netns add "$CLIENT"
ip netns add "$WEB"
ip link add veth-c$SUFFIX type veth peer name veth-w$SUFFIX
ip link set veth-c$SUFFIX netns "$CLIENT" name eth0
ip link set veth-w$SUFFIX netns "$WEB" name eth0
ip -n "$CLIENT" link set lo up; ip -n "$CLIENT" link set eth0 up
ip -n "$WEB" link set lo up; ip -n "$WEB" link set eth0 up
ip -n "$CLIENT" addr add 10.244.1.2/24 dev eth0
ip -n "$WEB" addr add 10.244.1.3/24 dev eth0
ip -n "$CLIENT" route add 10.96.0.0/16 dev eth0

echo "== installing the capture rule inside the client pod (outbound TCP to the service range -> :15001)"
cat > "$WORK/redirect.nft" <<'NFT'
table ip ferry {
  chain output {
    type nat hook output priority -100; policy accept;
    meta mark 0x539 return
    ip daddr 10.96.0.0/16 meta l4proto tcp redirect to :15001
  }
}
NFT
ip netns exec "$CLIENT" nft -f "$WORK/redirect.nft"

echo "== starting nginx in the web pod (10.244.1.3:8080)"
mkdir -p "$WORK/tmp"
cat > "$WORK/nginx.conf" <<NGX
user root; worker_processes 1; master_process off; daemon off; pid $WORK/nginx.pid; error_log stderr warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server { listen 10.244.1.3:8080; location / { return 200 "hello from web, you are \$remote_addr\n"; } } }
NGX
ip netns exec "$WEB" nginx -c "$WORK/nginx.conf" -e stderr &
NGINX_PID=$!

echo "== starting ferry-agent inside the client pod"
cat > "$WORK/node.yaml" <<CFG
nodeName: node-1
meshFile: $ROOT/deploy/examples/demo-mesh.yaml
eventLoops: 1
metricsAddress: 127.0.0.1
listenerWorkload: demo/client-7d9f8c6b5-x2x4z
CFG
ip netns exec "$CLIENT" "$JAVA" -Xmx128m -jar "$JAR" run --config "$WORK/node.yaml" > "$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for i in $(seq 1 100); do
  ip netns exec "$CLIENT" curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1 && break
  kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.log"; echo "demo: agent exited" >&2; exit 1; }
  sleep 0.2
done
ip netns exec "$CLIENT" curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null || {
  cat "$WORK/agent.log"; echo "demo: agent not ready" >&2; exit 1; }

echo
echo "== client pod: curl http://10.96.0.10/  (the Service VIP; nothing listens there)"
ip netns exec "$CLIENT" curl -sS --max-time 5 http://10.96.0.10/
ip netns exec "$CLIENT" curl -sS --max-time 5 -o /dev/null -w "second request: HTTP %{http_code} in %{time_total}s\n" http://10.96.0.10/
sleep 0.5

echo
echo "== agent access log (one JSON line per connection)"
grep '"dst.service"' "$WORK/agent.log" || true
echo
echo "== agent metrics (Istio standard names and labels)"
ip netns exec "$CLIENT" curl -sS --max-time 5 http://127.0.0.1:15020/metrics \
  | grep -E '^(istio_tcp_connections_(opened|closed)_total|istio_tcp_(sent|received)_bytes_total|ferry_transport_info|ferry_mesh_snapshot_version)' || true
echo
echo "== the web pod saw the client pod's own IP as the source (the agent's socket lives in the client pod)"

if [ -t 0 ]; then
  echo
  echo "Cluster is up. Try: ip netns exec $CLIENT curl http://10.96.0.10/   |   Ctrl-C tears it down."
  while kill -0 "$AGENT_PID" 2>/dev/null; do sleep 1; done
fi
