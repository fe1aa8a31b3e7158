//! PostgreSQL stderr logs with the common `log_line_prefix` shapes:
//!
//! - `2024-01-01 12:00:00.123 UTC [1234] user@db LOG:  ...` (`%m [%p] %q%u@%d `)
//! - `2024-01-01 12:00:00 CET [1234]: [3-1] user=postgres,db=test,app=psql,client=127.0.0.1 LOG:  ...`
//! - RDS: `2024-01-01 12:00:00 UTC:10.0.0.1(5432):user@db:[1234]:LOG:  ...`
//!
//! The prefix is not parsed field by field (it is configurable); the
//! severity keyword (`LOG:`, `FATAL:` ...) is found first and the user,
//! database and client address are read from the text before it.
//!
//! `STATEMENT:`, `DETAIL:`, `HINT:`, `CONTEXT:` and `QUERY:` lines become
//! events (kind db, action none) carrying their text, so rules can see the
//! SQL a failing statement held. Continuation lines (leading whitespace) are
//! skipped: a line parser cannot join them to their record.

use super::syslog::{key_value, parse_ip};
use super::{Format, ParserOptions};
use crate::{LineParser, ParseError, Parsed};
use secmo_event::{Action, Event, EventKind, Outcome, parse_rfc3339};
use std::borrow::Cow;

pub struct PostgresLogParser;

impl PostgresLogParser {
    pub fn new(_opts: &ParserOptions) -> Self {
        PostgresLogParser
    }
}

impl LineParser for PostgresLogParser {
    fn format(&self) -> Format {
        Format::Postgres
    }

    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with([' ', '\t']) {
            return Ok(Parsed::Skip);
        }
        let (ms, used) = parse_rfc3339(line).ok_or(ParseError::new("no PostgreSQL timestamp"))?;
        let rest = line.get(used..).unwrap_or("");
        let (offset_secs, rest) = zone(rest);
        let mut ev = Event {
            timestamp_ms: Some(ms - i64::from(offset_secs) * 1000),
            kind: EventKind::Db,
            program: Cow::Borrowed("postgres"),
            ..Event::default()
        };
        if classify_prefixed(rest, &mut ev) || pgbouncer(rest, &mut ev) {
            return Ok(Parsed::Event(ev));
        }
        if is_syslog_continuation(rest) {
            return Ok(Parsed::Skip);
        }
        Err(ParseError::new("no PostgreSQL severity"))
    }
}

/// A zone name after the time: `UTC`, `CET`, `+02`, `-0530`. Returns its
/// offset east of UTC (0 when absent) and the text after it. A numeric
/// offset glued to the time (`12:00:00+02`) was already applied by
/// `parse_rfc3339`, so it is not seen here.
fn zone(rest: &str) -> (i32, &str) {
    let Some(after_space) = rest.strip_prefix(' ') else {
        return (0, rest);
    };
    let end = after_space
        .find([' ', ':', '[', ','])
        .unwrap_or(after_space.len());
    let name = after_space.get(..end).unwrap_or("");
    let tail = after_space.get(end..).unwrap_or("");
    // A numeric offset is `+HH`, `+HHMM` or `-HH:MM` (the `:` splits it above).
    if let Some(sign) = name
        .strip_prefix('+')
        .map(|d| (1, d))
        .or(name.strip_prefix('-').map(|d| (-1, d)))
    {
        let (s, digits) = sign;
        if let Some(off) = hhmm(digits, tail) {
            return (s * off.0, off.1);
        }
        return (0, rest);
    }
    match zone_offset(name) {
        Some(off) => (off, tail),
        // An unknown all-caps abbreviation is still a zone: treated as UTC,
        // which is wrong by a few hours at most and keeps the line.
        None if (2..=5).contains(&name.len())
            && name.bytes().all(|c| c.is_ascii_uppercase())
            && !SEVERITIES.contains(&name) =>
        {
            (0, tail)
        }
        None => (0, rest),
    }
}

/// Seconds of `HH`, `HHMM` or `HH` + `:MM` (in `tail`), and the text after.
fn hhmm<'a>(digits: &str, tail: &'a str) -> Option<(i32, &'a str)> {
    let num = |s: &str| -> Option<i32> {
        (s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok())?
    };
    match digits.len() {
        2 => {
            let h = num(digits)?;
            let b = tail.as_bytes();
            if b.first() == Some(&b':')
                && b.get(1..3)
                    .is_some_and(|m| m.iter().all(u8::is_ascii_digit))
            {
                let m = num(tail.get(1..3)?)?;
                return Some((h * 3600 + m * 60, tail.get(3..)?));
            }
            Some((h * 3600, tail))
        }
        4 => Some((
            num(digits.get(..2)?)? * 3600 + num(digits.get(2..)?)? * 60,
            tail,
        )),
        _ => None,
    }
}

/// Offsets of common zone abbreviations (seconds east of UTC). Ambiguous
/// ones take their most common PostgreSQL-server meaning (CST = US Central,
/// IST = India).
fn zone_offset(name: &str) -> Option<i32> {
    const H: i32 = 3600;
    Some(match name {
        "UTC" | "GMT" | "Z" | "UT" | "WET" => 0,
        "CET" | "WEST" | "BST" | "MET" => H,
        "CEST" | "EET" | "MEST" | "SAST" => 2 * H,
        "EEST" | "MSK" => 3 * H,
        "IST" => 5 * H + 1800,
        "ICT" | "WIB" => 7 * H,
        "SGT" | "HKT" | "AWST" | "PHT" => 8 * H,
        "JST" | "KST" => 9 * H,
        "ACST" => 9 * H + 1800,
        "AEST" => 10 * H,
        "ACDT" => 10 * H + 1800,
        "AEDT" => 11 * H,
        "NZST" => 12 * H,
        "NZDT" => 13 * H,
        "BRT" | "ART" => -3 * H,
        "AST" | "EDT" => -4 * H,
        "EST" | "CDT" => -5 * H,
        "CST" | "MDT" => -6 * H,
        "MST" | "PDT" => -7 * H,
        "PST" | "AKDT" => -8 * H,
        "AKST" => -9 * H,
        "HST" => -10 * H,
        _ => return None,
    })
}

const SEVERITIES: &[&str] = &[
    "LOG",
    "ERROR",
    "FATAL",
    "PANIC",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "STATEMENT",
    "DETAIL",
    "HINT",
    "CONTEXT",
    "QUERY",
    "LOCATION",
];

/// Find the severity keyword: the first `WORD:` (followed by a space or the
/// end) whose word is a PostgreSQL severity. Returns (prefix, severity, text).
fn split_severity(s: &str) -> Option<(&str, &str, &str)> {
    let b = s.as_bytes();
    for colon in memchr::memchr_iter(b':', b) {
        let after = b.get(colon + 1);
        if !matches!(after, None | Some(b' ')) {
            continue;
        }
        let start = b
            .get(..colon)?
            .iter()
            .rposition(|c| !c.is_ascii_alphanumeric())
            .map_or(0, |p| p + 1);
        let word = s.get(start..colon)?;
        if SEVERITIES.contains(&word) {
            let text = s.get(colon + 1..)?.trim_start_matches(' ');
            return Some((s.get(..start)?, word, text));
        }
    }
    None
}

/// Classify a log_line_prefix + severity + message (a stderr line after its
/// time, or a syslog message from postgres). False when there is no severity.
fn classify_prefixed<'a>(s: &'a str, ev: &mut Event<'a>) -> bool {
    let Some((prefix, severity, text)) = split_severity(s) else {
        return false;
    };
    read_prefix(prefix, ev);
    ev.message = Cow::Borrowed(text);
    classify_message(severity, text, ev);
    true
}

/// For syslog lines from postgres: classify with or without a prefix.
pub(crate) fn classify_body<'a>(s: &'a str, ev: &mut Event<'a>) {
    if !classify_prefixed(s, ev) {
        classify_message("", s, ev);
    }
}

/// With syslog-style sequence numbers (`%l-%s`, `[19-3]`), a long message
/// is cut into segments; segments after the first carry no severity.
fn is_syslog_continuation(s: &str) -> bool {
    s.match_indices('[').any(|(i, _)| {
        let tail = s.get(i + 1..).unwrap_or("");
        let Some((seq, rest)) = tail.split_once('-') else {
            return false;
        };
        let segment = rest.split(']').next().unwrap_or("");
        !seq.is_empty()
            && seq.bytes().all(|c| c.is_ascii_digit())
            && !segment.is_empty()
            && segment.bytes().all(|c| c.is_ascii_digit())
            && segment != "1"
    })
}

/// PgBouncer: `PID LEVEL msg` or `[PID] LEVEL msg` after the time (no colon
/// after the level). Client sockets name `db/user@ip:port`.
fn pgbouncer<'a>(s: &'a str, ev: &mut Event<'a>) -> bool {
    let s = s.trim_start_matches(' ');
    let Some((pid, rest)) = s.split_once(' ') else {
        return false;
    };
    let pid = pid
        .strip_prefix('[')
        .and_then(|p| p.strip_suffix(']'))
        .unwrap_or(pid);
    if pid.is_empty() || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let Some((level, message)) = rest.split_once(' ') else {
        return false;
    };
    if !matches!(
        level,
        "LOG" | "WARNING" | "ERROR" | "FATAL" | "NOTICE" | "DEBUG" | "NOISE"
    ) {
        return false;
    }
    ev.program = Cow::Borrowed("pgbouncer");
    ev.message = Cow::Borrowed(message);
    if let Some(socket) = message.strip_prefix("C-")
        && let Some((_, peer)) = socket.split_once(": ")
    {
        let addr = peer.split(' ').next().unwrap_or("");
        if let Some((db_user, host)) = addr.rsplit_once('@') {
            ev.user = Cow::Borrowed(db_user.split_once('/').map_or(db_user, |(_, u)| u));
            ev.source_ip = parse_ip(host.rsplit_once(':').map_or(host, |(h, _)| h));
        }
    }
    if message.contains("password authentication failed") {
        fail(ev, Action::LoginFailure);
    }
    true
}

/// User, database and client address from the prefix, whatever its layout:
/// `user=U,db=D,client=IP`, `U@D`, or RDS `:IP(PORT):U@D:[PID]:`.
fn read_prefix<'a>(prefix: &'a str, ev: &mut Event<'a>) {
    let user = key_value(prefix, "user").or_else(|| key_value(prefix, "usr"));
    let client = key_value(prefix, "client").or_else(|| key_value(prefix, "host"));
    if let Some(u) = user {
        ev.user = Cow::Borrowed(clean(u));
    }
    if let Some(c) = client {
        ev.source_ip = parse_ip(c);
    }
    if client.is_none() {
        // `%h` alone: a bare address token.
        ev.source_ip = prefix
            .split([' ', ','])
            .find_map(|t| parse_ip(t.trim_end_matches(':')));
    }
    if user.is_some() {
        return;
    }
    // `U@D`: the user runs back from the `@` to a space, colon or bracket.
    if let Some(at) = prefix.rfind('@') {
        let head = prefix.get(..at).unwrap_or("");
        let start = head.rfind([' ', ':', ']']).map_or(0, |p| p + 1);
        ev.user = Cow::Borrowed(clean(head.get(start..).unwrap_or("")));
        // RDS puts the client first: `:IP(PORT):U@D` or `:IP:U@D`.
        if client.is_none() && start > 0 {
            let before = head.get(..start - 1).unwrap_or("");
            let host = before.rsplit(':').next().unwrap_or("");
            let rds = parse_ip(host).or_else(|| {
                // IPv6 `:2001:db8::1(5432):` holds colons: take from the zone's colon.
                before.split_once(':').and_then(|(_, h)| parse_ip(h))
            });
            if rds.is_some() {
                ev.source_ip = rds;
            }
        }
    }
}

/// `[unknown]` and empty mean no user.
fn clean(v: &str) -> &str {
    if v == "[unknown]" { "" } else { v }
}

/// Actions from the message text. `severity` is empty when unknown.
pub(crate) fn classify_message<'a>(severity: &str, text: &'a str, ev: &mut Event<'a>) {
    ev.kind = EventKind::Db;
    if ev.message.is_empty() {
        ev.message = Cow::Borrowed(text);
    }
    if let Some(rest) = text.strip_prefix("password authentication failed for user \"") {
        ev.user = Cow::Borrowed(quoted(rest));
        fail(ev, Action::LoginFailure);
    } else if let Some(rest) = text.strip_prefix("no pg_hba.conf entry for host \"") {
        // `no pg_hba.conf entry for host "IP", user "U", database "D", SSL off`
        ev.source_ip = parse_ip(quoted(rest));
        if let Some((_, u)) = rest.split_once("user \"") {
            ev.user = Cow::Borrowed(quoted(u));
        }
        fail(ev, Action::LoginFailure);
    } else if let Some(rest) = text.strip_prefix("role \"")
        && rest.contains("\" does not exist")
        && severity == "FATAL"
    {
        ev.user = Cow::Borrowed(quoted(rest));
        fail(ev, Action::InvalidUser);
    } else if text.contains("authentication failed for user \"") {
        // `Ident`, `Peer`, `LDAP`... authentication failed for user "U"
        if let Some((_, u)) = text.split_once("for user \"") {
            ev.user = Cow::Borrowed(quoted(u));
        }
        fail(ev, Action::LoginFailure);
    } else if let Some(rest) = text.strip_prefix("connection authorized: ") {
        if let Some(u) = key_value(rest, "user") {
            ev.user = Cow::Borrowed(u);
        }
        ev.action = Action::LoginSuccess;
        ev.outcome = Outcome::Success;
    } else if let Some(rest) = text.strip_prefix("connection received: ") {
        if let Some(h) = key_value(rest, "host") {
            ev.source_ip = parse_ip(h);
        }
    } else if text.starts_with("syntax error at or near")
        || text.starts_with("syntax error at end of input")
    {
        fail(ev, Action::QueryError);
    }
}

fn fail(ev: &mut Event<'_>, action: Action) {
    ev.action = action;
    ev.outcome = Outcome::Failure;
}

/// The text up to the closing quote (PostgreSQL doubles quotes inside names;
/// the first `"` is good enough for a user name).
fn quoted(s: &str) -> &str {
    s.split('"').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Event<'_> {
        match PostgresLogParser::new(&ParserOptions::default()).parse(line) {
            Ok(Parsed::Event(ev)) => ev,
            other => panic!("not an event: {other:?} for {line}"),
        }
    }

    #[test]
    fn password_failure_with_prefix_client() {
        let ev = parse(
            "2024-01-01 12:00:00 CET [1234]: [3-1] user=postgres,db=test,app=psql,client=10.1.2.3 FATAL:  password authentication failed for user \"admin\"",
        );
        assert_eq!(ev.action, Action::LoginFailure);
        assert_eq!(ev.outcome, Outcome::Failure);
        assert_eq!(ev.user, "admin");
        assert_eq!(ev.source_ip, "10.1.2.3".parse().ok());
        assert_eq!(ev.kind, EventKind::Db);
        // 12:00 CET is 11:00 UTC
        assert_eq!(ev.timestamp_ms, Some(1_704_106_800_000));
    }

    #[test]
    fn pg_hba_and_authorized() {
        let ev = parse(
            "2024-01-01 12:00:00.123 UTC [1234] [unknown]@[unknown] FATAL:  no pg_hba.conf entry for host \"192.0.2.7\", user \"bob\", database \"x\", SSL off",
        );
        assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "bob"));
        assert_eq!(ev.source_ip, "192.0.2.7".parse().ok());
        assert_eq!(ev.timestamp_ms, Some(1_704_110_400_123));
        let ev = parse(
            "2024-01-01 12:00:00.123 UTC [1234] bob@shop LOG:  connection authorized: user=bob database=shop",
        );
        assert_eq!(
            (ev.action, ev.outcome, ev.user.as_ref()),
            (Action::LoginSuccess, Outcome::Success, "bob")
        );
    }

    #[test]
    fn rds_prefix_gives_client_and_user() {
        let ev = parse(
            "2024-01-01 12:00:00 UTC:10.0.0.1(5432):alice@db:[1234]:FATAL:  password authentication failed for user \"alice\"",
        );
        assert_eq!(ev.source_ip, "10.0.0.1".parse().ok());
        assert_eq!(ev.user, "alice");
        assert_eq!(ev.action, Action::LoginFailure);
        let ev = parse(
            "2021-05-27 17:00:00 UTC:10.1.91.65:user@my_db:[24743]:LOG: duration: 0.054 ms statement: SELECT 1;",
        );
        assert_eq!(ev.source_ip, "10.1.91.65".parse().ok());
        assert_eq!((ev.user.as_ref(), ev.action), ("user", Action::None));
        assert_eq!(ev.message, "duration: 0.054 ms statement: SELECT 1;");
    }

    #[test]
    fn received_syntax_error_and_statement() {
        let ev = parse(
            "2025-08-13 01:46:10.567 PDT [12389] LOG:  connection received: host=192.168.1.100 port=51762",
        );
        assert_eq!(ev.source_ip, "192.168.1.100".parse().ok());
        assert_eq!(ev.action, Action::None);
        let ev = parse(
            "2025-04-12 00:14:12.837 CEST [1329108] ERROR:  syntax error at or near \"null\" at character 510",
        );
        assert_eq!(
            (ev.action, ev.outcome),
            (Action::QueryError, Outcome::Failure)
        );
        assert_eq!(
            ev.message,
            "syntax error at or near \"null\" at character 510"
        );
        let ev = parse("2025-04-12 00:14:12.837 CEST [1329108] STATEMENT:  select 1 from x where");
        assert_eq!(
            (ev.action, ev.message.as_ref()),
            (Action::None, "select 1 from x where")
        );
        let ev = parse("2025-04-12 00:14:12.837 CEST [1] ERROR:  relation \"x\" does not exist");
        assert_eq!(ev.action, Action::None);
    }

    #[test]
    fn zones_and_offsets() {
        let utc = parse("2024-01-01 12:00:00 UTC [1] LOG:  x").timestamp_ms;
        assert_eq!(
            parse("2024-01-01 13:00:00 +01 [1] LOG:  x").timestamp_ms,
            utc
        );
        assert_eq!(
            parse("2024-01-01 07:00:00 EST [1] LOG:  x").timestamp_ms,
            utc
        );
        assert_eq!(
            parse("2024-01-01 17:30:00 +0530 [1] LOG:  x").timestamp_ms,
            utc
        );
        assert_eq!(
            parse("2024-01-01 12:00:00 XYZT [1] LOG:  x").timestamp_ms,
            utc
        );
        assert_eq!(
            parse("2024-01-01T13:00:00+01:00 app[postgres.1]: [GREEN] LOG:  x").timestamp_ms,
            utc
        );
    }

    #[test]
    fn skips_and_rejects() {
        let p = PostgresLogParser::new(&ParserOptions::default());
        assert_eq!(
            p.parse("\t    id smallserial primary key,"),
            Ok(Parsed::Skip)
        );
        assert_eq!(p.parse(""), Ok(Parsed::Skip));
        assert!(p.parse("pg_ctl: could not start server").is_err());
        assert!(
            p.parse("2018-09-12 16:08:54.776 LOG listening on 127.0.0.1:6432")
                .is_err()
        );
        assert_eq!(
            p.parse(
                "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-3] \tProcess 4821 waits"
            ),
            Ok(Parsed::Skip)
        );
        assert!(
            p.parse(
                "2019-03-14T00:23:00+00:00 app[postgres.4849]: [GREEN] [19-1] \tProcess 4821 waits"
            )
            .is_err()
        );
        assert!(
            p.parse(
                "2020-08-06T14:25:02.835618Z 0 [Note] [MY-012487] [InnoDB] DDL log recovery : begin"
            )
            .is_err()
        );
        assert!(p.parse("2024-01-01 12:00:00 UTC [1] LOG").is_err());
    }

    #[test]
    fn bare_client_address_and_severity_without_zone() {
        let ev = parse(
            "2024-01-01 12:00:00 UTC 192.0.2.9 [77] LOG:  connection authorized: user=a database=b",
        );
        assert_eq!(ev.source_ip, "192.0.2.9".parse().ok());
        let ev = parse("2024-01-01 12:00:00 UTC 192.0.2.9 [77] bob@db LOG:  x");
        assert_eq!(
            (ev.source_ip, ev.user.as_ref()),
            ("192.0.2.9".parse().ok(), "bob")
        );
        let ev = parse("2024-01-01 12:00:00 UTC:[2001:db8::1](5432):bob@db:[1]:LOG:  x");
        assert_eq!(
            (ev.source_ip, ev.user.as_ref()),
            ("2001:db8::1".parse().ok(), "bob")
        );
        let ev = parse("2024-01-01 12:00:00 UTC:2001:db8::1(5432):bob@db:[1]:LOG:  x");
        assert_eq!(
            (ev.source_ip, ev.user.as_ref()),
            ("2001:db8::1".parse().ok(), "bob")
        );
        let ev = parse("2024-01-01 12:00:00 LOG:  checkpoint starting: time");
        assert_eq!(ev.message, "checkpoint starting: time");
    }

    #[test]
    fn pgbouncer_lines() {
        let ev = parse(
            "2018-09-12 16:09:05.313 3394 LOG C-0x562376c014e0: pgbench/gilles@127.0.0.1:43866 login attempt: db=pgbench user=gilles tls=no",
        );
        assert_eq!(
            (ev.program.as_ref(), ev.user.as_ref()),
            ("pgbouncer", "gilles")
        );
        assert_eq!(ev.source_ip, "127.0.0.1".parse().ok());
        assert_eq!(ev.action, Action::None);
        let ev = parse(
            "2024-01-01 12:00:00.000 UTC [12] WARNING C-0x1: app/eve@[2001:db8::5]:5000 pooler error: password authentication failed",
        );
        assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "eve"));
        assert_eq!(ev.source_ip, "2001:db8::5".parse().ok());
        let ev = parse(
            "2018-09-12 16:09:05.313 3394 LOG S-0x562376c063b0: pgbench/gilles@10.9.9.9:5432 new connection to server",
        );
        assert_eq!(ev.source_ip, None);
    }

    #[test]
    fn role_does_not_exist_is_invalid_user() {
        let ev = parse("2024-01-01 12:00:00 UTC [1] FATAL:  role \"hacker\" does not exist");
        assert_eq!(
            (ev.action, ev.user.as_ref()),
            (Action::InvalidUser, "hacker")
        );
    }
}
