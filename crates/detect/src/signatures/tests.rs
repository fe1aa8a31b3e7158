use super::*;
use crate::rules::RuleSet;
use secmo_event::{Action, EventKind, Outcome};

fn docs(yaml: &str) -> Vec<RuleDoc> {
    let mut set = RuleSet::default();
    set.add_yaml("test.yml", yaml).expect("valid yaml");
    set.enabled().cloned().collect()
}

fn matcher(yaml: &str) -> Matcher {
    Matcher::compile(&docs(yaml)).expect("rules compile")
}

fn compile_err(yaml: &str) -> String {
    match Matcher::compile(&docs(yaml)) {
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

/// Rule ids of the built-in signature rules flagging a request.
fn builtin_ids(path: &str, query: &str) -> Vec<String> {
    let set = RuleSet::builtin().expect("built-in rules");
    let docs: Vec<RuleDoc> = set
        .enabled()
        .filter(|d| d.correlation.is_none())
        .cloned()
        .collect();
    let m = Matcher::compile(&docs).expect("rules compile");
    hits(&m, &http(path, query))
        .iter()
        .filter_map(|h| docs.get(h.rule as usize))
        .map(|d| d.id.clone())
        .collect()
}

fn flags(rule: &str, path: &str, query: &str) -> bool {
    builtin_ids(path, query).iter().any(|id| id == rule)
}

#[test]
fn web_rules_generalised_families() {
    let yes = [
        // XSS: script URI in an attribute, whatever follows the colon.
        (
            "web-xss",
            "/",
            "q=%3Ca+href%3Djavas%26%2399%3Bript%3Aprompt%26%23x28x)%3E",
        ),
        ("web-xss", "/", "q=%3Cform+action%3D%22vbscript%3Amsgbox%22"),
        // Line breaks inside the scheme, tags splitting handler names.
        ("web-xss", "/", "q=%3Ca%20href%3D%22j%0A%0Davascript%3Ax%22"),
        ("web-xss", "/", "q=%22o%3Cx%3Enfocus%3Dx"),
        ("web-xss", "/", "q=alert%3Cx%3E(1)"),
        // Octal escapes, zero-padded entities, Function templates, imports.
        (
            "web-xss",
            "/",
            "q=(%27%5C141%5C154%5C145%5C162%5C164%5C50%5C61%5C51%27)()",
        ),
        ("web-xss", "/", "q=prompt%26%230000000040%3B1)"),
        ("web-xss", "/", "q=Function%60x%60"),
        ("web-xss", "/", "q=import+%7B+a+%7D+from+%22.%2Fm.js%22"),
        // US-ASCII 7-bit markup, base64 markup.
        ("web-xss", "/", "q=%BCscript%BEx%BC/script%BE"),
        ("web-xss", "/", "q=PHN2Zy9vbmxvYWQ9YWxlcnQoMSk%2B"),
        // SQLi: quote-semicolon ending a value, PRINT, UNION after a number,
        // JavaScript breakouts, FROM t GROUP BY.
        ("web-sqli", "/", "email=a@b.example%27%3B&password=x"),
        ("web-sqli", "/", "q=%27%3Bprint%27"),
        ("web-sqli", "/", "id=2+union+all+x"),
        (
            "web-sqli",
            "/",
            "q=x%27%2B(function()%7Bwhile(1)%7B%7D%7D)()",
        ),
        ("web-sqli", "/p/12||this.price", ""),
        ("web-sqli", "/", "q=from+users+group+by+name"),
        // Command injection: sqlite dot-commands after an escaped newline,
        // getent, Windows %VAR% and /switch arguments, `&` before admin tools,
        // IMAP commands with any tag, `;top`.
        ("web-command-injection", "/", "foo=%3B%5Cn.databases"),
        ("web-command-injection", "/", "q=%7Cgetent+hosts+x.example"),
        (
            "web-command-injection",
            "/",
            "q=%22%7Cbcdboot+%25SYSTEMROOT%25",
        ),
        ("web-command-injection", "/", "q=x%26bcdboot%2Fr+f"),
        ("web-command-injection", "/", "arg=%26aptitude"),
        ("web-command-injection", "/", "t=%0D%0Ad+store+2+%2BFLAGS+x"),
        ("web-command-injection", "/", "q=x%3Btop"),
        // Log4Shell with escaped braces.
        (
            "web-log4shell",
            "/",
            "q=%24%5C%7B%24%5C%7B%3A%3A-j%5C%7Dndi%3Aldap%3A%2F%2Fx%5C%7D",
        ),
        // Path traversal: more procfs entries, hidden tool dirs after a slash.
        ("web-path-traversal", "/get/proc/interrupts", ""),
        (
            "web-path-traversal",
            "/",
            "code=%2Fsrv%2F.docker%2Fconfig.json",
        ),
    ];
    for (rule, path, query) in yes {
        assert!(
            flags(rule, path, query),
            "{rule} should flag {path}?{query}: {:?}",
            builtin_ids(path, query)
        );
    }
    // Benign look-alikes of the same constructs.
    let no = [
        ("/", "q=select+a+product"),
        ("/", "q=order+by+price"),
        ("/", "q=cat.jpg"),
        ("/", "q=a+href+to+the+javascript+docs"),
        ("/", "q=2+union+members"),
        ("/", "q=tickets+from+london+group+tours"),
        ("/", "q=Tom+O%27Brien%3B+Dublin"),
        ("/", "q=C%3A%5Cnew%5Cfile.txt"),
        ("/", "dir=C%3A%5C101%5Cdocs"),
        ("/", "q=%D0%BCscript%D0%BE"),
        ("/", "token=PHX2Zy9vbmxvYWQ9"),
        ("/", "q=getent+is+a+command"),
        ("/", "style=position%3Aabsolute%3Btop%3A0"),
        ("/", "a=1&aptitude=high"),
        ("/", "q=the+store+2+floors+up"),
        ("/proc/list", ""),
        ("/", "q=x%3Cb%3Ebold%3C%2Fb%3E"),
        ("/", "q=location%3Dparis"),
    ];
    for (path, query) in no {
        let ids = builtin_ids(path, query);
        assert!(ids.is_empty(), "{path}?{query} flagged by {ids:?}");
    }
}

/// Rules testing only `event.kind` are answered from a per-kind table; for
/// every kind, and for a rule that tests the kind beside something else, the
/// answer is what evaluating the condition gives.
#[test]
fn kind_only_rules_are_answered_as_evaluated() {
    let own = docs(&[
        rule("any-http", "  request:\n    event.kind: http\n  condition: request"),
        rule("not-db", "  db:\n    event.kind|startswith: d\n  condition: not db"),
        rule(
            "http-post",
            "  request:\n    event.kind: http\n    http.request.method: POST\n  condition: request",
        ),
    ]
    .concat());
    let m = Matcher::compile(&own).expect("compiles");
    let every = Matcher::compile_exhaustive(&own).expect("compiles");
    assert!(m.t.rules[0].kind_only && m.t.rules[1].kind_only);
    assert!(!m.t.rules[2].kind_only, "the method is not the kind");
    let docs: Vec<RuleDoc> = RuleSet::builtin()
        .expect("built-in rules")
        .enabled()
        .cloned()
        .collect();
    let builtin = Matcher::compile(&docs).expect("compiles");
    let builtin_every = Matcher::compile_exhaustive(&docs).expect("compiles");
    for kind in EventKind::ALL {
        for method in ["GET", "POST"] {
            let ev = Event {
                kind: *kind,
                method: method.into(),
                path: "/login".into(),
                ..Event::default()
            };
            assert_eq!(hits(&m, &ev), hits(&every, &ev), "{kind:?} {method}");
            assert_eq!(
                hits(&builtin, &ev),
                hits(&builtin_every, &ev),
                "built-in rules, {kind:?} {method}"
            );
        }
    }
    let http = hits(&m, &http("/", ""));
    assert!(http.iter().any(|h| h.rule == 0) && http.iter().any(|h| h.rule == 1));
}
