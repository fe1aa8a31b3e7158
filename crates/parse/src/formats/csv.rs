//! STUB: to be written.
use crate::{LineParser, ParseError, Parsed};
use super::Format;

pub struct CsvParser;

impl CsvParser {
    pub fn from_first_lines(_lines: &[&str]) -> Self { CsvParser }
}

impl LineParser for CsvParser {
    fn format(&self) -> Format { Format::Csv }
    fn parse<'a>(&self, _line: &'a str) -> Result<Parsed<'a>, ParseError> {
        Err(ParseError::new("not implemented"))
    }
}
