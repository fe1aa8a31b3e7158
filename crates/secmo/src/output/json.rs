//! JSON (the whole report) and NDJSON (one object per line). serde_json
//! escapes every string, control characters included, so log text cannot
//! break out of its value or the line.

use secmo_detect::analytics::AnalyticsReport;
use secmo_detect::{InputSummary, MatchRecord, Report, ThreatLevel};
use serde::Serialize;
use std::io::{self, Write};

pub(super) fn render_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

/// One object with a `type` tag before the object's own fields.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

#[derive(Serialize)]
struct Summary<'a> {
    threat_level: ThreatLevel,
    period_start: &'a Option<String>,
    period_end: &'a Option<String>,
    rules_loaded: usize,
    alerts: usize,
    analytics: &'a AnalyticsReport,
    inputs: &'a [InputSummary],
}

fn line<T: Serialize>(kind: &'static str, inner: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &Tagged { kind, inner })?;
    out.write_all(b"\n")
}

pub(super) fn render_ndjson(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for alert in &report.alerts {
        line("alert", alert, out)?;
    }
    for rec in report.matches.iter().flatten() {
        line("match", rec, out)?;
    }
    let summary = Summary {
        threat_level: report.threat_level,
        period_start: &report.period_start,
        period_end: &report.period_end,
        rules_loaded: report.rules_loaded,
        alerts: report.alerts.len(),
        analytics: &report.analytics,
        inputs: &report.inputs,
    };
    line("summary", &summary, out)
}

/// One `{"type":"match",...}` line, for streaming `--format ndjson --matches`.
pub fn write_match_ndjson(rec: &MatchRecord, out: &mut dyn Write) -> io::Result<()> {
    line("match", rec, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::{SCRIPT, hostile_report};
    use serde_json::Value;

    #[test]
    fn json_round_trips_with_documented_keys() {
        let report = hostile_report();
        let mut buf = Vec::new();
        render_json(&report, &mut buf).unwrap_or_default();
        assert_eq!(buf.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&buf).unwrap_or_default();
        for key in [
            "threat_level",
            "period_start",
            "period_end",
            "rules_loaded",
            "alerts",
            "analytics",
            "inputs",
            "matches",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["threat_level"], "critical");
        let alert = &v["alerts"][0];
        for key in [
            "rule_id",
            "title",
            "category",
            "severity",
            "source_ip",
            "user",
            "first_seen",
            "last_seen",
            "count",
            "evidence",
            "description",
            "recommendation",
            "response",
        ] {
            assert!(alert.get(key).is_some(), "missing alerts[].{key}");
        }
        assert_eq!(alert["evidence"][0]["file"], "access.log");
        assert!(alert["evidence"][0].get("input").is_none());
        let raw = alert["evidence"][0]["raw"].as_str().unwrap_or_default();
        assert!(raw.contains(SCRIPT) && raw.contains('\x1b'));
        // No raw control bytes in the document itself.
        assert!(!buf.contains(&0x1b));
        assert_eq!(v["analytics"]["totals"]["events"], 1000);
    }

    fn keys(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone());
                    keys(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_field_is_documented() {
        let doc = include_str!("../../../../docs/json-schema.md");
        let mut report = hostile_report();
        // Fill the lists the fixture leaves empty, so their fields are checked too.
        report.analytics = {
            let mut a = secmo_detect::analytics::Analytics::default();
            let ev = secmo_event::Event {
                timestamp_ms: Some(0),
                kind: secmo_event::EventKind::Auth,
                action: secmo_event::Action::LoginFailure,
                source_ip: "192.0.2.1".parse().ok(),
                user: "root".into(),
                ..Default::default()
            };
            a.observe(&ev);
            a.finish()
        };
        let mut found = std::collections::BTreeSet::new();
        keys(
            &serde_json::to_value(&report).unwrap_or_default(),
            &mut found,
        );
        assert!(found.contains("top_failed_users") && found.contains("successes"));
        for key in found {
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/json-schema.md lacks `{key}`"
            );
        }
    }

    #[test]
    fn ndjson_has_alerts_then_summary_one_per_line() {
        let report = hostile_report();
        let mut buf = Vec::new();
        render_ndjson(&report, &mut buf).unwrap_or_default();
        let text = String::from_utf8(buf).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect();
        // 3 alerts, 1 match, 1 summary: the newline in evidence did not split a line.
        assert_eq!(lines.len(), 5);
        assert!(lines[..3].iter().all(|l| l["type"] == "alert"));
        assert_eq!(lines[0]["rule_id"], "web-sqli-union");
        assert_eq!(lines[3]["type"], "match");
        let summary = &lines[4];
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["threat_level"], "critical");
        assert!(summary["analytics"]["timeline"]["buckets"].is_array());
        assert_eq!(summary["inputs"][0]["lines"], 1010);
    }

    #[test]
    fn match_record_line() {
        let report = hostile_report();
        let rec = &report.matches.as_ref().map(|m| m[0].clone());
        let Some(rec) = rec else {
            panic!("fixture has a match");
        };
        let mut buf = Vec::new();
        write_match_ndjson(rec, &mut buf).unwrap_or_default();
        let text = String::from_utf8(buf).unwrap_or_default();
        assert!(text.starts_with("{\"type\":\"match\",\"file\":\"access.log\",\"line\":17"));
        assert!(text.ends_with("}\n"));
        assert_eq!(text.matches('\n').count(), 1);
    }
}
