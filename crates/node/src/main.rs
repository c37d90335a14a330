//! `rollup-node`: runs the node's components from a TOML configuration (see `docs/CONFIG.md`).

fn main() -> anyhow::Result<()> {
    anyhow::bail!("the node binary is not wired yet; the components run in crates/node/tests")
}
