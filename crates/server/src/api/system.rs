//! Health, metrics, sources, audit log, rules and the landing page.

use super::events::page;
use super::{ApiError, ApiResult, Query};
use crate::auth::{ClientIp, Principal};
use crate::state::AppState;
use crate::{blocking, now_ms};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use secmo_store::{AuditEntry, Page, Role};
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_secs: i64,
    /// A store write is failing (ingestion waits and retries).
    pub store_error: Option<String>,
    pub sources: usize,
    pub sources_with_errors: usize,
    pub enforcer_errors: Vec<String>,
}

pub async fn health(State(st): State<Arc<AppState>>) -> axum::Json<Health> {
    let sources = st.sources.snapshot();
    let store_error = st
        .sources
        .store_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    axum::Json(Health {
        status: if store_error.is_some() {
            "degraded"
        } else {
            "ok"
        },
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: (now_ms() - st.started_ms) / 1000,
        store_error,
        sources: sources.len(),
        sources_with_errors: sources.iter().filter(|s| s.last_error.is_some()).count(),
        enforcer_errors: st
            .blocks
            .enforcer_errors()
            .into_iter()
            .map(|(e, m)| format!("{e}: {m}"))
            .collect(),
    })
}

pub async fn metrics(State(st): State<Arc<AppState>>, mut parts: Parts) -> ApiResult<Response> {
    if !st.cfg.auth.public_metrics {
        Principal::from_request_parts(&mut parts, &st).await?;
    }
    let s2 = Arc::clone(&st);
    let stored = blocking(move || s2.store.event_count()).await.unwrap_or(0);
    let s3 = Arc::clone(&st);
    let outbox = blocking(move || s3.store.outbox_counts())
        .await
        .unwrap_or_default();
    let sources = st.sources.snapshot();
    let lag: u64 = sources.iter().map(|s| s.lag_bytes).sum();
    let text = st.metrics.render(&[
        ("secmo_events_stored", "Events in the store.", stored as f64),
        ("secmo_sources", "Watched sources.", sources.len() as f64),
        (
            "secmo_ingest_lag_bytes",
            "Bytes written to watched files but not read yet.",
            lag as f64,
        ),
        (
            "secmo_live_subscribers",
            "Open live streams.",
            st.live.receiver_count() as f64,
        ),
        (
            "secmo_outbox_pending",
            "Messages waiting for delivery.",
            outbox.pending as f64,
        ),
        (
            "secmo_outbox_failing",
            "Pending messages whose last attempt failed (alert on this).",
            outbox.failing as f64,
        ),
        (
            "secmo_outbox_dead",
            "Messages given up after refusals or too many attempts.",
            outbox.dead as f64,
        ),
        (
            "secmo_uptime_seconds",
            "Seconds since start.",
            ((now_ms() - st.started_ms) / 1000) as f64,
        ),
    ]);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

pub async fn sources(
    State(st): State<Arc<AppState>>,
    _p: Principal,
) -> axum::Json<Vec<crate::ingest::SourceView>> {
    axum::Json(st.sources.snapshot())
}

#[derive(serde::Deserialize, Default)]
pub struct AuditParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn audit(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Query(q): Query<AuditParams>,
) -> ApiResult<axum::Json<Page<AuditEntry>>> {
    p.require(Role::Admin)?;
    let pr = page(q.cursor, q.limit);
    Ok(axum::Json(blocking(move || st.store.audit_log(&pr)).await?))
}

pub async fn rules(
    State(st): State<Arc<AppState>>,
    _p: Principal,
) -> axum::Json<Vec<secmo_detect::RuleMeta>> {
    axum::Json(st.detector.rules().to_vec())
}

/// The dashboard's page (`/` and every client-side route). Writes a
/// PAGE_VISIT line to the activity log the rules watch.
pub async fn index(State(st): State<Arc<AppState>>, ClientIp(ip): ClientIp) -> Response {
    st.activity.page_visit(ip, "");
    page_response()
}

fn page_response() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        secmo_web::index_html(),
    )
        .into_response()
}

/// Everything outside `/api`: a built file of the dashboard (hashed names
/// cached for a year), otherwise the page itself for client-side routes.
pub async fn spa(
    State(st): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    method: Method,
    uri: Uri,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::NotFound("no such page".into()).into_response();
    }
    let path = uri.path();
    if let Some((data, mime)) = secmo_web::asset(path).filter(|_| path != "/index.html") {
        let cache = if secmo_web::is_immutable(path) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache)],
            data,
        )
            .into_response();
    }
    // A missing file under assets/ (an old bundle name) is a 404, not the page.
    if secmo_web::is_immutable(path) {
        return ApiError::NotFound(format!("{path} not found")).into_response();
    }
    st.activity.page_visit(ip, "");
    page_response()
}
