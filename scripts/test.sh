#!/usr/bin/env bash
# Runs the whole test suite.
#
# Needs Mosquitto (the integration tests start their own on ephemeral loopback
# ports) and python3 with venv (the interop test installs the official a2a-sdk
# client into target/interop-venv on first run). Mosquitto is installed from
# Debian's packages when missing. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "test.sh: Mosquitto is missing; installing it (Debian package 'mosquitto')" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq mosquitto >/dev/null
fi

exec cargo test --locked "$@"
