//! STUB: to be written.
use crate::{LineParser, ParseError, Parsed};
use super::Format;

pub struct SyslogParser;

impl SyslogParser {
    pub fn new(_opts: &super::ParserOptions) -> Self { SyslogParser }
}

impl LineParser for SyslogParser {
    fn format(&self) -> Format { Format::Syslog }
    fn parse<'a>(&self, _line: &'a str) -> Result<Parsed<'a>, ParseError> {
        Err(ParseError::new("not implemented"))
    }
}
