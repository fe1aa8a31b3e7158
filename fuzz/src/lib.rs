//! Shared body of the per-parser fuzz targets.

use secmo_parse::{Format, ParserOptions, parser_for};

/// Any bytes through one format's parser, line by line: it must return, never panic.
pub fn parse_lines(format: Format, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let parser = parser_for(format, &ParserOptions::default(), &lines);
    for line in &lines {
        let _ = parser.parse(line);
    }
}
