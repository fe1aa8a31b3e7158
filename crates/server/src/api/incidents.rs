//! Alerts, incidents and their workflow.

use super::events::{page, parse_category, parse_ip};
use super::{ApiError, ApiResult, Json, Query};
use crate::auth::Principal;
use crate::state::AppState;
use crate::{audit, blocking, now_ms};
use axum::extract::{Path, State};
use secmo_event::Severity;
use secmo_store::{
    AlertQuery, AlertRecord, Block, Incident, IncidentChange, IncidentDetail, IncidentQuery,
    IncidentStatus, NewBlock, Page, Role, Verdict,
};
use serde::Deserialize;
use std::sync::Arc;

fn severity(s: &str) -> ApiResult<Severity> {
    Severity::parse(s).ok_or_else(|| ApiError::BadRequest(format!("unknown severity {s:?}")))
}

#[derive(Deserialize, Default)]
pub struct AlertParams {
    pub rule: Option<String>,
    pub ip: Option<String>,
    pub user: Option<String>,
    pub min_severity: Option<String>,
    pub category: Option<String>,
    pub incident: Option<i64>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn alerts(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<AlertParams>,
) -> ApiResult<axum::Json<Page<AlertRecord>>> {
    let query = AlertQuery {
        rule_id: q.rule.filter(|s| !s.is_empty()),
        ip: q
            .ip
            .filter(|s| !s.is_empty())
            .map(|s| parse_ip(&s))
            .transpose()?,
        user: q.user.filter(|s| !s.is_empty()),
        min_severity: q
            .min_severity
            .filter(|s| !s.is_empty())
            .map(|s| severity(&s))
            .transpose()?,
        category: q
            .category
            .filter(|s| !s.is_empty())
            .map(|s| parse_category(&s))
            .transpose()?,
        incident_id: q.incident,
        since_ms: q
            .since
            .filter(|s| !s.is_empty())
            .map(|s| super::events::parse_time(&s))
            .transpose()?,
        until_ms: q
            .until
            .filter(|s| !s.is_empty())
            .map(|s| super::events::parse_time(&s))
            .transpose()?,
        page: page(q.cursor, q.limit),
    };
    Ok(axum::Json(blocking(move || st.store.alerts(&query)).await?))
}

#[derive(Deserialize, Default)]
pub struct IncidentParams {
    pub status: Option<String>,
    pub open: Option<bool>,
    pub min_severity: Option<String>,
    pub category: Option<String>,
    pub rule: Option<String>,
    pub ip: Option<String>,
    pub user: Option<String>,
    pub assignee: Option<String>,
    pub sort: Option<String>,
    /// Only incidents active in this range (ms since the epoch).
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn list(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<IncidentParams>,
) -> ApiResult<axum::Json<Page<Incident>>> {
    let sort = q.sort.filter(|s| !s.is_empty());
    if let Some(s) = &sort
        && !["last_seen", "first_seen", "severity", "count"].contains(&s.as_str())
    {
        return Err(ApiError::BadRequest(format!(
            "sort must be last_seen, first_seen, severity or count, not {s:?}"
        )));
    }
    let query = IncidentQuery {
        status: q
            .status
            .filter(|s| !s.is_empty())
            .map(|s| {
                IncidentStatus::parse(&s)
                    .ok_or_else(|| ApiError::BadRequest(format!("unknown status {s:?}")))
            })
            .transpose()?,
        open: q.open.unwrap_or(false),
        min_severity: q
            .min_severity
            .filter(|s| !s.is_empty())
            .map(|s| severity(&s))
            .transpose()?,
        category: q
            .category
            .filter(|s| !s.is_empty())
            .map(|s| parse_category(&s))
            .transpose()?,
        rule_id: q.rule.filter(|s| !s.is_empty()),
        ip: q
            .ip
            .filter(|s| !s.is_empty())
            .map(|s| parse_ip(&s))
            .transpose()?,
        user: q.user.filter(|s| !s.is_empty()),
        assignee: q.assignee.filter(|s| !s.is_empty()),
        active_since_ms: q.since_ms,
        active_until_ms: q.until_ms,
        sort,
        page: page(q.cursor, q.limit),
    };
    Ok(axum::Json(
        blocking(move || st.store.incidents(&query)).await?,
    ))
}

pub async fn one(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<IncidentDetail>> {
    blocking(move || st.store.incident(id))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found")))
}

#[derive(Deserialize, Default)]
pub struct UpdateIncident {
    pub status: Option<IncidentStatus>,
    pub verdict: Option<Verdict>,
    pub assignee: Option<String>,
    pub note: Option<String>,
    /// Tick or untick a response step: `{"index": 0, "done": true}`.
    pub checklist: Option<ChecklistTick>,
}

#[derive(Deserialize)]
pub struct ChecklistTick {
    pub index: usize,
    pub done: bool,
}

pub async fn update(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
    Json(req): Json<UpdateIncident>,
) -> ApiResult<axum::Json<IncidentDetail>> {
    p.require(Role::Analyst)?;
    if let Some(n) = &req.note
        && (n.trim().is_empty() || n.len() > 10_000)
    {
        return Err(ApiError::BadRequest("notes are 1–10000 characters".into()));
    }
    let change = IncidentChange {
        status: req.status,
        verdict: req.verdict,
        assignee: req.assignee.map(|a| a.trim().chars().take(64).collect()),
        note: req.note,
        checklist: req.checklist.map(|c| (c.index, c.done)),
        activity: None,
    };
    let detail_json = serde_json::to_value(&change).unwrap_or_default();
    let s2 = Arc::clone(&st);
    let actor = p.user.name.clone();
    let detail = blocking(move || s2.store.update_incident(id, &change, &actor, now_ms())).await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "incident.update",
        &id.to_string(),
        detail_json,
    )
    .await;
    Ok(axum::Json(detail))
}

#[derive(Deserialize, Default)]
pub struct BlockAttacker {
    /// e.g. "1h", "7d"; absent blocks until lifted.
    pub duration: Option<String>,
    pub reason: Option<String>,
}

/// "Block this IP" from an incident: blocks its source IP and records it on the incident.
pub async fn block_attacker(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<Block>> {
    p.require(Role::Analyst)?;
    let req: BlockAttacker = if body.iter().all(u8::is_ascii_whitespace) {
        BlockAttacker::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?
    };
    let s2 = Arc::clone(&st);
    let inc = blocking(move || s2.store.incident(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id} not found")))?;
    let ip = inc
        .incident
        .source_ip
        .ok_or_else(|| ApiError::Conflict("this incident has no source IP to block".into()))?;
    let now = now_ms();
    let expires_ms = match req.duration.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => Some(now + crate::config::parse_duration_ms(d).map_err(ApiError::BadRequest)?),
        None => None,
    };
    let new = NewBlock {
        net: ipnet::IpNet::from(ip),
        reason: req
            .reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| format!("incident #{id}: {}", inc.incident.title)),
        created_by: p.user.name.clone(),
        created_ms: now,
        expires_ms,
        rule_id: Some(inc.incident.rule_id.clone()),
        incident_id: Some(id),
    };
    let s2 = Arc::clone(&st);
    let block = blocking(move || s2.blocks.block(&new).map_err(ApiError::from)).await?;
    let s2 = Arc::clone(&st);
    let actor = p.user.name.clone();
    let net = block.net;
    blocking(move || {
        s2.store.update_incident(
            id,
            &IncidentChange {
                activity: Some(("block".into(), format!("{net} blocked"))),
                ..Default::default()
            },
            &actor,
            now,
        )
    })
    .await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "block.add",
        &block.net.to_string(),
        serde_json::json!({"incident": id}),
    )
    .await;
    let _ = st.live.send(crate::live::LiveMessage::Block(block.clone()));
    Ok(axum::Json(block))
}
