//! Numbered migrations. Step `i` (0-based) brings `PRAGMA user_version` from
//! `i` to `i + 1`. Later versions append steps; never edit a released one.

/// `PRAGMA application_id` of a secmo database ("SECM").
pub(crate) const APPLICATION_ID: i64 = 0x5345_434D;

pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// Events per IP-index segment: `seg` = id >> SEG_SHIFT. 16 up to schema
/// version 2; 14 since version 3 (whose migration recomputes `seg`): a
/// batch's IP-index entries then land in a smaller part of the index
/// (−12 % ingest CPU per row), for 4× more segments to walk per IP query.
pub(crate) const SEG_SHIFT: u32 = 14;

/// Version 1: everything `Store` needs.
///
/// Layout choices (measured, see `benches/ingest.rs` and `examples/bigdb.rs`):
/// - `events.ip` is a BLOB of 4 or 16 bytes (compact, exact equality, no
///   text formatting on the hot path); `ts` is INTEGER milliseconds.
/// - `rules`/`categories` are ",a,b," strings ("" for unflagged events) so a
///   category filter is one `LIKE` without a join; `flagged` is a 0/1 column so
///   the IP index covers `ip_summary` (no table lookups).
/// - Indexes: only what `query_events` drives from: ts, (seg, ip, ts), (seg, user, ts)
///   for non-empty users, (kind, ts), flagged events by ts.
/// - The IP index leads with the segment (`seg` = id >> [`SEG_SHIFT`], runs
///   of 65536 consecutive events): a batch's entries only land in the current
///   segment's small part of the index (a few hundred pages), whatever the
///   ingest rate, so commits stay small as the table grows. (A plain (ip, ts)
///   index slowed ingest from 71k to 36k rows/s on the way to 10M rows; an
///   hour-leading one grows per hour with the rate: 1.8M rows/h in the bench,
///   about 85k rows per CPU-second.) `segs` keeps each segment's time range, so
///   IP lookups walk segments newest first, one index seek each, and stop once
///   the page is full and no older segment can hold a newer event. The user
///   index is segmented the same way (300 users spread over it: +10 %).
/// - Rollups (`roll`, `roll_cat`, `roll_top`) are maintained by `ingest`
///   from the batch; `stats` never reads `events`.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES ('event_count', 0);

CREATE TABLE checkpoints (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    seg        INTEGER NOT NULL,
    source     TEXT NOT NULL,
    file       TEXT NOT NULL,
    line       INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    action     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    ip         BLOB,
    user       TEXT NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    query      TEXT NOT NULL,
    status     INTEGER,
    bytes      INTEGER,
    referrer   TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    raw        TEXT NOT NULL,
    rules      TEXT NOT NULL,
    categories TEXT NOT NULL,
    flagged    INTEGER NOT NULL,
    blocked    INTEGER NOT NULL
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_ip ON events(seg, ip, ts, id, flagged) WHERE ip IS NOT NULL;
-- Time range of each segment (bounds: pruning may leave them wider).
CREATE TABLE segs (
    seg    INTEGER PRIMARY KEY,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL
);
CREATE INDEX events_user ON events(seg, user, ts, id) WHERE user != '';
CREATE INDEX events_kind ON events(kind, ts);
-- Carries the categories so a category filter never reads the table.
CREATE INDEX events_flagged ON events(ts, id, categories) WHERE flagged = 1;

-- Rollups. gran 0 = minute, 1 = hour; t = start of the bucket (ms).
-- class: 1..5 for 1xx..5xx, 0 for events without a status.
CREATE TABLE roll (
    gran    INTEGER NOT NULL,
    t       INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    class   INTEGER NOT NULL,
    events  INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (gran, t, kind, class)
) WITHOUT ROWID;
CREATE TABLE roll_cat (
    gran     INTEGER NOT NULL,
    t        INTEGER NOT NULL,
    category TEXT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (gran, t, category)
) WITHOUT ROWID;
-- Per-hour top lists. dim: 0 source IP, 1 path, 2 referrer, 3 attacker (flagged IP).
-- Bounded: see ingest.rs (compaction keeps the heaviest keys per hour).
CREATE TABLE roll_top (
    hour  INTEGER NOT NULL,
    dim   INTEGER NOT NULL,
    key   TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (hour, dim, key)
) WITHOUT ROWID;

CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    rule_id        TEXT NOT NULL,
    attacker       TEXT NOT NULL,
    title          TEXT NOT NULL,
    category       TEXT NOT NULL,
    severity       INTEGER NOT NULL,
    source_ip      TEXT,
    user           TEXT,
    status         INTEGER NOT NULL,
    verdict        TEXT,
    assignee       TEXT,
    count          INTEGER NOT NULL,
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL,
    description    TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    checklist      TEXT NOT NULL
);
CREATE INDEX incidents_group ON incidents(rule_id, attacker, last_seen_ms);
CREATE INDEX incidents_last ON incidents(last_seen_ms);
CREATE INDEX incidents_status ON incidents(status, severity);

CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    incident_id    INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    source         TEXT NOT NULL,
    rule_id        TEXT NOT NULL,
    title          TEXT NOT NULL,
    category       TEXT NOT NULL,
    severity       INTEGER NOT NULL,
    source_ip      TEXT,
    user           TEXT,
    count          INTEGER NOT NULL,
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    evidence       TEXT NOT NULL,
    description    TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    UNIQUE (incident_id, source, rule_id)
);
CREATE INDEX alerts_last ON alerts(last_seen_ms);

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE INDEX notes_incident ON notes(incident_id);

CREATE TABLE activity (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX activity_incident ON activity(incident_id);

CREATE TABLE blocks (
    id          INTEGER PRIMARY KEY,
    net         TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER,
    rule_id     TEXT,
    incident_id INTEGER,
    lifted_ms   INTEGER,
    lifted_by   TEXT
);
CREATE INDEX blocks_active ON blocks(net) WHERE lifted_ms IS NULL;

CREATE TABLE allowlist (
    id         INTEGER PRIMARY KEY,
    net        TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER,
    last_used_ms INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    ip     TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#;

/// Version 2: stored reports and the delivery outbox (issue #5).
///
/// - `reports.doc` is the report document as JSON (re-rendered on demand in
///   any format and language); `delivered_to` is a JSON array of addresses
///   whose e-mail was accepted by the SMTP server.
/// - `outbox` holds every message until it is delivered: a worker takes due
///   rows (`status` 0 = pending, by `next_ms`), and marks them sent (1) or,
///   after the last attempt or a permanent refusal, dead (2). `dedupe` is
///   unique so an incident yields one notification per channel however often
///   it is touched.
const V2: &str = r#"
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    created_ms    INTEGER NOT NULL,
    period_start  INTEGER NOT NULL,
    period_end    INTEGER NOT NULL,
    trigger       TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    threat_level  TEXT NOT NULL,
    incidents     INTEGER NOT NULL,
    events        INTEGER NOT NULL,
    flagged       INTEGER NOT NULL,
    language      TEXT NOT NULL,
    delivered_to  TEXT NOT NULL DEFAULT '[]',
    doc           TEXT NOT NULL
);
CREATE INDEX reports_trigger ON reports(trigger, period_end);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    payload     TEXT NOT NULL,
    dedupe      TEXT UNIQUE,
    report_id   INTEGER,
    status      INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_ms     INTEGER,
    last_error  TEXT,
    sent_ms     INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_ms);
"#;

/// Version 3: smaller event rows (ingest writes about 40 % fewer bytes per row).
///
/// - `source`, `file`, `kind`, `action` and `outcome` are ids into `dict`
///   (values are few: configured sources, files, enum names), cached by the
///   writer; queries map a filter's text to its id with a subquery.
/// - `method`, `path`, `query`, `referrer` and `user_agent` are almost always
///   verbatim parts of `raw`: `spans` holds where (per field a varint length,
///   then, if not 0, a varint byte offset into `raw`); a field that is not in
///   `raw` is stored in its own column (NULL otherwise). Rows migrated from
///   version 2 have no `spans` and keep their fields in those columns.
///
/// Measured with `examples/ingest_cpu.rs` (1M rows, 16k-row batches): see
/// `ingest.rs`. The migration copies the table once (minutes for 10M rows)
/// and recomputes the segments (`seg` = id >> 14, see [`SEG_SHIFT`]).
const V3: &str = r#"
CREATE TABLE dict (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);
WITH t AS MATERIALIZED (SELECT DISTINCT source, file, kind, action, outcome FROM events)
INSERT OR IGNORE INTO dict (value)
    SELECT source FROM t UNION SELECT file FROM t UNION SELECT kind FROM t
    UNION SELECT action FROM t UNION SELECT outcome FROM t;
CREATE TABLE events_v3 (
    id         INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    seg        INTEGER NOT NULL,
    source     INTEGER NOT NULL,
    file       INTEGER NOT NULL,
    line       INTEGER NOT NULL,
    kind       INTEGER NOT NULL,
    action     INTEGER NOT NULL,
    outcome    INTEGER NOT NULL,
    ip         BLOB,
    user       TEXT NOT NULL,
    status     INTEGER,
    bytes      INTEGER,
    raw        TEXT NOT NULL,
    rules      TEXT NOT NULL,
    categories TEXT NOT NULL,
    flagged    INTEGER NOT NULL,
    blocked    INTEGER NOT NULL,
    spans      BLOB,
    method     TEXT,
    path       TEXT,
    query      TEXT,
    referrer   TEXT,
    user_agent TEXT
);
INSERT INTO events_v3 (id, ts, seg, source, file, line, kind, action, outcome, ip, user, status, bytes,
    raw, rules, categories, flagged, blocked, spans, method, path, query, referrer, user_agent)
SELECT id, ts, id >> 14,
    (SELECT d.id FROM dict d WHERE d.value = e.source),
    (SELECT d.id FROM dict d WHERE d.value = e.file),
    line,
    (SELECT d.id FROM dict d WHERE d.value = e.kind),
    (SELECT d.id FROM dict d WHERE d.value = e.action),
    (SELECT d.id FROM dict d WHERE d.value = e.outcome),
    ip, user, status, bytes, raw, rules, categories, flagged, blocked, NULL,
    nullif(method, ''), nullif(path, ''), nullif(query, ''), nullif(referrer, ''), nullif(user_agent, '')
FROM events e;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
DELETE FROM segs;
INSERT INTO segs (seg, min_ts, max_ts) SELECT seg, min(ts), max(ts) FROM events GROUP BY seg;
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_ip ON events(seg, ip, ts, id, flagged) WHERE ip IS NOT NULL;
CREATE INDEX events_user ON events(seg, user, ts, id) WHERE user != '';
CREATE INDEX events_kind ON events(kind, ts);
CREATE INDEX events_flagged ON events(ts, id, categories) WHERE flagged = 1;
"#;

/// Version 4: the IP index is written per batch in runs (`ip_runs`) instead
/// of one `events_ip` entry per event.
///
/// A run is one IP's events of one batch in one segment: its first event
/// (`first_id`, `ts`, `flagged`) in columns, the others in `ev` (per event,
/// in id order: a varint of the id delta shifted left once with the flagged
/// bit, then a zigzag varint of the wrapping ts delta; empty for a run of
/// one). Keyed (seg, ip, first_id), so a batch's runs land in the current
/// segment's part of the table like the index entries did, but a busy IP's
/// events of a batch are one row: measured with `examples/ingest_cpu.rs`,
/// see `ingest.rs`. Migrated events become runs of one (the same size as
/// their index entries were).
const V4: &str = r#"
CREATE TABLE ip_runs (
    seg      INTEGER NOT NULL,
    ip       BLOB NOT NULL,
    first_id INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    flagged  INTEGER NOT NULL,
    ev       BLOB NOT NULL,
    PRIMARY KEY (seg, ip, first_id)
) WITHOUT ROWID;
INSERT INTO ip_runs (seg, ip, first_id, ts, flagged, ev)
    SELECT seg, ip, id, ts, flagged, X'' FROM events INDEXED BY events_ip WHERE ip IS NOT NULL;
DROP INDEX events_ip;
"#;
