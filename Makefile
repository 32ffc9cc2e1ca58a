# Ferry: `make demo` and `make test` do all the set-up on a fresh Debian machine (as root).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A JDK 25: JAVA_HOME if it is 25 or newer, else the newest under /usr/lib/jvm.
JAVA_HOME_25 := $(shell \
  v() { "$$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }; \
  if [ -n "$$JAVA_HOME" ] && [ -x "$$JAVA_HOME/bin/java" ] && [ "$$(v $$JAVA_HOME)" -ge 25 ] 2>/dev/null; then echo "$$JAVA_HOME"; exit; fi; \
  for d in $$(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do \
    if [ -x "$$d/bin/javac" ] && [ "$$(v $$d)" -ge 25 ] 2>/dev/null; then echo "$$d"; exit; fi; \
  done)
MVN := JAVA_HOME=$(JAVA_HOME_25) mvn -B -ntp
APT_PACKAGES := maven python3 nftables libnftables1 iproute2 containernetworking-plugins nginx-light curl wrk nghttp2-client iperf3 haproxy socat hey procps musl-tools tcpdump openssl nodejs podman crun
AGENT_JAR := node-agent/target/ferry-agent.jar
# The AOT cache of that jar (tools/aot-train.sh): bin/ferry-agent, the simulated cluster and the benchmarks use it
AOT_CACHE := node-agent/target/ferry-agent.aot
IMAGE := target/image/ferry-agent.oci.tar

.PHONY: help jdk deps build image test demo bench bench-image bench-l7 bench-cluster bench-kube bench-footprint fuzz soak fmt clean

help:
	@echo "make demo   - build Ferry, then a simulated two-node cluster: pods through the real CNI plugins, traffic"
	@echo "              between them over HBONE through both node agents (installs what is missing)"
	@echo "make test   - the whole test suite, end-to-end tests included (installs what is missing)"
	@echo "make image  - the container image as an OCI archive ($(IMAGE)), built here from Debian's packages and"
	@echo "              a jlinked JDK 25, nothing pulled from a registry; load it with podman load -i"
	@echo "make bench  - benchmarks: Ferry vs direct vs HAProxy in one run, then the simulated cluster"
	@echo "make bench-l7 - only the L7 part: HTTP through Ferry L7 and L4, HAProxy mode http and direct"
	@echo "make bench-cluster - only the cluster part: CNI ADD/DEL over 100 pods, cross-node wrk"
	@echo "make bench-image - the image: size, container start to ready (p50 of 5) under podman"
	@echo "make bench-kube - the Kubernetes source against a real API server: heap for 10k pods/2k services, change latency"
	@echo "make bench-footprint - one agent's memory (RSS, NMT), CPU and start-up next to HAProxy; fails over budget"
	@echo "make fuzz   - coverage-guided fuzzing (Jazzer) of every untrusted-input parser, minutes per target"
	@echo "make soak   - 30 minutes of mixed traffic with mesh and policy changes: flat heap and fds, no failures"
	@echo "make fmt    - format the Java sources (palantir-java-format)"

jdk:
	@if [ -z "$(JAVA_HOME_25)" ]; then \
	  echo "ferry: no JDK 25 found (JAVA_HOME is not 25+ and none under /usr/lib/jvm)." >&2; \
	  echo "ferry: install one, e.g. Temurin 25 (apt-get install temurin-25-jdk from Adoptium's repository)," >&2; \
	  echo "ferry: or set JAVA_HOME to a JDK 25 or newer." >&2; exit 1; fi
	@echo "ferry: using JDK at $(JAVA_HOME_25)"

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "ferry: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "ferry: need root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The jar is rebuilt only when a source, resource or POM is newer than it (make demo twice does not rebuild).
SOURCES := $(shell find pom.xml */pom.xml */src/main cni-plugin/src -type f 2>/dev/null)

build: jdk deps $(AGENT_JAR) $(AOT_CACHE)

$(AGENT_JAR): $(SOURCES)
	$(MVN) -q install -DskipTests
	@touch $(AGENT_JAR)

$(AOT_CACHE): $(AGENT_JAR) deploy/jvm.options tools/aot-train.sh
	JAVA_HOME=$(JAVA_HOME_25) bash tools/aot-train.sh $(AGENT_JAR)

image: build
	JAVA_HOME=$(JAVA_HOME_25) bash deploy/image/build.sh $(AGENT_JAR) cni-plugin/target/native/ferry-cni $(IMAGE)

# The Kubernetes source's tests run a real kube-apiserver: built once per machine from Debian's source package
# (about 9 minutes the first time, then cached in /var/cache/ferry) by tools/kube-apiserver.sh.
test: jdk deps
	set -o pipefail; FERRY_KUBE_APISERVER=$$(bash tools/kube-apiserver.sh | tail -1) && export FERRY_KUBE_APISERVER && $(MVN) verify

demo: build
	JAVA_HOME=$(JAVA_HOME_25) bash deploy/demo.sh $(AGENT_JAR)

bench: build
	JAVA_HOME=$(JAVA_HOME_25) bash bench/run.sh $(AGENT_JAR)
	JAVA_HOME=$(JAVA_HOME_25) bash bench/l7.sh $(AGENT_JAR)
	JAVA_HOME=$(JAVA_HOME_25) bash bench/cluster.sh $(AGENT_JAR)
	JAVA_HOME=$(JAVA_HOME_25) bash bench/footprint.sh $(AGENT_JAR)

bench-kube: build
	set -o pipefail; FERRY_KUBE_APISERVER=$$(bash tools/kube-apiserver.sh | tail -1) && export FERRY_KUBE_APISERVER && \
	  $(JAVA_HOME_25)/bin/java -Xmx1g -cp bench/target/benchmarks.jar dev.ferry.bench.KubeSourceBench 10000 2000 \
	  2>&1 | grep -E 'ferry\.bench|Exception|ERROR'

bench-image: image
	bash bench/image.sh $(IMAGE)

bench-footprint: build
	JAVA_HOME=$(JAVA_HOME_25) bash bench/footprint.sh $(AGENT_JAR)

bench-l7: build
	JAVA_HOME=$(JAVA_HOME_25) bash bench/l7.sh $(AGENT_JAR)

bench-cluster: build
	JAVA_HOME=$(JAVA_HOME_25) bash bench/cluster.sh $(AGENT_JAR)

soak: build
	JAVA_HOME=$(JAVA_HOME_25) bash bench/soak.sh $(AGENT_JAR)

fuzz: build
	JAVA_HOME=$(JAVA_HOME_25) bash tools/fuzz.sh

fmt: jdk
	$(MVN) -q spotless:apply

clean:
	$(MVN) -q clean
