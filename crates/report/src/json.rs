//! The JSON report for users and tools (the stored form is the plain
//! `serde_json` of [`ReportDoc`]; this is the documented, friendlier shape).
//!
//! ```text
//! {
//!   "report": { "id", "version", "generated", "period_start", "period_end", "scope" },
//!   "threat_level": "none" | "info" | "low" | "medium" | "high" | "critical",
//!   "summary": { "events", "flagged_events", "incidents", "high_or_worse",
//!                "attackers", "blocked_ips", "by_severity": [ {"key", "count"} ] },
//!   "changes": {                       // only when the previous period is known
//!     "events" | "flagged_events" | "incidents" | "attackers" | "high_or_worse":
//!       { "previous", "current", "change_percent" }   // null: was 0, now > 0
//!   },
//!   "anomalies_detected": [ { "type" (category), "severity", "title", "description",
//!       "recommendation", "rule_id", "incident_id", "source_ip", "user", "count",
//!       "first_seen", "last_seen", "status", "response": [..],
//!       "evidence": [ {"file", "line", "raw"} ] } ],
//!   "anomalies_omitted": 0,
//!   "top_attackers": [ {"ip", "requests", "flagged", "categories", "blocked"} ],
//!   "categories": [ {"key", "count"} ],
//!   "timeline": { "bucket_seconds", "points": [ {"start", "events", "flagged"} ] },
//!   "analytics": { "top_pages", "top_referrers", "status_classes", "by_kind" }
//! }
//! ```
//! Times are RFC 3339 UTC (`2026-11-22T06:00:00Z`). Strings are exactly as in
//! the document: JSON escaping makes them safe to parse, not to display.

use crate::i18n::format_rfc3339;
use crate::model::{Attacker, Count, EvidenceLine, PeriodSummary, ReportAnalytics, ReportDoc};
use crate::view::{self, Delta};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct JsonReport<'a> {
    report: Meta<'a>,
    threat_level: &'a str,
    summary: &'a PeriodSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<BTreeMap<&'static str, JsonChange>>,
    anomalies_detected: Vec<Anomaly<'a>>,
    anomalies_omitted: u64,
    top_attackers: &'a [Attacker],
    categories: &'a [Count],
    timeline: JsonTimeline,
    analytics: &'a ReportAnalytics,
}

#[derive(Serialize)]
struct Meta<'a> {
    id: Option<i64>,
    version: u32,
    generated: String,
    period_start: String,
    period_end: String,
    scope: &'a str,
}

#[derive(Serialize)]
struct JsonChange {
    previous: u64,
    current: u64,
    change_percent: Option<i64>,
}

#[derive(Serialize)]
struct Anomaly<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    severity: &'a str,
    title: &'a str,
    description: &'a str,
    recommendation: &'a str,
    rule_id: &'a str,
    incident_id: Option<i64>,
    source_ip: Option<&'a str>,
    user: Option<&'a str>,
    count: u64,
    first_seen: String,
    last_seen: String,
    status: Option<&'a str>,
    response: &'a [String],
    evidence: &'a [EvidenceLine],
}

#[derive(Serialize)]
struct JsonTimeline {
    bucket_seconds: i64,
    points: Vec<JsonPoint>,
}

#[derive(Serialize)]
struct JsonPoint {
    start: String,
    events: u64,
    flagged: u64,
}

/// The JSON keys of the "changes" rows, by their catalogue label.
fn change_key(label: &str) -> &'static str {
    match label {
        "summary.events" => "events",
        "summary.flagged" => "flagged_events",
        "summary.incidents" => "incidents",
        "summary.attackers" => "attackers",
        _ => "high_or_worse",
    }
}

/// Render the report as pretty-printed JSON (shape above).
pub fn render_json(doc: &ReportDoc) -> String {
    let changes = view::changes(doc).map(|rows| {
        rows.iter()
            .map(|c| {
                let pct = match c.delta() {
                    Delta::Same => Some(0),
                    Delta::New => None,
                    Delta::Up(p) => Some(i64::try_from(p).unwrap_or(i64::MAX)),
                    Delta::Down(p) => Some(-i64::try_from(p).unwrap_or(i64::MAX)),
                };
                (
                    change_key(c.label),
                    JsonChange {
                        previous: c.previous,
                        current: c.current,
                        change_percent: pct,
                    },
                )
            })
            .collect()
    });
    let j = JsonReport {
        report: Meta {
            id: doc.id,
            version: doc.version,
            generated: format_rfc3339(doc.generated_ms),
            period_start: format_rfc3339(doc.period_start_ms),
            period_end: format_rfc3339(doc.period_end_ms),
            scope: &doc.scope,
        },
        threat_level: &doc.threat_level,
        summary: &doc.summary,
        changes,
        anomalies_detected: doc
            .incidents
            .iter()
            .map(|i| Anomaly {
                kind: &i.category,
                severity: &i.severity,
                title: &i.title,
                description: &i.description,
                recommendation: &i.recommendation,
                rule_id: &i.rule_id,
                incident_id: i.id,
                source_ip: i.source_ip.as_deref(),
                user: i.user.as_deref(),
                count: i.count,
                first_seen: format_rfc3339(i.first_seen_ms),
                last_seen: format_rfc3339(i.last_seen_ms),
                status: i.status.as_deref(),
                response: &i.response,
                evidence: &i.evidence,
            })
            .collect(),
        anomalies_omitted: doc.incidents_omitted,
        top_attackers: &doc.top_attackers,
        categories: &doc.categories,
        timeline: JsonTimeline {
            bucket_seconds: doc.timeline.bucket_ms / 1000,
            points: doc
                .timeline
                .points
                .iter()
                .map(|p| JsonPoint {
                    start: format_rfc3339(p.t_ms),
                    events: p.events,
                    flagged: p.flagged,
                })
                .collect(),
        },
        analytics: &doc.analytics,
    };
    // Serialising these plain structs cannot fail (string keys, no custom
    // serialisers); an empty object would still be valid JSON if it did.
    let mut s = serde_json::to_string_pretty(&j).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    #[test]
    fn documented_shape() {
        let doc = ReportDoc {
            threat_level: "high".into(),
            period_start_ms: 1_795_327_200_000,
            summary: PeriodSummary {
                incidents: 2,
                ..Default::default()
            },
            previous: Some(PeriodSummary {
                incidents: 1,
                events: 10,
                ..Default::default()
            }),
            incidents: vec![ReportIncident {
                category: "sqli".into(),
                severity: "high".into(),
                description: "d".into(),
                recommendation: "r".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&render_json(&doc)).expect("valid JSON");
        assert_eq!(v["threat_level"], "high");
        assert_eq!(v["report"]["period_start"], "2026-11-22T06:00:00Z");
        let a = &v["anomalies_detected"][0];
        for (k, want) in [
            ("type", "sqli"),
            ("severity", "high"),
            ("description", "d"),
            ("recommendation", "r"),
        ] {
            assert_eq!(a[k], want, "{k}");
        }
        assert_eq!(v["changes"]["incidents"]["change_percent"], 100);
        assert_eq!(v["changes"]["events"]["change_percent"], -100);
        assert_eq!(v["changes"]["flagged_events"]["change_percent"], 0);
        let none = ReportDoc {
            previous: None,
            ..doc
        };
        let v: serde_json::Value = serde_json::from_str(&render_json(&none)).expect("valid JSON");
        assert!(v.get("changes").is_none());
    }
}
