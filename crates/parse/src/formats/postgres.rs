//! STUB: to be written.
use crate::{LineParser, ParseError, Parsed};
use super::Format;

pub struct PostgresLogParser;

impl PostgresLogParser {
    pub fn new(_opts: &super::ParserOptions) -> Self { PostgresLogParser }
}

impl LineParser for PostgresLogParser {
    fn format(&self) -> Format { Format::Postgres }
    fn parse<'a>(&self, _line: &'a str) -> Result<Parsed<'a>, ParseError> {
        Err(ParseError::new("not implemented"))
    }
}
