use super::*;
use secmo_event::format_rfc3339;
use std::borrow::Cow;
use std::net::Ipv4Addr;

const T0: i64 = 1_709_251_200_000; // 2024-03-01T00:00:00Z

fn http<'a>(ip: u8, path: &'a str, status: u16, referrer: &'a str, ua: &'a str) -> Event<'a> {
    Event {
        timestamp_ms: Some(T0),
        kind: EventKind::Http,
        action: Action::Request,
        source_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, ip))),
        method: Cow::Borrowed("GET"),
        path: Cow::Borrowed(path),
        status,
        bytes: 100,
        referrer: Cow::Borrowed(referrer),
        user_agent: Cow::Borrowed(ua),
        ..Event::default()
    }
}

fn login(ip: u8, user: &str, ok: bool) -> Event<'_> {
    Event {
        timestamp_ms: Some(T0 + 60_000),
        kind: EventKind::Auth,
        action: if ok {
            Action::LoginSuccess
        } else {
            Action::LoginFailure
        },
        source_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, ip))),
        user: Cow::Borrowed(user),
        program: Cow::Borrowed("sshd"),
        ..Event::default()
    }
}

fn entries(l: &TopList) -> Vec<(&str, u64)> {
    l.entries
        .iter()
        .map(|e| (e.value.as_str(), e.count))
        .collect()
}

#[test]
fn counts_a_small_stream() {
    let mut a = Analytics::default();
    a.observe(&http(
        1,
        "/",
        200,
        "https://WWW.Example.com:443/a?b",
        "curl/8",
    ));
    a.observe(&http(1, "/login", 401, "-", "curl/8"));
    a.observe(&http(2, "/admin.php", 404, "", "sqlmap/1.7"));
    a.observe(&http(2, "/", 503, "http://user@example.com/", "curl/8"));
    a.observe(&http(3, "/", 302, "android-app://com.Foo/", "Mozilla/5.0"));
    a.observe(&login(1, "root", false));
    a.observe(&login(1, "root", false));
    a.observe(&login(3, "alice", true));
    let r = a.finish();
    assert_eq!(r.totals.events, 8);
    assert_eq!(r.totals.http_requests, 5);
    assert_eq!(r.totals.http_errors, 3);
    assert_eq!(
        (r.totals.unique_ips, r.totals.unique_ips_estimated),
        (3, false)
    );
    assert_eq!(r.totals.bytes_sent, 500);
    assert_eq!(
        r.by_kind,
        vec![
            KindCount {
                kind: EventKind::Http,
                count: 5
            },
            KindCount {
                kind: EventKind::Auth,
                count: 3
            }
        ]
    );
    assert_eq!(
        entries(&r.top_source_ips),
        vec![("10.0.0.1", 4), ("10.0.0.2", 2), ("10.0.0.3", 2)]
    );
    assert_eq!(
        entries(&r.top_pages),
        vec![("/", 3), ("/admin.php", 1), ("/login", 1)]
    );
    assert_eq!(entries(&r.top_not_found), vec![("/admin.php", 1)]);
    assert_eq!(
        entries(&r.top_referrer_domains),
        vec![("example.com", 1), ("com.foo", 1), ("www.example.com", 1)]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(entries(&r.top_user_agents)[0], ("curl/8", 3));
    assert_eq!(
        r.status_classes,
        StatusClasses {
            allowed: 2,
            blocked: 1,
            not_found: 1,
            other_client_error: 0,
            server_error: 1,
            other: 0
        }
    );
    assert_eq!(r.status_codes.len(), 5);
    assert_eq!(
        r.status_codes[0],
        StatusCount {
            status: 200,
            count: 1
        }
    );
    assert_eq!((r.auth.login_successes, r.auth.login_failures), (1, 2));
    assert_eq!(
        r.auth.by_kind,
        vec![LoginCount {
            kind: EventKind::Auth,
            successes: 1,
            failures: 2
        }]
    );
    assert_eq!(entries(&r.auth.top_failed_users), vec![("root", 2)]);
    assert_eq!(entries(&r.auth.top_failed_ips), vec![("10.0.0.1", 2)]);
    assert_eq!(r.timeline.bucket, "1m");
    assert_eq!(r.timeline.buckets.len(), 2);
    assert_eq!(r.timeline.buckets[0].start, format_rfc3339(T0));
    assert_eq!(
        (
            r.timeline.buckets[0].events,
            r.timeline.buckets[0].http_errors
        ),
        (5, 3)
    );
}

#[test]
fn referrer_hosts() {
    assert_eq!(
        referrer_host("https://a.example.org/x"),
        Some("a.example.org")
    );
    assert_eq!(referrer_host("http://u:p@h.test:8080?q"), Some("h.test"));
    assert_eq!(referrer_host("http://a@b:c@d.test:1/x"), Some("d.test"));
    assert_eq!(referrer_host("http://u:p@h.test"), Some("h.test"));
    assert_eq!(referrer_host("http://h.test:80#top"), Some("h.test"));
    assert_eq!(referrer_host("http://u:p@:80/"), None);
    assert_eq!(
        referrer_host("http://[2001:db8::1]:80/"),
        Some("[2001:db8::1]")
    );
    assert_eq!(referrer_host("example.com/page"), Some("example.com"));
    assert_eq!(referrer_host("//cdn.test/a"), Some("cdn.test"));
    assert_eq!(referrer_host("/x?u=http://evil.test/"), None);
    assert_eq!(referrer_host("-"), None);
    assert_eq!(referrer_host("http:///path"), None);
    assert_eq!(referrer_host("  HTTPS://Ex.COM.  "), Some("Ex.COM"));
    assert_eq!(
        referrer_host("https://héllo.example/ü"),
        Some("héllo.example")
    );
    assert_eq!(referrer_host("@"), None);
    assert_eq!(referrer_host("   "), None);
    assert_eq!(referrer_host(""), None);
    assert_eq!(referrer_host("http://a@b@c.test:1/"), Some("c.test"));
}

#[test]
fn clips_on_char_boundaries() {
    assert_eq!(clip("héllo", 2), "h");
    assert_eq!(clip("héllo", 3), "hé");
    assert_eq!(clip("abc", 10), "abc");
}

/// A stream with many kinds of events, deterministic.
fn stream(n: u32) -> Vec<Event<'static>> {
    let paths = [
        "/",
        "/index.html",
        "/login",
        "/wp-admin/",
        "/.env",
        "/api/v1/items",
    ];
    let refs = [
        "-",
        "https://google.com/",
        "https://Bing.com/search?q=x",
        "http://example.org/",
    ];
    let uas = ["Mozilla/5.0", "curl/8.1", "sqlmap/1.7", "Googlebot/2.1"];
    let statuses = [200, 200, 304, 404, 401, 500, 403, 200];
    (0..n)
        .map(|i| {
            let i64i = i64::from(i);
            let mut ev = http(
                (i % 251) as u8,
                paths[(i as usize * 7) % paths.len()],
                statuses[(i as usize * 3) % statuses.len()],
                refs[(i as usize) % refs.len()],
                uas[(i as usize * 5) % uas.len()],
            );
            ev.timestamp_ms = if i % 97 == 0 {
                None
            } else {
                Some(T0 + i64i * 37_000)
            };
            if i % 11 == 0 {
                ev = login(
                    (i % 13) as u8,
                    ["root", "admin", "bob"][(i % 3) as usize],
                    i % 4 == 0,
                )
                .into_owned();
                ev.timestamp_ms = Some(T0 + i64i * 37_000);
            }
            ev.into_owned()
        })
        .collect()
}

#[test]
fn merge_equals_one_pass() {
    let events = stream(20_000);
    for split in [0, 1, 7_000, 19_999] {
        let mut whole = Analytics::default();
        let mut a = Analytics::default();
        let mut b = Analytics::default();
        for (i, ev) in events.iter().enumerate() {
            whole.observe(ev);
            if i < split {
                a.observe(ev)
            } else {
                b.observe(ev)
            }
        }
        a.merge(b);
        assert_eq!(a.finish(), whole.finish(), "split at {split}");
    }
}

#[test]
fn merge_of_interleaved_shares_equals_one_pass() {
    // Parallel workers get interleaved chunks, not a prefix and a suffix.
    let events = stream(10_000);
    let mut whole = Analytics::default();
    let mut shares = [
        Analytics::default(),
        Analytics::default(),
        Analytics::default(),
    ];
    for (i, ev) in events.iter().enumerate() {
        whole.observe(ev);
        shares[(i / 500) % 3].observe(ev);
    }
    let [mut a, b, c] = shares;
    a.merge(b);
    a.merge(c);
    let whole = whole.finish();
    assert_eq!(a.finish(), whole);
    assert!(whole.timeline.buckets.len() <= 100);
    assert_eq!(
        whole.timeline.events_without_time,
        10_000u64.div_ceil(97) - 10
    );
}

#[test]
fn memory_stays_bounded_on_distinct_keys() {
    let mut a = Analytics::default();
    let long = "x".repeat(10_000);
    for i in 0..(PAGE_KEEP as u32 * 3) {
        let path = format!("/{i}/{long}");
        let ua = format!("ua-{i}");
        let mut ev = http(1, &path, 404, "", &ua);
        ev.status = if i % 2 == 0 { 404 } else { 65_535 };
        a.observe(&ev);
        assert!(a.pages.len() <= 2 * PAGE_KEEP);
        assert!(a.user_agents.len() <= 2 * USER_AGENT_KEEP);
    }
    assert!(a.pages.keys().all(|k| k.len() <= MAX_KEY_BYTES));
    let r = a.finish();
    assert!(r.top_pages.max_error > 0);
    assert!(r.top_pages.max_error <= r.totals.events / (PAGE_KEEP as u64 + 1));
    assert_eq!(r.status_classes.other, r.totals.events / 2);
    assert_eq!(r.top_pages.entries.len(), TOP_N);
}

#[test]
fn empty_analytics_finishes_empty() {
    let r = Analytics::default().finish();
    assert_eq!(r, AnalyticsReport::default());
    let json = serde_json::to_value(&r).unwrap_or_default();
    for key in [
        "totals",
        "by_kind",
        "top_source_ips",
        "status_classes",
        "auth",
        "timeline",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn referrer_host_never_panics_and_borrows() {
    // Every string of up to 5 characters over the bytes the scanner cares about.
    let alphabet = ['h', ':', '/', '@', '[', ']', '.', ' ', '-', 'é'];
    let mut s = String::new();
    for n in 0..100_000u32 {
        s.clear();
        let mut k = n;
        for _ in 0..5 {
            s.push(alphabet[(k % 10) as usize]);
            k /= 10;
            if k == 0 {
                break;
            }
        }
        if let Some(h) = referrer_host(&s) {
            assert!(!h.is_empty() && s.contains(h), "{s:?} -> {h:?}");
            assert!(!h.contains(['/', '@']), "{s:?} -> {h:?}");
        }
    }
}
