#!/usr/bin/env bash
# Installs and builds what the integration tests need, and prints the environment they read:
#   - Prometheus (Debian package `prometheus`) for the controller and testbed tests;
#   - kube-apiserver and etcd for envtest, built once from the Go module proxy
#     (hack/tools/build.sh; about 6-10 minutes the first time on 2 cores, cached afterwards).
# Usage: eval "$(hack/test-deps.sh)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: installing prometheus (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2
  else
    echo "test-deps: prometheus is missing; install it with: sudo apt-get install -y prometheus" >&2
    exit 1
  fi
fi
# Debian's package starts nothing here (no service manager); the tests start their own servers.
assets=$("$here/tools/build.sh")
echo "export KUBEBUILDER_ASSETS='$assets'"
echo "export BASCALER_PROMETHEUS='$(command -v prometheus)'"
