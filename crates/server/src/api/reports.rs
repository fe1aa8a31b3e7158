//! Reports: list, generate on demand, view, download in any format and
//! language, and send by e-mail. Plus the delivery settings and the outbox,
//! so a failing mail server is visible in the dashboard.

use super::blocks::PageParams;
use super::events::page;
use super::{ApiError, ApiResult, Json, Query};
use crate::auth::Principal;
use crate::config::{parse_duration_ms, valid_address};
use crate::notify::outbox::channels;
use crate::state::AppState;
use crate::{audit, blocking, now_ms};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secmo_notify::{ChatMessage, EmailMessage, OutboundMessage, WebhookMessage};
use secmo_report::{Lang, ReportDoc, ReportFormat};
use secmo_store::{
    NewOutboxMessage, OutboxCounts, OutboxEntry, OutboxQuery, OutboxStatus, Page, ReportMeta,
    ReportTrigger, Role,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest period a report can cover.
const MAX_PERIOD_MS: i64 = 366 * 86_400_000;
/// Recipients per request.
const MAX_RECIPIENTS: usize = 50;

fn language(st: &AppState, l: Option<&str>) -> ApiResult<Lang> {
    match l.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(st.reports.language),
        Some(l) => Lang::parse(l)
            .ok_or_else(|| ApiError::BadRequest(format!("unknown language {l:?} (en, es, de)"))),
    }
}

fn addresses(list: &[String]) -> ApiResult<Vec<String>> {
    if list.len() > MAX_RECIPIENTS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_RECIPIENTS} recipients"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for a in list.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
        if !valid_address(a) {
            return Err(ApiError::BadRequest(format!(
                "{a:?} is not an e-mail address"
            )));
        }
        if !out.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            out.push(a.to_owned());
        }
    }
    Ok(out)
}

pub async fn list(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<PageParams>,
) -> ApiResult<axum::Json<Page<ReportMeta>>> {
    let pr = page(q.cursor, q.limit);
    Ok(axum::Json(blocking(move || st.store.reports(&pr)).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    /// `1h`, `24h`, `7d`: the period ending now (default 24h).
    pub since: Option<String>,
    /// Or an explicit range in ms since the epoch.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub language: Option<String>,
    #[serde(default)]
    pub send_to: Vec<String>,
}

#[derive(Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub meta: ReportMeta,
    /// Outbox ids of the e-mails queued.
    pub queued: Vec<i64>,
}

pub async fn create(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<CreateReport>,
) -> ApiResult<axum::Json<Created>> {
    p.require(Role::Analyst)?;
    let now = now_ms();
    let until = req.until_ms.unwrap_or(now).min(now);
    let since = match (req.since.as_deref().filter(|s| !s.is_empty()), req.since_ms) {
        (Some(s), _) => until - parse_duration_ms(s).map_err(ApiError::BadRequest)?,
        (None, Some(ms)) => ms,
        (None, None) => until - 86_400_000,
    };
    if since >= until {
        return Err(ApiError::BadRequest("the period is empty".into()));
    }
    if until - since > MAX_PERIOD_MS {
        return Err(ApiError::BadRequest(
            "a report covers at most 366 days".into(),
        ));
    }
    let lang = language(&st, req.language.as_deref())?;
    let to = addresses(&req.send_to)?;
    if !to.is_empty() && !st.reports.smtp {
        return Err(ApiError::Conflict(
            "e-mail is not configured: add an [smtp] section to secmo.toml".into(),
        ));
    }
    let actor = p.user.name.clone();
    let s2 = Arc::clone(&st);
    let (meta, queued) = blocking(move || {
        let (meta, doc) =
            s2.reports
                .generate(since, until, ReportTrigger::Manual, &actor, lang, now)?;
        let recipients: Vec<(String, Lang)> = to.into_iter().map(|a| (a, lang)).collect();
        let queued = if recipients.is_empty() {
            Vec::new()
        } else {
            s2.reports.queue_email(&doc, &recipients, Some(now), now)?
        };
        Ok::<_, secmo_store::StoreError>((meta, queued))
    })
    .await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "report.create",
        &meta.id.to_string(),
        serde_json::json!({"since_ms": since, "until_ms": until, "queued": queued.len()}),
    )
    .await;
    Ok(axum::Json(Created { meta, queued }))
}

async fn load(st: &Arc<AppState>, id: i64) -> ApiResult<(ReportMeta, ReportDoc)> {
    let s2 = Arc::clone(st);
    let (meta, json) = blocking(move || s2.store.report(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id} not found")))?;
    let mut doc: ReportDoc = serde_json::from_str(&json)
        .map_err(|e| ApiError::Internal(format!("report {id} cannot be read: {e}")))?;
    doc.id = Some(meta.id);
    Ok((meta, doc))
}

#[derive(Serialize)]
pub struct ReportView {
    pub meta: ReportMeta,
    pub doc: ReportDoc,
}

pub async fn one(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ReportView>> {
    let (meta, doc) = load(&st, id).await?;
    Ok(axum::Json(ReportView { meta, doc }))
}

#[derive(Deserialize, Default)]
pub struct DownloadParams {
    pub format: Option<String>,
    pub lang: Option<String>,
}

pub async fn download(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Path(id): Path<i64>,
    Query(q): Query<DownloadParams>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref().filter(|f| !f.is_empty()) {
        None => ReportFormat::Html,
        Some(f) => ReportFormat::from_name(f).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown format {f:?} (html, pdf, csv, json, txt)"))
        })?,
    };
    let lang = language(&st, q.lang.as_deref())?;
    let (_, doc) = load(&st, id).await?;
    let bytes = tokio::task::spawn_blocking(move || secmo_report::render(&doc, format, lang))
        .await
        .map_err(|e| ApiError::Internal(format!("rendering failed: {e}")))?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"secmo-report-{id}-{}.{}\"",
        lang.as_str(),
        format.extension()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Opened in the browser anyway: nothing in it may run or load.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
        ),
    );
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendReport {
    pub to: Vec<String>,
    pub language: Option<String>,
}

#[derive(Serialize)]
pub struct Queued {
    pub queued: Vec<i64>,
}

pub async fn send(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
    Json(req): Json<SendReport>,
) -> ApiResult<axum::Json<Queued>> {
    p.require(Role::Analyst)?;
    let to = addresses(&req.to)?;
    if to.is_empty() {
        return Err(ApiError::BadRequest("no recipient".into()));
    }
    let lang = language(&st, req.language.as_deref())?;
    let (_, doc) = load(&st, id).await?;
    let s2 = Arc::clone(&st);
    let recipients: Vec<(String, Lang)> = to.iter().map(|a| (a.clone(), lang)).collect();
    let now = now_ms();
    let queued =
        blocking(move || s2.reports.queue_email(&doc, &recipients, Some(now), now)).await?;
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "report.send",
        &id.to_string(),
        serde_json::json!({"to": to, "language": lang.as_str()}),
    )
    .await;
    Ok(axum::Json(Queued { queued }))
}

// ---- delivery settings and the outbox -------------------------------------------

#[derive(Serialize)]
pub struct NotificationsView {
    pub settings: serde_json::Value,
    pub outbox_counts: OutboxCounts,
}

/// The delivery settings, secrets left out.
fn settings(st: &AppState) -> serde_json::Value {
    let cfg = &st.cfg;
    let ch = channels(cfg);
    let list = |l: &[crate::config::Recipient]| -> Vec<String> {
        l.iter().map(|r| r.address().to_owned()).collect()
    };
    serde_json::json!({
        "language": st.reports.language.as_str(),
        "reports": {
            "enabled": cfg.reports.enabled,
            "schedule": cfg.reports.schedule,
            "always_send": cfg.reports.always_send,
            "recipients": list(&cfg.reports.recipients),
            "attach_pdf": cfg.reports.attach_pdf,
            "next_run_ms": st.reports.next_run_ms(),
            "last_run_ms": st.reports.last_run_ms(),
        },
        "incidents": {
            "min_severity": cfg.notify.min_severity.as_str(),
            "max_per_window": cfg.notify.max_per_window,
            "window_ms": parse_duration_ms(&cfg.notify.window).unwrap_or(0),
        },
        "channels": {
            "email": {
                "configured": ch.smtp.is_some(),
                "server": ch.smtp.as_ref().map(|s| s.endpoint()),
                "security": cfg.smtp.as_ref().map_or("", |s| s.security.as_str()),
                "from": cfg.smtp.as_ref().map(|s| s.from.clone()),
                "recipients": list(&cfg.notify.email),
            },
            "slack": { "configured": ch.slack.is_some() },
            "telegram": {
                "configured": ch.telegram.is_some(),
                "chat_id": ch.telegram.as_ref().map(|t| t.chat_id.clone()),
            },
            "webhook": {
                "configured": ch.webhook.is_some(),
                // The host only: a webhook URL's path is often its secret.
                "url": ch.webhook.as_ref().map(|w| url_origin(&w.url)),
            },
        },
    })
}

fn url_origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let scheme = url.split_once("://").map_or("https", |(s, _)| s);
    format!("{scheme}://{host}/…")
}

pub async fn notifications(
    State(st): State<Arc<AppState>>,
    _p: Principal,
) -> ApiResult<axum::Json<NotificationsView>> {
    let s2 = Arc::clone(&st);
    let outbox_counts = blocking(move || s2.store.outbox_counts()).await?;
    Ok(axum::Json(NotificationsView {
        settings: settings(&st),
        outbox_counts,
    }))
}

#[derive(Deserialize, Default)]
pub struct OutboxParams {
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn outbox(
    State(st): State<Arc<AppState>>,
    _p: Principal,
    Query(q): Query<OutboxParams>,
) -> ApiResult<axum::Json<Page<OutboxEntry>>> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(OutboxStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown status {s:?} (pending, sent, dead)"))
        })?),
    };
    let query = OutboxQuery {
        status,
        page: page(q.cursor, q.limit),
    };
    Ok(axum::Json(blocking(move || st.store.outbox(&query)).await?))
}

pub async fn retry(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<OutboxEntry>> {
    p.require(Role::Admin)?;
    let s2 = Arc::clone(&st);
    let entry = blocking(move || s2.store.retry_message(id, now_ms())).await?;
    st.notifier.wake().wake();
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "outbox.retry",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await;
    Ok(axum::Json(entry))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    pub channel: String,
    #[serde(default)]
    pub to: Vec<String>,
}

#[derive(Serialize)]
pub struct TestQueued {
    pub queued: i64,
}

pub async fn test(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Json(req): Json<TestRequest>,
) -> ApiResult<axum::Json<TestQueued>> {
    p.require(Role::Admin)?;
    let ch = channels(&st.cfg);
    let text = format!(
        "secmo test message from {} — if you can read this, {} notifications work.",
        st.reports.scope, req.channel
    );
    let subject = format!("[secmo] test message from {}", st.reports.scope);
    let (msg, target) = match req.channel.as_str() {
        "email" if ch.smtp.is_some() => {
            let mut to = addresses(&req.to)?;
            if to.is_empty() {
                to = st
                    .cfg
                    .notify
                    .email
                    .iter()
                    .map(|r| r.address().to_owned())
                    .collect();
                to.extend(
                    st.cfg
                        .reports
                        .recipients
                        .iter()
                        .map(|r| r.address().to_owned()),
                );
                to.sort_unstable();
                to.dedup();
            }
            if to.is_empty() {
                return Err(ApiError::BadRequest(
                    "no recipient: give \"to\" or configure notify.email".into(),
                ));
            }
            let target = to.join(", ");
            (
                OutboundMessage::Email(EmailMessage {
                    to,
                    subject: subject.clone(),
                    text: text.clone(),
                    html: None,
                    ..Default::default()
                }),
                target,
            )
        }
        "slack" if ch.slack.is_some() => (
            OutboundMessage::Slack(ChatMessage { text: text.clone() }),
            "slack".into(),
        ),
        "telegram" if ch.telegram.is_some() => (
            OutboundMessage::Telegram(ChatMessage { text: text.clone() }),
            "telegram".into(),
        ),
        "webhook" if ch.webhook.is_some() => (
            OutboundMessage::Webhook(WebhookMessage {
                event: "test".into(),
                body: serde_json::json!({ "scope": st.reports.scope, "text": text }),
            }),
            "webhook".into(),
        ),
        "email" | "slack" | "telegram" | "webhook" => {
            return Err(ApiError::Conflict(format!(
                "{} is not configured in secmo.toml",
                req.channel
            )));
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown channel {other:?} (email, slack, telegram, webhook)"
            )));
        }
    };
    let payload = serde_json::to_string(&msg).map_err(|e| ApiError::Internal(e.to_string()))?;
    let channel = req.channel.clone();
    let s2 = Arc::clone(&st);
    let entry = blocking(move || {
        s2.store.enqueue(&NewOutboxMessage {
            created_ms: now_ms(),
            channel,
            kind: "test".into(),
            target,
            subject,
            payload,
            dedupe_key: None,
            report_id: None,
        })
    })
    .await?
    .ok_or_else(|| ApiError::Internal("test message not queued".into()))?;
    st.notifier.wake().wake();
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "notify.test",
        &req.channel,
        serde_json::json!({}),
    )
    .await;
    Ok(axum::Json(TestQueued { queued: entry.id }))
}
