#!/usr/bin/env bash
# The container image: its size, and the agent's start to ready from it under podman + crun, next to the same jar
# started on the host (p50 of RUNS each, alternating). Ready = /healthz/ready answers 200: the mesh loaded, the
# listeners bound and the certificate of the node's running pod issued (local CA).
# Usage: bench/image.sh IMAGE_ARCHIVE   (as root; JAVA_HOME: a JDK 25 for the host runs)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARCHIVE=${1:?image archive}
RUNS=${RUNS:-5}
JAR=$ROOT/node-agent/target/ferry-agent.jar
: "${JAVA_HOME:=$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)}"
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
WORK=$(mktemp -d)
NS=ferry-img-$$
P=(podman --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs)
cleanup() {
  "${P[@]}" rm -af >/dev/null 2>&1 || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT # a signal ends the run (through the EXIT trap); a trap that only cleans up resumes it
trap "exit 143" TERM
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$WORK/etc" "$WORK/state"
cat > "$WORK/etc/mesh.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {ferry.dev/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, uid: u1, labels: {app: web}}
spec: {nodeName: node-1, serviceAccountName: web, containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.244.1.3, conditions: [{type: Ready, status: "True"}]}
EOF
node_yaml() { printf 'nodeName: node-1\nmeshFile: %s/mesh.yaml\nstateDir: %s\naccessLog: false\n' "$1" "$2"; }
node_yaml /etc/ferry "$WORK/state" > "$WORK/etc/node.yaml"
node_yaml "$WORK/etc" "$WORK/state" > "$WORK/host-node.yaml"

"${P[@]}" load -i "$ARCHIVE" >/dev/null
FILES=$(awk '/^Max open files/ {print $4}' /proc/self/limits)
wait_ready() { # wait_ready PID: ms from now until ready, or exit
  local t0=${EPOCHREALTIME/./} i
  for i in $(seq 1 600); do
    if ip netns exec "$NS" curl -sf -o /dev/null --max-time 1 http://127.0.0.1:15021/healthz/ready; then
      echo $(( (${EPOCHREALTIME/./} - t0) / 1000 )); return 0
    fi
    kill -0 "$1" 2>/dev/null || { echo "agent exited" >&2; return 1; }
    sleep 0.05
  done
  echo "not ready in 30 s" >&2; return 1
}
container() {
  unshare -m --propagation unchanged -- sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' x \
    "${P[@]}" run --rm --cgroups=disabled --ulimit "nofile=$FILES:$FILES" --ulimit nproc=4096:4096 \
    --network "ns:/run/netns/$NS" --cap-drop all --cap-add NET_ADMIN,SYS_ADMIN,NET_RAW --read-only \
    --tmpfs /tmp:rw,exec,nosuid,nodev,size=128m -v "$WORK/etc:/etc/ferry:ro" -v "$WORK/state:$WORK/state" \
    localhost/ferry/agent:0.1.0 >"$WORK/container.log" 2>&1 &
  echo $!
}
host() {
  # as shipped on a host: the flags and the jar's own AOT cache (make build), as the image carries its own
  ip netns exec "$NS" "$JAVA_HOME/bin/java" $(bash "$ROOT/deploy/jvm-opts.sh" "$JAR") \
    -jar "$JAR" run --config "$WORK/host-node.yaml" >"$WORK/host.log" 2>&1 &
  echo $!
}
: > "$WORK/times"
for r in $(seq 1 "$RUNS"); do
  for kind in container host; do
    t0=${EPOCHREALTIME/./}
    pid=$($kind)
    wait_ready "$pid" >/dev/null || { tail -20 "$WORK/$kind.log" >&2; exit 1; }
    echo "$kind $(( (${EPOCHREALTIME/./} - t0) / 1000 ))" >> "$WORK/times"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  done
done
python3 - "$WORK/times" "$ARCHIVE" "$RUNS" <<'PY'
import os, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
def med(k): return st.median(int(v) for n, v in rows if n == k)
print(f"image archive: {os.path.getsize(sys.argv[2]) / 2**20:.1f} MiB ({sys.argv[2]})")
print(f"start to ready, p50 of {sys.argv[3]}: from the image under podman {med('container'):.0f} ms,"
      f" the same jar on the host {med('host'):.0f} ms (container overhead {med('container') - med('host'):+.0f} ms)")
PY
