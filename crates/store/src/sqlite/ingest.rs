//! `Store::ingest`: one immediate transaction per batch holding the events,
//! the rollups aggregated from them in memory first, the alert deltas grouped
//! into incidents, the event counter and the checkpoints.
//!
//! Top lists (`roll_top`) are bounded regardless of input: while an hour is
//! open, once more than [`OPEN_CAP`] keys were added to one (hour, list) the
//! list is compacted to its heaviest [`KEEP_OPEN`] keys; when the hour closes
//! (a later hour has been seen and the batch did not touch it) it is
//! compacted to [`KEEP_CLOSED`]. Compaction drops every key whose count is at
//! or below the count of the first key beyond the limit, so ties are dropped
//! together (a scanner's million count-1 paths all go). This is lossy
//! counting: a key dropped and seen again restarts from zero, so counts of
//! keys near the cut are lower bounds; the heavy hitters a dashboard shows are
//! exact unless they were once below the cut.

use super::schema::SEG_SHIFT;
use super::{
    SqlResult, Writer, db_err, floor_to, severity_of, severity_rank, status_of, status_rank,
};
use crate::Result;
use crate::model::*;
use hashbrown::HashMap;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use secmo_detect::alerts::keep_first_and_last_evidence;
use secmo_detect::report::Evidence;
use std::fmt::Write as _;
use std::net::IpAddr;

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;
/// Keys added to an open hour's list before it is compacted.
const OPEN_CAP: u32 = 8_000;
/// Keys kept per open hour and list after a compaction.
const KEEP_OPEN: i64 = 1_000;
/// Keys kept per closed hour and list.
pub(crate) const KEEP_CLOSED: i64 = 500;

pub(crate) const DIM_IP: i64 = 0;
pub(crate) const DIM_PATH: i64 = 1;
pub(crate) const DIM_REFERRER: i64 = 2;
pub(crate) const DIM_ATTACKER: i64 = 3;

/// Hours whose top lists received keys since their last compaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct TopState {
    /// (hour, dim) → keys upserted since the last compaction (upper bound of rows added).
    added: std::collections::HashMap<(i64, i64), u32>,
    /// The latest hour seen.
    max_hour: i64,
}

const EVENT_COLS: &str = "ts, seg, id, source, file, line, kind, action, outcome, ip, user, status, bytes, \
     raw, rules, categories, flagged, blocked, spans, method, path, query, referrer, user_agent";
/// Values per row in [`EVENT_COLS`].
const EVENT_PARAMS: usize = 24;
/// Rows per multi-row INSERT: the statement's cursors stay open from row to
/// row, so appends to the table and to the time-ordered indexes skip the
/// descent from the root, and the per-statement work is paid once. `OR FAIL`
/// (not the default ABORT, which undoes the statement's earlier rows) spares
/// SQLite a statement journal: a failed row fails the whole batch anyway.
const ROWS_PER_INSERT: usize = 32;

fn insert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; EVENT_PARAMS].join(", "));
    format!(
        "INSERT OR FAIL INTO events ({EVENT_COLS}) VALUES {}",
        vec![one.as_str(); rows].join(", ")
    )
}

/// Ids of the `dict` values (source, file, kind, action, outcome), cached.
/// Ids created by a transaction are cached once it commits.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    ids: HashMap<String, i64>,
    fresh: HashMap<String, i64>,
}

/// Values cached at most (the table itself keeps them all).
const DICT_CACHE: usize = 16_384;

impl Dict {
    fn id(&mut self, tx: &Transaction<'_>, value: &str) -> Result<i64> {
        if let Some(&id) = self.ids.get(value).or_else(|| self.fresh.get(value)) {
            return Ok(id);
        }
        tx.prepare_cached("INSERT OR IGNORE INTO dict (value) VALUES (?1)")
            .db()?
            .execute([value])
            .db()?;
        let id: i64 = tx
            .prepare_cached("SELECT id FROM dict WHERE value = ?1")
            .db()?
            .query_row([value], |r| r.get(0))
            .db()?;
        self.fresh.insert(value.to_owned(), id);
        Ok(id)
    }

    fn committed(&mut self) {
        if self.ids.len() + self.fresh.len() > DICT_CACHE {
            self.ids.clear();
        }
        self.ids.extend(self.fresh.drain());
    }

    fn rolled_back(&mut self) {
        self.fresh.clear();
    }
}

/// The last value looked up per dictionary column (most rows repeat it).
#[derive(Default)]
struct Memo<'b>(Option<(&'b str, i64)>);

impl<'b> Memo<'b> {
    fn id(&mut self, dict: &mut Dict, tx: &Transaction<'_>, value: &'b str) -> Result<i64> {
        if let Some((v, id)) = self.0
            && v == value
        {
            return Ok(id);
        }
        let id = dict.id(tx, value)?;
        self.0 = Some((value, id));
        Ok(id)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn get_varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&x, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(x & 0x7f) << shift;
        if x < 0x80 {
            return Some(v);
        }
    }
    None
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// One event of a batch for the IP runs (schema V4).
struct RunEntry {
    seg: i64,
    ip: [u8; 16],
    ip_len: u8,
    id: i64,
    ts: i64,
    flagged: bool,
}

impl RunEntry {
    fn ip(&self) -> &[u8] {
        &self.ip[..usize::from(self.ip_len)]
    }
}

/// `ev` of a run: every event after the first (see schema V4).
fn encode_run(run: &[RunEntry], out: &mut Vec<u8>) {
    out.clear();
    for w in run.windows(2) {
        let (prev, e) = (&w[0], &w[1]);
        put_varint(
            out,
            ((e.id.wrapping_sub(prev.id) as u64) << 1) | u64::from(e.flagged),
        );
        put_varint(out, zigzag(e.ts.wrapping_sub(prev.ts)));
    }
}

/// The events (ts, id, flagged) of a run, appended to `out`. A malformed
/// `ev` (a damaged file) ends the run where it stops making sense.
pub(crate) fn decode_run(
    first_id: i64,
    ts: i64,
    flagged: bool,
    mut ev: &[u8],
    out: &mut Vec<(i64, i64, bool)>,
) {
    let (mut id, mut t) = (first_id, ts);
    out.push((t, id, flagged));
    while !ev.is_empty() {
        let (Some(d), Some(dt)) = (get_varint(&mut ev), get_varint(&mut ev)) else {
            return;
        };
        id = id.wrapping_add((d >> 1) as i64);
        t = t.wrapping_add(unzigzag(dt));
        out.push((t, id, d & 1 == 1));
    }
}

/// Where `field` is in `raw` (a byte offset), if it is.
fn locate(raw: &str, field: &str, from: usize) -> Option<usize> {
    // Parsers return slices of the line: then the field is where it points.
    let off = (field.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize);
    if off <= raw.len() && raw.get(off..off + field.len()) == Some(field) {
        return Some(off);
    }
    let hay = raw.as_bytes();
    let from = from.min(hay.len());
    memchr::memmem::find(&hay[from..], field.as_bytes())
        .map(|o| o + from)
        .or_else(|| memchr::memmem::find(&hay[..from], field.as_bytes()))
        .filter(|&o| raw.is_char_boundary(o) && raw.is_char_boundary(o + field.len()))
}

/// Encode `fields` as spans of `raw` (see schema V3); those not found in
/// `raw` are returned for their own columns.
fn spans<'f>(raw: &str, fields: [&'f str; 5], out: &mut Vec<u8>) -> [Option<&'f str>; 5] {
    out.clear();
    let mut cols = [None; 5];
    let mut from = 0;
    for (f, col) in fields.into_iter().zip(cols.iter_mut()) {
        match (!f.is_empty()).then(|| locate(raw, f, from)) {
            None => put_varint(out, 0),
            Some(Some(off)) => {
                put_varint(out, f.len() as u64);
                put_varint(out, off as u64);
                from = off + f.len();
            }
            Some(None) => {
                put_varint(out, 0);
                *col = Some(f);
            }
        }
    }
    cols
}

/// The inverse of [`spans`]: a field is its column if set, else its span of `raw`.
pub(crate) fn field_of(raw: &str, spans: &mut &[u8], col: Option<String>) -> String {
    let len = get_varint(spans).unwrap_or(0) as usize;
    let off = if len > 0 {
        get_varint(spans).unwrap_or(0) as usize
    } else {
        0
    };
    match col {
        Some(c) => c,
        None if len == 0 => String::new(),
        None => off
            .checked_add(len)
            .and_then(|end| raw.get(off..end))
            .unwrap_or("")
            .to_owned(),
    }
}

pub(crate) fn ip_bytes(ip: &IpAddr, buf: &mut [u8; 16]) -> usize {
    match ip {
        IpAddr::V4(a) => {
            buf[..4].copy_from_slice(&a.octets());
            4
        }
        IpAddr::V6(a) => {
            buf.copy_from_slice(&a.octets());
            16
        }
    }
}

pub(crate) fn status_class(status: Option<u16>) -> i64 {
    match status {
        Some(s @ 100..=599) => i64::from(s / 100),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_keys_are_display() {
        let mut k = String::new();
        for ip in [
            "0.0.0.0",
            "10.0.0.5",
            "255.255.255.255",
            "192.168.100.9",
            "::1",
            "2001:db8::7",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            ip_key(&ip, &mut k);
            assert_eq!(k, ip.to_string());
        }
    }

    /// The top-list flush as it was before the in-memory merge: every key
    /// upserted, then each list over its bound compacted in SQL. The oracle
    /// for `write_tops`.
    fn write_tops_upsert_then_compact(
        tx: &Transaction<'_>,
        pending: &PendingTops,
        bt: &BatchTops<'_>,
        tops: &mut TopState,
    ) {
        let mut touched = std::collections::HashSet::new();
        let mut put = |hour: i64, dim: i64, k: &str, n: i64, in_batch: bool| {
            tx.execute(
                "INSERT INTO roll_top (hour, dim, key, count) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (hour, dim, key) DO UPDATE SET count = count + excluded.count",
                params![hour, dim, k, n],
            )
            .expect("upsert");
            *tops.added.entry((hour, dim)).or_default() += 1;
            if in_batch {
                touched.insert((hour, dim));
            }
        };
        let mut key = String::new();
        for (&(hour, dim, ip), &n) in &pending.ips {
            ip_key(&ip, &mut key);
            put(hour, dim, &key, n, false);
        }
        for (&(hour, dim), list) in &pending.keys {
            for (k, &n) in list {
                put(hour, dim, k, n, false);
            }
        }
        for (dim, map) in [(DIM_IP, &bt.ips), (DIM_ATTACKER, &bt.attackers)] {
            for (&(hour, ip), &n) in map {
                ip_key(&ip, &mut key);
                put(hour, dim, &key, n, true);
            }
        }
        for (&(hour, k), &n) in &bt.paths {
            put(hour, DIM_PATH, k, n, true);
        }
        let max_hour = tops.max_hour;
        let mut done = Vec::new();
        for (&(hour, dim), added) in tops.added.iter_mut() {
            if hour < max_hour && !touched.contains(&(hour, dim)) {
                compact(tx, hour, dim, KEEP_CLOSED).expect("compact");
                done.push((hour, dim));
            } else if *added > OPEN_CAP {
                compact(tx, hour, dim, KEEP_OPEN).expect("compact");
                *added = 0;
            }
        }
        for k in done {
            tops.added.remove(&k);
        }
    }

    /// Merging in memory leaves exactly the rows (and compaction state) that
    /// upserting everything and compacting in SQL leaves: skewed counts with
    /// many ties at the cut, keys both pending and in the batch, hours that
    /// stay open through their own keys and hours that close.
    #[test]
    fn merged_top_list_flush_matches_upsert_then_compact() {
        let db = || {
            let c = Connection::open_in_memory().expect("db");
            for m in super::super::schema::MIGRATIONS {
                c.execute_batch(m).expect("schema");
            }
            c
        };
        let (mut a, mut b) = (db(), db());
        let (mut ta, mut tb) = (TopState::default(), TopState::default());
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let paths: Vec<String> = (0..30_000).map(|i| format!("/p/{i}")).collect();
        let rows = |c: &Connection| -> Vec<(i64, i64, String, i64)> {
            c.prepare("SELECT hour, dim, key, count FROM roll_top ORDER BY hour, dim, key")
                .expect("select")
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        let mut compacted = 0;
        for round in 0..40i64 {
            let hour = (round / 8) * HOUR_MS;
            // Pending counts of this hour and, now and then, of the hour before.
            let mut pending = PendingTops::default();
            for _ in 0..2_000 {
                let h = if round % 8 == 1 && rnd(4) == 0 {
                    hour - HOUR_MS
                } else {
                    hour
                };
                let k = &paths[(rnd(30_000) * rnd(30_000) / 30_000) as usize];
                *pending
                    .keys
                    .entry((h, DIM_PATH))
                    .or_default()
                    .entry(k.clone())
                    .or_default() += 1 + rnd(100) as i64;
                let ip = IpAddr::from([10, 0, (rnd(40) as u8), rnd(250) as u8]);
                *pending.ips.entry((h, DIM_IP, ip)).or_default() += 1 + rnd(2) as i64;
            }
            let mut bt = BatchTops::default();
            for _ in 0..3_000 {
                // The batch sometimes touches the previous hour (late lines).
                let h = if round % 8 == 2 && rnd(10) == 0 {
                    hour - HOUR_MS
                } else {
                    hour
                };
                let k = paths[(rnd(30_000) * rnd(30_000) / 30_000) as usize].as_str();
                *bt.paths.entry((h, k)).or_default() += 1;
                let ip = IpAddr::from([10, 0, (rnd(40) as u8), rnd(250) as u8]);
                *bt.ips.entry((h, ip)).or_default() += 1;
                if rnd(20) == 0 {
                    *bt.attackers.entry((h, ip)).or_default() += 1;
                }
            }
            for (c, t, merged) in [(&mut a, &mut ta, true), (&mut b, &mut tb, false)] {
                t.max_hour = t.max_hour.max(hour);
                let tx = c.transaction().expect("tx");
                if merged {
                    write_tops(&tx, &pending, Some(&bt), t).expect("write_tops");
                } else {
                    write_tops_upsert_then_compact(&tx, &pending, &bt, t);
                }
                tx.commit().expect("commit");
            }
            let (ra, rb) = (rows(&a), rows(&b));
            assert_eq!(ra.len(), rb.len(), "round {round}");
            assert!(ra == rb, "round {round}: rows differ");
            let mut added_a: Vec<_> = ta.added.iter().map(|(k, v)| (*k, *v)).collect();
            let mut added_b: Vec<_> = tb.added.iter().map(|(k, v)| (*k, *v)).collect();
            added_a.sort_unstable();
            added_b.sort_unstable();
            assert_eq!(added_a, added_b, "round {round}");
            compacted += added_a.iter().filter(|(_, v)| *v == 0).count();
        }
        // The case this is about happened: lists were compacted.
        assert!(compacted > 0);
        let closed = rows(&a)
            .iter()
            .filter(|r| r.0 == 0 && r.1 == DIM_PATH)
            .count() as i64;
        assert!(closed > 0 && closed <= KEEP_CLOSED, "{closed}");
    }

    #[test]
    fn fields_round_trip_as_spans_or_columns() {
        let raw = "1.2.3.4 - - [x] \"GET /a/b?q=1 HTTP/1.1\" 200 5 \"-\" \"curl/8\"";
        let owned = String::from("/a/b");
        let cases: [[&str; 5]; 4] = [
            ["GET", "/a/b", "q=1", "-", "curl/8"],
            ["GET", owned.as_str(), "", "", "curl/8"],
            ["POST", "/zz", "", "ü", ""],
            ["", "", "", "", ""],
        ];
        let mut buf = Vec::new();
        for fields in cases {
            let cols = spans(raw, fields, &mut buf);
            let mut sp = buf.as_slice();
            for (f, c) in fields.iter().zip(cols) {
                assert_eq!(field_of(raw, &mut sp, c.map(str::to_owned)), *f);
            }
            assert!(sp.is_empty());
        }
        // Found in the line: no columns.
        assert_eq!(spans(raw, cases[0], &mut buf), [None; 5]);
        let mut long = Vec::new();
        put_varint(&mut long, 300);
        put_varint(&mut long, u64::MAX);
        let mut sp = long.as_slice();
        assert_eq!(get_varint(&mut sp), Some(300));
        assert_eq!(get_varint(&mut sp), Some(u64::MAX));
    }
}

fn sat(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[derive(Default, Clone, Copy)]
struct Roll {
    events: i64,
    flagged: i64,
    bytes: i64,
}

pub(crate) fn ingest(w: &mut Writer, batch: &IngestBatch<'_>) -> Result<IngestOutcome> {
    let Writer {
        conn,
        tops: state,
        pending,
        dict,
    } = w;
    let result = ingest_tx(conn, state, pending, dict, batch);
    match result {
        Ok(_) => dict.committed(),
        Err(_) => dict.rolled_back(),
    }
    result
}

fn ingest_tx(
    conn: &mut Connection,
    state: &mut TopState,
    pending: &mut PendingTops,
    dict: &mut Dict,
    batch: &IngestBatch<'_>,
) -> Result<IngestOutcome> {
    let mut tops = state.clone();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let (first_event_id, bt) = insert_events(&tx, dict, batch)?;
    if let Some(max_ts) = batch.events.iter().map(|e| e.ts_ms).max() {
        tops.max_hour = tops.max_hour.max(floor_to(max_ts, HOUR_MS));
    }
    let flush = pending.len + bt.len() > PENDING_KEYS
        || pending.since.is_some_and(|t| t.elapsed() >= PENDING_FOR);
    if flush {
        write_tops(&tx, pending, Some(&bt), &mut tops)?;
    }
    let mut incidents = Vec::with_capacity(batch.alerts.len());
    for d in batch.alerts {
        incidents.push(apply_delta(&tx, d, batch).map_err(db_err)?);
    }
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO checkpoints (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .db()?;
        for (k, v) in batch.checkpoints {
            st.execute(params![k, v]).db()?;
        }
    }
    tx.commit().db()?;
    *state = tops;
    if flush {
        pending.clear();
    } else {
        pending.add(&bt);
    }
    Ok(IngestOutcome {
        first_event_id,
        events: batch.events.len() as u64,
        incidents,
    })
}

/// Write the pending top-list counts (before `stats` reads them, before
/// pruning, and when the writer closes).
pub(crate) fn flush_tops(w: &mut Writer) -> Result<()> {
    if w.pending.len == 0 {
        return Ok(());
    }
    let mut tops = w.tops.clone();
    let tx = w
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    write_tops(&tx, &w.pending, None, &mut tops)?;
    tx.commit().db()?;
    w.tops = tops;
    w.pending.clear();
    Ok(())
}

/// Top-list counts of one batch.
#[derive(Default)]
struct BatchTops<'b> {
    ips: HashMap<(i64, IpAddr), i64>,
    attackers: HashMap<(i64, IpAddr), i64>,
    paths: HashMap<(i64, &'b str), i64>,
    referrers: HashMap<(i64, &'b str), i64>,
}

impl BatchTops<'_> {
    fn len(&self) -> usize {
        self.ips.len() + self.attackers.len() + self.paths.len() + self.referrers.len()
    }
}

/// Top-list counts of committed batches not written yet: upserting every
/// batch's keys was a quarter of `ingest`'s time (thousands of upserts per
/// 4096 rows); summed over [`PENDING_FOR`] most keys repeat. A crash loses
/// at most that much of the (already lossy) top lists, never events.
#[derive(Debug, Default)]
pub(crate) struct PendingTops {
    /// (hour, dim, ip) → count.
    ips: HashMap<(i64, i64, IpAddr), i64>,
    /// (hour, dim) → key → count.
    keys: HashMap<(i64, i64), HashMap<String, i64>>,
    len: usize,
    since: Option<std::time::Instant>,
}

/// Pending keys before they are written.
const PENDING_KEYS: usize = 100_000;
/// Age of the oldest pending count before they are written.
const PENDING_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl PendingTops {
    fn clear(&mut self) {
        self.ips.clear();
        self.keys.clear();
        self.len = 0;
        self.since = None;
    }

    fn add(&mut self, bt: &BatchTops<'_>) {
        for (dim, map) in [(DIM_IP, &bt.ips), (DIM_ATTACKER, &bt.attackers)] {
            for (&(hour, ip), &n) in map {
                let c = self.ips.entry((hour, dim, ip)).or_insert_with(|| {
                    self.len += 1;
                    0
                });
                *c += n;
            }
        }
        for (dim, map) in [(DIM_PATH, &bt.paths), (DIM_REFERRER, &bt.referrers)] {
            for (&(hour, k), &n) in map {
                let list = self.keys.entry((hour, dim)).or_default();
                match list.get_mut(k) {
                    Some(c) => *c += n,
                    None => {
                        list.insert(k.to_owned(), n);
                        self.len += 1;
                    }
                }
            }
        }
        if self.len > 0 && self.since.is_none() {
            self.since = Some(std::time::Instant::now());
        }
    }
}

/// `ip` as text into `key` (IPv4 without `fmt`: this runs for every key of
/// every top-list flush).
fn ip_key(ip: &IpAddr, key: &mut String) {
    key.clear();
    match ip {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    key.push('.');
                }
                if o >= 100 {
                    key.push(char::from(b'0' + o / 100));
                }
                if o >= 10 {
                    key.push(char::from(b'0' + o / 10 % 10));
                }
                key.push(char::from(b'0' + o % 10));
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(key, "{ip}");
        }
    }
}

/// One (hour, list)'s keys in a top-list flush.
#[derive(Default)]
struct FlushList<'k> {
    keys: HashMap<std::borrow::Cow<'k, str>, i64>,
    /// Upserts the unbatched algorithm would run (a key in both the pending
    /// counts and the batch counts twice): `TopState::added` counts these.
    puts: u32,
    /// Keys of the batch itself (they keep an earlier hour open).
    touched: bool,
}

/// Upsert pending and batch top-list counts, then compact the lists over their bounds.
///
/// The outcome is that of upserting every key and then running [`compact`]
/// on each list over its bound, but a list that is compacted in this flush
/// is merged in memory first: its stored counts are read once, the cut is
/// computed on the merged counts, and only the keys above the cut are
/// written. (A scanner's or a busy hour's tens of thousands of new keys were
/// upserted, then deleted again by the compaction: 13 % of `ingest`'s time.)
fn write_tops(
    tx: &Transaction<'_>,
    pending: &PendingTops,
    bt: Option<&BatchTops<'_>>,
    tops: &mut TopState,
) -> Result<()> {
    fn add<'k>(
        lists: &mut HashMap<(i64, i64), FlushList<'k>>,
        (hour, dim): (i64, i64),
        k: std::borrow::Cow<'k, str>,
        n: i64,
        in_batch: bool,
    ) {
        let l = lists.entry((hour, dim)).or_default();
        *l.keys.entry(k).or_default() += n;
        l.puts += 1;
        l.touched |= in_batch;
    }
    let mut lists: HashMap<(i64, i64), FlushList<'_>> = HashMap::new();
    let mut key = String::new();
    for (&(hour, dim, ip), &n) in &pending.ips {
        ip_key(&ip, &mut key);
        add(&mut lists, (hour, dim), key.clone().into(), n, false);
    }
    for (&(hour, dim), list) in &pending.keys {
        for (k, &n) in list {
            add(&mut lists, (hour, dim), k.as_str().into(), n, false);
        }
    }
    if let Some(bt) = bt {
        for (dim, map) in [(DIM_IP, &bt.ips), (DIM_ATTACKER, &bt.attackers)] {
            for (&(hour, ip), &n) in map {
                ip_key(&ip, &mut key);
                add(&mut lists, (hour, dim), key.clone().into(), n, true);
            }
        }
        for (dim, map) in [(DIM_PATH, &bt.paths), (DIM_REFERRER, &bt.referrers)] {
            for (&(hour, k), &n) in map {
                add(&mut lists, (hour, dim), (*k).into(), n, true);
            }
        }
    }

    let max_hour = tops.max_hour;
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO roll_top (hour, dim, key, count) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (hour, dim, key) DO UPDATE SET count = count + excluded.count",
        )
        .db()?;
    let mut stored = tx
        .prepare_cached("SELECT key, count FROM roll_top WHERE hour = ?1 AND dim = ?2")
        .db()?;
    let mut counts: Vec<i64> = Vec::new();
    for (&(hour, dim), list) in &lists {
        let added = tops.added.get(&(hour, dim)).copied().unwrap_or(0) + list.puts;
        // The same rule as for the lists not in this flush, below.
        let keep = if hour < max_hour && !list.touched {
            tops.added.remove(&(hour, dim));
            Some(KEEP_CLOSED)
        } else if added > OPEN_CAP {
            tops.added.insert((hour, dim), 0);
            Some(KEEP_OPEN)
        } else {
            tops.added.insert((hour, dim), added);
            None
        };
        let Some(keep) = keep else {
            for (k, &n) in &list.keys {
                upsert.execute(params![hour, dim, k.as_ref(), n]).db()?;
            }
            continue;
        };
        // Merged counts: the stored ones plus this flush's.
        let mut old: HashMap<String, i64> = HashMap::new();
        let mut rows = stored.query(params![hour, dim]).db()?;
        while let Some(r) = rows.next().db()? {
            old.insert(r.get(0).db()?, r.get(1).db()?);
        }
        counts.clear();
        counts.extend(
            old.iter()
                .filter(|(k, _)| !list.keys.contains_key(k.as_str()))
                .map(|(_, &c)| c),
        );
        counts.extend(
            list.keys
                .iter()
                .map(|(k, &n)| old.get(k.as_ref()).copied().unwrap_or(0) + n),
        );
        // As `compact`: drop every key at or below the count of the one at
        // offset `keep` in descending order (none if there are not more).
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let cut = (counts.len() > keep).then(|| {
            let (_, c, _) = counts.select_nth_unstable_by(keep, |a, b| b.cmp(a));
            *c
        });
        for (k, &n) in &list.keys {
            let total = old.get(k.as_ref()).copied().unwrap_or(0) + n;
            if cut.is_none_or(|c| total > c) {
                upsert.execute(params![hour, dim, k.as_ref(), n]).db()?;
            }
        }
        // Stored keys at or below the cut (their stored count is at most
        // their merged one), whether this flush had counts for them or not.
        if let Some(c) = cut {
            tx.prepare_cached("DELETE FROM roll_top WHERE hour = ?1 AND dim = ?2 AND count <= ?3")
                .db()?
                .execute(params![hour, dim, c])
                .db()?;
        }
    }
    // Lists with no keys in this flush.
    let mut done = Vec::new();
    for (&(hour, dim), added) in tops.added.iter_mut() {
        if lists.contains_key(&(hour, dim)) {
            continue;
        }
        if hour < max_hour {
            compact(tx, hour, dim, KEEP_CLOSED).db()?;
            done.push((hour, dim));
        } else if *added > OPEN_CAP {
            compact(tx, hour, dim, KEEP_OPEN).db()?;
            *added = 0;
        }
    }
    for k in done {
        tops.added.remove(&k);
    }
    Ok(())
}

fn insert_events<'b>(
    tx: &Transaction<'_>,
    dict: &mut Dict,
    batch: &'b IngestBatch<'b>,
) -> Result<(i64, BatchTops<'b>)> {
    let mut bt = BatchTops::default();
    if batch.events.is_empty() {
        return Ok((0, bt));
    }
    let mut rolls: HashMap<(i64, &str, i64), Roll> = HashMap::new();
    let mut cats: HashMap<(i64, &'static str), i64> = HashMap::new();
    let mut rules_buf = String::new();
    let mut cats_buf = String::new();
    let mut spans_buf: Vec<u8> = Vec::with_capacity(32);
    let mut memo: [Memo<'b>; 5] = Default::default();
    // Ids are assigned here (as SQLite would: max + 1) so each row knows its segment.
    let first_id: i64 = tx
        .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM events")
        .db()?
        .query_row([], |r| r.get(0))
        .db()?;
    // (seg, min ts, max ts) of the segments this batch writes to.
    let mut segs: Vec<(i64, i64, i64)> = Vec::with_capacity(2);
    let mut runs: Vec<RunEntry> = Vec::with_capacity(batch.events.len());
    {
        let n = batch.events.len();
        let full = n - n % ROWS_PER_INSERT;
        let mut many = tx.prepare_cached(&insert_sql(ROWS_PER_INSERT)).db()?;
        let mut one = tx.prepare_cached(&insert_sql(1)).db()?;
        for (i, e) in batch.events.iter().enumerate() {
            let id = first_id + i as i64;
            let seg = id >> SEG_SHIFT;
            match segs.last_mut() {
                Some(s) if s.0 == seg => {
                    s.1 = s.1.min(e.ts_ms);
                    s.2 = s.2.max(e.ts_ms);
                }
                _ => segs.push((seg, e.ts_ms, e.ts_ms)),
            }
            let flagged = !e.rules.is_empty();
            rules_buf.clear();
            cats_buf.clear();
            if flagged {
                rules_buf.push(',');
                for r in e.rules {
                    rules_buf.push_str(r);
                    rules_buf.push(',');
                }
            }
            if !e.categories.is_empty() {
                cats_buf.push(',');
                for c in e.categories {
                    cats_buf.push_str(c.as_str());
                    cats_buf.push(',');
                }
            }
            let mut ipbuf = [0u8; 16];
            let ip = e.source_ip.as_ref().map(|ip| {
                let n = ip_bytes(ip, &mut ipbuf);
                runs.push(RunEntry {
                    seg,
                    ip: ipbuf,
                    ip_len: n as u8,
                    id,
                    ts: e.ts_ms,
                    flagged,
                });
                &ipbuf[..n]
            });
            let [m_source, m_file, m_kind, m_action, m_outcome] = &mut memo;
            let source = m_source.id(dict, tx, e.source)?;
            let file = m_file.id(dict, tx, e.file)?;
            let kind = m_kind.id(dict, tx, e.kind)?;
            let action = m_action.id(dict, tx, e.action)?;
            let outcome = m_outcome.id(dict, tx, e.outcome)?;
            let cols = spans(
                e.raw,
                [e.method, e.path, e.query, e.referrer, e.user_agent],
                &mut spans_buf,
            );
            let (st, base) = if i < full {
                (&mut many, (i % ROWS_PER_INSERT) * EVENT_PARAMS)
            } else {
                (&mut one, 0)
            };
            let mut k = base;
            let mut bind = |v: &dyn rusqlite::ToSql| -> Result<()> {
                k += 1;
                st.raw_bind_parameter(k, v).db()
            };
            bind(&e.ts_ms)?;
            bind(&seg)?;
            bind(&id)?;
            bind(&source)?;
            bind(&file)?;
            bind(&sat(e.line))?;
            bind(&kind)?;
            bind(&action)?;
            bind(&outcome)?;
            bind(&ip)?;
            bind(&e.user)?;
            bind(&e.status)?;
            bind(&e.bytes.map(sat))?;
            bind(&e.raw)?;
            bind(&rules_buf.as_str())?;
            bind(&cats_buf.as_str())?;
            bind(&flagged)?;
            bind(&e.blocked)?;
            bind(&spans_buf.as_slice())?;
            for c in cols {
                bind(&c)?;
            }
            if k == EVENT_PARAMS * if i < full { ROWS_PER_INSERT } else { 1 } {
                st.raw_execute().db()?;
            }

            // Rollups, aggregated per batch.
            let minute = floor_to(e.ts_ms, MINUTE_MS);
            let hour = floor_to(e.ts_ms, HOUR_MS);
            let r = rolls
                .entry((minute, e.kind, status_class(e.status)))
                .or_default();
            r.events += 1;
            r.flagged += i64::from(flagged);
            r.bytes = r.bytes.saturating_add(e.bytes.map(sat).unwrap_or(0));
            if flagged {
                for (j, c) in e.categories.iter().enumerate() {
                    if !e.categories[..j].contains(c) {
                        *cats.entry((minute, c.as_str())).or_default() += 1;
                    }
                }
            }
            if let Some(ip) = e.source_ip {
                *bt.ips.entry((hour, ip)).or_default() += 1;
                if flagged {
                    *bt.attackers.entry((hour, ip)).or_default() += 1;
                }
            }
            if !e.path.is_empty() {
                *bt.paths.entry((hour, e.path)).or_default() += 1;
            }
            if !e.referrer.is_empty() && e.referrer != "-" {
                *bt.referrers.entry((hour, e.referrer)).or_default() += 1;
            }
        }
    }

    // IP runs, in key order (stable: ids stay ascending within a run).
    runs.sort_by(|a, b| (a.seg, a.ip()).cmp(&(b.seg, b.ip())));
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO ip_runs (seg, ip, first_id, ts, flagged, ev) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .db()?;
        let mut ev = Vec::new();
        for run in runs.chunk_by(|a, b| a.seg == b.seg && a.ip() == b.ip()) {
            encode_run(run, &mut ev);
            let e = &run[0];
            st.execute(params![e.seg, e.ip(), e.id, e.ts, e.flagged, ev])
                .db()?;
        }
    }

    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO segs (seg, min_ts, max_ts) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (seg) DO UPDATE SET min_ts = min(min_ts, excluded.min_ts), \
                 max_ts = max(max_ts, excluded.max_ts)",
            )
            .db()?;
        for (seg, lo, hi) in segs {
            st.execute(params![seg, lo, hi]).db()?;
        }
    }

    // Minute and hour rollups.
    let mut hours: HashMap<(i64, &str, i64), Roll> = HashMap::new();
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO roll (gran, t, kind, class, events, flagged, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (gran, t, kind, class) DO UPDATE SET events = events + excluded.events, \
                 flagged = flagged + excluded.flagged, bytes = bytes + excluded.bytes",
            )
            .db()?;
        for (&(minute, kind, class), r) in &rolls {
            st.execute(params![
                0, minute, kind, class, r.events, r.flagged, r.bytes
            ])
            .db()?;
            let h = hours
                .entry((floor_to(minute, HOUR_MS), kind, class))
                .or_default();
            h.events += r.events;
            h.flagged += r.flagged;
            h.bytes = h.bytes.saturating_add(r.bytes);
        }
        for (&(hour, kind, class), r) in &hours {
            st.execute(params![1, hour, kind, class, r.events, r.flagged, r.bytes])
                .db()?;
        }
    }
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO roll_cat (gran, t, category, count) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (gran, t, category) DO UPDATE SET count = count + excluded.count",
            )
            .db()?;
        let mut hcats: HashMap<(i64, &str), i64> = HashMap::new();
        for (&(minute, cat), &n) in &cats {
            st.execute(params![0, minute, cat, n]).db()?;
            *hcats.entry((floor_to(minute, HOUR_MS), cat)).or_default() += n;
        }
        for (&(hour, cat), &n) in &hcats {
            st.execute(params![1, hour, cat, n]).db()?;
        }
    }

    tx.prepare_cached("UPDATE meta SET value = value + ?1 WHERE key = 'event_count'")
        .db()?
        .execute([batch.events.len() as i64])
        .db()?;
    Ok((first_id, bt))
}

/// Drop the events at or below `last` (ts, id) from the IP runs: retention
/// deleted every event up to there. Runs of segments that may hold such
/// events are decoded and rewritten without them (or deleted when empty).
pub(crate) fn prune_runs(tx: &Transaction<'_>, last: (i64, i64)) -> Result<()> {
    let segs: Vec<i64> = tx
        .prepare_cached("SELECT seg FROM segs WHERE min_ts <= ?1")
        .db()?
        .query_map([last.0], |r| r.get(0))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    let mut evs = Vec::new();
    // (ip, first id) of runs to delete; runs to write instead.
    let mut gone: Vec<(Vec<u8>, i64)> = Vec::new();
    let mut kept: Vec<RunEntry> = Vec::new();
    for seg in segs {
        gone.clear();
        kept.clear();
        {
            let mut st = tx
                .prepare_cached("SELECT ip, first_id, ts, flagged, ev FROM ip_runs WHERE seg = ?1")
                .db()?;
            let mut rows = st.query([seg]).db()?;
            while let Some(r) = rows.next().db()? {
                let ip = r.get_ref(0).db()?.as_blob().map_err(|e| db_err(e.into()))?;
                let first_id: i64 = r.get(1).db()?;
                let ev = r.get_ref(4).db()?.as_blob().map_err(|e| db_err(e.into()))?;
                evs.clear();
                decode_run(first_id, r.get(2).db()?, r.get(3).db()?, ev, &mut evs);
                if evs.iter().all(|&(ts, id, _)| (ts, id) > last) {
                    continue;
                }
                gone.push((ip.to_vec(), first_id));
                let mut buf = [0u8; 16];
                let len = ip.len().min(16);
                buf[..len].copy_from_slice(&ip[..len]);
                for &(ts, id, flagged) in evs.iter().filter(|&&(ts, id, _)| (ts, id) > last) {
                    kept.push(RunEntry {
                        seg,
                        ip: buf,
                        ip_len: len as u8,
                        id,
                        ts,
                        flagged,
                    });
                }
            }
        }
        let mut del = tx
            .prepare_cached("DELETE FROM ip_runs WHERE seg = ?1 AND ip = ?2 AND first_id = ?3")
            .db()?;
        for (ip, first_id) in &gone {
            del.execute(params![seg, ip, first_id]).db()?;
        }
        let mut ins = tx
            .prepare_cached(
                "INSERT INTO ip_runs (seg, ip, first_id, ts, flagged, ev) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .db()?;
        let mut ev = Vec::new();
        // `kept` holds each old run's survivors in id order, runs one after the other.
        let mut start = 0;
        while start < kept.len() {
            let e = &kept[start];
            let end = start
                + kept[start..]
                    .iter()
                    .take_while(|x| x.ip() == e.ip() && x.id >= e.id)
                    .count();
            let run = &kept[start..end];
            encode_run(run, &mut ev);
            ins.execute(params![seg, e.ip(), e.id, e.ts, e.flagged, ev])
                .db()?;
            start = end;
        }
    }
    Ok(())
}

/// Keep the `keep` heaviest keys of one hour's list (ties at the cut are dropped together).
fn compact(conn: &Connection, hour: i64, dim: i64, keep: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM roll_top WHERE hour = ?1 AND dim = ?2 AND count <= \
         (SELECT count FROM roll_top WHERE hour = ?1 AND dim = ?2 ORDER BY count DESC LIMIT 1 OFFSET ?3)",
    )?
    .execute(params![hour, dim, keep])
}

/// At open: compact every list of a closed hour that is over its bound
/// (the in-memory state of the previous run is gone).
pub(crate) fn compact_closed_hours(conn: &Connection, tops: &mut TopState) -> rusqlite::Result<()> {
    let max_hour: Option<i64> =
        conn.query_row("SELECT max(hour) FROM roll_top", [], |r| r.get(0))?;
    let Some(max_hour) = max_hour else {
        return Ok(());
    };
    tops.max_hour = max_hour;
    let over: Vec<(i64, i64)> = conn
        .prepare("SELECT hour, dim FROM roll_top GROUP BY hour, dim HAVING count(*) > ?1")?
        .query_map([KEEP_CLOSED], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (hour, dim) in over {
        if hour < max_hour {
            compact(conn, hour, dim, KEEP_CLOSED)?;
        } else {
            tops.added.insert((hour, dim), OPEN_CAP);
        }
    }
    Ok(())
}

/// Group one alert delta into an incident and merge it into its alert row.
fn apply_delta(
    tx: &Transaction<'_>,
    d: &AlertDelta,
    batch: &IngestBatch<'_>,
) -> rusqlite::Result<IncidentTouch> {
    let a = &d.alert;
    let ip: Option<IpAddr> = a.source_ip.as_deref().and_then(|s| s.trim().parse().ok());
    let ip_text: Option<String> = match (ip, &a.source_ip) {
        (Some(ip), _) => Some(ip.to_string()),
        (None, Some(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let user = a.user.as_deref().filter(|u| !u.is_empty());
    let attacker = match (&ip_text, user) {
        (Some(ip), _) => format!("ip:{ip}"),
        (None, Some(u)) => format!("user:{u}"),
        (None, None) => String::new(),
    };
    let (first_ms, last_ms) = (d.first_ms.min(d.last_ms), d.first_ms.max(d.last_ms));
    let sev = severity_rank(a.severity);
    let count = sat(a.count);
    let now = batch.now_ms;

    let found: Option<(i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT id, count, status FROM incidents WHERE rule_id = ?1 AND attacker = ?2 \
             AND status < ?3 AND last_seen_ms >= ?4 ORDER BY last_seen_ms DESC LIMIT 1",
        )?
        .query_row(
            params![
                a.rule_id,
                attacker,
                status_rank(IncidentStatus::Resolved),
                first_ms.saturating_sub(batch.incident_window_ms)
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (incident_id, total, status, created) = match found {
        Some((id, old, status)) => {
            tx.prepare_cached(
                "UPDATE incidents SET count = count + ?2, first_seen_ms = min(first_seen_ms, ?3), \
                 last_seen_ms = max(last_seen_ms, ?4), severity = max(severity, ?5), updated_ms = ?6 WHERE id = ?1",
            )?
            .execute(params![id, count, first_ms, last_ms, sev, now])?;
            (id, old.saturating_add(count), status_of(status), false)
        }
        None => {
            let checklist: Vec<ChecklistItem> = a
                .response
                .iter()
                .map(|s| ChecklistItem {
                    step: s.clone(),
                    done: false,
                    done_by: None,
                    done_ms: None,
                })
                .collect();
            let checklist = serde_json::to_string(&checklist)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            tx.prepare_cached(
                "INSERT INTO incidents (rule_id, attacker, title, category, severity, source_ip, user, status, \
                 count, first_seen_ms, last_seen_ms, created_ms, updated_ms, description, recommendation, checklist) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                a.rule_id,
                attacker,
                a.title,
                a.category.as_str(),
                sev,
                ip_text,
                user,
                status_rank(IncidentStatus::New),
                count,
                first_ms,
                last_ms,
                now,
                a.description,
                a.recommendation,
                checklist
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO activity (incident_id, at_ms, actor, action, detail) VALUES (?1, ?2, 'secmo', 'created', ?3)",
            )?
            .execute(params![id, now, format!("{} from {}", a.title, d.source)])?;
            (id, count, IncidentStatus::New, true)
        }
    };

    // The alert row of (incident, source, rule).
    let existing: Option<(i64, String)> = tx
        .prepare_cached("SELECT id, evidence FROM alerts WHERE incident_id = ?1 AND source = ?2 AND rule_id = ?3")?
        .query_row(params![incident_id, d.source, a.rule_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let mut evidence: Vec<Evidence> = match &existing {
        Some((_, json)) => serde_json::from_str::<Vec<EvidenceRecord>>(json)
            .unwrap_or_default()
            .into_iter()
            .map(|e| Evidence {
                input: 0,
                file: e.file,
                line: e.line,
                raw: e.raw,
            })
            .collect(),
        None => Vec::new(),
    };
    evidence.extend(a.evidence.iter().cloned());
    evidence.sort_by(|x, y| (x.file.as_str(), x.line).cmp(&(y.file.as_str(), y.line)));
    evidence.dedup_by(|x, y| x.file == y.file && x.line == y.line);
    keep_first_and_last_evidence(&mut evidence);
    let evidence: Vec<EvidenceRecord> = evidence
        .into_iter()
        .map(|e| EvidenceRecord {
            file: e.file,
            line: e.line,
            raw: e.raw,
        })
        .collect();
    let evidence = serde_json::to_string(&evidence)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let alert_id = match existing {
        Some((id, _)) => {
            tx.prepare_cached(
                "UPDATE alerts SET count = count + ?2, first_seen_ms = min(first_seen_ms, ?3), \
                 last_seen_ms = max(last_seen_ms, ?4), severity = max(severity, ?5), evidence = ?6 WHERE id = ?1",
            )?
            .execute(params![id, count, first_ms, last_ms, sev, evidence])?;
            id
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO alerts (incident_id, source, rule_id, title, category, severity, source_ip, user, \
                 count, first_seen_ms, last_seen_ms, evidence, description, recommendation) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                incident_id,
                d.source,
                a.rule_id,
                a.title,
                a.category.as_str(),
                sev,
                ip_text,
                user,
                count,
                first_ms,
                last_ms,
                evidence,
                a.description,
                a.recommendation
            ])?;
            tx.last_insert_rowid()
        }
    };
    let inc_sev: i64 = tx
        .prepare_cached("SELECT severity FROM incidents WHERE id = ?1")?
        .query_row([incident_id], |r| r.get(0))?;
    Ok(IncidentTouch {
        incident_id,
        alert_id,
        created,
        rule_id: a.rule_id.clone(),
        title: a.title.clone(),
        category: a.category,
        severity: severity_of(inc_sev),
        source_ip: ip,
        user: user.map(str::to_owned),
        count: u64::try_from(total).unwrap_or(0),
        status,
    })
}
