//! STUB: to be written.
use crate::{LineParser, ParseError, Parsed};
use super::Format;

pub struct MysqlLogParser;

impl MysqlLogParser {
    pub fn new(_opts: &super::ParserOptions) -> Self { MysqlLogParser }
}

impl LineParser for MysqlLogParser {
    fn format(&self) -> Format { Format::Mysql }
    fn parse<'a>(&self, _line: &'a str) -> Result<Parsed<'a>, ParseError> {
        Err(ParseError::new("not implemented"))
    }
}
