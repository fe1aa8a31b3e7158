//! Stored events: filtered queries, one event, everything about one IP.

use super::{ApiError, ApiResult, Query};
use crate::auth::Principal;
use crate::state::AppState;
use crate::{blocking, now_ms};
use axum::Json;
use axum::extract::{Path, State};
use secmo_event::Category;
use secmo_store::{
    AlertQuery, Block, EventQuery, EventRecord, Incident, IncidentQuery, IpSummary, Page,
    PageRequest,
};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
pub struct EventParams {
    pub ip: Option<String>,
    pub user: Option<String>,
    pub kind: Option<String>,
    pub source: Option<String>,
    pub status: Option<u16>,
    pub status_class: Option<u8>,
    pub category: Option<String>,
    pub flagged: Option<bool>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub text: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Milliseconds since the epoch, an RFC 3339 time, or a duration back from now (`15m`, `24h`).
pub fn parse_time(s: &str) -> ApiResult<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("{s:?} is not a time")));
    }
    if let Some((ms, used)) = secmo_event::parse_rfc3339(s)
        && used == s.len()
    {
        return Ok(ms);
    }
    crate::config::parse_duration_ms(s)
        .map(|d| now_ms() - d)
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{s:?} is not a time (ms, RFC 3339, or a duration like 15m)"
            ))
        })
}

pub fn parse_ip(s: &str) -> ApiResult<IpAddr> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{s:?} is not an IP address")))
}

pub fn parse_category(s: &str) -> ApiResult<Category> {
    Category::parse(s).ok_or_else(|| ApiError::BadRequest(format!("unknown category {s:?}")))
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

pub fn page(cursor: Option<String>, limit: Option<u32>) -> PageRequest {
    PageRequest {
        cursor: nonempty(cursor),
        limit: limit.unwrap_or(50).clamp(1, 1000),
    }
}

impl EventParams {
    pub fn to_query(self) -> ApiResult<EventQuery> {
        Ok(EventQuery {
            ip: nonempty(self.ip).map(|s| parse_ip(&s)).transpose()?,
            user: nonempty(self.user),
            kind: nonempty(self.kind),
            source: nonempty(self.source),
            status: self.status,
            status_class: self.status_class,
            category: nonempty(self.category)
                .map(|s| parse_category(&s))
                .transpose()?,
            flagged: self.flagged.unwrap_or(false),
            since_ms: nonempty(self.since).map(|s| parse_time(&s)).transpose()?,
            until_ms: nonempty(self.until).map(|s| parse_time(&s)).transpose()?,
            text: nonempty(self.text),
            page: page(self.cursor, self.limit),
        })
    }
}

pub async fn query(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(params): Query<EventParams>,
) -> ApiResult<Json<Page<EventRecord>>> {
    let q = params.to_query()?;
    Ok(Json(blocking(move || st.store.query_events(&q)).await?))
}

pub async fn one(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<EventRecord>> {
    blocking(move || st.store.event(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("event {id} not found")))
}

#[derive(Serialize)]
pub struct IpView {
    pub ip: IpAddr,
    pub summary: IpSummary,
    pub blocked: bool,
    pub allowlisted: bool,
    pub blocks: Vec<Block>,
    pub incidents: Vec<Incident>,
    pub alerts: Vec<secmo_store::AlertRecord>,
    pub recent_events: Vec<EventRecord>,
}

pub async fn ip_view(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Path(ip): Path<String>,
) -> ApiResult<Json<IpView>> {
    let ip = parse_ip(&ip)?;
    let s2 = Arc::clone(&st);
    let now = now_ms();
    let (summary, incidents, alerts, events, blocks) = blocking(move || {
        let summary = s2.store.ip_summary(ip)?;
        let incidents = s2.store.incidents(&IncidentQuery {
            ip: Some(ip),
            page: PageRequest {
                cursor: None,
                limit: 100,
            },
            ..Default::default()
        })?;
        let alerts = s2.store.alerts(&AlertQuery {
            ip: Some(ip),
            page: PageRequest {
                cursor: None,
                limit: 100,
            },
            ..Default::default()
        })?;
        let events = s2.store.query_events(&EventQuery {
            ip: Some(ip),
            page: PageRequest {
                cursor: None,
                limit: 50,
            },
            ..Default::default()
        })?;
        let blocks: Vec<Block> = s2
            .store
            .active_blocks(now)?
            .into_iter()
            .filter(|b| b.net.contains(&ip))
            .collect();
        Ok::<_, secmo_store::StoreError>((
            summary,
            incidents.items,
            alerts.items,
            events.items,
            blocks,
        ))
    })
    .await?;
    Ok(Json(IpView {
        ip,
        summary,
        blocked: st.blocks.is_blocked(ip),
        allowlisted: st.blocks.is_allowed(ip),
        blocks,
        incidents,
        alerts,
        recent_events: events,
    }))
}
