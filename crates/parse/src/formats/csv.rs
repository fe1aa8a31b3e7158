//! CSV logs with a header line naming the columns (RFC 4180 quoting).
//!
//! Columns are mapped to event fields by name with the same aliases the JSON
//! parser uses; unknown columns are ignored. The header comes from the
//! input's first lines when the parser is built and is skipped when it is
//! read again. Fields borrow from the line unless they contain `""`.

use memchr::memchr;

use super::Format;
use super::json::{Slots, Target, Value};
use crate::{LineParser, ParseError, Parsed};

/// Parser for CSV rows under a known header.
#[derive(Debug, Clone)]
pub struct CsvParser {
    /// The header line as read, to recognise it again.
    header: String,
    delimiter: u8,
    /// Per column, the event field it fills.
    columns: Vec<Option<Target>>,
}

const E_NO_HEADER: ParseError = ParseError::new("no CSV header");
const E_NO_COLUMNS: ParseError = ParseError::new("no known columns in CSV header");
const E_COLUMNS: ParseError = ParseError::new("wrong number of CSV columns");
const E_QUOTE: ParseError = ParseError::new("unterminated quoted CSV field");
const E_STRAY: ParseError = ParseError::new("text after closing quote in CSV field");

impl CsvParser {
    /// Take the header from the first non-blank line of `lines`.
    pub fn from_first_lines(lines: &[&str]) -> Self {
        let header = lines
            .iter()
            .map(|l| clean(l))
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let delimiter = pick_delimiter(header);
        let mut columns = Vec::new();
        if !header.is_empty() {
            let mut fields = Fields::new(header, delimiter);
            // A header that does not split cleanly maps nothing.
            while let Some(Ok(v)) = fields.next() {
                columns.push(column_target(&v.text_owned()));
            }
            if fields.failed {
                columns.clear();
            }
        }
        CsvParser {
            header: header.to_owned(),
            delimiter,
            columns,
        }
    }
}

impl LineParser for CsvParser {
    fn format(&self) -> Format {
        Format::Csv
    }

    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let line = clean(line);
        if line.trim_ascii().is_empty() {
            return Ok(Parsed::Skip);
        }
        if self.header.is_empty() {
            return Err(E_NO_HEADER);
        }
        if !self.columns.iter().any(Option::is_some) {
            return Err(E_NO_COLUMNS);
        }
        if line == self.header {
            return Ok(Parsed::Skip);
        }
        let mut slots = Slots::default();
        let mut n = 0;
        for field in Fields::new(line, self.delimiter) {
            let value = field?;
            match self.columns.get(n) {
                Some(Some(target)) => slots.offer(*target, 0, value),
                Some(None) => {}
                None => return Err(E_COLUMNS),
            }
            n += 1;
        }
        if n != self.columns.len() {
            return Err(E_COLUMNS);
        }
        Ok(Parsed::Event(slots.into_event(line)))
    }
}

/// The line without a trailing `\r` or a leading byte-order mark.
fn clean(line: &str) -> &str {
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.strip_prefix('\u{feff}').unwrap_or(line)
}

/// `,` unless the header has more `;` or tabs (outside quotes).
fn pick_delimiter(header: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in header.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    if counts[2] > counts[0] && counts[2] >= counts[1] {
        b'\t'
    } else if counts[1] > counts[0] {
        b';'
    } else {
        b','
    }
}

/// The event field a column name stands for.
fn column_target(name: &str) -> Option<Target> {
    let name = name.trim().to_ascii_lowercase();
    Some(match name.as_str() {
        "timestamp" | "time" | "date" | "datetime" | "@timestamp" | "ts" | "time_local" => {
            Target::Timestamp
        }
        "ip" | "ip_address" | "client_ip" | "source_ip" | "clientip" | "src_ip" | "remote_addr"
        | "remote_ip" | "source.ip" | "client.ip" => Target::SourceIp,
        "user" | "username" | "user_name" | "user.name" | "remote_user" => Target::User,
        "action" | "event.action" => Target::Action,
        "outcome" | "event.outcome" => Target::Outcome,
        "method" | "http_method" | "request_method" | "http.request.method" => Target::Method,
        "path" | "url.path" => Target::Path,
        "url" | "uri" | "request_uri" | "url.original" => Target::Url,
        "request" => Target::Request,
        "query" | "query_string" | "url.query" => Target::Query,
        "protocol" | "http.version" => Target::Protocol,
        "status" | "status_code" | "response_code" | "http.response.status_code" => Target::Status,
        "bytes" | "size" | "body_bytes_sent" | "bytes_sent" | "http.response.body.bytes" => {
            Target::Bytes
        }
        "request_bytes" | "request_length" => Target::RequestBytes,
        "user_agent"
        | "useragent"
        | "user-agent"
        | "agent"
        | "http_user_agent"
        | "user_agent.original" => Target::UserAgent,
        "referrer" | "referer" | "http_referer" | "http.request.referrer" => Target::Referrer,
        "message" | "msg" => Target::Message,
        "host" | "hostname" | "vhost" | "host.name" => Target::Host,
        "program" | "process" | "process.name" => Target::Program,
        _ => return None,
    })
}

/// The fields of one CSV line, borrowed.
struct Fields<'a> {
    line: &'a str,
    delimiter: u8,
    /// Start of the next field; `None` once the last field was returned.
    pos: Option<usize>,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(line: &'a str, delimiter: u8) -> Self {
        Fields {
            line,
            delimiter,
            pos: Some(0),
            failed: false,
        }
    }

    fn field_at(&self, pos: usize) -> Result<(Value<'a>, Option<usize>), ParseError> {
        let b = self.line.as_bytes();
        if b.get(pos) == Some(&b'"') {
            let start = pos + 1;
            let mut i = start;
            loop {
                let q = i + memchr(b'"', b.get(i..).unwrap_or(&[])).ok_or(E_QUOTE)?;
                if b.get(q + 1) == Some(&b'"') {
                    i = q + 2;
                    continue;
                }
                let value = Value::CsvQuoted(self.line.get(start..q).ok_or(E_QUOTE)?);
                return match b.get(q + 1) {
                    None => Ok((value, None)),
                    Some(&c) if c == self.delimiter => Ok((value, Some(q + 2))),
                    Some(_) => Err(E_STRAY),
                };
            }
        }
        let rest = b.get(pos..).unwrap_or(&[]);
        match memchr(self.delimiter, rest) {
            Some(i) => Ok((
                Value::Plain(self.line.get(pos..pos + i).unwrap_or("").trim_ascii()),
                Some(pos + i + 1),
            )),
            None => Ok((
                Value::Plain(self.line.get(pos..).unwrap_or("").trim_ascii()),
                None,
            )),
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Value<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.pos?;
        match self.field_at(pos) {
            Ok((value, next)) => {
                self.pos = next;
                Some(Ok(value))
            }
            Err(e) => {
                self.pos = None;
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl Value<'_> {
    fn text_owned(self) -> String {
        match self {
            Value::CsvQuoted(raw) => raw.replace("\"\"", "\""),
            Value::Json { raw, .. } | Value::Plain(raw) => raw.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_event::{Action, Event, EventKind, Outcome};
    use std::borrow::Cow;

    fn ev<'a>(p: &CsvParser, line: &'a str) -> Event<'a> {
        match p.parse(line) {
            Ok(Parsed::Event(e)) => e,
            other => panic!("expected an event for {line:?}, got {other:?}"),
        }
    }

    const HEADER: &str = "timestamp,ip_address,username,action,path,status,user_agent,extra";

    #[test]
    fn maps_columns_and_skips_header() {
        let p = CsvParser::from_first_lines(&[HEADER, "x"]);
        assert_eq!(p.parse(HEADER), Ok(Parsed::Skip));
        let e = ev(
            &p,
            r#"2024-03-01T12:00:00Z,1.2.3.4,alice,LOGIN_FAILURE,/login,401,"Mozilla/5.0 (X11, Linux)",z"#,
        );
        assert_eq!(e.timestamp_ms, Some(1_709_294_400_000));
        assert_eq!(e.source_ip, Some("1.2.3.4".parse().unwrap()));
        assert_eq!(
            (e.user.as_ref(), e.path.as_ref(), e.status),
            ("alice", "/login", 401)
        );
        assert_eq!(e.user_agent, "Mozilla/5.0 (X11, Linux)");
        assert!(matches!(e.user_agent, Cow::Borrowed(_)));
        assert_eq!(
            (e.kind, e.action, e.outcome),
            (EventKind::App, Action::LoginFailure, Outcome::Failure)
        );
    }

    #[test]
    fn rfc4180_quoting() {
        let p = CsvParser::from_first_lines(&["message,\"user\""]);
        let e = ev(&p, r#""say ""hi""","a, b""#);
        assert_eq!(e.message, r#"say "hi""#);
        assert!(matches!(e.message, Cow::Owned(_)));
        assert_eq!(e.user, "a, b");
        // An empty message column leaves the raw row as the message of a system event.
        let e = ev(&p, r#""",x"#);
        assert_eq!((e.message.as_ref(), e.user.as_ref()), (r#""",x"#, "x"));
        assert_eq!(p.parse(r#""open,x"#), Err(E_QUOTE));
        assert_eq!(p.parse(r#""a"b,x"#), Err(E_STRAY));
        assert_eq!(p.parse("a,b,c"), Err(E_COLUMNS));
        assert_eq!(p.parse("a"), Err(E_COLUMNS));
        let e = ev(&p, "a,");
        assert_eq!((e.message.as_ref(), e.user.as_ref()), ("a", ""));
    }

    #[test]
    fn http_rows_and_request_lines() {
        let p = CsvParser::from_first_lines(&["date;client_ip;request;status;bytes;referer\r"]);
        let e = ev(
            &p,
            "10/Oct/2000:13:55:36 -0700;::1;GET /a?b=1 HTTP/1.1;404;-;-\r",
        );
        assert_eq!(e.timestamp_ms, Some(971_211_336_000));
        assert_eq!(
            (e.method.as_ref(), e.path.as_ref(), e.query.as_ref()),
            ("GET", "/a", "b=1")
        );
        assert_eq!((e.status, e.bytes, e.referrer.as_ref()), (404, 0, ""));
        assert_eq!((e.kind, e.outcome), (EventKind::Http, Outcome::Failure));
        let p = CsvParser::from_first_lines(&["time\turl\tmsg"]);
        let e = ev(&p, "1700000000\t/x?y\thello");
        assert_eq!(
            (e.path.as_ref(), e.query.as_ref(), e.message.as_ref()),
            ("/x", "y", "hello")
        );
        assert_eq!(e.timestamp_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn unknown_or_missing_header() {
        let p = CsvParser::from_first_lines(&["foo,bar"]);
        assert_eq!(p.parse("1,2"), Err(E_NO_COLUMNS));
        let p = CsvParser::from_first_lines(&[]);
        assert_eq!(p.parse("1,2"), Err(E_NO_HEADER));
        assert_eq!(p.parse(""), Ok(Parsed::Skip));
        let p = CsvParser::from_first_lines(&["\"user,ip"]);
        assert_eq!(p.parse("a,b"), Err(E_NO_COLUMNS));
        let p = CsvParser::from_first_lines(&["", "\u{feff}user,ip"]);
        assert_eq!(ev(&p, "bob,10.0.0.1").user, "bob");
        assert_eq!(p.parse("\u{feff}user,ip"), Ok(Parsed::Skip));
    }
}
