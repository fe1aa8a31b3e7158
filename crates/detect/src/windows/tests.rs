//! `Windows` driven directly with hand-made hits: the glue between keys,
//! windows and the alert book.

use super::*;
use crate::rules::RuleMeta;
use crate::rules::schema::RuleDoc;
use secmo_event::{Action, EventKind};
use std::net::IpAddr;

fn doc(correlation: &str) -> RuleDoc {
    let text = format!(
        "id: T\ntitle: t\ncategory: brute_force\nseverity: high\ndetection:\n  a: {{ event.action: login_success }}\n  b: {{ event.action: logout }}\n  condition: a or b\ncorrelation:\n{correlation}"
    );
    serde_yaml_ng::from_str(&text).expect("test rule parses")
}

struct Rig {
    windows: Windows,
    alerts: AlertBook,
    meta: Vec<RuleMeta>,
    line: u64,
}

impl Rig {
    fn new(correlation: &str) -> Rig {
        let d = doc(correlation);
        Rig {
            windows: Windows::compile(std::slice::from_ref(&d)).expect("compiles"),
            alerts: AlertBook::new(1),
            meta: vec![RuleMeta::from(&d)],
            line: 0,
        }
    }

    /// Advance and observe one event as a hit with `steps`; true when flagged.
    fn feed(&mut self, ev: &Event, steps: u8) -> bool {
        self.line += 1;
        let origin = Origin {
            input: 0,
            line: self.line,
        };
        let raw = format!("line {}", self.line);
        let mut flagged = Vec::new();
        self.windows
            .advance(ev, &mut self.alerts, origin, &raw, &mut flagged);
        self.windows
            .observe(Hit { rule: 0, steps }, ev, origin, &raw, &mut self.alerts)
    }

    fn alerts(self) -> Vec<crate::report::Alert> {
        self.alerts.into_alerts(&self.meta)
    }
}

fn at(ip: &str, ts_ms: i64) -> Event<'static> {
    Event {
        timestamp_ms: Some(ts_ms),
        kind: EventKind::App,
        action: Action::LoginFailure,
        source_ip: ip.parse().ok(),
        path: format!("/p{ts_ms}").into(),
        bytes: 1_000,
        ..Event::default()
    }
}

const COUNT_5M_GT3: &str =
    "  type: event_count\n  group-by: [source.ip]\n  timespan: 5m\n  condition: { gt: 3 }\n";

#[test]
fn event_count_alert_counts_the_window_and_later_events() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    let flags: Vec<bool> = (0..6)
        .map(|i| rig.feed(&at("10.0.0.9", i * 10_000), 0))
        .collect();
    assert_eq!(flags, [false, false, false, true, true, true]);
    let alerts = rig.alerts();
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.count, 6);
    assert_eq!(a.source_ip.as_deref(), Some("10.0.0.9"));
    assert_eq!(a.first_seen.as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(a.last_seen.as_deref(), Some("1970-01-01T00:00:50Z"));
    let lines: Vec<u64> = a.evidence.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6]);
}

#[test]
fn keys_are_separate() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    for i in 0..6 {
        let ip = if i % 2 == 0 { "10.0.0.1" } else { "10.0.0.2" };
        assert!(!rig.feed(&at(ip, i * 1_000), 0));
    }
    assert!(rig.alerts().is_empty());
}

#[test]
fn events_without_the_group_by_value_are_skipped() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    for i in 0..10 {
        let mut ev = at("", i);
        ev.source_ip = None;
        assert!(!rig.feed(&ev, 0));
    }
    assert_eq!(rig.windows.keys_held(), 0);
}

#[test]
fn events_without_time_count_at_the_last_time_seen() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    rig.feed(&at("10.0.0.1", 1_000_000), 0);
    let mut untimed = at("10.0.0.1", 0);
    untimed.timestamp_ms = None;
    assert!(!rig.feed(&untimed, 0));
    assert!(!rig.feed(&untimed, 0));
    assert!(rig.feed(&untimed, 0));
}

#[test]
fn idle_firing_keys_start_over() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    for i in 0..4 {
        rig.feed(&at("10.0.0.1", i), 0);
    }
    // Ten minutes later: a new window, one event is not an alert event.
    assert!(!rig.feed(&at("10.0.0.1", 600_000), 0));
    assert_eq!(rig.alerts()[0].count, 4);
}

#[test]
fn an_older_input_after_a_newer_one_is_a_new_stream() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    for i in 0..3 {
        rig.feed(&at("10.0.0.1", 86_400_000 + i), 0);
    }
    // The next file is a day older: its events form their own windows.
    let flags: Vec<bool> = (0..4).map(|i| rig.feed(&at("10.0.0.1", i), 0)).collect();
    assert_eq!(flags, [false, false, false, true]);
}

#[test]
fn distinct_paths_per_ip() {
    let mut rig = Rig::new(
        "  type: value_count\n  field: url.path\n  group-by: [source.ip]\n  timespan: 5m\n  condition: { gt: 2 }\n",
    );
    assert!(!rig.feed(&at("10.0.0.1", 1), 0));
    let mut same = at("10.0.0.1", 2);
    same.path = "/p1".into();
    assert!(!rig.feed(&same, 0));
    assert!(!rig.feed(&at("10.0.0.1", 3), 0));
    assert!(rig.feed(&at("10.0.0.1", 4), 0));
    assert_eq!(rig.alerts()[0].count, 4);
}

#[test]
fn sum_of_bytes_per_ip() {
    let mut rig = Rig::new(
        "  type: value_sum\n  field: http.response.body.bytes\n  group-by: [source.ip]\n  timespan: 10m\n  condition: { gt: 2500 }\n",
    );
    assert!(!rig.feed(&at("10.0.0.1", 0), 0));
    assert!(!rig.feed(&at("10.0.0.1", 1), 0));
    assert!(rig.feed(&at("10.0.0.1", 2), 0));
}

#[test]
fn sequence_per_user() {
    let mut rig = Rig::new(
        "  type: temporal_ordered\n  group-by: [user.name]\n  timespan: 1m\n  order: [a, b]\n",
    );
    let mut ev = at("10.0.0.1", 0);
    ev.user = "alice".into();
    assert!(!rig.feed(&ev, 0b01));
    ev.timestamp_ms = Some(20_000);
    assert!(rig.feed(&ev, 0b10));
    let alerts = rig.alerts();
    assert_eq!(alerts[0].count, 2);
    assert_eq!(alerts[0].user.as_deref(), Some("alice"));
}

#[test]
fn global_spike_has_no_attacker_and_stops_with_its_bucket() {
    let mut rig = Rig::new(
        "  type: spike\n  timespan: 1m\n  baseline: 3\n  factor: 2\n  condition: { gt: 5 }\n",
    );
    let mut flagged = 0;
    for bucket in 0..3 {
        for i in 0..3 {
            flagged += usize::from(rig.feed(&at("10.0.0.1", bucket * 60_000 + i), 0));
        }
    }
    assert_eq!(flagged, 0);
    let spike: Vec<bool> = (0..8)
        .map(|i| rig.feed(&at(&format!("10.0.1.{i}"), 180_000 + i), 0))
        .collect();
    assert_eq!(
        spike,
        [false, false, false, false, false, false, true, true]
    );
    assert!(!rig.feed(&at("10.0.0.1", 240_000), 0), "next bucket");
    let alerts = rig.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].source_ip, None);
    assert_eq!(alerts[0].count, 8);
}

#[test]
fn invalid_correlations_are_rejected() {
    let bad = [
        "  type: event_count\n  timespan: 5 parsecs\n",
        "  type: event_count\n  group-by: [nonsense]\n  timespan: 5m\n",
        "  type: value_count\n  timespan: 5m\n",
        "  type: value_sum\n  field: url.path\n  timespan: 5m\n",
        "  type: temporal_ordered\n  timespan: 5m\n  order: [a, missing]\n",
        "  type: spike\n  timespan: 1m\n  factor: 2\n",
        "  type: spike\n  timespan: 1m\n  baseline: 3\n  factor: -1\n",
    ];
    for c in bad {
        assert!(Windows::compile(&[doc(c)]).is_err(), "{c}");
    }
}

#[test]
fn huge_thresholds_use_fixed_memory() {
    let mut rig = Rig::new(
        "  type: event_count\n  group-by: [source.ip]\n  timespan: 10m\n  condition: { gt: 100000 }\n",
    );
    let flagged = (0..100_001)
        .filter(|i| rig.feed(&at("10.0.0.1", i / 1_000), 0))
        .count();
    assert_eq!(flagged, 1);
}

#[test]
fn two_million_distinct_ips_stay_under_the_cap() {
    let mut rig = Rig::new(COUNT_5M_GT3);
    let mut max_keys = 0;
    for i in 0u32..2_000_000 {
        let ev = Event {
            timestamp_ms: Some(i64::from(i / 100)),
            source_ip: Some(IpAddr::from((0x0a00_0000 + i).to_be_bytes())),
            ..Event::default()
        };
        let origin = Origin {
            input: 0,
            line: u64::from(i),
        };
        let mut flagged = Vec::new();
        rig.windows
            .advance(&ev, &mut rig.alerts, origin, "x", &mut flagged);
        assert!(
            !rig.windows
                .observe(Hit { rule: 0, steps: 0 }, &ev, origin, "x", &mut rig.alerts)
        );
        if i % 1_000 == 0 {
            max_keys = max_keys.max(rig.windows.keys_held());
        }
    }
    max_keys = max_keys.max(rig.windows.keys_held());
    assert!(max_keys <= MAX_KEYS_PER_RULE + 1, "{max_keys} keys held");
    assert!(
        max_keys >= MAX_KEYS_PER_RULE / 2,
        "the cap, not time, bounded this run"
    );
    assert!(rig.alerts.is_empty());
}

#[test]
fn builtin_windowed_rules_compile() {
    let set = crate::rules::RuleSet::builtin().expect("built-in rules load");
    let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
    let windows = Windows::compile(&docs).expect("built-in correlations compile");
    let ids = [
        "web-bruteforce",
        "ssh-bruteforce",
        "db-bruteforce",
        "D-01",
        "D-02",
        "D-03",
        "D-04",
        "http-burst",
        "http-404-scanner",
        "http-429-scraping",
        "http-error-burst",
        "http-exfil-download",
        "http-exfil-upload",
        "http-traffic-spike",
    ];
    for id in ids {
        let i = docs.iter().position(|d| d.id == id);
        assert!(i.is_some_and(|i| windows.is_correlated(i as u32)), "{id}");
    }
}

#[test]
fn extreme_timestamps_never_panic() {
    let set = crate::rules::RuleSet::builtin().expect("built-in rules load");
    let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
    let mut windows = Windows::compile(&docs).expect("compiles");
    let mut alerts = AlertBook::new(docs.len());
    let times = [
        i64::MIN,
        i64::MAX,
        0,
        -1,
        i64::MIN + 1,
        i64::MAX - 1,
        1_700_000_000_000,
    ];
    let mut flagged = Vec::new();
    for round in 0..40u32 {
        for (n, &t) in times.iter().enumerate() {
            let ev = Event {
                timestamp_ms: (n % 3 != 2).then_some(t),
                kind: EventKind::Http,
                source_ip: Some(IpAddr::from([10, 0, 0, (round % 3) as u8])),
                user: "u".into(),
                path: format!("/{n}").into(),
                status: 404,
                bytes: u64::MAX,
                request_bytes: u64::MAX,
                ..Event::default()
            };
            let origin = Origin {
                input: 0,
                line: u64::from(round),
            };
            windows.advance(&ev, &mut alerts, origin, "x", &mut flagged);
            for rule in 0..docs.len() as u32 {
                if windows.is_correlated(rule) {
                    windows.observe(Hit { rule, steps: 0xff }, &ev, origin, "x", &mut alerts);
                }
            }
        }
    }
    let meta: Vec<RuleMeta> = docs.iter().map(RuleMeta::from).collect();
    assert!(!alerts.into_alerts(&meta).is_empty());
}

#[test]
fn per_key_state_stays_small() {
    use std::mem::size_of;
    let sizes = [
        ("count", size_of::<keys::Entry<CountWindow>>()),
        ("distinct", size_of::<keys::Entry<DistinctWindow>>()),
        ("sequence", size_of::<keys::Entry<SequenceWindow>>()),
        ("sum", size_of::<keys::Entry<SumWindow>>()),
        ("spike", size_of::<keys::Entry<SpikeWindow>>()),
    ];
    println!("{sizes:?}");
    for (name, size) in sizes {
        // Plus the 16-byte key; count and distinct add a heap ring sized by the threshold.
        assert!(size <= 400, "{name}: {size} bytes");
    }
    assert!(size_of::<keys::Entry<CountWindow>>() <= 64);
}
