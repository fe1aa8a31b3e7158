//! STUB: to be written.
use crate::{LineParser, ParseError, Parsed};
use super::Format;

pub struct JsonLineParser;

impl JsonLineParser {
    pub fn new(_mapping: JsonMapping) -> Self { JsonLineParser }
}

impl LineParser for JsonLineParser {
    fn format(&self) -> Format { Format::Json }
    fn parse<'a>(&self, _line: &'a str) -> Result<Parsed<'a>, ParseError> {
        Err(ParseError::new("not implemented"))
    }
}

/// Which JSON keys hold which event fields.
#[derive(Debug, Clone, Default)]
pub struct JsonMapping {}
