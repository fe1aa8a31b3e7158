//! Alerts, incidents and the incident workflow.

use super::{
    SqlResult, category_of, ip_parse, limit_of, pair_cursor, severity_of, severity_rank, status_of,
    status_rank,
};
use crate::model::*;
use crate::{Result, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};

const ALERT_COLS: &str = "id, incident_id, source, rule_id, title, category, severity, source_ip, user, count, \
     first_seen_ms, last_seen_ms, evidence, description, recommendation";
const INCIDENT_COLS: &str = "id, rule_id, title, category, severity, source_ip, user, status, verdict, assignee, \
     count, first_seen_ms, last_seen_ms, created_ms, updated_ms";

fn alert_row(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    let evidence: String = r.get(12)?;
    Ok(AlertRecord {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        source: r.get(2)?,
        rule_id: r.get(3)?,
        title: r.get(4)?,
        category: category_of(&r.get::<_, String>(5)?),
        severity: severity_of(r.get(6)?),
        source_ip: ip_parse(r.get(7)?),
        user: r.get(8)?,
        count: u64::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
        first_seen_ms: r.get(10)?,
        last_seen_ms: r.get(11)?,
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        description: r.get(13)?,
        recommendation: r.get(14)?,
    })
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::TruePositive => "true_positive",
        Verdict::FalsePositive => "false_positive",
    }
}

fn verdict_of(s: Option<String>) -> Option<Verdict> {
    match s.as_deref() {
        Some("true_positive") => Some(Verdict::TruePositive),
        Some("false_positive") => Some(Verdict::FalsePositive),
        _ => None,
    }
}

fn incident_row(r: &Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        rule_id: r.get(1)?,
        title: r.get(2)?,
        category: category_of(&r.get::<_, String>(3)?),
        severity: severity_of(r.get(4)?),
        source_ip: ip_parse(r.get(5)?),
        user: r.get(6)?,
        status: status_of(r.get(7)?),
        verdict: verdict_of(r.get(8)?),
        assignee: r.get(9)?,
        count: u64::try_from(r.get::<_, i64>(10)?).unwrap_or(0),
        first_seen_ms: r.get(11)?,
        last_seen_ms: r.get(12)?,
        created_ms: r.get(13)?,
        updated_ms: r.get(14)?,
    })
}

pub(crate) fn alerts(conn: &Connection, q: &AlertQuery) -> Result<Page<AlertRecord>> {
    let limit = limit_of(&q.page);
    let (ck, cid) = pair_cursor(&q.page)?;
    let mut p: Vec<Value> = vec![Value::Integer(ck), Value::Integer(cid)];
    let mut conds = vec!["(last_seen_ms, id) < (?1, ?2)".to_owned()];
    let mut add = |cond: &str, v: Value| {
        p.push(v);
        conds.push(cond.replace('?', &format!("?{}", p.len())));
    };
    if let Some(r) = &q.rule_id {
        add("rule_id = ?", Value::Text(r.clone()));
    }
    if let Some(ip) = q.ip {
        add("source_ip = ?", Value::Text(ip.to_string()));
    }
    if let Some(u) = &q.user {
        add("user = ?", Value::Text(u.clone()));
    }
    if let Some(s) = q.min_severity {
        add("severity >= ?", Value::Integer(severity_rank(s)));
    }
    if let Some(c) = q.category {
        add("category = ?", Value::Text(c.as_str().to_owned()));
    }
    if let Some(i) = q.incident_id {
        add("incident_id = ?", Value::Integer(i));
    }
    if let Some(s) = q.since_ms {
        add("last_seen_ms >= ?", Value::Integer(s));
    }
    if let Some(u) = q.until_ms {
        add("last_seen_ms < ?", Value::Integer(u));
    }
    p.push(Value::Integer(limit as i64 + 1));
    let sql = format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE {} ORDER BY last_seen_ms DESC, id DESC LIMIT ?{}",
        conds.join(" AND "),
        p.len()
    );
    let mut st = conn.prepare_cached(&sql).db()?;
    let mut items = st
        .query_map(rusqlite::params_from_iter(p.iter()), alert_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|a| format!("{}:{}", a.last_seen_ms, a.id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

pub(crate) fn incidents(conn: &Connection, q: &IncidentQuery) -> Result<Page<Incident>> {
    let limit = limit_of(&q.page);
    let (ck, cid) = pair_cursor(&q.page)?;
    let sort = match q.sort.as_deref().unwrap_or("last_seen") {
        "last_seen" | "" => "last_seen_ms",
        "first_seen" => "first_seen_ms",
        "severity" => "severity",
        "count" => "count",
        other => {
            return Err(StoreError::Invalid(format!(
                "unknown incident sort {other:?}"
            )));
        }
    };
    let mut p: Vec<Value> = vec![Value::Integer(ck), Value::Integer(cid)];
    let mut conds = vec![format!("({sort}, id) < (?1, ?2)")];
    let mut add = |cond: &str, v: Value| {
        p.push(v);
        conds.push(cond.replace('?', &format!("?{}", p.len())));
    };
    if let Some(s) = q.status {
        add("status = ?", Value::Integer(status_rank(s)));
    }
    if q.open {
        add(
            "status < ?",
            Value::Integer(status_rank(IncidentStatus::Resolved)),
        );
    }
    if let Some(s) = q.min_severity {
        add("severity >= ?", Value::Integer(severity_rank(s)));
    }
    if let Some(c) = q.category {
        add("category = ?", Value::Text(c.as_str().to_owned()));
    }
    if let Some(r) = &q.rule_id {
        add("rule_id = ?", Value::Text(r.clone()));
    }
    if let Some(ip) = q.ip {
        add("source_ip = ?", Value::Text(ip.to_string()));
    }
    if let Some(u) = &q.user {
        add("user = ?", Value::Text(u.clone()));
    }
    if let Some(a) = &q.assignee {
        add("assignee = ?", Value::Text(a.clone()));
    }
    if let Some(t) = q.active_since_ms {
        add("last_seen_ms >= ?", Value::Integer(t));
    }
    if let Some(t) = q.active_until_ms {
        add("first_seen_ms < ?", Value::Integer(t));
    }
    p.push(Value::Integer(limit as i64 + 1));
    let sql = format!(
        "SELECT {INCIDENT_COLS}, {sort} FROM incidents WHERE {} ORDER BY {sort} DESC, id DESC LIMIT ?{}",
        conds.join(" AND "),
        p.len()
    );
    let mut st = conn.prepare_cached(&sql).db()?;
    let mut items = st
        .query_map(rusqlite::params_from_iter(p.iter()), |r| {
            Ok((incident_row(r)?, r.get::<_, i64>(15)?))
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(i, k)| format!("{k}:{}", i.id))
    } else {
        None
    };
    Ok(Page {
        items: items.into_iter().map(|x| x.0).collect(),
        next_cursor,
    })
}

pub(crate) fn detail(conn: &Connection, id: i64) -> Result<Option<IncidentDetail>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLS}, description, recommendation, checklist FROM incidents WHERE id = ?1"
        ))
        .db()?
        .query_row([id], |r| {
            Ok((incident_row(r)?, r.get::<_, String>(15)?, r.get::<_, String>(16)?, r.get::<_, String>(17)?))
        })
        .optional()
        .db()?;
    let Some((incident, description, recommendation, checklist)) = row else {
        return Ok(None);
    };
    let notes = conn
        .prepare_cached(
            "SELECT id, author, text, created_ms FROM notes WHERE incident_id = ?1 ORDER BY id",
        )
        .db()?
        .query_map([id], |r| {
            Ok(Note {
                id: r.get(0)?,
                author: r.get(1)?,
                text: r.get(2)?,
                created_ms: r.get(3)?,
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let activity = conn
        .prepare_cached("SELECT id, at_ms, actor, action, detail FROM activity WHERE incident_id = ?1 ORDER BY id")
        .db()?
        .query_map([id], |r| {
            Ok(Activity {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                detail: r.get(4)?,
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let alerts = conn
        .prepare_cached(&format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE incident_id = ?1 ORDER BY id"
        ))
        .db()?
        .query_map([id], alert_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    Ok(Some(IncidentDetail {
        incident,
        description,
        recommendation,
        checklist: serde_json::from_str(&checklist).unwrap_or_default(),
        notes,
        activity,
        alerts,
    }))
}

pub(crate) fn update(
    conn: &mut Connection,
    id: i64,
    change: &IncidentChange,
    actor: &str,
    now_ms: i64,
) -> Result<IncidentDetail> {
    let tx = conn.transaction().db()?;
    let row: Option<(i64, String)> = tx
        .prepare_cached("SELECT status, checklist FROM incidents WHERE id = ?1")
        .db()?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .db()?;
    let Some((status, checklist)) = row else {
        return Err(StoreError::NotFound(format!("incident {id}")));
    };
    let mut status = status_of(status);
    let log = |action: &str, detail: &str| -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO activity (incident_id, at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .db()?
        .execute(params![id, now_ms, actor, action, detail])
        .db()?;
        Ok(())
    };
    let set_status = |from: IncidentStatus, to: IncidentStatus| -> Result<()> {
        tx.prepare_cached("UPDATE incidents SET status = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id, status_rank(to)])
            .db()?;
        log("status", &format!("{} → {}", from.as_str(), to.as_str()))
    };
    let mut applied = false;
    if let Some(to) = change.status {
        if !status.can_move_to(to) {
            return Err(StoreError::Conflict(format!(
                "an incident cannot move from {} to {}",
                status.as_str(),
                to.as_str()
            )));
        }
        set_status(status, to)?;
        status = to;
        applied = true;
    }
    if let Some(v) = change.verdict {
        tx.prepare_cached("UPDATE incidents SET verdict = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id, verdict_str(v)])
            .db()?;
        log("verdict", verdict_str(v))?;
        if status == IncidentStatus::New {
            set_status(status, IncidentStatus::Triaged)?;
        }
        applied = true;
    }
    if let Some(a) = &change.assignee {
        let who = Some(a.as_str()).filter(|a| !a.is_empty());
        tx.prepare_cached("UPDATE incidents SET assignee = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id, who])
            .db()?;
        log("assign", who.unwrap_or(""))?;
        applied = true;
    }
    if let Some(text) = &change.note {
        tx.prepare_cached(
            "INSERT INTO notes (incident_id, author, text, created_ms) VALUES (?1, ?2, ?3, ?4)",
        )
        .db()?
        .execute(params![id, actor, text, now_ms])
        .db()?;
        log("note", text)?;
        applied = true;
    }
    if let Some((i, done)) = change.checklist {
        let mut items: Vec<ChecklistItem> = serde_json::from_str(&checklist).unwrap_or_default();
        let n = items.len();
        let item = items.get_mut(i).ok_or_else(|| {
            StoreError::Invalid(format!("checklist item {i} does not exist ({n} items)"))
        })?;
        item.done = done;
        item.done_by = done.then(|| actor.to_owned());
        item.done_ms = done.then_some(now_ms);
        let detail = format!(
            "{} {}: {}",
            if done { "done" } else { "not done" },
            i + 1,
            item.step
        );
        let json = serde_json::to_string(&items).map_err(|e| StoreError::Db(e.to_string()))?;
        tx.prepare_cached("UPDATE incidents SET checklist = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id, json])
            .db()?;
        log("checklist", &detail)?;
        applied = true;
    }
    if let Some((action, detail)) = &change.activity {
        if action.is_empty() {
            return Err(StoreError::Invalid("activity without an action".into()));
        }
        log(action, detail)?;
        applied = true;
    }
    if applied {
        tx.prepare_cached("UPDATE incidents SET updated_ms = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id, now_ms])
            .db()?;
    }
    tx.commit().db()?;
    detail(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("incident {id}")))
}
