#!/usr/bin/env bash
# The test command: formatting, lints, and every test of the workspace.
# Needs only a Rust toolchain for now; later stages add anvil/solc (npm) and PostgreSQL here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test --release (real Groth16 proving; keys cached under .data/keys, safe to delete)"
cargo test --workspace --release
