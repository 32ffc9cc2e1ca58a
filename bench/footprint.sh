#!/usr/bin/env bash
# `make bench-footprint` (part of `make bench`): what one node agent costs its node, next to HAProxy in the same run.
# The agent runs as shipped (deploy/jvm.options and the jar's AOT cache, see bench/common.sh) with the Kubernetes
# source watching a real kube-apiserver + etcd (tools/kube-apiserver.sh) that holds PODS pods and SERVICES Services
# with their EndpointSlices besides the bench's own, so its caches are a cluster's. Everything runs in one network
# namespace: nginx on the "pod" 10.244.0.5, the agent (VIPs 10.96.0.0/24 REDIRECTed to it), HAProxy 2.6 mode tcp
# nbthread 1 (VIPs 10.96.3.x REDIRECTed to it), the API server on the namespace's loopback.
#
#   start-up   exec -> ready (mesh synced from the API server, listeners bound, certificates for running pods),
#              STARTS runs, p50 and all
#   idle       after start-up and 5 s
#   rate1k     1,000 req/s over 100 keep-alive connections (hey -c100 -q10) for RATE_SECS: RSS and CPU per 1,000
#              req/s, for Ferry and HAProxy
#   saturated  wrk -t1 -c32 for SAT_SECS
#   idle9k     IDLE_CONNS idle relayed connections held open (bench/idle_conns.py), read IDLE_SETTLE s (15) after
#              they opened (settled: compilation done, the native heap trimmed); the RSS 3 s in is reported too
# Each state: RSS, heap used and committed, Netty's buffers, threads; a second agent run with
# -XX:NativeMemoryTracking=summary gives the JVM's own breakdown (heap, classes, code, threads, GC, ...) per state.
# Budgets (issue "Footprint per node"): RSS at rate1k <= BUDGET_RATE MiB and at idle9k <= BUDGET_IDLE MiB; the run
# exits 3 when one is exceeded (after writing the report). Results: bench/results/footprint-<timestamp>.md.
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
PODS=${PODS:-1000}
SERVICES=${SERVICES:-100}
STARTS=${STARTS:-5}
RATE_SECS=${RATE_SECS:-20}
SAT_SECS=${SAT_SECS:-10}
IDLE_CONNS=${IDLE_CONNS:-9000}
IDLE_SETTLE=${IDLE_SETTLE:-15}
BUDGET_RATE=${BUDGET_RATE:-96}
BUDGET_IDLE=${BUDGET_IDLE:-160}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $JAR in /*) JAR_PATH=$JAR ;; *) JAR_PATH=$ROOT/$JAR ;; esac
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* | head -1)}
JAVA=$JAVA_HOME/bin/java
NS=ferry-foot-$$
WORK=$(mktemp -d /tmp/ferry-foot.XXXXXX)
PIDS=()
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/footprint-$(date -u +%Y%m%dT%H%M%SZ).md
. "$ROOT/bench/common.sh"
trap cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
for t in wrk hey haproxy nginx nft python3; do command -v $t >/dev/null || { echo "bench: $t missing (make deps)"; exit 1; }; done
[ -f "$ROOT/bench/target/benchmarks.jar" ] || { echo "bench: bench/target/benchmarks.jar missing (make build)"; exit 1; }
FERRY_KUBE_APISERVER=$(bash "$ROOT/tools/kube-apiserver.sh" | tail -1); export FERRY_KUBE_APISERVER

bench_namespace
inns sysctl -qw net.ipv4.tcp_tw_reuse=1
inns nft -f - <<'NFT'
table ip ferry {
  chain output {
    type nat hook output priority -100; policy accept;
    meta mark 0x539 return
    ip daddr 10.96.0.0/24 meta l4proto tcp redirect to :15001
    ip daddr 10.96.3.10 tcp dport 80 redirect to :16080
    ip daddr 10.96.3.12 tcp dport 7000 redirect to :16070
  }
}
NFT
bench_nginx
inns bash -c "ulimit -n 20000; exec /usr/bin/python3 $ROOT/bench/idle_conns.py sink 10.244.0.5 7000 3600" & PIDS+=($!)
{ bench_haproxy_tcp_head; cat <<HAP; } > "$WORK/haproxy.cfg"
frontend web
  bind 127.0.0.1:16080
  default_backend web
backend web
  server s1 10.244.0.5:8080
frontend sink
  bind 127.0.0.1:16070
  default_backend sink
backend sink
  server s1 10.244.0.5:7000
HAP
inns bash -c "ulimit -n 20000; exec haproxy -f $WORK/haproxy.cfg -db" > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)

{ bench_mesh_server bench; cat <<'MESH'; } > "$WORK/mesh.yaml"
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: bench}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: sink, namespace: bench}
spec: {clusterIP: 10.96.0.12, ports: [{port: 7000}], selector: {app: server}}
MESH

echo "bench: API server with $PODS pods and $SERVICES services"
mkfifo "$WORK/kube.in"
inns "$JAVA" -Xmx512m -cp "$ROOT/bench/target/benchmarks.jar" dev.ferry.bench.KubeCluster \
  "$WORK" "$WORK/mesh.yaml" "$PODS" "$SERVICES" < "$WORK/kube.in" > "$WORK/kube.log" 2>&1 & PIDS+=($!)
exec 3> "$WORK/kube.in" # held open: the cluster serves until this script ends
for i in $(seq 1 600); do grep -q "ready:" "$WORK/kube.log" && break; sleep 0.5; done
grep -q "ready:" "$WORK/kube.log" || { tail -30 "$WORK/kube.log"; echo "bench: API server not ready"; exit 1; }

cat > "$WORK/node.yaml" <<CFG
nodeName: node-1
meshSource: kubernetes
kubeconfig: $WORK/kubeconfig
transport: io_uring
eventLoops: 1
metricsAddress: 127.0.0.1
accessLog: false
drainTimeout: 1s
maxConnections: 9500
maxConnectionsPerWorkload: 9500
maxConnectionsPerSource: 9500
reservedConnectionsPercent: 0
CFG
AGENT=""
start_agent() { # extra JVM flags; sets AGENT (the JVM's PID) and READY_MS
  local t0 t1
  t0=${EPOCHREALTIME/./}
  ip netns exec "$NS" bash -c "ulimit -n 20000; exec $JAVA $(agent_jvm_opts "$JAR_PATH") $* -jar $JAR_PATH run --config $WORK/node.yaml" > "$WORK/agent.log" 2>&1 &
  AGENT=$!; PIDS+=($AGENT)
  for i in $(seq 1 3000); do
    inns curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1 && break
    kill -0 "$AGENT" 2>/dev/null || break
    sleep 0.02
  done
  t1=${EPOCHREALTIME/./}
  inns curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1 || { tail -30 "$WORK/agent.log"; echo "bench: agent not ready"; exit 1; }
  READY_MS=$(( (t1 - t0) / 1000 ))
}
stop_agent() {
  kill -TERM "$AGENT" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$AGENT" 2>/dev/null || true; wait "$AGENT" 2>/dev/null || true
}

# HOLD=<s>: one agent up that long, for probing by hand (smaps, jcmd, a profiler), then the run goes on
if [ -n "${HOLD:-}" ]; then
  start_agent ${HOLD_JVM:-}; echo "bench: holding $NS for ${HOLD}s (agent $AGENT, ready in $READY_MS ms)"; sleep "$HOLD" & PIDS+=($!); wait $!; stop_agent
fi
echo "bench: start-up, $STARTS runs"
STARTUP=()
for r in $(seq 1 "$STARTS"); do start_agent; STARTUP+=("$READY_MS"); stop_agent; done
echo "bench: start-up ms: ${STARTUP[*]}"

RES=$WORK/states.tsv; : > "$RES"
metric() { inns curl -s --max-time 2 http://127.0.0.1:15020/metrics | awk -v m="$1" -v l="$2" 'index($0, m) == 1 && index($0, l) { s += $NF } END { printf "%.1f", s / 1048576 }'; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }
record() { # who state pid [nmt]
  local heap="-" commit="-" direct="-" nmt="-" classes="-"
  if [ "$1" != haproxy ]; then
    heap=$(metric 'jvm_memory_used_bytes{area="heap"' '"heap"'); commit=$(metric 'jvm_memory_committed_bytes{area="heap"' '"heap"')
    direct=$(metric ferry_netty_direct_memory_bytes ' ')
    # classes loaded, and of them how many came from the AOT cache (the rest cost metaspace)
    classes=$("$JAVA_HOME/bin/jcmd" "$3" PerfCounter.print 2>/dev/null | awk -F= '
      /^java.cls.loadedClasses=/ {l=$2} /^java.cls.unloadedClasses=/ {u=$2} /^java.cls.sharedLoadedClasses=/ {s=$2}
      END {if (l) printf "%d (%d)", l-u+s, s; else print "-"}') # loadedClasses counts those not from the cache
  fi
  # HISTO_DIR=<dir>: the live objects by class (a full GC first) and the loaded classes, per state, for probing
  # (the forced collection changes what follows: not for a run whose figures are reported)
  if [ -n "${HISTO_DIR:-}" ] && [ "$1" = ferry ]; then
    mkdir -p "$HISTO_DIR"
    "$JAVA_HOME/bin/jcmd" "$3" GC.class_histogram > "$HISTO_DIR/histo-$2.txt" 2>&1 || true
    "$JAVA_HOME/bin/jcmd" "$3" VM.classes > "$HISTO_DIR/classes-$2.txt" 2>&1 || true
  fi
  if [ -n "${4:-}" ]; then
    "$JAVA_HOME/bin/jcmd" "$3" VM.native_memory summary > "$WORK/nmt-$2.txt" 2>&1 || true
    nmt=$WORK/nmt-$2.txt
  fi
  echo -e "$1\t$2\t$(rss_mb "$3")\t$heap\t$commit\t$direct\t$(threads "$3")\t${CPU1K:--}\t${RATE:--}\t$nmt\t$classes" >> "$RES"
}
measure() { # who pid url idle-url [nmt]
  local c0 c1 out
  CPU1K=""; RATE=""
  sleep 5; record "$1" idle "$2" "${5:-}"
  c0=$(cpu_s "$2")
  out=$(inns hey -c 100 -q 10 -z "${RATE_SECS}s" "$3")
  c1=$(cpu_s "$2")
  RATE=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  CPU1K=$(awk -v a="$c0" -v b="$c1" -v s="$RATE_SECS" -v r="$RATE" 'BEGIN { printf "%.3f", (b - a) / s / (r / 1000) }')
  record "$1" rate1k "$2" "${5:-}"
  CPU1K=""
  RATE=$(inns wrk -t1 -c32 -d"${SAT_SECS}s" "$3" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  record "$1" saturated "$2" "${5:-}"
  RATE=""
  inns bash -c "ulimit -n 20000; exec /usr/bin/python3 $ROOT/bench/idle_conns.py client ${4% *} ${4#* } $IDLE_CONNS $((IDLE_SETTLE + 10))" > "$WORK/idle.txt" 2>&1 & local idle=$!
  for i in $(seq 1 120); do grep -q "open=" "$WORK/idle.txt" && break; sleep 0.5; done
  # idle means settled: read IDLE_SETTLE s after the last connection opened, once the JIT's compilation of the set-up
  # path has finished and the native heap's trim (every 5 s) has returned its arenas; the RSS 3 s in is said too
  sleep 3
  local early; early=$(rss_mb "$2")
  sleep $((IDLE_SETTLE - 3))
  RATE="$(awk -F'[= ]' '/open=/ {print $2}' "$WORK/idle.txt") (RSS 3 s after they opened: $early MiB)"
  record "$1" idle9k "$2" "${5:-}"
  RATE=""
  wait "$idle" || true
}

echo "bench: Ferry, as shipped"
start_agent; measure ferry "$AGENT" http://10.96.0.10/ "10.96.0.12 7000"; stop_agent
echo "bench: Ferry with NMT"
start_agent -XX:NativeMemoryTracking=summary; measure ferry-nmt "$AGENT" http://10.96.0.10/ "10.96.0.12 7000" nmt; stop_agent
echo "bench: HAProxy"
measure haproxy "$(pgrep -n -x haproxy)" http://10.96.3.10/ "10.96.3.12 7000"

/usr/bin/python3 - "$RES" "$OUT" "$BUDGET_RATE" "$BUDGET_IDLE" "${STARTUP[*]}" <<PY
import sys, re, statistics as st
res, out, brate, bidle, starts = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), [int(x) for x in sys.argv[5].split()]
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
by = {(r[0], r[1]): r for r in rows}
states = ["idle", "rate1k", "saturated", "idle9k"]
o = ["Machine: $(nproc) cores, $(uname -r). Ferry: io_uring, 1 event loop, JVM flags $(agent_jvm_opts "$JAR_PATH" | sed "s#@$ROOT/##; s#-XX:AOTCache=[^ ]*#+ AOT cache#"), Kubernetes source over a real API server with $PODS pods and $SERVICES Services (+ the bench's); HAProxy $(haproxy -v | head -1 | awk '{print $3}') nbthread 1, mode tcp.", ""]
o.append("Start-up, exec to ready (mesh synced, listeners bound, certificates for running pods): p50 %d ms (runs: %s ms)." % (st.median(starts), ", ".join(map(str, starts))))
o.append("")
o.append("| state | Ferry RSS MiB | heap used / committed MiB | Netty buffers MiB | threads | classes (from the AOT cache) | HAProxy RSS MiB | load |")
o.append("|---|---|---|---|---|---|---|---|")
for s in states:
    f, h = by.get(("ferry", s)), by.get(("haproxy", s))
    if not f: continue
    load = {"idle": "-", "rate1k": "%s req/s; CPU per 1,000 req/s: Ferry %s vCPU, HAProxy %s vCPU" % (f[8], f[7], h[7] if h else "-"),
            "saturated": "wrk -c32: Ferry %s req/s, HAProxy %s" % (f[8], h[8] if h else "-"),
            "idle9k": "%s connections open through each" % f[8]}[s]
    o.append("| %s | %s | %s / %s | %s | %s | %s | %s | %s |" % (s, f[2], f[3], f[4], f[5], f[6], f[10], h[2] if h else "-", load))
o.append("")
cats = {}
for s in states:
    r = by.get(("ferry-nmt", s))
    if not r or r[9] == "-": continue
    text = open(r[9]).read()
    for m in re.finditer(r"^-\s+(.+?) \(reserved=\d+KB, committed=(\d+)KB", text, re.M):
        cats.setdefault(m.group(1), {})[s] = int(m.group(2)) / 1024
    t = re.search(r"^Total: reserved=\d+KB, committed=(\d+)KB", text, re.M)
    if t: cats.setdefault("Total (NMT)", {})[s] = int(t.group(1)) / 1024
    cats.setdefault("RSS (this run)", {})[s] = float(r[2])
if cats:
    o.append("NMT summary, committed MiB (the agent run again with -XX:NativeMemoryTracking=summary; its own cost is a row):")
    o.append("")
    o.append("| category | " + " | ".join(states) + " |")
    o.append("|---|" + "---|" * len(states))
    order = sorted((k for k in cats if k not in ("Total (NMT)", "RSS (this run)")), key=lambda k: -max(cats[k].values()))
    for k in order + ["Total (NMT)", "RSS (this run)"]:
        if k in cats and max(cats[k].values()) >= 0.5:
            o.append("| %s | %s |" % (k, " | ".join("%.1f" % cats[k][s] if s in cats[k] else "-" for s in states)))
    o.append("")
bad = []
r1, r9 = float(by[("ferry", "rate1k")][2]), float(by[("ferry", "idle9k")][2])
o.append("Budgets: RSS at 1,000 req/s %.1f MiB (budget %.0f): %s; with the idle connections %.1f MiB (budget %.0f): %s." % (
    r1, brate, "met" if r1 <= brate else "EXCEEDED", r9, bidle, "met" if r9 <= bidle else "EXCEEDED"))
if r1 > brate: bad.append("rate1k")
if r9 > bidle: bad.append("idle9k")
open(out, "w").write("\n".join(o) + "\n")
print("\n".join(o))
sys.exit(3 if bad else 0)
PY
