//! Syslog, MySQL and PostgreSQL parsers over the external corpus: counts of
//! accepted, skipped and rejected lines per file, robustness (no panic on
//! anything, including other formats' files and arbitrary text), and the
//! auth.log brute-force figures.

use proptest::prelude::*;
use secmo_event::{Action, EventKind};
use secmo_parse::formats::mysql::MysqlLogParser;
use secmo_parse::formats::postgres::PostgresLogParser;
use secmo_parse::formats::syslog::SyslogParser;
use secmo_parse::{LineParser, Parsed, ParserOptions};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    std::env::var_os("SECMO_CORPUS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        },
        PathBuf::from,
    )
}

fn opts() -> ParserOptions {
    ParserOptions {
        year: 2024,
        ..ParserOptions::default()
    }
}

#[derive(Debug, Default)]
struct Counts {
    events: usize,
    skipped: usize,
    rejected: usize,
    login_failures: usize,
    invalid_users: usize,
}

impl Counts {
    fn lines(&self) -> usize {
        self.events + self.skipped + self.rejected
    }
}

/// Parse every line of a file (invalid UTF-8 replaced, as a reader would).
fn run(parser: &dyn LineParser, path: &Path) -> Counts {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8_lossy(&bytes);
    let mut c = Counts::default();
    for line in text.lines() {
        match parser.parse(line) {
            Ok(Parsed::Event(ev)) => {
                c.events += 1;
                match ev.action {
                    Action::LoginFailure => c.login_failures += 1,
                    Action::InvalidUser => c.invalid_users += 1,
                    _ => {}
                }
            }
            Ok(Parsed::Skip) => c.skipped += 1,
            Err(_) => c.rejected += 1,
        }
    }
    eprintln!(
        "{:<10} {:<60} events {:>5} skipped {:>5} rejected {:>5}",
        parser.format().name(),
        path.strip_prefix(corpus()).unwrap_or(path).display(),
        c.events,
        c.skipped,
        c.rejected
    );
    c
}

fn files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(corpus().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no files in {dir}");
    out
}

#[test]
fn auth_log_parses_completely_with_brute_force_figures() {
    let path = corpus().join("auth/elastic-examples-auth.log");
    let c = run(&SyslogParser::new(&opts()), &path);
    assert_eq!(c.rejected, 0);
    assert_eq!(c.lines(), 7121);
    assert_eq!(c.skipped, 0);
    // `grep -c 'Failed password\|Invalid user'` gives 891 lines: 713 failed
    // passwords (84 of them `message repeated N times: [ Failed password ...]`,
    // counted once each) and 178 invalid users. Add 4 `Failed publickey`,
    // and PAM's own reports of the same attempts, which are login failures
    // too: 343 `pam_unix(sshd:auth): authentication failure` and 141
    // `PAM N more authentication failures`.
    assert_eq!(c.invalid_users, 178, "{c:?}");
    assert_eq!(c.login_failures, 713 + 4 + 343 + 141, "{c:?}");
}

#[test]
fn auth_log_fields_are_filled() {
    let path = corpus().join("auth/elastic-examples-auth.log");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let parser = SyslogParser::new(&opts());
    let mut failures_without_ip = 0;
    let mut auth = 0;
    let mut privilege = 0;
    for line in text.lines() {
        let Ok(Parsed::Event(ev)) = parser.parse(line) else {
            continue;
        };
        assert!(
            ev.timestamp_ms.is_some() && !ev.host.is_empty() && !ev.program.is_empty(),
            "{line}"
        );
        if ev.kind == EventKind::Auth {
            auth += 1;
        }
        if ev.action == Action::PrivilegeChange {
            privilege += 1;
        }
        let failed_login = matches!(ev.action, Action::LoginFailure | Action::InvalidUser);
        if failed_login && ev.source_ip.is_none() {
            failures_without_ip += 1;
        }
    }
    // sshd, sudo, su and every pam_* line.
    assert!(auth > 5000, "{auth}");
    // `grep -c 'sudo: .* : .*COMMAND='` = 186, plus 9 `Successful su`.
    assert_eq!(privilege, 186 + 9);
    // All attempts in this file name an address.
    assert_eq!(failures_without_ip, 0);
}

#[test]
fn lnav_syslog_samples() {
    let parser = SyslogParser::new(&opts());
    for path in files("formats/lnav/syslog", |_| true) {
        let c = run(&parser, &path);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match name {
            // One line without a tag still parses (RFC 3164 makes the tag optional).
            "syslog.0" | "syslog.1" | "syslog.2" | "bad_syslog.0" | "syslog_with_mixed_times.0" => {
                assert_eq!((c.rejected, c.skipped), (0, 0), "{name}")
            }
            "syslog.3" => assert_eq!((c.events, c.skipped, c.rejected), (7, 10, 0), "{name}"),
            "syslog_with_header.0" => assert_eq!((c.events, c.rejected), (4, 2), "{name}"),
            // Not syslog: JSON, tai64n, a French month.
            _ => assert_eq!(c.events, 0, "{name}"),
        }
    }
}

#[test]
fn postgres_logs() {
    let parser = PostgresLogParser::new(&opts());
    for path in files("db/postgresql", |n| {
        n.ends_with(".log") || n.ends_with(".jsonl")
    }) {
        let c = run(&parser, &path);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if name.contains("csv")
            || name.contains("jsonl")
            || name.contains("weeknumber")
            || name.contains("anonymize")
        {
            // CSV and JSON logs belong to other parsers; no crash is enough,
            // but they must not look like stderr logs.
            if !name.contains("rawcsv") {
                assert_eq!(c.events, 0, "{name}");
            }
            continue;
        }
        if name.contains("pg-syslog") {
            continue;
        }
        // Everything else is stderr format: all but pg_ctl noise parses.
        assert!(c.rejected * 50 <= c.lines(), "{name}: {c:?}");
        assert!(c.events > 0, "{name}");
    }
    let light = run(
        &parser,
        &corpus().join("db/postgresql/pgbadger-light.postgres.log"),
    );
    assert_eq!(light.rejected, 0);
    assert!(light.events >= 600, "{light:?}");
}

#[test]
fn postgres_through_syslog() {
    let parser = SyslogParser::new(&opts());
    let path = corpus().join("db/postgresql/pgbadger-pg-syslog.1.head5000.log");
    let c = run(&parser, &path);
    assert_eq!(c.rejected, 0, "{c:?}");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let db = text
        .lines()
        .filter(|l| matches!(parser.parse(l), Ok(Parsed::Event(ev)) if ev.kind == EventKind::Db))
        .count();
    assert!(db >= 4900, "{db}");
}

#[test]
fn lnav_db_samples() {
    let pg = PostgresLogParser::new(&opts());
    let my = MysqlLogParser::new(&opts());
    for name in ["postgres.0", "postgres.1", "postgres.2"] {
        let c = run(&pg, &corpus().join("formats/lnav/db").join(name));
        assert_eq!(c.rejected, 0, "{name}");
        assert!(c.events >= 4, "{name}");
    }
    for name in ["mysql_error.0", "mysql_general.0", "mysql_slow.0"] {
        let c = run(&my, &corpus().join("formats/lnav/db").join(name));
        assert_eq!(c.rejected, 0, "{name}");
        assert!(c.events >= 4, "{name}");
    }
    // And each parser on the other's files, and on MongoDB JSON: no panic.
    for path in files("formats/lnav/db", |_| true) {
        run(&pg, &path);
        run(&my, &path);
    }
}

#[test]
fn mysql_slow_logs() {
    let parser = MysqlLogParser::new(&opts());
    for path in files("db/mysql", |_| true) {
        let c = run(&parser, &path);
        assert_eq!(c.rejected, 0, "{}", path.display());
    }
}

#[test]
fn no_panic_on_any_corpus_file() {
    let parsers: [Box<dyn LineParser>; 3] = [
        Box::new(SyslogParser::new(&opts())),
        Box::new(MysqlLogParser::new(&opts())),
        Box::new(PostgresLogParser::new(&opts())),
    ];
    for dir in [
        "auth",
        "db/mysql",
        "db/postgresql",
        "formats/lnav/syslog",
        "formats/lnav/db",
        "benign",
    ] {
        for path in files(dir, |n| !n.ends_with(".gz")) {
            for p in &parsers {
                run(p.as_ref(), &path);
            }
        }
    }
}

const TEMPLATES: &[&str] = &[
    "Mar 27 13:06:56 host sshd[1291]: Failed password for invalid user {} from 1.2.3.4 port 1 ssh2",
    "Mar 27 13:06:56 host sshd[1291]: Connection closed by authenticating user {} port 2 [preauth]",
    "Mar 27 13:06:56 host sudo: {} : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls",
    "<34>1 2003-10-11T22:14:15.003Z host app - - [a b=\"{}\"] msg",
    "Feb 11 13:15:39 h postgres[1]: [5-1] user={} FATAL:  password authentication failed for user \"{}",
    "2024-01-01 12:00:00 {}:10.0.0.1(5432):u@d:[1]:LOG:  x",
    "2024-01-01 12:00:00 CET [1]: user={},client={} FATAL:  no pg_hba.conf entry for host \"{}",
    "2024-01-01T12:00:00.123456Z 8 [Warning] [MY-010055] [Server] Access denied for user '{}'@'{}",
    "2024-01-01T12:00:00.000000Z\t   10 Connect\t{}@{}",
    "# User@Host: {}[x] @ {} [{}",
    "{}",
];

fn all_parsers() -> [Box<dyn LineParser>; 3] {
    [
        Box::new(SyslogParser::new(&opts())),
        Box::new(MysqlLogParser::new(&opts())),
        Box::new(PostgresLogParser::new(&opts())),
    ]
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        for p in all_parsers() {
            let _ = p.parse(&s);
        }
    }

    #[test]
    fn text_spliced_into_valid_lines_never_panics(
        t in 0..TEMPLATES.len(),
        fill in "[ -~\\t\u{80}-\u{10ffff}]{0,40}",
        cut in 0usize..200,
    ) {
        let line = TEMPLATES.get(t).copied().unwrap_or("{}").replace("{}", &fill);
        // Also every prefix of the line, cut at a char boundary.
        let end = line.char_indices().map(|(i, _)| i).chain([line.len()]).find(|&i| i >= cut).unwrap_or(line.len());
        for p in all_parsers() {
            let _ = p.parse(&line);
            let _ = p.parse(line.get(..end).unwrap_or(""));
        }
    }
}
