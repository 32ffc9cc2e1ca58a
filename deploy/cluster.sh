# The simulated cluster shared by `make demo` (deploy/demo.sh) and `make bench` (bench/cluster.sh); sourced, not run.
#
#   node-1 netns (192.168.100.1, cni0 10.244.1.1)  ==underlay veth==  node-2 netns (192.168.100.2, cni0 10.244.2.1)
#
# Each node runs one ferry-agent JVM inside its namespace (the node's "host" network), and pods are namespaces
# wired by Debian's real bridge + host-local plugins with ferry-cni chained last. The caller sets JAR, PLUGIN, JAVA
# and WORK (a scratch dir), calls cluster_up, and traps cluster_cleanup: everything it made is torn down.
S=$$
# The agents' JVM flags (override to experiment, e.g. with -Xlog:gc): the DaemonSet's (deploy/jvm.options, with
# -XX:+ExitOnOutOfMemoryError), and the jar's AOT cache when make build trained one for this jar.
AGENT_JAVA_OPTS=${AGENT_JAVA_OPTS:-$(bash "$(dirname "${BASH_SOURCE[0]}")/jvm-opts.sh" "$JAR")}
N1=ferry-node1-$S
N2=ferry-node2-$S
CLUSTER_NS=()
PIDS=()
AGENT_PIDS=()

cluster_cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for ns in "${CLUSTER_NS[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for ns in "${CLUSTER_NS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}

netns_add() { # name
  ip netns add "$1"
  CLUSTER_NS+=("$1")
  ip -n "$1" link set lo up
}

node_ns() { if [ "$1" = 1 ]; then echo "$N1"; else echo "$N2"; fi; }

cluster_up() { # extra node-config lines (optional)
  netns_add "$N1"; netns_add "$N2"
  ip link add u1-$S type veth peer name u2-$S
  ip link set u1-$S netns "$N1" name underlay; ip link set u2-$S netns "$N2" name underlay
  ip -n "$N1" addr add 192.168.100.1/24 dev underlay; ip -n "$N2" addr add 192.168.100.2/24 dev underlay
  for ns in "$N1" "$N2"; do ip -n "$ns" link set underlay up; ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
  ip -n "$N1" route add 10.244.2.0/24 via 192.168.100.2
  ip -n "$N2" route add 10.244.1.0/24 via 192.168.100.1
  for n in 1 2; do
    mkdir -p "$WORK/node$n"
    cat > "$WORK/node$n/node.yaml" <<CFG
nodeName: node-$n
meshFile: $WORK/mesh.yaml
meshPollInterval: 200ms
eventLoops: 1
metricsAddress: 127.0.0.1
podEventSocket: $WORK/node$n/run/cni.sock
enrolledNamespacesFile: $WORK/node$n/enrolled-namespaces
stateDir: $WORK/node$n/state
podCidrs: 10.244.$n.0/24
${1:-}
CFG
    ip netns exec "$(node_ns $n)" "$JAVA" $AGENT_JAVA_OPTS -jar "$JAR" run --config "$WORK/node$n/node.yaml" \
      > "$WORK/node$n/agent.log" 2>&1 &
    AGENT_PIDS[$n]=$!
    PIDS+=($!)
  done
  cluster_await_ready
}

# An ECDSA P-256 CA (no third argument) or a certificate it signs, with openssl, into $WORK.
mkcert() { # name cn [ca]
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$1-key.pem" 2>/dev/null
  if [ -z "${3:-}" ]; then
    openssl req -x509 -new -key "$WORK/$1-key.pem" -subj "/O=bench/CN=$2" -days 2 -out "$WORK/$1.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  else
    openssl req -new -key "$WORK/$1-key.pem" -subj "/CN=$2" -out "$WORK/$1.csr" 2>/dev/null
    openssl x509 -req -in "$WORK/$1.csr" -CA "$WORK/$3.pem" -CAkey "$WORK/$3-key.pem" -CAcreateserial -days 2 \
      -out "$WORK/$1.pem" 2>/dev/null
    cat "$WORK/$1.pem" "$WORK/$1-key.pem" > "$WORK/$1-haproxy.pem"
  fi
}
# One local CA shared by both agents (made here, before they start, so they do not race to create it): HBONE
# between the nodes needs one trust root. The local CA is for the simulation only (see the README's Identity).
mesh_ca() { mkcert mesh-ca cluster.local; }
mesh_ca_config() { printf 'caCertFile: %s\ncaKeyFile: %s' "$WORK/mesh-ca.pem" "$WORK/mesh-ca-key.pem"; }

# Restarts both agents with extra config lines (the pods stay captured: each agent re-attaches from its state dir).
cluster_restart_agents() { # extra node-config lines
  local n
  for n in 1 2; do
    kill "${AGENT_PIDS[$n]}"; wait "${AGENT_PIDS[$n]}" 2>/dev/null || true
    echo "${1:-}" >> "$WORK/node$n/node.yaml"
    ip netns exec "$(node_ns $n)" "$JAVA" $AGENT_JAVA_OPTS -jar "$JAR" run --config "$WORK/node$n/node.yaml" \
      >> "$WORK/node$n/agent.log" 2>&1 &
    AGENT_PIDS[$n]=$!
    PIDS+=($!)
  done
  cluster_await_ready
}

cluster_await_ready() {
  local n i
  for n in 1 2; do
    for i in $(seq 1 150); do
      ip netns exec "$(node_ns $n)" curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1 && break
      sleep 0.2
    done
    ip netns exec "$(node_ns $n)" curl -sf --max-time 1 http://127.0.0.1:15021/healthz/ready >/dev/null \
      || { cat "$WORK/node$n/agent.log"; return 1; }
  done
}

# The runtime's side of CNI (no cnitool package exists): bridge + host-local, then ferry-cni with the bridge's
# result as prevResult (ADD), or ferry-cni then bridge (DEL), exec'd in the node's namespace as kubelet would.
# Sets CNI_OUT (ferry-cni's output), CNI_RC (its exit code) and BRIDGE_US / FERRY_US (each plugin's wall time in
# microseconds). Not meant for a $(...) subshell: the results are variables.
cni() { # n command pod-netns k8s-namespace pod-name uid container-id
  local n=$1 cmd=$2 podns=$3 k8sns=$4 name=$5 uid=$6 cid=$7 node
  node=$(node_ns "$n")
  local env=(CNI_COMMAND=$cmd CNI_CONTAINERID=$cid CNI_NETNS=/run/netns/$podns CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
             "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=$k8sns;K8S_POD_NAME=$name;K8S_POD_UID=$uid")
  local bridge="{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"bridge\",\"bridge\":\"cni0\",\"isDefaultGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.244.$n.0/24\"}]],\"dataDir\":\"$WORK/node$n/ipam\"}}"
  local ferry="\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"ferry-cni\",\"agentSocket\":\"$WORK/node$n/run/cni.sock\",\"enrolledNamespacesFile\":\"$WORK/node$n/enrolled-namespaces\""
  local t0 t1 t2 result
  CNI_RC=0
  if [ "$cmd" = ADD ]; then
    t0=${EPOCHREALTIME/./}
    result=$(echo "$bridge" | env -i "${env[@]}" nsenter --net=/run/netns/"$node" /usr/lib/cni/bridge)
    t1=${EPOCHREALTIME/./}
    CNI_OUT=$(echo "{$ferry,\"prevResult\":$result}" | env -i "${env[@]}" nsenter --net=/run/netns/"$node" "$PLUGIN") || CNI_RC=$?
    t2=${EPOCHREALTIME/./}
    BRIDGE_US=$((t1 - t0)); FERRY_US=$((t2 - t1))
  else
    t0=${EPOCHREALTIME/./}
    CNI_OUT=$(echo "{$ferry}" | env -i "${env[@]}" nsenter --net=/run/netns/"$node" "$PLUGIN") || CNI_RC=$?
    t1=${EPOCHREALTIME/./}
    echo "$bridge" | env -i "${env[@]}" nsenter --net=/run/netns/"$node" /usr/lib/cni/bridge >/dev/null
    t2=${EPOCHREALTIME/./}
    FERRY_US=$((t1 - t0)); BRIDGE_US=$((t2 - t1))
  fi
}

pod_ip() { # CNI result JSON -> the first IPv4 address
  echo "$1" | grep -o '"address": *"[0-9.]*' | head -1 | grep -o '[0-9.]*$'
}
