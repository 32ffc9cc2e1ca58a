#!/usr/bin/env bash
# `make bench`: Ferry vs direct vs HAProxy, measured in one run, alternating, median of ROUNDS rounds.
# See ../shared/BENCHMARKING.md for the method. Everything runs inside one network namespace made here:
#   nginx (return 200 "ok") and iperf3 on the "pod" 10.244.0.5; clients reach them
#   - direct:          10.244.0.5:8080 / :5201
#   - ferry io_uring:  VIP 10.96.0.10:80 / 10.96.0.11:5201 -> nft REDIRECT -> agent A (:15001) -> pod
#   - ferry epoll:     VIP 10.96.1.10:80 / 10.96.1.11:5201 -> nft REDIRECT -> agent B (:15011) -> pod
#   - ferry splice:    VIP 10.96.2.10:80 / 10.96.2.11:5201 -> nft REDIRECT -> agent C (:15041, epoll, relay splice)
#   - haproxy:         VIP 10.96.3.10:80 / 10.96.3.11:5201 -> nft REDIRECT -> 127.0.0.1:16080 / :16201 (mode tcp,
#                      nbthread 1) -> pod: reached the way Ferry is, so the client's sockets are alike (a loopback
#                      destination would let the client reuse TIME_WAIT ports, tcp_tw_reuse=2, which a VIP does not)
# Results: bench/results/<timestamp>.md (and printed).
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
ROUNDS=${ROUNDS:-3}
WRK_SECS=${WRK_SECS:-10}
IPERF_SECS=${IPERF_SECS:-5}
IDLE_CONNS=${IDLE_CONNS:-9000}
LOAD_SECS=${LOAD_SECS:-10}
# Which parts to run (all by default): l4 (iperf3, wrk -c32, hey 1k), loads (churn, 512/2,048 connections, a fixed
# 5,000 req/s, 64 KiB and 1 MiB bodies), idle (9,000 idle connections), jmh.
PHASES=${PHASES:-l4 loads idle jmh}
phase() { [[ " $PHASES " == *" $1 "* ]]; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $JAR in /*) JAR_PATH=$JAR ;; *) JAR_PATH=$ROOT/$JAR ;; esac # an absolute path: another build (before/after)
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* | head -1)}
JAVA=$JAVA_HOME/bin/java
NS=ferry-bench-$$
WORK=$(mktemp -d /tmp/ferry-bench.XXXXXX)
PIDS=()
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ).md

. "$ROOT/bench/common.sh"
trap cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
for t in wrk iperf3 haproxy nginx nft; do command -v $t >/dev/null || { echo "bench: $t missing (make deps)"; exit 1; }; done

bench_namespace
# Clients here may reuse their TIME_WAIT ports (as they may towards loopback by default): with one client address
# and one VIP per target, a client that closes first otherwise exhausts its ~28k ports within seconds of churn, and
# the run measures the client's port search (__inet_hash_connect) instead of the proxy. Per namespace only.
inns sysctl -qw net.ipv4.tcp_tw_reuse=1
cat > "$WORK/redirect.nft" <<'NFT'
table ip ferry {
  chain output {
    type nat hook output priority -100; policy accept;
    meta mark 0x539 return
    ip daddr 10.96.0.0/24 meta l4proto tcp redirect to :15001
    ip daddr 10.96.1.0/24 meta l4proto tcp redirect to :15011
    ip daddr 10.96.2.0/24 meta l4proto tcp redirect to :15041
    ip daddr 10.96.3.10 tcp dport 80 redirect to :16080
    ip daddr 10.96.3.11 tcp dport 5201 redirect to :16201
  }
}
NFT
inns nft -f "$WORK/redirect.nft"

bench_nginx
inns iperf3 -s -B 10.244.0.5 -p 5201 >/dev/null 2>&1 & PIDS+=($!)
{ bench_haproxy_tcp_head; cat <<HAP; } > "$WORK/haproxy.cfg"
frontend web
  bind 127.0.0.1:16080
  default_backend web
backend web
  server s1 10.244.0.5:8080
frontend iperf
  bind 127.0.0.1:16201
  default_backend iperf
backend iperf
  server s1 10.244.0.5:5201
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
spec: {clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: iperf, namespace: bench}
spec: {clusterIP: 10.96.0.11, ports: [{port: 5201}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: web-b, namespace: bench}
spec: {clusterIP: 10.96.1.10, ports: [{port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: iperf-b, namespace: bench}
spec: {clusterIP: 10.96.1.11, ports: [{port: 5201}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: web-c, namespace: bench}
spec: {clusterIP: 10.96.2.10, ports: [{port: 80, targetPort: 8080}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: iperf-c, namespace: bench}
spec: {clusterIP: 10.96.2.11, ports: [{port: 5201}], selector: {app: server}}
---
apiVersion: v1
kind: Service
metadata: {name: sink, namespace: bench}
spec: {clusterIP: 10.96.0.12, ports: [{port: 7000}], selector: {app: server}}
MESH

start_agent() { # name transport outPort inPort adminPort metricsPort readyPort relay
  cat > "$WORK/$1.yaml" <<CFG
nodeName: node-1
meshFile: $WORK/mesh.yaml
transport: $2
relay: ${8:-copy}
eventLoops: 1
outboundPort: $3
inboundPort: $4
adminPort: $5
metricsPort: $6
readinessPort: $7
metricsAddress: 127.0.0.1
accessLog: false
maxConnections: 9500
maxConnectionsPerWorkload: 9500
maxConnectionsPerSource: 9500
# one client holds every idle connection: no share kept back for others
reservedConnectionsPercent: 0
CFG
  inns bash -c "ulimit -n 20000; exec $JAVA $(agent_jvm_opts "$JAR_PATH") ${EXTRA_JVM:-} -jar $JAR_PATH run --config $WORK/$1.yaml" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  eval "AGENT_$1=$!"
  for i in $(seq 1 150); do inns curl -sf --max-time 1 "http://127.0.0.1:$7/healthz/ready" >/dev/null 2>&1 && return 0; sleep 0.2; done
  cat "$WORK/$1.log"; echo "bench: agent $1 not ready"; exit 1
}
start_agent A io_uring 15001 15006 15000 15020 15021
start_agent B epoll 15011 15016 15010 15030 15031
start_agent C epoll 15041 15046 15040 15050 15051 splice
sleep 1

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
agent_jvm_pid() { pgrep -P "$1" java || echo "$1"; }
JA=$(agent_jvm_pid "$AGENT_A"); JB=$(agent_jvm_pid "$AGENT_B"); JC=$(agent_jvm_pid "$AGENT_C"); JH=$(pgrep -n haproxy)

declare -A URL=( [direct]=http://10.244.0.5:8080/ [ferry_uring]=http://10.96.0.10/ [ferry_epoll]=http://10.96.1.10/ [ferry_splice]=http://10.96.2.10/ [haproxy]=http://10.96.3.10/ )
declare -A IP=( [direct]="10.244.0.5 5201" [ferry_uring]="10.96.0.11 5201" [ferry_epoll]="10.96.1.11 5201" [ferry_splice]="10.96.2.11 5201" [haproxy]="10.96.3.11 5201" )
declare -A PROC=( [direct]="" [ferry_uring]=$JA [ferry_epoll]=$JB [ferry_splice]=$JC [haproxy]=$JH )
TARGETS=(${BENCH_TARGETS:-direct ferry_uring ferry_epoll ferry_splice haproxy})
LOAD_TARGETS=(${LOAD_TARGETS:-direct ferry_uring ferry_epoll haproxy})
LOADS=(${LOADS:-churn c512 c2048 fixed5k body64k body1m})
RES=$WORK/results.tsv; : > "$RES"
# HOLD=<s>: keep the namespace, nginx, HAProxy and the agents up that long for probing by hand (profilers, ss, perf)
if [ -n "${HOLD:-}" ]; then echo "bench: holding $NS for ${HOLD}s (agents: A=$JA B=$JB C=$JC, HAProxy $JH)"; sleep "$HOLD" & PIDS+=($!); wait $!; fi

busy() { # other processes' CPU over 1 s, in % of one core (a quiet machine is < 20)
  local a b; a=$(awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat); sleep 1; b=$(awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat)
  echo $(( (b - a) ))
}

run_wrk() { # target round
  local p=${PROC[$1]} c0=0 c1=0 out
  [ -n "$p" ] && c0=$(cpu_s "$p")
  out=$(inns wrk -t1 -c32 -d${WRK_SECS}s --latency "${URL[$1]}")
  [ -n "$p" ] && c1=$(cpu_s "$p")
  local rps p50 p99 reqs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo -e "wrk\t$1\t$2\t$rps\t$(ms "$p50")\t$(ms "$p99")\t$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN{ if (n>0) printf "%.2f", (b-a)*1e6/n; else print "-"}')" >> "$RES"
}
run_hey() { # target round: fixed rate, ~1,000 req/s (16 workers x 62.5 req/s), latency at a realistic load
  local out p50 p99
  out=$(inns hey -c 16 -q 62.5 -z ${WRK_SECS}s "${URL[$1]}")
  p50=$(awk '/ 50% in / {print $3*1000}' <<<"$out"); p99=$(awk '/ 99% in / {print $3*1000}' <<<"$out")
  echo -e "hey\t$1\t$2\t-\t${p50:-nan}\t${p99:-nan}\t-" >> "$RES"
}
run_iperf() { # target round
  local p=${PROC[$1]} c0=0 c1=0 json gbps bytes
  [ -n "$p" ] && c0=$(cpu_s "$p")
  set -- "$1" "$2" ${IP[$1]}
  json=$(inns iperf3 -c "$3" -p "$4" -t "$IPERF_SECS" -J)
  [ -n "$p" ] && c1=$(cpu_s "$p")
  gbps=$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' <<<"$json")
  bytes=$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["end"]["sum_received"]["bytes"])' <<<"$json")
  echo -e "iperf\t$1\t$2\t$gbps\t-\t-\t$(awk -v a="$c0" -v b="$c1" -v n="$bytes" 'BEGIN{ if (n>0) printf "%.2f", (b-a)/(n/1e9); else print "-"}')" >> "$RES"
}

thread_cpu() { # pid: "thread-name ticks" for every thread (utime+stime)
  for t in /proc/$1/task/*; do awk '{c=$14+$15; n=$0; sub(/^[^(]*\(/,"",n); sub(/\).*/,"",n); gsub(/ /,"_",n); print n, c}' "$t/stat" 2>/dev/null; done
}
thread_delta() { # before after: the threads that used CPU between the two, in ms, busiest first
  awk 'NR==FNR {a[$1]+=$2; next} {b[$1]+=$2} END {for (k in b) if (b[k]-a[k]>0) printf "%s=%dms ", k, (b[k]-a[k])*10}' "$1" "$2" | tr ' ' '\n' | sort -t= -k2 -rn | head -6 | tr '\n' ' '
}
run_load() { # load target round: one wrk/hey run; value (req/s, or MB/s for bodies), p50, p99, proxy CPU µs/request
  local p=${PROC[$2]} c0=0 c1=0 out u=${URL[$2]} val p50 p99 p999="-" reqs errs
  [ -n "$p" ] && c0=$(cpu_s "$p") && thread_cpu "$p" > "$WORK/threads.0"
  case $1 in
    churn) out=$(inns wrk -t1 -c32 -d${LOAD_SECS}s --latency -H 'Connection: close' "$u") ;;
    c512) out=$(inns bash -c "ulimit -n 20000; exec wrk -t2 -c512 -d${LOAD_SECS}s --latency $u") ;;
    c2048) out=$(inns bash -c "ulimit -n 20000; exec wrk -t2 -c2048 -d${LOAD_SECS}s --latency $u") ;;
    body64k) out=$(inns wrk -t1 -c16 -d${LOAD_SECS}s --latency "${u}64k") ;;
    body1m) out=$(inns wrk -t1 -c16 -d${LOAD_SECS}s --latency "${u}1m") ;;
    fixed5k) inns hey -c 64 -q 78 -z ${LOAD_SECS}s -o csv "$u" > "$WORK/fixed.csv" ;;
  esac
  [ -n "$p" ] && c1=$(cpu_s "$p") && thread_cpu "$p" > "$WORK/threads.1"
  [ -n "$p" ] && [ -n "${THREADS:-}" ] && echo "  $1 $2: $(thread_delta "$WORK/threads.0" "$WORK/threads.1")"
  if [ "$1" = fixed5k ]; then
    # hey's per-request lines: its 64 workers tick in phase, so the load arrives as bursts of 64 requests every
    # 12.8 ms, and the first burst also opens every connection. The steady row leaves out each connection's first
    # request (DNS+dialup > 0), to tell the connection set-up's share of the tail from the bursts' (docs/profiling.md).
    read -r val p50 p99 reqs errs sp50 sp99 < <(/usr/bin/python3 "$ROOT/bench/hey_csv.py" "$WORK/fixed.csv" "$LOAD_SECS")
    echo -e "fixed5k_steady\t$2\t$3\t${val:-nan}\t${sp50:-nan}\t${sp99:-nan}\t-\t0" >> "$RES"
  else
    val=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    case $1 in body*) val=$(awk '/Transfer\/sec/ {v=$2; if (v ~ /GB$/) m=1024; else if (v ~ /KB$/) m=1/1024; else m=1; sub(/[KMG]B$/,"",v); printf "%.1f", v*m}' <<<"$out") ;; esac
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$out")"); p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
    errs=$(awk '/Socket errors/ {gsub(/,/,""); s+=$4+$6+$8+$10} /Non-2xx/ {s+=$5} END {print s+0}' <<<"$out")
  fi
  echo -e "$1\t$2\t$3\t${val:-nan}\t${p50:-nan}\t${p99:-nan}\t$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN{ if (n>0 && b>0) printf "%.2f", (b-a)*1e6/n; else print "-"}')\t${errs:-0}" >> "$RES"
}

if phase l4; then
echo "bench: warm-up round (discarded)"
for t in "${TARGETS[@]}"; do inns wrk -t1 -c32 -d3s "${URL[$t]}" >/dev/null; done
for t in ferry_uring ferry_epoll ferry_splice haproxy; do set -- ${IP[$t]}; inns iperf3 -c "$1" -p "$2" -t 2 >/dev/null; done

for r in $(seq 1 "$ROUNDS"); do
  echo "bench: round $r/$ROUNDS (machine busy: $(busy)% of a core before it)"
  for t in "${TARGETS[@]}"; do run_iperf "$t" "$r"; done
  for t in "${TARGETS[@]}"; do run_wrk "$t" "$r"; done
  for t in "${TARGETS[@]}"; do run_hey "$t" "$r"; done
done
fi

if phase loads; then
echo "bench: other loads, warm-up (discarded)"
# long enough for C2 to finish compiling the accept and close paths (it was still busy 5 s into a 10 s run)
for t in "${LOAD_TARGETS[@]}"; do
  inns wrk -t1 -c32 -d${WARM_SECS:-8}s -H 'Connection: close' "${URL[$t]}" >/dev/null
  inns bash -c "ulimit -n 20000; exec wrk -t2 -c512 -d3s ${URL[$t]}" >/dev/null
done
for r in $(seq 1 "$ROUNDS"); do
  for l in "${LOADS[@]}"; do
    echo "bench: loads round $r/$ROUNDS: $l (machine busy: $(busy)% of a core before it)"
    for t in "${LOAD_TARGETS[@]}"; do run_load "$l" "$t" "$r"; sleep 1; done
  done
done
fi

RSS_A=$(rss_mb "$JA"); RSS_B=$(rss_mb "$JB"); RSS_C=$(rss_mb "$JC"); RSS_H=$(rss_mb "$JH")

IDLE_OPEN=-; IDLE_RSS=-; IDLE_HEAP=-; IDLE_DIRECT=-; echo "not run" > "$WORK/idle.txt"
if phase idle; then
echo "bench: $IDLE_CONNS idle connections through agent A"
inns bash -c "ulimit -n 20000; exec /usr/bin/python3 $ROOT/bench/idle_conns.py sink 10.244.0.5 7000 100" & SINK=$!; PIDS+=($SINK)
sleep 1
inns bash -c "ulimit -n 20000; exec /usr/bin/python3 $ROOT/bench/idle_conns.py client 10.96.0.12 7000 $IDLE_CONNS 8" > "$WORK/idle.txt" 2>&1 & IDLE=$!
sleep 6
IDLE_OPEN=$(inns curl -s http://127.0.0.1:15020/metrics | awk '/^ferry_connections_open\{direction="outbound"/ {print $2}')
IDLE_RSS=$(rss_mb "$JA")
IDLE_HEAP=$(inns curl -s http://127.0.0.1:15020/metrics | awk '/^jvm_memory_used_bytes\{area="heap"/ {printf "%.0f", $2/1048576}')
IDLE_DIRECT=$(inns curl -s http://127.0.0.1:15020/metrics | awk '/^ferry_netty_direct_memory_bytes / {printf "%.1f", $2/1048576}')
wait "$IDLE" || true
kill "$SINK" 2>/dev/null || true
fi

/usr/bin/python3 - "$RES" "$OUT" <<PY
import sys, statistics as st
rows=[l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def med(kind,t,col):
    v=[float(r[col]) for r in rows if r[0]==kind and r[1]==t and r[col] not in ("-","","nan")]
    return (st.median(v),min(v),max(v)) if v else (float("nan"),)*3
T=["direct","ferry_uring","ferry_epoll","ferry_splice","haproxy"]
out=[]
out.append("Machine: $(nproc) cores, $(uname -r), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo). Ferry: 1 event loop, JVM flags $(agent_jvm_opts "$JAR_PATH" | sed "s#@$ROOT/##; s#-XX:AOTCache=[^ ]*#+ AOT cache#"), access log off; HAProxy $(haproxy -v | head -1 | awk '{print $3}') nbthread 1, mode tcp. Rounds: $ROUNDS, alternating; median (min-max).")
def row(prefix,kind,col,fmt,targets,ratios):
    # one table row: the prefix cells, each target's median (min-max), then the ratios of medians
    m={t:med(kind,t,col) for t in targets}
    if all(m[t][0]!=m[t][0] for t in targets): return
    cell=lambda t: "-" if m[t][0]!=m[t][0] else (fmt % m[t][0]) + " (" + (fmt % m[t][1]) + "–" + (fmt % m[t][2]) + ")"
    r=lambda a,b: "%.2f×" % (m[a][0]/m[b][0]) if m[a][0]==m[a][0] and m[b][0]==m[b][0] and m[b][0] else "-"
    out.append("| " + " | ".join(prefix + [cell(t) for t in targets] + [r(x,y) for x,y in ratios]) + " |")
if any(r[0] in ("iperf","wrk","hey") for r in rows):
    out.append("")
    out.append("| scenario | direct | Ferry io_uring | Ferry epoll | Ferry epoll+splice | HAProxy | io_uring/HAProxy | epoll/HAProxy | splice/HAProxy | io_uring/direct |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    R=[("ferry_uring","haproxy"),("ferry_epoll","haproxy"),("ferry_splice","haproxy"),("ferry_uring","direct")]
    for name,kind,col,fmt in [("iperf3 1 stream, Gbit/s","iperf",3,"%.2f"),("wrk -c32 HTTP/1.1, req/s","wrk",3,"%.0f"),
            ("wrk p50 latency, ms","wrk",4,"%.3f"),("wrk p99 latency, ms","wrk",5,"%.3f"),
            ("hey ~1,000 req/s p50 latency, ms","hey",4,"%.3f"),("hey ~1,000 req/s p99 latency, ms","hey",5,"%.3f"),
            ("proxy CPU s per GB (iperf3)","iperf",6,"%.2f"),("proxy CPU µs per request (wrk)","wrk",6,"%.2f")]:
        row([name],kind,col,fmt,T,R)
L=["direct","ferry_uring","ferry_epoll","haproxy"]
if any(r[0] in ("churn","c512","c2048","fixed5k","body64k","body1m") for r in rows):
    out.append("")
    out.append("Other loads (same run, alternating, median (min-max) of the rounds; errors summed over rounds):")
    out.append("")
    out.append("| load | figure | direct | Ferry io_uring | Ferry epoll | HAProxy | io_uring/HAProxy | epoll/HAProxy |")
    out.append("|---|---|---|---|---|---|---|---|")
    lline=lambda load,fig,col,fmt: row([load,fig],load,col,fmt,L,[("ferry_uring","haproxy"),("ferry_epoll","haproxy")])
    names={"churn":"new connection per request, wrk -c32 Connection: close","c512":"512 keep-alive connections, wrk -t2","c2048":"2,048 keep-alive connections, wrk -t2","fixed5k":"fixed 5,000 req/s over 64 connections, hey -c64 -q78","body64k":"64 KiB responses, wrk -c16","body1m":"1 MiB responses, wrk -c16"}
    for load in ("churn","c512","c2048","fixed5k","fixed5k_steady","body64k","body1m"):
        if not any(r[0]==load for r in rows): continue
        if load=="fixed5k_steady": # the same runs without each connection's first request
            lline(load, "fixed rate without each connection's first request: p50 ms", 4, "%.2f")
            lline(load, "p99 ms", 5, "%.2f")
            continue
        unit="MB/s" if load.startswith("body") else "req/s"
        lline(load, names[load]+", "+unit, 3, "%.1f" if unit=="MB/s" else "%.0f")
        lline(load, "p50 ms", 4, "%.2f")
        lline(load, "p99 ms", 5, "%.2f")
        lline(load, "proxy CPU µs per request", 6, "%.1f")
        errs={t:sum(int(float(r[7])) for r in rows if r[0]==load and r[1]==t and len(r)>7) for t in L}
        if any(errs.values()): out.append(f"| {load} | errors | " + " | ".join(str(errs[t]) for t in L) + " | | |")
out.append("")
out.append("RSS after the runs: Ferry io_uring $RSS_A MiB, Ferry epoll $RSS_B MiB, Ferry epoll+splice $RSS_C MiB, HAProxy $RSS_H MiB.")
out.append("Idle connections: $(cat $WORK/idle.txt | tr '\n' ' ') through Ferry io_uring, ferry_connections_open=${IDLE_OPEN:-?}; RSS $IDLE_RSS MiB, heap used $IDLE_HEAP MiB, Netty direct ${IDLE_DIRECT} MiB.")
text="\n".join(out)
print(text)
open(sys.argv[2],"w").write(text+"\n")
PY
if phase jmh; then
echo
echo "bench: JMH (snapshot lookups, endpoint pick, authorization decisions, policy reloads, route matching and request balancers)"
"$JAVA" -jar "$ROOT/bench/target/benchmarks.jar" -f 1 -wi 2 -w 1 -i 3 -r 1 -bm avgt "SnapshotLookupBench|PolicyEngineBench|L7Bench" 2>&1 | tail -30 | tee -a "$OUT"
fi
echo "bench: results in $OUT"
