#!/usr/bin/env node
// Offline Solidity build with solcjs (npm `solc`, pinned in package-lock.json).
//
//   node scripts/solc-build.js OUT_DIR FILE.sol...
//
// Compiles the files (imports resolved relative to the importing file), optimised, and writes one
// artifact per contract to OUT_DIR/<Contract>.json: {"contractName", "abi", "bytecode"}.
// Exits non-zero with the compiler's errors on any error.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error("usage: solc-build.js OUT_DIR FILE.sol...");
  process.exit(2);
}
const sources = {};
for (const f of files) {
  sources[path.resolve(f)] = { content: fs.readFileSync(f, "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    // No metadata hash: the artifacts depend only on the sources, so a rebuild is byte-identical.
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
function findImports(p) {
  try {
    return { contents: fs.readFileSync(p, "utf8") };
  } catch (e) {
    return { error: `import ${p}: ${e.message}` };
  }
}
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors || []).filter((e) => e.severity === "error");
for (const e of out.errors || []) {
  console.error(e.formattedMessage);
}
if (errors.length > 0) process.exit(1);
fs.mkdirSync(outDir, { recursive: true });
const wanted = new Set(Object.keys(sources));
for (const [file, contracts] of Object.entries(out.contracts)) {
  if (!wanted.has(file)) continue;
  for (const [name, c] of Object.entries(contracts)) {
    if (c.evm.bytecode.object.length === 0) continue; // interfaces
    const artifact = {
      contractName: name,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedSize: c.evm.deployedBytecode.object.length / 2,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 1) + "\n");
  }
}
