//! JSON-lines logs: the application log shape by default, and any object
//! whose keys a [`JsonMapping`] names (ECS, nginx/caddy JSON access logs,
//! bunyan, pino, ...).
//!
//! A small scanner walks the object once without building a tree: each leaf
//! value is looked up by its dotted path (`request.headers.User-Agent`), and
//! string values borrow from the line unless they contain escapes. The event
//! assembly ([`Slots`]) is shared with the CSV parser.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use memchr::{memchr, memchr2};
use secmo_event::{Action, Event, EventKind, Field, Outcome, parse_rfc3339};

use super::Format;
use super::access::{outcome_for_status, parse_clf_time, split_request, split_target};
use crate::{LineParser, ParseError, Parsed};

/// What a mapped value fills in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Timestamp,
    SourceIp,
    User,
    Host,
    Program,
    Method,
    /// Path only (`url.path`); a `?` in it still splits off the query.
    Path,
    Query,
    /// Path and query together (`url.original`, `request.uri`).
    Url,
    /// A whole request line `GET /x HTTP/1.1` (nginx `$request`), or a bare target.
    Request,
    Protocol,
    Status,
    Bytes,
    RequestBytes,
    Referrer,
    UserAgent,
    Message,
    Action,
    Outcome,
}

const TARGETS: usize = 19;

impl Target {
    /// A user-facing field name (as `--json-field NAME=keys` takes it).
    fn from_name(name: &str) -> Option<Target> {
        Some(match name {
            "timestamp" | "time" | "@timestamp" | "ts" => Target::Timestamp,
            "request_line" => Target::Request,
            "url" | "url.original" | "uri" => Target::Url,
            "message" | "msg" => Target::Message,
            _ => match Field::parse(name)? {
                Field::SourceIp => Target::SourceIp,
                Field::User => Target::User,
                Field::Host => Target::Host,
                Field::Program => Target::Program,
                Field::Method => Target::Method,
                Field::Path => Target::Path,
                Field::Query => Target::Query,
                Field::Url => Target::Url,
                Field::Protocol => Target::Protocol,
                Field::Status => Target::Status,
                Field::Bytes => Target::Bytes,
                Field::RequestBytes => Target::RequestBytes,
                Field::Referrer => Target::Referrer,
                Field::UserAgent => Target::UserAgent,
                Field::Message => Target::Message,
                Field::Action => Target::Action,
                Field::Outcome => Target::Outcome,
                Field::Kind => return None,
            },
        })
    }
}

/// Default keys per target, most specific first. Dotted paths match nested
/// objects and keys that contain dots alike (`log.level` / `{"log":{"level":..}}`).
const DEFAULT_KEYS: &[(Target, &[&str])] = &[
    (
        Target::Timestamp,
        &[
            "timestamp",
            "@timestamp",
            "time",
            "ts",
            "date",
            "datetime",
            "time_local",
            "time_iso8601",
            "EdgeStartTimestamp",
            "started_at",
            "timeUnixNano",
            "resourceLogs.scopeLogs.logRecords.timeUnixNano",
            "t.$date",
            "instant.epochSecond",
        ],
    ),
    (
        Target::SourceIp,
        &[
            "ip_address",
            "source.ip",
            "client.ip",
            "client_ip",
            "request.client_ip",
            "request.remote_ip",
            "remote_addr",
            "remote_ip",
            "remoteAddr",
            "ClientIP",
            "clientip",
            "ip",
            "http_x_forwarded_for",
        ],
    ),
    (
        Target::User,
        &[
            "username",
            "user.name",
            "user",
            "remote_user",
            "user_name",
            "userName",
            "user_id",
        ],
    ),
    (
        Target::Host,
        &[
            "host.name",
            "hostname",
            "request.host",
            "server_name",
            "ClientRequestHost",
            "vhost",
            "host",
        ],
    ),
    (
        Target::Program,
        &["process.name", "program", "app", "service.name", "name"],
    ),
    (
        Target::Method,
        &[
            "http.request.method",
            "request.method",
            "method",
            "request_method",
            "ClientRequestMethod",
            "httpMethod",
        ],
    ),
    (Target::Path, &["url.path", "path", "request_path"]),
    (
        Target::Query,
        &["url.query", "query_string", "query", "args", "querystring"],
    ),
    (
        Target::Url,
        &[
            "url.original",
            "url.full",
            "request.uri",
            "request_uri",
            "uri",
            "url",
            "ClientRequestURI",
        ],
    ),
    (Target::Request, &["request"]),
    (
        Target::Protocol,
        &[
            "http.version",
            "request.proto",
            "protocol",
            "server_protocol",
            "ClientRequestProtocol",
        ],
    ),
    (
        Target::Status,
        &[
            "http.response.status_code",
            "status",
            "response.status",
            "status_code",
            "statusCode",
            "response_code",
            "EdgeResponseStatus",
        ],
    ),
    (
        Target::Bytes,
        &[
            "http.response.body.bytes",
            "bytes",
            "body_bytes_sent",
            "bytes_sent",
            "response.size",
            "size",
            "response_size",
            "EdgeResponseBytes",
        ],
    ),
    (
        Target::RequestBytes,
        &[
            "http.request.body.bytes",
            "request_bytes",
            "request_length",
            "bytes_read",
            "request.size",
            "bytes_in",
        ],
    ),
    (
        Target::Referrer,
        &[
            "http.request.referrer",
            "referrer",
            "referer",
            "http_referer",
            "request.headers.Referer",
            "request.headers.referer",
            "ClientRequestReferer",
        ],
    ),
    (
        Target::UserAgent,
        &[
            "user_agent.original",
            "user_agent",
            "http_user_agent",
            "userAgent",
            "request.headers.User-Agent",
            "request.headers.user-agent",
            "ClientRequestUserAgent",
            "agent",
        ],
    ),
    (
        Target::Message,
        &[
            "message",
            "msg",
            "@message",
            "@fields.msg",
            "body.stringValue",
            "resourceLogs.scopeLogs.logRecords.body.stringValue",
            "error",
            "log",
        ],
    ),
    (Target::Action, &["action", "event.action"]),
    (Target::Outcome, &["event.outcome", "outcome"]),
];

/// Which JSON keys hold which event fields: per field, candidate keys in
/// priority order. Build with [`JsonMapping::default`] and adjust with
/// [`JsonMapping::with_override`] / [`JsonMapping::with_spec`].
#[derive(Debug, Clone)]
pub struct JsonMapping {
    keys: Vec<(Target, Vec<String>)>,
}

impl Default for JsonMapping {
    fn default() -> Self {
        JsonMapping {
            keys: DEFAULT_KEYS
                .iter()
                .map(|(t, keys)| (*t, keys.iter().map(|k| (*k).to_owned()).collect()))
                .collect(),
        }
    }
}

/// A bad `--json-field` override.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "unknown event field `{0}` (try user, ip, timestamp, method, path, url, status, bytes, user_agent, message, action)"
    )]
    UnknownField(String),
    #[error("expected FIELD=KEY[,KEY...], got `{0}`")]
    NotAnAssignment(String),
}

impl JsonMapping {
    /// Put `keys` (comma-separated dotted paths) first for `field`; the
    /// defaults stay as fallbacks. An empty `keys` stops the field being mapped.
    /// `field` is an event field name: an ECS name or a short alias
    /// (`user`, `ip`, `timestamp`, `url`, `request_line`, ...).
    pub fn with_override(mut self, field: &str, keys: &str) -> Result<Self, MappingError> {
        let target = Target::from_name(field.trim())
            .ok_or_else(|| MappingError::UnknownField(field.to_owned()))?;
        let new: Vec<String> = keys
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        let slot = match self.keys.iter_mut().find(|(t, _)| *t == target) {
            Some((_, v)) => v,
            None => {
                self.keys.push((target, Vec::new()));
                let last = self.keys.len() - 1;
                &mut self.keys[last].1
            }
        };
        if new.is_empty() {
            slot.clear();
        } else {
            slot.retain(|k| !new.contains(k));
            slot.splice(0..0, new);
        }
        Ok(self)
    }

    /// Apply one `FIELD=KEY[,KEY...]` override (the CLI's `--json-field`).
    pub fn with_spec(self, spec: &str) -> Result<Self, MappingError> {
        let (field, keys) = spec
            .split_once('=')
            .ok_or_else(|| MappingError::NotAnAssignment(spec.to_owned()))?;
        self.with_override(field, keys)
    }

    /// The candidate keys for `field`, in priority order (`None` for an unknown field name).
    pub fn keys(&self, field: &str) -> Option<&[String]> {
        let target = Target::from_name(field)?;
        Some(
            self.keys
                .iter()
                .find(|(t, _)| *t == target)
                .map_or(&[], |(_, v)| v.as_slice()),
        )
    }
}

/// Longest dotted key path looked up; deeper leaves are still scanned, not mapped.
const MAX_PATH: usize = 192;
/// Nesting limit, so hostile input cannot exhaust the stack.
const MAX_DEPTH: u32 = 64;

/// A key path the mapping looks for, and what its value fills.
#[derive(Debug, Clone)]
struct MappedKey {
    path: Box<[u8]>,
    target: Target,
    /// Position in the target's candidate list: lower wins.
    prio: u8,
}

/// Parser for one JSON object per line.
#[derive(Debug)]
pub struct JsonLineParser {
    /// Mapped key paths grouped by byte length, so a leaf is compared only
    /// with the few keys of its own length.
    by_len: Vec<Vec<MappedKey>>,
}

impl JsonLineParser {
    pub fn new(mapping: JsonMapping) -> Self {
        let mut by_len: Vec<Vec<MappedKey>> = vec![Vec::new(); MAX_PATH + 1];
        for (target, keys) in &mapping.keys {
            for (prio, key) in keys.iter().enumerate() {
                if let Some(bucket) = by_len.get_mut(key.len()) {
                    let prio = u8::try_from(prio).unwrap_or(u8::MAX);
                    bucket.push(MappedKey {
                        path: key.as_bytes().into(),
                        target: *target,
                        prio,
                    });
                }
            }
        }
        JsonLineParser { by_len }
    }
}

impl LineParser for JsonLineParser {
    fn format(&self) -> Format {
        Format::Json
    }

    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return Ok(Parsed::Skip);
        }
        let object = strip_compose_prefix(trimmed).ok_or(E_NOT_OBJECT)?;
        let mut scan = Scanner {
            s: object,
            pos: 0,
            parser: self,
            slots: Slots::default(),
            path: [0; MAX_PATH],
        };
        scan.skip_ws();
        scan.value(0, 0, true)?;
        scan.skip_ws();
        if scan.pos != object.len() {
            return Err(E_TRAILING);
        }
        Ok(Parsed::Event(scan.slots.into_event(trimmed)))
    }
}

const E_NOT_OBJECT: ParseError = ParseError::new("not a JSON object");
const E_SYNTAX: ParseError = ParseError::new("malformed JSON");
const E_TRAILING: ParseError = ParseError::new("trailing data after JSON object");
const E_DEPTH: ParseError = ParseError::new("JSON nested too deep");

/// The object of a line: `{...}` itself, or after a docker compose
/// `service  | ` prefix. `None` when the line does not hold an object.
fn strip_compose_prefix(line: &str) -> Option<&str> {
    if line.starts_with('{') {
        return Some(line);
    }
    let b = line.as_bytes();
    let bar = memchr(b'|', &b[..b.len().min(64)])?;
    let name = line.get(..bar)?.trim_end();
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return None;
    }
    let rest = line.get(bar + 1..)?.trim_start();
    rest.starts_with('{').then_some(rest)
}

struct Scanner<'a, 'p> {
    s: &'a str,
    pos: usize,
    parser: &'p JsonLineParser,
    slots: Slots<'a>,
    /// The dotted path of the value being scanned; `path_len` of it is valid.
    path: [u8; MAX_PATH],
}

impl<'a> Scanner<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(E_SYNTAX)
        }
    }

    /// Scan one value at `pos`. `path_len` is the length of its key path in
    /// `self.path` (`usize::MAX` when too long to map); `map` is false for
    /// array elements after the first, which are checked but not used.
    fn value(&mut self, path_len: usize, depth: u32, map: bool) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            return Err(E_DEPTH);
        }
        match self.peek() {
            Some(b'{') => self.object(path_len, depth, map),
            Some(b'[') => self.array(path_len, depth, map),
            Some(b'"') => {
                let (raw, escaped) = self.string()?;
                if map {
                    self.offer(path_len, Value::Json { raw, escaped });
                }
                Ok(())
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.pos += 1;
                }
                let num = self.s.get(start..self.pos).ok_or(E_SYNTAX)?;
                if map {
                    self.offer(path_len, Value::Plain(num));
                }
                Ok(())
            }
            _ => Err(E_SYNTAX),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), ParseError> {
        if self.s.get(self.pos..).is_some_and(|r| r.starts_with(word)) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(E_SYNTAX)
        }
    }

    fn object(&mut self, path_len: usize, depth: u32, map: bool) -> Result<(), ParseError> {
        self.pos += 1; // `{`
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(E_SYNTAX);
            }
            let (key, _) = self.string()?;
            let child_len = self.push_key(path_len, key);
            self.expect(b':')?;
            self.skip_ws();
            self.value(child_len, depth + 1, map)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(E_SYNTAX),
            }
        }
    }

    fn array(&mut self, path_len: usize, depth: u32, map: bool) -> Result<(), ParseError> {
        self.pos += 1; // `[`
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut first = true;
        loop {
            self.skip_ws();
            self.value(path_len, depth + 1, map && first)?;
            first = false;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(E_SYNTAX),
            }
        }
    }

    /// Append `.key` to the path of the parent (length `parent`); the child's length.
    fn push_key(&mut self, parent: usize, key: &str) -> usize {
        let sep = usize::from(parent > 0);
        let Some(len) = parent
            .checked_add(sep + key.len())
            .filter(|&l| l <= MAX_PATH)
        else {
            return usize::MAX;
        };
        if sep == 1 {
            self.path[parent] = b'.';
        }
        self.path[parent + sep..len].copy_from_slice(key.as_bytes());
        len
    }

    /// A string at `pos` (on its opening quote): the raw text between the
    /// quotes and whether it holds escapes.
    fn string(&mut self) -> Result<(&'a str, bool), ParseError> {
        let b = self.s.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let rest = b.get(i..).ok_or(E_SYNTAX)?;
            let k = i + memchr2(b'"', b'\\', rest).ok_or(E_SYNTAX)?;
            if b[k] == b'"' {
                self.pos = k + 1;
                return Ok((self.s.get(start..k).ok_or(E_SYNTAX)?, escaped));
            }
            escaped = true;
            i = k + 2;
        }
    }

    fn offer(&mut self, path_len: usize, value: Value<'a>) {
        let Some(key) = self.path.get(..path_len) else {
            return;
        };
        let Some(bucket) = self.parser.by_len.get(path_len) else {
            return;
        };
        for k in bucket {
            if k.path.as_ref() == key {
                self.slots.offer(k.target, k.prio, value);
            }
        }
    }
}

/// A mapped value as found in the line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// A JSON string's raw contents; `escaped` when it holds `\` escapes.
    Json { raw: &'a str, escaped: bool },
    /// Text used as is (a JSON number, a CSV field without quotes).
    Plain(&'a str),
    /// A quoted CSV field's contents, with `""` standing for `"`.
    CsvQuoted(&'a str),
}

impl<'a> Value<'a> {
    fn text(self) -> Cow<'a, str> {
        match self {
            Value::Json {
                raw,
                escaped: false,
            }
            | Value::Plain(raw) => Cow::Borrowed(raw),
            Value::Json { raw, escaped: true } => Cow::Owned(unescape_json(raw)),
            Value::CsvQuoted(raw) if raw.contains("\"\"") => Cow::Owned(raw.replace("\"\"", "\"")),
            Value::CsvQuoted(raw) => Cow::Borrowed(raw),
        }
    }

    /// The text without allocating, for fields that are parsed further
    /// (numbers, addresses, times), where escapes do not occur in valid values.
    fn raw(self) -> &'a str {
        match self {
            Value::Json { raw, .. } | Value::Plain(raw) | Value::CsvQuoted(raw) => raw.trim_ascii(),
        }
    }
}

/// Decode JSON string escapes. Bad escapes and lone surrogates become U+FFFD.
fn unescape_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hi = hex4(&mut chars);
                let code = match hi {
                    Some(h @ 0xD800..=0xDBFF) => {
                        let mut look = chars.clone();
                        let lo = (look.next() == Some('\\') && look.next() == Some('u'))
                            .then(|| hex4(&mut look))
                            .flatten()
                            .filter(|l| (0xDC00..=0xDFFF).contains(l));
                        match lo {
                            Some(l) => {
                                chars = look;
                                Some(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00))
                            }
                            None => None,
                        }
                    }
                    other => other,
                };
                out.push(code.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

/// The best value seen so far for each target, and how the event is built
/// from them (shared by the JSON and CSV parsers).
#[derive(Default)]
pub(crate) struct Slots<'a> {
    vals: [Option<(u8, Value<'a>)>; TARGETS],
}

impl<'a> Slots<'a> {
    /// Keep `value` for `target` if nothing of higher priority (lower number) is there.
    /// Empty, `-` and `--` values are absent and never displace anything.
    pub(crate) fn offer(&mut self, target: Target, prio: u8, value: Value<'a>) {
        if is_absent(value.raw()) {
            return;
        }
        let slot = &mut self.vals[target as usize];
        if slot.is_none_or(|(p, _)| prio < p) {
            *slot = Some((prio, value));
        }
    }

    fn get(&self, target: Target) -> Option<Value<'a>> {
        self.vals[target as usize].map(|(_, v)| v)
    }

    fn text(&self, target: Target) -> Cow<'a, str> {
        self.get(target).map_or(Cow::Borrowed(""), Value::text)
    }

    /// Build the event. `raw_line` becomes the message of an event that has
    /// neither a message nor HTTP/app fields, so nothing in it goes unseen.
    pub(crate) fn into_event(self, raw_line: &'a str) -> Event<'a> {
        let mut ev = Event {
            timestamp_ms: self
                .get(Target::Timestamp)
                .and_then(|v| parse_time(v.raw())),
            source_ip: self.get(Target::SourceIp).and_then(|v| parse_ip(v.raw())),
            user: self.text(Target::User),
            host: self.text(Target::Host),
            program: self.text(Target::Program),
            method: self.text(Target::Method),
            protocol: self.text(Target::Protocol),
            status: self
                .get(Target::Status)
                .and_then(|v| parse_number(v.raw()))
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(0),
            bytes: self
                .get(Target::Bytes)
                .and_then(|v| parse_number(v.raw()))
                .unwrap_or(0),
            request_bytes: self
                .get(Target::RequestBytes)
                .and_then(|v| parse_number(v.raw()))
                .unwrap_or(0),
            referrer: self.text(Target::Referrer),
            user_agent: self.text(Target::UserAgent),
            message: self.text(Target::Message),
            ..Event::default()
        };

        if let Some(path) = self.get(Target::Path) {
            let (p, q) = split_cow(path.text(), split_target);
            ev.path = p;
            ev.query = if self.get(Target::Query).is_some() {
                self.text(Target::Query)
            } else {
                q
            };
        } else if let Some(url) = self.get(Target::Url) {
            (ev.path, ev.query) = split_cow(url.text(), split_target);
        } else if let Some(req) = self.get(Target::Request) {
            let parts = split_request_cow(req.text());
            if ev.method.is_empty() {
                ev.method = parts.0;
            }
            if ev.protocol.is_empty() {
                ev.protocol = parts.3;
            }
            (ev.path, ev.query) = (parts.1, parts.2);
        }
        if ev.query.is_empty() && self.get(Target::Query).is_some() {
            ev.query = self.text(Target::Query);
        }

        let action = self.get(Target::Action).and_then(|v| app_action(v.raw()));
        let outcome = self
            .get(Target::Outcome)
            .and_then(|v| Outcome::parse(v.raw()));
        if let Some(action) = action {
            ev.kind = EventKind::App;
            ev.action = action;
            ev.outcome = match action {
                Action::LoginSuccess => Outcome::Success,
                Action::LoginFailure
                | Action::InvalidUser
                | Action::TooManyFailures
                | Action::QueryError => Outcome::Failure,
                _ if ev.status != 0 => outcome_for_status(ev.status),
                _ => Outcome::Success,
            };
        } else if !ev.method.is_empty() || !ev.path.is_empty() || ev.status != 0 {
            ev.kind = EventKind::Http;
            ev.action = Action::Request;
            ev.outcome = outcome_for_status(ev.status);
        } else {
            ev.kind = EventKind::System;
            if ev.message.is_empty() {
                ev.message = Cow::Borrowed(raw_line);
            }
        }
        if let Some(o) = outcome {
            ev.outcome = o;
        }
        ev
    }
}

fn is_absent(s: &str) -> bool {
    matches!(s, "" | "-" | "--")
}

/// The application action `s` names, in any case and with `_`, `-` or no
/// separator (`LOGIN_FAILURE`, `login-failure`, `loginFailure`). `none` and
/// `request` are not application actions.
fn app_action(s: &str) -> Option<Action> {
    fn letters(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|c| !matches!(c, b'_' | b'-'))
            .map(|c| c.to_ascii_lowercase())
    }
    Action::ALL
        .iter()
        .copied()
        .filter(|a| !matches!(a, Action::None | Action::Request))
        .find(|a| letters(a.as_str()).eq(letters(s)))
}

/// Apply a borrowed splitter to a `Cow`, copying the parts only when the
/// input was already owned (unescaped).
fn split_cow<'a>(c: Cow<'a, str>, f: fn(&str) -> (&str, &str)) -> (Cow<'a, str>, Cow<'a, str>) {
    match c {
        Cow::Borrowed(s) => {
            let (a, b) = f(s);
            (Cow::Borrowed(a), Cow::Borrowed(b))
        }
        Cow::Owned(s) => {
            let (a, b) = f(&s);
            (Cow::Owned(a.to_owned()), Cow::Owned(b.to_owned()))
        }
    }
}

type RequestCows<'a> = (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>, Cow<'a, str>);

fn split_request_cow(c: Cow<'_, str>) -> RequestCows<'_> {
    match c {
        Cow::Borrowed(s) => {
            let r = split_request(s);
            (
                r.method.into(),
                r.path.into(),
                r.query.into(),
                r.protocol.into(),
            )
        }
        Cow::Owned(s) => {
            let r = split_request(&s);
            (
                r.method.to_owned().into(),
                r.path.to_owned().into(),
                r.query.to_owned().into(),
                r.protocol.to_owned().into(),
            )
        }
    }
}

/// A decimal count, also as a JSON float with no fraction (`200.0`) or a numeric string.
fn parse_number(s: &str) -> Option<u64> {
    let int = s.strip_suffix(".0").unwrap_or(s);
    if int.is_empty() || int.len() > 19 || !int.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

/// An address, also as `ip:port`, `[v6]:port` or the first of an `X-Forwarded-For` list.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.split(',').next().unwrap_or(s).trim_ascii();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// RFC 3339, CLF (`10/Oct/2000:13:55:36 -0700`) or epoch seconds / ms / µs / ns
/// (told apart by magnitude), as a string or a number.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    if let Some((ms, _)) = parse_rfc3339(s) {
        return Some(ms);
    }
    if let Some((ms, _)) = parse_clf_time(s.as_bytes()) {
        return Some(ms);
    }
    parse_epoch(s)
}

/// Latest time accepted: the end of year 9999, like the civil-time helpers.
const MAX_MS: i64 = 253_402_300_799_999;

fn parse_epoch(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || int.len() > 20 || !int.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = int.parse().ok()?;
    let ms = if n >= 100_000_000_000_000_000 {
        n / 1_000_000
    } else if n >= 100_000_000_000_000 {
        n / 1_000
    } else if n >= 100_000_000_000 {
        n
    } else {
        let mut frac_ms = 0;
        for (i, c) in frac.bytes().take(3).enumerate() {
            frac_ms += u64::from(c - b'0') * [100, 10, 1][i];
        }
        n * 1000 + frac_ms
    };
    i64::try_from(ms).ok().filter(|&ms| ms <= MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> Event<'_> {
        ev_with(JsonMapping::default(), line)
    }

    fn ev_with(mapping: JsonMapping, line: &str) -> Event<'_> {
        match JsonLineParser::new(mapping).parse(line) {
            Ok(Parsed::Event(e)) => e,
            other => panic!("expected an event for {line:?}, got {other:?}"),
        }
    }

    fn err(line: &str) -> &'static str {
        match JsonLineParser::new(JsonMapping::default()).parse(line) {
            Err(e) => e.reason,
            other => panic!("expected an error for {line:?}, got {other:?}"),
        }
    }

    #[test]
    fn application_log() {
        let e = ev(
            r#"{"timestamp":"2024-03-01T12:00:00Z","ip_address":"1.2.3.4","username":"alice","action":"LOGIN_FAILURE"}"#,
        );
        assert_eq!(e.timestamp_ms, Some(1_709_294_400_000));
        assert_eq!(e.source_ip, Some("1.2.3.4".parse().unwrap()));
        assert_eq!(e.user, "alice");
        assert!(matches!(e.user, Cow::Borrowed(_)));
        assert_eq!(
            (e.kind, e.action, e.outcome),
            (EventKind::App, Action::LoginFailure, Outcome::Failure)
        );
        for (name, action, outcome) in [
            ("LOGIN_SUCCESS", Action::LoginSuccess, Outcome::Success),
            ("LOGOUT", Action::Logout, Outcome::Success),
            ("PAGE_VISIT", Action::PageVisit, Outcome::Success),
            ("API_REQUEST", Action::ApiRequest, Outcome::Success),
        ] {
            let line = format!(
                r#"{{"timestamp":"2024-03-01T12:00:00Z","ip_address":"1.2.3.4","username":"bob","action":"{name}","path":"/api/x","status":200,"user_agent":"curl/8","details":{{"k":[1,2]}}}}"#
            );
            let e = ev(&line).into_owned();
            assert_eq!(
                (e.kind, e.action, e.outcome),
                (EventKind::App, action, outcome),
                "{name}"
            );
            assert_eq!(
                (e.path.as_ref(), e.status, e.user_agent.as_ref()),
                ("/api/x", 200, "curl/8")
            );
        }
    }

    #[test]
    fn ecs_http() {
        let e = ev(
            r#"{"@timestamp":"2024-03-01T12:00:00.250Z","source":{"ip":"2001:db8::7"},"user":{"name":"eve"},"url":{"original":"/a/b?id=1'--","path":"/a/b"},"http":{"request":{"method":"POST"},"response":{"status_code":403}},"user_agent":{"original":"sqlmap/1.7"},"message":"blocked"}"#,
        );
        assert_eq!(e.timestamp_ms, Some(1_709_294_400_250));
        assert_eq!(e.source_ip, Some("2001:db8::7".parse().unwrap()));
        assert_eq!(
            (e.user.as_ref(), e.method.as_ref(), e.path.as_ref()),
            ("eve", "POST", "/a/b")
        );
        assert_eq!(e.status, 403);
        assert_eq!(e.user_agent, "sqlmap/1.7");
        assert_eq!(e.message, "blocked");
        assert_eq!(
            (e.kind, e.action, e.outcome),
            (EventKind::Http, Action::Request, Outcome::Failure)
        );
        // Literal dotted keys match the same paths.
        let e = ev(
            r#"{"@timestamp":"2025-01-13T09:58:13.631Z","log.level":"debug","client.ip":"10.0.0.1","url.original":"/x?q=1"}"#,
        );
        assert_eq!((e.path.as_ref(), e.query.as_ref()), ("/x", "q=1"));
        assert_eq!(e.source_ip, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn nginx_json_access_log() {
        let e = ev(
            r#"{"time_local":"10/Oct/2000:13:55:36 -0700","remote_addr":"9.9.9.9","remote_user":"-","request":"GET /search?q=%27 HTTP/1.1","status":"404","body_bytes_sent":"12","http_referer":"-","http_user_agent":"Mozilla/5.0"}"#,
        );
        assert_eq!(e.timestamp_ms, Some(971_211_336_000));
        assert_eq!(
            (e.method.as_ref(), e.path.as_ref(), e.query.as_ref()),
            ("GET", "/search", "q=%27")
        );
        assert_eq!(
            (e.protocol.as_ref(), e.status, e.bytes),
            ("HTTP/1.1", 404, 12)
        );
        assert_eq!((e.user.as_ref(), e.referrer.as_ref()), ("", ""));
        assert_eq!(e.kind, EventKind::Http);
    }

    #[test]
    fn caddy_access_log() {
        let line = r#"caddy  | {"level":"info","ts":1761019828.6153953,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"172.19.0.1","remote_port":"46628","client_ip":"172.19.0.2","proto":"HTTP/1.1","method":"GET","host":"localhost","uri":"/p?x=1","headers":{"User-Agent":["Mozilla/5.0 (X11)","second"],"If-None-Match":["\"ddnp8sh5vg3i58\""]}},"bytes_read":0,"user_id":"","duration":0.001674508,"size":10,"status":304}"#;
        let e = ev(line);
        assert_eq!(e.timestamp_ms, Some(1_761_019_828_615));
        assert_eq!(e.source_ip, Some("172.19.0.2".parse().unwrap()));
        assert_eq!(
            (e.method.as_ref(), e.path.as_ref(), e.query.as_ref()),
            ("GET", "/p", "x=1")
        );
        assert_eq!(
            (e.user_agent.as_ref(), e.host.as_ref()),
            ("Mozilla/5.0 (X11)", "localhost")
        );
        assert_eq!(
            (e.status, e.bytes, e.protocol.as_ref()),
            (304, 10, "HTTP/1.1")
        );
        assert_eq!(e.kind, EventKind::Http);
    }

    #[test]
    fn bunyan_and_pino() {
        let e = ev(
            r#"{"name":"renovate","hostname":"renovate-1","pid":7,"level":20,"msg":"Found npm package files","time":"2023-03-24T14:26:16.243Z","v":0}"#,
        );
        assert_eq!(
            (e.kind, e.message.as_ref(), e.host.as_ref()),
            (EventKind::System, "Found npm package files", "renovate-1")
        );
        assert_eq!(e.program, "renovate");
        assert_eq!(e.timestamp_ms, Some(1_679_667_976_243));
        let e = ev(
            r#"{"level":"info","time":1745532517537,"pid":17,"hostname":"7d82","msg":"Charge request received."}"#,
        );
        assert_eq!(e.timestamp_ms, Some(1_745_532_517_537));
        assert_eq!(e.message, "Charge request received.");
    }

    #[test]
    fn escapes_are_decoded() {
        let e = ev(r#"{"msg":"say \"hi\" \u0041\u00e9 \ud83d\ude00 \/x\\y\n","user":"a\tb"}"#);
        assert_eq!(e.message, "say \"hi\" A\u{e9} \u{1F600} /x\\y\n");
        assert!(matches!(e.message, Cow::Owned(_)));
        assert_eq!(e.user, "a\tb");
        let e = ev(r#"{"msg":"lone \ud83d and bad \q"}"#);
        assert_eq!(e.message, "lone \u{FFFD} and bad \u{FFFD}");
        let e = ev(r#"{"request":{"method":"GET","uri":"\/example\/uri\/5?a=b"}}"#);
        assert_eq!(
            (e.path.as_ref(), e.query.as_ref()),
            ("/example/uri/5", "a=b")
        );
    }

    #[test]
    fn unknown_objects_are_system_events() {
        let line = r#"{"foo":1,"bar":[true,false,null],"baz":{}}"#;
        let e = ev(line);
        assert_eq!((e.kind, e.message.as_ref()), (EventKind::System, line));
        assert_eq!(e.action, Action::None);
    }

    #[test]
    fn errors() {
        assert_eq!(err("not json"), E_NOT_OBJECT.reason);
        assert_eq!(err("[1,2]"), E_NOT_OBJECT.reason);
        assert_eq!(err("\"str\""), E_NOT_OBJECT.reason);
        assert_eq!(err(r#"{"a":"#), E_SYNTAX.reason);
        assert_eq!(err(r#"{"a":"unterminated}"#), E_SYNTAX.reason);
        assert_eq!(err(r#"{"a":1} extra"#), E_TRAILING.reason);
        assert_eq!(err(r#"{"a":tru}"#), E_SYNTAX.reason);
        assert_eq!(err(r#"{a:1}"#), E_SYNTAX.reason);
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(err(&deep), E_DEPTH.reason);
        assert_eq!(err("web-1  |  * Serving Flask app"), E_NOT_OBJECT.reason);
        assert_eq!(
            JsonLineParser::new(JsonMapping::default()).parse(" \t"),
            Ok(Parsed::Skip)
        );
    }

    #[test]
    fn overrides() {
        let m = JsonMapping::default()
            .with_override("user", "account.login")
            .unwrap();
        assert_eq!(m.keys("user").unwrap()[0], "account.login");
        let e = ev_with(m.clone(), r#"{"username":"x","account":{"login":"root"}}"#);
        assert_eq!(e.user, "root");
        // Defaults remain as fallbacks.
        assert_eq!(ev_with(m, r#"{"username":"x"}"#).user, "x");
        let m = JsonMapping::default()
            .with_spec("ip=peer.addr,peer2")
            .unwrap()
            .with_spec("user=")
            .unwrap();
        let e = ev_with(
            m,
            r#"{"peer":{"addr":"1.1.1.1:443"},"username":"x","msg":"m"}"#,
        );
        assert_eq!(e.source_ip, Some("1.1.1.1".parse().unwrap()));
        assert_eq!(e.user, "");
        assert_eq!(
            JsonMapping::default()
                .with_override("nonsense", "a")
                .unwrap_err(),
            MappingError::UnknownField("nonsense".into())
        );
        assert!(matches!(
            JsonMapping::default().with_spec("user"),
            Err(MappingError::NotAnAssignment(_))
        ));
        assert!(JsonMapping::default().with_override("kind", "a").is_err());
    }

    #[test]
    fn action_spellings() {
        assert_eq!(app_action("LOGIN_FAILURE"), Some(Action::LoginFailure));
        assert_eq!(app_action("login-success"), Some(Action::LoginSuccess));
        assert_eq!(app_action("pageVisit"), Some(Action::PageVisit));
        assert_eq!(app_action("request"), None);
        assert_eq!(app_action("none"), None);
        assert_eq!(app_action("LOGIN"), None);
    }

    #[test]
    fn times_and_numbers() {
        assert_eq!(parse_time("1761019822.3152757"), Some(1_761_019_822_315));
        assert_eq!(parse_time("1700000000000000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time("1700000000000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time("1490386367764.0"), Some(1_490_386_367_764));
        assert_eq!(
            parse_time("2023-10-01T02:39:09+00:00"),
            Some(1_696_127_949_000)
        );
        assert_eq!(parse_time("-5"), None);
        assert_eq!(parse_time("99999999999999999999"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_number("200"), Some(200));
        assert_eq!(parse_number("200.0"), Some(200));
        assert_eq!(parse_number("2e2"), None);
        assert_eq!(
            parse_ip("1.2.3.4, 10.0.0.1"),
            Some("1.2.3.4".parse().unwrap())
        );
        assert_eq!(parse_ip("[::1]:80"), Some("::1".parse().unwrap()));
        assert_eq!(parse_ip("host"), None);
    }

    #[test]
    fn long_paths_do_not_map_or_panic() {
        let key = "k".repeat(MAX_PATH + 10);
        let line = format!(r#"{{"{key}":{{"msg":"x"}},"msg":"top"}}"#);
        let e = ev(&line);
        assert_eq!(e.message, "top");
    }
}
