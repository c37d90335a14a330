#!/usr/bin/env bash
# The test command: installs the pinned npm tools (anvil, solcjs), then formatting, lints and every
# test of the workspace. Needs a Rust toolchain and Node/npm; installs PostgreSQL and Chromium
# (Debian) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== npm ci (anvil, forge, solcjs, the explorer's TypeScript, esbuild and Playwright; pinned in package-lock.json)"
npm ci --no-audit --no-fund

# Debian packages the tests need: PostgreSQL (the storage tests and the HA chaos test start
# their own servers), HAProxy (the HA test's balancer) and Chromium (the explorer's browser
# tests, driven by Playwright).
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian packages)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

echo "== explorer: type check and bundle (TypeScript, esbuild)"
npm run --silent build:explorer

echo "== forge test (Solidity unit tests, offline through the solcjs wrapper)"
scripts/forge-test.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test --release (real Groth16 proving; keys cached under .data/keys, safe to delete)"
cargo test --workspace --release
