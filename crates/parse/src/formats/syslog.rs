//! Syslog: RFC 3164 (`Mar 27 13:06:56 host prog[pid]: msg`, optionally with
//! `<PRI>`), the ISO-timestamp variant rsyslog writes, and RFC 5424. Messages
//! of sshd, sudo, su, login and PAM are read for their security meaning
//! ([`auth`]); messages of database servers go to the PostgreSQL / MySQL
//! message classifiers.

mod auth;

use super::{Format, ParserOptions, mysql, postgres};
use crate::{LineParser, ParseError, Parsed};
use secmo_event::{Event, EventKind, civil_to_unix, month_from_abbrev, parse_rfc3339};
use std::borrow::Cow;
use std::net::IpAddr;

const DAY_MS: i64 = 86_400_000;

pub struct SyslogParser {
    /// Year given to RFC 3164 timestamps.
    year: i64,
    /// A yearless time later than this (by more than a day) is from the year before.
    reference_ms: Option<i64>,
}

impl SyslogParser {
    pub fn new(opts: &ParserOptions) -> Self {
        let (year, reference_ms) = resolve_year(opts);
        SyslogParser { year, reference_ms }
    }
}

/// The year for yearless timestamps and the reference time for the
/// rollover rule. With no year given, "this year" and "now" stand in: a file
/// read in January with December lines then gets last year's December.
fn resolve_year(opts: &ParserOptions) -> (i64, Option<i64>) {
    if opts.year != 0 {
        return (i64::from(opts.year), opts.reference_ms);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    let reference = opts.reference_ms.or(now);
    let year = reference.map_or(1970, year_of_ms);
    (year, reference)
}

/// The UTC civil year of an epoch time (Hinnant's civil-from-days).
fn year_of_ms(ms: i64) -> i64 {
    let days = ms.div_euclid(DAY_MS);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

impl LineParser for SyslogParser {
    fn format(&self) -> Format {
        Format::Syslog
    }

    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Ok(Parsed::Skip);
        }
        // Continuation of a multi-line message (macOS syslogd, tracebacks).
        if line.starts_with([' ', '\t']) {
            return Ok(Parsed::Skip);
        }
        let rest = strip_pri(line)?;
        let mut ev = if let Some(r5424) = rest.strip_prefix("1 ") {
            parse_5424(r5424)?
        } else {
            let (ts, after, iso) = self.timestamp(rest)?;
            let mut ev = parse_3164_tail(after)?;
            // rsyslog's ISO form always has a tag; without one, the line is
            // more likely another format led by an ISO time (MySQL, PostgreSQL).
            if iso && ev.program.is_empty() {
                return Err(ParseError::new("no syslog tag"));
            }
            ev.timestamp_ms = ts;
            ev
        };
        classify(&mut ev);
        Ok(Parsed::Event(ev))
    }
}

impl SyslogParser {
    /// The leading timestamp (RFC 3164 or ISO), the text after it and its
    /// space, and whether it was ISO.
    fn timestamp<'a>(&self, s: &'a str) -> Result<(Option<i64>, &'a str, bool), ParseError> {
        const BAD: ParseError = ParseError::new("bad syslog timestamp");
        if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            // Only `T`: a space-separated ISO time leads PostgreSQL and MySQL lines.
            if s.as_bytes().get(10) != Some(&b'T') {
                return Err(BAD);
            }
            let (ms, used) = parse_rfc3339(s).ok_or(BAD)?;
            let after = s.get(used..).and_then(|r| r.strip_prefix(' ')).ok_or(BAD)?;
            return Ok((Some(ms), after, true));
        }
        let (civil, after) = parse_3164_time(s).ok_or(ParseError::new("no syslog timestamp"))?;
        Ok((self.yearless_to_ms(civil), after, false))
    }

    fn yearless_to_ms(&self, c: Civil) -> Option<i64> {
        let at = |year| civil_to_unix(year, c.month, c.day, c.hour, c.min, c.sec, c.millis, 0);
        let ms = at(self.year)?;
        match self.reference_ms {
            Some(r) if ms > r.saturating_add(DAY_MS) => at(self.year - 1),
            _ => Some(ms),
        }
    }
}

/// Month, day and time of day of a yearless timestamp.
#[derive(Debug, Clone, Copy)]
struct Civil {
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    millis: u32,
}

/// `Mar 27 13:06:56`, `Nov  3 09:23:38`, `Nov 03 ...`, `Nov 3 ...`, with an
/// optional fraction of a second; returns the text after the following space.
fn parse_3164_time(s: &str) -> Option<(Civil, &str)> {
    let b = s.as_bytes();
    let month = month_from_abbrev(b.get(..3)?)?;
    let mut i = 3;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let (day, n) = number(b.get(i..)?, 2)?;
    i += n;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let (hour, n) = number(b.get(i..)?, 2)?;
    i += n;
    let mut hms = [hour, 0, 0];
    for slot in hms.iter_mut().skip(1) {
        if b.get(i) != Some(&b':') {
            return None;
        }
        let (v, n) = number(b.get(i + 1..)?, 2)?;
        if n != 2 {
            return None;
        }
        *slot = v;
        i += 1 + n;
    }
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let frac = b.get(i + 1..)?;
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for k in 0..3 {
            millis = millis * 10
                + frac
                    .get(k)
                    .filter(|_| k < n)
                    .map_or(0, |d| u32::from(d - b'0'));
        }
        i += 1 + n;
    }
    if b.get(i) != Some(&b' ') {
        return None;
    }
    let civil = Civil {
        month,
        day,
        hour: hms[0],
        min: hms[1],
        sec: hms[2],
        millis,
    };
    Some((civil, s.get(i + 1..)?))
}

/// Up to `max` leading ASCII digits: their value and count.
fn number(b: &[u8], max: usize) -> Option<(u32, usize)> {
    let n = b
        .iter()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 {
        return None;
    }
    let v = b
        .iter()
        .take(n)
        .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    Some((v, n))
}

/// Drop a `<PRI>` prefix (1 to 3 digits).
fn strip_pri(line: &str) -> Result<&str, ParseError> {
    let Some(rest) = line.strip_prefix('<') else {
        return Ok(line);
    };
    let (pri, after) = rest
        .split_once('>')
        .ok_or(ParseError::new("bad syslog priority"))?;
    if pri.is_empty() || pri.len() > 3 || !pri.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ParseError::new("bad syslog priority"));
    }
    Ok(after)
}

/// `host prog[pid]: message` (RFC 3164 after the timestamp). The host is
/// optional (local files without one start with the tag), and so is the tag
/// (`host free text`), as RFC 3164 allows.
fn parse_3164_tail(s: &str) -> Result<Event<'_>, ParseError> {
    let (first, rest) = s.split_once(' ').unwrap_or((s, ""));
    if first.is_empty() {
        return Err(ParseError::new("no syslog host"));
    }
    let (host, tagged) = if split_tag(first, rest).is_some() {
        ("", s)
    } else {
        (first, rest)
    };
    let (program, message) = match tagged.split_once(' ') {
        Some((tag, msg)) => split_tag(tag, msg).unwrap_or(("", tagged)),
        None => split_tag(tagged, "").unwrap_or(("", tagged)),
    };
    Ok(Event {
        host: Cow::Borrowed(host),
        program: Cow::Borrowed(program),
        message: Cow::Borrowed(message),
        ..Event::default()
    })
}

/// `prog[pid]:` or `prog:` → the program name and the message that follows.
fn split_tag<'a>(tag: &'a str, msg: &'a str) -> Option<(&'a str, &'a str)> {
    let name = tag.strip_suffix(':')?;
    let name = match name.split_once('[') {
        // Heroku logplex tags database lines `app[postgres.4882]`.
        Some(("app", pid)) if pid.starts_with("postgres.") => pid.get(..8).unwrap_or(""),
        Some((n, pid)) if pid.ends_with(']') => n,
        Some(_) => return None,
        None => name,
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./@()".contains(&c));
    valid.then_some((name, msg))
}

/// `TIMESTAMP HOST APP PROCID MSGID SD MSG` (after `<PRI>1 `).
fn parse_5424<'a>(s: &'a str) -> Result<Event<'a>, ParseError> {
    const BAD: ParseError = ParseError::new("bad RFC 5424 header");
    let mut parts = s.splitn(5, ' ');
    let ts = parts.next().ok_or(BAD)?;
    let host = parts.next().ok_or(BAD)?;
    let app = parts.next().ok_or(BAD)?;
    let _procid = parts.next().ok_or(BAD)?;
    let rest = parts.next().ok_or(BAD)?;
    let (_msgid, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let timestamp_ms = if ts == "-" {
        None
    } else {
        match parse_rfc3339(ts) {
            Some((ms, n)) if n == ts.len() => Some(ms),
            _ => return Err(ParseError::new("bad RFC 5424 timestamp")),
        }
    };
    let message =
        skip_structured_data(rest).ok_or(ParseError::new("bad RFC 5424 structured data"))?;
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    let nil = |v: &'a str| if v == "-" { "" } else { v };
    Ok(Event {
        timestamp_ms,
        host: Cow::Borrowed(nil(host)),
        program: Cow::Borrowed(nil(app)),
        message: Cow::Borrowed(message),
        ..Event::default()
    })
}

/// The message after RFC 5424 structured data (`-` or `[id k="v" ...]...`).
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let rest = s.get(i..)?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Give the event its kind, action, outcome, user and address from what the program said.
fn classify<'a>(ev: &mut Event<'a>) {
    let Cow::Borrowed(program) = ev.program else {
        return;
    };
    let Cow::Borrowed(message) = ev.message else {
        return;
    };
    match program {
        "postgres" | "postgresql" => {
            ev.kind = EventKind::Db;
            postgres::classify_body(message, ev);
        }
        "mysqld" | "mariadbd" | "mysql" | "mariadb" => {
            ev.kind = EventKind::Db;
            mysql::classify_body(message, ev);
        }
        _ => auth::classify(program, message, ev),
    }
}

/// An address as logs print it: bare, `[v6]`, or with a `(port)` or `%zone`
/// suffix. Hostnames and `[local]` give `None`.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.split_once('(').map_or(s, |(a, _)| a);
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    let s = s.split_once('%').map_or(s, |(a, _)| a);
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    s.parse().ok()
}

/// The value of `key=` in space/comma separated `k=v` text: up to the next
/// space or comma. The key must start a word (`user=` does not match `ruser=`).
pub(crate) fn key_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    key_values(text, key).next()
}

/// Every value of `key=`, in order. Values are not escaped in these logs,
/// so a field an attacker sets can hold a fake `key=` of a later field:
/// callers take the first or the last occurrence, whichever the attacker
/// cannot place in front of.
pub(crate) fn key_values<'a>(text: &'a str, key: &str) -> impl Iterator<Item = &'a str> {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(pos) = text.get(from..)?.find(key) {
            let at = from + pos;
            let starts_word = at == 0
                || text
                    .as_bytes()
                    .get(at - 1)
                    .is_some_and(|c| matches!(c, b' ' | b',' | b';' | b'\t' | b'('));
            let value_at = at + key.len();
            from = value_at.max(from + 1);
            if starts_word && text.as_bytes().get(value_at) == Some(&b'=') {
                let v = text.get(value_at + 1..)?;
                let end = v.find([' ', ',', ';', '\t']).unwrap_or(v.len());
                return v.get(..end);
            }
        }
        None
    })
}

#[cfg(test)]
mod tests;
