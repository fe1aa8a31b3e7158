//! Reading and parsing logs.
//!
//! - [`read`]: turn command-line inputs into byte streams (files, directories,
//!   globs, stdin, `.gz`/`.zst`, rotated sets oldest first) and cut them into
//!   chunks of whole lines with a bound on line length.
//! - [`formats`]: one parser per log format, each turning a line into a
//!   borrowed [`Event`] without allocating.
//! - [`sniff`]: pick a file's format from its first lines.

pub mod formats;
pub mod read;
pub mod sniff;

use secmo_event::Event;

pub use formats::{Format, ParserOptions, parser_for};
pub use sniff::sniff_format;

/// What a parser made of one line.
// The event is returned by value on purpose: boxing it would allocate per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<'a> {
    /// The line is an event.
    Event(Event<'a>),
    /// The line belongs to the format but carries no event (a header, a
    /// continuation of a multi-line record, a blank line).
    Skip,
}

/// Why a line could not be parsed. Reasons are short, static and shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    pub reason: &'static str,
}

impl ParseError {
    pub const fn new(reason: &'static str) -> Self {
        ParseError { reason }
    }
}

/// A parser for one log format. Parsers are immutable and shared between
/// threads; anything a format needs from earlier lines (a CSV header, the
/// year of a syslog file) is given when the parser is built.
pub trait LineParser: Send + Sync {
    fn format(&self) -> Format;
    /// Parse one line (without its line terminator). Must never panic, whatever the input.
    fn parse<'a>(&self, line: &'a str) -> Result<Parsed<'a>, ParseError>;
}
