//! Writes the Solidity files generated from protocol parameters into `contracts/src`
//! (`scripts/build-contracts.sh` runs it before compiling).

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/src");
    let path = dir.join("PoseidonT5.sol");
    std::fs::write(&path, rollup_l1::solidity::poseidon_t5())?;
    println!("wrote {}", path.display());
    Ok(())
}
