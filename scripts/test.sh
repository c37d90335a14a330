#!/usr/bin/env bash
# The test command: formatting, lints, and every test of the workspace.
# Needs only a Rust toolchain for now; later stages add anvil/solc (npm) and PostgreSQL here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test (proving and property tests build with opt-level 3, see [profile.test])"
cargo test --workspace
