//! The report document: what every renderer (HTML, text, JSON, CSV, PDF)
//! draws. It is built either from the store (`secmo serve`, a period of
//! live data) or from an analysis of log files (`secmo report --input`), and
//! stored as JSON so a stored report can be rendered again later in any
//! format and language. Every string in it may come from a log line
//! (attacker-controlled): renderers escape it for their format.
//!
//! Times are milliseconds since the Unix epoch (UTC).

use serde::{Deserialize, Serialize};

/// Bumped when the document changes shape incompatibly.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReportDoc {
    pub version: u32,
    /// Set once the report is stored (`None` for a report built from files).
    pub id: Option<i64>,
    pub generated_ms: i64,
    pub period_start_ms: i64,
    pub period_end_ms: i64,
    /// What was watched: the host name for `serve`, the file names for `--input`.
    pub scope: String,
    /// `none`, `info`, `low`, `medium`, `high`, `critical` (the highest
    /// severity among the period's incidents).
    pub threat_level: String,
    pub summary: PeriodSummary,
    /// The period before, of the same length, to say what changed (absent
    /// for reports built from files).
    pub previous: Option<PeriodSummary>,
    /// Most severe first, then most recent.
    pub incidents: Vec<ReportIncident>,
    /// Incidents not listed in `incidents` (the list is capped).
    pub incidents_omitted: u64,
    pub top_attackers: Vec<Attacker>,
    /// Flagged events per attack category (`sqli`, `brute_force`, …), largest first.
    pub categories: Vec<Count>,
    pub timeline: Timeline,
    pub analytics: ReportAnalytics,
}

/// Counts for one period (the report's, or the one before it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PeriodSummary {
    pub events: u64,
    pub flagged_events: u64,
    /// Incidents (grouped alerts) active in the period.
    pub incidents: u64,
    /// Of which severity high or critical.
    pub high_or_worse: u64,
    /// Distinct attacker IPs (sources of flagged events / alerts).
    pub attackers: u64,
    /// IPs blocked at the end of the period.
    pub blocked_ips: u64,
    /// Incidents per severity, `critical` first; zero counts left out.
    pub by_severity: Vec<Count>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReportIncident {
    /// The store's incident id (absent for reports built from files).
    pub id: Option<i64>,
    pub rule_id: String,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub source_ip: Option<String>,
    pub user: Option<String>,
    /// Workflow status (`new`, `triaged`, …); absent for reports built from files.
    pub status: Option<String>,
    pub count: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub description: String,
    pub recommendation: String,
    /// The rule's response steps, in order ("what to do").
    pub response: Vec<String>,
    /// A few evidence lines (first and last).
    pub evidence: Vec<EvidenceLine>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EvidenceLine {
    pub file: String,
    pub line: u64,
    pub raw: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Attacker {
    pub ip: String,
    /// Events from this IP in the period.
    pub requests: u64,
    /// Of which flagged by a rule.
    pub flagged: u64,
    /// Attack categories seen from this IP.
    pub categories: Vec<String>,
    pub blocked: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Timeline {
    pub bucket_ms: i64,
    pub points: Vec<TimelinePoint>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TimelinePoint {
    pub t_ms: i64,
    pub events: u64,
    pub flagged: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReportAnalytics {
    pub top_pages: Vec<Count>,
    pub top_referrers: Vec<Count>,
    /// `2xx`, `3xx`, `4xx`, `5xx` (and `none` for events without a status).
    pub status_classes: Vec<Count>,
    /// Events per kind (`http`, `auth`, `app`, `db`, `system`).
    pub by_kind: Vec<Count>,
}
