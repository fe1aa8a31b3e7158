//! The SQLite store through the `Store` trait, on real database files.

use secmo_detect::report::{Alert, Evidence};
use secmo_event::{Category, Severity};
use secmo_store::*;
use std::collections::HashSet;
use std::net::IpAddr;

const T0: i64 = 1_700_000_040_000 - (1_700_000_040_000 % 3_600_000); // an hour boundary
const MIN: i64 = 60_000;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test ip")
}

struct Owned {
    ts: i64,
    ip: Option<IpAddr>,
    user: String,
    kind: &'static str,
    path: String,
    status: Option<u16>,
    bytes: Option<u64>,
    referrer: String,
    raw: String,
    rules: Vec<&'static str>,
    cats: Vec<Category>,
    source: &'static str,
}

fn http(ts: i64, ipv: &str, path: &str, status: u16) -> Owned {
    Owned {
        ts,
        ip: Some(ip(ipv)),
        user: String::new(),
        kind: "http",
        path: path.into(),
        status: Some(status),
        bytes: Some(100),
        referrer: "-".into(),
        raw: format!("{ipv} - - [x] \"GET {path} HTTP/1.1\" {status} 100"),
        rules: vec![],
        cats: vec![],
        source: "nginx",
    }
}

fn rows(v: &[Owned]) -> Vec<EventRow<'_>> {
    v.iter()
        .enumerate()
        .map(|(i, o)| EventRow {
            ts_ms: o.ts,
            source: o.source,
            file: "/var/log/access.log",
            line: i as u64 + 1,
            kind: o.kind,
            action: "request",
            outcome: "unknown",
            source_ip: o.ip,
            user: &o.user,
            method: "GET",
            path: &o.path,
            query: "",
            status: o.status,
            bytes: o.bytes,
            referrer: &o.referrer,
            user_agent: "curl/8",
            raw: &o.raw,
            rules: &o.rules,
            categories: &o.cats,
            blocked: false,
        })
        .collect()
}

fn ingest(store: &SqliteStore, v: &[Owned]) -> IngestOutcome {
    let r = rows(v);
    store
        .ingest(&IngestBatch {
            events: &r,
            now_ms: T0,
            incident_window_ms: 30 * MIN,
            ..Default::default()
        })
        .expect("ingest")
}

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("data")).expect("open");
    (dir, store)
}

fn all_pages(store: &SqliteStore, mut q: EventQuery) -> Vec<EventRecord> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let p = store.query_events(&q).expect("query");
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => q.page.cursor = Some(c),
            None => return out,
        }
    }
    panic!("pagination does not end");
}

/// Every event of one IP, read in pages of `limit`.
fn ip_pages(store: &SqliteStore, addr: &str, limit: u32) -> Vec<EventRecord> {
    let q = EventQuery {
        ip: Some(ip(addr)),
        page: PageRequest {
            cursor: None,
            limit,
        },
        ..Default::default()
    };
    all_pages(store, q)
}

fn sample() -> Vec<Owned> {
    let mut v = Vec::new();
    for i in 0..100i64 {
        let mut e = http(
            T0 + i * 1000,
            if i % 3 == 0 { "10.0.0.1" } else { "10.0.0.2" },
            "/index.html",
            200,
        );
        if i % 10 == 0 {
            e.status = Some(404);
            e.path = "/wp-login.php".into();
        }
        if i % 25 == 0 {
            e.rules = vec!["web-sqli"];
            e.cats = vec![Category::Sqli, Category::Sqli];
            e.raw = format!("{} UNION SELECT password", e.raw);
        }
        v.push(e);
    }
    for i in 0..20i64 {
        v.push(Owned {
            ts: T0 + 200_000 + i * 1000,
            ip: None,
            user: if i % 2 == 0 {
                "alice".into()
            } else {
                "bob".into()
            },
            kind: "auth",
            path: String::new(),
            status: None,
            bytes: None,
            referrer: String::new(),
            raw: format!("sshd[1]: Failed password for user{i}"),
            rules: vec![],
            cats: vec![],
            source: "auth",
        });
    }
    v
}

#[test]
fn ingest_then_query_by_each_filter() {
    let (_d, store) = open();
    let data = sample();
    let out = ingest(&store, &data);
    assert_eq!(out.events, 120);
    assert!(out.first_event_id > 0);
    assert_eq!(store.event_count().expect("count"), 120);

    let q = |f: &dyn Fn(&mut EventQuery)| {
        let mut q = EventQuery::default();
        f(&mut q);
        all_pages(&store, q)
    };
    let by_ip = q(&|q| q.ip = Some(ip("10.0.0.1")));
    assert_eq!(by_ip.len(), 34);
    assert!(by_ip.iter().all(|e| e.source_ip == Some(ip("10.0.0.1"))));
    assert_eq!(q(&|q| q.user = Some("alice".into())).len(), 10);
    assert_eq!(q(&|q| q.kind = Some("auth".into())).len(), 20);
    assert_eq!(q(&|q| q.source = Some("auth".into())).len(), 20);
    assert_eq!(q(&|q| q.status = Some(404)).len(), 10);
    assert_eq!(q(&|q| q.status_class = Some(2)).len(), 90);
    let flagged = q(&|q| q.flagged = true);
    assert_eq!(flagged.len(), 4);
    assert_eq!(flagged[0].rules, vec!["web-sqli".to_string()]);
    assert_eq!(flagged[0].categories, vec![Category::Sqli, Category::Sqli]);
    assert_eq!(q(&|q| q.category = Some(Category::Sqli)).len(), 4);
    assert_eq!(q(&|q| q.category = Some(Category::Xss)).len(), 0);
    assert_eq!(q(&|q| q.text = Some("union select".into())).len(), 4);
    assert_eq!(q(&|q| q.text = Some("FAILED PASSWORD".into())).len(), 20);
    let ranged = q(&|q| {
        q.since_ms = Some(T0 + 10_000);
        q.until_ms = Some(T0 + 20_000);
    });
    assert_eq!(ranged.len(), 10);
    assert!(
        ranged
            .iter()
            .all(|e| e.ts_ms >= T0 + 10_000 && e.ts_ms < T0 + 20_000)
    );
    // Combined: ip + flagged + range.
    let combo = q(&|q| {
        q.ip = Some(ip("10.0.0.1"));
        q.flagged = true;
        q.since_ms = Some(T0 + 1);
    });
    assert_eq!(
        combo.iter().map(|e| e.ts_ms).collect::<Vec<_>>(),
        vec![T0 + 75_000]
    );

    // One event by id, and a missing one.
    let e = store
        .event(out.first_event_id)
        .expect("event")
        .expect("present");
    assert_eq!(e.ts_ms, T0);
    assert_eq!(e.line, 1);
    assert_eq!(e.bytes, Some(100));
    assert!(
        store
            .event(out.first_event_id + 10_000)
            .expect("event")
            .is_none()
    );
}

#[test]
fn pagination_has_no_duplicates_or_gaps() {
    let (_d, store) = open();
    let mut data = sample();
    // Several events at the same millisecond, to exercise the (ts, id) cursor.
    for _ in 0..7 {
        data.push(http(T0 + 5000, "10.0.0.1", "/same", 200));
    }
    ingest(&store, &data);
    for limit in [1u32, 3, 7, 50, 1000] {
        for ipf in [None, Some(ip("10.0.0.1"))] {
            let q = EventQuery {
                ip: ipf,
                page: PageRequest {
                    cursor: None,
                    limit,
                },
                ..Default::default()
            };
            let got = all_pages(&store, q);
            let expect = data.iter().filter(|o| ipf.is_none() || o.ip == ipf).count();
            assert_eq!(got.len(), expect, "limit {limit}");
            let ids: HashSet<i64> = got.iter().map(|e| e.id).collect();
            assert_eq!(ids.len(), got.len(), "duplicates at limit {limit}");
            assert!(
                got.windows(2)
                    .all(|w| (w[0].ts_ms, w[0].id) > (w[1].ts_ms, w[1].id)),
                "not newest first"
            );
        }
    }
    let bad = EventQuery {
        page: PageRequest {
            cursor: Some("nonsense".into()),
            limit: 0,
        },
        ..Default::default()
    };
    assert!(matches!(
        store.query_events(&bad),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn hostile_strings_are_stored_and_found_verbatim() {
    let (_d, store) = open();
    let nasty = [
        "'; DROP TABLE events; --",
        "100%",
        "a_b",
        r"back\slash",
        "\"double\" and 'single'",
        "ünïcödé ☃ \u{202e}rtl \u{1F600} \u{7f}\u{1}",
    ];
    let mut data = Vec::new();
    for (i, s) in nasty.iter().enumerate() {
        let mut e = http(T0 + i as i64, "10.0.0.9", s, 200);
        e.user = s.to_string();
        e.raw = format!("prefix {s} suffix");
        data.push(e);
    }
    // Decoys that a LIKE without escaping would match.
    let mut d1 = http(T0 + 100, "10.0.0.9", "100x", 200);
    d1.raw = "prefix 100x suffix".into();
    let mut d2 = http(T0 + 101, "10.0.0.9", "aXb", 200);
    d2.raw = "prefix aXb suffix".into();
    data.push(d1);
    data.push(d2);
    ingest(&store, &data);
    for s in nasty {
        let by_text = all_pages(
            &store,
            EventQuery {
                text: Some(s.to_string()),
                ..Default::default()
            },
        );
        assert_eq!(by_text.len(), 1, "text {s:?}");
        assert_eq!(by_text[0].raw, format!("prefix {s} suffix"));
        assert_eq!(by_text[0].path, s);
        let by_user = all_pages(
            &store,
            EventQuery {
                user: Some(s.to_string()),
                ..Default::default()
            },
        );
        assert_eq!(by_user.len(), 1, "user {s:?}");
    }
    assert_eq!(store.event_count().expect("count"), 8);
}

fn alert(rule: &str, ipv: Option<&str>, user: Option<&str>, count: u64, lines: &[u64]) -> Alert {
    Alert {
        rule_id: rule.into(),
        title: format!("{rule} title"),
        category: Category::BruteForce,
        severity: Severity::Medium,
        source_ip: ipv.map(str::to_owned),
        user: user.map(str::to_owned),
        first_seen: None,
        last_seen: None,
        count,
        evidence: lines
            .iter()
            .map(|&l| Evidence {
                input: 0,
                file: "auth.log".into(),
                line: l,
                raw: format!("line {l}"),
            })
            .collect(),
        description: "desc".into(),
        recommendation: "rec".into(),
        response: vec!["block the IP".into(), "check the account".into()],
    }
}

fn delta(a: Alert, first: i64, last: i64) -> AlertDelta {
    AlertDelta {
        source: "auth".into(),
        alert: a,
        first_ms: first,
        last_ms: last,
    }
}

fn ingest_alerts(store: &SqliteStore, deltas: &[AlertDelta], now: i64) -> Vec<IncidentTouch> {
    store
        .ingest(&IngestBatch {
            alerts: deltas,
            incident_window_ms: 10 * MIN,
            now_ms: now,
            ..Default::default()
        })
        .expect("ingest")
        .incidents
}

#[test]
fn incidents_group_by_rule_and_attacker_within_the_window() {
    let (_d, store) = open();
    let t = ingest_alerts(
        &store,
        &[delta(
            alert("ssh", Some("1.2.3.4"), None, 5, &[1, 2]),
            T0,
            T0 + MIN,
        )],
        T0,
    );
    assert_eq!(t.len(), 1);
    assert!(t[0].created);
    assert_eq!(t[0].count, 5);
    assert_eq!(t[0].status, IncidentStatus::New);
    let first = t[0].incident_id;

    // Same rule and attacker within the window: the same incident.
    let mut a = alert("ssh", Some("1.2.3.4"), None, 3, &[3]);
    a.severity = Severity::High;
    let t = ingest_alerts(
        &store,
        &[delta(a, T0 + 5 * MIN, T0 + 6 * MIN)],
        T0 + 6 * MIN,
    );
    assert!(!t[0].created);
    assert_eq!(t[0].incident_id, first);
    assert_eq!(t[0].count, 8);
    assert_eq!(t[0].severity, Severity::High);

    // Different attacker: another incident. Same attacker, another rule: another.
    let t = ingest_alerts(
        &store,
        &[
            delta(
                alert("ssh", Some("5.6.7.8"), None, 1, &[]),
                T0 + 6 * MIN,
                T0 + 6 * MIN,
            ),
            delta(
                alert("web", Some("1.2.3.4"), None, 1, &[]),
                T0 + 6 * MIN,
                T0 + 6 * MIN,
            ),
        ],
        T0 + 6 * MIN,
    );
    assert!(t[0].created && t[1].created);
    assert_ne!(t[0].incident_id, first);
    assert_ne!(t[1].incident_id, first);

    // After the window: a new incident.
    let t = ingest_alerts(
        &store,
        &[delta(
            alert("ssh", Some("1.2.3.4"), None, 1, &[]),
            T0 + 17 * MIN,
            T0 + 17 * MIN,
        )],
        T0 + 17 * MIN,
    );
    assert!(t[0].created);
    let second = t[0].incident_id;
    assert_ne!(second, first);

    // After resolving it: a new incident even within the window.
    store
        .update_incident(
            second,
            &IncidentChange {
                status: Some(IncidentStatus::Resolved),
                ..Default::default()
            },
            "ann",
            T0 + 18 * MIN,
        )
        .expect("resolve");
    let t = ingest_alerts(
        &store,
        &[delta(
            alert("ssh", Some("1.2.3.4"), None, 1, &[]),
            T0 + 18 * MIN,
            T0 + 18 * MIN,
        )],
        T0 + 18 * MIN,
    );
    assert!(t[0].created);
    assert_ne!(t[0].incident_id, second);

    // User-keyed and attacker-less alerts group too.
    let u1 = ingest_alerts(
        &store,
        &[delta(alert("app", None, Some("eve"), 1, &[]), T0, T0)],
        T0,
    );
    let u2 = ingest_alerts(
        &store,
        &[delta(alert("app", None, Some("eve"), 1, &[]), T0, T0)],
        T0,
    );
    let u3 = ingest_alerts(
        &store,
        &[delta(alert("app", None, Some("mallory"), 1, &[]), T0, T0)],
        T0,
    );
    assert_eq!(u1[0].incident_id, u2[0].incident_id);
    assert_ne!(u1[0].incident_id, u3[0].incident_id);
    let n1 = ingest_alerts(
        &store,
        &[delta(alert("spike", None, None, 1, &[]), T0, T0)],
        T0,
    );
    let n2 = ingest_alerts(
        &store,
        &[delta(alert("spike", None, None, 2, &[]), T0, T0)],
        T0,
    );
    assert_eq!(n1[0].incident_id, n2[0].incident_id);
    assert_eq!(n2[0].count, 3);

    // The first incident's detail: checklist from the response steps, created activity, merged alert.
    let d = store.incident(first).expect("detail").expect("exists");
    assert_eq!(d.incident.count, 8);
    assert_eq!(d.incident.first_seen_ms, T0);
    assert_eq!(d.incident.last_seen_ms, T0 + 6 * MIN);
    assert_eq!(d.incident.source_ip, Some(ip("1.2.3.4")));
    assert_eq!(d.checklist.len(), 2);
    assert_eq!(d.checklist[0].step, "block the IP");
    assert_eq!(d.activity[0].action, "created");
    assert_eq!(d.activity[0].actor, "secmo");
    assert_eq!(d.alerts.len(), 1);
    assert_eq!(d.alerts[0].count, 8);
    assert_eq!(
        d.alerts[0]
            .evidence
            .iter()
            .map(|e| e.line)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[test]
fn evidence_is_merged_sorted_deduplicated_and_cut_to_first_three_and_last_two() {
    let (_d, store) = open();
    ingest_alerts(
        &store,
        &[delta(
            alert("r", Some("9.9.9.9"), None, 4, &[10, 2, 7, 5]),
            T0,
            T0,
        )],
        T0,
    );
    let t = ingest_alerts(
        &store,
        &[delta(
            alert("r", Some("9.9.9.9"), None, 4, &[7, 1, 20, 15]),
            T0,
            T0,
        )],
        T0,
    );
    let d = store
        .incident(t[0].incident_id)
        .expect("detail")
        .expect("exists");
    let lines: Vec<u64> = d.alerts[0].evidence.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![1, 2, 5, 15, 20]);
    assert_eq!(d.alerts[0].count, 8);
    let page = store
        .alerts(&AlertQuery {
            ip: Some(ip("9.9.9.9")),
            ..Default::default()
        })
        .expect("alerts");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, t[0].alert_id);
}

#[test]
fn workflow_transitions_are_enforced_and_logged() {
    let (_d, store) = open();
    let t = ingest_alerts(
        &store,
        &[delta(alert("r", Some("9.9.9.9"), None, 1, &[]), T0, T0)],
        T0,
    );
    let id = t[0].incident_id;
    let ch = |c: IncidentChange| store.update_incident(id, &c, "ann", T0 + 1000);

    // A verdict on a new incident triages it.
    let d = ch(IncidentChange {
        verdict: Some(Verdict::TruePositive),
        ..Default::default()
    })
    .expect("verdict");
    assert_eq!(d.incident.status, IncidentStatus::Triaged);
    assert_eq!(d.incident.verdict, Some(Verdict::TruePositive));
    // Going back is refused.
    let r = ch(IncidentChange {
        status: Some(IncidentStatus::New),
        ..Default::default()
    });
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    let d = ch(IncidentChange {
        status: Some(IncidentStatus::Contained),
        assignee: Some("bob".into()),
        note: Some("on it".into()),
        checklist: Some((1, true)),
        activity: Some(("block".into(), "9.9.9.9".into())),
        ..Default::default()
    })
    .expect("change");
    assert_eq!(d.incident.status, IncidentStatus::Contained);
    assert_eq!(d.incident.assignee.as_deref(), Some("bob"));
    assert_eq!(d.incident.updated_ms, T0 + 1000);
    assert_eq!(d.notes.len(), 1);
    assert_eq!(d.notes[0].author, "ann");
    assert!(d.checklist[1].done && !d.checklist[0].done);
    assert_eq!(d.checklist[1].done_by.as_deref(), Some("ann"));
    let actions: Vec<&str> = d.activity.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "created",
            "verdict",
            "status",
            "status",
            "assign",
            "note",
            "checklist",
            "block"
        ]
    );
    // Out-of-range checklist item: refused, nothing applied.
    let r = ch(IncidentChange {
        checklist: Some((2, true)),
        note: Some("x".into()),
        ..Default::default()
    });
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(store.incident(id).expect("d").expect("e").notes.len(), 1);
    // Clear the assignee; resolve; close; reopen.
    let d = ch(IncidentChange {
        assignee: Some(String::new()),
        status: Some(IncidentStatus::Resolved),
        ..Default::default()
    })
    .expect("resolve");
    assert_eq!(d.incident.assignee, None);
    assert!(matches!(
        ch(IncidentChange {
            status: Some(IncidentStatus::Contained),
            ..Default::default()
        }),
        Err(StoreError::Conflict(_))
    ));
    ch(IncidentChange {
        status: Some(IncidentStatus::Closed),
        ..Default::default()
    })
    .expect("close");
    let d = ch(IncidentChange {
        status: Some(IncidentStatus::Investigating),
        ..Default::default()
    })
    .expect("reopen");
    assert_eq!(d.incident.status, IncidentStatus::Investigating);
    assert!(matches!(
        store.update_incident(id + 100, &IncidentChange::default(), "ann", 0),
        Err(StoreError::NotFound(_))
    ));

    // Incident queries and keyset pages.
    for i in 0..5 {
        ingest_alerts(
            &store,
            &[delta(
                alert("r", Some(&format!("8.8.8.{i}")), None, i + 1, &[]),
                T0,
                T0,
            )],
            T0,
        );
    }
    let open = store
        .incidents(&IncidentQuery {
            open: true,
            sort: Some("count".into()),
            page: PageRequest {
                cursor: None,
                limit: 2,
            },
            ..Default::default()
        })
        .expect("incidents");
    assert_eq!(open.items.len(), 2);
    assert_eq!(open.items[0].count, 5);
    let mut all = open.items.clone();
    let mut cursor = open.next_cursor;
    while let Some(c) = cursor {
        let p = store
            .incidents(&IncidentQuery {
                open: true,
                sort: Some("count".into()),
                page: PageRequest {
                    cursor: Some(c),
                    limit: 2,
                },
                ..Default::default()
            })
            .expect("incidents");
        all.extend(p.items);
        cursor = p.next_cursor;
    }
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].count >= w[1].count));
    let investigating = store
        .incidents(&IncidentQuery {
            status: Some(IncidentStatus::Investigating),
            ..Default::default()
        })
        .expect("incidents");
    assert_eq!(investigating.items.len(), 1);
    assert!(
        store
            .incidents(&IncidentQuery {
                sort: Some("bogus".into()),
                ..Default::default()
            })
            .is_err()
    );
}

#[test]
fn stats_equal_hand_computed_numbers() {
    let (_d, store) = open();
    let data = sample();
    ingest(&store, &data);
    // Second batch in the same minutes: the rollups add up.
    let more = vec![http(T0 + 500, "10.0.0.3", "/index.html", 500)];
    ingest(&store, &more);
    ingest_alerts(
        &store,
        &[delta(
            alert("r", Some("9.9.9.9"), None, 1, &[]),
            T0,
            T0 + MIN,
        )],
        T0,
    );

    let s = store
        .stats(&StatsQuery {
            since_ms: T0,
            until_ms: T0 + 3_600_000,
            bucket_ms: 0,
            top: 3,
        })
        .expect("stats");
    assert_eq!(s.bucket_ms, MIN);
    assert_eq!(s.timeline.len(), 60);
    assert_eq!(s.events, 121);
    assert_eq!(s.flagged_events, 4);
    assert_eq!(s.bytes, 101 * 100);
    let get = |v: &[Counted], k: &str| v.iter().find(|c| c.key == k).map(|c| c.count);
    assert_eq!(get(&s.by_kind, "http"), Some(101));
    assert_eq!(get(&s.by_kind, "auth"), Some(20));
    assert_eq!(get(&s.by_status_class, "2xx"), Some(90));
    assert_eq!(get(&s.by_status_class, "4xx"), Some(10));
    assert_eq!(get(&s.by_status_class, "5xx"), Some(1));
    assert_eq!(get(&s.by_status_class, "none"), Some(20));
    // A category repeated within one event counts the event once.
    assert_eq!(get(&s.by_category, "sqli"), Some(4));
    // Minute 0 holds events 0..60 (+ the 500), minute 1 events 60..100, minute 3 the auth events.
    assert_eq!(s.timeline[0].events, 61);
    assert_eq!(s.timeline[0].flagged, 3);
    assert_eq!(s.timeline[1].events, 40);
    assert_eq!(s.timeline[3].events, 20);
    assert_eq!(s.timeline.iter().map(|p| p.events).sum::<u64>(), 121);
    assert_eq!(get(&s.timeline[1].categories, "sqli"), Some(1));
    assert_eq!(s.top_ips.len(), 3);
    assert_eq!(
        (s.top_ips[0].key.as_str(), s.top_ips[0].count),
        ("10.0.0.2", 66)
    );
    assert_eq!(
        (s.top_ips[1].key.as_str(), s.top_ips[1].count),
        ("10.0.0.1", 34)
    );
    assert_eq!(
        (s.top_paths[0].key.as_str(), s.top_paths[0].count),
        ("/index.html", 91)
    );
    assert_eq!(get(&s.top_attackers, "10.0.0.1"), Some(2));
    assert_eq!(get(&s.top_attackers, "10.0.0.2"), Some(2));
    assert!(s.top_referrers.is_empty(), "'-' is no referrer");
    assert_eq!(get(&s.alerts_by_severity, "medium"), Some(1));
    assert_eq!(get(&s.alerts_by_category, "brute_force"), Some(1));
    assert_eq!(get(&s.incidents_by_status, "new"), Some(1));
    assert_eq!(get(&s.open_incidents_by_severity, "medium"), Some(1));

    // Hour-wide buckets over a day use the hourly rollups and give the same totals.
    let day = store
        .stats(&StatsQuery {
            since_ms: T0 - 12 * 3_600_000,
            until_ms: T0 + 12 * 3_600_000,
            bucket_ms: 3_600_000,
            top: 0,
        })
        .expect("stats");
    assert_eq!(day.events, 121);
    assert_eq!(day.timeline.len(), 24);
    assert_eq!(day.timeline[12].events, 121);
    assert_eq!(get(&day.by_category, "sqli"), Some(4));
    // A range without events.
    let empty = store
        .stats(&StatsQuery {
            since_ms: T0 + 7_200_000,
            until_ms: T0 + 7_300_000,
            ..Default::default()
        })
        .expect("stats");
    assert_eq!(empty.events, 0);
    assert!(empty.top_ips.is_empty());
}

#[test]
fn top_lists_stay_bounded_under_a_scanner() {
    let (dir, store) = open();
    // 30k unique paths in hour 0, then one event in hour 1 closes hour 0.
    let data: Vec<Owned> = (0..30_000)
        .map(|i| http(T0 + i, "10.0.0.1", &format!("/scan/{i}"), 404))
        .collect();
    for chunk in data.chunks(4096) {
        ingest(&store, chunk);
    }
    ingest(&store, &[http(T0 + 3_600_000, "10.0.0.1", "/", 200)]);
    drop(store);
    let conn =
        rusqlite::Connection::open(dir.path().join("data").join("secmo.db")).expect("open db");
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM roll_top WHERE hour = ?1 AND dim = 1",
            [T0],
            |r| r.get(0),
        )
        .expect("count");
    assert!(n <= 500, "{n} path rows kept for a closed hour");
}

#[test]
fn checkpoints_are_persisted_with_events_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SqliteStore::open(dir.path()).expect("open");
        let data = sample();
        let r = rows(&data);
        store
            .ingest(&IngestBatch {
                events: &r,
                checkpoints: &[
                    ("nginx".into(), "inode=1 offset=42".into()),
                    ("auth".into(), "a".into()),
                ],
                now_ms: T0,
                ..Default::default()
            })
            .expect("ingest");
        store
            .ingest(&IngestBatch {
                checkpoints: &[("auth".into(), "b".into())],
                now_ms: T0,
                ..Default::default()
            })
            .expect("ingest");
    }
    let store = SqliteStore::open(dir.path()).expect("reopen");
    assert_eq!(
        store.checkpoints().expect("checkpoints"),
        vec![
            ("auth".to_string(), "b".to_string()),
            ("nginx".to_string(), "inode=1 offset=42".to_string())
        ]
    );
    assert_eq!(store.event_count().expect("count"), 120);
    assert_eq!(all_pages(&store, EventQuery::default()).len(), 120);
    store.delete_checkpoint("auth").expect("delete");
    assert_eq!(store.checkpoints().expect("checkpoints").len(), 1);
    // Migrations are idempotent: a second reopen changes nothing.
    drop(store);
    let store = SqliteStore::open(dir.path()).expect("reopen twice");
    assert_eq!(store.event_count().expect("count"), 120);
}

#[test]
fn a_file_that_is_not_a_database_gives_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secmo.db"), vec![b'x'; 8192]).expect("write");
    let err = SqliteStore::open(dir.path()).err().expect("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("not an SQLite database") && msg.contains("secmo.db"),
        "{msg}"
    );

    // An SQLite database of something else.
    let dir = tempfile::tempdir().expect("tempdir");
    rusqlite::Connection::open(dir.path().join("secmo.db"))
        .and_then(|c| c.execute_batch("CREATE TABLE other (x)"))
        .expect("other db");
    let msg = SqliteStore::open(dir.path())
        .err()
        .expect("must fail")
        .to_string();
    assert!(msg.contains("not a secmo one"), "{msg}");

    // A secmo database from a newer version.
    let dir = tempfile::tempdir().expect("tempdir");
    drop(SqliteStore::open(dir.path()).expect("create"));
    rusqlite::Connection::open(dir.path().join("secmo.db"))
        .and_then(|c| c.execute_batch("PRAGMA user_version = 999"))
        .expect("bump");
    let msg = SqliteStore::open(dir.path())
        .err()
        .expect("must fail")
        .to_string();
    assert!(msg.contains("newer"), "{msg}");
}

#[test]
fn ip_summary_counts_from_the_index() {
    let (_d, store) = open();
    ingest(&store, &sample());
    let s = store.ip_summary(ip("10.0.0.1")).expect("summary");
    assert_eq!(s.events, 34);
    assert_eq!(s.flagged_events, 2);
    assert_eq!(s.first_seen_ms, Some(T0));
    assert_eq!(s.last_seen_ms, Some(T0 + 99_000));
    let none = store.ip_summary(ip("::1")).expect("summary");
    assert_eq!(none.events, 0);
    assert_eq!(none.first_seen_ms, None);
}

#[test]
fn prune_by_age_and_count_keeps_event_count_exact() {
    let (_d, store) = open();
    let day = 86_400_000;
    let mut data = Vec::new();
    for i in 0..50 {
        data.push(http(T0 - 3 * day + i, "10.0.0.1", "/old", 200));
    }
    for i in 0..50 {
        data.push(http(T0 + i, "10.0.0.1", "/new", 200));
    }
    ingest(&store, &data);
    let n = store
        .prune(
            &Retention {
                max_age_days: Some(2),
                max_events: None,
            },
            T0,
        )
        .expect("prune");
    assert_eq!(n, 50);
    assert_eq!(store.event_count().expect("count"), 50);
    let n = store
        .prune(
            &Retention {
                max_age_days: None,
                max_events: Some(20),
            },
            T0,
        )
        .expect("prune");
    assert_eq!(n, 30);
    assert_eq!(store.event_count().expect("count"), 20);
    let left = all_pages(&store, EventQuery::default());
    assert_eq!(left.len(), 20);
    assert!(
        left.iter().all(|e| e.ts_ms >= T0 + 30),
        "the oldest went first"
    );
    // The IP runs lost the pruned events too.
    let s = store.ip_summary(ip("10.0.0.1")).expect("summary");
    assert_eq!(
        (s.events, s.first_seen_ms, s.last_seen_ms),
        (20, Some(T0 + 30), Some(T0 + 49))
    );
    let by_ip = ip_pages(&store, "10.0.0.1", 7);
    assert_eq!(by_ip.len(), 20);
    // Rollups of the pruned days are gone too.
    let old = store
        .stats(&StatsQuery {
            since_ms: T0 - 4 * day,
            until_ms: T0 - 2 * day,
            ..Default::default()
        })
        .expect("stats");
    assert_eq!(old.events, 0);
    assert_eq!(store.prune(&Retention::default(), T0).expect("prune"), 0);
}

#[test]
fn blocks_add_remove_and_expire_exactly_once() {
    let (_d, store) = open();
    let nb = |net: &str, expires: Option<i64>| NewBlock {
        net: net.parse().expect("net"),
        reason: "brute force".into(),
        created_by: "policy".into(),
        created_ms: T0,
        expires_ms: expires,
        rule_id: Some("ssh".into()),
        incident_id: None,
    };
    let b1 = store.add_block(&nb("10.1.2.3/8", None)).expect("add");
    assert_eq!(b1.net.to_string(), "10.0.0.0/8", "canonical network");
    let b2 = store
        .add_block(&nb("1.2.3.4/32", Some(T0 + 1000)))
        .expect("add");
    store
        .add_block(&nb("1.2.3.4/32", None))
        .expect("add duplicate");
    assert_eq!(store.active_blocks(T0).expect("active").len(), 3);
    assert_eq!(store.active_blocks(T0 + 1000).expect("active").len(), 2);

    let expired = store.expire_blocks(T0 + 1000).expect("expire");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, b2.id);
    assert_eq!(expired[0].lifted_by.as_deref(), Some("expiry"));
    assert!(
        store.expire_blocks(T0 + 5000).expect("expire").is_empty(),
        "exactly once"
    );

    let lifted = store
        .remove_block("1.2.3.4/32".parse().expect("net"), "ann", T0 + 2000)
        .expect("remove");
    assert_eq!(lifted.len(), 1, "the expired one is not lifted again");
    assert_eq!(lifted[0].lifted_by.as_deref(), Some("ann"));
    assert!(
        store
            .remove_block("1.2.3.4/32".parse().expect("net"), "ann", T0)
            .expect("remove")
            .is_empty()
    );
    let active = store.active_blocks(T0 + 2000).expect("active");
    assert_eq!(active.iter().map(|b| b.id).collect::<Vec<_>>(), vec![b1.id]);
    assert!(active[0].net.contains(&ip("10.200.0.1")));

    let h1 = store
        .block_history(&PageRequest {
            cursor: None,
            limit: 2,
        })
        .expect("history");
    assert_eq!(h1.items.len(), 2);
    let h2 = store
        .block_history(&PageRequest {
            cursor: h1.next_cursor.clone(),
            limit: 2,
        })
        .expect("history");
    assert_eq!(h2.items.len(), 1);
    assert_eq!(h2.next_cursor, None);
    assert_eq!(h2.items[0].id, b1.id);

    let a = store
        .add_allow(&NewAllowEntry {
            net: "127.0.0.0/8".parse().expect("net"),
            note: "loopback".into(),
            created_by: "secmo".into(),
            created_ms: T0,
        })
        .expect("allow");
    assert_eq!(store.allowlist().expect("allowlist").len(), 1);
    assert!(store.remove_allow(a.id).expect("remove"));
    assert!(!store.remove_allow(a.id).expect("remove again"));
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        name: name.into(),
        role: Role::Analyst,
        password_hash: "$argon2id$v=19$x".into(),
        created_ms: T0,
    }
}

#[test]
fn users_sessions_tokens_and_audit() {
    let (_d, store) = open();
    let ann = store.create_user(&new_user("ann")).expect("create");
    assert!(matches!(
        store.create_user(&new_user("ann")),
        Err(StoreError::Conflict(_))
    ));
    let bob = store.create_user(&new_user("bob")).expect("create");
    assert_eq!(store.user_count().expect("count"), 2);
    let (u, hash) = store
        .user_credentials("ann")
        .expect("creds")
        .expect("exists");
    assert_eq!((u.id, hash.as_str()), (ann.id, "$argon2id$v=19$x"));
    assert!(store.user_credentials("nobody").expect("creds").is_none());

    let sess = |id: &str, user: i64, exp: i64| Session {
        id_hash: id.into(),
        user_id: user,
        csrf_token: "csrf".into(),
        created_ms: T0,
        expires_ms: exp,
    };
    store
        .create_session(&sess("s1", ann.id, T0 + 1000))
        .expect("session");
    store
        .create_session(&sess("s2", bob.id, T0 + 1000))
        .expect("session");
    assert!(matches!(
        store.create_session(&sess("s3", 999, T0)),
        Err(StoreError::NotFound(_))
    ));
    let (s, u) = store.session("s1", T0).expect("session").expect("live");
    assert_eq!((s.csrf_token.as_str(), u.name.as_str()), ("csrf", "ann"));
    assert!(
        store.session("s1", T0 + 1000).expect("session").is_none(),
        "expired"
    );
    assert!(store.session("nope", T0).expect("session").is_none());

    let tok = store
        .create_token(&NewApiToken {
            user_id: ann.id,
            name: "agent".into(),
            secret_hash: "h1".into(),
            prefix: "sk_1".into(),
            created_ms: T0,
            expires_ms: Some(T0 + 10_000),
        })
        .expect("token");
    assert_eq!(tok.user_name, "ann");
    let (t, u) = store.token("h1", T0 + 5).expect("token").expect("valid");
    assert_eq!((t.last_used_ms, u.id), (Some(T0 + 5), ann.id));
    assert_eq!(
        store.tokens().expect("tokens")[0].last_used_ms,
        Some(T0 + 5)
    );
    assert!(
        store.token("h1", T0 + 10_000).expect("token").is_none(),
        "expired"
    );

    // Disabled users have neither sessions nor tokens.
    let u = store
        .update_user(
            ann.id,
            &UserChange {
                disabled: Some(true),
                role: Some(Role::Admin),
                ..Default::default()
            },
        )
        .expect("update");
    assert!(u.disabled && u.role == Role::Admin);
    assert!(store.session("s1", T0).expect("session").is_none());
    assert!(store.token("h1", T0).expect("token").is_none());
    store
        .update_user(
            ann.id,
            &UserChange {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .expect("update");
    assert!(store.token("h1", T0).expect("token").is_some());
    assert!(store.revoke_token(tok.id).expect("revoke"));
    assert!(!store.revoke_token(tok.id).expect("revoke again"));
    assert!(store.token("h1", T0).expect("token").is_none(), "revoked");
    assert!(matches!(
        store.update_user(999, &UserChange::default()),
        Err(StoreError::NotFound(_))
    ));

    store.delete_user_sessions(bob.id).expect("delete sessions");
    assert!(store.session("s2", T0).expect("session").is_none());
    store
        .create_session(&sess("s4", bob.id, T0 + 1000))
        .expect("session");
    store.delete_session("s4").expect("delete");
    assert!(store.session("s4", T0).expect("session").is_none());

    store
        .create_session(&sess("s5", ann.id, T0 + 1000))
        .expect("session");
    assert!(store.delete_user(ann.id).expect("delete"));
    assert!(!store.delete_user(ann.id).expect("delete again"));
    assert!(store.session("s5", T0).expect("session").is_none());
    assert!(store.tokens().expect("tokens").is_empty());
    assert_eq!(store.users().expect("users").len(), 1);
    assert!(store.user(ann.id).expect("user").is_none());

    for i in 0..3 {
        store
            .audit(&NewAuditEntry {
                at_ms: T0 + i,
                actor: "bob".into(),
                ip: Some(ip("127.0.0.1")),
                action: "block.add".into(),
                target: "1.2.3.4".into(),
                detail: "{}".into(),
            })
            .expect("audit");
    }
    let p = store
        .audit_log(&PageRequest {
            cursor: None,
            limit: 2,
        })
        .expect("audit");
    assert_eq!(
        p.items.iter().map(|a| a.at_ms).collect::<Vec<_>>(),
        vec![T0 + 2, T0 + 1]
    );
    assert_eq!(p.items[0].ip, Some(ip("127.0.0.1")));
    let p2 = store
        .audit_log(&PageRequest {
            cursor: p.next_cursor,
            limit: 2,
        })
        .expect("audit");
    assert_eq!(p2.items.len(), 1);
    assert!(p2.next_cursor.is_none());
}

#[test]
fn concurrent_readers_while_writing() {
    let (_d, store) = open();
    let store = std::sync::Arc::new(store);
    ingest(&store, &sample());
    let readers: Vec<_> = (0..6)
        .map(|_| {
            let s = store.clone();
            std::thread::spawn(move || {
                for _ in 0..30 {
                    let st = s
                        .stats(&StatsQuery {
                            since_ms: T0,
                            until_ms: T0 + 3_600_000,
                            ..Default::default()
                        })
                        .expect("stats");
                    assert!(st.events >= 120);
                }
            })
        })
        .collect();
    for _ in 0..10 {
        ingest(&store, &sample());
    }
    for r in readers {
        r.join().expect("reader thread");
    }
    assert_eq!(store.event_count().expect("count"), 1320);
}

#[test]
fn extreme_timestamps_do_not_break_anything() {
    let (_d, store) = open();
    let data = vec![
        http(i64::MIN, "10.0.0.1", "/a", 200),
        http(i64::MAX, "10.0.0.1", "/b", 200),
        http(0, "10.0.0.1", "/c", 200),
        http(-1, "10.0.0.1", "/d", 200),
    ];
    ingest(&store, &data);
    let all = all_pages(&store, EventQuery::default());
    assert_eq!(
        all.iter().map(|e| e.ts_ms).collect::<Vec<_>>(),
        vec![i64::MAX, 0, -1, i64::MIN]
    );
    let by_ip = ip_pages(&store, "10.0.0.1", 1);
    assert_eq!(by_ip.len(), 4);
    let s = store.ip_summary(ip("10.0.0.1")).expect("summary");
    assert_eq!(
        (s.events, s.first_seen_ms, s.last_seen_ms),
        (4, Some(i64::MIN), Some(i64::MAX))
    );
    let st = store
        .stats(&StatsQuery {
            since_ms: i64::MIN,
            until_ms: i64::MAX,
            bucket_ms: 1,
            top: 0,
        })
        .expect("stats");
    assert!(st.timeline.len() <= 20_002, "{} points", st.timeline.len());
    assert!(st.events >= 2, "the events near 0 are in range");
    store
        .prune(
            &Retention {
                max_age_days: Some(u32::MAX),
                max_events: Some(1),
            },
            i64::MIN,
        )
        .expect("prune");
    assert_eq!(store.event_count().expect("count"), 1);
}

#[test]
fn new_database_is_wal_with_16k_pages_and_versioned() {
    let (dir, store) = open();
    ingest(&store, &sample());
    drop(store);
    let conn =
        rusqlite::Connection::open(dir.path().join("data").join("secmo.db")).expect("open db");
    let q = |sql: &str| -> String {
        conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .expect("pragma")
    };
    assert_eq!(q("PRAGMA journal_mode"), "Text(\"wal\")");
    assert_eq!(q("PRAGMA page_size"), "Integer(16384)");
    assert_eq!(q("PRAGMA user_version"), "Integer(4)");
}

#[test]
fn ip_and_user_pages_merge_segments_whose_times_overlap() {
    // The IP and user indexes are cut into runs of 65536 events; late
    // timestamps put older events into a newer run. Pages must still be
    // newest first, complete and without duplicates.
    let (_d, store) = open();
    let mut data: Vec<Owned> = (0..70_000i64)
        .map(|i| {
            let ipv = if i % 1000 == 0 {
                "10.0.0.9".to_owned()
            } else {
                format!("10.1.{}.{}", (i / 256) % 256, i % 256)
            };
            let mut o = http(T0 + i * 10, &ipv, "/", 200);
            if i % 1000 == 500 {
                o.user = "alice".into();
            }
            o
        })
        .collect();
    // Late arrivals (ids beyond 65536): older than everything, and in the middle.
    for j in 0..300i64 {
        let ts = if j % 3 == 0 {
            T0 - 5_000 + j
        } else {
            T0 + 300_005 + j
        };
        let mut o = http(ts, "10.0.0.9", "/late", 200);
        if j % 2 == 0 {
            o.user = "alice".into();
        }
        data.push(o);
    }
    for chunk in data.chunks(8192) {
        ingest(&store, chunk);
    }
    for limit in [1u32, 7, 50] {
        let cases: [(EventQuery, usize); 2] = [
            (
                EventQuery {
                    ip: Some(ip("10.0.0.9")),
                    ..Default::default()
                },
                data.iter().filter(|o| o.ip == Some(ip("10.0.0.9"))).count(),
            ),
            (
                EventQuery {
                    user: Some("alice".into()),
                    ..Default::default()
                },
                data.iter().filter(|o| o.user == "alice").count(),
            ),
        ];
        for (mut q, expect) in cases {
            q.page.limit = limit;
            let got = all_pages(&store, q);
            assert_eq!(got.len(), expect, "limit {limit}");
            let ids: HashSet<i64> = got.iter().map(|e| e.id).collect();
            assert_eq!(ids.len(), got.len(), "duplicates at limit {limit}");
            assert!(
                got.windows(2)
                    .all(|w| (w[0].ts_ms, w[0].id) > (w[1].ts_ms, w[1].id)),
                "not newest first at limit {limit}"
            );
        }
    }
    let s = store.ip_summary(ip("10.0.0.9")).expect("summary");
    assert_eq!(s.events, 70 + 300);
    assert_eq!(s.first_seen_ms, Some(T0 - 5_000));
}

fn report_row(trigger: ReportTrigger, end: i64) -> NewReport {
    NewReport {
        created_ms: end,
        period_start_ms: end - 3_600_000,
        period_end_ms: end,
        trigger,
        requested_by: "secmo".into(),
        threat_level: "high".into(),
        incidents: 3,
        events: 1000,
        flagged_events: 40,
        language: "de".into(),
        doc_json: r#"{"version":1,"scope":"web-1 '; DROP TABLE reports;--"}"#.into(),
    }
}

fn email(dedupe: Option<&str>, report_id: Option<i64>) -> NewOutboxMessage {
    NewOutboxMessage {
        created_ms: T0,
        channel: "email".into(),
        kind: "report".into(),
        target: "ops@example.com, sec@example.com".into(),
        subject: "[secmo] report".into(),
        payload: "{}".into(),
        dedupe_key: dedupe.map(str::to_owned),
        report_id,
    }
}

#[test]
fn reports_are_stored_listed_and_the_last_scheduled_one_found() {
    let (_dir, store) = open();
    assert!(
        store
            .last_report(ReportTrigger::Schedule)
            .expect("last")
            .is_none()
    );
    let a = store
        .save_report(&report_row(ReportTrigger::Schedule, T0))
        .expect("save");
    let b = store
        .save_report(&report_row(ReportTrigger::Schedule, T0 + 3_600_000))
        .expect("save");
    let c = store
        .save_report(&report_row(ReportTrigger::Manual, T0 + 7_200_000))
        .expect("save");
    assert!(a.id < b.id && b.id < c.id);
    let last = store
        .last_report(ReportTrigger::Schedule)
        .expect("last")
        .expect("some");
    assert_eq!(
        last.id, b.id,
        "the manual report does not move the schedule"
    );
    let page = store
        .reports(&PageRequest {
            cursor: None,
            limit: 2,
        })
        .expect("page");
    assert_eq!(
        page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![c.id, b.id]
    );
    let rest = store
        .reports(&PageRequest {
            cursor: page.next_cursor,
            limit: 2,
        })
        .expect("page 2");
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    let (meta, doc) = store.report(a.id).expect("report").expect("some");
    assert_eq!(meta.language, "de");
    assert!(
        doc.contains("DROP TABLE reports"),
        "stored verbatim, bound as a parameter"
    );
    assert!(store.report(999).expect("missing").is_none());
}

#[test]
fn outbox_retries_dedupes_and_records_delivery_on_the_report() {
    let (_dir, store) = open();
    let report = store
        .save_report(&report_row(ReportTrigger::Manual, T0))
        .expect("save");
    let m = store
        .enqueue(&email(Some("incident:1:email"), Some(report.id)))
        .expect("enqueue")
        .expect("new");
    assert!(
        store
            .enqueue(&email(Some("incident:1:email"), None))
            .expect("dup")
            .is_none(),
        "deduplicated"
    );
    let plain = store
        .enqueue(&email(None, None))
        .expect("enqueue")
        .expect("new");
    assert_eq!(
        store.due_messages(T0 - 1, 10).expect("due").len(),
        0,
        "not before created"
    );
    assert_eq!(store.due_messages(T0, 10).expect("due").len(), 2);

    store
        .mark_failed(
            m.id,
            "SMTP 127.0.0.1:25: connection refused",
            Some(T0 + 15_000),
        )
        .expect("fail");
    let due: Vec<i64> = store
        .due_messages(T0 + 1, 10)
        .expect("due")
        .iter()
        .map(|(e, _)| e.id)
        .collect();
    assert_eq!(
        due,
        vec![plain.id],
        "the failed one waits for its retry time"
    );
    let counts = store.outbox_counts().expect("counts");
    assert_eq!(
        (counts.pending, counts.failing, counts.sent, counts.dead),
        (2, 1, 0, 0)
    );

    let (entry, _) = store
        .due_messages(T0 + 15_000, 10)
        .expect("due")
        .into_iter()
        .find(|(e, _)| e.id == m.id)
        .expect("retry due");
    assert_eq!((entry.id, entry.attempts), (m.id, 1));
    assert_eq!(
        entry.last_error.as_deref(),
        Some("SMTP 127.0.0.1:25: connection refused")
    );
    store.mark_sent(m.id, T0 + 16_000).expect("sent");
    assert!(
        store.mark_sent(m.id, T0 + 17_000).is_err(),
        "a message is marked sent once"
    );
    let (meta, _) = store.report(report.id).expect("report").expect("some");
    assert_eq!(
        meta.delivered_to,
        vec!["ops@example.com", "sec@example.com"]
    );

    store
        .mark_failed(plain.id, "550 no such user", None)
        .expect("dead");
    let counts = store.outbox_counts().expect("counts");
    assert_eq!(
        (counts.pending, counts.failing, counts.sent, counts.dead),
        (0, 0, 1, 1)
    );
    let dead = store
        .outbox(&OutboxQuery {
            status: Some(OutboxStatus::Dead),
            page: PageRequest::default(),
        })
        .expect("dead list");
    assert_eq!(dead.items.len(), 1);
    let revived = store.retry_message(plain.id, T0 + 20_000).expect("retry");
    assert_eq!(revived.status, OutboxStatus::Pending);
    assert_eq!(store.due_messages(T0 + 20_000, 10).expect("due").len(), 1);
    assert!(
        matches!(store.retry_message(m.id, T0), Err(StoreError::Conflict(_))),
        "sent stays sent"
    );
    assert_eq!(
        store
            .outbox(&OutboxQuery::default())
            .expect("all")
            .items
            .len(),
        2
    );
}
