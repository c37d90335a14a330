#!/usr/bin/env bash
# Regenerates the generated Solidity and rebuilds the committed artifacts in contracts/out with
# solcjs (offline). Run after changing anything under contracts/ or the Poseidon parameters.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/solc ] || npm ci --no-audit --no-fund
cargo run --quiet --release -p rollup-l1 --bin l1-gen
rm -rf contracts/out
node scripts/solc-build.js contracts/out contracts/src/Rollup.sol contracts/src/PoseidonT5.sol contracts/test/TestToken.sol contracts/test/TestWallet.sol
echo "artifacts in contracts/out"
