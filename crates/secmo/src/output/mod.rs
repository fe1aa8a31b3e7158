//! Renderers for `secmo analyze --format text|json|ndjson|csv|html`.
//!
//! Every string that came from a log line (evidence, paths, user agents,
//! referrers, user names) is attacker-controlled, and so are file names and
//! custom rule texts in practice: each renderer escapes for its medium
//! (terminal control sequences, CSV formulas, HTML markup). Numbers and
//! secmo's own words are the only things written unescaped.

mod csv;
mod html;
mod json;
mod text;

use secmo_detect::{Alert, Evidence, Report};
use secmo_event::Severity;
use std::borrow::Cow;
use std::io::{self, Write};

pub use json::write_match_ndjson;

/// The output formats of `secmo analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A report for people reading a terminal.
    Text,
    /// The whole report as one pretty-printed JSON document (docs/json-schema.md).
    Json,
    /// One JSON object per line: alerts, then a summary.
    Ndjson,
    /// One row per alert.
    Csv,
    /// One self-contained HTML page.
    Html,
}

/// Presentation settings.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// ANSI colour in text output (terminal only).
    pub color: bool,
    /// Evidence lines shown per alert (text and HTML).
    pub max_evidence: usize,
    /// Terminal width in columns, for text output.
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            max_evidence: 3,
            width: 100,
        }
    }
}

/// Write `report` in `format` to `out`.
pub fn render(
    report: &Report,
    format: OutputFormat,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Text => text::render(report, opts, out),
        OutputFormat::Json => json::render_json(report, out),
        OutputFormat::Ndjson => json::render_ndjson(report, out),
        OutputFormat::Csv => csv::render(report, out),
        OutputFormat::Html => html::render(report, opts, out),
    }
}

/// The alerts of one rule (one per attacker), as renderers show them together.
pub(crate) struct RuleGroup<'r> {
    pub severity: Severity,
    /// Largest count first, as in the report.
    pub alerts: Vec<&'r Alert>,
}

impl<'r> RuleGroup<'r> {
    /// The alert that carries the rule's texts (every alert of a rule has the same ones).
    pub fn head(&self) -> Option<&'r Alert> {
        self.alerts.first().copied()
    }

    pub fn events(&self) -> u64 {
        self.alerts.iter().map(|a| a.count).sum()
    }
}

/// Alerts grouped by rule: highest severity first, then in report order.
pub(crate) fn rule_groups(report: &Report) -> Vec<RuleGroup<'_>> {
    let mut groups: Vec<RuleGroup> = Vec::new();
    for sev in Severity::ALL.iter().rev() {
        let start = groups.len();
        for a in report.alerts.iter().filter(|a| a.severity == *sev) {
            let existing = groups[start..]
                .iter_mut()
                .find(|g| g.head().is_some_and(|h| h.rule_id == a.rule_id));
            match existing {
                Some(g) => g.alerts.push(a),
                None => groups.push(RuleGroup {
                    severity: *sev,
                    alerts: vec![a],
                }),
            }
        }
    }
    groups
}

/// `file:line`, or `line N` when the input has no name.
pub(crate) fn place(e: &Evidence) -> String {
    if e.file.is_empty() {
        format!("line {}", e.line)
    } else {
        format!("{}:{}", e.file, e.line)
    }
}

/// `s` with every character that could steer a terminal or hide text made
/// visible: C0/C1 controls and DEL as `\xNN` (`\n`, `\t`, `\r` by name),
/// Unicode bidirectional overrides and zero-width characters as `\u{NNNN}`.
pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width, LRM/RLM
            | '\u{2028}' | '\u{2029}' // line/paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2069}' // word joiner, bidi isolates
            | '\u{feff}')
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => {
            let mut t = String::with_capacity(i + 3);
            t.push_str(s.get(..i).unwrap_or(""));
            t.push('…');
            Cow::Owned(t)
        }
        _ => Cow::Borrowed(s),
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary units: `1.5 MiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `part` as a percentage of `whole`, one decimal.
pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".into();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if part > 0 && p < 0.1 {
        return "<0.1%".into();
    }
    format!("{p:.1}%")
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_controls_and_bidi() {
        assert_eq!(visible("plain text"), "plain text");
        assert_eq!(visible("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(visible("l1\nl2\r\t\x07\x7f"), "l1\\nl2\\r\\t\\x07\\x7f");
        assert_eq!(visible("\u{9b}31m"), "\\x9b31m");
        assert_eq!(visible("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert!(!visible("x\x00\x1b\u{85}").chars().any(char::is_control));
    }

    #[test]
    fn groups_alerts_by_rule_in_severity_order() {
        let mut report = fixture::hostile_report();
        let mut second = report.alerts[0].clone();
        second.source_ip = Some("192.0.2.7".into());
        second.count = 3;
        report.alerts.insert(1, second);
        let groups = rule_groups(&report);
        let shape: Vec<(Severity, usize)> = groups
            .iter()
            .map(|g| (g.severity, g.alerts.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Severity::Critical, 2),
                (Severity::High, 1),
                (Severity::Medium, 1)
            ]
        );
        assert_eq!(groups[0].events(), 45);
    }

    #[test]
    fn truncates_on_chars() {
        assert_eq!(truncate_chars("héllo wörld", 5), "héll…");
        assert_eq!(truncate_chars("short", 5), "short");
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "0.0%");
        assert_eq!(percent(1, 5000), "<0.1%");
        assert_eq!(percent(0, 5000), "0.0%");
    }
}
