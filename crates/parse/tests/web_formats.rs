//! Web access-log, JSON-lines and CSV parsers against the external corpus
//! (real logs nobody on the project wrote) and against arbitrary input.

use std::path::PathBuf;

use proptest::prelude::*;
use secmo_event::{Action, Event, EventKind, Outcome};
use secmo_parse::LineParser;
use secmo_parse::Parsed;
use secmo_parse::formats::access::AccessLogParser;
use secmo_parse::formats::csv::CsvParser;
use secmo_parse::formats::json::{JsonLineParser, JsonMapping};

/// Counts heap allocations made by the current thread, to check the
/// parsers' zero-allocation promise (other test threads do not interfere).
struct CountingAlloc;

thread_local! {
    static ALLOCS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(|n| n.get());
    f();
    ALLOCS.with(|n| n.get()) - before
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

fn read(rel: &str) -> String {
    let path = corpus().join(rel);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("corpus file {}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Events (owned), skipped lines and error reasons for every line of `text`.
#[derive(Default)]
struct Tally {
    events: Vec<Event<'static>>,
    skipped: usize,
    errors: Vec<(usize, &'static str)>,
}

fn tally(parser: &dyn LineParser, text: &str) -> Tally {
    let mut t = Tally::default();
    for (i, line) in text.lines().enumerate() {
        match parser.parse(line) {
            Ok(Parsed::Event(e)) => t.events.push(e.into_owned()),
            Ok(Parsed::Skip) => t.skipped += 1,
            Err(e) => t.errors.push((i + 1, e.reason)),
        }
    }
    t
}

fn json() -> JsonLineParser {
    JsonLineParser::new(JsonMapping::default())
}

#[test]
fn elastic_apache_log_parses_completely() {
    let t = tally(
        &AccessLogParser::new(),
        &read("benign/elastic-examples-apache_logs.log"),
    );
    assert_eq!(t.errors, vec![], "unparsed lines");
    assert_eq!(t.events.len(), 10_000);
    // Line 8899's user agent was cut off without its closing quote: kept as far as it goes.
    assert_eq!(
        t.events[8898].user_agent,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html"
    );
    assert!(
        t.events
            .iter()
            .all(|e| e.kind == EventKind::Http && e.timestamp_ms.is_some())
    );
    assert!(t.events.iter().all(|e| e.source_ip.is_some()));
    assert!(t.events.iter().all(|e| e.status >= 100));
    // 17–20 May 2015.
    assert!(t.events.iter().all(|e| {
        e.timestamp_ms
            .is_some_and(|ms| (1_431_820_800_000..1_432_166_400_000).contains(&ms))
    }));
    let methods: std::collections::BTreeSet<&str> =
        t.events.iter().map(|e| e.method.as_ref()).collect();
    assert!(
        methods.contains("GET") && methods.contains("POST"),
        "{methods:?}"
    );
    assert!(t.events.iter().any(|e| e.outcome == Outcome::Failure));
    assert!(t.events.iter().any(|e| !e.query.is_empty()));
}

#[test]
fn lnav_shop_log_with_trailing_field_parses_completely() {
    let t = tally(
        &AccessLogParser::new(),
        &read("benign/lnav-shop_access_log.log"),
    );
    assert_eq!(t.errors, vec![], "unparsed lines");
    assert_eq!(t.events.len(), 1_000);
    assert!(
        t.events
            .iter()
            .all(|e| e.source_ip.is_some() && e.timestamp_ms.is_some())
    );
    assert!(
        t.events
            .iter()
            .all(|e| e.user_agent != "-" && !e.user_agent.ends_with('"'))
    );
    assert!(t.events.iter().filter(|e| !e.user_agent.is_empty()).count() > 900);
}

#[test]
fn lnav_web_access_logs() {
    let p = AccessLogParser::new();

    let t = tally(&p, &read("formats/lnav/web/access_log.0"));
    assert_eq!((t.events.len(), t.errors.len()), (3, 0));
    assert_eq!(t.events[1].status, 404);
    assert_eq!(t.events[0].user_agent, "gPXE/0.9.7");

    let t = tally(&p, &read("formats/lnav/web/access_log.1"));
    assert_eq!((t.events.len(), t.errors.len()), (1, 0));
    assert_eq!(
        (
            t.events[0].method.as_ref(),
            t.events[0].path.as_ref(),
            t.events[0].status
        ),
        ("", "", 400)
    );

    // Line 2 lacks the ident and user fields.
    let t = tally(&p, &read("formats/lnav/web/bad_access_log.0"));
    assert_eq!(t.events.len(), 2);
    assert_eq!(
        t.errors.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        vec![2]
    );

    let t = tally(&p, &read("formats/lnav/web/vhost_user_access_log.0"));
    assert_eq!((t.events.len(), t.errors.len()), (2, 0));
    assert!(
        t.events
            .iter()
            .all(|e| e.host == "localhost" && !e.user.is_empty())
    );
    assert_eq!(t.events[0].user, "jsmith");

    // Syslog-wrapped lines without a time, and other servers' formats, are not access lines.
    for file in [
        "formats/lnav/web/syslog_with_access_log.0",
        "formats/lnav/web/haproxy.0",
        "formats/lnav/web/w3c.0",
        "formats/lnav/web/w3c.3",
        "formats/lnav/web/zeek_http.log.0",
        "formats/lnav/web/uwsgi.0",
        "formats/lnav/web/caddy_docker_json.0",
        "formats/lnav/web/cloudflare.json",
    ] {
        let t = tally(&p, &read(file));
        assert_eq!(t.events.len(), 0, "{file}");
    }
}

#[test]
fn lnav_json_samples() {
    let p = json();
    let mut counts = Vec::new();
    let dir = corpus().join("formats/lnav/json");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus json dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in &files {
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned();
        let t = tally(&p, &text);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        counts.push((name, t.events.len(), t.errors.len()));
    }
    let count = |name: &str| counts.iter().find(|c| c.0 == name).map(|c| (c.1, c.2));
    assert_eq!(count("ecs_log.json"), Some((5, 0)));
    assert_eq!(count("bunyan.0"), Some((10, 0)));
    assert_eq!(count("pino.0"), Some((1, 0)));
    assert_eq!(count("nextcloud.0"), Some((5, 0)));
    assert_eq!(count("json.json").map(|c| c.1), Some(0));
    // Not JSON lines at all.
    assert_eq!(count("logfmt.0").map(|c| c.0), Some(0));
    assert_eq!(count("docker_compose.0").map(|c| c.0), Some(0));
    // Cut-off objects are errors, the whole ones around them events.
    let (ev, err) = count("invalid_json2.json").expect("file");
    assert_eq!((ev, err), (2, 1));

    let t = tally(&p, &read("formats/lnav/json/ecs_log.json"));
    assert!(
        t.events
            .iter()
            .all(|e| e.timestamp_ms.is_some() && e.message.starts_with("this is a"))
    );
    assert!(
        t.events
            .iter()
            .all(|e| e.program == "MainProcess" && e.kind == EventKind::System)
    );

    let t = tally(&p, &read("formats/lnav/json/bunyan.0"));
    assert!(
        t.events
            .iter()
            .all(|e| e.timestamp_ms.is_some() && e.host.starts_with("renovate-gitlab"))
    );

    let t = tally(&p, &read("formats/lnav/json/json3.json"));
    assert!(
        t.events
            .iter()
            .all(|e| e.kind == EventKind::Http && e.path == "/example/uri/5" && e.status >= 200)
    );
    assert!(
        t.events
            .iter()
            .all(|e| e.source_ip == Some("1.1.1.1".parse().expect("ip")))
    );

    let t = tally(&p, &read("formats/lnav/json/json_subsec.json"));
    assert_eq!(t.events[0].timestamp_ms, Some(1_663_977_609_000));
    assert_eq!(t.events[0].message, "Hello, World!");

    let t = tally(&p, &read("formats/lnav/db/mongodb.0"));
    assert!(!t.events.is_empty() && t.events.iter().all(|e| e.timestamp_ms.is_some()));

    // OTLP JSON: the first record's time and body.
    let t = tally(&p, &read("formats/lnav/json/otel_collector.jsonl"));
    assert_eq!(t.events[0].timestamp_ms, Some(1_700_000_000_000));
    assert_eq!(t.events[0].message, "Processing payment request");

    let t = tally(&p, &read("formats/lnav/json/nextcloud.0"));
    assert_eq!(t.events[0].user, "admin");
    assert_eq!(t.events[1].user, "");
    assert_eq!(t.events[3].method, "PATCH");
}

#[test]
fn caddy_and_cloudflare_json_access_logs() {
    let t = tally(&json(), &read("formats/lnav/web/caddy_docker_json.0"));
    let http: Vec<_> = t
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Http)
        .collect();
    let lines = read("formats/lnav/web/caddy_docker_json.0");
    let handled = lines
        .lines()
        .filter(|l| l.contains("\"handled request\""))
        .count();
    assert!(handled > 0);
    assert_eq!(http.len(), handled);
    assert!(
        http.iter()
            .all(|e| e.source_ip.is_some() && !e.method.is_empty() && !e.user_agent.is_empty())
    );

    let t = tally(&json(), &read("formats/lnav/web/cloudflare.json"));
    assert_eq!(t.events.len(), 1);
    let e = &t.events[0];
    assert_eq!(
        (
            e.method.as_ref(),
            e.path.as_ref(),
            e.status,
            e.host.as_ref()
        ),
        ("HEAD", "/", 301, "www.ripe.net")
    );
    assert_eq!(e.source_ip, Some("87.226.160.250".parse().expect("ip")));
}

#[test]
fn app_log_json_and_csv_agree() {
    let line = r#"{"timestamp":"2024-03-01T12:00:00Z","ip_address":"203.0.113.9","username":"admin","action":"LOGIN_FAILURE","path":"/login","status":401}"#;
    let Ok(Parsed::Event(j)) = json().parse(line) else {
        panic!("json app line")
    };
    let header = "timestamp,ip_address,username,action,path,status";
    let row = "2024-03-01T12:00:00Z,203.0.113.9,admin,LOGIN_FAILURE,/login,401";
    let csv = CsvParser::from_first_lines(&[header, row]);
    let Ok(Parsed::Event(c)) = csv.parse(row) else {
        panic!("csv app row")
    };
    assert_eq!(j, c);
    assert_eq!(
        (j.kind, j.action, j.outcome),
        (EventKind::App, Action::LoginFailure, Outcome::Failure)
    );
}

#[test]
fn parsing_does_not_allocate() {
    let text = read("benign/elastic-examples-apache_logs.log");
    let lines: Vec<&str> = text.lines().collect();
    let access = AccessLogParser::new();
    let mut events = 0;
    let n = allocations_during(|| {
        for line in &lines {
            if let Ok(Parsed::Event(e)) = access.parse(line) {
                events += usize::from(e.status > 0);
            }
        }
    });
    assert_eq!((n, events), (0, 10_000));

    let json = json();
    let n = allocations_during(|| {
        let r = json.parse(VALID_JSON_PLAIN);
        assert!(matches!(r, Ok(Parsed::Event(ref e)) if e.user == "alice"));
    });
    assert_eq!(n, 0, "JSON without escapes");
    // The counter does see allocations: an escaped value is unescaped into a String.
    let n = allocations_during(|| {
        let r = json.parse(VALID_JSON);
        assert!(matches!(r, Ok(Parsed::Event(ref e)) if e.user == "al\"ice"));
    });
    assert!(n > 0);

    let csv = CsvParser::from_first_lines(&[CSV_HEADER]);
    let n = allocations_during(|| {
        let r =
            csv.parse(r#"2024-03-01T12:00:00Z,1.2.3.4,bob,"GET /x?y=1 HTTP/1.1",200,"curl, 8""#);
        assert!(
            matches!(r, Ok(Parsed::Event(ref e)) if e.query == "y=1" && e.user_agent == "curl, 8")
        );
    });
    assert_eq!(n, 0, "CSV without doubled quotes");
}

/// Each web format is recognised from its first lines, and no other parser claims it.
#[test]
fn sniffing_picks_the_web_formats() {
    use secmo_parse::{Format, ParserOptions, sniff_format};
    let opts = ParserOptions::default();
    let sniff = |text: &str| {
        let lines: Vec<&str> = text.lines().take(20).collect();
        sniff_format(&lines, &opts)
    };
    assert_eq!(
        sniff(&read("benign/elastic-examples-apache_logs.log")),
        Some((Format::Access, 1.0))
    );
    assert_eq!(
        sniff(&read("benign/lnav-shop_access_log.log")),
        Some((Format::Access, 1.0))
    );
    assert_eq!(
        sniff(&read("formats/lnav/web/vhost_user_access_log.0")),
        Some((Format::Access, 1.0))
    );
    assert_eq!(
        sniff(&read("formats/lnav/json/ecs_log.json")),
        Some((Format::Json, 1.0))
    );
    assert_eq!(
        sniff(&read("formats/lnav/json/bunyan.0")),
        Some((Format::Json, 1.0))
    );
    assert_eq!(sniff(VALID_JSON_PLAIN), Some((Format::Json, 1.0)));
    let csv = format!("{CSV_HEADER}\n{VALID_CSV}\n{VALID_CSV}\n");
    assert_eq!(sniff(&csv).map(|(f, _)| f), Some(Format::Csv));
}

const VALID_JSON_PLAIN: &str = r#"{"timestamp":"2024-03-01T12:00:00Z","ip_address":"1.2.3.4","username":"alice","action":"LOGIN_FAILURE","path":"/login","status":401,"details":{"k":[1,2]}}"#;
const VALID_ACCESS: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
const VALID_JSON: &str = r#"{"timestamp":"2024-03-01T12:00:00Z","ip_address":"1.2.3.4","username":"al\"ice","action":"LOGIN_FAILURE","nested":{"a":[1,{"b":"c"}]}}"#;
const CSV_HEADER: &str = "timestamp,ip,user,request,status,user_agent";
const VALID_CSV: &str =
    r#"2024-03-01T12:00:00Z,1.2.3.4,bob,"GET /x?y=""1"" HTTP/1.1",200,"curl, 8""#;

/// `base` with `insert` spliced in at byte `at` (moved to a char boundary).
fn splice(base: &str, at: usize, insert: &str) -> String {
    let mut at = at % (base.len() + 1);
    while !base.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}{}{}", &base[..at], insert, &base[at..])
}

fn truncate(base: &str, at: usize) -> &str {
    let mut at = at % (base.len() + 1);
    while !base.is_char_boundary(at) {
        at -= 1;
    }
    &base[..at]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z._\\-]{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn access_never_panics(s in ".*", at in any::<usize>(), ins in "[ \"\\[\\]\\\\a-z0-9:/?-]{0,12}") {
        let p = AccessLogParser::new();
        let _ = p.parse(&s);
        let _ = p.parse(&splice(VALID_ACCESS, at, &s));
        let _ = p.parse(&splice(VALID_ACCESS, at, &ins));
        let _ = p.parse(truncate(VALID_ACCESS, at));
    }

    #[test]
    fn json_never_panics(s in ".*", at in any::<usize>(), ins in "[ \"{}\\[\\],:\\\\u0-9a-f.e-]{0,12}") {
        let p = json();
        let _ = p.parse(&s);
        let _ = p.parse(&splice(VALID_JSON, at, &s));
        let _ = p.parse(truncate(VALID_JSON, at));
        // Whatever serde_json accepts as an object, the scanner accepts too.
        let spliced = splice(VALID_JSON, at, &ins);
        let ours = p.parse(&spliced);
        if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&spliced).is_ok() {
            prop_assert!(matches!(ours, Ok(Parsed::Event(_))), "{} -> {:?}", spliced, ours);
        }
    }

    #[test]
    fn csv_never_panics(s in ".*", at in any::<usize>(), ins in "[ \",;\ta-z0-9]{0,12}") {
        let p = CsvParser::from_first_lines(&[CSV_HEADER]);
        let _ = p.parse(&s);
        let _ = p.parse(&splice(VALID_CSV, at, &s));
        let _ = p.parse(&splice(VALID_CSV, at, &ins));
        let _ = p.parse(truncate(VALID_CSV, at));
        let q = CsvParser::from_first_lines(&[&s]);
        let _ = q.parse(VALID_CSV);
        let _ = q.parse(&s);
    }

    /// Whatever the client puts in the request target, the rest of the line still parses.
    #[test]
    fn access_request_target_is_isolated(target in "[!-~]{1,40}") {
        let target = target.replace('"', "\\\"");
        let line = format!(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /{target} HTTP/1.1" 404 7 "-" "ua""#);
        match AccessLogParser::new().parse(&line) {
            Ok(Parsed::Event(e)) => {
                prop_assert_eq!(e.status, 404);
                prop_assert_eq!(e.bytes, 7);
                prop_assert_eq!(e.user_agent.as_ref(), "ua");
                prop_assert_eq!(e.method.as_ref(), "GET");
                let url = if target.contains('?') { format!("{}?{}", e.path, e.query) } else { e.path.to_string() };
                prop_assert_eq!(url, format!("/{target}"));
            }
            other => prop_assert!(false, "not parsed: {:?}", other),
        }
    }

    /// Every object serde_json writes is accepted by the scanner.
    #[test]
    fn json_accepts_any_valid_object(value in json_value(), key in "[a-z@._]{1,12}") {
        let line = serde_json::json!({ key: value, "msg": "m" }).to_string();
        prop_assert!(matches!(json().parse(&line), Ok(Parsed::Event(_))), "{}", line);
        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "v": value })).unwrap_or_default();
        prop_assert!(matches!(json().parse(&pretty.replace('\n', " ")), Ok(Parsed::Event(_))), "{}", pretty);
    }

    /// Any JSON string value round-trips through the scanner's unescaping.
    #[test]
    fn json_strings_round_trip(msg in ".*") {
        prop_assume!(!matches!(msg.trim(), "" | "-" | "--"));
        let line = serde_json::json!({ "msg": msg, "user": "u" }).to_string();
        match json().parse(&line) {
            Ok(Parsed::Event(e)) => prop_assert_eq!(e.message.as_ref(), msg.as_str()),
            other => prop_assert!(false, "not parsed: {:?}", other),
        }
    }
}
