use super::*;
use crate::rules::RuleSet;
use secmo_event::{Action, EventKind, Outcome};

fn matcher(yaml: &str) -> Matcher {
    let mut set = RuleSet::default();
    set.add_yaml("test.yml", yaml).expect("valid yaml");
    let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
    Matcher::compile(&docs).expect("rules compile")
}

fn compile_err(yaml: &str) -> String {
    let mut set = RuleSet::default();
    set.add_yaml("test.yml", yaml).expect("valid yaml");
    let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
    match Matcher::compile(&docs) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

fn hits(m: &Matcher, ev: &Event) -> Vec<Hit> {
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    m.matches(ev, &mut scratch, &mut out);
    out
}

fn http<'a>(path: &'a str, query: &'a str) -> Event<'a> {
    Event {
        kind: EventKind::Http,
        action: Action::Request,
        method: "GET".into(),
        path: path.into(),
        query: query.into(),
        status: 200,
        ..Event::default()
    }
}

fn rule(id: &str, detection: &str) -> String {
    format!("---\nid: {id}\ntitle: t\ncategory: sqli\nseverity: high\ndetection:\n{detection}\n")
}

#[test]
fn literals_on_normalised_text() {
    let m = matcher(&rule(
        "R1",
        "  sel:\n    url.original|contains: 'union select'\n  condition: sel",
    ));
    assert_eq!(hits(&m, &http("/a", "id=1%20UNION/**/Select%201")).len(), 1);
    assert_eq!(hits(&m, &http("/a", "id=1+union+%2573elect+1")).len(), 1);
    assert!(hits(&m, &http("/a", "id=unions+selected")).is_empty());
    assert!(hits(&m, &http("/union", "select")).is_empty());
}

#[test]
fn positions_and_case() {
    let yaml = rule("P", "  a:\n    url.path|startswith: /admin\n  condition: a")
        + &rule(
            "E",
            "  a:\n    url.path|endswith: [.php, .asp]\n  condition: a",
        )
        + &rule("Q", "  a:\n    url.path: /login\n  condition: a")
        + &rule(
            "C",
            "  a:\n    url.path|contains|cased: Secret\n  condition: a",
        );
    let m = matcher(&yaml);
    let ids = |p: &str| {
        hits(&m, &http(p, ""))
            .iter()
            .map(|h| h.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("/ADMIN/x.PHP"), vec![0, 1]);
    assert_eq!(ids("/x/admin"), Vec::<u32>::new());
    assert_eq!(ids("/LOGIN"), vec![2]);
    assert_eq!(ids("/login/x"), Vec::<u32>::new());
    assert_eq!(ids("/a/Secret"), vec![3]);
    assert_eq!(ids("/a/secret"), Vec::<u32>::new());
}

#[test]
fn all_modifier_and_conditions() {
    let yaml = rule(
        "A",
        "  kw:\n    url.query|contains|all: [select, from]\n  filter:\n    url.path|startswith: /search\n  condition: kw and not filter",
    ) + &rule(
        "B",
        "  s1:\n    url.query|contains: aaa\n  s2:\n    url.query|contains: bbb\n  condition: all of s*",
    ) + &rule(
        "N",
        "  f:\n    url.path|startswith: /ok\n  condition: not f",
    );
    let m = matcher(&yaml);
    let ids = |p: &str, q: &str| {
        hits(&m, &http(p, q))
            .iter()
            .map(|h| h.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("/x", "q=select+a+from+b"), vec![0, 2]);
    assert_eq!(ids("/search", "q=select+a+from+b"), vec![2]);
    assert_eq!(ids("/x", "q=select"), vec![2]);
    assert_eq!(ids("/ok", "aaa&bbb"), vec![1]);
    assert_eq!(ids("/ok", "aaa"), Vec::<u32>::new());
}

#[test]
fn regex_gated_by_literal() {
    let m = matcher(&rule(
        "R",
        "  a:\n    url.query|re: '\\bsleep\\s*\\(\\s*\\d+'\n  condition: a",
    ));
    assert_eq!(hits(&m, &http("/", "id=1+AND+SLEEP(5)")).len(), 1);
    assert!(hits(&m, &http("/", "id=sleepy")).is_empty());
}

#[test]
fn detectors() {
    let yaml = rule("S", "  a:\n    url.original|sqli: true\n  condition: a")
        + &rule("X", "  a:\n    url.original|xss: true\n  condition: a");
    let m = matcher(&yaml);
    let ids = |q: &str| {
        hits(&m, &http("/p", q))
            .iter()
            .map(|h| h.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("id=1%27%20OR%20%271%27=%271"), vec![0]);
    assert_eq!(ids("q=%3Cscript%3Ealert(1)%3C/script%3E"), vec![1]);
    assert_eq!(ids("q=hello+world&page=2"), Vec::<u32>::new());
}

#[test]
fn numbers_networks_exists_and_vocabulary() {
    let yaml = rule(
        "N",
        "  a:\n    http.response.status_code|gte: 500\n  b:\n    status: [401, 403]\n  condition: a or b",
    ) + &rule(
        "I",
        "  a:\n    source.ip|cidr: [10.0.0.0/8, '192.168.1.7']\n  condition: a",
    ) + &rule("X", "  a:\n    user.name|exists: true\n  condition: a")
        + &rule(
            "V",
            "  a:\n    event.action: LOGIN_FAILURE\n    event.outcome: failure\n    event.kind: [auth, app]\n  condition: a",
        )
        + &rule("T", "  a:\n    status|startswith: '4'\n  condition: a")
        + &rule("Y", "  a: {}\n  condition: a");
    let m = matcher(&yaml);
    let mut ev = http("/", "");
    ev.status = 503;
    ev.source_ip = "10.1.2.3".parse().ok();
    let ids = |ev: &Event| hits(&m, ev).iter().map(|h| h.rule).collect::<Vec<_>>();
    assert_eq!(ids(&ev), vec![0, 1, 5]);
    ev.status = 403;
    ev.source_ip = "192.168.1.8".parse().ok();
    ev.user = "bob".into();
    assert_eq!(ids(&ev), vec![0, 2, 4, 5]);
    let auth = Event {
        kind: EventKind::Auth,
        action: Action::LoginFailure,
        outcome: Outcome::Failure,
        ..Event::default()
    };
    assert_eq!(ids(&auth), vec![3, 5]);
}

#[test]
fn kinds_restrict_and_order_steps() {
    let yaml = "id: O\ntitle: t\ncategory: session_abuse\nseverity: low\nkinds: [app]\ndetection:\n  login: { event.action: login_success }\n  logout: { event.action: logout }\n  condition: login or logout\ncorrelation:\n  type: temporal_ordered\n  timespan: 1m\n  order: [login, logout]\n";
    let m = matcher(yaml);
    let mut ev = Event {
        kind: EventKind::App,
        action: Action::Logout,
        ..Event::default()
    };
    assert_eq!(
        hits(&m, &ev),
        vec![Hit {
            rule: 0,
            steps: 0b10
        }]
    );
    ev.action = Action::LoginSuccess;
    assert_eq!(
        hits(&m, &ev),
        vec![Hit {
            rule: 0,
            steps: 0b01
        }]
    );
    ev.kind = EventKind::Auth;
    assert!(hits(&m, &ev).is_empty());
}

#[test]
fn invalid_rules_name_the_rule() {
    let e = compile_err(&rule("BAD-F", "  a:\n    nosuch.field: x\n  condition: a"));
    assert!(e.contains("BAD-F") && e.contains("nosuch.field"), "{e}");
    let e = compile_err(&rule(
        "BAD-M",
        "  a:\n    url.path|sortof: x\n  condition: a",
    ));
    assert!(e.contains("BAD-M") && e.contains("sortof"), "{e}");
    let e = compile_err(&rule(
        "BAD-R",
        "  a:\n    url.path|re: '(unclosed'\n  condition: a",
    ));
    assert!(e.contains("BAD-R") && e.contains("regex"), "{e}");
    let e = compile_err(&rule(
        "BAD-C",
        "  a:\n    url.path: x\n  condition: a and b",
    ));
    assert!(e.contains("BAD-C"), "{e}");
    let e = compile_err(&rule("BAD-N", "  a:\n    url.path|gt: 3\n  condition: a"));
    assert!(e.contains("BAD-N"), "{e}");
    let e = compile_err(&rule(
        "BAD-I",
        "  a:\n    source.ip|cidr: 10.0.0.0/33\n  condition: a",
    ));
    assert!(e.contains("BAD-I"), "{e}");
    let order9 = "id: BAD-O\ntitle: t\ncategory: session_abuse\nseverity: low\ndetection:\n  a: { event.action: logout }\n  condition: a\ncorrelation:\n  type: temporal_ordered\n  timespan: 1m\n  order: [a, a, a, a, a, a, a, a, a]\n";
    assert!(compile_err(order9).contains("BAD-O"));
}

#[test]
fn scratch_is_reused_across_events() {
    let m = matcher(&rule(
        "R",
        "  a:\n    url.query|contains: '<script'\n  condition: a",
    ));
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    for i in 0..3 {
        out.clear();
        let q = if i % 2 == 0 { "x=%3Cscript" } else { "x=fine" };
        m.matches(&http("/", q), &mut scratch, &mut out);
        assert_eq!(out.len(), usize::from(i % 2 == 0));
    }
}

#[test]
fn path_tests_see_only_the_path_part_of_the_url() {
    let yaml = rule("E", "  a:\n    url.path|endswith: .php\n  condition: a")
        + &rule("Q", "  a:\n    url.path: /login\n  condition: a")
        + &rule("C", "  a:\n    url.path|contains: secret\n  condition: a")
        + &rule("R", "  a:\n    url.path|re: 'adm[i1]n$'\n  condition: a");
    let m = matcher(&yaml);
    let ids = |p: &str, q: &str| {
        hits(&m, &http(p, q))
            .iter()
            .map(|h| h.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("/x.php", "a=1"), vec![0]);
    assert_eq!(ids("/x", "a=.php"), Vec::<u32>::new());
    assert_eq!(ids("/login", "next=/"), vec![1]);
    assert_eq!(ids("/%6Cogin", ""), vec![1]);
    assert_eq!(ids("/a", "secret=1"), Vec::<u32>::new());
    assert_eq!(ids("/my-secret/", "x=1"), vec![2]);
    assert_eq!(ids("/adm1n", "q=admin"), vec![3]);
    assert_eq!(ids("/x", "q=admin"), Vec::<u32>::new());
}

/// Attacker-controlled text of any shape: the matcher must not panic and must
/// only report rules it has. A small xorshift generator keeps it deterministic.
#[test]
fn arbitrary_request_text_never_panics() {
    let set = RuleSet::builtin().expect("built-in rules");
    let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
    let m = Matcher::compile(&docs).expect("built-in rules compile");
    const ALPHABET: &[u8] =
        b"%&+*/\\.'\"<>()[]{};|`$#=?-_ 0123456789abcdefxuUABCDEF\t\n\x00\xc0\xae\xe2\x80\x8b";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    for _ in 0..3000 {
        let mut field = || {
            let len = (next() % 96) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let (path, query, ua, referrer) = (field(), field(), field(), field());
        let mut ev = http(&path, &query);
        ev.user_agent = ua.as_str().into();
        ev.referrer = referrer.as_str().into();
        out.clear();
        m.matches(&ev, &mut scratch, &mut out);
        assert!(out.iter().all(|h| (h.rule as usize) < m.rule_count()));
    }
    // One very long line: bounded work, still matched.
    let long = format!("q={}%27%20or%201=1--", "a".repeat(200_000));
    out.clear();
    m.matches(&http("/", &long), &mut scratch, &mut out);
    let sqli = docs.iter().position(|d| d.id == "web-sqli");
    assert!(sqli.is_some_and(|i| out.iter().any(|h| h.rule as usize == i)));
}

#[test]
fn repeated_user_agents_replay_the_same_hits() {
    let yaml = rule(
        "S",
        "  a:\n    user_agent.original|contains: sqlmap\n  condition: a",
    ) + &rule(
        "L",
        "  a:\n    user_agent.original|re: '\\$\\{jndi:'\n  condition: a",
    );
    let m = matcher(&yaml);
    let other = matcher(&rule(
        "O",
        "  a:\n    user_agent.original|contains: curl\n  condition: a",
    ));
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    let mut run = |m: &Matcher, ua: &str| {
        let mut ev = http("/", "");
        ev.user_agent = ua.into();
        out.clear();
        m.matches(&ev, &mut scratch, &mut out);
        out.iter().map(|h| h.rule).collect::<Vec<_>>()
    };
    for _ in 0..3 {
        assert_eq!(run(&m, "sqlmap/1.7 ${jndi:ldap://x}"), vec![0, 1]);
    }
    assert_eq!(run(&m, "Mozilla/5.0"), Vec::<u32>::new());
    assert_eq!(run(&m, "Mozilla/5.0"), Vec::<u32>::new());
    assert_eq!(run(&m, "SQLMAP"), vec![0]);
    // Another matcher must not replay this one's slots.
    assert_eq!(run(&other, "SQLMAP"), Vec::<u32>::new());
    assert_eq!(run(&other, "curl/8"), vec![0]);
    assert_eq!(run(&m, "curl/8"), Vec::<u32>::new());
}
