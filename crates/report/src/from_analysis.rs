//! Building a [`ReportDoc`] from an analysis of log files
//! (`secmo report --input …`): each alert becomes an incident (no id, no
//! workflow status), the analytics give the traffic numbers. There is no
//! previous period and no blocking here.

use crate::model::*;
use secmo_detect::{Alert, Report, Severity};
use std::collections::{BTreeMap, HashMap};

/// Incidents listed in a report; the rest are counted in `incidents_omitted`.
pub const MAX_INCIDENTS: usize = 200;
/// Attackers listed.
const MAX_ATTACKERS: usize = 20;

fn parse_ms(s: Option<&str>) -> Option<i64> {
    s?.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// Build the document for `report`, generated at `generated_ms`, watching
/// `scope` (the input file names).
pub fn from_analysis(report: &Report, scope: &str, generated_ms: i64) -> ReportDoc {
    let period_start_ms = parse_ms(report.period_start.as_deref()).unwrap_or(generated_ms);
    let period_end_ms = parse_ms(report.period_end.as_deref()).unwrap_or(generated_ms);
    let totals = &report.analytics.totals;

    // Most severe first, then most events; stable, so the analysis' own order
    // breaks ties.
    let mut alerts: Vec<&Alert> = report.alerts.iter().collect();
    alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.count.cmp(&a.count)));
    let incidents: Vec<ReportIncident> = alerts
        .iter()
        .take(MAX_INCIDENTS)
        .map(|a| incident(a, period_start_ms, period_end_ms))
        .collect();

    // Flagged events: the exact number of matching events when the analysis
    // kept its match records; otherwise the sum of alert counts, which counts
    // an event matched by two rules twice, so it is capped at the events.
    let alert_sum = report
        .alerts
        .iter()
        .fold(0u64, |s, a| s.saturating_add(a.count));
    let flagged_events = match &report.matches {
        Some(m) => m.len() as u64,
        None => alert_sum.min(totals.events),
    };

    let by_severity = report
        .alert_counts_by_severity()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| Count {
            key: s.as_str().to_string(),
            count: *n as u64,
        })
        .collect();
    let high_or_worse = report
        .alerts
        .iter()
        .filter(|a| a.severity >= Severity::High)
        .count() as u64;

    let top_attackers = attackers(report);
    let attacker_count = report
        .alerts
        .iter()
        .filter_map(|a| a.source_ip.as_deref())
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;

    ReportDoc {
        version: REPORT_VERSION,
        id: None,
        generated_ms,
        period_start_ms,
        period_end_ms,
        scope: scope.to_string(),
        threat_level: report.threat_level.as_str().to_string(),
        summary: PeriodSummary {
            events: totals.events,
            flagged_events,
            incidents: report.alerts.len() as u64,
            high_or_worse,
            attackers: attacker_count,
            blocked_ips: 0,
            by_severity,
        },
        previous: None,
        incidents,
        incidents_omitted: report.alerts.len().saturating_sub(MAX_INCIDENTS) as u64,
        top_attackers,
        categories: categories(report),
        timeline: timeline(report),
        analytics: analytics(report),
    }
}

fn incident(a: &Alert, start: i64, end: i64) -> ReportIncident {
    // Alerts from events without timestamps have no times: the period's
    // bounds are the best statement of when.
    let first = parse_ms(a.first_seen.as_deref()).unwrap_or(start);
    let last = parse_ms(a.last_seen.as_deref()).unwrap_or(end);
    ReportIncident {
        id: None,
        rule_id: a.rule_id.clone(),
        title: a.title.clone(),
        category: a.category.as_str().to_string(),
        severity: a.severity.as_str().to_string(),
        source_ip: a.source_ip.clone(),
        user: a.user.clone(),
        status: None,
        count: a.count,
        first_seen_ms: first,
        last_seen_ms: last,
        description: a.description.clone(),
        recommendation: a.recommendation.clone(),
        response: a.response.clone(),
        evidence: a
            .evidence
            .iter()
            .map(|e| EvidenceLine {
                file: e.file.clone(),
                line: e.line,
                raw: e.raw.clone(),
            })
            .collect(),
    }
}

/// Alerts grouped by source IP. Requests come from the analytics' top source
/// IPs when the IP is among them; otherwise the flagged count is the best
/// known lower bound.
fn attackers(report: &Report) -> Vec<Attacker> {
    let requests: HashMap<&str, u64> = report
        .analytics
        .top_source_ips
        .entries
        .iter()
        .map(|e| (e.value.as_str(), e.count))
        .collect();
    let mut by_ip: BTreeMap<&str, (u64, Vec<String>)> = BTreeMap::new();
    for a in &report.alerts {
        let Some(ip) = a.source_ip.as_deref() else {
            continue;
        };
        let e = by_ip.entry(ip).or_default();
        e.0 = e.0.saturating_add(a.count);
        let c = a.category.as_str();
        if !e.1.iter().any(|x| x == c) {
            e.1.push(c.to_string());
        }
    }
    let mut out: Vec<Attacker> = by_ip
        .into_iter()
        .map(|(ip, (flagged, categories))| {
            let req = requests.get(ip).copied().unwrap_or(flagged);
            Attacker {
                ip: ip.to_string(),
                requests: req,
                // Alert counts may count an event twice (two rules): never
                // more flagged than requests.
                flagged: flagged.min(req),
                categories,
                blocked: false,
            }
        })
        .collect();
    out.sort_by(|a, b| b.flagged.cmp(&a.flagged).then_with(|| a.ip.cmp(&b.ip)));
    out.truncate(MAX_ATTACKERS);
    out
}

/// Flagged events per category (sum of alert counts), largest first.
fn categories(report: &Report) -> Vec<Count> {
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for a in &report.alerts {
        let e = m.entry(a.category.as_str()).or_default();
        *e = e.saturating_add(a.count);
    }
    let mut out: Vec<Count> = m
        .into_iter()
        .map(|(k, count)| Count {
            key: k.to_string(),
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out
}

/// The analytics timeline. It counts events per bucket but not flagged
/// events, so the flagged share is an estimate: each alert's count spread
/// evenly over the buckets between its first and last sighting, capped at
/// each bucket's events.
fn timeline(report: &Report) -> Timeline {
    let t = &report.analytics.timeline;
    let bucket_ms = i64::try_from(t.bucket_seconds)
        .unwrap_or(0)
        .saturating_mul(1000);
    let mut points: Vec<TimelinePoint> = t
        .buckets
        .iter()
        .filter_map(|b| {
            Some(TimelinePoint {
                t_ms: parse_ms(Some(&b.start))?,
                events: b.events,
                flagged: 0,
            })
        })
        .collect();
    points.sort_by_key(|p| p.t_ms);
    if bucket_ms > 0 && !points.is_empty() {
        for a in &report.alerts {
            let (Some(first), Some(last)) = (
                parse_ms(a.first_seen.as_deref()),
                parse_ms(a.last_seen.as_deref()),
            ) else {
                continue;
            };
            // Buckets whose span [t, t + bucket) meets [first, last].
            let lo = points.partition_point(|p| p.t_ms.saturating_add(bucket_ms) <= first);
            let hi = points.partition_point(|p| p.t_ms <= last);
            if lo >= hi {
                continue;
            }
            let n = (hi - lo) as u64;
            let (each, extra) = (a.count / n, a.count % n);
            for (i, p) in points[lo..hi].iter_mut().enumerate() {
                let add = each + u64::from((i as u64) < extra);
                p.flagged = p.flagged.saturating_add(add);
            }
        }
        for p in &mut points {
            p.flagged = p.flagged.min(p.events);
        }
    }
    Timeline { bucket_ms, points }
}

fn analytics(report: &Report) -> ReportAnalytics {
    let a = &report.analytics;
    let list = |l: &secmo_detect::analytics::TopList| {
        l.entries
            .iter()
            .map(|e| Count {
                key: e.value.clone(),
                count: e.count,
            })
            .collect::<Vec<_>>()
    };
    // Status classes from the per-code counts; HTTP requests without a
    // status make up `none`.
    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    let mut with_status = 0u64;
    for s in &a.status_codes {
        let key = match s.status {
            200..=299 => "2xx".to_string(),
            300..=399 => "3xx".to_string(),
            400..=499 => "4xx".to_string(),
            500..=599 => "5xx".to_string(),
            other => format!("{}xx", other / 100),
        };
        let e = classes.entry(key).or_default();
        *e = e.saturating_add(s.count);
        with_status = with_status.saturating_add(s.count);
    }
    let without = a.totals.http_requests.saturating_sub(with_status);
    let mut status_classes: Vec<Count> = classes
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .map(|(key, count)| Count { key, count })
        .collect();
    if without > 0 {
        status_classes.push(Count {
            key: "none".to_string(),
            count: without,
        });
    }
    ReportAnalytics {
        top_pages: list(&a.top_pages),
        top_referrers: list(&a.top_referrer_domains),
        status_classes,
        by_kind: a
            .by_kind
            .iter()
            .map(|k| Count {
                key: k.kind.as_str().to_string(),
                count: k.count,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_detect::analytics::{
        AnalyticsReport, StatusCount, Timeline as ATimeline, TimelineBucket, TopEntry, TopList,
        Totals,
    };
    use secmo_detect::{Category, Evidence, ThreatLevel};

    fn alert(ip: &str, sev: Severity, cat: Category, count: u64, first: &str, last: &str) -> Alert {
        Alert {
            rule_id: format!("r.{}", cat.as_str()),
            title: format!("{} from {ip}", cat.as_str()),
            category: cat,
            severity: sev,
            source_ip: Some(ip.to_string()),
            user: None,
            first_seen: Some(first.to_string()),
            last_seen: Some(last.to_string()),
            count,
            evidence: vec![Evidence {
                input: 0,
                file: "access.log".into(),
                line: 7,
                raw: "GET /x".into(),
            }],
            description: "d".into(),
            recommendation: "r".into(),
            response: vec!["step".into()],
        }
    }

    fn report(alerts: Vec<Alert>) -> Report {
        Report {
            threat_level: ThreatLevel::of(&alerts),
            period_start: Some("2026-11-22T06:00:00Z".into()),
            period_end: Some("2026-11-22T07:00:00Z".into()),
            rules_loaded: 10,
            alerts,
            analytics: AnalyticsReport {
                totals: Totals {
                    events: 1000,
                    http_requests: 900,
                    ..Default::default()
                },
                top_source_ips: TopList {
                    max_error: 0,
                    entries: vec![TopEntry {
                        value: "198.51.100.7".into(),
                        count: 300,
                    }],
                },
                status_codes: vec![
                    StatusCount {
                        status: 200,
                        count: 700,
                    },
                    StatusCount {
                        status: 404,
                        count: 150,
                    },
                ],
                timeline: ATimeline {
                    bucket: "15m".into(),
                    bucket_seconds: 900,
                    events_without_time: 0,
                    buckets: (0..4)
                        .map(|i| TimelineBucket {
                            start: format!("2026-11-22T06:{:02}:00Z", i * 15),
                            events: 250,
                            http_errors: 10,
                        })
                        .collect(),
                },
                ..Default::default()
            },
            inputs: vec![],
            matches: None,
        }
    }

    #[test]
    fn builds_the_document() {
        let r = report(vec![
            alert(
                "198.51.100.7",
                Severity::Medium,
                Category::Scanner,
                40,
                "2026-11-22T06:05:00Z",
                "2026-11-22T06:20:00Z",
            ),
            alert(
                "198.51.100.7",
                Severity::High,
                Category::Sqli,
                12,
                "2026-11-22T06:10:00Z",
                "2026-11-22T06:10:00Z",
            ),
            alert(
                "203.0.113.5",
                Severity::Critical,
                Category::Log4shell,
                1,
                "bogus",
                "2026-11-22T06:50:00Z",
            ),
        ]);
        let d = from_analysis(&r, "access.log", 1_795_331_000_000);
        assert_eq!(d.threat_level, "critical");
        assert_eq!(d.period_start_ms, 1_795_327_200_000);
        assert_eq!(d.period_end_ms, 1_795_330_800_000);
        assert_eq!(d.incidents.len(), 3);
        assert_eq!(d.incidents[0].severity, "critical");
        // Unparseable first_seen: the period start.
        assert_eq!(d.incidents[0].first_seen_ms, d.period_start_ms);
        assert_eq!(d.incidents[1].category, "sqli");
        assert_eq!(d.incidents[1].evidence[0].file, "access.log");
        assert_eq!(d.summary.events, 1000);
        assert_eq!(d.summary.flagged_events, 53);
        assert_eq!(d.summary.incidents, 3);
        assert_eq!(d.summary.high_or_worse, 2);
        assert_eq!(d.summary.attackers, 2);
        assert_eq!(
            d.summary
                .by_severity
                .iter()
                .map(|c| c.key.as_str())
                .collect::<Vec<_>>(),
            ["critical", "high", "medium"]
        );
        assert_eq!(d.top_attackers[0].ip, "198.51.100.7");
        assert_eq!(d.top_attackers[0].requests, 300);
        assert_eq!(d.top_attackers[0].flagged, 52);
        assert_eq!(d.top_attackers[0].categories, ["scanner", "sqli"]);
        assert_eq!(
            d.top_attackers[1].requests, 1,
            "unknown: flagged as the lower bound"
        );
        assert_eq!(
            d.categories[0],
            Count {
                key: "scanner".into(),
                count: 40
            }
        );
        assert_eq!(d.timeline.bucket_ms, 900_000);
        assert_eq!(d.timeline.points.len(), 4);
        // scanner 40 over buckets 06:00 and 06:15; sqli 12 in 06:00.
        assert_eq!(d.timeline.points[0].flagged, 32);
        assert_eq!(d.timeline.points[1].flagged, 20);
        assert_eq!(d.timeline.points[3].flagged, 0);
        let classes: Vec<(&str, u64)> = d
            .analytics
            .status_classes
            .iter()
            .map(|c| (c.key.as_str(), c.count))
            .collect();
        assert_eq!(classes, [("2xx", 700), ("4xx", 150), ("none", 50)]);
        assert!(d.previous.is_none() && d.id.is_none());
    }

    #[test]
    fn caps_incidents() {
        let alerts: Vec<Alert> = (0..250)
            .map(|i| {
                let sev = if i == 249 {
                    Severity::Critical
                } else {
                    Severity::Low
                };
                alert(
                    &format!("10.0.{}.{}", i / 256, i % 256),
                    sev,
                    Category::Flood,
                    i,
                    "2026-11-22T06:00:00Z",
                    "2026-11-22T06:00:00Z",
                )
            })
            .collect();
        let mut r = report(alerts);
        r.period_start = None;
        let d = from_analysis(&r, "x", 42);
        assert_eq!(d.incidents.len(), MAX_INCIDENTS);
        assert_eq!(d.incidents_omitted, 50);
        assert_eq!(d.incidents[0].severity, "critical");
        assert_eq!(d.incidents[1].count, 248);
        assert_eq!(d.period_start_ms, 42);
        assert_eq!(d.summary.incidents, 250);
        assert!(d.top_attackers.len() <= 20);
    }
}
