#!/usr/bin/env bash
# Solidity unit tests with forge, offline: installs the solcjs wrapper where forge looks for
# solc 0.8.37, then runs `forge test` in contracts/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
[ -x node_modules/.bin/forge ] || npm ci --no-audit --no-fund
svm="$HOME/.svm/0.8.37"
mkdir -p "$svm"
sed "s|@REPO@|$repo|" scripts/solc-wrapper.sh > "$svm/solc-0.8.37"
chmod +x "$svm/solc-0.8.37"
cd contracts
"$repo/node_modules/.bin/forge" test --offline "$@"
