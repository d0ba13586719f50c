#!/usr/bin/env bash
# Builds the test-only binaries from the Go module proxy into a cache folder outside any
# checkout, and reuses them when present:
#   envtest: kube-apiserver, etcd, controller-gen;
#   one-machine cluster (internal/cluster): kube-controller-manager, kube-scheduler, kubectl
#   (all k8s.io/kubernetes, module hack/tools/kube) and kwok (sigs.k8s.io/kwok, go install).
# Usage: hack/tools/build.sh            -> prints the folder (use as KUBEBUILDER_ASSETS)
# The first build takes about 6-8 minutes on 2 idle cores for envtest's binaries and about
# 15 more for the cluster's (README "One-machine cluster" has times measured here); later
# runs take a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${BASCALER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bascaler/tools-k8s1.37.2-etcd3.7.3-cg0.23.0}
mkdir -p "$out"
build() { # name module-dir package
  local name=$1 dir=$2 pkg=$3
  if [ -x "$out/$name" ]; then return 0; fi
  echo "hack/tools: building $name (first run only)" >&2
  local start=$SECONDS
  (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "hack/tools: built $name in $((SECONDS - start)) s" >&2
}
build etcd etcd go.etcd.io/etcd/server/v3
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver
build controller-gen controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen
build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler kube k8s.io/kubernetes/cmd/kube-scheduler
build kubectl kube k8s.io/kubernetes/cmd/kubectl
# KWOK is its own module with its own dependency set: go install at a pinned version.
kwok_version=v0.8.0
if [ ! -x "$out/kwok" ]; then
  echo "hack/tools: installing kwok $kwok_version (first run only)" >&2
  start=$SECONDS
  tmp=$(mktemp -d "$out/kwok.XXXXXX")
  (cd "$tmp" && GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$kwok_version")
  mv "$tmp/kwok" "$out/kwok"
  rmdir "$tmp"
  echo "hack/tools: installed kwok in $((SECONDS - start)) s" >&2
fi
echo "$out"
