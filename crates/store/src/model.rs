//! The records the store keeps and the queries it answers. Serializable:
//! the HTTP API returns them as they are (field names are the API's).

use ipnet::IpNet;
use secmo_detect::report::Alert;
use secmo_event::{Category, Severity};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

// ---- paging -----------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PageRequest {
    /// Opaque, from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1..=1000; 0 means the default (50).
    pub limit: u32,
}

// ---- ingestion --------------------------------------------------------------

/// One event to store. Borrowed: the ingest loop builds these straight from
/// the line buffer without allocating.
#[derive(Debug, Clone, Default)]
pub struct EventRow<'a> {
    pub ts_ms: i64,
    /// The configured source name (e.g. "nginx", "auth").
    pub source: &'a str,
    /// The file the line came from and its 1-based line number there.
    pub file: &'a str,
    pub line: u64,
    /// `event.kind`, `event.action`, `event.outcome` as their snake_case names.
    pub kind: &'a str,
    pub action: &'a str,
    pub outcome: &'a str,
    pub source_ip: Option<IpAddr>,
    pub user: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub referrer: &'a str,
    pub user_agent: &'a str,
    pub raw: &'a str,
    /// Ids of the rules that flagged this event (empty for most).
    pub rules: &'a [&'a str],
    /// The attack categories of those rules (same order, may repeat).
    pub categories: &'a [Category],
    /// The source IP was blocked when the event arrived.
    pub blocked: bool,
}

/// Alerts drained from one source's engine since the last batch: the same
/// grouping (rule × attacker) as `secmo analyze`, with counts for this batch only.
#[derive(Debug, Clone)]
pub struct AlertDelta {
    pub source: String,
    pub alert: Alert,
    /// Parsed `alert.first_seen` / `last_seen` (ingestion time when the events had none).
    pub first_ms: i64,
    pub last_ms: i64,
}

impl AlertDelta {
    /// A drained alert with its RFC 3339 first/last seen parsed; `now_ms`
    /// stands in for times the events did not have.
    pub fn new(source: &str, alert: Alert, now_ms: i64) -> AlertDelta {
        let parse = |s: &Option<String>| {
            s.as_deref()
                .and_then(|t| secmo_event::parse_rfc3339(t).map(|(ms, _)| ms))
                .unwrap_or(now_ms)
        };
        AlertDelta {
            source: source.to_string(),
            first_ms: parse(&alert.first_seen),
            last_ms: parse(&alert.last_seen),
            alert,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IngestBatch<'a> {
    pub events: &'a [EventRow<'a>],
    pub alerts: &'a [AlertDelta],
    /// (source key, checkpoint) pairs to persist with the batch; opaque strings.
    pub checkpoints: &'a [(String, String)],
    /// Alerts of the same rule and attacker update the incident last seen
    /// within this many ms (and not resolved/closed); otherwise a new incident opens.
    pub incident_window_ms: i64,
    /// Wall-clock time of the batch (for created/updated stamps).
    pub now_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestOutcome {
    /// Ids assigned to the batch's events, in order.
    pub first_event_id: i64,
    pub events: u64,
    /// One entry per alert delta: the incident it went into.
    pub incidents: Vec<IncidentTouch>,
}

/// An incident created or updated by ingestion (drives notifications,
/// automatic blocking and the live stream).
#[derive(Debug, Clone, Serialize)]
pub struct IncidentTouch {
    pub incident_id: i64,
    pub alert_id: i64,
    pub created: bool,
    pub rule_id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub source_ip: Option<IpAddr>,
    pub user: Option<String>,
    /// Total count of the incident after this update.
    pub count: u64,
    pub status: IncidentStatus,
}

// ---- events -----------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: i64,
    pub ts_ms: i64,
    pub source: String,
    pub file: String,
    pub line: u64,
    pub kind: String,
    pub action: String,
    pub outcome: String,
    pub source_ip: Option<IpAddr>,
    pub user: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub referrer: String,
    pub user_agent: String,
    pub raw: String,
    pub rules: Vec<String>,
    pub categories: Vec<Category>,
    pub blocked: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventQuery {
    pub ip: Option<IpAddr>,
    pub user: Option<String>,
    pub kind: Option<String>,
    pub source: Option<String>,
    /// Exact status code, or a class: 4 means 400..=499.
    pub status: Option<u16>,
    pub status_class: Option<u8>,
    pub category: Option<Category>,
    /// Only events some rule flagged.
    pub flagged: bool,
    /// Inclusive lower and exclusive upper bound on `ts_ms`.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Case-insensitive substring of the raw line.
    pub text: Option<String>,
    pub page: PageRequest,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IpSummary {
    pub ip: Option<IpAddr>,
    pub events: u64,
    pub flagged_events: u64,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Retention {
    pub max_age_days: Option<u32>,
    pub max_events: Option<u64>,
}

// ---- stats ------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatsQuery {
    pub since_ms: i64,
    pub until_ms: i64,
    /// Timeline bucket width; 0 picks one giving at most ~120 buckets (minimum 1 minute).
    pub bucket_ms: i64,
    /// Length of each top list; 0 means 10.
    pub top: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counted {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub t_ms: i64,
    pub events: u64,
    pub flagged: u64,
    /// Events per attack category in the bucket (only non-zero ones).
    pub categories: Vec<Counted>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    pub since_ms: i64,
    pub until_ms: i64,
    pub bucket_ms: i64,
    pub events: u64,
    pub flagged_events: u64,
    pub bytes: u64,
    /// By `event.kind`.
    pub by_kind: Vec<Counted>,
    /// "1xx".."5xx" and "none" for events without a status.
    pub by_status_class: Vec<Counted>,
    /// Flagged events by attack category.
    pub by_category: Vec<Counted>,
    pub timeline: Vec<TimelinePoint>,
    pub top_ips: Vec<Counted>,
    pub top_paths: Vec<Counted>,
    pub top_referrers: Vec<Counted>,
    /// Top IPs among flagged events.
    pub top_attackers: Vec<Counted>,
    /// Alerts (deltas merged into alert rows) last seen in the range, by severity and category.
    pub alerts_by_severity: Vec<Counted>,
    pub alerts_by_category: Vec<Counted>,
    /// Current state, independent of the range.
    pub incidents_by_status: Vec<Counted>,
    pub open_incidents_by_severity: Vec<Counted>,
    pub active_blocks: u64,
}

// ---- alerts and incidents ---------------------------------------------------

/// Workflow: new → triaged → investigating → contained → resolved → closed.
/// Any open state may jump forward (e.g. new → resolved for a quick fix);
/// going back is allowed only to re-open a resolved or closed incident as investigating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    New,
    Triaged,
    Investigating,
    Contained,
    Resolved,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 6] = [
        IncidentStatus::New,
        IncidentStatus::Triaged,
        IncidentStatus::Investigating,
        IncidentStatus::Contained,
        IncidentStatus::Resolved,
        IncidentStatus::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::New => "new",
            IncidentStatus::Triaged => "triaged",
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
    /// Still needs attention (new alerts keep updating it).
    pub fn is_open(self) -> bool {
        !matches!(self, IncidentStatus::Resolved | IncidentStatus::Closed)
    }
    pub fn can_move_to(self, to: IncidentStatus) -> bool {
        if self.is_open() {
            to > self
        } else {
            to == IncidentStatus::Investigating
                || (self == IncidentStatus::Resolved && to == IncidentStatus::Closed)
        }
    }
}

/// The analyst's verdict at triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    TruePositive,
    FalsePositive,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub file: String,
    pub line: u64,
    pub raw: String,
}

/// Alerts of one rule and attacker from one source within one incident
/// (deltas merged: counts added, first 3 + last 2 evidence lines kept).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: i64,
    pub incident_id: i64,
    pub source: String,
    pub rule_id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub source_ip: Option<IpAddr>,
    pub user: Option<String>,
    pub count: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub evidence: Vec<EvidenceRecord>,
    pub description: String,
    pub recommendation: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertQuery {
    pub rule_id: Option<String>,
    pub ip: Option<IpAddr>,
    pub user: Option<String>,
    pub min_severity: Option<Severity>,
    pub category: Option<Category>,
    pub incident_id: Option<i64>,
    /// On `last_seen_ms`.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub page: PageRequest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub rule_id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub source_ip: Option<IpAddr>,
    pub user: Option<String>,
    pub status: IncidentStatus,
    pub verdict: Option<Verdict>,
    pub assignee: Option<String>,
    pub count: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub step: String,
    pub done: bool,
    pub done_by: Option<String>,
    pub done_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    pub id: i64,
    pub author: String,
    pub text: String,
    pub created_ms: i64,
}

/// One line of an incident's "who did what" timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    pub id: i64,
    pub at_ms: i64,
    /// User name, or "secmo" for the system.
    pub actor: String,
    /// created, status, verdict, assign, note, checklist, severity, block …
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub description: String,
    pub recommendation: String,
    pub checklist: Vec<ChecklistItem>,
    pub notes: Vec<Note>,
    pub activity: Vec<Activity>,
    pub alerts: Vec<AlertRecord>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    /// Only open ones (not resolved/closed).
    pub open: bool,
    pub min_severity: Option<Severity>,
    pub category: Option<Category>,
    pub rule_id: Option<String>,
    pub ip: Option<IpAddr>,
    pub user: Option<String>,
    pub assignee: Option<String>,
    /// Only incidents active in a time range: last seen at or after `active_since_ms`
    /// and first seen before `active_until_ms`.
    pub active_since_ms: Option<i64>,
    pub active_until_ms: Option<i64>,
    /// "last_seen" (default), "first_seen", "severity", "count" — always descending.
    pub sort: Option<String>,
    pub page: PageRequest,
}

/// One change through the API. Each applied field adds an [`Activity`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncidentChange {
    pub status: Option<IncidentStatus>,
    /// Setting a verdict on a `new` incident also moves it to `triaged`.
    pub verdict: Option<Verdict>,
    /// `Some("")` clears the assignee.
    pub assignee: Option<String>,
    pub note: Option<String>,
    /// (index into the checklist, done)
    pub checklist: Option<(usize, bool)>,
    /// An action recorded by the caller (e.g. "block" with the IP as detail).
    pub activity: Option<(String, String)>,
}

// ---- blocking ---------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewBlock {
    pub net: IpNet,
    pub reason: String,
    /// User name, or "policy" for automatic blocks.
    pub created_by: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub rule_id: Option<String>,
    pub incident_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Block {
    pub id: i64,
    pub net: IpNet,
    pub reason: String,
    pub created_by: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub rule_id: Option<String>,
    pub incident_id: Option<i64>,
    /// When and by whom it was lifted ("expiry" when it expired).
    pub lifted_ms: Option<i64>,
    pub lifted_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewAllowEntry {
    pub net: IpNet,
    pub note: String,
    pub created_by: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllowEntry {
    pub id: i64,
    pub net: IpNet,
    pub note: String,
    pub created_by: String,
    pub created_ms: i64,
}

// ---- users, sessions, tokens -------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Analyst,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::Analyst, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// PHC string (argon2id), computed by the caller.
    pub password_hash: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserChange {
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 (hex) of the cookie value; the value itself is never stored.
    pub id_hash: String,
    pub user_id: i64,
    /// Sent back to the browser, required in the `x-csrf-token` header of changes.
    pub csrf_token: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    /// SHA-256 (hex) of the secret.
    pub secret_hash: String,
    /// First characters of the secret, shown in lists to tell tokens apart.
    pub prefix: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub name: String,
    pub prefix: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
    pub revoked: bool,
}

// ---- audit ------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub at_ms: i64,
    pub actor: String,
    pub ip: Option<IpAddr>,
    /// e.g. "block.add", "incident.update", "user.create", "login.failure"
    pub action: String,
    pub target: String,
    /// JSON text with the request's relevant fields (never a password or secret).
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub ip: Option<IpAddr>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

// ---- reports and delivery ---------------------------------------------------

/// Why a report was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportTrigger {
    /// By the report schedule.
    Schedule,
    /// On demand (dashboard, API, CLI).
    Manual,
}

impl ReportTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportTrigger::Schedule => "schedule",
            ReportTrigger::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub created_ms: i64,
    pub period_start_ms: i64,
    pub period_end_ms: i64,
    pub trigger: ReportTrigger,
    pub requested_by: String,
    pub threat_level: String,
    pub incidents: u64,
    pub events: u64,
    pub flagged_events: u64,
    pub language: String,
    /// The report document as JSON (opaque to the store).
    pub doc_json: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportMeta {
    pub id: i64,
    pub created_ms: i64,
    pub period_start_ms: i64,
    pub period_end_ms: i64,
    pub trigger: ReportTrigger,
    pub requested_by: String,
    pub threat_level: String,
    pub incidents: u64,
    pub events: u64,
    pub flagged_events: u64,
    pub language: String,
    /// Addresses whose copy the mail server accepted.
    pub delivered_to: Vec<String>,
}

/// Where a message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its (next) attempt; `last_error` says why an earlier one failed.
    Pending,
    Sent,
    /// Refused for good, or out of attempts.
    Dead,
}

impl OutboxStatus {
    pub fn parse(s: &str) -> Option<OutboxStatus> {
        match s {
            "pending" => Some(OutboxStatus::Pending),
            "sent" => Some(OutboxStatus::Sent),
            "dead" => Some(OutboxStatus::Dead),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOutboxMessage {
    pub created_ms: i64,
    /// `email`, `slack`, `telegram`, `webhook`.
    pub channel: String,
    /// `report`, `incident`, `digest`, `test`.
    pub kind: String,
    /// Who receives it, for display (addresses, "slack", a chat id, a URL host).
    pub target: String,
    pub subject: String,
    /// The message itself (opaque to the store).
    pub payload: String,
    /// A message with a key already in the outbox is not queued again.
    pub dedupe_key: Option<String>,
    /// The stored report this message delivers.
    pub report_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub created_ms: i64,
    pub channel: String,
    pub kind: String,
    pub target: String,
    pub subject: String,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_ms: Option<i64>,
    pub last_error: Option<String>,
    pub sent_ms: Option<i64>,
    pub report_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutboxQuery {
    pub status: Option<OutboxStatus>,
    pub page: PageRequest,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    /// Pending messages whose last attempt failed.
    pub failing: u64,
    pub sent: u64,
    pub dead: u64,
}
