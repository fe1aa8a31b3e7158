//! Apache / Nginx access logs: `common`, `combined`, `vhost_combined` and
//! combined with extra trailing fields, recognised per line.
//!
//! The layout is found from where the `[time]` token sits: three tokens before
//! it is `client ident user`, four is `vhost client ident user` (or a user
//! name with a space in it). Quoted fields end at an unescaped `"` followed
//! by what the format puts after them, so `\"` (Apache) inside a request or a
//! user agent does not cut the field short. Everything borrows from the line.

use std::borrow::Cow;
use std::net::IpAddr;

use memchr::memchr;
use secmo_event::{Action, Event, EventKind, Outcome, civil_to_unix, month_from_abbrev};

use super::Format;
use super::json::parse_ip;
use crate::{LineParser, ParseError, Parsed};

/// Parser for Apache/Nginx access log lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLogParser;

impl AccessLogParser {
    pub fn new() -> Self {
        AccessLogParser
    }
}

impl LineParser for AccessLogParser {
    fn format(&self) -> Format {
        Format::Access
    }

    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim_ascii().is_empty() {
            return Ok(Parsed::Skip);
        }
        parse_line(line).map(Parsed::Event)
    }
}

const E_LAYOUT: ParseError = ParseError::new("not an access log line");
const E_TIME: ParseError = ParseError::new("bad access log time");
const E_REQUEST: ParseError = ParseError::new("missing or unterminated request");
const E_STATUS: ParseError = ParseError::new("bad HTTP status");
const E_BYTES: ParseError = ParseError::new("bad response size");

/// Most tokens that may come before `[time]` (vhost, client, ident, user with a space).
const MAX_PREFIX_TOKENS: usize = 5;

fn parse_line(line: &str) -> Result<Event<'_>, ParseError> {
    let b = line.as_bytes();

    // Tokens before the time: (start, end) byte ranges.
    let mut toks = [(0usize, 0usize); MAX_PREFIX_TOKENS];
    let mut n = 0;
    let mut pos = 0;
    let time_start = loop {
        if pos >= b.len() {
            return Err(E_LAYOUT);
        }
        if b[pos] == b'[' && n >= 3 {
            break pos;
        }
        if n == MAX_PREFIX_TOKENS {
            return Err(E_LAYOUT);
        }
        let end = short_token_end(b, pos);
        if end == pos {
            return Err(E_LAYOUT);
        }
        toks[n] = (pos, end);
        n += 1;
        pos = end + 1;
    };
    let tok = |i: usize| -> &str { line.get(toks[i].0..toks[i].1).unwrap_or("") };

    let (host, client, user) = match n {
        3 => ("", tok(0), tok(2)),
        4 => {
            // `vhost:port client ident user`, unless the first token is the
            // client and the user name holds a space.
            let first_is_ip = tok(0).parse::<IpAddr>().is_ok();
            if !first_is_ip || tok(1).parse::<IpAddr>().is_ok() {
                (strip_port(tok(0)), tok(1), tok(3))
            } else {
                ("", tok(0), line.get(toks[2].0..toks[3].1).unwrap_or(""))
            }
        }
        _ => return Err(E_LAYOUT),
    };

    let (timestamp_ms, after_time) = parse_bracket_time(b, time_start).ok_or(E_TIME)?;
    pos = after_time;
    if b.get(pos) != Some(&b' ') || b.get(pos + 1) != Some(&b'"') {
        return Err(E_REQUEST);
    }
    let req_start = pos + 2;
    let req_end = find_request_end(b, req_start).ok_or(E_REQUEST)?;
    let request = line.get(req_start..req_end).ok_or(E_REQUEST)?;
    pos = req_end + 2; // past `" `

    let (status_txt, next) = next_token(line, pos);
    let status = parse_status(status_txt).ok_or(E_STATUS)?;
    pos = next;
    let (bytes_txt, next) = next_token(line, pos);
    let bytes = parse_dash_number(bytes_txt).ok_or(E_BYTES)?;
    pos = next;

    // An unterminated referrer or user agent (a line cut short) keeps what is
    // there: the request and status are intact and worth inspecting.
    let mut referrer = "";
    let mut user_agent = "";
    if b.get(pos) == Some(&b'"') {
        let end = find_quoted_end(b, pos + 1).unwrap_or(b.len());
        referrer = line.get(pos + 1..end).unwrap_or("");
        pos = end + 1;
        if b.get(pos) == Some(&b' ') && b.get(pos + 1) == Some(&b'"') {
            let start = pos + 2;
            let end = find_quoted_end(b, start).unwrap_or(b.len());
            user_agent = line.get(start..end).unwrap_or("");
        }
    }

    let req = split_request(request);
    Ok(Event {
        timestamp_ms: Some(timestamp_ms),
        kind: EventKind::Http,
        action: Action::Request,
        outcome: outcome_for_status(status),
        source_ip: parse_ipv4_fast(client)
            .map(IpAddr::V4)
            .or_else(|| parse_ipv6_fast(client).map(IpAddr::V6))
            .or_else(|| parse_ip(client)),
        user: Cow::Borrowed(dash_empty(user)),
        host: Cow::Borrowed(host),
        method: Cow::Borrowed(req.method),
        path: Cow::Borrowed(req.path),
        query: Cow::Borrowed(req.query),
        protocol: Cow::Borrowed(req.protocol),
        status,
        bytes,
        referrer: Cow::Borrowed(dash_empty(referrer)),
        user_agent: Cow::Borrowed(dash_empty(user_agent)),
        ..Event::default()
    })
}

/// `Failure` for 4xx/5xx, `Success` for other statuses, `Unknown` without one.
pub(crate) fn outcome_for_status(status: u16) -> Outcome {
    match status {
        0 => Outcome::Unknown,
        s if s >= 400 => Outcome::Failure,
        _ => Outcome::Success,
    }
}

fn dash_empty(s: &str) -> &str {
    if s == "-" { "" } else { s }
}

/// `www.example.com:80` → `www.example.com`; `[::1]:443` → `[::1]`.
fn strip_port(vhost: &str) -> &str {
    match vhost.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|c| c.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => vhost,
    }
}

/// The token starting at `pos` up to the next space, and the index after that space.
fn next_token(line: &str, pos: usize) -> (&str, usize) {
    let end = short_token_end(line.as_bytes(), pos);
    (line.get(pos..end).unwrap_or(""), end + 1)
}

/// The index of the first space at or after `pos` (or the end). A byte loop:
/// these tokens (addresses, `-`, status, size) are a few bytes long, where a
/// vectorised search costs more to set up than it saves.
fn short_token_end(b: &[u8], pos: usize) -> usize {
    b.get(pos..)
        .and_then(|rest| rest.iter().position(|&c| c == b' '))
        .map_or(b.len(), |i| pos + i)
}

fn parse_status(s: &str) -> Option<u16> {
    if s == "-" {
        return Some(0);
    }
    if s.len() > 3 {
        return None;
    }
    u16::try_from(digits(s)?).ok()
}

fn parse_dash_number(s: &str) -> Option<u64> {
    if s == "-" {
        return Some(0);
    }
    digits(s)
}

/// A run of 1 to 19 ASCII digits as a number, in one pass (19 digits cannot overflow).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.bytes().try_fold(0u64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

/// Whether the `"` at `i` is escaped by an odd run of backslashes before it.
fn is_escaped(b: &[u8], i: usize, start: usize) -> bool {
    let mut k = i;
    let mut run = 0;
    while k > start && b[k - 1] == b'\\' {
        run += 1;
        k -= 1;
    }
    run % 2 == 1
}

/// End of the request field: an unescaped `"` followed by ` <status> `.
/// Requiring the status after it also survives a stray unescaped quote.
fn find_request_end(b: &[u8], start: usize) -> Option<usize> {
    let mut from = start;
    loop {
        let i = from + memchr(b'"', b.get(from..)?)?;
        if !is_escaped(b, i, start)
            && b.get(i + 1) == Some(&b' ')
            && b.get(i + 2)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'-')
        {
            return Some(i);
        }
        from = i + 1;
    }
}

/// End of a referrer / user agent: an unescaped `"` followed by a space or the end.
fn find_quoted_end(b: &[u8], start: usize) -> Option<usize> {
    let mut from = start;
    loop {
        let i = from + memchr(b'"', b.get(from..)?)?;
        if !is_escaped(b, i, start) && matches!(b.get(i + 1), None | Some(b' ')) {
            return Some(i);
        }
        from = i + 1;
    }
}

/// Parse `[10/Oct/2000:13:55:36 -0700]` (optionally `:36.123`) at `start`.
/// Returns milliseconds since the epoch and the index after `]`.
fn parse_bracket_time(b: &[u8], start: usize) -> Option<(i64, usize)> {
    let rest = b.get(start + 1..)?;
    let end = memchr(b']', rest.get(..rest.len().min(40))?)?;
    let (ms, used) = parse_clf_time(rest.get(..end)?)?;
    if used != end {
        return None;
    }
    Some((ms, start + 1 + end + 1))
}

/// Parse the CLF time `10/Oct/2000:13:55:36 -0700` (nginx `$time_local`),
/// with optional `.mmm` after the seconds. Returns milliseconds and bytes used.
pub(crate) fn parse_clf_time(t: &[u8]) -> Option<(i64, usize)> {
    // Lines of a busy log share their second: the last whole-second time
    // (`10/Oct/2000:13:55:36 -0700`, no fraction) is remembered per thread, and
    // a line with the same 26 bytes reuses its value instead of converting it.
    let whole: Option<[u8; CLF_WHOLE]> = t
        .get(..CLF_WHOLE)
        .filter(|k| k[20] == b' ')
        .and_then(|k| k.try_into().ok());
    if let Some(key) = whole
        && let Some(ms) = LAST_CLF.with(|c| {
            let (k, ms) = c.get();
            (k == key).then_some(ms)
        })
    {
        return Some((ms, CLF_WHOLE));
    }
    let parsed = convert_clf_time(t);
    if let (Some(key), Some((ms, CLF_WHOLE))) = (whole, parsed) {
        LAST_CLF.with(|c| c.set((key, ms)));
    }
    parsed
}

/// Length of a CLF time without a fraction, zone included.
const CLF_WHOLE: usize = 26;

thread_local! {
    /// The last whole-second CLF time converted on this thread, and its value.
    /// Starts with a key no valid time has (a zero byte where `/` belongs).
    static LAST_CLF: std::cell::Cell<([u8; CLF_WHOLE], i64)> =
        const { std::cell::Cell::new(([0; CLF_WHOLE], 0)) };
}

fn convert_clf_time(t: &[u8]) -> Option<(i64, usize)> {
    if t.len() < 26
        || t[2] != b'/'
        || t[6] != b'/'
        || t[11] != b':'
        || t[14] != b':'
        || t[17] != b':'
    {
        return None;
    }
    let day = num2(&t[0..2])?;
    let month = month_from_abbrev(&t[3..6])?;
    let year = num2(&t[7..9])? * 100 + num2(&t[9..11])?;
    let hour = num2(&t[12..14])?;
    let min = num2(&t[15..17])?;
    let sec = num2(&t[18..20])?;
    let mut i = 20;
    let mut millis = 0;
    if t.get(i) == Some(&b'.') {
        i += 1;
        let digits_start = i;
        while let Some(c) = t.get(i).filter(|c| c.is_ascii_digit()) {
            if i - digits_start < 3 {
                millis = millis * 10 + u32::from(c - b'0');
            }
            i += 1;
        }
        let n = i - digits_start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    // ` -0700`: a space, the sign and four digits.
    let zone = t.get(i..i + 6)?;
    if zone[0] != b' ' {
        return None;
    }
    let sign: i32 = match zone[1] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let oh = num2(&zone[2..4])?;
    let om = num2(&zone[4..6])?;
    let offset = sign * (oh as i32 * 3600 + om as i32 * 60);
    let ms = civil_to_unix(i64::from(year), month, day, hour, min, sec, millis, offset)?;
    Some((ms, i + 6))
}

fn num2(d: &[u8]) -> Option<u32> {
    match d {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// The parts of an HTTP request line as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub protocol: &'a str,
}

/// Split `METHOD target PROTOCOL` (or HTTP/0.9 `METHOD target`). Anything
/// else (TLS bytes sent to a plain-HTTP port, junk) keeps its raw text as the
/// path with no method, so the request is still counted and inspected.
pub(crate) fn split_request(request: &str) -> RequestParts<'_> {
    if request == "-" || request.is_empty() {
        return RequestParts::default();
    }
    let raw = RequestParts {
        path: request,
        ..RequestParts::default()
    };
    // Byte searches: these run for every line (a space is one byte, so the
    // halves are on character boundaries).
    let b = request.as_bytes();
    // A method is at most 20 bytes: a byte loop finds its end sooner than a
    // vector search is set up.
    let Some(sp) = b.iter().take(21).position(|&c| c == b' ') else {
        return raw;
    };
    let (method, rest) = (
        request.get(..sp).unwrap_or(""),
        request.get(sp + 1..).unwrap_or(""),
    );
    if !is_method(method) {
        return raw;
    }
    // Nearly always ` HTTP/1.1` or ` HTTP/2.0`: look there before searching.
    let r = rest.as_bytes();
    let last_space = match r.len().checked_sub(9) {
        Some(i)
            if r.get(i) == Some(&b' ')
                && r.get(i + 1..i + 6) == Some(b"HTTP/")
                && r.get(i + 6..).is_some_and(|v| !v.contains(&b' ')) =>
        {
            Some(i)
        }
        _ => memchr::memrchr(b' ', r),
    };
    let (target, protocol) =
        match last_space.and_then(|i| Some((rest.get(..i)?, rest.get(i + 1..)?))) {
            Some((t, p)) if p.starts_with("HTTP/") || p.starts_with("HTTPS/") => (t, p),
            _ => (rest, ""),
        };
    let (path, query) = split_target(target);
    RequestParts {
        method,
        path,
        query,
        protocol,
    }
}

/// Split a request target on its first `?`.
pub(crate) fn split_target(target: &str) -> (&str, &str) {
    match memchr(b'?', target.as_bytes()) {
        Some(i) => (
            target.get(..i).unwrap_or(target),
            target.get(i + 1..).unwrap_or(""),
        ),
        None => (target, ""),
    }
}

/// A dotted-quad IPv4 address (`203.0.113.7`), the common case of every
/// access line, without the general parser's overhead; `None` for anything
/// else (IPv6, ports, junk), which the caller then parses the slow way.
/// Like the standard parser it refuses leading zeros and octets over 255.
pub(crate) fn parse_ipv4_fast(s: &str) -> Option<std::net::Ipv4Addr> {
    let b = s.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    match read_ipv4_at(b, 0) {
        Some((octets, end)) if end == b.len() => Some(std::net::Ipv4Addr::from(octets)),
        _ => None,
    }
}

/// The standard library's IPv6 grammar, read the same way (hex groups of at
/// most four digits, one `::`, an IPv4 tail in the last two groups) and
/// giving the same answers, without its generic backtracking parser: that
/// costs about 1,500 instructions per address, this about a tenth.
pub(crate) fn parse_ipv6_fast(s: &str) -> Option<std::net::Ipv6Addr> {
    let b = s.as_bytes();
    // The longest valid text: six 4-digit groups and a 15-byte IPv4 tail.
    if b.len() > 45 {
        return None;
    }
    let mut head = [0u16; 8];
    let mut pos = 0;
    let (head_size, head_v4) = read_ipv6_groups(b, &mut pos, &mut head);
    if head_size == 8 {
        return (pos == b.len()).then(|| std::net::Ipv6Addr::from(head));
    }
    if head_v4 || b.get(pos..pos + 2) != Some(b"::") {
        return None;
    }
    pos += 2;
    let mut tail = [0u16; 7];
    let limit = 8 - (head_size + 1);
    let (tail_size, _) = read_ipv6_groups(b, &mut pos, tail.get_mut(..limit)?);
    if pos != b.len() {
        return None;
    }
    head.get_mut(8 - tail_size..)?
        .copy_from_slice(tail.get(..tail_size)?);
    Some(std::net::Ipv6Addr::from(head))
}

/// Up to `groups.len()` `:`-separated groups from `pos`; the last two may be
/// an IPv4 address. Returns how many groups were read and whether the IPv4
/// form ended them; `pos` moves past what was read.
fn read_ipv6_groups(b: &[u8], pos: &mut usize, groups: &mut [u16]) -> (usize, bool) {
    let limit = groups.len();
    for i in 0..limit {
        let start = match i {
            0 => *pos,
            _ if b.get(*pos) == Some(&b':') => *pos + 1,
            _ => return (i, false),
        };
        if i + 1 < limit
            && let Some(([o1, o2, o3, o4], end)) = read_ipv4_at(b, start)
        {
            groups[i] = u16::from_be_bytes([o1, o2]);
            groups[i + 1] = u16::from_be_bytes([o3, o4]);
            *pos = end;
            return (i + 2, true);
        }
        match read_hex_group(b, start) {
            Some((g, end)) => {
                groups[i] = g;
                *pos = end;
            }
            None => return (i, false),
        }
    }
    (limit, false)
}

/// A dotted quad starting at `i` (decimal, 1-3 digits, no leading zero, at
/// most 255), and where it ends.
fn read_ipv4_at(b: &[u8], mut i: usize) -> Option<([u8; 4], usize)> {
    let mut octets = [0u8; 4];
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            v = v * 10 + u32::from(c - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        let n = i - start;
        if n == 0 || (n > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        *octet = u8::try_from(v).ok()?;
    }
    Some((octets, i))
}

/// One to four hex digits starting at `i`; more than four is no group.
fn read_hex_group(b: &[u8], mut i: usize) -> Option<(u16, usize)> {
    let start = i;
    let mut v = 0u32;
    while let Some(d) = b.get(i).and_then(|&c| char::from(c).to_digit(16)) {
        v = v * 16 + d;
        i += 1;
        if i - start > 4 {
            return None;
        }
    }
    (i > start).then_some((v as u16, i))
}

/// An HTTP method token: 1–20 letters (RFC 9110 tchar without the punctuation
/// junk requests are made of).
pub(crate) fn is_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 20
        && m.bytes()
            .all(|c| c.is_ascii_alphabetic() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fast address reader gives what the standard parser gives, case by case.
    fn agrees_with_std<T>(fast: fn(&str) -> Option<T>, cases: &[&str])
    where
        T: std::str::FromStr + PartialEq + std::fmt::Debug,
    {
        for s in cases {
            assert_eq!(fast(s), s.parse::<T>().ok(), "{s:?}");
        }
    }

    #[test]
    fn fast_ipv4_agrees_with_the_standard_parser() {
        agrees_with_std(
            parse_ipv4_fast,
            &[
                "203.0.113.7",
                "0.0.0.0",
                "255.255.255.255",
                "1.2.3.4",
                "10.0.0.01",
                "256.1.1.1",
                "1.2.3",
                "1.2.3.4.5",
                "1..3.4",
                "01.2.3.4",
                "1.2.3.4 ",
                "a.b.c.d",
                "1.2.3.-4",
                "1234.1.1.1",
                "1.2.3.4:80",
                "::1",
                "",
                "99.99.99.999",
                "00.1.2.3",
                "9.9.9.9",
            ],
        );
    }

    #[test]
    fn request_split_takes_the_last_space_before_the_protocol() {
        fn parts(r: &str) -> (&str, &str, &str, &str) {
            let p = split_request(r);
            (p.method, p.path, p.query, p.protocol)
        }
        assert_eq!(parts("GET /a?b HTTP/1.1"), ("GET", "/a", "b", "HTTP/1.1"));
        assert_eq!(parts("GET /a b HTTP/2.0"), ("GET", "/a b", "", "HTTP/2.0"));
        assert_eq!(parts("GET /x HTTP/1 1"), ("GET", "/x HTTP/1 1", "", ""));
        assert_eq!(parts("GET /x HTTP/10.10"), ("GET", "/x", "", "HTTP/10.10"));
        assert_eq!(parts("GET /x"), ("GET", "/x", "", ""));
        assert_eq!(parts("GET HTTP/1.1"), ("GET", "HTTP/1.1", "", ""));
        assert_eq!(parts("VERYLONGMETHODNAMEXYZW /x HTTP/1.1").0, "");
    }

    #[test]
    fn fast_ipv6_agrees_with_the_standard_parser() {
        agrees_with_std(
            parse_ipv6_fast,
            &[
                "::",
                "::1",
                "1::",
                "2001:db8::1",
                "2001:DB8:0:0:8:800:200C:417A",
                "1:2:3:4:5:6:7:8",
                "1:2:3:4:5:6:7::",
                "::2:3:4:5:6:7:8",
                "1::2:3:4:5:6:7:8",
                "1:2:3:4:5:6:7:8:9",
                "1:2:3:4:5:6:1.2.3.4",
                "::ffff:192.0.2.128",
                "::192.0.2.128",
                "1:2:3:4:5:6:7:1.2.3.4",
                "1::2::3",
                ":::",
                ":1::",
                "1:",
                "12345::",
                "0000:0000:0000:0000:0000:0000:255.255.255.255",
                "::ffff:01.2.3.4",
                "::ffff:1.2.3",
                "::ffff:256.1.1.1",
                "::1234.1.1.1",
                "123.45.67.89",
                "fe80::1%eth0",
                "[::1]",
                "g::1",
                "",
                ":",
                "1.2.3.4::",
                "::1.2.3.4:5",
            ],
        );
    }

    proptest::proptest! {
        #[test]
        fn fast_ipv4_agrees_on_any_text(s in "[0-9.]{0,16}") {
            proptest::prop_assert_eq!(parse_ipv4_fast(&s), s.parse::<std::net::Ipv4Addr>().ok());
        }

        #[test]
        fn fast_ipv4_reads_every_address(bits in proptest::prelude::any::<u32>()) {
            let a = std::net::Ipv4Addr::from(bits);
            proptest::prop_assert_eq!(parse_ipv4_fast(&a.to_string()), Some(a));
        }

        #[test]
        fn fast_ipv6_agrees_on_any_text(s in "[0-9a-fA-F:.]{0,46}") {
            proptest::prop_assert_eq!(parse_ipv6_fast(&s), s.parse::<std::net::Ipv6Addr>().ok());
        }

        #[test]
        fn fast_ipv6_reads_every_address(bits in proptest::prelude::any::<u128>(), v4 in proptest::prelude::any::<u32>()) {
            let a = std::net::Ipv6Addr::from(bits);
            let mapped = std::net::Ipv4Addr::from(v4).to_ipv6_mapped();
            for text in [a.to_string(), format!("{a:#?}"), mapped.to_string(), format!("{:x}", bits)] {
                proptest::prop_assert_eq!(parse_ipv6_fast(&text), text.parse::<std::net::Ipv6Addr>().ok(), "{}", text);
            }
        }
    }

    fn ev(line: &str) -> Event<'_> {
        match AccessLogParser::new().parse(line) {
            Ok(Parsed::Event(e)) => e,
            other => panic!("expected an event for {line:?}, got {other:?}"),
        }
    }

    fn err(line: &str) -> &'static str {
        match AccessLogParser::new().parse(line) {
            Err(e) => e.reason,
            other => panic!("expected an error for {line:?}, got {other:?}"),
        }
    }

    const COMBINED: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1&b=2 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    #[test]
    fn combined() {
        let e = ev(COMBINED);
        assert_eq!(e.timestamp_ms, Some(971_211_336_000));
        assert_eq!(e.source_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(e.user, "frank");
        assert_eq!(e.host, "");
        assert_eq!(e.method, "GET");
        assert_eq!(e.path, "/apache_pb.gif");
        assert_eq!(e.query, "a=1&b=2");
        assert_eq!(e.protocol, "HTTP/1.0");
        assert_eq!(e.status, 200);
        assert_eq!(e.bytes, 2326);
        assert_eq!(e.referrer, "http://www.example.com/start.html");
        assert_eq!(e.user_agent, "Mozilla/4.08 [en] (Win98; I ;Nav)");
        assert_eq!(
            (e.kind, e.action, e.outcome),
            (EventKind::Http, Action::Request, Outcome::Success)
        );
        assert!(matches!(e.path, Cow::Borrowed(_)));
    }

    #[test]
    fn common_with_dashes() {
        let e = ev(r#"10.0.0.5 - - [01/Jan/2024:00:00:00 +0000] "POST /login HTTP/1.1" 401 -"#);
        assert_eq!(e.user, "");
        assert_eq!(e.status, 401);
        assert_eq!(e.bytes, 0);
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.referrer, "");
        assert_eq!(e.user_agent, "");
        assert_eq!(e.timestamp_ms, Some(1_704_067_200_000));
    }

    #[test]
    fn vhost_combined() {
        let e = ev(
            r#"www.example.com:80 1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 304 0 "-" "curl/8.0""#,
        );
        assert_eq!(e.host, "www.example.com");
        assert_eq!(e.source_ip, Some("1.2.3.4".parse().unwrap()));
        assert_eq!(e.status, 304);
        assert_eq!(e.user_agent, "curl/8.0");
        let e = ev(
            r#"localhost:443 178.20.184.42 1j0vhgd jsmith [26/Jul/2023:00:01:26 -0700] "GET /secure/x?y=1 HTTP/2.0" 200 17163 "-" "Mozilla/5.0" 116075"#,
        );
        assert_eq!((e.host.as_ref(), e.user.as_ref()), ("localhost", "jsmith"));
        assert_eq!(e.path, "/secure/x");
    }

    #[test]
    fn user_with_space_is_not_a_vhost() {
        let e = ev(r#"1.2.3.4 - john smith [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#);
        assert_eq!(e.user, "john smith");
        assert_eq!(e.host, "");
        assert_eq!(e.source_ip, Some("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn ipv6_and_hostname_clients() {
        let e =
            ev(r#"2001:db8::1 - - [10/Oct/2000:13:55:36 +0200] "GET / HTTP/1.1" 200 1 "-" "-""#);
        assert_eq!(e.source_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(e.timestamp_ms, Some(971_178_936_000));
        let e =
            ev(r#"crawler.example.net - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#);
        assert_eq!(e.source_ip, None);
        assert_eq!(e.status, 200);
        let e = ev(r#"10.1.2.3:51234 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#);
        assert_eq!(e.source_ip, Some("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn trailing_extra_fields() {
        let e = ev(
            r#"54.36.149.41 - - [22/Jan/2019:03:56:14 +0330] "GET /image/1 HTTP/1.1" 200 30577 "-" "AhrefsBot/6.1" "-""#,
        );
        assert_eq!(e.user_agent, "AhrefsBot/6.1");
        assert_eq!(e.timestamp_ms, Some(1_548_116_774_000));
    }

    #[test]
    fn escaped_quotes_in_request_and_agent() {
        let line = r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /q?x=\"><script>alert(1)</script> HTTP/1.1" 200 5 "http://r/\"x\"" "Mozilla \"evil\" agent""#;
        let e = ev(line);
        assert_eq!(e.path, "/q");
        assert_eq!(e.query, r#"x=\"><script>alert(1)</script>"#);
        assert_eq!(e.protocol, "HTTP/1.1");
        assert_eq!(e.referrer, r#"http://r/\"x\""#);
        assert_eq!(e.user_agent, r#"Mozilla \"evil\" agent"#);
        // nginx escapes the quote as \x22.
        let e = ev(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /?a=\x22 HTTP/1.1" 200 5 "-" "\x22ua""#,
        );
        assert_eq!(e.query, r"a=\x22");
        assert_eq!(e.user_agent, r"\x22ua");
        // A trailing backslash pair before the closing quote is not an escape.
        let e =
            ev(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a\\ HTTP/1.1" 200 5 "-" "ua\\""#);
        assert_eq!(e.path, r"/a\\");
        assert_eq!(e.user_agent, r"ua\\");
    }

    #[test]
    fn garbage_requests_are_counted() {
        let e = ev(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 166 "-" "-""#,
        );
        assert_eq!(e.method, "");
        assert_eq!(e.path, r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03");
        assert_eq!(e.status, 400);
        assert_eq!(e.outcome, Outcome::Failure);
        let e = ev(r#"10.112.81.15 - - [15/Feb/2013:06:00:31 +0000] "-" 400 0 "-" "-""#);
        assert_eq!(
            (e.method.as_ref(), e.path.as_ref(), e.status),
            ("", "", 400)
        );
        let e = ev(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /old" 200 5"#);
        assert_eq!(
            (e.method.as_ref(), e.path.as_ref(), e.protocol.as_ref()),
            ("GET", "/old", "")
        );
        let e = ev(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a b HTTP/1.1" 200 5"#);
        assert_eq!(e.path, "/a b");
        let e = ev(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "" 408 0 "-" "-""#);
        assert_eq!((e.path.as_ref(), e.status), ("", 408));
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert_eq!(
            err(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTT"#),
            E_REQUEST.reason
        );
        assert_eq!(
            err(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200"#),
            E_BYTES.reason
        );
        assert_eq!(err(r#"1.2.3.4 - - [10/Oct/2000:13:55"#), E_TIME.reason);
        assert_eq!(
            err(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 2x0 1"#),
            E_STATUS.reason
        );
        assert_eq!(
            err(r#"1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#),
            E_TIME.reason
        );
        assert_eq!(
            err(r#"192.168.202.254 [20/Jul/2009:22:59:29 +0000] "GET / HTTP/1.0" 404 1 "-" "x""#),
            E_LAYOUT.reason
        );
        assert_eq!(
            err("Jan  3 09:47:02 veridian sudo: timstack : TTY=pts/6"),
            E_LAYOUT.reason
        );
        assert_eq!(err(r#"{"a":1}"#), E_LAYOUT.reason);
        assert_eq!(AccessLogParser::new().parse("  "), Ok(Parsed::Skip));
    }

    #[test]
    fn cut_off_referrer_or_agent_keeps_the_rest() {
        let e =
            ev(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 200 1 "http://ref"#);
        assert_eq!(
            (e.referrer.as_ref(), e.user_agent.as_ref(), e.path.as_ref()),
            ("http://ref", "", "/x")
        );
        let e = ev(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 200 1 "-" "Mozilla/5.0 (cut"#,
        );
        assert_eq!(
            (e.referrer.as_ref(), e.user_agent.as_ref()),
            ("", "Mozilla/5.0 (cut")
        );
    }

    #[test]
    fn clf_time_with_fraction_and_bounds() {
        assert_eq!(
            parse_clf_time(b"10/Oct/2000:13:55:36.250 -0700"),
            Some((971_211_336_250, 30))
        );
        assert_eq!(parse_clf_time(b"10/Oct/2000:25:55:36 -0700"), None);
        assert_eq!(parse_clf_time(b"10/Oct/2000:13:55:36 0700"), None);
        assert_eq!(parse_clf_time(b"10/Oct/2000:13:55:36"), None);
    }

    #[test]
    fn remembered_clf_time_matches_a_fresh_conversion() {
        let times: [&[u8]; 6] = [
            b"10/Oct/2000:13:55:36 -0700",
            b"10/Oct/2000:13:55:36 -0700",
            b"10/Oct/2000:13:55:36 +0000",
            b"10/Oct/2000:13:55:37 -0700",
            b"10/Oct/2000:13:55:37 -0700\" rest of line",
            b"10/Oct/2000:25:55:37 -0700",
        ];
        for t in times {
            // Twice: the second call is answered from the thread's last time.
            assert_eq!(parse_clf_time(t), convert_clf_time(t), "{t:?}");
            assert_eq!(parse_clf_time(t), convert_clf_time(t), "{t:?}");
        }
        assert_eq!(
            parse_clf_time(b"10/Oct/2000:13:55:36 +0000"),
            Some((971_186_136_000, 26))
        );
        assert_eq!(parse_clf_time(b"10/Oct/2000:25:55:37 -0700"), None);
    }

    #[test]
    fn vhost_port_stripping() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("[::1]:443"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("example.com"), "example.com");
    }
}
