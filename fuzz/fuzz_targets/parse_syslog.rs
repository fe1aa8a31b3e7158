#![no_main]
//! Any bytes through the syslog parser.
libfuzzer_sys::fuzz_target!(|data: &[u8]| secmo_fuzz::parse_lines(secmo_parse::Format::Syslog, data));
