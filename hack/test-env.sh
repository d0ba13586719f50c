#!/usr/bin/env bash
# Prints the environment the integration tests need, building the envtest binaries on first
# use. Usage: eval "$(hack/test-env.sh)" && go test ./internal/controller/ ./internal/promserver/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
assets=$("$here/tools/build.sh")
echo "export KUBEBUILDER_ASSETS=$assets"
prom=${BASCALER_PROMETHEUS:-$(command -v prometheus || true)}
if [ -z "$prom" ]; then
  echo "hack/test-env.sh: prometheus not found; install it with: apt-get install -y prometheus" >&2
  exit 1
fi
echo "export BASCALER_PROMETHEUS=$prom"
