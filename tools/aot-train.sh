#!/usr/bin/env bash
# The agent's AOT cache (JDK 25, JEP 483/514/515): one training run of the jar under deploy/jvm.options, in a network
# namespace of its own, with L4 keep-alive, churned connections and L7 requests through it and its admin and metrics
# endpoints read; at exit the JVM writes the classes it loaded and linked and the methods' profiles next to the jar
# (ferry-agent.jar -> ferry-agent.aot). A run with -XX:AOTCache=<that> then starts without parsing, verifying and
# linking those classes again, and compiles its hot methods from the profiles sooner.
#
#   tools/aot-train.sh [JAR]      (make build runs it; needs root, nginx, wrk and hey: make deps)
#
# The cache is only used by the same JVM, the same jar (path, size and mtime) and the same flags: a rebuilt jar
# needs a new cache (make build does that), and a run under other flags ignores it with a warning.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${1:-$ROOT/node-agent/target/ferry-agent.jar}
case $JAR in /*) ;; *) JAR=$PWD/$JAR ;; esac
OUT=${JAR%.jar}.aot
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* | head -1)}
NS=ferry-aot-$$
WORK=$(mktemp -d /tmp/ferry-aot.XXXXXX)
PIDS=()
. "$ROOT/bench/common.sh"
trap cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
for t in wrk hey nginx nft curl; do command -v $t >/dev/null || { echo "aot-train: $t missing (make deps)" >&2; exit 1; }; done

bench_namespace
inns nft -f - <<'NFT'
table ip ferry {
  chain output {
    type nat hook output priority -100; policy accept;
    meta mark 0x539 return
    ip daddr 10.96.0.0/24 meta l4proto tcp redirect to :15001
  }
}
NFT
bench_nginx
{ bench_mesh_server train; cat <<'MESH'; } > "$WORK/mesh.yaml"
---
apiVersion: v1
kind: Service
metadata: {name: tcp, namespace: train}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: train}
spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: train}
spec:
  parentRefs: [{kind: Service, name: web, port: 80}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-trained, value: "1"}]}}]
      backendRefs: [{name: web, port: 80}]
MESH
cat > "$WORK/node.yaml" <<CFG
nodeName: node-1
meshFile: $WORK/mesh.yaml
eventLoops: 1
l7Outbound: true
accessLog: false
metricsAddress: 127.0.0.1
CFG
rm -f "$OUT"
ip netns exec "$NS" "$JAVA_HOME/bin/java" "@$ROOT/deploy/jvm.options" "-XX:AOTCacheOutput=$OUT" \
  -jar "$JAR" run --config "$WORK/node.yaml" > "$WORK/agent.log" 2>&1 & AGENT=$!; PIDS+=($AGENT)
for i in $(seq 1 300); do inns curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1 && break; sleep 0.1; done
inns curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null || { cat "$WORK/agent.log" >&2; echo "aot-train: agent not ready" >&2; exit 1; }
for u in http://10.96.0.10/ http://10.96.0.20/; do
  inns wrk -t1 -c16 -d3s "$u" >/dev/null
  inns hey -n 1000 -c 16 -disable-keepalive "$u" >/dev/null
done
inns wrk -t1 -c4 -d1s http://10.96.0.10/64k >/dev/null
inns curl -sf --max-time 2 http://127.0.0.1:15020/metrics >/dev/null
inns curl -sf --max-time 2 http://127.0.0.1:15000/config_dump >/dev/null || true
kill -TERM "$AGENT"
wait "$AGENT" 2>/dev/null || true
# the exiting JVM hands the cache's assembly to a child JVM (-XX:AOTMode=create), which writes the file
for i in $(seq 1 1200); do grep -q "AOTCache creation is complete" "$WORK/agent.log" && break; sleep 0.1; done
for i in $(seq 1 100); do pgrep -f -- "-XX:AOTCacheOutput=$OUT" >/dev/null || break; sleep 0.1; done
if [ ! -s "$OUT" ]; then tail -40 "$WORK/agent.log" >&2; echo "aot-train: no cache written" >&2; exit 1; fi
echo "aot-train: $OUT ($(( $(stat -c %s "$OUT") / 1048576 )) MiB)"
