//! A hand-built report whose attacker-controlled strings are hostile, shared
//! by the renderers' tests.

use secmo_detect::analytics::{
    AnalyticsReport, StatusClasses, StatusCount, Timeline, TimelineBucket, TopEntry, TopList,
    Totals,
};
use secmo_detect::report::UnparsedSample;
use secmo_detect::{Alert, Evidence, InputSummary, MatchRecord, Report, ThreatLevel};
use secmo_event::{Category, Severity};

pub(crate) const SCRIPT: &str = "<script>alert(1)</script>";
pub(crate) const IMG: &str = "\"><img src=x onerror=alert(1)>";
pub(crate) const ANSI: &str = "\x1b[31mRED\x1b[0m";
pub(crate) const FORMULA: &str = "=cmd|' /C calc'!A0";

fn top(values: &[(&str, u64)]) -> TopList {
    TopList {
        max_error: 0,
        entries: values
            .iter()
            .map(|(v, n)| TopEntry {
                value: (*v).to_string(),
                count: *n,
            })
            .collect(),
    }
}

pub(crate) fn hostile_report() -> Report {
    let evidence = |line: u64, raw: &str| Evidence {
        input: 0,
        file: "access.log".into(),
        line,
        raw: raw.into(),
    };
    let alerts = vec![
        Alert {
            rule_id: "web-sqli-union".into(),
            title: "SQL injection (UNION SELECT)".into(),
            category: Category::Sqli,
            severity: Severity::Critical,
            source_ip: Some("203.0.113.9".into()),
            user: Some(FORMULA.into()),
            first_seen: Some("2024-03-01T10:00:00Z".into()),
            last_seen: Some("2024-03-01T10:05:00Z".into()),
            count: 42,
            evidence: vec![
                evidence(17, &format!("GET /?q={SCRIPT} HTTP/1.1 {ANSI}")),
                evidence(18, &format!("GET /{IMG}\nforged line")),
                evidence(19, &"A".repeat(5000)),
                evidence(20, "fourth"),
            ],
            description: "Requests carried SQL injection payloads.".into(),
            recommendation: "Block the source IP and review the query handling.".into(),
            response: vec!["block_ip".into()],
        },
        Alert {
            rule_id: "ssh-brute-force".into(),
            title: format!("Brute force {SCRIPT}"),
            category: Category::BruteForce,
            severity: Severity::High,
            source_ip: None,
            user: Some(format!("root{ANSI}")),
            first_seen: None,
            last_seen: None,
            count: 7,
            evidence: vec![evidence(3, "Failed password for root")],
            description: format!("Many failed logins {IMG}"),
            recommendation: FORMULA.into(),
            response: Vec::new(),
        },
        Alert {
            rule_id: "scanner-ua".into(),
            title: "Scanner user agent".into(),
            category: Category::Scanner,
            severity: Severity::Medium,
            source_ip: Some("198.51.100.2".into()),
            user: None,
            first_seen: Some("2024-03-01T11:00:00Z".into()),
            last_seen: Some("2024-03-01T11:00:00Z".into()),
            count: 1,
            evidence: Vec::new(),
            description: "A known scanner.".into(),
            recommendation: "-1+1".into(),
            response: Vec::new(),
        },
    ];
    let analytics = AnalyticsReport {
        totals: Totals {
            events: 1000,
            http_requests: 900,
            http_errors: 120,
            unique_ips: 12,
            unique_ips_estimated: false,
            bytes_sent: 3 << 20,
        },
        top_source_ips: top(&[("203.0.113.9", 500), ("198.51.100.2", 100)]),
        top_pages: top(&[("/", 300), (SCRIPT, 5), (IMG, 2)]),
        top_referrer_domains: top(&[(ANSI, 3)]),
        top_user_agents: top(&[(FORMULA, 9), ("curl/8", 4)]),
        status_classes: StatusClasses {
            allowed: 780,
            blocked: 20,
            not_found: 90,
            other_client_error: 5,
            server_error: 5,
            other: 0,
        },
        status_codes: vec![
            StatusCount {
                status: 200,
                count: 780,
            },
            StatusCount {
                status: 404,
                count: 90,
            },
        ],
        timeline: Timeline {
            bucket: "1m".into(),
            bucket_seconds: 60,
            events_without_time: 0,
            buckets: (0..5)
                .map(|i| TimelineBucket {
                    start: format!("2024-03-01T10:0{i}:00Z"),
                    events: [10, 200, 50, 0, 740][i],
                    http_errors: [0, 100, 10, 0, 10][i],
                })
                .collect(),
        },
        ..AnalyticsReport::default()
    };
    Report {
        threat_level: ThreatLevel::Critical,
        period_start: Some("2024-03-01T10:00:00Z".into()),
        period_end: Some("2024-03-01T11:00:00Z".into()),
        rules_loaded: 80,
        alerts,
        analytics,
        inputs: vec![InputSummary {
            file: format!("access.log{ANSI}"),
            format: "access".into(),
            bytes: 123_456,
            lines: 1010,
            parsed: 1000,
            skipped: 5,
            unparsed: 5,
            unparsed_samples: vec![UnparsedSample {
                line: 99,
                reason: "no request line".into(),
                raw: format!("junk {SCRIPT}\x1b]0;title\x07"),
            }],
            error: None,
        }],
        matches: Some(vec![MatchRecord {
            file: "access.log".into(),
            line: 17,
            rule_ids: vec!["web-sqli-union".into()],
            categories: vec![Category::Sqli],
            source_ip: Some("203.0.113.9".into()),
        }]),
    }
}
