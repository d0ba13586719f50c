#!/usr/bin/env bash
# Installs and builds what the integration tests need, and prints the environment they read:
#   - Prometheus (Debian package `prometheus`) for the controller, promserver and testbed tests;
#     installed with apt-get when missing and running as root;
#   - Chromium (Debian package `chromium`) for the HTML report's headless-browser test;
#     installed with apt-get when missing and running as root, else that test skips
#     (and fails under CI=true);
#   - kube-apiserver and etcd for envtest, and kube-controller-manager, kube-scheduler,
#     kubectl and kwok for the one-machine cluster (internal/cluster), built once from the Go
#     module proxy by hack/tools/build.sh into one folder under ~/.cache/bascaler (see README
#     for first-build times); KUBEBUILDER_ASSETS names that folder for all of them.
# Usage: eval "$(hack/test-env.sh)" && go test ./...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prom=${BASCALER_PROMETHEUS:-$(command -v prometheus || true)}
if [ -z "$prom" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "hack/test-env.sh: installing prometheus (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2
    prom=$(command -v prometheus)
  else
    echo "hack/test-env.sh: prometheus not found; install it with: sudo apt-get install -y prometheus" >&2
    exit 1
  fi
fi
chromium=${BASCALER_CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "hack/test-env.sh: installing chromium (apt-get)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  chromium=$(command -v chromium)
fi
# Debian's package starts no server here (no service manager); the tests start their own.
assets=$("$here/tools/build.sh")
echo "export KUBEBUILDER_ASSETS='$assets'"
echo "export BASCALER_PROMETHEUS='$prom'"
if [ -n "$chromium" ]; then echo "export BASCALER_CHROMIUM='$chromium'"; fi
