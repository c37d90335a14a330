#!/usr/bin/env bash
# forge's "installed solc 0.8.37": solcjs from the repository's npm packages. solcjs rejects
# --allow-paths and prints a ">>> " line on stdout that breaks forge's JSON, so both are dropped.
# scripts/forge-test.sh installs this at ~/.svm/0.8.37/solc-0.8.37 with REPO filled in.
REPO="@REPO@"
args=()
skip=0
for a in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  case "$a" in
    --allow-paths) skip=1 ;;
    --allow-paths=*) ;;
    *) args+=("$a") ;;
  esac
done
# solcjs reads stdin with readFileSync, which fails (EAGAIN) on the non-blocking pipe forge hands
# over, and exits before a large output written to a pipe is flushed (truncated at 128 KiB): both
# input and output go through files.
input="$(mktemp)"
output="$(mktemp)"
trap 'rm -f "$input" "$output"' EXIT
cat > "$input"
node "$REPO/node_modules/solc/solc.js" "${args[@]}" < "$input" > "$output"
status=$?
grep -v '^>>> ' "$output"
exit "$status"
