//! Blocks, the allowlist, and the blocklist for enforcement outside secmo
//! (an nginx deny include, a firewall script).

use super::events::page;
use super::{ApiError, ApiResult, Json, Query, parse_net};
use crate::auth::Principal;
use crate::live::LiveMessage;
use crate::state::AppState;
use crate::{audit, blocking, now_ms};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use secmo_store::{AllowEntry, Block, NewAllowEntry, NewBlock, Page, Role};
use serde::Deserialize;
use std::sync::Arc;

pub async fn list(
    State(st): State<Arc<AppState>>,
    _p: Principal,
) -> ApiResult<axum::Json<Vec<Block>>> {
    let now = now_ms();
    Ok(axum::Json(
        blocking(move || st.store.active_blocks(now)).await?,
    ))
}

#[derive(Deserialize, Default)]
pub struct PageParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn history(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<PageParams>,
) -> ApiResult<axum::Json<Page<Block>>> {
    let pr = page(q.cursor, q.limit);
    Ok(axum::Json(
        blocking(move || st.store.block_history(&pr)).await?,
    ))
}

#[derive(Deserialize)]
pub struct CreateBlock {
    /// An IP address or CIDR network.
    #[serde(alias = "net")]
    pub ip: String,
    #[serde(default)]
    pub reason: String,
    /// `30m`, `1h`, `7d`; absent: until lifted.
    pub duration: Option<String>,
    /// Milliseconds since the epoch (instead of `duration`).
    pub expires_ms: Option<i64>,
}

async fn do_block(st: &Arc<AppState>, p: &Principal, req: CreateBlock) -> ApiResult<Block> {
    p.require(Role::Analyst)?;
    let net = parse_net(&req.ip)?;
    let now = now_ms();
    let expires_ms = match (
        req.duration.as_deref().filter(|d| !d.is_empty()),
        req.expires_ms,
    ) {
        (Some(d), _) => {
            Some(now + crate::config::parse_duration_ms(d).map_err(ApiError::BadRequest)?)
        }
        (None, Some(ms)) if ms <= now => {
            return Err(ApiError::BadRequest("expires_ms is in the past".into()));
        }
        (None, e) => e,
    };
    let reason = if req.reason.trim().is_empty() {
        "blocked by hand".to_string()
    } else {
        req.reason.chars().take(500).collect()
    };
    let new = NewBlock {
        net,
        reason,
        created_by: p.user.name.clone(),
        created_ms: now,
        expires_ms,
        rule_id: None,
        incident_id: None,
    };
    let s2 = Arc::clone(st);
    let block = blocking(move || s2.blocks.block(&new).map_err(ApiError::from)).await?;
    audit(
        st,
        &p.user.name,
        Some(p.ip),
        "block.add",
        &block.net.to_string(),
        serde_json::json!({"reason": block.reason, "expires_ms": block.expires_ms}),
    )
    .await;
    let _ = st.live.send(LiveMessage::Block(block.clone()));
    Ok(block)
}

async fn do_unblock(st: &Arc<AppState>, p: &Principal, ip: &str) -> ApiResult<Vec<Block>> {
    p.require(Role::Analyst)?;
    let net = parse_net(ip)?;
    let s2 = Arc::clone(st);
    let actor = p.user.name.clone();
    let lifted = blocking(move || s2.blocks.unblock(net, &actor)).await?;
    if lifted.is_empty() {
        return Err(ApiError::NotFound(format!("{net} is not blocked")));
    }
    audit(
        st,
        &p.user.name,
        Some(p.ip),
        "block.remove",
        &net.to_string(),
        serde_json::json!({}),
    )
    .await;
    for b in &lifted {
        let _ = st.live.send(LiveMessage::Unblock(b.clone()));
    }
    Ok(lifted)
}

pub async fn create(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<CreateBlock>,
) -> ApiResult<axum::Json<Block>> {
    Ok(axum::Json(do_block(&st, &p, req).await?))
}

pub async fn delete(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(net): Path<String>,
) -> ApiResult<axum::Json<Vec<Block>>> {
    // CIDRs come URL-encoded (`10.0.0.0%2F8`) or with `_` for `/`.
    let net = net.replace('_', "/");
    Ok(axum::Json(do_unblock(&st, &p, &net).await?))
}

/// `POST /api/block {"ip","reason"}`: the shape users of small monitors know.
pub async fn simple_block(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<CreateBlock>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let b = do_block(&st, &p, req).await?;
    Ok(axum::Json(
        serde_json::json!({"ok": true, "blocked": b.net, "block": b}),
    ))
}

#[derive(Deserialize)]
pub struct Unblock {
    #[serde(alias = "net")]
    pub ip: String,
}

/// `POST /api/unblock {"ip"}`.
pub async fn simple_unblock(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<Unblock>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let lifted = do_unblock(&st, &p, &req.ip).await?;
    Ok(axum::Json(
        serde_json::json!({"ok": true, "unblocked": req.ip.trim(), "lifted": lifted.len()}),
    ))
}

#[derive(Deserialize, Default)]
pub struct BlocklistParams {
    /// `text` (one network per line, default), `nginx` (`deny NET;`) or `json`.
    pub format: Option<String>,
}

/// Active blocks for enforcement outside secmo (needs a token or session like every endpoint).
pub async fn blocklist(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<BlocklistParams>,
) -> ApiResult<Response> {
    let now = now_ms();
    let active = blocking(move || st.store.active_blocks(now)).await?;
    Ok(match q.format.as_deref().unwrap_or("text") {
        "json" => axum::Json(active).into_response(),
        "nginx" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            crate::respond::enforce_render(&active, crate::respond::ListStyle::NginxDeny),
        )
            .into_response(),
        "text" | "plain" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            crate::respond::enforce_render(&active, crate::respond::ListStyle::Plain),
        )
            .into_response(),
        other => {
            return Err(ApiError::BadRequest(format!(
                "format must be text, nginx or json, not {other:?}"
            )));
        }
    })
}

pub async fn allowlist(
    State(st): State<Arc<AppState>>,
    _p: Principal,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let s2 = Arc::clone(&st);
    let stored = blocking(move || s2.store.allowlist()).await?;
    let mut configured: Vec<String> = st
        .cfg
        .blocking
        .allowlist
        .iter()
        .map(|n| n.to_string())
        .collect();
    if st.cfg.blocking.allow_loopback {
        configured.push("127.0.0.0/8".into());
        configured.push("::1/128".into());
    }
    Ok(axum::Json(
        serde_json::json!({"configured": configured, "entries": stored}),
    ))
}

#[derive(Deserialize)]
pub struct CreateAllow {
    #[serde(alias = "net")]
    pub ip: String,
    #[serde(default)]
    pub note: String,
}

pub async fn allow(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<CreateAllow>,
) -> ApiResult<axum::Json<AllowEntry>> {
    p.require(Role::Admin)?;
    let net = parse_net(&req.ip)?;
    let new = NewAllowEntry {
        net,
        note: req.note.chars().take(500).collect(),
        created_by: p.user.name.clone(),
        created_ms: now_ms(),
    };
    let s2 = Arc::clone(&st);
    let entry = blocking(move || {
        let e = s2.store.add_allow(&new)?;
        s2.blocks.refresh()?;
        Ok::<_, secmo_store::StoreError>(e)
    })
    .await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "allowlist.add",
        &net.to_string(),
        serde_json::json!({"note": entry.note}),
    )
    .await;
    Ok(axum::Json(entry))
}

pub async fn disallow(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    p.require(Role::Admin)?;
    let s2 = Arc::clone(&st);
    let removed = blocking(move || {
        let r = s2.store.remove_allow(id)?;
        s2.blocks.refresh()?;
        Ok::<_, secmo_store::StoreError>(r)
    })
    .await?;
    if !removed {
        return Err(ApiError::NotFound(format!(
            "allowlist entry {id} not found"
        )));
    }
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "allowlist.remove",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await;
    Ok(axum::Json(serde_json::json!({"removed": true})))
}
