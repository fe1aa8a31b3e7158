//! The CSV export: one row per listed incident, for spreadsheets and scripts.
//! Column names are fixed English snake_case (machines read them; they do not
//! change with the language), values are the document's raw keys (`high`,
//! `sqli`) and RFC 3339 times. RFC 4180 quoting with CRLF line ends, and cells
//! neutralised against formula injection (see [`escape::csv_cell`]).

use crate::escape;
use crate::i18n::format_rfc3339;
use crate::model::ReportDoc;

pub const COLUMNS: [&str; 15] = [
    "incident_id",
    "severity",
    "category",
    "rule_id",
    "title",
    "source_ip",
    "user",
    "status",
    "count",
    "first_seen",
    "last_seen",
    "description",
    "recommendation",
    "response",
    "evidence",
];

/// Render the incidents as CSV. `lang` is accepted for symmetry with the
/// other renderers; the CSV is language-neutral on purpose.
pub fn render_csv(doc: &ReportDoc, _lang: crate::Lang) -> String {
    let mut out = String::with_capacity(256 + doc.incidents.len() * 512);
    push_row(&mut out, COLUMNS.iter().map(|c| c.to_string()));
    for i in &doc.incidents {
        let response: Vec<String> = i
            .response
            .iter()
            .enumerate()
            .map(|(n, s)| format!("{}. {s}", n + 1))
            .collect();
        // Evidence lines are shown with control characters made visible: a
        // raw CR or ESC in a cell confuses spreadsheet imports and terminals.
        let evidence: Vec<String> = i
            .evidence
            .iter()
            .map(|e| format!("{}:{} {}", e.file, e.line, escape::visible(&e.raw)))
            .collect();
        push_row(
            &mut out,
            [
                i.id.map(|v| v.to_string()).unwrap_or_default(),
                i.severity.clone(),
                i.category.clone(),
                i.rule_id.clone(),
                i.title.clone(),
                i.source_ip.clone().unwrap_or_default(),
                i.user.clone().unwrap_or_default(),
                i.status.clone().unwrap_or_default(),
                i.count.to_string(),
                format_rfc3339(i.first_seen_ms),
                format_rfc3339(i.last_seen_ms),
                i.description.clone(),
                i.recommendation.clone(),
                response.join("\n"),
                evidence.join("\n"),
            ]
            .into_iter(),
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (n, c) in cells.enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&escape::csv_cell(&c));
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    #[test]
    fn rows_quoted_and_formulas_neutralised() {
        let doc = ReportDoc {
            incidents: vec![ReportIncident {
                id: Some(3),
                title: "a, \"b\"".into(),
                user: Some("=HYPERLINK(\"http://evil\")".into()),
                source_ip: Some("@1.2.3.4".into()),
                response: vec!["one".into(), "two".into()],
                count: 5,
                ..Default::default()
            }],
            ..Default::default()
        };
        let csv = render_csv(&doc, crate::Lang::De);
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
        let row = lines.next().expect("row");
        assert!(
            row.starts_with(
                "3,,,,\"a, \"\"b\"\"\",'@1.2.3.4,\"'=HYPERLINK(\"\"http://evil\"\")\",,5,"
            ),
            "{row}"
        );
        assert!(csv.contains("\"1. one\ntwo") || csv.contains("\"1. one\n2. two\""));
        assert!(!csv.contains(",=") && !csv.contains(",@"));
    }
}
