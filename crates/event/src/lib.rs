//! The one currency between secmo's stages: a normalised [`Event`] borrowed from
//! the raw line it came from, plus the vocabulary every output shares
//! ([`Severity`], [`Category`], [`EventKind`], [`Action`], [`Field`]).
//!
//! Parsers produce events; nothing after the parsers looks at raw formats.
//! Events borrow from the line buffer so parsing allocates nothing per line;
//! a field is `Cow` only so that a format with escapes (JSON) can unescape.

mod field;
mod time;
mod vocab;

pub use field::Field;
pub use time::{civil_to_unix, format_rfc3339, month_from_abbrev, parse_rfc3339};
pub use vocab::{Action, Category, EventKind, Outcome, Severity};

use std::borrow::Cow;
use std::net::IpAddr;

/// A normalised log event. Empty strings mean "absent" (`-` in access logs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event<'a> {
    /// Milliseconds since the Unix epoch, UTC. `None` when the line had no usable time.
    pub timestamp_ms: Option<i64>,
    pub kind: EventKind,
    pub action: Action,
    pub outcome: Outcome,
    pub source_ip: Option<IpAddr>,
    /// `user.name`: the authenticated or attempted user.
    pub user: Cow<'a, str>,
    /// Virtual host or syslog hostname (`host.name` / `url.domain`).
    pub host: Cow<'a, str>,
    /// Program that logged (`process.name`): sshd, sudo, mysqld, postgres.
    pub program: Cow<'a, str>,
    pub method: Cow<'a, str>,
    /// Request path without the query string, as sent (still percent-encoded).
    pub path: Cow<'a, str>,
    /// Query string without the leading `?`, as sent.
    pub query: Cow<'a, str>,
    pub protocol: Cow<'a, str>,
    /// HTTP status; 0 when absent.
    pub status: u16,
    /// Response size in bytes (`http.response.body.bytes`); 0 when absent.
    pub bytes: u64,
    /// Request body size where the format records it (uploads); 0 when absent.
    pub request_bytes: u64,
    pub referrer: Cow<'a, str>,
    pub user_agent: Cow<'a, str>,
    /// Free text: the syslog message, the database error, the app log message.
    pub message: Cow<'a, str>,
}

impl<'a> Event<'a> {
    /// The value of a field as text, for rule matching. Numeric fields are not
    /// text; use [`Event::number`] for them.
    pub fn text(&self, field: Field) -> &str {
        match field {
            Field::User => &self.user,
            Field::Host => &self.host,
            Field::Program => &self.program,
            Field::Method => &self.method,
            Field::Path => &self.path,
            Field::Query => &self.query,
            Field::Protocol => &self.protocol,
            Field::Referrer => &self.referrer,
            Field::UserAgent => &self.user_agent,
            Field::Message => &self.message,
            Field::Kind => self.kind.as_str(),
            Field::Action => self.action.as_str(),
            Field::Outcome => self.outcome.as_str(),
            Field::SourceIp | Field::Status | Field::Bytes | Field::RequestBytes | Field::Url => "",
        }
    }

    /// The value of a numeric field.
    pub fn number(&self, field: Field) -> Option<u64> {
        match field {
            Field::Status if self.status != 0 => Some(u64::from(self.status)),
            Field::Bytes => Some(self.bytes),
            Field::RequestBytes => Some(self.request_bytes),
            _ => None,
        }
    }

    /// Copy every borrowed field so the event can outlive its line buffer.
    pub fn into_owned(self) -> Event<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        Event {
            timestamp_ms: self.timestamp_ms,
            kind: self.kind,
            action: self.action,
            outcome: self.outcome,
            source_ip: self.source_ip,
            user: own(self.user),
            host: own(self.host),
            program: own(self.program),
            method: own(self.method),
            path: own(self.path),
            query: own(self.query),
            protocol: own(self.protocol),
            status: self.status,
            bytes: self.bytes,
            request_bytes: self.request_bytes,
            referrer: own(self.referrer),
            user_agent: own(self.user_agent),
            message: own(self.message),
        }
    }
}

/// Where an event came from: the input's index in the run and the 1-based line number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Origin {
    pub input: u32,
    pub line: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_number_fields() {
        let ev = Event {
            kind: EventKind::Http,
            method: "GET".into(),
            path: "/index.html".into(),
            status: 404,
            bytes: 12,
            ..Event::default()
        };
        assert_eq!(ev.text(Field::Method), "GET");
        assert_eq!(ev.text(Field::Kind), "http");
        assert_eq!(ev.number(Field::Status), Some(404));
        assert_eq!(ev.number(Field::Bytes), Some(12));
        assert_eq!(Event::default().number(Field::Status), None);
        let owned = ev.clone().into_owned();
        assert_eq!(owned, ev);
    }
}
