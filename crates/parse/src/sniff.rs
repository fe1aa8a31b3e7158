//! Format detection from an input's first lines: every parser tries them, and
//! the format that turns the largest share into events wins (ties go to the
//! more specific format, in [`Format::ALL`] order).

use crate::Parsed;
use crate::formats::{Format, ParserOptions, parser_for};

/// The best format for `lines`, with the share of non-blank lines it parsed
/// (0.0 – 1.0). `None` when no format parses any line.
pub fn sniff_format(lines: &[&str], opts: &ParserOptions) -> Option<(Format, f64)> {
    let sample: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if sample.is_empty() {
        return None;
    }
    let mut best: Option<(Format, usize)> = None;
    for &format in Format::ALL {
        let parser = parser_for(format, opts, lines);
        let events = sample
            .iter()
            .filter(|l| matches!(parser.parse(l), Ok(Parsed::Event(_))))
            .count();
        if events > 0 && best.is_none_or(|(_, n)| events > n) {
            best = Some((format, events));
        }
    }
    best.map(|(f, n)| (f, n as f64 / sample.len() as f64))
}
