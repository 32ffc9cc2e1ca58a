#!/usr/bin/env bash
# `make bench` (part 2): the in-pod capture path in the simulated two-node cluster (deploy/cluster.sh).
#   1. CNI ADD and DEL wall time over 100 pods, end to end (bridge + host-local, then ferry-cni with the agent's
#      work: netns checks, nft rules, listeners), p50/p99; ferry-cni's own cost (pass-through for an unenrolled
#      pod, which never contacts the agent) against the floor of exec'ing /bin/true the same way.
#   2. Cross-node HTTP through two agents (client pod -> node-1 agent -> node-2 agent -> nginx pod) against direct
#      pod-to-pod between two unenrolled pods on the same nodes, wrk, alternating rounds, medians: first in
#      plaintext, then (agents restarted with hboneOutbound; the pods stay captured) over HBONE mTLS, each next to
#      a two-hop HAProxy TLS 1.3 tunnel (A on node 1: plain in, TLS out with a client certificate; B on node 2: TLS
#      in, verify required, plain to the pod), ECDSA P-256 like Ferry's.
# Results: bench/results/cluster-<timestamp>.md (and printed). Root only; everything is torn down on exit.
set -euo pipefail
JAR=${1:-node-agent/target/ferry-agent.jar}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PLUGIN=$ROOT/cni-plugin/target/native/ferry-cni
JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)}
JAVA=$JAVA_HOME/bin/java
WORK=$(mktemp -d /tmp/ferry-bench-cluster.XXXXXX)
PODS=${PODS:-100}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
# Which parts to run (all by default): cni (ADD/DEL timings), plain and hbone (cross-node HTTP and bulk).
PHASES=${PHASES:-cni plain hbone}
phase() { [[ " $PHASES " == *" $1 "* ]]; }
# shellcheck source=deploy/cluster.sh
. "$ROOT/deploy/cluster.sh"
trap cluster_cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
mkdir -p "$ROOT/bench/results"
OUT=$ROOT/bench/results/cluster-$(date -u +%Y%m%dT%H%M%SZ).md
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }

mesh() { # lines "name ns node ip" on stdin
  {
    echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata: {name: bench, labels: {ferry.dev/mesh: enabled}}"
    echo "---"; echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata: {name: plain}"
    echo "---"; echo "apiVersion: v1"; echo "kind: Service"; echo "metadata: {name: web, namespace: bench}"
    echo "spec: {clusterIP: 10.96.0.20, ports: [{port: 80, targetPort: 8080}], selector: {app: web}}"
    while read -r name ns node ip; do
      echo "---"; echo "apiVersion: v1"; echo "kind: Pod"
      echo "metadata: {name: $name, namespace: $ns, uid: uid-$name, labels: {app: $name}}"
      echo "spec: {nodeName: node-$node, serviceAccountName: $name, containers: [{name: c, image: i}]}"
      if [ "$ip" != - ]; then
        echo "status: {phase: Running, podIP: $ip, conditions: [{type: Ready, status: \"True\"}]}"
      fi
    done
  } > "$WORK/mesh.yaml.tmp"
  mv "$WORK/mesh.yaml.tmp" "$WORK/mesh.yaml"
}
pods_list() { # extra "name ns node ip" lines for the wrk pods
  for i in $(seq -w 0 $((PODS - 1))); do echo "p-$i bench 1 -"; done
  cat
}

# the app label is the pod name: the Service selects app=web
printf 'web bench 2 -\nclient bench 1 -\npweb plain 2 -\npclient plain 1 -\n' | pods_list | mesh
# One mesh CA for both agents (see mesh_ca), and the HAProxy tunnel's CA and certificates, all ECDSA P-256.
mesh_ca
mkcert tunnel-ca tunnel
mkcert hapa hapa tunnel-ca
mkcert hapb hapb tunnel-ca
cluster_up "probeSnat: node
$(mesh_ca_config)"

: > "$WORK/add.txt"; : > "$WORK/del.txt"; : > "$WORK/pass.txt"
if phase cni; then
echo "== CNI ADD x $PODS (bridge + host-local, then ferry-cni + agent)"
for i in $(seq -w 0 $((PODS - 1))); do
  netns_add "ferry-b$i-$S"
  cni 1 ADD "ferry-b$i-$S" bench "p-$i" "uid-p-$i" "c$i"
  [ "$CNI_RC" = 0 ] || { echo "ADD p-$i failed: $CNI_OUT" >&2; exit 1; }
  echo "$BRIDGE_US $FERRY_US" >> "$WORK/add.txt"
done
echo "== CNI DEL x $PODS"
for i in $(seq -w 0 $((PODS - 1))); do
  cni 1 DEL "ferry-b$i-$S" bench "p-$i" "uid-p-$i" "c$i"
  echo "$BRIDGE_US $FERRY_US" >> "$WORK/del.txt"
  ip netns delete "ferry-b$i-$S"
done

echo "== ferry-cni alone: pass-through for an unenrolled pod vs exec of /bin/true, x $PODS each"
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"10.244.1.250/24","gateway":"10.244.1.1","interface":0}]}'
CONF="{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"ferry-cni\",\"agentSocket\":\"$WORK/node1/run/cni.sock\",\"enrolledNamespacesFile\":\"$WORK/node1/enrolled-namespaces\",\"prevResult\":$PREV}"
ENV=(CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS=/run/netns/$N1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
     "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=plain;K8S_POD_NAME=x;K8S_POD_UID=u")
for i in $(seq 1 "$PODS"); do
  t0=${EPOCHREALTIME/./}
  env -i "${ENV[@]}" nsenter --net=/run/netns/"$N1" "$PLUGIN" <<< "$CONF" > /dev/null
  t1=${EPOCHREALTIME/./}
  # a here-string, not a pipe: /bin/true exits unread, and a pipe's writer would die of SIGPIPE (pipefail)
  env -i "${ENV[@]}" nsenter --net=/run/netns/"$N1" /bin/true <<< "$CONF"
  t2=${EPOCHREALTIME/./}
  echo "$((t1 - t0)) $((t2 - t1))" >> "$WORK/pass.txt"
done

fi
echo "== cross-node pods: web + client (enrolled), pweb + pclient (unenrolled)"
declare -A IP
for spec in "web bench 2" "client bench 1" "pweb plain 2" "pclient plain 1"; do
  read -r name ns node <<< "$spec"
  netns_add "ferry-$name-$S"
  cni "$node" ADD "ferry-$name-$S" "$ns" "$name" "uid-$name" "c-$name"
  [ "$CNI_RC" = 0 ] || { echo "ADD $name failed: $CNI_OUT" >&2; exit 1; }
  IP[$name]=$(pod_ip "$CNI_OUT")
done
printf 'web bench 2 %s\nclient bench 1 %s\npweb plain 2 %s\npclient plain 1 %s\n' \
  "${IP[web]}" "${IP[client]}" "${IP[pweb]}" "${IP[pclient]}" | PODS=0 pods_list | mesh
for name in web pweb; do
  mkdir -p "$WORK/$name/tmp"
  cat > "$WORK/$name/nginx.conf" <<NGX
user root; worker_processes 1; master_process off; daemon off; pid $WORK/$name/nginx.pid; error_log stderr warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $WORK/$name/tmp;
  proxy_temp_path $WORK/$name/tmp; fastcgi_temp_path $WORK/$name/tmp; uwsgi_temp_path $WORK/$name/tmp;
  scgi_temp_path $WORK/$name/tmp;
  server { listen ${IP[$name]}:8080; location / { return 200 "ok"; } } }
NGX
  ip netns exec "ferry-$name-$S" nginx -c "$WORK/$name/nginx.conf" -e stderr &
  PIDS+=($!)
done
for name in web pweb; do
  ip netns exec "ferry-$name-$S" iperf3 -s -B "${IP[$name]}" -p 5201 > "$WORK/$name/iperf3.log" 2>&1 &
  PIDS+=($!)
done
sleep 2 # the agents pick up the pod IPs (meshPollInterval 200ms) and nginx starts
ip netns exec "ferry-client-$S" curl -sf --max-time 5 http://10.96.0.20/ >/dev/null \
  || { echo "VIP not reachable through the agents" >&2; tail -20 "$WORK"/node*/agent.log; exit 1; }
ip netns exec "ferry-pclient-$S" curl -sf --max-time 5 "http://${IP[pweb]}:8080/" >/dev/null

ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us/,"",v); printf "%.3f", v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); printf "%.3f", v} else if (v ~ /s$/) {sub(/s/,"",v); printf "%.3f", v*1000} else print v }'; }
run_wrk() { # label client-ns url [header, e.g. "Connection: close" for a new connection per request]
  local out extra=()
  [ -n "${4:-}" ] && extra=(-H "$4")
  out=$(ip netns exec "$2" wrk -t1 -c16 -d"$DURATION" --latency "${extra[@]}" "$3")
  echo "$1 $(echo "$out" | awk '/Requests\/sec/ {print $2}') $(ms "$(echo "$out" | awk '$1=="50%" {print $2}')") $(ms "$(echo "$out" | awk '$1=="99%" {print $2}')") $(echo "$out" | awk '/Non-2xx|Socket errors/ {print "ERR"}' | head -1)" >> "$WORK/wrk.txt"
}
echo "== HAProxy two-hop TLS tunnel: A on node-1 (10.244.1.1:9000), B on node-2 (192.168.100.2:9443)"
cat > "$WORK/hap-a.cfg" <<HAP
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen a
  bind 10.244.1.1:9000
  server b 192.168.100.2:9443 ssl crt $WORK/hapa-haproxy.pem ca-file $WORK/tunnel-ca.pem verify required ssl-min-ver TLSv1.3
listen a-iperf
  bind 10.244.1.1:9001
  server b 192.168.100.2:9444 ssl crt $WORK/hapa-haproxy.pem ca-file $WORK/tunnel-ca.pem verify required ssl-min-ver TLSv1.3
HAP
cat > "$WORK/hap-b.cfg" <<HAP
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen b
  bind 192.168.100.2:9443 ssl crt $WORK/hapb-haproxy.pem ca-file $WORK/tunnel-ca.pem verify required ssl-min-ver TLSv1.3
  server web ${IP[pweb]}:8080
listen b-iperf
  bind 192.168.100.2:9444 ssl crt $WORK/hapb-haproxy.pem ca-file $WORK/tunnel-ca.pem verify required ssl-min-ver TLSv1.3
  server web ${IP[pweb]}:5201
# handshakes only: the same TLS bind, but no backend connection until the client sends (it never does), as
# Ferry's 15008 opens nothing before a CONNECT
listen b-hs
  bind 192.168.100.2:9445 ssl crt $WORK/hapb-haproxy.pem ca-file $WORK/tunnel-ca.pem verify required ssl-min-ver TLSv1.3
  tcp-request inspect-delay 10s
  tcp-request content accept if { req.len gt 0 }
  server web ${IP[pweb]}:8080
HAP
ip netns exec "$N1" haproxy -f "$WORK/hap-a.cfg" -db > "$WORK/hap-a.log" 2>&1 & PIDS+=($!)
ip netns exec "$N2" haproxy -f "$WORK/hap-b.cfg" -db > "$WORK/hap-b.log" 2>&1 & PIDS+=($!); HAP_B_PID=$!
sleep 1
ip netns exec "ferry-pclient-$S" curl -sf --max-time 5 "http://10.244.1.1:9000/" >/dev/null \
  || { echo "HAProxy tunnel not working" >&2; cat "$WORK"/hap-*.log; exit 1; }

run_hey() { # label client-ns url: fixed rate ~1,000 req/s (16 workers x 62.5 req/s), latency at a realistic load
  local out
  out=$(ip netns exec "$2" hey -c 16 -q 62.5 -z "${HEY_SECS:-10}s" "$3" 2>/dev/null || true)
  echo "$1 $(echo "$out" | awk '/ 50% in / {print $3*1000}') $(echo "$out" | awk '/ 99% in / {print $3*1000}')" >> "$WORK/hey.txt"
}
run_iperf() { # label client-ns host port
  local out
  out=$(ip netns exec "$2" iperf3 -c "$3" -p "$4" -t "${IPERF_SECS:-5}" -J 2>/dev/null || true)
  echo "$1 $(echo "$out" | python3 -c 'import json,sys
try: print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9, 3))
except Exception: print("nan")')" >> "$WORK/iperf.txt"
}
# A JIT-compiled agent is what runs in production: each phase first drives its paths, discarded. Several runs, not
# one long one: the end of a run's connections and the start of the next run's exercise close and open paths the
# JIT had not profiled, and the deoptimizations that follow (~150 in the agent at the first new run, measured with
# -XX:+PrintCompilation) cost several ms of p99 for ~10 s. HAProxy is native and needs none.
warm_up() { # client-ns url
  local i
  for i in 1 2 3; do ip netns exec "$1" wrk -t1 -c16 -d"${WARMUP:-10s}" "$2" > /dev/null; done
  ip netns exec "$1" hey -c 16 -q 62.5 -z 5s "$2" > /dev/null 2>&1 || true
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Full mutual-TLS handshakes (TLS 1.3, ECDSA P-256, no resumption) against a server, from the unenrolled client
# pod: handshakes/s seen by the client and per CPU-second of the server process (the per-core figure).
run_handshakes() { # label server-pid host port cert key ca
  local t0 t1 out
  t0=$(cpu_ticks "$2")
  out=$(ip netns exec "ferry-pclient-$S" node "$ROOT/bench/handshakes.js" "$3" "$4" "$5" "$6" "$7" 4 "${HS_SECS:-10}")
  t1=$(cpu_ticks "$2")
  echo "$1 $out $((t1 - t0)) ${HS_SECS:-10}" >> "$WORK/hs.txt"
}
: > "$WORK/hs.txt"
: > "$WORK/iperf.txt"; : > "$WORK/hey.txt"
: > "$WORK/wrk.txt"
if phase plain; then
warm_up "ferry-client-$S" "http://10.96.0.20/"
warm_up "ferry-pclient-$S" "http://10.244.1.1:9000/"
for r in $(seq 1 "$ROUNDS"); do
  echo "== wrk round $r/$ROUNDS (plaintext through the agents)"
  run_wrk direct "ferry-pclient-$S" "http://${IP[pweb]}:8080/"
  run_wrk haproxy-tls "ferry-pclient-$S" "http://10.244.1.1:9000/"
  run_wrk ferry-vip "ferry-client-$S" "http://10.96.0.20/"
  run_wrk ferry-podip "ferry-client-$S" "http://${IP[web]}:8080/"
  run_hey direct "ferry-pclient-$S" "http://${IP[pweb]}:8080/"
  run_hey haproxy-tls "ferry-pclient-$S" "http://10.244.1.1:9000/"
  run_hey ferry-vip "ferry-client-$S" "http://10.96.0.20/"
  run_iperf direct "ferry-pclient-$S" "${IP[pweb]}" 5201
  run_iperf haproxy-tls "ferry-pclient-$S" 10.244.1.1 9001
  run_iperf ferry-podip "ferry-client-$S" "${IP[web]}" 5201
done

fi
if phase hbone; then
echo "== agents restarted with hboneOutbound (pods re-attached from the state dir)"
cluster_restart_agents "hboneOutbound: true"
for i in $(seq 1 50); do # certificates for both workloads (fetched as soon as the mesh shows them)
  ip netns exec "ferry-client-$S" curl -sf --max-time 2 http://10.96.0.20/ >/dev/null 2>&1 && break
  sleep 0.2
done
ip netns exec "ferry-client-$S" curl -sf --max-time 5 http://10.96.0.20/ >/dev/null \
  || { echo "VIP not reachable over HBONE" >&2; tail -20 "$WORK"/node*/agent.log; exit 1; }
warm_up "ferry-client-$S" "http://10.96.0.20/"
# a client workload certificate from the mesh CA, as the client pod's own would be
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/wl-key.pem" 2>/dev/null
openssl req -new -key "$WORK/wl-key.pem" -subj "/O=bench" -out "$WORK/wl.csr" 2>/dev/null
printf 'subjectAltName=critical,URI:spiffe://cluster.local/ns/bench/sa/client\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n' > "$WORK/wl.ext"
openssl x509 -req -in "$WORK/wl.csr" -CA "$WORK/mesh-ca.pem" -CAkey "$WORK/mesh-ca-key.pem" -CAcreateserial -days 1 \
  -extfile "$WORK/wl.ext" -out "$WORK/wl.pem" 2>/dev/null
# the handshake client opens thousands of connections a second: reuse TIME_WAIT ports, use the whole range
ip netns exec "ferry-pclient-$S" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
HS_SECS=5 run_handshakes warm-up "${AGENT_PIDS[2]}" "${IP[web]}" 15008 "$WORK/wl.pem" "$WORK/wl-key.pem" "$WORK/mesh-ca.pem"
for r in $(seq 1 "$ROUNDS"); do
  echo "== handshakes round $r/$ROUNDS"
  run_handshakes ferry-hbone "${AGENT_PIDS[2]}" "${IP[web]}" 15008 "$WORK/wl.pem" "$WORK/wl-key.pem" "$WORK/mesh-ca.pem"
  run_handshakes haproxy-tls "$HAP_B_PID" 192.168.100.2 9445 "$WORK/hapa.pem" "$WORK/hapa-key.pem" "$WORK/tunnel-ca.pem"
done
for r in $(seq 1 "$ROUNDS"); do
  echo "== wrk round $r/$ROUNDS (HBONE)"
  run_wrk direct2 "ferry-pclient-$S" "http://${IP[pweb]}:8080/"
  run_wrk haproxy-tls2 "ferry-pclient-$S" "http://10.244.1.1:9000/"
  run_wrk ferry-hbone "ferry-client-$S" "http://10.96.0.20/"
  # churn: a new client connection per request, so a new tunnel stream (Ferry: on a pooled HTTP/2 connection) or
  # a new TLS connection (HAProxy) per request
  run_wrk direct2-churn "ferry-pclient-$S" "http://${IP[pweb]}:8080/" "Connection: close"
  run_wrk haproxy-tls2-churn "ferry-pclient-$S" "http://10.244.1.1:9000/" "Connection: close"
  run_wrk ferry-hbone-churn "ferry-client-$S" "http://10.96.0.20/" "Connection: close"
  run_hey direct2 "ferry-pclient-$S" "http://${IP[pweb]}:8080/"
  run_hey haproxy-tls2 "ferry-pclient-$S" "http://10.244.1.1:9000/"
  run_hey ferry-hbone "ferry-client-$S" "http://10.96.0.20/"
  run_iperf direct2 "ferry-pclient-$S" "${IP[pweb]}" 5201
  run_iperf haproxy-tls2 "ferry-pclient-$S" 10.244.1.1 9001
  run_iperf ferry-hbone "ferry-client-$S" "${IP[web]}" 5201
done

fi
python3 - "$WORK" "$OUT" "$PODS" "$ROUNDS" "$DURATION" <<'PY'
import math, sys, statistics as st
work, out, pods, rounds, duration = sys.argv[1:]
for name in ["add.txt", "del.txt", "pass.txt", "wrk.txt", "iperf.txt", "hey.txt", "hs.txt"]:  # phases not run
    open(f"{work}/{name}", "a").close()
def cols(name):
    rows = [l.split() for l in open(f"{work}/{name}") if l.strip()]
    return [[int(r[i]) / 1000 for r in rows] for i in range(2)] if rows else [[float("nan")], [float("nan")]]
def pct(v, p):  # nearest rank
    v = sorted(v); return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]
add_bridge, add_ferry = cols("add.txt"); del_bridge, del_ferry = cols("del.txt"); passthru, true_ = cols("pass.txt")
add_total = [a + b for a, b in zip(add_bridge, add_ferry)]; del_total = [a + b for a, b in zip(del_bridge, del_ferry)]
lines = ["# Ferry in the simulated cluster", "",
         f"CNI over {pods} pods (ms; each plugin exec'd with nsenter into the node namespace, as a runtime would exec it on the host)", "",
         "| step | p50 | p99 | max |", "|---|---|---|---|"]
for label, v in [("ADD, whole chain (bridge + host-local + ferry-cni)", add_total), ("ADD, bridge + host-local", add_bridge),
                 ("ADD, ferry-cni + agent (netns checks, nft, listeners)", add_ferry), ("DEL, whole chain", del_total),
                 ("DEL, ferry-cni + agent", del_ferry), ("ferry-cni pass-through (unenrolled pod; plugin alone)", passthru),
                 ("exec floor: /bin/true the same way", true_)]:
    lines.append(f"| {label} | {pct(v,50):.2f} | {pct(v,99):.2f} | {max(v):.2f} |")
over = [a - b for a, b in zip(passthru, true_)]
lines += ["", f"ferry-cni's own overhead over the exec floor: p50 {pct(over,50):.2f} ms, p99 {pct(over,99):.2f} ms (target: p99 <= 5 ms)", ""]
rows = {}
for l in open(f"{work}/wrk.txt"):
    p = l.split(); rows.setdefault(p[0], []).append((float(p[1]), float(p[2]), float(p[3]), len(p) > 4))
lines += [f"Cross-node HTTP, wrk -t1 -c16 -d{duration}, {rounds} alternating rounds per phase, medians", "",
          "| phase | path | req/s | p50 ms | p99 ms | req/s vs direct | req/s vs HAProxy TLS tunnel | p50 added vs direct, ms | errors |",
          "|---|---|---|---|---|---|---|---|---|"]
def med(key, i):
    return st.median(r[i] for r in rows[key])
for phase, direct, hap, paths in [
        ("plaintext", "direct", "haproxy-tls", [("direct pod → pod (unenrolled)", "direct"), ("HAProxy two-hop TLS tunnel", "haproxy-tls"),
                                               ("pod → VIP through both agents", "ferry-vip"), ("pod → pod IP through both agents", "ferry-podip")]),
        ("HBONE", "direct2", "haproxy-tls2", [("direct pod → pod (unenrolled)", "direct2"), ("HAProxy two-hop TLS tunnel", "haproxy-tls2"),
                                             ("pod → VIP over HBONE (mTLS, two agents)", "ferry-hbone")]),
        ("HBONE churn (Connection: close)", "direct2-churn", "haproxy-tls2-churn",
         [("direct pod → pod (unenrolled)", "direct2-churn"), ("HAProxy two-hop TLS tunnel", "haproxy-tls2-churn"),
          ("pod → VIP over HBONE (mTLS, two agents)", "ferry-hbone-churn")])]:
    if direct not in rows or hap not in rows:
        continue
    drps = med(direct, 0); hrps = med(hap, 0); dp50 = med(direct, 1)
    for label, key in paths:
        rps = med(key, 0); p50 = med(key, 1); p99 = med(key, 2)
        lines.append(f"| {phase} | {label} | {rps:.0f} | {p50:.3f} | {p99:.3f} | {rps/drps:.2f}x | {rps/hrps:.2f}x | {p50 - dp50:+.3f} | {'yes' if any(r[3] for r in rows[key]) else 'none'} |")
irows = {}
for l in open(f"{work}/iperf.txt"):
    p = l.split()
    if len(p) == 2 and p[1] != "nan":
        irows.setdefault(p[0], []).append(float(p[1]))
lines += ["", "Cross-node bulk TCP, iperf3 one stream, medians, Gbit/s", "",
          "| phase | path | Gbit/s | vs direct | vs HAProxy TLS tunnel |", "|---|---|---|---|---|"]
for phase, direct, hap, paths in [
        ("plaintext", "direct", "haproxy-tls", [("direct pod → pod", "direct"), ("HAProxy two-hop TLS tunnel", "haproxy-tls"), ("pod → pod through both agents", "ferry-podip")]),
        ("HBONE", "direct2", "haproxy-tls2", [("direct pod → pod", "direct2"), ("HAProxy two-hop TLS tunnel", "haproxy-tls2"), ("pod → pod over HBONE", "ferry-hbone")])]:
    if direct not in irows or hap not in irows:
        continue
    d = st.median(irows[direct]); h = st.median(irows[hap])
    for label, key in paths:
        if key in irows:
            v = st.median(irows[key])
            lines.append(f"| {phase} | {label} | {v:.2f} | {v/d:.2f}x | {v/h:.2f}x |")
hrows = {}
for l in open(f"{work}/hey.txt"):
    p = l.split()
    if len(p) == 3:
        hrows.setdefault(p[0], []).append((float(p[1]), float(p[2])))
lines += ["", "Cross-node HTTP at a fixed ~1,000 req/s (hey -c 16 -q 62.5), medians, ms", "",
          "| phase | path | p50 | p99 | p99 added over direct |", "|---|---|---|---|---|"]
for phase, direct, paths in [("plaintext", "direct", [("direct", "direct"), ("HAProxy two-hop TLS tunnel", "haproxy-tls"), ("through both agents", "ferry-vip")]),
                             ("HBONE", "direct2", [("direct", "direct2"), ("HAProxy two-hop TLS tunnel", "haproxy-tls2"), ("over HBONE", "ferry-hbone")])]:
    if direct not in hrows:
        continue
    d99 = st.median(r[1] for r in hrows[direct])
    for label, key in paths:
        if key in hrows:
            p50 = st.median(r[0] for r in hrows[key]); p99 = st.median(r[1] for r in hrows[key])
            lines.append(f"| {phase} | {label} | {p50:.2f} | {p99:.2f} | {p99 - d99:+.2f} |")
hs = {}
for l in open(f"{work}/hs.txt"):
    p = l.split()
    if len(p) == 5:
        done, failed, ticks, secs = int(p[1]), int(p[2]), int(p[3]), int(p[4])
        hs.setdefault(p[0], []).append((done / secs, failed, done / (ticks / 100) if ticks else float("nan")))
if hs:
    lines += ["", "Full mTLS handshakes (TLS 1.3, ECDSA P-256, no resumption; node.js client, 4 at a time, from a pod on node 1), medians", "",
              "| server on node 2 | handshakes/s | per server CPU-second (per core) | failed | vs HAProxy per core |", "|---|---|---|---|---|"]
    hcore = st.median(r[2] for r in hs["haproxy-tls"]) if "haproxy-tls" in hs else float("nan")
    for label, key in [("Ferry HBONE 15008 (+ HTTP/2 SETTINGS)", "ferry-hbone"), ("HAProxy TLS bind, verify required", "haproxy-tls")]:
        if key in hs:
            rate = st.median(r[0] for r in hs[key]); core = st.median(r[2] for r in hs[key])
            lines.append(f"| {label} | {rate:.0f} | {core:.0f} | {sum(r[1] for r in hs[key])} | {core / hcore:.2f}x |")
text = "\n".join(lines) + "\n"
open(out, "w").write(text); print(text)
PY
echo "results: $OUT"
