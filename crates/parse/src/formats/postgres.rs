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

use super::syslog::{key_value, key_values, parse_ip};
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
    // `app=` and `user=` come from the client and usually precede
    // `client=`; the last `client=` is the server's.
    let client = key_values(prefix, "client")
        .last()
        .or_else(|| key_values(prefix, "host").last());
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
mod tests;
