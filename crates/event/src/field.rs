//! Event fields by their Elastic Common Schema names, as rules and JSON output use them.

/// A field of [`crate::Event`] addressable from rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    SourceIp,
    User,
    Host,
    Program,
    Method,
    Path,
    Query,
    /// Path and query together (`url.original`); built by the matcher, not stored.
    Url,
    Protocol,
    Status,
    Bytes,
    RequestBytes,
    Referrer,
    UserAgent,
    Message,
    Kind,
    Action,
    Outcome,
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Field::SourceIp,
        Field::User,
        Field::Host,
        Field::Program,
        Field::Method,
        Field::Path,
        Field::Query,
        Field::Url,
        Field::Protocol,
        Field::Status,
        Field::Bytes,
        Field::RequestBytes,
        Field::Referrer,
        Field::UserAgent,
        Field::Message,
        Field::Kind,
        Field::Action,
        Field::Outcome,
    ];

    /// The ECS name.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Field::SourceIp => "source.ip",
            Field::User => "user.name",
            Field::Host => "host.name",
            Field::Program => "process.name",
            Field::Method => "http.request.method",
            Field::Path => "url.path",
            Field::Query => "url.query",
            Field::Url => "url.original",
            Field::Protocol => "http.version",
            Field::Status => "http.response.status_code",
            Field::Bytes => "http.response.body.bytes",
            Field::RequestBytes => "http.request.body.bytes",
            Field::Referrer => "http.request.referrer",
            Field::UserAgent => "user_agent.original",
            Field::Message => "message",
            Field::Kind => "event.kind",
            Field::Action => "event.action",
            Field::Outcome => "event.outcome",
        }
    }

    /// Look a field up by its ECS name or a short alias (`ip`, `user`, `status`, ...).
    pub fn parse(name: &str) -> Option<Field> {
        if let Some(f) = Field::ALL.iter().find(|f| f.ecs_name() == name) {
            return Some(*f);
        }
        Some(match name {
            "ip" | "source_ip" | "client.ip" => Field::SourceIp,
            "user" | "username" => Field::User,
            "host" | "url.domain" => Field::Host,
            "program" => Field::Program,
            "method" => Field::Method,
            "path" => Field::Path,
            "query" => Field::Query,
            "url" | "request" => Field::Url,
            "protocol" => Field::Protocol,
            "status" => Field::Status,
            "bytes" => Field::Bytes,
            "request_bytes" => Field::RequestBytes,
            "referrer" | "referer" => Field::Referrer,
            "user_agent" | "useragent" => Field::UserAgent,
            "kind" => Field::Kind,
            "action" => Field::Action,
            "outcome" => Field::Outcome,
            _ => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Field::Status | Field::Bytes | Field::RequestBytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::parse(f.ecs_name()), Some(*f));
        }
        assert_eq!(Field::parse("referer"), Some(Field::Referrer));
        assert_eq!(Field::parse("nonsense"), None);
    }
}
