//! One parser per log format, one file per format. Adding a format is adding a
//! file here and a variant to [`Format`].

pub mod access;
pub mod csv;
pub mod json;
pub mod mysql;
pub mod postgres;
pub mod syslog;

use crate::LineParser;

/// The formats secmo reads. `Access` covers Apache/Nginx combined, common and vhost_combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Access,
    Json,
    Syslog,
    Mysql,
    Postgres,
    Csv,
}

impl Format {
    /// In sniffing priority order: specific formats before generic ones.
    pub const ALL: &'static [Format] = &[
        Format::Access,
        Format::Syslog,
        Format::Postgres,
        Format::Mysql,
        Format::Json,
        Format::Csv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Access => "access",
            Format::Json => "json",
            Format::Syslog => "syslog",
            Format::Mysql => "mysql",
            Format::Postgres => "postgres",
            Format::Csv => "csv",
        }
    }

    /// Accepts the names above plus common aliases (`combined`, `nginx`, `apache`, `auth`, ...).
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "access" | "combined" | "common" | "vhost_combined" | "nginx" | "apache" | "clf" => {
                Format::Access
            }
            "json" | "jsonl" | "ndjson" | "app" => Format::Json,
            "syslog" | "auth" | "sshd" | "rfc3164" | "rfc5424" => Format::Syslog,
            "mysql" | "mariadb" => Format::Mysql,
            "postgres" | "postgresql" | "pg" => Format::Postgres,
            "csv" => Format::Csv,
            _ => return None,
        })
    }
}

/// Settings some formats need.
#[derive(Debug, Clone, Default)]
pub struct ParserOptions {
    /// JSON field mapping (defaults to the application log shape).
    pub json: json::JsonMapping,
    /// Year assumed for timestamps without one (RFC 3164 syslog, MySQL `YYMMDD`
    /// is fine). Usually the input file's modification year; 0 means "this year".
    pub year: i32,
    /// Milliseconds since the epoch of the input's modification time, if known:
    /// a yearless timestamp later than this (by more than a day) belongs to the year before.
    pub reference_ms: Option<i64>,
}

/// Build the parser for `format`. `first_lines` are the input's first lines
/// (the CSV parser takes its header from them).
pub fn parser_for(
    format: Format,
    opts: &ParserOptions,
    first_lines: &[&str],
) -> Box<dyn LineParser> {
    match format {
        Format::Access => Box::new(access::AccessLogParser::new()),
        Format::Json => Box::new(json::JsonLineParser::new(opts.json.clone())),
        Format::Syslog => Box::new(syslog::SyslogParser::new(opts)),
        Format::Mysql => Box::new(mysql::MysqlLogParser::new(opts)),
        Format::Postgres => Box::new(postgres::PostgresLogParser::new(opts)),
        Format::Csv => Box::new(csv::CsvParser::from_first_lines(first_lines)),
    }
}
