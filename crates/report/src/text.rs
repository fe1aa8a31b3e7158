//! The plain-text report: the `text/plain` alternative of the e-mail and the
//! terminal output. Same content as the HTML, wrapped to 78 columns. Document
//! strings pass through [`escape::inline`] / [`escape::visible`], so no
//! terminal escape sequence in a log line reaches the reader's terminal.

use crate::charts;
use crate::escape;
use crate::i18n::{Lang, format_period, format_time};
use crate::model::{Count, ReportDoc, ReportIncident};
use crate::view;

pub const WIDTH: usize = 78;

/// Render the report as plain text.
pub fn render_text(doc: &ReportDoc, lang: Lang) -> String {
    let mut t = Text {
        out: String::with_capacity(16 * 1024),
        lang,
    };
    t.document(doc);
    t.out
}

/// Wrap `text` to `width` columns: the first line starts with `first`, the
/// following ones with `rest`. Words longer than a line are cut.
pub(crate) fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut line_len = first.chars().count();
    let mut empty = true;
    let indent_len = rest.chars().count();
    for word in text.split_whitespace() {
        let mut word: String = word.to_string();
        loop {
            let wlen = word.chars().count();
            let need = if empty { wlen } else { wlen + 1 };
            if line_len + need <= width {
                if !empty {
                    line.push(' ');
                }
                line.push_str(&word);
                line_len += need;
                empty = false;
                break;
            }
            if !empty {
                lines.push(std::mem::take(&mut line));
                line = rest.to_string();
                line_len = indent_len;
                empty = true;
                continue;
            }
            // Alone on a line and still too long: cut it.
            let room = width.saturating_sub(line_len).max(1);
            let head: String = word.chars().take(room).collect();
            let tail: String = word.chars().skip(room).collect();
            line.push_str(&head);
            lines.push(std::mem::take(&mut line));
            line = rest.to_string();
            line_len = indent_len;
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    if !empty || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// One incident as in the report, for notifications.
pub(crate) fn incident_text(inc: &ReportIncident, lang: Lang) -> String {
    let mut t = Text {
        out: String::new(),
        lang,
    };
    t.incident(None, inc);
    t.out.trim_start_matches('\n').to_string()
}

struct Text {
    out: String,
    lang: Lang,
}

impl Text {
    fn line(&mut self, s: &str) {
        self.out.push_str(s.trim_end());
        self.out.push('\n');
    }

    fn para(&mut self, s: &str, first: &str, rest: &str) {
        for l in wrap(&escape::inline(s), WIDTH, first, rest) {
            self.line(&l);
        }
    }

    fn heading(&mut self, key: &str, underline: char) {
        let h = self.lang.t(key).to_string();
        self.out.push('\n');
        self.line(&h);
        let u: String = std::iter::repeat_n(underline, h.chars().count()).collect();
        self.line(&u);
    }

    fn document(&mut self, doc: &ReportDoc) {
        let title = view::title(doc, self.lang);
        self.line(&title);
        self.line(&"=".repeat(title.chars().count()));
        let labels = [
            (self.lang.t("report.scope"), doc.scope.clone()),
            (
                self.lang.t("report.period"),
                format_period(doc.period_start_ms, doc.period_end_ms),
            ),
            (
                self.lang.t("report.generated"),
                format_time(doc.generated_ms),
            ),
        ];
        self.facts(&labels, "");

        self.out.push('\n');
        let level = self.lang.threat(&doc.threat_level);
        let banner = self.lang.tf("threat.banner", &[("level", &level)]);
        self.para(&format!("*** {banner} ***"), "", "");
        let hint = view::threat_hint(doc, self.lang);
        if !hint.is_empty() {
            self.para(&hint, "", "");
        }

        self.summary(doc);
        self.changes(doc);
        self.incidents(doc);
        self.attackers(doc);
        self.charts(doc);
        self.analytics(doc);

        self.out.push('\n');
        self.line("--");
        let generated = self.lang.tf(
            "footer.generated_by",
            &[("time", &format_time(doc.generated_ms))],
        );
        self.para(&generated, "", "");
        self.para(self.lang.t("footer.untrusted"), "", "");
    }

    /// `Label:  value` lines with the values aligned.
    fn facts(&mut self, rows: &[(&str, String)], indent: &str) {
        let w = rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for (label, value) in rows {
            let first = format!("{indent}{:<w$}", format!("{label}:"));
            let rest = " ".repeat(first.chars().count());
            self.para(value, &first, &rest);
        }
    }

    fn summary(&mut self, doc: &ReportDoc) {
        self.heading("summary.heading", '-');
        let rows: Vec<(&str, String)> = view::summary_numbers(&doc.summary)
            .iter()
            .map(|(k, v)| (self.lang.t(k), self.lang.num(*v)))
            .collect();
        self.facts(&rows, "");
        if !doc.summary.by_severity.is_empty() {
            let line = format!(
                "{}: {}",
                self.lang.t("summary.by_severity"),
                view::by_severity_line(&doc.summary, self.lang)
            );
            self.para(&line, "", "  ");
        }
    }

    fn changes(&mut self, doc: &ReportDoc) {
        let Some(rows) = view::changes(doc) else {
            return;
        };
        self.heading("changes.heading", '-');
        let cells: Vec<[String; 4]> = rows
            .iter()
            .map(|c| {
                [
                    self.lang.t(c.label).to_string(),
                    self.lang.num(c.previous),
                    self.lang.num(c.current),
                    c.delta_text(self.lang, true),
                ]
            })
            .collect();
        let header = [
            self.lang.t("changes.metric").to_string(),
            self.lang.t("changes.previous").to_string(),
            self.lang.t("changes.current").to_string(),
            self.lang.t("changes.change").to_string(),
        ];
        self.table(&header, &cells, &[false, true, true, true]);
    }

    /// A column-aligned table (cells already made safe).
    fn table<const N: usize>(
        &mut self,
        header: &[String; N],
        rows: &[[String; N]],
        right: &[bool; N],
    ) {
        let mut w = [0usize; N];
        for r in std::iter::once(header).chain(rows.iter()) {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        // The last column, when left-aligned, is not padded: a long value
        // there (a list of categories) wraps by words under its column.
        let fmt_cells = |r: &[String; N], upto: usize| {
            let mut s = String::new();
            for i in 0..upto {
                if i > 0 {
                    s.push_str("  ");
                }
                let pad = w[i].saturating_sub(r[i].chars().count());
                if right[i] {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(&r[i]);
                } else {
                    s.push_str(&r[i]);
                    s.push_str(&" ".repeat(pad));
                }
            }
            s
        };
        let last_wraps = N > 1 && !right[N - 1];
        let emit = |t: &mut Self, r: &[String; N]| {
            let full = fmt_cells(r, N);
            if full.trim_end().chars().count() <= WIDTH || !last_wraps {
                t.long_line(&full);
                return;
            }
            let prefix = format!("{}  ", fmt_cells(r, N - 1));
            let indent = prefix.chars().count();
            if indent + 12 > WIDTH {
                t.long_line(&full);
                return;
            }
            for l in wrap(&r[N - 1], WIDTH, &prefix, &" ".repeat(indent)) {
                t.line(&l);
            }
        };
        emit(self, header);
        let h = fmt_cells(header, N);
        self.line(&"-".repeat(h.trim_end().chars().count().min(WIDTH)));
        for r in rows {
            emit(self, r);
        }
    }

    /// A table row wider than the page: the overflow continues on indented
    /// lines rather than being cut.
    fn long_line(&mut self, s: &str) {
        let s = s.trim_end();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() <= WIDTH {
            self.line(s);
            return;
        }
        let (head, mut rest) = chars.split_at(WIDTH);
        self.line(&head.iter().collect::<String>());
        while !rest.is_empty() {
            let n = rest.len().min(WIDTH - 4);
            let (piece, more) = rest.split_at(n);
            self.line(&format!("    {}", piece.iter().collect::<String>()));
            rest = more;
        }
    }

    fn incidents(&mut self, doc: &ReportDoc) {
        self.heading("incidents.heading", '-');
        if doc.incidents.is_empty() {
            self.para(self.lang.t("incidents.none"), "", "");
        }
        for (i, inc) in doc.incidents.iter().enumerate() {
            self.incident(Some(i + 1), inc);
        }
        if doc.incidents_omitted > 0 {
            self.out.push('\n');
            let s = self.lang.tf(
                "incidents.omitted",
                &[("count", &self.lang.num(doc.incidents_omitted))],
            );
            self.para(&s, "", "");
        }
    }

    fn incident(&mut self, n: Option<usize>, inc: &ReportIncident) {
        self.out.push('\n');
        let heading = view::incident_heading(inc, self.lang);
        let lead = n.map(|n| format!("{n}. ")).unwrap_or_default();
        let indent = " ".repeat(lead.len());
        self.para(&heading, &lead, &indent);
        let facts: Vec<(&str, String)> = view::incident_facts(inc, self.lang)
            .into_iter()
            .map(|(k, v)| (self.lang.t(k), v))
            .collect();
        self.facts(&facts, &indent);
        for (k, v) in [
            ("incidents.description", &inc.description),
            ("incidents.recommendation", &inc.recommendation),
        ] {
            if !v.trim().is_empty() {
                self.line(&format!("{indent}{}:", self.lang.t(k)));
                self.para(v, &format!("{indent}  "), &format!("{indent}  "));
            }
        }
        if !inc.response.is_empty() {
            self.line(&format!("{indent}{}:", self.lang.t("incidents.response")));
            for (i, step) in inc.response.iter().enumerate() {
                let first = format!("{indent}  {}. ", i + 1);
                let rest = " ".repeat(first.chars().count());
                self.para(step, &first, &rest);
            }
        }
        if !inc.evidence.is_empty() {
            self.line(&format!("{indent}{}:", self.lang.t("incidents.evidence")));
            for e in &inc.evidence {
                // Evidence is wrapped by characters, not words: it is
                // shown exactly, control characters made visible.
                let s = format!(
                    "{}:{} {}",
                    escape::visible(&e.file),
                    e.line,
                    escape::visible(&e.raw)
                );
                let first = format!("{indent}  | ");
                let avail = WIDTH.saturating_sub(first.chars().count()).max(10);
                let chars: Vec<char> = s.chars().collect();
                for chunk in chars.chunks(avail) {
                    let piece: String = chunk.iter().collect();
                    self.out.push_str(&first);
                    self.out.push_str(&piece);
                    self.out.push('\n');
                }
            }
        }
    }

    fn attackers(&mut self, doc: &ReportDoc) {
        self.heading("attackers.heading", '-');
        if doc.top_attackers.is_empty() {
            self.para(self.lang.t("attackers.none"), "", "");
            return;
        }
        let header = [
            self.lang.t("attackers.ip").to_string(),
            self.lang.t("attackers.requests").to_string(),
            self.lang.t("attackers.flagged").to_string(),
            self.lang.t("attackers.blocked").to_string(),
            self.lang.t("attackers.categories").to_string(),
        ];
        let rows: Vec<[String; 5]> = doc
            .top_attackers
            .iter()
            .map(|a| {
                let cats: Vec<String> =
                    a.categories.iter().map(|c| self.lang.category(c)).collect();
                [
                    escape::truncate(&escape::inline(&a.ip), 39),
                    self.lang.num(a.requests),
                    self.lang.num(a.flagged),
                    self.lang
                        .t(if a.blocked { "common.yes" } else { "common.no" })
                        .to_string(),
                    escape::inline(&cats.join(", ")),
                ]
            })
            .collect();
        self.table(&header, &rows, &[false, true, true, false, false]);
    }

    fn charts(&mut self, doc: &ReportDoc) {
        self.heading("charts.timeline", '-');
        match charts::timeline_bars(&doc.timeline) {
            None => self.para(self.lang.t("charts.no_data"), "", ""),
            Some(bars) => {
                let range = self.lang.tf(
                    "charts.timeline_range",
                    &[
                        ("start", &format_time(bars.start_ms)),
                        ("end", &format_time(bars.end_ms)),
                        ("width", &self.lang.duration(bars.bucket_ms)),
                        ("max", &self.lang.num(bars.max)),
                    ],
                );
                self.para(&range, "", "");
                // A sparkline of events: the text version of the bar chart.
                const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
                let max = bars.max.max(1);
                let spark: String = bars
                    .columns
                    .iter()
                    .map(|&(e, _)| {
                        if e == 0 {
                            ' '
                        } else {
                            let i = ((e as u128 * 7) / max as u128) as usize;
                            LEVELS[i.min(7)]
                        }
                    })
                    .collect();
                let chars: Vec<char> = spark.chars().collect();
                for chunk in chars.chunks(WIDTH) {
                    let s: String = chunk.iter().collect();
                    self.out.push_str(&s);
                    self.out.push('\n');
                }
            }
        }
        self.heading("charts.categories", '-');
        if doc.categories.is_empty() {
            self.para(self.lang.t("charts.no_data"), "", "");
        } else {
            let rows: Vec<Count> = doc
                .categories
                .iter()
                .map(|c| Count {
                    key: self.lang.category(&c.key),
                    count: c.count,
                })
                .collect();
            self.counts(&rows);
        }
    }

    /// `name ....... count` rows with a bar of `#` proportional to the count.
    fn counts(&mut self, rows: &[Count]) {
        let names: Vec<String> = rows
            .iter()
            .map(|c| escape::truncate(&escape::inline(&c.key), 44))
            .collect();
        let nums: Vec<String> = rows.iter().map(|c| self.lang.num(c.count)).collect();
        let nw = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let cw = nums.iter().map(|n| n.len()).max().unwrap_or(0);
        let max = rows.iter().map(|c| c.count).max().unwrap_or(0).max(1);
        let bar_room = WIDTH.saturating_sub(nw + cw + 4).clamp(0, 20);
        for ((name, num), c) in names.iter().zip(&nums).zip(rows) {
            let bar = ((c.count as u128 * bar_room as u128) / max as u128) as usize;
            let pad = nw - name.chars().count();
            let line = format!(
                "  {name}{}  {num:>cw$} {}",
                " ".repeat(pad),
                "#".repeat(bar.max(usize::from(c.count > 0)))
            );
            self.line(&line);
        }
    }

    fn analytics(&mut self, doc: &ReportDoc) {
        self.heading("analytics.heading", '-');
        let lang = self.lang;
        for (key, rows, _) in view::analytics_sections(doc, lang) {
            self.out.push('\n');
            self.line(&format!("{}:", lang.t(key)));
            if rows.is_empty() {
                self.line(&format!("  {}", lang.t("analytics.none")));
            } else {
                self.counts(&rows);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_cuts_long_ones() {
        assert_eq!(wrap("a b c", 3, "", ""), vec!["a b", "c"]);
        assert_eq!(wrap("abcdefg", 3, "", ""), vec!["abc", "def", "g"]);
        assert_eq!(wrap("x yy", 5, "- ", "  "), vec!["- x", "  yy"]);
        assert_eq!(wrap("", 10, "> ", ""), vec!["> "]);
        for l in wrap(&"word ".repeat(100), WIDTH, "  ", "  ") {
            assert!(l.chars().count() <= WIDTH);
        }
    }

    #[test]
    fn terminal_escapes_do_not_pass() {
        let doc = crate::model::ReportDoc {
            scope: "host\u{1b}[31m".into(),
            incidents: vec![crate::model::ReportIncident {
                title: "t\u{1b}]0;x\u{7}".into(),
                evidence: vec![crate::model::EvidenceLine {
                    file: "f".into(),
                    line: 1,
                    raw: "a\u{1b}[2Jb\rc\u{9b}31m".into(),
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        for lang in Lang::ALL {
            let t = render_text(&doc, lang);
            assert!(
                !t.contains('\u{1b}')
                    && !t.contains('\r')
                    && !t.contains('\u{9b}')
                    && !t.contains('\u{7}')
            );
            assert!(t.contains("a\\x1b[2Jb\\x0dc\\x9b31m"), "{t}");
            for l in t.lines() {
                assert!(l.chars().count() <= WIDTH, "{l:?}");
            }
        }
    }
}
