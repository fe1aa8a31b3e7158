//! The shipped windowed rules, end to end: the built-in rule set in an
//! [`Engine`], fed event sequences just over and just under each threshold
//! (the thresholds are the ones in the rules' contract with the generator).

use secmo_detect::engine::Detector;
use secmo_detect::{Alert, Category, Engine, Event, EventKind, Origin, RuleSet, Severity};
use secmo_event::{Action, Outcome};
use std::sync::Arc;

/// 2023-11-14T22:00:00Z: a whole hour, so one-minute buckets start on it.
const BASE: i64 = 1_699_999_200_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;

fn engine() -> Engine {
    let rules = RuleSet::builtin().expect("built-in rules load");
    Engine::new(Arc::new(
        Detector::new(&rules).expect("built-in rules compile"),
    ))
}

/// Run events through a fresh engine; the alerts of the finished report.
fn run(events: &[Event]) -> Vec<Alert> {
    let mut e = engine();
    for (i, ev) in events.iter().enumerate() {
        let raw = format!("event {i}");
        e.process(
            ev,
            Origin {
                input: 0,
                line: i as u64 + 1,
            },
            &raw,
        );
    }
    e.finish(Vec::new()).alerts
}

fn alerts_of<'a>(alerts: &'a [Alert], rule: &str) -> Vec<&'a Alert> {
    alerts.iter().filter(|a| a.rule_id == rule).collect()
}

/// The one alert of `rule`, checked for category and severity.
fn one<'a>(alerts: &'a [Alert], rule: &str, category: Category, severity: Severity) -> &'a Alert {
    let found = alerts_of(alerts, rule);
    assert_eq!(found.len(), 1, "{rule}: {found:#?}");
    let a = found[0];
    assert_eq!((a.category, a.severity), (category, severity), "{rule}");
    a
}

fn none(alerts: &[Alert], rule: &str) {
    let found = alerts_of(alerts, rule);
    assert!(found.is_empty(), "{rule} fired: {found:#?}");
}

fn app(ip: &str, user: &str, action: Action, ts: i64) -> Event<'static> {
    Event {
        timestamp_ms: Some(ts),
        kind: EventKind::App,
        action,
        outcome: match action {
            Action::LoginFailure => Outcome::Failure,
            Action::LoginSuccess => Outcome::Success,
            _ => Outcome::Unknown,
        },
        source_ip: ip.parse().ok(),
        user: user.to_string().into(),
        ..Event::default()
    }
}

fn http(ip: &str, ts: i64, method: &str, path: &str, status: u16, bytes: u64) -> Event<'static> {
    Event {
        timestamp_ms: Some(ts),
        kind: EventKind::Http,
        action: Action::Request,
        source_ip: ip.parse().ok(),
        method: method.to_string().into(),
        path: path.to_string().into(),
        protocol: "HTTP/1.1".into(),
        status,
        bytes,
        user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0".into(),
        ..Event::default()
    }
}

fn failures(n: i64, every: i64) -> Vec<Event<'static>> {
    (0..n)
        .map(|i| {
            app(
                "203.0.113.7",
                "alice",
                Action::LoginFailure,
                BASE + i * every,
            )
        })
        .collect()
}

// --- Application rules D-01..D-04, as the thresholds table states them ---

#[test]
fn d01_four_failures_in_five_minutes_from_one_ip() {
    let alerts = run(&failures(4, 30 * SEC));
    let a = one(&alerts, "D-01", Category::BruteForce, Severity::High);
    assert_eq!(a.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(a.count, 4);
    assert_eq!(a.first_seen.as_deref(), Some("2023-11-14T22:00:00Z"));
    assert_eq!(a.last_seen.as_deref(), Some("2023-11-14T22:01:30Z"));
    assert!(!a.evidence.is_empty() && a.evidence.len() <= 5);
}

#[test]
fn d01_three_failures_are_not_enough() {
    none(&run(&failures(3, 30 * SEC)), "D-01");
}

#[test]
fn d01_failures_spread_over_six_minutes_are_not_enough() {
    // Four failures at 0, 2, 4 and 6 minutes: no 5-minute window holds four.
    none(&run(&failures(4, 2 * MIN)), "D-01");
}

#[test]
fn d01_other_ips_do_not_add_up() {
    let events: Vec<_> = (0..8)
        .map(|i| {
            app(
                &format!("203.0.113.{i}"),
                "alice",
                Action::LoginFailure,
                BASE + i * SEC,
            )
        })
        .collect();
    none(&run(&events), "D-01");
}

#[test]
fn d02_api_flood() {
    let flood: Vec<_> = (0..11)
        .map(|i| app("198.51.100.4", "", Action::ApiRequest, BASE + i * 5 * SEC))
        .collect();
    let alerts = run(&flood);
    let a = one(&alerts, "D-02", Category::Flood, Severity::Medium);
    assert_eq!(
        (a.count, a.source_ip.as_deref()),
        (11, Some("198.51.100.4"))
    );
    none(&run(&flood[..10]), "D-02");
}

#[test]
fn d03_login_then_logout_within_a_minute() {
    let quick = [
        app("192.0.2.10", "bob", Action::LoginSuccess, BASE),
        app("192.0.2.10", "bob", Action::Logout, BASE + 20 * SEC),
    ];
    let alerts = run(&quick);
    let a = one(&alerts, "D-03", Category::SessionAbuse, Severity::Medium);
    assert_eq!((a.count, a.user.as_deref()), (2, Some("bob")));

    let slow = [
        app("192.0.2.10", "bob", Action::LoginSuccess, BASE),
        app("192.0.2.10", "bob", Action::Logout, BASE + 70 * SEC),
    ];
    none(&run(&slow), "D-03");
    let other_user = [
        app("192.0.2.10", "bob", Action::LoginSuccess, BASE),
        app("192.0.2.10", "carol", Action::Logout, BASE + 10 * SEC),
    ];
    none(&run(&other_user), "D-03");
    let reversed = [
        app("192.0.2.10", "bob", Action::Logout, BASE),
        app("192.0.2.10", "bob", Action::LoginSuccess, BASE + 10 * SEC),
    ];
    none(&run(&reversed), "D-03");
}

fn page_api_pairs(n: i64) -> Vec<Event<'static>> {
    (0..n)
        .flat_map(|i| {
            let t = BASE + i * MIN;
            [
                app("198.51.100.20", "", Action::PageVisit, t),
                app("198.51.100.20", "", Action::ApiRequest, t + 2 * SEC),
            ]
        })
        .collect()
}

#[test]
fn d04_five_page_then_api_pairs() {
    let alerts = run(&page_api_pairs(5));
    let a = one(&alerts, "D-04", Category::BotPattern, Severity::Low);
    assert_eq!(
        (a.count, a.source_ip.as_deref()),
        (10, Some("198.51.100.20"))
    );
    none(&run(&page_api_pairs(4)), "D-04");
}

// --- Authentication and database brute force ---

fn ssh(program: &str, action: Action, ts: i64) -> Event<'static> {
    Event {
        timestamp_ms: Some(ts),
        kind: EventKind::Auth,
        action,
        outcome: Outcome::Failure,
        source_ip: "192.0.2.99".parse().ok(),
        user: "root".into(),
        host: "web1".into(),
        program: program.to_string().into(),
        ..Event::default()
    }
}

#[test]
fn ssh_bruteforce() {
    let kinds = [
        Action::LoginFailure,
        Action::InvalidUser,
        Action::TooManyFailures,
    ];
    let attempts: Vec<_> = (0..6)
        .map(|i| ssh("sshd", kinds[i % 3], BASE + i as i64 * 10 * SEC))
        .collect();
    let alerts = run(&attempts);
    let a = one(
        &alerts,
        "ssh-bruteforce",
        Category::BruteForce,
        Severity::High,
    );
    assert_eq!((a.count, a.source_ip.as_deref()), (6, Some("192.0.2.99")));
    none(&run(&attempts[..5]), "ssh-bruteforce");
    // PAM's echo of each failure is not a second attempt.
    let echoed: Vec<_> = (0..5)
        .flat_map(|i| {
            let t = BASE + i * 10 * SEC;
            let mut pam = ssh("sshd", Action::LoginFailure, t);
            pam.message = "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.99".into();
            let mut failed = ssh("sshd", Action::LoginFailure, t + SEC);
            failed.message = "Failed password for root from 192.0.2.99 port 4242 ssh2".into();
            [pam, failed]
        })
        .collect();
    none(&run(&echoed), "ssh-bruteforce");
    let sudo: Vec<_> = (0..10)
        .map(|i| ssh("sudo", Action::LoginFailure, BASE + i))
        .collect();
    none(&run(&sudo), "ssh-bruteforce");
}

#[test]
fn db_bruteforce_falls_back_to_the_user() {
    let attempts: Vec<_> = (0..6)
        .map(|i| Event {
            timestamp_ms: Some(BASE + i * 20 * SEC),
            kind: EventKind::Db,
            action: Action::LoginFailure,
            outcome: Outcome::Failure,
            user: "postgres".into(),
            program: "postgres".into(),
            ..Event::default()
        })
        .collect();
    let alerts = run(&attempts);
    let a = one(
        &alerts,
        "db-bruteforce",
        Category::BruteForce,
        Severity::High,
    );
    assert_eq!(
        (a.count, a.source_ip.as_deref(), a.user.as_deref()),
        (6, None, Some("postgres"))
    );
    none(&run(&attempts[..5]), "db-bruteforce");
}

// --- HTTP windows ---

#[test]
fn web_bruteforce_on_login_paths() {
    let posts: Vec<_> = (0..6)
        .map(|i| {
            http(
                "203.0.113.50",
                BASE + i * 15 * SEC,
                "POST",
                "/wp-login.php",
                401,
                0,
            )
        })
        .collect();
    let alerts = run(&posts);
    let a = one(
        &alerts,
        "web-bruteforce",
        Category::BruteForce,
        Severity::High,
    );
    assert_eq!((a.count, a.source_ip.as_deref()), (6, Some("203.0.113.50")));
    none(&run(&posts[..5]), "web-bruteforce");
    let gets: Vec<_> = (0..10)
        .map(|i| {
            http(
                "203.0.113.50",
                BASE + i * 15 * SEC,
                "GET",
                "/wp-login.php",
                403,
                0,
            )
        })
        .collect();
    none(&run(&gets), "web-bruteforce");
    let accepted: Vec<_> = (0..10)
        .map(|i| {
            http(
                "203.0.113.50",
                BASE + i * 15 * SEC,
                "POST",
                "/user/login",
                302,
                0,
            )
        })
        .collect();
    none(&run(&accepted), "web-bruteforce");
}

#[test]
fn http_burst() {
    // 12 requests a second for 5 seconds: 51 requests within 5 s.
    let burst: Vec<_> = (0..51)
        .map(|i| http("198.51.100.60", BASE + i * 83, "GET", "/", 200, 512))
        .collect();
    let alerts = run(&burst);
    let a = one(&alerts, "http-burst", Category::Flood, Severity::Medium);
    assert_eq!(a.count, 51);
    none(&run(&burst[..50]), "http-burst");
    // A browser loading a page: 17 assets in the same second, then quiet.
    let page_load: Vec<_> = (0..17)
        .map(|i| http("198.51.100.61", BASE + i * 50, "GET", "/img", 200, 512))
        .collect();
    none(&run(&page_load), "http-burst");
    // Three requests a second for a minute: a busy browser, not a burst.
    let steady: Vec<_> = (0..180)
        .map(|i| http("198.51.100.60", BASE + i * 333, "GET", "/", 200, 512))
        .collect();
    none(&run(&steady), "http-burst");
}

#[test]
fn http_404_scanner_counts_distinct_paths() {
    let scan: Vec<_> = (0..21)
        .map(|i| {
            http(
                "192.0.2.77",
                BASE + i * 5 * SEC,
                "GET",
                &format!("/probe-{i}.php"),
                404,
                0,
            )
        })
        .collect();
    let alerts = run(&scan);
    let a = one(
        &alerts,
        "http-404-scanner",
        Category::Scanner,
        Severity::Medium,
    );
    assert_eq!((a.count, a.source_ip.as_deref()), (21, Some("192.0.2.77")));
    none(&run(&scan[..20]), "http-404-scanner");
    let same: Vec<_> = (0..40)
        .map(|i| {
            http(
                "192.0.2.77",
                BASE + i * 5 * SEC,
                "GET",
                "/favicon.ico",
                404,
                0,
            )
        })
        .collect();
    none(&run(&same), "http-404-scanner");
}

#[test]
fn http_429_scraping() {
    let limited: Vec<_> = (0..11)
        .map(|i| {
            http(
                "192.0.2.80",
                BASE + i * 20 * SEC,
                "GET",
                &format!("/item/{i}"),
                429,
                0,
            )
        })
        .collect();
    let alerts = run(&limited);
    let a = one(
        &alerts,
        "http-429-scraping",
        Category::Scraping,
        Severity::Medium,
    );
    assert_eq!(a.count, 11);
    none(&run(&limited[..10]), "http-429-scraping");
}

#[test]
fn http_error_burst_per_ip_and_status() {
    let errors: Vec<_> = (0..31)
        .map(|i| http("192.0.2.90", BASE + i * 1_900, "GET", "/api/data", 500, 0))
        .collect();
    let alerts = run(&errors);
    let a = one(
        &alerts,
        "http-error-burst",
        Category::ErrorBurst,
        Severity::Low,
    );
    assert_eq!(a.count, 31);
    none(&run(&errors[..30]), "http-error-burst");
    // 40 errors split over two statuses: 20 each, no burst.
    let mixed: Vec<_> = (0..40)
        .map(|i| {
            http(
                "192.0.2.90",
                BASE + i * 1_400,
                "GET",
                "/api/data",
                if i % 2 == 0 { 500 } else { 502 },
                0,
            )
        })
        .collect();
    none(&run(&mixed), "http-error-burst");
}

#[test]
fn http_exfil_download_volume() {
    let big: Vec<_> = (0..6)
        .map(|i| {
            http(
                "203.0.113.99",
                BASE + i * MIN,
                "GET",
                "/backup.tar",
                200,
                100_000_000,
            )
        })
        .collect();
    let alerts = run(&big);
    let a = one(
        &alerts,
        "http-exfil-download",
        Category::Exfiltration,
        Severity::High,
    );
    assert_eq!((a.count, a.source_ip.as_deref()), (6, Some("203.0.113.99")));
    none(&run(&big[..5]), "http-exfil-download");
    // The same volume spread over an hour stays under 500 MB per 10 minutes.
    let slow: Vec<_> = (0..6)
        .map(|i| {
            http(
                "203.0.113.99",
                BASE + i * 11 * MIN,
                "GET",
                "/backup.tar",
                200,
                100_000_000,
            )
        })
        .collect();
    none(&run(&slow), "http-exfil-download");
}

#[test]
fn http_exfil_upload_volume() {
    let upload = |ts: i64, method: &str| {
        let mut ev = http("203.0.113.98", ts, method, "/upload", 201, 120);
        ev.request_bytes = 60_000_000;
        ev
    };
    let alerts = run(&[upload(BASE, "POST"), upload(BASE + MIN, "PUT")]);
    let a = one(
        &alerts,
        "http-exfil-upload",
        Category::Exfiltration,
        Severity::High,
    );
    assert_eq!(a.count, 2);
    none(&run(&[upload(BASE, "POST")]), "http-exfil-upload");
    none(
        &run(&[upload(BASE, "GET"), upload(BASE + MIN, "GET")]),
        "http-exfil-upload",
    );
}

/// `per_minute[m]` requests in minute m, each from its own address so no
/// per-IP rule interferes.
fn traffic(per_minute: &[u32]) -> Vec<Event<'static>> {
    let mut out = Vec::new();
    for (m, &n) in per_minute.iter().enumerate() {
        for i in 0..n {
            let ip = format!("10.{}.{}.{}", m % 250, i / 250, i % 250);
            let ts = BASE + m as i64 * MIN + i64::from(i) * (MIN / i64::from(n));
            out.push(http(&ip, ts, "GET", "/index.html", 200, 2_000));
        }
    }
    out
}

#[test]
fn http_traffic_spike_against_the_baseline() {
    let mut minutes = vec![60; 30];
    minutes.push(400);
    let alerts = run(&traffic(&minutes));
    let a = one(
        &alerts,
        "http-traffic-spike",
        Category::TrafficSpike,
        Severity::Medium,
    );
    assert_eq!((a.source_ip.as_deref(), a.user.as_deref()), (None, None));
    assert_eq!(a.count, 400);
    assert_eq!(a.first_seen.as_deref(), Some("2023-11-14T22:30:00Z"));

    // The same surge before 30 minutes of baseline exist: nothing to compare with.
    none(&run(&traffic(&[60, 60, 400])), "http-traffic-spike");
    // 400 against a mean of 100 is not 5x.
    let mut busy = vec![100; 30];
    busy.push(400);
    none(&run(&traffic(&busy)), "http-traffic-spike");
}

#[test]
fn replay_order_does_not_matter_for_a_few_seconds_of_disorder() {
    // Apache writes lines when requests finish: a few seconds out of order.
    let mut posts: Vec<_> = (0..6)
        .map(|i| {
            http(
                "203.0.113.51",
                BASE + i * 10 * SEC,
                "POST",
                "/login",
                401,
                0,
            )
        })
        .collect();
    posts.swap(1, 4);
    posts.swap(0, 2);
    let alerts = run(&posts);
    assert_eq!(
        one(
            &alerts,
            "web-bruteforce",
            Category::BruteForce,
            Severity::High
        )
        .count,
        6
    );
}
