//! Event queries, retention.
//!
//! `query_events` drives from one index, chosen by the most selective filter
//! present: the IP runs (seg, ip) > (seg, user, ts) > flagged (ts) > (kind, ts) > (ts). The
//! other filters are "residual": evaluated per row while walking that index
//! newest first, stopping once the page is full. (An IP's runs of a segment
//! are decoded and sorted newest first, then each candidate is looked up by
//! id, which also checks the residual filters.) A residual scan is bounded
//! by [`SCAN_BUDGET`] rows and [`TIME_BUDGET`] per request: when the budget runs out before the
//! page is full, the page is returned short with a cursor at the last row
//! examined, so the caller can go on ("searched back to …"). Every request is
//! therefore bounded in time whatever the data, and the pagination has no gaps.
//!
//! Text search decision, measured with `examples/bigdb.rs` (2-core box shared
//! with two other builds, so absolute figures are pessimistic):
//! - FTS5 trigram index on `raw` (contentless, `bigdb DIR fts 500000`): the
//!   raw-only insert ran at 402k rows/s (2.5 us/row); adding the trigram index
//!   cost 62 us per row more (15k rows/s) and grew the file 79 MB -> 317 MB.
//!   The whole `ingest` costs 15-30 us per row, so FTS would cut ingest
//!   throughput by 70-80 %, far beyond the 30 % allowed. (Its queries were
//!   fast: 0.1-1.2 ms.)
//! - Bounded scan (chosen): `raw LIKE '%…%' ESCAPE '\'` as a residual filter
//!   newest first over the driving index. On 10M rows: a common substring
//!   answers its first page in 0.4-0.7 ms; combined with an IP, 20 ms; a rare
//!   or absent one stops at the time budget (250 ms) and returns a short page
//!   with a cursor to go on searching older rows (about 1M rows scanned per
//!   request when the machine is idle). LIKE is ASCII case-insensitive;
//!   wildcards in the user's text are escaped.

use super::ingest::{decode_run, field_of, ip_bytes};
use super::{SqlResult, Writer, category_of, db_err, floor_to, like_escape, limit_of};
use crate::model::*;
use crate::{Result, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

/// Rows a request may examine with residual filters before it returns a short page.
pub const SCAN_BUDGET: usize = 1_000_000;
/// Time a request may spend on residual filters before it returns a short page.
pub const TIME_BUDGET: std::time::Duration = std::time::Duration::from_millis(250);
/// IP candidates checked against the residual filters per statement.
const EVAL_CHUNK: usize = 64;
/// Rows deleted per prune transaction (the writer is released in between).
const PRUNE_CHUNK: i64 = 20_000;

/// Dictionary columns come back as their text; see [`event_row`] for the others.
const COLS: &str = "id, ts, (SELECT value FROM dict WHERE dict.id = source), \
     (SELECT value FROM dict WHERE dict.id = file), line, \
     (SELECT value FROM dict WHERE dict.id = kind), (SELECT value FROM dict WHERE dict.id = action), \
     (SELECT value FROM dict WHERE dict.id = outcome), ip, user, status, bytes, raw, rules, categories, \
     blocked, spans, method, path, query, referrer, user_agent";

/// `kind = ?` and `source = ?` on their dictionary ids.
fn dict_eq(col: &str, param: usize) -> String {
    format!("{col} = (SELECT id FROM dict WHERE value = ?{param})")
}

pub(crate) fn ip_from_blob(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        16 => <[u8; 16]>::try_from(b)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        _ => None,
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').filter(|x| !x.is_empty())
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRecord> {
    let ip: Option<Vec<u8>> = r.get(8)?;
    let raw: String = r.get(12)?;
    let rules: String = r.get(13)?;
    let cats: String = r.get(14)?;
    let spans: Option<Vec<u8>> = r.get(16)?;
    let mut sp: &[u8] = spans.as_deref().unwrap_or(&[]);
    let mut field =
        |i: usize| -> rusqlite::Result<String> { Ok(field_of(&raw, &mut sp, r.get(i)?)) };
    let (method, path, query, referrer, user_agent) =
        (field(17)?, field(18)?, field(19)?, field(20)?, field(21)?);
    let text = |i: usize| -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    Ok(EventRecord {
        id: r.get(0)?,
        ts_ms: r.get(1)?,
        source: text(2)?,
        file: text(3)?,
        line: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        kind: text(5)?,
        action: text(6)?,
        outcome: text(7)?,
        source_ip: ip.as_deref().and_then(ip_from_blob),
        user: r.get(9)?,
        method,
        path,
        query,
        status: r
            .get::<_, Option<i64>>(10)?
            .and_then(|s| u16::try_from(s).ok()),
        bytes: r
            .get::<_, Option<i64>>(11)?
            .and_then(|s| u64::try_from(s).ok()),
        referrer,
        user_agent,
        raw,
        rules: split_list(&rules).map(str::to_owned).collect(),
        categories: split_list(&cats).map(category_of).collect(),
        blocked: r.get(15)?,
    })
}

pub(crate) fn by_id(conn: &Connection, id: i64) -> Result<Option<EventRecord>> {
    conn.prepare_cached(&format!("SELECT {COLS} FROM events WHERE id = ?1"))
        .db()?
        .query_row([id], event_row)
        .optional()
        .db()
}

fn cursor_of(q: &EventQuery) -> Result<(i64, i64)> {
    match &q.page.cursor {
        None => Ok((i64::MAX, i64::MAX)),
        Some(c) => c
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| StoreError::Invalid(format!("bad cursor {c:?}"))),
    }
}

pub(crate) fn query(conn: &Connection, q: &EventQuery) -> Result<Page<EventRecord>> {
    let limit = limit_of(&q.page);
    let (mut cts, mut cid) = cursor_of(q)?;
    // The upper time bound joins the keyset bound, so the index walk starts at it
    // (as a separate `ts < ?` filter, SQLite walked down from the newest row).
    if let Some(u) = q.until_ms
        && (u, i64::MIN) < (cts, cid)
    {
        (cts, cid) = (u, i64::MIN);
    }
    let user = q.user.as_deref().filter(|u| !u.is_empty());
    let kind = q.kind.as_deref().filter(|k| !k.is_empty());
    let text = q.text.as_deref().filter(|t| !t.is_empty());
    let flagged = q.flagged || q.category.is_some();

    let mut params: Vec<Value> = vec![Value::Integer(cts), Value::Integer(cid)];
    let mut conds: Vec<String> = vec!["(ts, id) < (?1, ?2)".into()];
    let mut residual: Vec<String> = Vec::new();
    let push = |params: &mut Vec<Value>, v: Value| -> usize {
        params.push(v);
        params.len()
    };

    // The driving index and its equality. The IP and user indexes are per
    // segment: `seg` is bound per segment below.
    let mut seg_param = None;
    // By IP the candidates come from `ip_runs` (see `ip_candidates`), not from an index walk.
    let mut by_ip: Option<Vec<u8>> = None;
    let index = if let Some(ip) = q.ip {
        let mut b = [0u8; 16];
        let n = ip_bytes(&ip, &mut b);
        by_ip = Some(b[..n].to_vec());
        "ip_runs"
    } else if let Some(u) = user {
        let h = push(&mut params, Value::Integer(0));
        seg_param = Some(h - 1);
        let i = push(&mut params, Value::Text(u.to_owned()));
        conds.push(format!("seg = ?{h} AND user = ?{i} AND user != ''"));
        "events_user"
    } else if flagged {
        conds.push("flagged = 1".into());
        "events_flagged"
    } else if let Some(k) = kind {
        let i = push(&mut params, Value::Text(k.to_owned()));
        conds.push(dict_eq("kind", i));
        "events_kind"
    } else {
        "events_ts"
    };
    if let Some(s) = q.since_ms {
        let i = push(&mut params, Value::Integer(s));
        conds.push(format!("ts >= ?{i}"));
    }
    // Residual filters (those the driving index does not answer).
    if index != "events_user"
        && let Some(u) = user
    {
        let i = push(&mut params, Value::Text(u.to_owned()));
        residual.push(format!("user = ?{i}"));
    }
    if index != "events_flagged" && flagged {
        residual.push("flagged = 1".into());
    }
    if index != "events_kind"
        && let Some(k) = kind
    {
        let i = push(&mut params, Value::Text(k.to_owned()));
        residual.push(dict_eq("kind", i));
    }
    if let Some(s) = q.source.as_deref() {
        let i = push(&mut params, Value::Text(s.to_owned()));
        residual.push(dict_eq("source", i));
    }
    if let Some(s) = q.status {
        let i = push(&mut params, Value::Integer(i64::from(s)));
        residual.push(format!("status = ?{i}"));
    }
    if let Some(c) = q.status_class {
        let i = push(&mut params, Value::Integer(i64::from(c) * 100));
        residual.push(format!("status >= ?{i} AND status < ?{i} + 100"));
    }
    if let Some(c) = q.category {
        let i = push(
            &mut params,
            Value::Text(format!("%,{},%", like_escape(c.as_str()))),
        );
        residual.push(format!("categories LIKE ?{i} ESCAPE '\\'"));
    }
    if let Some(t) = text {
        let i = push(&mut params, Value::Text(format!("%{}%", like_escape(t))));
        residual.push(format!("raw LIKE ?{i} ESCAPE '\\'"));
    }
    let hit = if residual.is_empty() {
        "1".to_owned()
    } else {
        format!("({})", residual.join(") AND ("))
    };
    let sql = format!(
        "SELECT id, ts, {hit} FROM events INDEXED BY {index} WHERE {} ORDER BY ts DESC, id DESC",
        conds.join(" AND ")
    );
    // IP candidates: the residual filters of one row (none: the row exists).
    // IP candidates are checked EVAL_CHUNK at a time (one statement per
    // candidate was 10 µs each); ids past the candidates are padded with 0,
    // which no event has. Without residual filters every candidate is a hit:
    // the runs hold exactly the stored events (retention rewrites them).
    let eval_sql = format!(
        "SELECT id FROM events WHERE id IN ({}) AND {hit}",
        (params.len() + 1..=params.len() + EVAL_CHUNK)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let residual_scan = !residual.is_empty();
    let budget = if residual_scan {
        SCAN_BUDGET
    } else {
        usize::MAX
    };
    let started = std::time::Instant::now();

    // Segments (IP and user indexes: those whose time range meets the request, by
    // newest event first; else one, the whole index) with an upper bound
    // of their keys.
    let segmented = seg_param.is_some() || by_ip.is_some();
    let segments: Vec<(Option<i64>, (i64, i64))> = match segmented {
        false => vec![(None, (cts, cid))],
        true => {
            let lo = q.since_ms.unwrap_or(i64::MIN);
            event_segments(conn, lo, cts)?
                .into_iter()
                .map(|(seg, max_ts)| (Some(seg), (max_ts, i64::MAX).min((cts, cid))))
                .collect()
        }
    };

    // Hits so far, newest first. Every key not examined yet is below the
    // frontier: hits at or above it are final. Segments may overlap in time
    // (late timestamps), so a hit only counts once the frontier passed it.
    let mut hits: Vec<(i64, i64)> = Vec::with_capacity(limit + 1);
    let final_hits = |hits: &[(i64, i64)], frontier: (i64, i64)| {
        hits.iter().take_while(|h| **h >= frontier).count()
    };
    let mut frontier = (cts, cid);
    let mut exhausted = true;
    let mut scanned = 0usize;
    let since = q.since_ms.unwrap_or(i64::MIN);
    let mut st = match by_ip {
        None => Some(conn.prepare_cached(&sql).db()?),
        Some(_) => None,
    };
    let mut eval = match by_ip {
        None => None,
        Some(_) => Some(conn.prepare_cached(&eval_sql).db()?),
    };
    let mut matched: Vec<i64> = Vec::with_capacity(EVAL_CHUNK);
    let mut cands: Vec<(i64, i64, bool)> = Vec::new();
    'segments: for (k, &(seg, _)) in segments.iter().enumerate() {
        // Older segments can hold nothing above this.
        let rest = segments.get(k + 1).map_or((i64::MIN, i64::MIN), |s| s.1);
        frontier = segments[k].1.max(rest);
        if final_hits(&hits, frontier) > limit {
            exhausted = false;
            break;
        }
        if let (Some(h), Some(i)) = (seg, seg_param) {
            params[i] = Value::Integer(h);
        }
        // This segment's rows, newest first: (id, ts, hit).
        let rows: Box<dyn Iterator<Item = Result<(i64, i64, bool)>>> = match (&mut st, &mut eval) {
            (Some(st), _) => Box::new(
                st.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get::<_, Option<bool>>(2)?.unwrap_or(false),
                    ))
                })
                .db()?
                .map(|r| r.map_err(db_err)),
            ),
            (None, Some(eval)) => {
                cands.clear();
                if let (Some(h), Some(ip)) = (seg, &by_ip) {
                    ip_candidates(conn, h, ip, &mut cands)?;
                }
                cands.retain(|&(ts, id, _)| (ts, id) < (cts, cid) && ts >= since);
                cands.sort_unstable_by_key(|&(ts, id, _)| std::cmp::Reverse((ts, id)));
                let params = &params;
                let cands = &cands;
                let matched = &mut matched;
                let mut next = 0usize;
                Box::new(std::iter::from_fn(move || {
                    let &(ts, id, _) = cands.get(next)?;
                    if residual_scan && next.is_multiple_of(EVAL_CHUNK) {
                        let chunk = &cands[next..(next + EVAL_CHUNK).min(cands.len())];
                        let ids = (0..EVAL_CHUNK)
                            .map(|j| Value::Integer(chunk.get(j).map_or(0, |c| c.1)));
                        let args: Vec<Value> = params.iter().cloned().chain(ids).collect();
                        matched.clear();
                        let found = eval
                            .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>());
                        match found {
                            Ok(v) => matched.extend(v),
                            Err(e) => return Some(Err(db_err(e))),
                        }
                    }
                    next += 1;
                    Some(Ok((id, ts, !residual_scan || matched.contains(&id))))
                }))
            }
            (None, None) => Box::new(std::iter::empty()),
        };
        let mut seg_hits = 0usize;
        for row in rows {
            let (id, ts, ok) = row?;
            scanned += 1;
            frontier = (ts, id).max(rest);
            if ok {
                let at = hits.partition_point(|h| *h > (ts, id));
                hits.insert(at, (ts, id));
                hits.truncate(limit + 1);
                seg_hits += 1;
            }
            if final_hits(&hits, frontier) > limit {
                exhausted = false;
                break 'segments;
            }
            // This segment cannot add a hit above the ones kept.
            if seg_hits > limit {
                break;
            }
            if scanned >= budget
                || (residual_scan
                    && scanned.is_multiple_of(4096)
                    && started.elapsed() >= TIME_BUDGET)
            {
                exhausted = false;
                break 'segments;
            }
        }
        frontier = rest;
    }
    drop(st);
    drop(eval);
    let next_cursor = if exhausted {
        // Everything was examined: every hit is final.
        if hits.len() > limit {
            hits.truncate(limit);
            hits.last().map(|(ts, id)| format!("{ts}:{id}"))
        } else {
            None
        }
    } else {
        let n = final_hits(&hits, frontier);
        hits.truncate(n);
        if hits.len() > limit {
            hits.truncate(limit);
            hits.last().map(|(ts, id)| format!("{ts}:{id}"))
        } else {
            // Budget spent: a short page, going on below the frontier.
            Some(format!("{}:{}", frontier.0, frontier.1))
        }
    };
    let mut items = Vec::with_capacity(hits.len());
    let mut st = conn
        .prepare_cached(&format!("SELECT {COLS} FROM events WHERE id = ?1"))
        .db()?;
    for (_, id) in hits {
        if let Some(e) = st.query_row([id], event_row).optional().db()? {
            items.push(e);
        }
    }
    Ok(Page { items, next_cursor })
}

/// IP-index segments whose time range meets `lo..=hi`, with their newest
/// timestamp, newest first.
fn event_segments(conn: &Connection, lo: i64, hi: i64) -> Result<Vec<(i64, i64)>> {
    let mut st = conn
        .prepare_cached("SELECT seg, max_ts FROM segs WHERE max_ts >= ?1 AND min_ts <= ?2")
        .db()?;
    let mut v: Vec<(i64, i64)> = st
        .query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    v.sort_unstable_by_key(|b| std::cmp::Reverse((b.1, b.0)));
    Ok(v)
}

/// The events (ts, id, flagged) of `ip` in segment `seg`, from its runs.
fn ip_candidates(
    conn: &Connection,
    seg: i64,
    ip: &[u8],
    out: &mut Vec<(i64, i64, bool)>,
) -> Result<()> {
    let mut st = conn
        .prepare_cached("SELECT first_id, ts, flagged, ev FROM ip_runs WHERE seg = ?1 AND ip = ?2")
        .db()?;
    let mut rows = st.query(params![seg, ip]).db()?;
    while let Some(r) = rows.next().db()? {
        let ev = r.get_ref(3).db()?.as_blob().map_err(|e| db_err(e.into()))?;
        decode_run(r.get(0).db()?, r.get(1).db()?, r.get(2).db()?, ev, out);
    }
    Ok(())
}

pub(crate) fn ip_summary(conn: &Connection, ip: IpAddr) -> Result<IpSummary> {
    let mut b = [0u8; 16];
    let n = ip_bytes(&ip, &mut b);
    let mut s = IpSummary {
        ip: Some(ip),
        ..Default::default()
    };
    let mut evs = Vec::new();
    for (h, _) in event_segments(conn, i64::MIN, i64::MAX)? {
        evs.clear();
        ip_candidates(conn, h, &b[..n], &mut evs)?;
        for &(ts, _, flagged) in &evs {
            s.events += 1;
            s.flagged_events += u64::from(flagged);
            s.first_seen_ms = Some(s.first_seen_ms.map_or(ts, |t| t.min(ts)));
            s.last_seen_ms = Some(s.last_seen_ms.map_or(ts, |t| t.max(ts)));
        }
    }
    Ok(s)
}

pub(crate) fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'event_count'")
        .db()?
        .query_row([], |r| r.get(0))
        .db()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Delete one chunk in its own transaction; returns rows deleted.
///
/// `sql` deletes the oldest events in (ts, id) order, returning their
/// (ts, id): every event at or below the last one is then gone, and so are
/// their entries in the IP runs (rewritten here, in the same transaction).
fn prune_chunk(writer: &Mutex<Writer>, sql: &str, p: &[i64]) -> Result<u64> {
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    let tx = w.conn.transaction().db()?;
    let mut n = 0i64;
    let mut last = None;
    {
        let mut st = tx.prepare_cached(sql).db()?;
        let mut rows = st.query(rusqlite::params_from_iter(p.iter())).db()?;
        while let Some(r) = rows.next().db()? {
            let k: (i64, i64) = (r.get(0).db()?, r.get(1).db()?);
            n += 1;
            last = last.max(Some(k));
        }
    }
    if let Some(last) = last {
        super::ingest::prune_runs(&tx, last)?;
    }
    tx.prepare_cached("UPDATE meta SET value = value - ?1 WHERE key = 'event_count'")
        .db()?
        .execute([n])
        .db()?;
    tx.commit().db()?;
    Ok(n as u64)
}

pub(crate) fn prune(writer: &Mutex<Writer>, retention: &Retention, now_ms: i64) -> Result<u64> {
    super::ingest::flush_tops(&mut writer.lock().unwrap_or_else(|e| e.into_inner()))?;
    let mut total = 0u64;
    if let Some(days) = retention.max_age_days {
        let cutoff = now_ms.saturating_sub(i64::from(days).saturating_mul(86_400_000));
        loop {
            let n = prune_chunk(
                writer,
                "DELETE FROM events WHERE id IN \
                 (SELECT id FROM events INDEXED BY events_ts WHERE ts < ?1 ORDER BY ts, id LIMIT ?2) \
                 RETURNING ts, id",
                &[cutoff, PRUNE_CHUNK],
            )?;
            total += n;
            if n < PRUNE_CHUNK as u64 {
                break;
            }
        }
        let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = w.conn.transaction().db()?;
        let hour_cut = floor_to(cutoff, super::ingest::HOUR_MS);
        tx.execute(
            "DELETE FROM roll WHERE (gran = 0 AND t < ?1) OR (gran = 1 AND t < ?2)",
            params![cutoff, hour_cut],
        )
        .db()?;
        tx.execute(
            "DELETE FROM roll_cat WHERE (gran = 0 AND t < ?1) OR (gran = 1 AND t < ?2)",
            params![cutoff, hour_cut],
        )
        .db()?;
        tx.execute("DELETE FROM roll_top WHERE hour < ?1", [hour_cut])
            .db()?;
        tx.commit().map_err(db_err)?;
    }
    if let Some(max) = retention.max_events {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        loop {
            let current: i64 = {
                let w = writer.lock().unwrap_or_else(|e| e.into_inner());
                w.conn
                    .query_row(
                        "SELECT value FROM meta WHERE key = 'event_count'",
                        [],
                        |r| r.get(0),
                    )
                    .db()?
            };
            let excess = current - max;
            if excess <= 0 {
                break;
            }
            let n = prune_chunk(
                writer,
                "DELETE FROM events WHERE id IN \
                 (SELECT id FROM events INDEXED BY events_ts ORDER BY ts, id LIMIT ?1) \
                 RETURNING ts, id",
                &[excess.min(PRUNE_CHUNK)],
            )?;
            total += n;
            if n == 0 {
                break;
            }
        }
    }
    if total > 0 {
        // Segments left without events.
        let w = writer.lock().unwrap_or_else(|e| e.into_inner());
        w.conn
            .execute(
                "DELETE FROM segs WHERE seg < coalesce((SELECT min(id) FROM events) >> ?1, \
                 (SELECT max(seg) + 1 FROM segs))",
                [super::schema::SEG_SHIFT],
            )
            .db()?;
    }
    Ok(total)
}
