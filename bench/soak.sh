#!/usr/bin/env bash
# `make soak`: SOAK_SECS (1800) of mixed traffic through the simulated cluster's two agents — keep-alive requests and
# connection churn, all over HBONE — while the mesh changes every CHANGE_SECS (3): a DENY policy for another
# principal toggled on and off, a Service and a pod added and removed. Every round (ROUND_SECS, 60) samples each
# agent after a full GC: heap used, file descriptors, RSS. Passes when no request the config allowed failed, the
# heap after GC and the fds are flat (last round vs the first after warm-up, within HEAP_SLACK_MIB and FD_SLACK),
# and both agents stayed ready. Figures land in bench/results/soak-*.txt.
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PLUGIN=$ROOT/cni-plugin/target/native/ferry-cni
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)}
JAVA=$JAVA_HOME/bin/java
SOAK_SECS=${SOAK_SECS:-1800}; ROUND_SECS=${ROUND_SECS:-60}; CHANGE_SECS=${CHANGE_SECS:-3}
HEAP_SLACK_MIB=${HEAP_SLACK_MIB:-8}; FD_SLACK=${FD_SLACK:-32}
WORK=$(mktemp -d /tmp/ferry-soak.XXXXXX)
# shellcheck source=deploy/cluster.sh
. "$ROOT/deploy/cluster.sh"
CP=ferry-soakc-$S; CP2=ferry-soakd-$S; WP=ferry-soakw-$S
trap cluster_cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
[ "$(id -u)" = 0 ] || { echo "soak: needs root" >&2; exit 1; }
[ -f "$JAR" ] && [ -x "$PLUGIN" ] || { echo "soak: run 'make soak' (it builds first)" >&2; exit 1; }
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ).txt

pod() { # name uid node sa ip labels
  local st="status: {phase: Pending}"
  [ -n "$5" ] && st="status: {phase: Running, podIP: $5, conditions: [{type: Ready, status: \"True\"}]}"
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: soak, uid: %s, labels: {%s}}\nspec: {nodeName: %s, serviceAccountName: %s, containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}\n%s\n' \
    "$1" "$2" "$6" "$3" "$4" "$st"
}
mesh() { # client-ip client2-ip web-ip variant(0|1)
  {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: soak, labels: {ferry.dev/mesh: enabled}}\n'
    pod client uid-c node-1 client "$1" "app: client"
    pod churn uid-d node-1 churn "$2" "app: churn"
    pod web uid-w node-2 web "$3" "app: web"
    printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: soak}\nspec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: http}], selector: {app: web}}\n'
    if [ "$4" = 1 ]; then
      # a DENY for a principal no client has: must never refuse the clients' requests
      printf -- '---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-nobody, namespace: soak}\nspec: {action: DENY, selector: {matchLabels: {app: web}}, rules: [{from: [{source: {principals: ["cluster.local/ns/soak/sa/nobody"]}}]}]}\n'
      printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: soak}\nspec: {clusterIP: 10.96.0.20, ports: [{port: 81, targetPort: 8080}], selector: {app: web}}\n'
      pod ghost uid-g node-2 ghost "" "app: ghost"
    fi
  } > "$WORK/mesh.yaml.tmp"
  mv "$WORK/mesh.yaml.tmp" "$WORK/mesh.yaml"
}

mesh "" "" "" 0
mesh_ca
cluster_up "probeSnat: node
hboneOutbound: true
$(mesh_ca_config)"
for p in "$CP" "$CP2" "$WP"; do netns_add "$p"; done
cni 1 ADD "$CP" soak client uid-c c1; CIP=$(pod_ip "$CNI_OUT"); [ "$CNI_RC" = 0 ]
cni 1 ADD "$CP2" soak churn uid-d c2; DIP=$(pod_ip "$CNI_OUT"); [ "$CNI_RC" = 0 ]
cni 2 ADD "$WP" soak web uid-w c3; WIP=$(pod_ip "$CNI_OUT"); [ "$CNI_RC" = 0 ]
mesh "$CIP" "$DIP" "$WIP" 0
for p in "$CP" "$CP2"; do
  ip netns exec "$p" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
done
mkdir -p "$WORK/tmp"
cat > "$WORK/nginx.conf" <<NGX
user root; worker_processes 1; master_process off; daemon off; pid $WORK/nginx.pid; error_log stderr warn;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp;
  fastcgi_temp_path $WORK/tmp; uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server { listen $WIP:8080 reuseport; location / { return 200 "ok"; } } }
NGX
ip netns exec "$WP" nginx -c "$WORK/nginx.conf" -e stderr & PIDS+=($!)
for i in $(seq 1 100); do
  ip netns exec "$CP" curl -sf --max-time 2 -o /dev/null http://10.96.0.10/ 2>/dev/null && \
    ip netns exec "$CP2" curl -sf --max-time 2 -o /dev/null http://10.96.0.10/ 2>/dev/null && break
  sleep 0.2
done

jvm_pid() { pgrep -P "$1" java || echo "$1"; }
sample() { # node -> "heap_mib fds rss_mib"
  local pid; pid=$(jvm_pid "${AGENT_PIDS[$1]}")
  "$JAVA_HOME/bin/jcmd" "$pid" GC.run >/dev/null
  local heap; heap=$("$JAVA_HOME/bin/jcmd" "$pid" GC.heap_info | awk '/used/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i+1); sub(/K,?/, "", v); s += v } } END { printf "%.1f", s / 1024 }')
  echo "$heap $(ls /proc/"$pid"/fd | wc -l) $(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/"$pid"/status)"
}
ready() { ip netns exec "$(node_ns "$1")" curl -s --max-time 2 http://127.0.0.1:15021/healthz/ready; }

# the mesh changes in the background, all soak long
( v=0; end=$((SECONDS + SOAK_SECS)); while [ $SECONDS -lt $end ]; do v=$((1 - v)); mesh "$CIP" "$DIP" "$WIP" $v; sleep "$CHANGE_SECS"; done ) &
CHANGER=$!; PIDS+=($CHANGER)

echo "soak: ${SOAK_SECS}s in rounds of ${ROUND_SECS}s; mesh changes every ${CHANGE_SECS}s" | tee "$OUT"
printf '%5s %9s %9s %8s %8s | %7s %5s %6s | %7s %5s %6s | %s\n' round ka_req churn_req failed ready1/2 heap1 fds1 rss1 heap2 fds2 rss2 errors | tee -a "$OUT"
rounds=$((SOAK_SECS / ROUND_SECS)); total_failed=0; not_ready=0
first1=""; first2=""
for r in $(seq 1 "$rounds"); do
  ip netns exec "$CP" wrk -t1 -c8 -d"${ROUND_SECS}s" --timeout 5s http://10.96.0.10/ > "$WORK/ka.txt" 2>&1 &
  KA=$!
  ip netns exec "$CP2" wrk -t1 -c4 -d"${ROUND_SECS}s" --timeout 5s -H 'Connection: close' http://10.96.0.10/ > "$WORK/churn.txt" 2>&1 &
  CH=$!
  wait $KA $CH || true
  ka=$(awk '/requests in/ { print $1 }' "$WORK/ka.txt"); ch=$(awk '/requests in/ { print $1 }' "$WORK/churn.txt")
  errs=$(cat "$WORK/ka.txt" "$WORK/churn.txt" | grep -E 'Socket errors|Non-2xx' | tr -s ' ' | tr '\n' ';' || true)
  failed=$(cat "$WORK/ka.txt" "$WORK/churn.txt" | awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }')
  total_failed=$((total_failed + failed))
  r1=$(ready 1 | head -c 20); r2=$(ready 2 | head -c 20)
  [ "$r1" = "ready" ] && [ "$r2" = "ready" ] || not_ready=$((not_ready + 1))
  s1=$(sample 1); s2=$(sample 2)
  if [ "$r" = 2 ] || [ "$rounds" = 1 ]; then first1=$s1; first2=$s2; fi # round 1 is the warm-up
  printf '%5s %9s %9s %8s %8s | %7s %5s %6s | %7s %5s %6s | %s\n' "$r" "$ka" "$ch" "$failed" "${r1:0:5}/${r2:0:5}" $s1 $s2 "${errs:--}" | tee -a "$OUT"
done
last1=$s1; last2=$s2
verdict=PASS
check() { # name first last slack
  local d; d=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", b - a }')
  if awk -v d="$d" -v s="$4" 'BEGIN { exit !(d > s) }'; then verdict=FAIL; echo "soak: $1 grew by $d (slack $4)" | tee -a "$OUT"; fi
  echo "  $1: $2 -> $3 (change $d, slack $4)" | tee -a "$OUT"
}
echo "after warm-up vs last round:" | tee -a "$OUT"
check "agent-1 heap after GC MiB" "$(echo "$first1" | cut -d' ' -f1)" "$(echo "$last1" | cut -d' ' -f1)" "$HEAP_SLACK_MIB"
check "agent-2 heap after GC MiB" "$(echo "$first2" | cut -d' ' -f1)" "$(echo "$last2" | cut -d' ' -f1)" "$HEAP_SLACK_MIB"
check "agent-1 fds" "$(echo "$first1" | cut -d' ' -f2)" "$(echo "$last1" | cut -d' ' -f2)" "$FD_SLACK"
check "agent-2 fds" "$(echo "$first2" | cut -d' ' -f2)" "$(echo "$last2" | cut -d' ' -f2)" "$FD_SLACK"
[ "$total_failed" = 0 ] || { verdict=FAIL; echo "soak: $total_failed allowed request(s) failed" | tee -a "$OUT"; }
[ "$not_ready" = 0 ] || { verdict=FAIL; echo "soak: an agent was not ready after $not_ready round(s)" | tee -a "$OUT"; }
reloads=$(ip netns exec "$N1" curl -s http://127.0.0.1:15020/metrics | awk '/^ferry_mesh_reloads_total\{outcome="applied"/ { print $2 }')
echo "mesh reloads applied on agent-1: ${reloads:-?}; failed requests: $total_failed; verdict: $verdict" | tee -a "$OUT"
echo "soak: figures in $OUT"
[ "$verdict" = PASS ]
