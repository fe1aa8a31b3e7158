//! MySQL / MariaDB logs, one line at a time:
//!
//! - error log: `2024-01-01T12:00:00.123456Z 8 [Warning] [MY-010055] [Server] msg`
//!   (8.0), `240101 12:00:00 [Warning] msg` (5.x), `2024-01-01 12:00:00 8 [Warning] msg`
//!   (MariaDB), and mysqld_safe / InnoDB lines;
//! - general log: `TIME\t   10 Connect\troot@localhost on test using TCP/IP`, `... Query\tSQL`;
//! - slow log: the `# User@Host:` line of each entry becomes an event (user,
//!   client address); the other `#` lines, `SET timestamp=`, `use db;` and the
//!   query text are skipped, because a line parser cannot tell query text
//!   from anything else and must not claim unrelated lines as MySQL events.
//!
//! Times without a zone (5.x, MariaDB) are server local time and are taken as UTC.

use super::syslog::parse_ip;
use super::{Format, ParserOptions};
use crate::{LineParser, ParseError, Parsed};
use secmo_event::{Action, Event, EventKind, Outcome, civil_to_unix, parse_rfc3339};
use std::borrow::Cow;

pub struct MysqlLogParser;

impl MysqlLogParser {
    pub fn new(_opts: &ParserOptions) -> Self {
        MysqlLogParser
    }
}

const NOT_MYSQL: ParseError = ParseError::new("not a MySQL log line");

impl LineParser for MysqlLogParser {
    fn format(&self) -> Format {
        Format::Mysql
    }

    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || is_header(line) {
            return Ok(Parsed::Skip);
        }
        if let Some(rest) = line.strip_prefix("# User@Host: ") {
            return Ok(Parsed::Event(user_host(rest)));
        }
        if line.starts_with('#') || line.starts_with("SET timestamp=") || line.starts_with("use ") {
            return Ok(Parsed::Skip);
        }
        let Some((ms, rest)) = timestamp(line) else {
            // A 5.x general log entry without a time: `\t\t    2 Query\tSELECT 1`.
            if line.starts_with("\t\t")
                && let Some(ev) = general(line.trim_start_matches('\t'))
            {
                return Ok(Parsed::Event(ev));
            }
            // Slow-log query text (possibly multi-line) has no marker at all.
            if looks_like_slow_query_text(line) {
                return Ok(Parsed::Skip);
            }
            return Err(NOT_MYSQL);
        };
        let mut ev = if rest.starts_with('\t') {
            general(rest.trim_start_matches('\t')).ok_or(NOT_MYSQL)?
        } else if let Some(r) = rest.strip_prefix(' ') {
            error_line(r).ok_or(NOT_MYSQL)?
        } else {
            return Err(NOT_MYSQL);
        };
        ev.timestamp_ms = Some(ms);
        Ok(Parsed::Event(ev))
    }
}

/// General/slow log file headers, written at each server start.
fn is_header(line: &str) -> bool {
    (line.contains(", Version: ") && line.contains("started with:"))
        || line.starts_with("Tcp port: ")
        || (line.starts_with("Time ") && line.contains(" Id Command"))
}

/// Query text in a slow log: no timestamp, no `#`. Anything with control
/// characters other than tab is not.
fn looks_like_slow_query_text(line: &str) -> bool {
    !line.bytes().any(|c| c < 0x20 && c != b'\t')
}

fn db_event<'a>(message: &'a str) -> Event<'a> {
    Event {
        kind: EventKind::Db,
        program: Cow::Borrowed("mysqld"),
        message: Cow::Borrowed(message),
        ..Event::default()
    }
}

/// `root[root] @ localhost [127.0.0.1]  Id: 3`
fn user_host(rest: &str) -> Event<'_> {
    let mut ev = db_event(rest);
    let (account, client) = rest.split_once(" @ ").unwrap_or((rest, ""));
    ev.user = Cow::Borrowed(account.split('[').next().unwrap_or("").trim());
    if let Some((_, ip)) = client.split_once('[') {
        ev.source_ip = parse_ip(ip.split(']').next().unwrap_or(""));
    }
    if ev.source_ip.is_none() {
        ev.source_ip = parse_ip(client.split(' ').next().unwrap_or(""));
    }
    ev
}

/// The leading time in any of MySQL's layouts, and the text after it.
fn timestamp(line: &str) -> Option<(i64, &str)> {
    let b = line.as_bytes();
    if b.get(4) == Some(&b'-') {
        if b.get(10) == Some(&b'T') {
            let (ms, used) = parse_rfc3339(line)?;
            return Some((ms, line.get(used..)?));
        }
        // `2024-01-01 12:00:00` or MariaDB's `2019-05-22  9:31:15`.
        let year = digits(b.get(0..4)?)?;
        if b.get(7) != Some(&b'-') || b.get(10) != Some(&b' ') {
            return None;
        }
        return time_of_day(
            line,
            11,
            year,
            digits(b.get(5..7)?)?,
            digits(b.get(8..10)?)?,
        );
    }
    // `240101 12:00:00` / `071015  1:43:52`
    if b.get(6) == Some(&b' ') {
        let year = 2000 + digits(b.get(0..2)?)?;
        return time_of_day(line, 7, year, digits(b.get(2..4)?)?, digits(b.get(4..6)?)?);
    }
    None
}

/// ` H:MM:SS[.ffffff]` or `HH:MM:SS` from byte `i`, which may hold one padding space.
fn time_of_day(line: &str, mut i: usize, year: u32, month: u32, day: u32) -> Option<(i64, &str)> {
    let b = line.as_bytes();
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let hour_len = if b.get(i + 1) == Some(&b':') { 1 } else { 2 };
    let hour = digits(b.get(i..i + hour_len)?)?;
    i += hour_len;
    if b.get(i) != Some(&b':') || b.get(i + 3) != Some(&b':') {
        return None;
    }
    let min = digits(b.get(i + 1..i + 3)?)?;
    let sec = digits(b.get(i + 4..i + 6)?)?;
    i += 6;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let n = b
            .get(i + 1..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let frac = b.get(i + 1..i + 1 + n)?;
        for k in 0..3 {
            millis = millis * 10 + frac.get(k).map_or(0, |d| u32::from(d - b'0'));
        }
        i += 1 + n;
    }
    let ms = civil_to_unix(i64::from(year), month, day, hour, min, sec, millis, 0)?;
    Some((ms, line.get(i..)?))
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
}

/// `   10 Connect\troot@localhost on test using TCP/IP` (after the time's tab).
fn general(s: &str) -> Option<Event<'_>> {
    let s = s.trim_start_matches(' ');
    let id_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if id_len == 0 {
        return None;
    }
    let s = s.get(id_len..)?.strip_prefix(' ')?;
    let (command, argument) = s.split_once('\t').unwrap_or((s, ""));
    if command.is_empty()
        || !command
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || c == b' ')
    {
        return None;
    }
    let mut ev = db_event(argument);
    if command == "Connect" && !argument.starts_with("Access denied") {
        // `root@localhost on test using TCP/IP`
        if let Some((user, rest)) = argument.split_once('@') {
            ev.user = Cow::Borrowed(user);
            ev.source_ip = parse_ip(rest.split(' ').next().unwrap_or(""));
        }
    } else {
        classify_message(argument, &mut ev);
    }
    Some(ev)
}

/// After the time in an error log: `[thread ]` then `[Level] [MY-n] [Sub] msg`,
/// or the unlevelled lines of mysqld_safe and old InnoDB.
fn error_line(s: &str) -> Option<Event<'_>> {
    let s = s.trim_start_matches(' ');
    if let Some(message) = levelled_message(s) {
        let mut ev = db_event(message);
        classify_message(message, &mut ev);
        return Some(ev);
    }
    for program in ["mysqld_safe ", "InnoDB: ", "mysqld: ", "mariadbd: "] {
        if s.starts_with(program) {
            let mut ev = db_event(s);
            classify_message(s, &mut ev);
            return Some(ev);
        }
    }
    None
}

/// `[8 ][Warning] [MY-010055] [Server] msg` → `msg`.
fn levelled_message(s: &str) -> Option<&str> {
    let id_len = s.bytes().take_while(u8::is_ascii_digit).count();
    let s = if id_len > 0 {
        s.get(id_len..)?.trim_start_matches(' ')
    } else {
        s
    };
    let (level, mut rest) = s.strip_prefix('[')?.split_once(']')?;
    if !matches!(
        level,
        "Note" | "Warning" | "ERROR" | "Error" | "System" | "Info" | "Debug"
    ) {
        return None;
    }
    rest = rest.trim_start_matches(' ');
    // MySQL 8 adds `[MY-010055] [Server]`.
    if rest.starts_with("[MY-") {
        for _ in 0..2 {
            if let Some((_, r)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                rest = r.trim_start_matches(' ');
            }
        }
    }
    Some(rest)
}

/// For syslog lines from mysqld/mariadbd: drop a time and level if present,
/// then classify.
pub(crate) fn classify_body<'a>(s: &'a str, ev: &mut Event<'a>) {
    let after_time = timestamp(s).map_or(s, |(_, r)| r.trim_start_matches([' ', '\t']));
    let message = levelled_message(after_time).unwrap_or(after_time);
    ev.kind = EventKind::Db;
    ev.message = Cow::Borrowed(message);
    classify_message(message, ev);
}

/// Actions from a MySQL message.
pub(crate) fn classify_message<'a>(text: &'a str, ev: &mut Event<'a>) {
    if let Some(rest) = text.strip_prefix("Access denied for user '") {
        // `Access denied for user 'U'@'H' (using password: YES)`
        // The user may hold `'@'`; the host, from the server, is the last one.
        let (user, host) = rest
            .rsplit_once("'@'")
            .unwrap_or((rest.split('\'').next().unwrap_or(""), ""));
        ev.user = Cow::Borrowed(user);
        ev.source_ip = parse_ip(host.split('\'').next().unwrap_or(""));
        ev.action = Action::LoginFailure;
        ev.outcome = Outcome::Failure;
    } else if text.contains("You have an error in your SQL syntax")
        || text.contains("ER_PARSE_ERROR")
    {
        ev.action = Action::QueryError;
        ev.outcome = Outcome::Failure;
    } else if let Some((_, rest)) = text.split_once(" user: '") {
        // `Aborted connection 5 to db: 'd' user: 'u' host: 'h' (Got timeout reading ...)`
        ev.user = Cow::Borrowed(rest.split('\'').next().unwrap_or(""));
        if let Some((_, h)) = rest.split_once(" host: '") {
            ev.source_ip = parse_ip(h.split('\'').next().unwrap_or(""));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Parsed<'_>, ParseError> {
        MysqlLogParser::new(&ParserOptions::default()).parse(line)
    }

    fn event(line: &str) -> Event<'_> {
        match parse(line) {
            Ok(Parsed::Event(ev)) => ev,
            other => panic!("not an event: {other:?} for {line}"),
        }
    }

    #[test]
    fn mysql8_access_denied() {
        let ev = event(
            "2024-01-01T12:00:00.123456Z 8 [Warning] [MY-010055] [Server] Access denied for user 'root'@'1.2.3.4' (using password: YES)",
        );
        assert_eq!(
            (ev.kind, ev.action, ev.outcome),
            (EventKind::Db, Action::LoginFailure, Outcome::Failure)
        );
        assert_eq!(ev.user, "root");
        assert_eq!(ev.source_ip, "1.2.3.4".parse().ok());
        assert_eq!(ev.timestamp_ms, Some(1_704_110_400_123));
        assert!(ev.message.starts_with("Access denied"));
    }

    #[test]
    fn old_and_mariadb_error_logs() {
        let ev = event(
            "240101 12:00:00 [Warning] Access denied for user 'bob'@'localhost' (using password: NO)",
        );
        assert_eq!(
            (ev.action, ev.user.as_ref(), ev.source_ip),
            (Action::LoginFailure, "bob", None)
        );
        assert_eq!(ev.timestamp_ms, Some(1_704_110_400_000));
        let ev = event(
            "2024-01-01 12:00:00 8 [Warning] Access denied for user 'x'@'10.0.0.9' (using password: YES)",
        );
        assert_eq!(ev.source_ip, "10.0.0.9".parse().ok());
        let ev = event("2019-05-22  9:31:15 0 [Note] InnoDB: Buffer pool(s) load completed");
        assert_eq!(
            (ev.action, ev.message.as_ref()),
            (Action::None, "InnoDB: Buffer pool(s) load completed")
        );
        let ev = event(
            "240101 12:00:00 mysqld_safe Starting mysqld daemon with databases from /var/lib/mysql",
        );
        assert!(ev.message.starts_with("mysqld_safe"));
    }

    #[test]
    fn general_log() {
        let ev =
            event("2025-08-15T14:04:36.592572Z\t   10 Connect\troot@localhost on  using Socket");
        assert_eq!((ev.user.as_ref(), ev.action), ("root", Action::None));
        let ev = event(
            "2024-01-01T12:00:00.000000Z\t   11 Connect\tAccess denied for user 'x'@'192.0.2.1' (using password: YES)",
        );
        assert_eq!((ev.action, ev.user.as_ref()), (Action::LoginFailure, "x"));
        assert_eq!(ev.source_ip, "192.0.2.1".parse().ok());
        let ev = event("2025-08-15T14:04:10.394852Z\t    9 Query\tselect * from testtab");
        assert_eq!(ev.message, "select * from testtab");
        let ev = event("2025-08-15T14:04:35.806005Z\t    9 Quit\t");
        assert_eq!(ev.message, "");
        let ev = event("\t\t    2 Query\tSELECT 1");
        assert_eq!((ev.message.as_ref(), ev.timestamp_ms), ("SELECT 1", None));
    }

    #[test]
    fn user_name_cannot_fake_the_host() {
        let ev = event(
            "240101 12:00:00 [Warning] Access denied for user 'a'@'6.6.6.6'@'10.0.0.4' (using password: YES)",
        );
        assert_eq!(
            (ev.user.as_ref(), ev.source_ip),
            ("a'@'6.6.6.6", "10.0.0.4".parse().ok())
        );
    }

    #[test]
    fn syntax_error() {
        let ev = event(
            "2024-01-01T12:00:00.123456Z 8 [Note] [MY-010000] [Server] ER_PARSE_ERROR: You have an error in your SQL syntax; check the manual",
        );
        assert_eq!(
            (ev.action, ev.outcome),
            (Action::QueryError, Outcome::Failure)
        );
    }

    #[test]
    fn slow_log() {
        for skip in [
            "/usr/sbin/mysqld, Version: 5.0.38-Ubuntu_0ubuntu1.1-log (Ubuntu 7.04 distribution). started with:",
            "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock",
            "Time                 Id Command    Argument",
            "# Time: 071015 21:43:52",
            "# Query_time: 2  Lock_time: 0  Rows_sent: 1  Rows_examined: 0",
            "SET timestamp=1611704757;",
            "use test;",
            "select sleep(2) from n;",
            "",
        ] {
            assert_eq!(parse(skip), Ok(Parsed::Skip), "{skip}");
        }
        let ev = event("# User@Host: root[root] @ localhost [127.0.0.1]  Id: 3");
        assert_eq!((ev.user.as_ref(), ev.kind), ("root", EventKind::Db));
        assert_eq!(ev.source_ip, "127.0.0.1".parse().ok());
    }

    #[test]
    fn rejects_other_formats() {
        for line in [
            "2024-01-01 12:00:00 UTC,\"a\",\"b\",1,LOG",
            "2024-01-01T12:00:00Z host sshd[1]: Failed password",
            "2024-01-01 12:00:00.123 UTC [1234] LOG:  x",
            "\u{1}binary",
        ] {
            assert_eq!(parse(line), Err(NOT_MYSQL), "{line}");
        }
    }
}
