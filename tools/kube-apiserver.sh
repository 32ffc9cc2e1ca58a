#!/usr/bin/env bash
# Builds a real kube-apiserver from Debian's own source package (bookworm: Kubernetes v1.20.2, Debian's Go 1.19)
# and installs etcd-server beside it, for the tests that run Ferry's Kubernetes source against a real API server.
#
# No registry reachable here serves a kube-apiserver binary, so it is built once per machine and cached outside the
# work tree ($FERRY_CACHE, default /var/cache/ferry): a second run prints the cached path at once. About 9 minutes
# on 2 cores and 1.8 GB of disk while building; the binary is 110 MB.
#
# Prints the binary's path on its last line. Needs root (apt).
set -euo pipefail

CACHE=${FERRY_CACHE:-/var/cache/ferry}
VERSION=1.20.2
BIN="$CACHE/kube-apiserver-$VERSION"
log() { echo "kube-apiserver.sh: $*" >&2; }

need_pkgs() {
  local missing=""
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    log "installing$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
}

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  need_pkgs etcd-server
  echo "$BIN"
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "needs root (apt-get source, apt-get install)"; exit 1; }
mkdir -p "$CACHE"

# Debian's source lines: the machine's sources name binaries only.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  log "adding a deb-src line for bookworm"
  cat >/etc/apt/sources.list.d/ferry-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
apt-get update -qq
need_pkgs dpkg-dev golang-go rsync golang-github-modern-go-reflect2-dev etcd-server make

WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
log "fetching Debian's kubernetes source package into $WORK"
apt-get source -qq --download-only kubernetes >/dev/null
dpkg-source -x --skip-patches kubernetes_*.dsc src >/dev/null 2>&1 || dpkg-source -x kubernetes_*.dsc src >/dev/null
SRC="$WORK/src"
[ -d "$SRC/vendor" ] || { log "the source package has no vendor tree (is it still v$VERSION?)"; exit 1; }

# The vendored reflect2 v1.0.1 crashes on Go >= 1.18 at the first CRD write; Debian's packaged v1.0.2 does not.
R2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -d "$R2" ] || { log "no $R2 (package golang-github-modern-go-reflect2-dev)"; exit 1; }
rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
cp -r "$R2" "$SRC/vendor/github.com/modern-go/reflect2"

# Kubernetes 1.20 builds in GOPATH mode from k8s.io/kubernetes.
mkdir -p "$WORK/gopath/src/k8s.io"
ln -s "$SRC" "$WORK/gopath/src/k8s.io/kubernetes"
log "building cmd/kube-apiserver (about 9 minutes on 2 cores)"
(
  cd "$WORK/gopath/src/k8s.io/kubernetes"
  export GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GOPROXY=off GOCACHE="$WORK/gocache"
  export KUBE_GIT_VERSION="v$VERSION" KUBE_GIT_TREE_STATE=clean
  make WHAT=cmd/kube-apiserver >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }
)
OUT=$(find "$SRC/_output" -type f -name kube-apiserver -perm -u+x | head -1)
[ -n "$OUT" ] || { log "the build left no kube-apiserver binary"; tail -40 "$WORK/build.log" >&2; exit 1; }
install -m 0755 "$OUT" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
log "built $("$BIN" --version)"
echo "$BIN"
