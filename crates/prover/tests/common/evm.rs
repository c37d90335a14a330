//! A local EVM for tests: anvil from the repository's npm packages, solcjs to compile, JSON-RPC
//! over HTTP. Both tools are installed by `scripts/test.sh` (`npm ci`); a missing tool is an error,
//! never a skipped check.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tool(name: &str) -> PathBuf {
    let p = repo().join("node_modules/.bin").join(name);
    assert!(
        p.exists(),
        "{} missing: run `npm ci` (scripts/test.sh does)",
        p.display()
    );
    p
}

/// An anvil node on a free loopback port, killed on drop.
pub struct Anvil {
    child: Child,
    /// JSON-RPC endpoint.
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Anvil {
    pub fn start() -> Anvil {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(tool("anvil"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
                "--code-size-limit",
                "24576",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("start anvil");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "anvil did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp: Value = ureq::post(&self.url)
            .send_json(&body)
            .map_err(|e| e.to_string())?
            .body_mut()
            .read_json()
            .map_err(|e| e.to_string())?;
        match resp.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(resp["result"].clone()),
        }
    }

    /// Deploys bytecode from the first dev account; returns the contract address.
    pub fn deploy(&self, bytecode_hex: &str) -> String {
        let from = self.rpc("eth_accounts", json!([])).unwrap()[0]
            .as_str()
            .unwrap()
            .to_string();
        let tx = json!({"from": from, "data": format!("0x{bytecode_hex}"), "gas": "0x1c9c380"});
        let hash = self.rpc("eth_sendTransaction", json!([tx])).unwrap();
        let receipt = self.wait_receipt(&hash);
        assert_eq!(receipt["status"], "0x1", "deployment failed: {receipt}");
        receipt["contractAddress"].as_str().unwrap().to_string()
    }

    /// `eth_call`; returns the result bytes or the revert message.
    pub fn call(&self, to: &str, data: &[u8]) -> Result<Vec<u8>, String> {
        let call = json!({"to": to, "data": format!("0x{}", hex::encode(data))});
        let r = self.rpc("eth_call", json!([call, "latest"]))?;
        Ok(hex::decode(r.as_str().unwrap().trim_start_matches("0x")).unwrap())
    }

    /// Gas used by a transaction calling `to` with `data` (sent with ample gas, so nothing inside
    /// runs short — `eth_estimateGas` would find the least gas at which the call does not revert,
    /// which for a verifier can be a run where the pairing precompile starved).
    pub fn gas_used(&self, to: &str, data: &[u8]) -> u64 {
        let from = self.rpc("eth_accounts", json!([])).unwrap()[0]
            .as_str()
            .unwrap()
            .to_string();
        let tx = json!({"from": from, "to": to, "data": format!("0x{}", hex::encode(data)), "gas": "0x1c9c380"});
        let hash = self.rpc("eth_sendTransaction", json!([tx])).unwrap();
        let receipt = self.wait_receipt(&hash);
        assert_eq!(receipt["status"], "0x1", "transaction failed: {receipt}");
        u64::from_str_radix(
            receipt["gasUsed"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap()
    }

    fn wait_receipt(&self, hash: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self
                .rpc("eth_getTransactionReceipt", json!([hash]))
                .unwrap();
            if !r.is_null() {
                return r;
            }
            assert!(Instant::now() < deadline, "no receipt for {hash}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Compiles `source` (contract `name`) with solcjs, optimised; returns the creation bytecode (hex).
pub fn compile(dir: &Path, file: &str, source: &str, name: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), source).unwrap();
    let out = Command::new(tool("solcjs"))
        .current_dir(dir)
        .args([
            "--bin",
            "--optimize",
            "--optimize-runs",
            "200",
            "-o",
            "out",
            file,
        ])
        .output()
        .expect("run solcjs");
    assert!(
        out.status.success(),
        "solcjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = dir
        .join("out")
        .join(format!("{}_{name}.bin", file.replace('.', "_")));
    std::fs::read_to_string(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
}
