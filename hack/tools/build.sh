#!/usr/bin/env bash
# Builds the test-only binaries (kube-apiserver, etcd, controller-gen) from the Go module
# proxy into a cache folder outside any checkout, and reuses them when present.
# Usage: hack/tools/build.sh            -> prints the folder (use as KUBEBUILDER_ASSETS)
# The first build takes about 6-8 minutes on 2 cores; later runs take a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${BASCALER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bascaler/tools-k8s1.37.2-etcd3.7.3-cg0.23.0}
mkdir -p "$out"
build() { # name module-dir package
  local name=$1 dir=$2 pkg=$3
  if [ -x "$out/$name" ]; then return 0; fi
  echo "hack/tools: building $name (first run only)" >&2
  (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
}
build etcd etcd go.etcd.io/etcd/server/v3
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver
build controller-gen controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen
echo "$out"
