#![no_main]
//! Any bytes through the mysql parser: it must return, never panic.
use libfuzzer_sys::fuzz_target;
use secmo_parse::{Format, ParserOptions, parser_for};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let parser = parser_for(Format::Mysql, &ParserOptions::default(), &lines);
    for line in &lines {
        let _ = parser.parse(line);
    }
});
