#!/usr/bin/env bash
# Regenerates api/externalscaler/*.pb.go from externalscaler.proto (go generate runs it in
# that directory). Needs protoc (Debian: apt-get install protobuf-compiler); without it the
# committed stubs stay as they are. Installs the two Go plugins, pinned, into a cache dir.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null; then
	echo "gen-externalscaler: protoc not found, keeping the committed stubs (apt-get install protobuf-compiler to regenerate)" >&2
	exit 0
fi
bin="${XDG_CACHE_HOME:-$HOME/.cache}/bascaler/protoc-plugins"
mkdir -p "$bin"
[ -x "$bin/protoc-gen-go" ] || GOBIN="$bin" go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
[ -x "$bin/protoc-gen-go-grpc" ] || GOBIN="$bin" go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
# The path relative to the module root is the file's registered name: not KEDA's
# "externalscaler.proto".
PATH="$bin:$PATH" protoc -I . --go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative api/externalscaler/externalscaler.proto
