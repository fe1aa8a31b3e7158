//! Embedded SQLite implementation of [`Store`].
//!
//! One writer connection (behind a mutex) takes every write; a small pool of
//! read-only connections serves queries concurrently (WAL: readers never wait
//! for the writer). Every value is bound as a parameter.

mod admin;
mod delivery;
mod events;
mod incidents;
mod ingest;
mod schema;
mod stats;

use crate::model::*;
use crate::{Result, Store, StoreError};
use ipnet::IpNet;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Read connections kept open; more are opened on demand under load and closed after use.
const READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The database file inside the data directory.
pub const DB_FILE: &str = "secmo.db";

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    _checkpointer: Checkpointer,
}

/// Copies the WAL back into the database from its own thread and connection
/// (`PRAGMA wal_checkpoint(PASSIVE)` every [`CHECKPOINT_EVERY`]), so the
/// writer does not pay for checkpoints inside `ingest` (measured: 10-20 % of
/// its time at 4096-row batches). The writer's own auto-checkpoint stays on
/// at a high mark as a backstop, so the WAL stays bounded if this thread
/// falls behind.
struct Checkpointer {
    stop: std::sync::Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| ctx(e, path))?;
        conn.busy_timeout(Duration::from_millis(100))
            .map_err(|e| ctx(e, path))?;
        let stop = std::sync::Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("secmo-store-checkpoint".into())
            .spawn(move || {
                let (lock, cv) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*stopped {
                    let (g, _) = cv
                        .wait_timeout(stopped, CHECKPOINT_EVERY)
                        .unwrap_or_else(|e| e.into_inner());
                    stopped = g;
                    if *stopped {
                        break;
                    }
                    // Busy or I/O errors: the next round (or the writer's backstop) retries.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| StoreError::Db(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer connection and the in-memory state of ingestion (top-list compaction).
pub(crate) struct Writer {
    conn: Connection,
    tops: ingest::TopState,
    pending: ingest::PendingTops,
    dict: ingest::Dict,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Best effort: a failure loses only pending top-list counts.
        let _ = ingest::flush_tops(self);
    }
}

impl SqliteStore {
    /// Open (or create) `dir/secmo.db`, creating `dir` if missing, and migrate it.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            let msg = format!("cannot create data directory {}: {e}", dir.display());
            match e.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    StoreError::Unavailable(msg)
                }
                _ => StoreError::Db(msg),
            }
        })?;
        let path = dir.join(DB_FILE);
        let conn = open_conn(&path, false)?;
        migrate(&conn, &path)?;
        let mut tops = ingest::TopState::default();
        ingest::compact_closed_hours(&conn, &mut tops).map_err(|e| ctx(e, &path))?;
        let checkpointer = Checkpointer::start(&path)?;
        let store = SqliteStore {
            path,
            writer: Mutex::new(Writer {
                conn,
                tops,
                pending: Default::default(),
                dict: Default::default(),
            }),
            readers: Mutex::new(Vec::with_capacity(READERS)),
            _checkpointer: checkpointer,
        };
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock leaves no open transaction behind
        // (rusqlite rolls back on drop), so the connection is still usable.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> Result<Reader<'_>> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_conn(&self.path, true)?,
        };
        Ok(Reader {
            conn: Some(conn),
            pool: &self.readers,
        })
    }
}

/// A pooled read connection, returned to the pool on drop.
pub(crate) struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn
            .as_ref()
            .expect("reader connection present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < READERS {
                pool.push(c);
            }
        }
    }
}

fn open_conn(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| ctx(e, path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| ctx(e, path))?;
    let setup = if read_only {
        "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456;"
    } else {
        // journal_mode returns a row; execute_batch ignores it. page_size only
        // takes effect on a new file (before WAL; older files keep theirs):
        // 8 KiB pages measured +25-35 % ingest throughput over 4 KiB, 16 KiB
        // another +10 % over 8 KiB (`examples/ingest_cpu.rs`; a commit writes
        // each WAL frame with two `pwrite`s, and a batch is mostly appends).
        // 32 KiB gained +18 % but made queries that look up rows one by one
        // (an IP with a text filter) 4-7x slower warm: every row read copies
        // a whole page into the reader's cache once the file outgrows mmap.
        "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA journal_size_limit = 67108864;
         PRAGMA wal_autocheckpoint = 32768;"
    };
    conn.execute_batch(setup).map_err(|e| ctx(e, path))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Bring the schema to the latest version, one numbered step per transaction.
fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| ctx(e, path))?;
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| ctx(e, path))?;
    let latest = schema::MIGRATIONS.len() as i64;
    if version > latest {
        return Err(StoreError::Db(format!(
            "{}: database schema version {version} is newer than this secmo supports ({latest}); \
             upgrade secmo or use another data directory",
            path.display()
        )));
    }
    if version == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| ctx(e, path))?;
        if tables > 0 {
            return Err(StoreError::Db(format!(
                "{}: is an SQLite database but not a secmo one; use another data directory",
                path.display()
            )));
        }
    } else if app_id != schema::APPLICATION_ID {
        return Err(StoreError::Db(format!(
            "{}: is an SQLite database but not a secmo one (application id {app_id:#x})",
            path.display()
        )));
    }
    for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        if version > 0 {
            // An upgrade rewrites tables: minutes on a large store. Say so.
            tracing::warn!(
                "{}: upgrading the database to schema version {} (a large store takes minutes; do not interrupt)",
                path.display(),
                i + 1
            );
        }
        let sql = format!(
            "BEGIN IMMEDIATE; {step}; PRAGMA application_id = {}; PRAGMA user_version = {}; COMMIT;",
            schema::APPLICATION_ID,
            i + 1
        );
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Db(format!(
                "{}: migration to schema version {} failed: {}",
                path.display(),
                i + 1,
                db_err(e)
            )));
        }
    }
    Ok(())
}

/// Map an SQLite error: disk full / read-only / I/O / busy → `Unavailable`
/// (ingestion pauses and retries), unique violations → `Conflict`, the rest → `Db`.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DiskFull
            | ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked => StoreError::Unavailable(e.to_string()),
            ErrorCode::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Conflict(e.to_string())
            }
            ErrorCode::NotADatabase => StoreError::Db(format!("not a database: {e}")),
            _ => StoreError::Db(e.to_string()),
        },
        _ => StoreError::Db(e.to_string()),
    }
}

/// Like [`db_err`], naming the file (for errors at open time).
fn ctx(e: rusqlite::Error, path: &Path) -> StoreError {
    match db_err(e) {
        StoreError::Db(m) if m.starts_with("not a database") => StoreError::Db(format!(
            "{}: file is not an SQLite database (not a secmo data directory?)",
            path.display()
        )),
        StoreError::Db(m) => StoreError::Db(format!("{}: {m}", path.display())),
        StoreError::Unavailable(m) => StoreError::Unavailable(format!("{}: {m}", path.display())),
        other => other,
    }
}

pub(crate) trait SqlResult<T> {
    fn db(self) -> Result<T>;
}
impl<T> SqlResult<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(db_err)
    }
}

// ---- shared conversions -------------------------------------------------------

/// `t` rounded down to a multiple of `w` (> 0), saturating (timestamps come from logs).
pub(crate) fn floor_to(t: i64, w: i64) -> i64 {
    t.saturating_sub(t.rem_euclid(w))
}

pub(crate) fn limit_of(p: &PageRequest) -> usize {
    match p.limit {
        0 => 50,
        n => n.min(1000) as usize,
    }
}

/// Cursor of "newest first by id" pages.
pub(crate) fn id_cursor(p: &PageRequest) -> Result<i64> {
    match &p.cursor {
        None => Ok(i64::MAX),
        Some(c) => c
            .parse::<i64>()
            .map_err(|_| StoreError::Invalid(format!("bad cursor {c:?}"))),
    }
}

/// Cursor of pages ordered by (key, id) descending: "key:id".
pub(crate) fn pair_cursor(p: &PageRequest) -> Result<(i64, i64)> {
    match &p.cursor {
        None => Ok((i64::MAX, i64::MAX)),
        Some(c) => c
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| StoreError::Invalid(format!("bad cursor {c:?}"))),
    }
}

pub(crate) fn ip_parse(s: Option<String>) -> Option<IpAddr> {
    s.and_then(|s| s.parse().ok())
}

pub(crate) fn net_parse(s: &str) -> rusqlite::Result<IpNet> {
    s.parse::<IpNet>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn severity_rank(s: secmo_event::Severity) -> i64 {
    secmo_event::Severity::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0) as i64
}

pub(crate) fn severity_of(rank: i64) -> secmo_event::Severity {
    let all = secmo_event::Severity::ALL;
    all.get(rank.max(0) as usize)
        .copied()
        .unwrap_or(all[all.len() - 1])
}

pub(crate) fn status_rank(s: IncidentStatus) -> i64 {
    IncidentStatus::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0) as i64
}

pub(crate) fn status_of(rank: i64) -> IncidentStatus {
    IncidentStatus::ALL
        .get(rank.max(0) as usize)
        .copied()
        .unwrap_or(IncidentStatus::New)
}

/// Categories are stored by name; an unknown name (from a newer version) reads as the first.
pub(crate) fn category_of(s: &str) -> secmo_event::Category {
    secmo_event::Category::parse(s).unwrap_or(secmo_event::Category::ALL[0])
}

/// Escape `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store for SqliteStore {
    fn ingest(&self, batch: &IngestBatch<'_>) -> Result<IngestOutcome> {
        let mut w = self.writer();
        ingest::ingest(&mut w, batch)
    }
    fn checkpoints(&self) -> Result<Vec<(String, String)>> {
        admin::checkpoints(&*self.reader()?)
    }
    fn delete_checkpoint(&self, key: &str) -> Result<()> {
        admin::delete_checkpoint(&self.writer().conn, key)
    }

    fn query_events(&self, q: &EventQuery) -> Result<Page<EventRecord>> {
        events::query(&*self.reader()?, q)
    }
    fn event(&self, id: i64) -> Result<Option<EventRecord>> {
        events::by_id(&*self.reader()?, id)
    }
    fn ip_summary(&self, ip: IpAddr) -> Result<IpSummary> {
        events::ip_summary(&*self.reader()?, ip)
    }
    fn prune(&self, retention: &Retention, now_ms: i64) -> Result<u64> {
        events::prune(&self.writer, retention, now_ms)
    }
    fn event_count(&self) -> Result<u64> {
        events::count(&*self.reader()?)
    }

    fn stats(&self, q: &StatsQuery) -> Result<Stats> {
        ingest::flush_tops(&mut self.writer())?;
        stats::stats(&*self.reader()?, q)
    }

    fn alerts(&self, q: &AlertQuery) -> Result<Page<AlertRecord>> {
        incidents::alerts(&*self.reader()?, q)
    }
    fn incidents(&self, q: &IncidentQuery) -> Result<Page<Incident>> {
        incidents::incidents(&*self.reader()?, q)
    }
    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        incidents::detail(&*self.reader()?, id)
    }
    fn update_incident(
        &self,
        id: i64,
        change: &IncidentChange,
        actor: &str,
        now_ms: i64,
    ) -> Result<IncidentDetail> {
        let mut w = self.writer();
        incidents::update(&mut w.conn, id, change, actor, now_ms)
    }

    fn add_block(&self, block: &NewBlock) -> Result<Block> {
        admin::add_block(&self.writer().conn, block)
    }
    fn remove_block(&self, net: IpNet, actor: &str, now_ms: i64) -> Result<Vec<Block>> {
        admin::remove_block(&mut self.writer().conn, net, actor, now_ms)
    }
    fn active_blocks(&self, now_ms: i64) -> Result<Vec<Block>> {
        admin::active_blocks(&*self.reader()?, now_ms)
    }
    fn expire_blocks(&self, now_ms: i64) -> Result<Vec<Block>> {
        admin::expire_blocks(&mut self.writer().conn, now_ms)
    }
    fn block_history(&self, page: &PageRequest) -> Result<Page<Block>> {
        admin::block_history(&*self.reader()?, page)
    }
    fn allowlist(&self) -> Result<Vec<AllowEntry>> {
        admin::allowlist(&*self.reader()?)
    }
    fn add_allow(&self, entry: &NewAllowEntry) -> Result<AllowEntry> {
        admin::add_allow(&self.writer().conn, entry)
    }
    fn remove_allow(&self, id: i64) -> Result<bool> {
        admin::remove_allow(&self.writer().conn, id)
    }

    fn create_user(&self, user: &NewUser) -> Result<User> {
        admin::create_user(&self.writer().conn, user)
    }
    fn users(&self) -> Result<Vec<User>> {
        admin::users(&*self.reader()?)
    }
    fn user(&self, id: i64) -> Result<Option<User>> {
        admin::user(&*self.reader()?, id)
    }
    fn user_credentials(&self, name: &str) -> Result<Option<(User, String)>> {
        admin::user_credentials(&*self.reader()?, name)
    }
    fn update_user(&self, id: i64, change: &UserChange) -> Result<User> {
        admin::update_user(&mut self.writer().conn, id, change)
    }
    fn delete_user(&self, id: i64) -> Result<bool> {
        admin::delete_user(&mut self.writer().conn, id)
    }
    fn user_count(&self) -> Result<u64> {
        admin::user_count(&*self.reader()?)
    }

    fn create_session(&self, session: &Session) -> Result<()> {
        admin::create_session(&self.writer().conn, session)
    }
    fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<(Session, User)>> {
        admin::session(&*self.reader()?, id_hash, now_ms)
    }
    fn delete_session(&self, id_hash: &str) -> Result<()> {
        admin::delete_session(&self.writer().conn, id_hash)
    }
    fn delete_user_sessions(&self, user_id: i64) -> Result<()> {
        admin::delete_user_sessions(&self.writer().conn, user_id)
    }

    fn create_token(&self, token: &NewApiToken) -> Result<ApiToken> {
        admin::create_token(&self.writer().conn, token)
    }
    fn token(&self, secret_hash: &str, now_ms: i64) -> Result<Option<(ApiToken, User)>> {
        admin::token(&self.writer().conn, secret_hash, now_ms)
    }
    fn tokens(&self) -> Result<Vec<ApiToken>> {
        admin::tokens(&*self.reader()?)
    }
    fn revoke_token(&self, id: i64) -> Result<bool> {
        admin::revoke_token(&self.writer().conn, id)
    }

    fn save_report(&self, report: &NewReport) -> Result<ReportMeta> {
        delivery::save_report(&self.writer().conn, report)
    }
    fn reports(&self, page: &PageRequest) -> Result<Page<ReportMeta>> {
        delivery::reports(&*self.reader()?, page)
    }
    fn report(&self, id: i64) -> Result<Option<(ReportMeta, String)>> {
        delivery::report(&*self.reader()?, id)
    }
    fn last_report(&self, trigger: ReportTrigger) -> Result<Option<ReportMeta>> {
        delivery::last_report(&*self.reader()?, trigger)
    }
    fn enqueue(&self, msg: &NewOutboxMessage) -> Result<Option<OutboxEntry>> {
        delivery::enqueue(&self.writer().conn, msg)
    }
    fn due_messages(&self, now_ms: i64, limit: u32) -> Result<Vec<(OutboxEntry, String)>> {
        delivery::due_messages(&*self.reader()?, now_ms, limit)
    }
    fn mark_sent(&self, id: i64, now_ms: i64) -> Result<()> {
        delivery::mark_sent(&self.writer().conn, id, now_ms)
    }
    fn mark_failed(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<()> {
        delivery::mark_failed(&self.writer().conn, id, error, retry_at_ms)
    }
    fn outbox(&self, q: &OutboxQuery) -> Result<Page<OutboxEntry>> {
        delivery::outbox(&*self.reader()?, q)
    }
    fn outbox_counts(&self) -> Result<OutboxCounts> {
        delivery::outbox_counts(&*self.reader()?)
    }
    fn retry_message(&self, id: i64, now_ms: i64) -> Result<OutboxEntry> {
        delivery::retry_message(&self.writer().conn, id, now_ms)
    }

    fn audit(&self, entry: &NewAuditEntry) -> Result<()> {
        admin::audit(&self.writer().conn, entry)
    }
    fn audit_log(&self, page: &PageRequest) -> Result<Page<AuditEntry>> {
        admin::audit_log(&*self.reader()?, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<SqliteStore>();
    }

    /// A database file made by the first `version` migrations only, as that
    /// release of secmo left it (8 KiB pages, WAL).
    fn database_at_version(path: &std::path::Path, version: usize) -> Connection {
        let c = Connection::open(path).expect("open");
        c.execute_batch("PRAGMA page_size = 8192; PRAGMA journal_mode = WAL;")
            .expect("pragmas");
        for (i, step) in schema::MIGRATIONS[..version].iter().enumerate() {
            c.execute_batch(&format!(
                "BEGIN; {step}; PRAGMA application_id = {}; PRAGMA user_version = {}; COMMIT;",
                schema::APPLICATION_ID,
                i + 1
            ))
            .unwrap_or_else(|e| panic!("schema version {}: {e}", i + 1));
        }
        c
    }

    /// A version-2 database (made by the version-2 migrations, one event
    /// row as version 2 wrote them) opens, migrates to the latest version and reads
    /// back the same records, beside rows written after the migration.
    #[test]
    fn a_version_2_database_migrates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE);
        {
            let c = database_at_version(&path, 2);
            c.execute(
                "INSERT INTO events (id, ts, seg, source, file, line, kind, action, outcome, ip, user, method, \
                 path, query, status, bytes, referrer, user_agent, raw, rules, categories, flagged, blocked) \
                 VALUES (70000, 1000, 1, 'nginx', '/var/log/a.log', 7, 'http', 'request', 'success', ?1, '', 'GET', \
                 '/x', 'id=1', 200, 512, '-', 'curl/8', 'the raw line', ',web-sqli,', ',sqli,', 1, 0)",
                [&[10u8, 0, 0, 1][..]],
            )
            .expect("v2 row");
            c.execute_batch(
                "INSERT INTO segs VALUES (1, 1000, 1000); UPDATE meta SET value = 1 WHERE key = 'event_count';",
            )
            .expect("v2 meta");
        }
        let store = SqliteStore::open(dir.path()).expect("migrates");
        let v: i64 = store
            .writer()
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, schema::MIGRATIONS.len() as i64);
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let rules = ["web-sqli"];
        let cats = [secmo_event::Category::Sqli];
        store
            .ingest(&IngestBatch {
                events: &[EventRow {
                    ts_ms: 2000,
                    source: "nginx",
                    file: "/var/log/b.log",
                    line: 1,
                    kind: "http",
                    action: "request",
                    outcome: "failure",
                    source_ip: Some(ip),
                    method: "POST",
                    path: "/login",
                    query: "",
                    referrer: "-",
                    user_agent: "not in the line",
                    raw: "10.0.0.1 POST /login -",
                    rules: &rules,
                    categories: &cats,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .expect("ingest");
        let page = store
            .query_events(&EventQuery {
                ip: Some(ip),
                ..Default::default()
            })
            .expect("query");
        assert_eq!(page.items.len(), 2);
        // The version-4 IP runs hold the migrated event beside the new one.
        let s = store.ip_summary(ip).expect("summary");
        assert_eq!(
            (s.events, s.flagged_events, s.first_seen_ms, s.last_seen_ms),
            (2, 2, Some(1000), Some(2000))
        );
        let (new, old) = (&page.items[0], &page.items[1]);
        assert_eq!(
            (
                old.id,
                old.ts_ms,
                old.source.as_str(),
                old.file.as_str(),
                old.line
            ),
            (70000, 1000, "nginx", "/var/log/a.log", 7)
        );
        assert_eq!(
            (old.kind.as_str(), old.action.as_str(), old.outcome.as_str()),
            ("http", "request", "success")
        );
        assert_eq!(
            (old.method.as_str(), old.path.as_str(), old.query.as_str()),
            ("GET", "/x", "id=1")
        );
        assert_eq!(
            (
                old.referrer.as_str(),
                old.user_agent.as_str(),
                old.raw.as_str()
            ),
            ("-", "curl/8", "the raw line")
        );
        assert_eq!(
            (old.status, old.bytes, old.blocked),
            (Some(200), Some(512), false)
        );
        assert_eq!(old.rules, vec!["web-sqli".to_owned()]);
        assert_eq!(old.categories, vec![secmo_event::Category::Sqli]);
        assert_eq!(
            (
                new.id,
                new.file.as_str(),
                new.outcome.as_str(),
                new.method.as_str()
            ),
            (70001, "/var/log/b.log", "failure", "POST")
        );
        assert_eq!(
            (
                new.path.as_str(),
                new.referrer.as_str(),
                new.user_agent.as_str()
            ),
            ("/login", "-", "not in the line")
        );
        for (q, n) in [
            (
                EventQuery {
                    kind: Some("http".into()),
                    ..Default::default()
                },
                2,
            ),
            (
                EventQuery {
                    kind: Some("auth".into()),
                    ..Default::default()
                },
                0,
            ),
            (
                EventQuery {
                    source: Some("nginx".into()),
                    ..Default::default()
                },
                2,
            ),
            (
                EventQuery {
                    source: Some("other".into()),
                    ..Default::default()
                },
                0,
            ),
            (
                EventQuery {
                    category: Some(secmo_event::Category::Sqli),
                    ..Default::default()
                },
                2,
            ),
        ] {
            assert_eq!(
                store.query_events(&q).expect("query").items.len(),
                n,
                "{q:?}"
            );
        }
        assert_eq!(store.event_count().expect("count"), 2);
        // Segments recomputed with the version-3 shift.
        let segs: Vec<i64> = {
            let w = store.writer();
            let mut st = w
                .conn
                .prepare("SELECT seg FROM segs ORDER BY seg")
                .expect("segs");
            st.query_map([], |r| r.get(0))
                .expect("segs")
                .collect::<rusqlite::Result<_>>()
                .expect("segs")
        };
        assert_eq!(segs, vec![70000 >> schema::SEG_SHIFT]);
    }

    /// A version-3 database (events indexed by `events_ip`) migrates to the
    /// IP runs of version 4: its events are found by IP (with and without a
    /// residual filter), counted by `ip_summary` beside new ones, and pruned
    /// from the runs with the table.
    #[test]
    fn a_version_3_database_migrates_to_ip_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE);
        {
            let c = database_at_version(&path, 3);
            c.execute_batch("INSERT INTO dict (id, value) VALUES (1, 'nginx'), (2, 'a.log'), (3, 'http'), (4, 'request'), (5, 'success');")
                .expect("dict");
            // (id, ts, ip, status, flagged): two segments, two IPs.
            for (id, ts, ip, status, flagged) in [
                (10i64, 1_000i64, [10u8, 0, 0, 1], 200i64, 0i64),
                (11, 1_500, [10, 0, 0, 2], 200, 0),
                (20_000, 3_000, [10, 0, 0, 1], 500, 1),
                (20_001, 2_000, [10, 0, 0, 1], 200, 0),
            ] {
                c.execute(
                    "INSERT INTO events (id, ts, seg, source, file, line, kind, action, outcome, ip, user, status, \
                     bytes, raw, rules, categories, flagged, blocked) \
                     VALUES (?1, ?2, ?1 >> 14, 1, 2, 1, 3, 4, 5, ?3, '', ?4, 10, 'a line', '', '', ?5, 0)",
                    rusqlite::params![id, ts, &ip[..], status, flagged],
                )
                .expect("v3 row");
            }
            c.execute_batch(
                "INSERT INTO segs VALUES (0, 1000, 1500), (1, 2000, 3000); \
                 UPDATE meta SET value = 4 WHERE key = 'event_count';",
            )
            .expect("v3 meta");
        }
        let store = SqliteStore::open(dir.path()).expect("migrates");
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let ids = |q: EventQuery| -> Vec<i64> {
            store
                .query_events(&q)
                .expect("query")
                .items
                .iter()
                .map(|e| e.id)
                .collect()
        };
        let by_ip = EventQuery {
            ip: Some(ip),
            ..Default::default()
        };
        assert_eq!(ids(by_ip.clone()), vec![20_000, 20_001, 10]);
        assert_eq!(
            ids(EventQuery {
                status: Some(500),
                ..by_ip.clone()
            }),
            vec![20_000]
        );
        let s = store.ip_summary(ip).expect("summary");
        assert_eq!(
            (s.events, s.flagged_events, s.first_seen_ms, s.last_seen_ms),
            (3, 1, Some(1000), Some(3000))
        );
        store
            .ingest(&IngestBatch {
                events: &[EventRow {
                    ts_ms: 4000,
                    source: "nginx",
                    file: "a.log",
                    kind: "http",
                    source_ip: Some(ip),
                    raw: "a new line",
                    ..Default::default()
                }],
                ..Default::default()
            })
            .expect("ingest");
        assert_eq!(ids(by_ip.clone()), vec![20_002, 20_000, 20_001, 10]);
        // Retention by count drops the two oldest (ts 1000 and 1500) from the runs too.
        assert_eq!(
            store
                .prune(
                    &Retention {
                        max_age_days: None,
                        max_events: Some(3),
                    },
                    4000,
                )
                .expect("prune"),
            2
        );
        assert_eq!(ids(by_ip), vec![20_002, 20_000, 20_001]);
        let s = store.ip_summary(ip).expect("summary");
        assert_eq!((s.events, s.first_seen_ms), (3, Some(2000)));
        assert_eq!(
            store
                .ip_summary("10.0.0.2".parse().expect("ip"))
                .expect("summary")
                .events,
            0
        );
    }

    #[test]
    fn like_escape_escapes_wildcards() {
        assert_eq!(like_escape(r"a%b_c\d"), r"a\%b\_c\\d");
    }

    #[test]
    fn ranks_round_trip() {
        for s in secmo_event::Severity::ALL {
            assert_eq!(severity_of(severity_rank(*s)), *s);
        }
        for s in IncidentStatus::ALL {
            assert_eq!(status_of(status_rank(s)), s);
        }
    }
}
