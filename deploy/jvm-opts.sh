#!/usr/bin/env bash
# Prints the JVM flags a launch of the agent jar JAR takes: deploy/jvm.options as an argument file, plus the jar's
# AOT cache (JAR with .aot for .jar, trained by tools/aot-train.sh) when it is newer than the jar — the JVM refuses a
# cache made from another jar. bin/ferry-agent, the simulated cluster (deploy/cluster.sh) and the benchmarks use it.
#
#   deploy/jvm-opts.sh node-agent/target/ferry-agent.jar
set -euo pipefail
jar=${1:?agent jar}
o="@$(cd "$(dirname "$0")" && pwd)/jvm.options"
aot=${jar%.jar}.aot
if [ -f "$aot" ] && [ "$aot" -nt "$jar" ]; then o="$o -XX:AOTCache=$aot"; fi
echo "$o"
