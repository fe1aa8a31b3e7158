//! STUB: to be written.
use crate::{LineParser, ParseError, Parsed};
use super::Format;

pub struct AccessLogParser;

impl AccessLogParser {
    pub fn new() -> Self { AccessLogParser }
}

impl LineParser for AccessLogParser {
    fn format(&self) -> Format { Format::Access }
    fn parse<'a>(&self, _line: &'a str) -> Result<Parsed<'a>, ParseError> {
        Err(ParseError::new("not implemented"))
    }
}
