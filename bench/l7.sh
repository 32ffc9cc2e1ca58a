#!/usr/bin/env bash
# `make bench` (part 2): Ferry's L7 path (HTTP/1.1 parsed, routed by an HTTPRoute, balanced per request, pooled
# upstream connections) against its own L4 path, HAProxy `mode http` (nbthread 1, the same routing rule) and a
# direct connection, in one run, alternating, median of ROUNDS rounds. Everything runs in one network namespace:
#   nginx (return 200 "ok") on the "pod" 10.244.0.5:8080
#   - direct:     10.244.0.5:8080
#   - ferry_l7:   VIP 10.96.0.10:80 (port named http, an HTTPRoute on it) -> nft REDIRECT -> agent (:15001) -> pod
#   - ferry_l4:   VIP 10.96.0.20:80 (an unnamed TCP port) -> the same agent, relayed as bytes
#   - haproxy:    VIP 10.96.3.10:80 (HTTP/2: 10.96.3.11:80) -> nft REDIRECT -> 127.0.0.1:16080 (:16081), mode http,
#                 a path rule choosing the backend, keep-alive to the server
# Results: bench/results/<timestamp>-l7.md (and printed).
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
ROUNDS=${ROUNDS:-3}
WRK_SECS=${WRK_SECS:-8}
# LOADS: which loads each round runs (all by default); TARGETS_ONLY: a subset of direct ferry_l7 ferry_l4 haproxy;
# TRANSPORT: the agent's (io_uring, or epoll)
LOADS=${LOADS:-c32 c256 churn hey h2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $JAR in /*) ;; *) JAR=$ROOT/$JAR ;; esac # an absolute path measures another build
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* | head -1)}
JAVA=$JAVA_HOME/bin/java
NS=ferry-bench7-$$
WORK=$(mktemp -d /tmp/ferry-bench7.XXXXXX)
PIDS=()
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-l7.md

. "$ROOT/bench/common.sh"
trap cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
for t in wrk hey h2load haproxy nginx nft; do command -v $t >/dev/null || { echo "bench: $t missing (make deps)"; exit 1; }; done

bench_namespace
cat > "$WORK/redirect.nft" <<'NFT'
table ip ferry {
  chain output {
    type nat hook output priority -100; policy accept;
    meta mark 0x539 return
    ip daddr 10.96.0.0/24 meta l4proto tcp redirect to :15001
    ip daddr 10.96.3.10 tcp dport 80 redirect to :16080
    ip daddr 10.96.3.11 tcp dport 80 redirect to :16081
  }
}
NFT
inns nft -f "$WORK/redirect.nft"
# HAProxy behind a VIP and the same REDIRECT as Ferry, and TIME_WAIT reuse on: towards 127.0.0.1 Linux lets a
# client reuse its TIME_WAIT ports (tcp_tw_reuse=2 means loopback only), towards a VIP not, and with a new connection
# per request the run would measure the client's port search, not the proxy (as bench/run.sh found)
inns sysctl -qw net.ipv4.tcp_tw_reuse=1

bench_nginx
cat > "$WORK/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 9500
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend web
  bind 127.0.0.1:16080
  acl api path_beg /api
  use_backend web if api
  default_backend web
backend web
  server s1 10.244.0.5:8080
frontend web-h2
  bind 127.0.0.1:16081 proto h2
  acl api path_beg /api
  use_backend web-h2 if api
  default_backend web-h2
backend web-h2
  server s2 10.244.0.5:8081 proto h2
HAP
inns haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)

cat > "$WORK/mesh.yaml" <<'MESH'
apiVersion: v1
kind: Namespace
metadata: {name: bench, labels: {ferry.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: server-1, namespace: bench, uid: u1, labels: {app: server}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.244.0.5, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: bench}
spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: web-l4, namespace: bench}
spec: {clusterIP: 10.96.0.20, ports: [{port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: web-h2, namespace: bench}
spec: {clusterIP: 10.96.0.11, ports: [{name: http2, port: 80, targetPort: 8081}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: web-h2-l4, namespace: bench}
spec: {clusterIP: 10.96.0.21, ports: [{port: 80, targetPort: 8081}], selector: {app: server}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-h2, namespace: bench}
spec:
  parentRefs: [{kind: Service, name: web-h2, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: web-h2, port: 80}]
  - backendRefs: [{name: web-h2, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: bench}
spec:
  parentRefs: [{kind: Service, name: web, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: web, port: 80}]
  - backendRefs: [{name: web, port: 80}]
MESH

cat > "$WORK/agent.yaml" <<CFG
nodeName: node-1
meshFile: $WORK/mesh.yaml
transport: ${TRANSPORT:-io_uring}
eventLoops: 1
outboundPort: 15001
inboundPort: 15006
adminPort: 15000
metricsPort: 15020
readinessPort: 15021
metricsAddress: 127.0.0.1
accessLog: false
l7Outbound: true
maxConnections: 9500
maxConnectionsPerWorkload: 9500
maxConnectionsPerSource: 9500
reservedConnectionsPercent: 0
CFG
inns bash -c "ulimit -n 20000; exec $JAVA $(agent_jvm_opts "$JAR") ${EXTRA_JVM:-} -jar $JAR run --config $WORK/agent.yaml" > "$WORK/agent.log" 2>&1 &
AGENT=$!; PIDS+=($AGENT)
for i in $(seq 1 150); do inns curl -sf --max-time 1 "http://127.0.0.1:15021/healthz/ready" >/dev/null 2>&1 && break; sleep 0.2; done
inns curl -sf --max-time 1 "http://127.0.0.1:15021/healthz/ready" >/dev/null || { cat "$WORK/agent.log"; echo "bench: agent not ready"; exit 1; }
inns curl -sf --max-time 2 http://10.96.0.10/api/x >/dev/null || { cat "$WORK/agent.log"; echo "bench: L7 path not answering"; exit 1; }

JA=$(pgrep -P "$AGENT" java || echo "$AGENT"); JH=$(pgrep -n haproxy)
declare -A URL=( [direct]=http://10.244.0.5:8080/api/items [ferry_l7]=http://10.96.0.10/api/items [ferry_l4]=http://10.96.0.20/api/items [haproxy]=http://10.96.3.10/api/items )
declare -A URL2=( [direct]=http://10.244.0.5:8081/api/items [ferry_l7]=http://10.96.0.11/api/items [ferry_l4]=http://10.96.0.21/api/items [haproxy]=http://10.96.3.11/api/items )
declare -A PROC=( [direct]="" [ferry_l7]=$JA [ferry_l4]=$JA [haproxy]=$JH )
# HOLD=<s>: keep the namespace, nginx, HAProxy and the agent up that long for probing by hand (a profiler, ss)
if [ -n "${HOLD:-}" ]; then echo "bench-l7: holding $NS for ${HOLD}s (agent $JA, HAProxy $JH)"; sleep "$HOLD" & PIDS+=($!); wait $!; fi
read -r -a TARGETS <<<"${TARGETS_ONLY:-direct ferry_l7 ferry_l4 haproxy}"
RES=$WORK/results.tsv; : > "$RES"

run_wrk() { # kind target round wrk-args...
  local kind=$1 t=$2 r=$3; shift 3
  local p=${PROC[$t]} c0=0 c1=0 out rps p50 p99 reqs
  [ -n "$p" ] && c0=$(cpu_s "$p")
  out=$(inns wrk "$@" -d${WRK_SECS}s --latency "${URL[$t]}")
  [ -n "$p" ] && c1=$(cpu_s "$p")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo -e "$kind\t$t\t$r\t$rps\t$(ms "$p50")\t$(ms "$p99")\t$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN{ if (n>0) printf "%.2f", (b-a)*1e6/n; else print "-"}')" >> "$RES"
}
run_h2load() { # target round: HTTP/2 with prior knowledge, 4 connections x 100 concurrent streams
  local t=$1 r=$2 p=${PROC[$1]} c0=0 c1=0 out rps mean reqs
  [ -n "$p" ] && c0=$(cpu_s "$p")
  out=$(inns h2load -c 4 -m 100 -t 1 -D ${WRK_SECS} "${URL2[$t]}" 2>&1)
  [ -n "$p" ] && c1=$(cpu_s "$p")
  rps=$(awk '/^finished in/ {print $4}' <<<"$out"); reqs=$(awk '/^requests:/ {print $8}' <<<"$out")
  mean=$(awk '/^time for request:/ {print $6}' <<<"$out")
  echo -e "h2\t$t\t$r\t${rps:-nan}\t$(ms "${mean:-nan}")\t-\t$(awk -v a="$c0" -v b="$c1" -v n="${reqs:-0}" 'BEGIN{ if (n>0) printf "%.2f", (b-a)*1e6/n; else print "-"}')" >> "$RES"
}
run_hey() { # target round: ~1,000 req/s (16 workers x 62.5 req/s)
  local out p50 p99
  out=$(inns hey -c 16 -q 62.5 -z ${WRK_SECS}s "${URL[$1]}")
  p50=$(awk '/ 50% in / {print $3*1000}' <<<"$out"); p99=$(awk '/ 99% in / {print $3*1000}' <<<"$out")
  echo -e "hey\t$1\t$2\t-\t${p50:-nan}\t${p99:-nan}\t-" >> "$RES"
}

echo "bench-l7: warm-up round (discarded; 10 s each, so the JIT has compiled the L7 path before it is measured)"
for t in "${TARGETS[@]}"; do
  inns wrk -t1 -c32 -d${WARM_SECS:-10}s "${URL[$t]}" >/dev/null
  case " $LOADS " in *" h2 "*) inns h2load -c 4 -m 100 -t 1 -D ${WARM_SECS:-10} "${URL2[$t]}" >/dev/null 2>&1 ;; esac
done
for r in $(seq 1 "$ROUNDS"); do
  echo "bench-l7: round $r/$ROUNDS"
  for l in $LOADS; do
    for t in "${TARGETS[@]}"; do
      case $l in
        c32) run_wrk c32 "$t" "$r" -t1 -c32 ;;
        c256) run_wrk c256 "$t" "$r" -t2 -c256 ;;
        churn) run_wrk churn "$t" "$r" -t1 -c32 -H "Connection: close" ;;
        hey) run_hey "$t" "$r" ;;
        h2) run_h2load "$t" "$r" ;;
      esac
    done
  done
done
SERVED=$(inns curl -s http://127.0.0.1:15020/metrics | awk '/^istio_requests_total\{/ && /response_code="200"/ {s+=$2} END {printf "%.0f", s}')

/usr/bin/python3 - "$RES" "$OUT" <<PY
import sys, math, statistics as st
rows=[l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def med(kind,t,col):
    v=[float(r[col]) for r in rows if r[0]==kind and r[1]==t and r[col] not in ("-","","nan")]
    return (st.median(v),min(v),max(v)) if v else (float("nan"),)*3
T=["direct","ferry_l7","ferry_l4","haproxy"]
out=["Machine: $(nproc) cores, $(uname -r). Ferry: ${TRANSPORT:-io_uring}, 1 event loop, JVM flags $(agent_jvm_opts "$JAR" | sed "s#@$ROOT/##; s#-XX:AOTCache=[^ ]*#+ AOT cache#"), access log off, l7Outbound; HAProxy $(haproxy -v | head -1 | awk '{print $3}') nbthread 1, mode http, http-reuse always, the same path rule. Rounds: $ROUNDS, alternating; median (min-max). Requests counted by Ferry's istio_requests_total (200): $SERVED.",""]
out.append("| scenario | direct | Ferry L7 | Ferry L4 | HAProxy http | L7/HAProxy | L7/L4 | L7/direct |")
out.append("|---|---|---|---|---|---|---|---|")
def line(name,kind,col,fmt):
    m={t:med(kind,t,col) for t in T}
    if all(math.isnan(m[t][0]) for t in T):
        return  # a load this run left out (LOADS)
    cell=lambda t: (fmt % m[t][0]) + " (" + (fmt % m[t][1]) + "–" + (fmt % m[t][2]) + ")"
    r=lambda a,b: "%.2f×" % (m[a][0]/m[b][0]) if m[b][0] else "-"
    out.append(f"| {name} | {cell('direct')} | {cell('ferry_l7')} | {cell('ferry_l4')} | {cell('haproxy')} | {r('ferry_l7','haproxy')} | {r('ferry_l7','ferry_l4')} | {r('ferry_l7','direct')} |")
line("wrk -c32 keep-alive, req/s","c32",3,"%.0f")
line("wrk -c32 p99, ms","c32",5,"%.3f")
line("wrk -c256 keep-alive, req/s","c256",3,"%.0f")
line("wrk -c256 p99, ms","c256",5,"%.3f")
line("new connection per request (-c32), req/s","churn",3,"%.0f")
line("new connection per request p99, ms","churn",5,"%.3f")
line("hey ~1,000 req/s p50, ms","hey",4,"%.3f")
line("hey ~1,000 req/s p99, ms","hey",5,"%.3f")
line("proxy CPU µs per request (wrk -c32)","c32",6,"%.2f")
line("proxy CPU µs per request (churn)","churn",6,"%.2f")
line("h2load -c4 -m100 (HTTP/2 h2c), req/s","h2",3,"%.0f")
line("h2load mean request time, ms","h2",4,"%.3f")
line("proxy CPU µs per request (h2load)","h2",6,"%.2f")
out.append("")
text="\n".join(out)
print(text)
open(sys.argv[2],"w").write(text+"\n")
PY
echo "bench-l7: results in $OUT"
