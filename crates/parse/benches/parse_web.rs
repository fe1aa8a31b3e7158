//! Lines per second of the access-log, JSON and CSV parsers on real corpus
//! lines (`SECMO_CORPUS` or ../shared/corpus) and on generated app/CSV lines.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secmo_parse::formats::access::AccessLogParser;
use secmo_parse::formats::csv::CsvParser;
use secmo_parse::formats::json::{JsonLineParser, JsonMapping};
use secmo_parse::{LineParser, Parsed};

fn corpus_file(rel: &str) -> String {
    let root = std::env::var_os("SECMO_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        });
    let bytes = std::fs::read(root.join(rel)).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn run(c: &mut Criterion, name: &str, parser: &dyn LineParser, lines: &[&str]) {
    let mut group = c.benchmark_group("parse_web");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut events = 0usize;
            for line in lines {
                if let Ok(Parsed::Event(e)) = parser.parse(black_box(line)) {
                    events += usize::from(e.status);
                }
            }
            events
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let apache = corpus_file("benign/elastic-examples-apache_logs.log");
    let lines: Vec<&str> = apache.lines().collect();
    if !lines.is_empty() {
        run(c, "access_combined", &AccessLogParser::new(), &lines);
    }

    let actions = [
        "LOGIN_SUCCESS",
        "LOGIN_FAILURE",
        "LOGOUT",
        "PAGE_VISIT",
        "API_REQUEST",
    ];
    let app: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2024-03-01T12:{:02}:{:02}Z","ip_address":"10.0.{}.{}","username":"user{}","action":"{}","path":"/api/v1/items/{}","status":200,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}}"#,
                i / 60 % 60,
                i % 60,
                i % 7,
                i % 251,
                i % 97,
                actions[i % actions.len()],
                i
            )
        })
        .collect();
    let app_refs: Vec<&str> = app.iter().map(String::as_str).collect();
    let json = JsonLineParser::new(JsonMapping::default());
    run(c, "json_app", &json, &app_refs);

    let caddy = corpus_file("formats/lnav/web/caddy_docker_json.0");
    let caddy_lines: Vec<&str> = caddy
        .lines()
        .filter(|l| l.contains("handled request"))
        .collect();
    if !caddy_lines.is_empty() {
        run(c, "json_caddy_access", &json, &caddy_lines);
    }

    let header = "timestamp,ip_address,username,action,path,status,user_agent";
    let rows: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                r#"2024-03-01T12:00:{:02}Z,10.0.0.{},user{},{},/p/{},200,"Mozilla/5.0 (X11, Linux)""#,
                i % 60,
                i % 251,
                i % 97,
                actions[i % actions.len()],
                i
            )
        })
        .collect();
    let row_refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let csv = CsvParser::from_first_lines(&[header]);
    run(c, "csv_app", &csv, &row_refs);
}

criterion_group!(benches, bench);
criterion_main!(benches);
