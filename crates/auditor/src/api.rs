//! The auditor's JSON-RPC API (what senders ask before committing):
//!
//! | method | params | result |
//! |---|---|---|
//! | `auditor_approval` | block number | the approval signature (hex) or null |
//! | `auditor_status` | — | `{address, lastApproved, halted: null \| {block, reason, evidence}}` |

use crate::store::AuditStore;
use alloy::primitives::Address;
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use serde_json::{Value, json};
use std::net::SocketAddr;

struct Ctx {
    store: AuditStore,
    address: Address,
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    tracing::error!(error = %e, "auditor api internal error");
    ErrorObject::owned(-32603, "internal error", None::<()>)
}

/// Serves the auditor's API on `addr`; returns the bound address and the handle.
pub async fn serve(
    store: AuditStore,
    address: Address,
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let mut m = RpcModule::new(Ctx { store, address });
    m.register_async_method("auditor_approval", |params, ctx, _| async move {
        let (n,): (u32,) = params
            .parse()
            .map_err(|e| ErrorObject::owned(-32602, e.message().to_string(), None::<()>))?;
        let sig = ctx.store.approval(n).await.map_err(internal)?;
        Ok::<Value, ErrorObjectOwned>(
            sig.map_or(Value::Null, |s| json!(format!("0x{}", hex::encode(s)))),
        )
    })?;
    m.register_async_method("auditor_status", |_, ctx, _| async move {
        let halt = ctx.store.active_halt().await.map_err(internal)?;
        let last = ctx.store.last_approved().await.map_err(internal)?;
        Ok::<Value, ErrorObjectOwned>(json!({
            "address": ctx.address.to_string(),
            "lastApproved": last,
            "halted": halt.map(|h| json!({"block": h.number, "reason": h.reason, "evidence": h.evidence})),
        }))
    })?;
    let server = Server::builder().build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(m);
    tracing::info!(%bound, "auditor API listening");
    Ok((bound, handle))
}
