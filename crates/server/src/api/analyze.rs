//! Upload-or-paste analysis: the same pipeline as `secmo analyze`, on a log
//! sent as a multipart file, a raw body, or JSON `{"text": ...}`. The report
//! is returned and the upload discarded, unless `keep=true` asks to record
//! its alerts as incidents.

use super::{ApiError, ApiResult, Query};
use crate::auth::Principal;
use crate::state::AppState;
use crate::{audit, blocking, now_ms};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header;
use secmo_detect::Report;
use secmo_parse::read::InputSpec;
use secmo_pipeline::{Analysis, AnalyzeOptions};
use secmo_store::{AlertDelta, IngestBatch, Role};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;

#[derive(Deserialize, Default)]
pub struct AnalyzeParams {
    /// Force a format instead of sniffing.
    pub format: Option<String>,
    /// Record the alerts as incidents (analyst or admin).
    pub keep: Option<bool>,
    /// A name for the upload (shown in evidence); multipart uploads use their file name.
    pub name: Option<String>,
}

#[derive(Serialize)]
pub struct AnalyzeResponse {
    #[serde(flatten)]
    pub report: Report,
    pub kept: bool,
    /// Incidents created or updated when kept.
    pub incident_ids: Vec<i64>,
}

#[derive(Deserialize)]
struct PasteBody {
    text: String,
    name: Option<String>,
}

pub async fn analyze(
    State(st): State<Arc<AppState>>,
    p: Principal,
    Query(q): Query<AnalyzeParams>,
    req: Request,
) -> ApiResult<axum::Json<AnalyzeResponse>> {
    let keep = q.keep.unwrap_or(false);
    if keep {
        p.require(Role::Analyst)?;
    }
    let format = match q.format.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => Some(
            secmo_parse::Format::parse(f)
                .ok_or_else(|| ApiError::BadRequest(format!("unknown format {f:?}")))?,
        ),
        None => None,
    };
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let tmp_dir = st.cfg.data_dir.join("tmp");
    std::fs::create_dir_all(&tmp_dir).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut name = q.name.clone().unwrap_or_else(|| "upload".into());
    let too_large = |e: String| {
        if e.contains("length limit") || e.contains("too large") {
            ApiError::PayloadTooLarge(format!(
                "the log is larger than {} MiB",
                st.cfg.upload_limit_mb
            ))
        } else {
            ApiError::BadRequest(e)
        }
    };
    if ctype.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let Some(mut field) = mp
            .next_field()
            .await
            .map_err(|e| too_large(e.body_text()))?
        else {
            return Err(ApiError::BadRequest("the form has no file".into()));
        };
        if let Some(f) = field.file_name() {
            name = f.to_string();
        }
        while let Some(chunk) = field.chunk().await.map_err(|e| too_large(e.body_text()))? {
            tmp.write_all(&chunk)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
    } else if ctype.starts_with("application/json") {
        let body = Bytes::from_request(req, &())
            .await
            .map_err(|e| too_large(e.body_text()))?;
        let paste: PasteBody = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("expected {{\"text\": ...}}: {e}")))?;
        if let Some(n) = paste.name {
            name = n;
        }
        tmp.write_all(paste.text.as_bytes())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    } else {
        let body = Bytes::from_request(req, &())
            .await
            .map_err(|e| too_large(e.body_text()))?;
        tmp.write_all(&body)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    tmp.flush().map_err(|e| ApiError::Internal(e.to_string()))?;
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();

    let detector = Arc::clone(&st.detector);
    let path = tmp.path().to_path_buf();
    let input_name = name.clone();
    let report = tokio::task::spawn_blocking(move || {
        let mut spec = InputSpec::file(path);
        spec.name = input_name;
        let opts = AnalyzeOptions {
            format,
            threads: 1,
            ..AnalyzeOptions::default()
        };
        Analysis::new(detector, opts).run(&[spec], None)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    drop(tmp);

    let mut incident_ids = Vec::new();
    if keep && !report.alerts.is_empty() {
        let now = now_ms();
        let source = format!("upload:{name}");
        let deltas: Vec<AlertDelta> = report
            .alerts
            .iter()
            .map(|a| AlertDelta::new(&source, a.clone(), now))
            .collect();
        let window = st.cfg.incident_window_ms();
        let s2 = Arc::clone(&st);
        let outcome = blocking(move || {
            s2.store.ingest(&IngestBatch {
                events: &[],
                alerts: &deltas,
                checkpoints: &[],
                incident_window_ms: window,
                now_ms: now,
            })
        })
        .await?;
        incident_ids = outcome.incidents.iter().map(|t| t.incident_id).collect();
        incident_ids.dedup();
        // Kept incidents are incidents like any other: notified by the same rules.
        let s3 = Arc::clone(&st);
        let touches = outcome.incidents.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for t in &touches {
                s3.notifier.on_incident(t, now);
            }
        })
        .await;
        for t in outcome.incidents {
            let _ = st.live.send(crate::live::LiveMessage::Incident(t));
        }
    }
    audit(
        &st,
        &p.user.name,
        Some(p.ip),
        "analyze",
        &name,
        serde_json::json!({"keep": keep, "alerts": report.alerts.len()}),
    )
    .await;
    Ok(axum::Json(AnalyzeResponse {
        report,
        kept: keep,
        incident_ids,
    }))
}
