//! One CSV row per alert (RFC 4180, CRLF line ends). Fields come from log
//! lines, so a cell that a spreadsheet would run as a formula (starting with
//! `=`, `+`, `-`, `@`, tab, CR or LF) gets a leading `'`.

use secmo_detect::Report;
use std::borrow::Cow;
use std::io::{self, Write};

const HEADER: [&str; 11] = [
    "rule_id",
    "title",
    "category",
    "severity",
    "source_ip",
    "user",
    "first_seen",
    "last_seen",
    "count",
    "recommendation",
    "evidence",
];

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_row(out, HEADER.iter().map(|h| Cow::Borrowed(*h)))?;
    for a in &report.alerts {
        let evidence = a.evidence.first().map(super::place).unwrap_or_default();
        let row: [Cow<str>; 11] = [
            Cow::Borrowed(&a.rule_id),
            Cow::Borrowed(&a.title),
            Cow::Borrowed(a.category.as_str()),
            Cow::Borrowed(a.severity.as_str()),
            Cow::Borrowed(a.source_ip.as_deref().unwrap_or("")),
            Cow::Borrowed(a.user.as_deref().unwrap_or("")),
            Cow::Borrowed(a.first_seen.as_deref().unwrap_or("")),
            Cow::Borrowed(a.last_seen.as_deref().unwrap_or("")),
            Cow::Owned(a.count.to_string()),
            Cow::Borrowed(&a.recommendation),
            Cow::Owned(evidence),
        ];
        write_row(out, row.into_iter())?;
    }
    Ok(())
}

fn write_row<'a>(out: &mut dyn Write, cells: impl Iterator<Item = Cow<'a, str>>) -> io::Result<()> {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(cell_text(&cell).as_bytes())?;
    }
    out.write_all(b"\r\n")
}

/// The cell as written: formula-guarded, then quoted if it needs it.
fn cell_text(value: &str) -> Cow<'_, str> {
    let guarded: Cow<str> = match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    };
    if !guarded.contains([',', '"', '\r', '\n']) {
        return guarded;
    }
    Cow::Owned(format!("\"{}\"", guarded.replace('"', "\"\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::{FORMULA, hostile_report};

    /// A minimal RFC 4180 reader, to check what a spreadsheet would see.
    fn parse(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => cell.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut cell)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => cell.push(c),
            }
        }
        rows
    }

    #[test]
    fn quoting_and_formula_guard() {
        assert_eq!(cell_text("plain"), "plain");
        assert_eq!(cell_text("a,b"), "\"a,b\"");
        assert_eq!(cell_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell_text("=1+1"), "'=1+1");
        assert_eq!(cell_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell_text("-2"), "'-2");
        assert_eq!(cell_text("\tx"), "'\tx");
        assert_eq!(cell_text("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(cell_text(""), "");
    }

    #[test]
    fn one_row_per_alert() {
        let report = hostile_report();
        let mut buf = Vec::new();
        render(&report, &mut buf).unwrap_or_default();
        let text = String::from_utf8(buf).unwrap_or_default();
        assert!(text.starts_with("rule_id,title,category,severity,source_ip,user,"));
        let rows = parse(&text);
        assert_eq!(rows.len(), 1 + report.alerts.len());
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        let first = &rows[1];
        assert_eq!(first[0], "web-sqli-union");
        assert_eq!(first[3], "critical");
        assert_eq!(first[5], format!("'{FORMULA}"));
        assert_eq!(first[8], "42");
        assert_eq!(first[10], "access.log:17");
        assert_eq!(rows[2][9], format!("'{FORMULA}"));
        assert_eq!(rows[2][4], "");
        assert_eq!(rows[3][9], "'-1+1");
        assert_eq!(rows[3][10], "");
        // No cell a spreadsheet would evaluate.
        for cell in rows.iter().flatten() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell}"
            );
        }
    }
}
