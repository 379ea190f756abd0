#!/usr/bin/env bash
# Installs what `npm run bench -- --only envoy-overhead` needs beyond `npm run
# setup:test` (which installs Envoy 1.40): fortio, Istio's load generator,
# built from source with the machine's Go into .tools/bin (project-local,
# git-ignored). Pinned: v1.66.5 is the newest release whose dependencies all
# come from the Go module proxy (later ones need grol.io/grol, which the proxy
# refuses here). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
want=v1.66.5
if [ -x .tools/bin/fortio ] && .tools/bin/fortio version 2>/dev/null | grep -q "${want#v}"; then exit 0; fi
command -v go >/dev/null || { echo "install-bench-deps: Go is needed to build fortio $want" >&2; exit 1; }
mkdir -p .tools/bin
GOBIN="$PWD/.tools/bin" go install "fortio.org/fortio@$want"
echo "install-bench-deps: $(.tools/bin/fortio version) at .tools/bin/fortio"
