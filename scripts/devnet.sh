#!/usr/bin/env bash
# Runs the system. Until the L1 contracts, node and devnet exist, this runs a three-chain scenario
# through the native state machine (deposits, one-coin liquidity on both sides of a cross-chain
# pool, a cross-chain swap, a transfer and a withdrawal) and prints every block's roots.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -p rollup-state --example scenario "$@"
