//! The offline Solidity toolchain: solcjs from the repository's npm packages (`npm ci`), driven by
//! `scripts/solc-build.js`. The rollup's own contracts are compiled ahead of time into the
//! committed artifacts under `contracts/out` (a test checks they are current); the block verifier,
//! generated from the proving keys, is compiled here at deployment time.

use crate::L1Error;
use alloy::primitives::Bytes;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A compiled contract.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Artifact {
    /// Contract name.
    #[serde(rename = "contractName")]
    pub name: String,
    /// Its ABI (JSON).
    pub abi: serde_json::Value,
    /// Creation bytecode.
    pub bytecode: Bytes,
    /// Size of the deployed code in bytes (the EVM limit is 24,576).
    #[serde(rename = "deployedSize")]
    pub deployed_size: usize,
}

/// The repository root this crate was built from (scripts and npm packages live there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compiles Solidity `files` with solcjs into artifacts in `out_dir`; returns them.
pub fn compile(repo: &Path, files: &[PathBuf], out_dir: &Path) -> Result<Vec<Artifact>, L1Error> {
    let script = repo.join("scripts/solc-build.js");
    if !repo.join("node_modules/solc").exists() {
        return Err(L1Error::Toolchain(format!(
            "solcjs missing under {}: run `npm ci`",
            repo.join("node_modules").display()
        )));
    }
    let out = Command::new("node")
        .arg(&script)
        .arg(out_dir)
        .args(files)
        .current_dir(repo)
        .output()
        .map_err(|e| L1Error::Toolchain(format!("running node {}: {e}", script.display())))?;
    if !out.status.success() {
        return Err(L1Error::Toolchain(format!(
            "solcjs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut artifacts = Vec::new();
    for entry in std::fs::read_dir(out_dir).map_err(|e| L1Error::Toolchain(e.to_string()))? {
        let path = entry.map_err(|e| L1Error::Toolchain(e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| L1Error::Toolchain(format!("{}: {e}", path.display())))?;
            artifacts.push(
                serde_json::from_str(&text)
                    .map_err(|e| L1Error::Toolchain(format!("{}: {e}", path.display())))?,
            );
        }
    }
    Ok(artifacts)
}

/// Compiles one generated source (e.g. the block verifier) in a scratch directory and returns the
/// artifact of contract `name`.
pub fn compile_source(
    repo: &Path,
    scratch: &Path,
    file: &str,
    source: &str,
    name: &str,
) -> Result<Artifact, L1Error> {
    let src = scratch.join("src");
    let out = scratch.join("out");
    std::fs::create_dir_all(&src).map_err(|e| L1Error::Toolchain(e.to_string()))?;
    let path = src.join(file);
    std::fs::write(&path, source).map_err(|e| L1Error::Toolchain(e.to_string()))?;
    compile(repo, &[path], &out)?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| L1Error::Toolchain(format!("{file} has no contract {name}")))
}

/// The sources behind `contracts/out`, in the order `scripts/build-contracts.sh` compiles them.
pub fn contract_sources(repo: &Path) -> Vec<PathBuf> {
    [
        "contracts/src/Rollup.sol",
        "contracts/src/PoseidonT5.sol",
        "contracts/test/TestToken.sol",
        "contracts/test/TestWallet.sol",
    ]
    .iter()
    .map(|f| repo.join(f))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed artifacts are what the committed sources compile to, and every contract fits
    /// the EVM's code size limit.
    #[test]
    fn committed_artifacts_are_current() {
        let repo = repo_root();
        let dir = std::env::temp_dir().join(format!("rollup-l1-artifacts-{}", std::process::id()));
        let fresh = compile(&repo, &contract_sources(&repo), &dir).unwrap();
        assert_eq!(fresh.len(), 4);
        for a in fresh {
            let committed = std::fs::read_to_string(
                repo.join("contracts/out").join(format!("{}.json", a.name)),
            )
            .unwrap_or_default();
            let committed: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
            assert_eq!(
                committed["bytecode"].as_str().unwrap_or_default(),
                a.bytecode.to_string(),
                "contracts/out/{}.json is stale: run scripts/build-contracts.sh",
                a.name
            );
            assert!(
                a.deployed_size <= 24_576,
                "{} is {} bytes",
                a.name,
                a.deployed_size
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
