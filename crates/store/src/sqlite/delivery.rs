//! Stored reports and the delivery outbox.

use super::admin::cut;
use super::{SqlResult, id_cursor, limit_of};
use crate::model::*;
use crate::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

const REPORT_COLS: &str = "id, created_ms, period_start, period_end, trigger, requested_by, \
     threat_level, incidents, events, flagged, language, delivered_to";

fn trigger_parse(s: &str) -> ReportTrigger {
    match s {
        "schedule" => ReportTrigger::Schedule,
        _ => ReportTrigger::Manual,
    }
}

fn report_row(r: &Row<'_>) -> rusqlite::Result<ReportMeta> {
    let delivered: String = r.get(11)?;
    Ok(ReportMeta {
        id: r.get(0)?,
        created_ms: r.get(1)?,
        period_start_ms: r.get(2)?,
        period_end_ms: r.get(3)?,
        trigger: trigger_parse(&r.get::<_, String>(4)?),
        requested_by: r.get(5)?,
        threat_level: r.get(6)?,
        incidents: r.get::<_, i64>(7)?.max(0) as u64,
        events: r.get::<_, i64>(8)?.max(0) as u64,
        flagged_events: r.get::<_, i64>(9)?.max(0) as u64,
        language: r.get(10)?,
        delivered_to: serde_json::from_str(&delivered).unwrap_or_default(),
    })
}

pub(crate) fn save_report(conn: &Connection, n: &NewReport) -> Result<ReportMeta> {
    let id = conn
        .prepare_cached(
            "INSERT INTO reports(created_ms, period_start, period_end, trigger, requested_by, \
             threat_level, incidents, events, flagged, language, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        )
        .db()?
        .query_row(
            params![
                n.created_ms,
                n.period_start_ms,
                n.period_end_ms,
                n.trigger.as_str(),
                n.requested_by,
                n.threat_level,
                n.incidents as i64,
                n.events as i64,
                n.flagged_events as i64,
                n.language,
                n.doc_json
            ],
            |r| r.get::<_, i64>(0),
        )
        .db()?;
    report_meta(conn, id)?.ok_or_else(|| StoreError::Db("report vanished after insert".into()))
}

fn report_meta(conn: &Connection, id: i64) -> Result<Option<ReportMeta>> {
    conn.prepare_cached(&format!("SELECT {REPORT_COLS} FROM reports WHERE id = ?1"))
        .db()?
        .query_row(params![id], report_row)
        .optional()
        .db()
}

pub(crate) fn reports(conn: &Connection, page: &PageRequest) -> Result<Page<ReportMeta>> {
    let limit = limit_of(page);
    let mut items: Vec<ReportMeta> = conn
        .prepare_cached(&format!(
            "SELECT {REPORT_COLS} FROM reports WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .db()?
        .query_map(params![id_cursor(page)?, limit as i64 + 1], report_row)
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let next_cursor = cut(&mut items, limit, |r| r.id);
    Ok(Page { items, next_cursor })
}

pub(crate) fn report(conn: &Connection, id: i64) -> Result<Option<(ReportMeta, String)>> {
    conn.prepare_cached(&format!(
        "SELECT {REPORT_COLS}, doc FROM reports WHERE id = ?1"
    ))
    .db()?
    .query_row(params![id], |r| {
        Ok((report_row(r)?, r.get::<_, String>(12)?))
    })
    .optional()
    .db()
}

pub(crate) fn last_report(conn: &Connection, trigger: ReportTrigger) -> Result<Option<ReportMeta>> {
    conn.prepare_cached(&format!(
        "SELECT {REPORT_COLS} FROM reports WHERE trigger = ?1 ORDER BY period_end DESC, id DESC LIMIT 1"
    ))
    .db()?
    .query_row(params![trigger.as_str()], report_row)
    .optional()
    .db()
}

// ---- outbox -----------------------------------------------------------------

const OUTBOX_COLS: &str = "id, created_ms, channel, kind, target, subject, status, attempts, \
     next_ms, last_error, sent_ms, report_id";

fn status_of(n: i64) -> OutboxStatus {
    match n {
        1 => OutboxStatus::Sent,
        2 => OutboxStatus::Dead,
        _ => OutboxStatus::Pending,
    }
}

fn status_code(s: OutboxStatus) -> i64 {
    match s {
        OutboxStatus::Pending => 0,
        OutboxStatus::Sent => 1,
        OutboxStatus::Dead => 2,
    }
}

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: r.get(0)?,
        created_ms: r.get(1)?,
        channel: r.get(2)?,
        kind: r.get(3)?,
        target: r.get(4)?,
        subject: r.get(5)?,
        status: status_of(r.get(6)?),
        attempts: r.get::<_, i64>(7)?.clamp(0, u32::MAX as i64) as u32,
        next_attempt_ms: r.get(8)?,
        last_error: r.get(9)?,
        sent_ms: r.get(10)?,
        report_id: r.get(11)?,
    })
}

fn outbox_entry(conn: &Connection, id: i64) -> Result<Option<OutboxEntry>> {
    conn.prepare_cached(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE id = ?1"))
        .db()?
        .query_row(params![id], outbox_row)
        .optional()
        .db()
}

pub(crate) fn enqueue(conn: &Connection, m: &NewOutboxMessage) -> Result<Option<OutboxEntry>> {
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO outbox(created_ms, channel, kind, target, subject, payload, dedupe, report_id, next_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?1) ON CONFLICT(dedupe) DO NOTHING RETURNING id",
        )
        .db()?
        .query_row(
            params![
                m.created_ms,
                m.channel,
                m.kind,
                m.target,
                m.subject,
                m.payload,
                m.dedupe_key,
                m.report_id
            ],
            |r| r.get(0),
        )
        .optional()
        .db()?;
    match id {
        Some(id) => outbox_entry(conn, id),
        None => Ok(None),
    }
}

pub(crate) fn due_messages(
    conn: &Connection,
    now_ms: i64,
    limit: u32,
) -> Result<Vec<(OutboxEntry, String)>> {
    conn.prepare_cached(&format!(
        "SELECT {OUTBOX_COLS}, payload FROM outbox WHERE status = 0 AND next_ms <= ?1 \
         ORDER BY next_ms, id LIMIT ?2"
    ))
    .db()?
    .query_map(params![now_ms, limit.max(1) as i64], |r| {
        Ok((outbox_row(r)?, r.get::<_, String>(12)?))
    })
    .db()?
    .collect::<rusqlite::Result<_>>()
    .db()
}

pub(crate) fn mark_sent(conn: &Connection, id: i64, now_ms: i64) -> Result<()> {
    let tx = conn.unchecked_transaction().db()?;
    let changed = tx
        .prepare_cached(
            "UPDATE outbox SET status = 1, sent_ms = ?2, attempts = attempts + 1, next_ms = NULL \
             WHERE id = ?1 AND status = 0",
        )
        .db()?
        .execute(params![id, now_ms])
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("pending message {id}")));
    }
    // E-mail carrying a report: record who got it on the report.
    let row: Option<(Option<i64>, String, String)> = tx
        .prepare_cached("SELECT report_id, channel, target FROM outbox WHERE id = ?1")
        .db()?
        .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .db()?;
    if let Some((Some(report_id), channel, target)) = row
        && channel == "email"
    {
        let current: Option<String> = tx
            .prepare_cached("SELECT delivered_to FROM reports WHERE id = ?1")
            .db()?
            .query_row(params![report_id], |r| r.get(0))
            .optional()
            .db()?;
        if let Some(current) = current {
            let mut list: Vec<String> = serde_json::from_str(&current).unwrap_or_default();
            for addr in target.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                if !list.iter().any(|x| x == addr) {
                    list.push(addr.to_owned());
                }
            }
            let json = serde_json::to_string(&list).map_err(|e| StoreError::Db(e.to_string()))?;
            tx.prepare_cached("UPDATE reports SET delivered_to = ?2 WHERE id = ?1")
                .db()?
                .execute(params![report_id, json])
                .db()?;
        }
    }
    tx.commit().db()
}

pub(crate) fn mark_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at_ms: Option<i64>,
) -> Result<()> {
    let status = if retry_at_ms.is_some() { 0 } else { 2 };
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET status = ?2, attempts = attempts + 1, next_ms = ?3, last_error = ?4 \
             WHERE id = ?1 AND status = 0",
        )
        .db()?
        .execute(params![id, status, retry_at_ms, error])
        .db()?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("pending message {id}")));
    }
    Ok(())
}

pub(crate) fn outbox(conn: &Connection, q: &OutboxQuery) -> Result<Page<OutboxEntry>> {
    let limit = limit_of(&q.page);
    let cursor = id_cursor(&q.page)?;
    let mut items: Vec<OutboxEntry> = match q.status {
        Some(s) => conn
            .prepare_cached(&format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE id < ?1 AND status = ?3 ORDER BY id DESC LIMIT ?2"
            ))
            .db()?
            .query_map(params![cursor, limit as i64 + 1, status_code(s)], outbox_row)
            .db()?
            .collect::<rusqlite::Result<_>>()
            .db()?,
        None => conn
            .prepare_cached(&format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .db()?
            .query_map(params![cursor, limit as i64 + 1], outbox_row)
            .db()?
            .collect::<rusqlite::Result<_>>()
            .db()?,
    };
    let next_cursor = cut(&mut items, limit, |e| e.id);
    Ok(Page { items, next_cursor })
}

pub(crate) fn outbox_counts(conn: &Connection) -> Result<OutboxCounts> {
    conn.prepare_cached(
        "SELECT \
           COALESCE(SUM(status = 0), 0), \
           COALESCE(SUM(status = 0 AND last_error IS NOT NULL), 0), \
           COALESCE(SUM(status = 1), 0), \
           COALESCE(SUM(status = 2), 0) FROM outbox",
    )
    .db()?
    .query_row([], |r| {
        let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
        Ok(OutboxCounts {
            pending: n(0)?,
            failing: n(1)?,
            sent: n(2)?,
            dead: n(3)?,
        })
    })
    .db()
}

pub(crate) fn retry_message(conn: &Connection, id: i64, now_ms: i64) -> Result<OutboxEntry> {
    let entry =
        outbox_entry(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("message {id}")))?;
    if entry.status == OutboxStatus::Sent {
        return Err(StoreError::Conflict(format!(
            "message {id} was already delivered"
        )));
    }
    conn.prepare_cached("UPDATE outbox SET status = 0, next_ms = ?2 WHERE id = ?1")
        .db()?
        .execute(params![id, now_ms])
        .db()?;
    outbox_entry(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("message {id}")))
}
