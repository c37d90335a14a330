#!/usr/bin/env bash
# Runs the system: three local anvil chains with the rollup contracts, the node (state keeper,
# prover worker, a driver per chain, JSON-RPC API on 127.0.0.1:3030, metrics on 127.0.0.1:9464)
# and three oracles as rollup-node processes, then a scripted scenario (deposits, key changes, a
# cross-chain pool with liquidity on both sides, a cross-chain swap, a transfer, a withdrawal
# claimed on chain 2's L1), then keeps serving until Ctrl-C. `scripts/devnet.sh --exit-after-scenario` stops after the scenario.
# Installs the pinned npm tools if missing; development keys are cached in .data/keys.
# `scripts/devnet.sh --ha`: the highly available operator instead (PostgreSQL primary and
# synchronous standby, two node servers, three API replicas behind HAProxy; docs/OPERATIONS.md);
# installs Debian's postgresql and haproxy if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/anvil ] && [ -d node_modules/solc ] && [ -x node_modules/.bin/esbuild ] || npm ci --no-audit --no-fund
if [[ " $* " == *" --ha "* ]]; then
  missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi
# The devnet runs the node and the oracles (rollup-node) and the auditor (rollup-auditor) as
# processes of the binaries beside it.
cargo build --release -p rollup-node -p rollup-auditor -p rollup-devnet
exec cargo run --release -p rollup-devnet --bin rollup-devnet -- "$@"
