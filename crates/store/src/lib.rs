//! Persistence for `secmo serve`: one [`Store`] trait, one implementation per
//! backend (embedded SQLite now, PostgreSQL later). Callers never see SQL.
//!
//! The trait is synchronous: SQLite is an in-process library and its fastest
//! use is a dedicated writer connection with large transactions. The async
//! server calls it from `spawn_blocking`. A network backend can implement the
//! same trait with its own blocking client.
//!
//! Every string here may come from a log line (attacker-controlled): the
//! implementations bind every value as a parameter, never format it into SQL.

pub mod model;
pub mod sqlite;

pub use model::*;
pub use sqlite::SqliteStore;

use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A change the current state does not allow (e.g. an unknown transition,
    /// a duplicate user name). The message is meant for the API client.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The disk is full or the database is read-only: ingestion pauses and retries.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything `secmo serve` keeps. All times are milliseconds since the Unix epoch (UTC).
pub trait Store: Send + Sync + 'static {
    // ---- ingestion --------------------------------------------------------
    /// Write one batch atomically: events, alert deltas (grouped into
    /// incidents), rollups for stats, and the sources' checkpoints. Either all
    /// of it is durable or none of it, so a crash between batches neither
    /// loses nor duplicates a line: ingestion resumes from the checkpoints.
    fn ingest(&self, batch: &IngestBatch<'_>) -> Result<IngestOutcome>;
    /// Checkpoints as written by the last committed [`Store::ingest`] (opaque to the store).
    fn checkpoints(&self) -> Result<Vec<(String, String)>>;
    /// Forget the checkpoint of a source key (e.g. a source removed from the config).
    fn delete_checkpoint(&self, key: &str) -> Result<()>;

    // ---- events -----------------------------------------------------------
    /// Newest first, keyset-paginated.
    fn query_events(&self, q: &EventQuery) -> Result<Page<EventRecord>>;
    fn event(&self, id: i64) -> Result<Option<EventRecord>>;
    /// What is known about one IP: first/last seen, event count, flagged count.
    fn ip_summary(&self, ip: IpAddr) -> Result<IpSummary>;
    /// Delete events older than the age limit and beyond the count limit
    /// (oldest first). Returns how many were deleted.
    fn prune(&self, retention: &Retention, now_ms: i64) -> Result<u64>;
    /// Number of stored events (may be served from a counter, must be exact).
    fn event_count(&self) -> Result<u64>;

    // ---- stats ------------------------------------------------------------
    /// Dashboards' numbers for a time range, from rollups (never a scan of the events table).
    fn stats(&self, q: &StatsQuery) -> Result<Stats>;

    // ---- alerts and incidents --------------------------------------------
    fn alerts(&self, q: &AlertQuery) -> Result<Page<AlertRecord>>;
    fn incidents(&self, q: &IncidentQuery) -> Result<Page<Incident>>;
    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>>;
    /// Apply one workflow change; records it in the incident's activity timeline.
    /// Refuses transitions the workflow does not allow with [`StoreError::Conflict`].
    fn update_incident(
        &self,
        id: i64,
        change: &IncidentChange,
        actor: &str,
        now_ms: i64,
    ) -> Result<IncidentDetail>;

    // ---- blocking ---------------------------------------------------------
    fn add_block(&self, block: &NewBlock) -> Result<Block>;
    /// Lift every active block equal to `net`. Returns the blocks lifted.
    fn remove_block(&self, net: IpNet, actor: &str, now_ms: i64) -> Result<Vec<Block>>;
    /// Blocks in force at `now_ms` (not lifted, not expired).
    fn active_blocks(&self, now_ms: i64) -> Result<Vec<Block>>;
    /// Blocks that expired since the last call (expires_ms <= now, not yet
    /// marked): marks them lifted by "expiry" and returns them, so enforcers
    /// can be told exactly once.
    fn expire_blocks(&self, now_ms: i64) -> Result<Vec<Block>>;
    /// All blocks, newest first, including lifted ones.
    fn block_history(&self, page: &PageRequest) -> Result<Page<Block>>;
    fn allowlist(&self) -> Result<Vec<AllowEntry>>;
    fn add_allow(&self, entry: &NewAllowEntry) -> Result<AllowEntry>;
    fn remove_allow(&self, id: i64) -> Result<bool>;

    // ---- users, sessions, tokens -----------------------------------------
    fn create_user(&self, user: &NewUser) -> Result<User>;
    fn users(&self) -> Result<Vec<User>>;
    fn user(&self, id: i64) -> Result<Option<User>>;
    /// The user and their password hash, for login.
    fn user_credentials(&self, name: &str) -> Result<Option<(User, String)>>;
    fn update_user(&self, id: i64, change: &UserChange) -> Result<User>;
    fn delete_user(&self, id: i64) -> Result<bool>;
    fn user_count(&self) -> Result<u64>;

    fn create_session(&self, session: &Session) -> Result<()>;
    /// A session by the hash of its cookie value, with its user, if not expired.
    fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<(Session, User)>>;
    fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Drop every session of a user (password change, role change, deletion).
    fn delete_user_sessions(&self, user_id: i64) -> Result<()>;

    fn create_token(&self, token: &NewApiToken) -> Result<ApiToken>;
    /// A token by the hash of its secret, with its user; updates `last_used_ms`.
    fn token(&self, secret_hash: &str, now_ms: i64) -> Result<Option<(ApiToken, User)>>;
    fn tokens(&self) -> Result<Vec<ApiToken>>;
    fn revoke_token(&self, id: i64) -> Result<bool>;

    // ---- reports and delivery ---------------------------------------------
    fn save_report(&self, report: &NewReport) -> Result<ReportMeta>;
    /// Newest first.
    fn reports(&self, page: &PageRequest) -> Result<Page<ReportMeta>>;
    /// A report and its document (JSON).
    fn report(&self, id: i64) -> Result<Option<(ReportMeta, String)>>;
    /// The report of the latest period made by `trigger`.
    fn last_report(&self, trigger: ReportTrigger) -> Result<Option<ReportMeta>>;

    /// Queue a message; `None` when its dedupe key is already in the outbox.
    fn enqueue(&self, msg: &NewOutboxMessage) -> Result<Option<OutboxEntry>>;
    /// Pending messages due at `now_ms`, oldest first, with their payloads.
    fn due_messages(&self, now_ms: i64, limit: u32) -> Result<Vec<(OutboxEntry, String)>>;
    /// Delivered: also records the recipients on the report it carried.
    fn mark_sent(&self, id: i64, now_ms: i64) -> Result<()>;
    /// An attempt failed: retry at `retry_at_ms`, or give up (`None`: dead).
    fn mark_failed(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<()>;
    fn outbox(&self, q: &OutboxQuery) -> Result<Page<OutboxEntry>>;
    fn outbox_counts(&self) -> Result<OutboxCounts>;
    /// Make a pending or dead message due now (sent ones are refused).
    fn retry_message(&self, id: i64, now_ms: i64) -> Result<OutboxEntry>;

    // ---- audit ------------------------------------------------------------
    fn audit(&self, entry: &NewAuditEntry) -> Result<()>;
    fn audit_log(&self, page: &PageRequest) -> Result<Page<AuditEntry>>;
}
