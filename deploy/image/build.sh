#!/usr/bin/env bash
# Builds Ferry's container image as an OCI image archive, on this machine, pulling nothing from any registry:
#   layer 1 "os"   the shared libraries the JVM and the agent load (glibc; libnftables and its libraries, which the
#                  agent calls in-process instead of spawning nft), copied from this machine's Debian packages with
#                  their copyright files and a list of the package versions; /etc/passwd, /etc/group, /tmp
#   layer 2 "jre"  a jlinked Java runtime with only the modules the agent needs (MODULES below)
#   layer 3 "app"  the agent's jar, its JVM flags (deploy/jvm.options, read as java @/opt/ferry/jvm.options) and the
#                  static CNI plugin
#   layer 4 "aot"  the agent's AOT cache, trained here by the image's runtime on the image's jar (below)
# No shell, no package manager, no tools: the agent spawns nothing.
#
# Why an OCI layout written here (tar + sha256sum + gzip -n): no image tool is needed to build (podman is only
# needed to run it), every byte is under the build's control, and the result is reproducible — same inputs (the
# jar, the plugin, the JDK and the Debian packages installed) give the same os, jre and app layers (and, with
# FERRY_IMAGE_AOT=0, the same digest; the AOT cache's layer is a training run's output). Jib would need a base image
# from a registry or a hand-made one anyway, and buildah needs a working container storage at build time.
#
# Usage: deploy/image/build.sh AGENT_JAR CNI_PLUGIN OUT_ARCHIVE   (JAVA_HOME: a JDK 25)
# Prints the image reference, the manifest digest and the sizes; the digest also goes to OUT_ARCHIVE.digest.
set -euo pipefail
export LC_ALL=C
JAR=${1:?agent jar}
PLUGIN=${2:?cni plugin binary}
OUT=${3:?output archive}
: "${JAVA_HOME:?a JDK 25}"
REF=${FERRY_IMAGE_REF:-ferry/agent:0.1.0}
# The modules the agent's jar uses (jdeps --print-module-deps on it), less java.desktop: only java.beans-based
# code paths of libraries reference it, which the agent never takes, and it would pull AWT and X11 into the image.
# ImageContentsTest starts the agent from the image, so a missing module fails the build's tests.
MODULES=java.base,java.management,java.naming,java.net.http,java.sql,jdk.httpserver,jdk.jfr,jdk.management,jdk.unsupported
# Native libraries loaded by name at run time (dlopen), beyond what ldd finds from the runtime's own.
DLOPENED=(libnftables.so.1)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
EPOCH=0
tarball() { # tarball DIR OUT: a deterministic tar of DIR's contents (names sorted, times, owners and modes fixed)
  tar --sort=name --mtime=@$EPOCH --owner=0 --group=0 --numeric-owner --format=gnu \
    --mode='u+rwX,go+rX,go-w' -C "$1" -cf "$2" .
}

# ---- layer 2: the runtime
mkdir -p "$WORK/jre/opt/ferry"
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --compress=zip-6 --output "$WORK/jre/opt/ferry/jre" >/dev/null

# ---- layer 3: the app
mkdir -p "$WORK/app/opt/ferry/bin"
cp "$JAR" "$WORK/app/opt/ferry/ferry-agent.jar"
cp "$PLUGIN" "$WORK/app/opt/ferry/bin/ferry-cni"
cp "$(dirname "$0")/../jvm.options" "$WORK/app/opt/ferry/jvm.options" # deploy/jvm.options
chmod 0644 "$WORK/app/opt/ferry/ferry-agent.jar"
chmod 0755 "$WORK/app/opt/ferry/bin/ferry-cni"
if ldd "$PLUGIN" >/dev/null 2>&1; then echo "image: $PLUGIN is dynamically linked; the plugin must be static" >&2; exit 1; fi

# ---- layer 4: the AOT cache (FERRY_IMAGE_AOT=0 leaves it out), trained by the image's own runtime on the image's
# own jar at the paths and times the container has them: the JVM uses a cache only with the same runtime, the same
# jar (path, size, mtime) and the same flags. The training (tools/aot-train.sh: L4, churn and L7 traffic in a network
# namespace) runs in a private mount namespace where /opt is a tmpfs holding /opt/ferry as the image lays it out.
# A cache holds profiles of one run, so this layer alone is not reproducible: the other three are.
LAYERS="os jre app"
AOT_ARG=""
if [ "${FERRY_IMAGE_AOT:-1}" = 1 ]; then
  find "$WORK/jre" "$WORK/app" -exec touch -h -d @$EPOCH {} + # what the layers' tar gives every file
  mkdir -p "$WORK/aot/opt/ferry"
  unshare --mount --propagation private bash -c '
    set -e
    mount -t tmpfs -o size=512m ferry-aot /opt
    mkdir -p /opt/ferry/jre
    mount --bind "$1/jre/opt/ferry/jre" /opt/ferry/jre
    cp -p "$1/app/opt/ferry/ferry-agent.jar" /opt/ferry/ferry-agent.jar
    JAVA_HOME=/opt/ferry/jre bash "$2/tools/aot-train.sh" /opt/ferry/ferry-agent.jar >&2
    cp /opt/ferry/ferry-agent.aot "$1/aot/opt/ferry/ferry-agent.aot"' _ "$WORK" "$(cd "$(dirname "$0")/../.." && pwd)"
  chmod 0644 "$WORK/aot/opt/ferry/ferry-agent.aot"
  LAYERS="$LAYERS aot"
  AOT_ARG='"-XX:AOTCache=/opt/ferry/ferry-agent.aot",'
fi

# ---- layer 1: the libraries everything above loads, from this machine's Debian packages
mkdir -p "$WORK/natives"
python3 - "$JAR" "$WORK/natives" <<'PY'
import fnmatch, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if fnmatch.fnmatch(n, "META-INF/native/lib*x86_64.so"):
            z.extract(n, sys.argv[2])
PY
libs=$( {
  find "$WORK/jre/opt/ferry/jre" -type f \( -name '*.so' -o -path '*/bin/*' \) -print0 | xargs -0 ldd 2>/dev/null
  find "$WORK/natives" -name '*.so' -print0 | xargs -0 -r ldd 2>/dev/null
  for l in "${DLOPENED[@]}"; do
    p=$(ldconfig -p | awk -v l="$l" '$1 == l && /x86-64/ {print $NF; exit}')
    [ -n "$p" ] || { echo "image: $l not found (apt-get install libnftables1)" >&2; exit 1; }
    echo "$p"; ldd "$p"
  done
} | grep -oE '/[^ ]+\.so[^ ]*' | grep -v "^$WORK" | sort -u)
OS=$WORK/os
mkdir -p "$OS/etc" "$OS/tmp" "$OS/usr/share/doc" "$OS/usr/share/ferry"
chmod 1777 "$OS/tmp"
package_of() { # the Debian package that owns a library, under any of its names (merged /usr: /lib is /usr/lib)
  local real c
  real=$(readlink -f "$1")
  for c in "$1" "$(dirname "$1")/$(basename "$real")" "$real" "${real#/usr}"; do
    dpkg -S "$c" 2>/dev/null | head -1 | cut -d: -f1 && return 0
  done
  echo "image: no Debian package owns $1" >&2; return 1
}
pkgs=""
for l in $libs; do
  case "$l" in /lib64/*|/lib/x86_64-linux-gnu/*|/usr/lib/x86_64-linux-gnu/*) ;; *) continue ;; esac
  mkdir -p "$OS$(dirname "$l")"
  cp -L "$l" "$OS$l"
  chmod 0755 "$OS$l"
  pkgs="$pkgs $(package_of "$l")"
done
for p in $(echo "$pkgs" | tr ' ' '\n' | sort -u); do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Package} ${Version}\n' "$p" >>"$OS/usr/share/ferry/debian-packages.txt"
  mkdir -p "$OS/usr/share/doc/$p"
  cp -L "/usr/share/doc/$p/copyright" "$OS/usr/share/doc/$p/copyright"
done
printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$OS/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$OS/etc/group"
printf 'hosts: files dns\n' >"$OS/etc/nsswitch.conf"

# ---- the OCI layout
B=$WORK/layout/blobs/sha256
mkdir -p "$B"
blob() { # blob FILE: moves FILE into the layout; prints "digest size"
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
  mv "$1" "$B/$d"
  echo "$d $s"
}
layers="" diffs="" history=""
for layer in $LAYERS; do
  tarball "$WORK/$layer" "$WORK/$layer.tar"
  diff=$(sha256sum "$WORK/$layer.tar" | cut -d' ' -f1)
  gzip -n -6 "$WORK/$layer.tar"
  read -r d s < <(blob "$WORK/$layer.tar.gz")
  layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$s}"
  diffs="$diffs${diffs:+,}\"sha256:$diff\""
  history="$history${history:+,}{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"deploy/image/build.sh: $layer\"}"
  echo "image: layer $layer $((s / 1024)) KiB compressed, $(du -sk "$WORK/$layer" | cut -f1) KiB on disk" >&2
done
# The agent's JVM flags live in the DaemonSet's command (deploy/daemonset.yaml); the image's default command is the
# same, so `podman run IMAGE` behaves like the DaemonSet's container.
cat >"$WORK/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"User":"0:0","Env":["PATH=/opt/ferry/jre/bin:/opt/ferry/bin"],"Entrypoint":["java"],"Cmd":["@/opt/ferry/jvm.options",$AOT_ARG"-jar","/opt/ferry/ferry-agent.jar","run","--config","/etc/ferry/node.yaml"],"WorkingDir":"/","Labels":{"org.opencontainers.image.title":"ferry-agent","org.opencontainers.image.version":"${REF##*:}","org.opencontainers.image.description":"Ferry node agent: sidecarless service-mesh data plane"}},"rootfs":{"type":"layers","diff_ids":[$diffs]},"history":[$history]}
EOF
read -r cd cs < <(blob "$WORK/config.json")
cat >"$WORK/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cd","size":$cs},"layers":[$layers]}
EOF
read -r md ms < <(blob "$WORK/manifest.json")
cat >"$WORK/layout/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$md","size":$ms,"annotations":{"org.opencontainers.image.ref.name":"$REF"}}]}
EOF
printf '{"imageLayoutVersion":"1.0.0"}' >"$WORK/layout/oci-layout"
mkdir -p "$(dirname "$OUT")"
tarball "$WORK/layout" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "sha256:$md" >"$OUT.digest"
echo "image: $REF sha256:$md, archive $(( $(stat -c %s "$OUT") / 1024 / 1024 )) MiB: $OUT" >&2
echo "sha256:$md"
