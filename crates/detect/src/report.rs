//! The result of an analysis: what every output format renders.
//! Field names here are the documented JSON schema (see docs/json-schema.md).

use crate::analytics::AnalyticsReport;
use secmo_event::{Category, Severity};
use serde::Serialize;

/// The overall threat level: the highest alert severity, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreatLevel {
    None,
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl ThreatLevel {
    pub fn from_severity(s: Severity) -> Self {
        match s {
            Severity::Info => ThreatLevel::Info,
            Severity::Low => ThreatLevel::Low,
            Severity::Medium => ThreatLevel::Medium,
            Severity::High => ThreatLevel::High,
            Severity::Critical => ThreatLevel::Critical,
        }
    }

    /// The highest severity among `alerts`.
    pub fn of(alerts: &[Alert]) -> Self {
        alerts
            .iter()
            .map(|a| ThreatLevel::from_severity(a.severity))
            .max()
            .unwrap_or(ThreatLevel::None)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ThreatLevel::None => "none",
            ThreatLevel::Info => "info",
            ThreatLevel::Low => "low",
            ThreatLevel::Medium => "medium",
            ThreatLevel::High => "high",
            ThreatLevel::Critical => "critical",
        }
    }
}

/// A line that shows what an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Index of the input in the run; resolved to `file` when the report is built.
    #[serde(skip)]
    pub input: u32,
    pub file: String,
    pub line: u64,
    pub raw: String,
}

/// One alert per rule and attacker, however many events matched.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub rule_id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub source_ip: Option<String>,
    pub user: Option<String>,
    /// RFC 3339 UTC; `null` when the events had no timestamps.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Matching events (signature rules) or events counted in windows that crossed the threshold.
    pub count: u64,
    pub evidence: Vec<Evidence>,
    pub description: String,
    pub recommendation: String,
    pub response: Vec<String>,
}

/// One unparsed line kept as an example.
#[derive(Debug, Clone, Serialize)]
pub struct UnparsedSample {
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

/// How one input went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputSummary {
    pub file: String,
    pub format: String,
    pub bytes: u64,
    pub lines: u64,
    /// Lines that produced an event.
    pub parsed: u64,
    /// Lines understood but carrying no event (headers, continuation lines, blank lines).
    pub skipped: u64,
    /// Lines that could not be parsed (malformed, oversized, undecodable).
    pub unparsed: u64,
    /// A few unparsed lines, for the user to see why.
    pub unparsed_samples: Vec<UnparsedSample>,
    /// A read error that ended the input early (truncated gzip, I/O error).
    pub error: Option<String>,
}

/// One record per event that matched a rule (for `--matches`).
#[derive(Debug, Clone, Serialize)]
pub struct MatchRecord {
    pub file: String,
    pub line: u64,
    pub rule_ids: Vec<String>,
    pub categories: Vec<Category>,
    pub source_ip: Option<String>,
}

/// The whole result of an analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub threat_level: ThreatLevel,
    /// RFC 3339 UTC of the first and last event timestamps seen.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub rules_loaded: usize,
    /// Sorted by severity (highest first), then count.
    pub alerts: Vec<Alert>,
    pub analytics: AnalyticsReport,
    pub inputs: Vec<InputSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<MatchRecord>>,
}

impl Report {
    pub fn alert_counts_by_severity(&self) -> [(Severity, usize); 5] {
        let mut out = [
            (Severity::Critical, 0),
            (Severity::High, 0),
            (Severity::Medium, 0),
            (Severity::Low, 0),
            (Severity::Info, 0),
        ];
        for a in &self.alerts {
            if let Some(slot) = out.iter_mut().find(|(s, _)| *s == a.severity) {
                slot.1 += 1;
            }
        }
        out
    }
}
