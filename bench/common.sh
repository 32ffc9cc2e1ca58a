# Shared by the bench harnesses (sourced): the namespace, cleanup, and the measuring helpers. The caller sets NS,
# WORK and PIDS before sourcing.

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  # everything left in our namespace was started by this script
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
  sleep "${STOP_WAIT:-0.5}" # a profiler given in EXTRA_JVM writes its output at exit
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  ip netns delete "$NS" 2>/dev/null
  rm -rf "$WORK"
}
inns() { ip netns exec "$NS" "$@"; }

# The namespace with the "pod" 10.244.0.5 on a veth and the service range routed to it.
bench_namespace() {
  ip netns add "$NS"
  inns ip link set lo up
  inns ip link add eth0 type veth peer name eth0-peer
  inns ip link set eth0 up; inns ip link set eth0-peer up
  inns ip addr add 10.244.0.5/24 dev eth0
  inns ip route add 10.96.0.0/16 dev eth0
}

# nginx on the pod address answering 200 "ok" to everything, in the background.
bench_nginx() {
  mkdir -p "$WORK/tmp" "$WORK/www"
  head -c 65536 /dev/zero > "$WORK/www/64k"; head -c 1048576 /dev/zero > "$WORK/www/1m"
  cat > "$WORK/nginx.conf" <<NGX
user root; worker_processes 1; master_process off; daemon off; pid $WORK/nginx.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp;
  fastcgi_temp_path $WORK/tmp; uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  server { listen 10.244.0.5:8080 backlog=4096; location / { return 200 "ok"; }
    location = /64k { alias $WORK/www/64k; } location = /1m { alias $WORK/www/1m; } }
  server { listen 10.244.0.5:8081 http2; location / { return 200 "ok"; } } }
NGX
  inns nginx -c "$WORK/nginx.conf" -e stderr & PIDS+=($!)
}

# The agent's JVM flags as shipped: deploy/jvm.options and the jar's AOT cache when one was trained for it (make
# build). JVM_OPTS replaces them (e.g. an older flag set, for a before/after in one run).
agent_jvm_opts() { # jar
  if [ -n "${JVM_OPTS:-}" ]; then echo "$JVM_OPTS"; return; fi
  bash "$(dirname "${BASH_SOURCE[0]}")/../deploy/jvm-opts.sh" "$1"
}

# The mesh documents of the bench's enrolled namespace and its one pod, server-1 at 10.244.0.5 (app: server), for a
# mesh file or the API server; the caller appends its Services.
bench_mesh_server() { # namespace
  cat <<MESH
apiVersion: v1
kind: Namespace
metadata: {name: $1, labels: {ferry.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: server-1, namespace: $1, labels: {app: server}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.244.0.5, podIPs: [{ip: 10.244.0.5}], conditions: [{type: Ready, status: "True"}]}
MESH
}

# HAProxy 2.6 as the benches run it (mode tcp, one thread), the global and defaults sections; the caller appends its
# frontends and backends.
bench_haproxy_tcp_head() {
  printf '%s\n' global '  nbthread 1' '  maxconn 9500' defaults '  mode tcp' '  timeout connect 5s' '  timeout client 1h' \
    '  timeout server 1h'
}

# CPU seconds used by a process so far (utime+stime, clock ticks -> s)
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
# wrk's latency (e.g. 812.00us, 1.20ms, 2.00s) in ms
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us/,"",v); printf "%.3f", v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); printf "%.3f", v} else if (v ~ /s$/) {sub(/s/,"",v); printf "%.3f", v*1000} else print v }'; }
