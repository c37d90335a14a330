#!/usr/bin/env bash
# The test command: installs the pinned npm tools (anvil, solcjs), then formatting, lints and every
# test of the workspace. Needs a Rust toolchain and Node/npm; installs PostgreSQL (Debian) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== npm ci (anvil, forge, solcjs; pinned in package-lock.json)"
npm ci --no-audit --no-fund

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing PostgreSQL (Debian package; the storage tests start their own server)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  fi
fi

echo "== forge test (Solidity unit tests, offline through the solcjs wrapper)"
scripts/forge-test.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test --release (real Groth16 proving; keys cached under .data/keys, safe to delete)"
cargo test --workspace --release
