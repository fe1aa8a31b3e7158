//! The PDF report, written with pdf-writer (no layout engine: a cursor, glyph
//! widths and page breaks of our own, see [`layout`]). The fonts are the
//! standard Helvetica, Helvetica-Bold and Courier every viewer has, with
//! WinAnsiEncoding: Western European text (Spanish, German) works without
//! embedding fonts; characters outside it print as `?`. Same content as the
//! HTML, charts drawn as vector rectangles from [`crate::charts`].

mod layout;
mod metrics;

use crate::charts::{self, Chart};
use crate::escape;
use crate::i18n::{Lang, format_period, format_time};
use crate::model::{ReportDoc, ReportIncident};
use crate::view;
use layout::{BLACK, CONTENT_W, Col, Font, MARGIN, MUTED, PAGE_H, PAGE_W, RULE, WHITE, Writer};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// Text → WinAnsiEncoding bytes. Control characters and characters the
/// encoding lacks become `?` (callers make control characters visible first).
pub(crate) fn encode(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            _ => b'?',
        })
        .collect()
}

const H1: f32 = 18.0;
const H2: f32 = 13.0;
const BODY: f32 = 9.0;
const SMALL: f32 = 7.5;
const MONO: f32 = 6.5;

/// Render the report as PDF (A4).
pub fn render_pdf(doc: &ReportDoc, lang: Lang) -> Vec<u8> {
    let mut w = Writer::new();
    let r = Report { lang };
    r.header(&mut w, doc);
    r.summary(&mut w, doc);
    r.changes(&mut w, doc);
    r.incidents(&mut w, doc);
    r.attackers(&mut w, doc);
    r.charts(&mut w, doc);
    r.analytics(&mut w, doc);
    r.footer(&mut w, doc);
    assemble(w, doc, lang)
}

/// Every document string goes through here: one line, control characters
/// made visible.
fn clean(s: &str) -> String {
    escape::inline(s)
}

struct Report {
    lang: Lang,
}

impl Report {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    fn header(&self, w: &mut Writer, doc: &ReportDoc) {
        // A dark band with the title, as in the HTML.
        let band_h = 74.0;
        let top = PAGE_H - MARGIN + 8.0;
        w.rect(MARGIN, top - band_h, CONTENT_W, band_h, [0x11, 0x18, 0x27]);
        let title = view::title(doc, self.lang);
        w.text_at(
            MARGIN + 12.0,
            top - 26.0,
            Font::Bold,
            H1,
            WHITE,
            &layout::fit(&title, Font::Bold, H1, CONTENT_W - 24.0),
        );
        let rows = [
            (self.t("report.scope"), clean(&doc.scope)),
            (
                self.t("report.period"),
                format_period(doc.period_start_ms, doc.period_end_ms),
            ),
            (self.t("report.generated"), format_time(doc.generated_ms)),
        ];
        for (i, (label, value)) in rows.iter().enumerate() {
            let y = top - 42.0 - i as f32 * 10.5;
            w.text_at(
                MARGIN + 12.0,
                y,
                Font::Regular,
                SMALL + 0.5,
                [0x9c, 0xa3, 0xaf],
                &layout::fit(label, Font::Regular, SMALL + 0.5, 70.0),
            );
            w.text_at(
                MARGIN + 86.0,
                y,
                Font::Regular,
                SMALL + 0.5,
                [0xe5, 0xe7, 0xeb],
                &layout::fit(value, Font::Regular, SMALL + 0.5, CONTENT_W - 98.0),
            );
        }
        w.y = top - band_h;

        // Threat banner.
        let level = self.lang.threat(&doc.threat_level);
        let banner = self.lang.tf("threat.banner", &[("level", &level)]);
        let hint = view::threat_hint(doc, self.lang);
        let hint_lines = layout::wrap(&hint, Font::Regular, BODY, CONTENT_W - 24.0);
        let h = 26.0 + hint_lines.len() as f32 * BODY * 1.35;
        let color = view::severity_color(&doc.threat_level);
        w.rect(MARGIN, w.y - h, CONTENT_W, h, color);
        let y = w.y - 17.0;
        w.text_at(
            MARGIN + 12.0,
            y,
            Font::Bold,
            H2,
            WHITE,
            &layout::fit(&banner, Font::Bold, H2, CONTENT_W - 24.0),
        );
        for (i, l) in hint_lines.iter().enumerate() {
            let y = w.y - 30.0 - i as f32 * BODY * 1.35;
            w.text_at(MARGIN + 12.0, y, Font::Regular, BODY, WHITE, l);
        }
        w.y -= h + 4.0;
    }

    fn summary(&self, w: &mut Writer, doc: &ReportDoc) {
        w.heading(self.t("summary.heading"), H2);
        let col_w = CONTENT_W / 3.0;
        for row in view::summary_numbers(&doc.summary).chunks(3) {
            w.ensure(34.0);
            let y = w.y - 16.0;
            for (i, (k, v)) in row.iter().enumerate() {
                let x = MARGIN + i as f32 * col_w;
                w.text_at(x, y, Font::Bold, 16.0, BLACK, &encode(&self.lang.num(*v)));
                w.text_at(
                    x,
                    y - 11.0,
                    Font::Regular,
                    SMALL,
                    MUTED,
                    &layout::fit(self.t(k), Font::Regular, SMALL, col_w - 6.0),
                );
            }
            w.y -= 34.0;
        }
        if !doc.summary.by_severity.is_empty() {
            let line = format!(
                "{}: {}",
                self.t("summary.by_severity"),
                view::by_severity_line(&doc.summary, self.lang)
            );
            w.para(&line, MARGIN, CONTENT_W, Font::Regular, BODY, BLACK);
        }
    }

    fn changes(&self, w: &mut Writer, doc: &ReportDoc) {
        let Some(rows) = view::changes(doc) else {
            return;
        };
        w.heading(self.t("changes.heading"), H2);
        let cols = [
            Col {
                width: CONTENT_W * 0.4,
                right: false,
                font: Font::Regular,
            },
            Col {
                width: CONTENT_W * 0.2,
                right: true,
                font: Font::Regular,
            },
            Col {
                width: CONTENT_W * 0.2,
                right: true,
                font: Font::Regular,
            },
            Col {
                width: CONTENT_W * 0.2,
                right: true,
                font: Font::Bold,
            },
        ];
        let header = [
            self.t("changes.metric").to_string(),
            self.t("changes.previous").to_string(),
            self.t("changes.current").to_string(),
            self.t("changes.change").to_string(),
        ];
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|c| {
                vec![
                    self.t(c.label).to_string(),
                    self.lang.num(c.previous),
                    self.lang.num(c.current),
                    // WinAnsi has no triangles: +12% / -12%.
                    c.delta_text(self.lang, false),
                ]
            })
            .collect();
        w.table(MARGIN, &cols, &header, &cells, BODY);
    }

    fn incidents(&self, w: &mut Writer, doc: &ReportDoc) {
        w.heading(self.t("incidents.heading"), H2);
        if doc.incidents.is_empty() {
            w.para(
                self.t("incidents.none"),
                MARGIN,
                CONTENT_W,
                Font::Regular,
                BODY,
                BLACK,
            );
        }
        for inc in &doc.incidents {
            self.incident(w, inc);
        }
        if doc.incidents_omitted > 0 {
            let s = self.lang.tf(
                "incidents.omitted",
                &[("count", &self.lang.num(doc.incidents_omitted))],
            );
            w.para(&s, MARGIN, CONTENT_W, Font::Regular, BODY, MUTED);
        }
    }

    fn incident(&self, w: &mut Writer, inc: &ReportIncident) {
        let color = view::severity_color(&inc.severity);
        let indent = MARGIN + 10.0;
        let width = CONTENT_W - 10.0;
        // Keep the heading with the first facts.
        w.gap(6.0);
        w.ensure(60.0);
        let top = w.y;
        let heading = clean(&view::incident_heading(inc, self.lang));
        w.para(&heading, indent, width, Font::Bold, 10.5, BLACK);
        // The severity stripe beside the heading.
        w.rect(MARGIN, w.y + 2.0, 4.0, top - w.y - 2.0, color);
        let label_w = 88.0;
        for (k, v) in view::incident_facts(inc, self.lang) {
            w.ensure(BODY * 1.4);
            let y = w.y - BODY;
            w.text_at(
                indent,
                y,
                Font::Regular,
                SMALL + 0.5,
                MUTED,
                &layout::fit(self.t(k), Font::Regular, SMALL + 0.5, label_w - 4.0),
            );
            w.para(
                &clean(&v),
                indent + label_w,
                width - label_w,
                Font::Regular,
                BODY,
                BLACK,
            );
        }
        for (k, v) in [
            ("incidents.description", &inc.description),
            ("incidents.recommendation", &inc.recommendation),
        ] {
            if !v.trim().is_empty() {
                w.gap(2.0);
                w.para(self.t(k), indent, width, Font::Bold, BODY, BLACK);
                w.para(&clean(v), indent, width, Font::Regular, BODY, BLACK);
            }
        }
        if !inc.response.is_empty() {
            w.gap(2.0);
            w.para(
                self.t("incidents.response"),
                indent,
                width,
                Font::Bold,
                BODY,
                BLACK,
            );
            for (i, step) in inc.response.iter().enumerate() {
                w.ensure(BODY * 1.4);
                let y = w.y - BODY;
                w.text_at(
                    indent + 4.0,
                    y,
                    Font::Regular,
                    BODY,
                    BLACK,
                    &encode(&format!("{}.", i + 1)),
                );
                w.para(
                    &clean(step),
                    indent + 18.0,
                    width - 18.0,
                    Font::Regular,
                    BODY,
                    BLACK,
                );
            }
        }
        if !inc.evidence.is_empty() {
            w.gap(2.0);
            w.para(
                self.t("incidents.evidence"),
                indent,
                width,
                Font::Bold,
                BODY,
                BLACK,
            );
            let line_h = MONO * 1.5;
            for e in &inc.evidence {
                w.ensure(line_h + 2.0);
                w.rect(
                    indent,
                    w.y - line_h - 1.0,
                    width,
                    line_h + 1.0,
                    [0xf3, 0xf4, 0xf6],
                );
                let s = format!(
                    "{}:{} {}",
                    escape::visible(&e.file),
                    e.line,
                    escape::visible(&e.raw)
                );
                // Evidence lines are cut to the width: the full line is in
                // the HTML, JSON and CSV, and in the log file itself.
                let bytes = layout::fit(&s, Font::Mono, MONO, width - 6.0);
                let y = w.y - MONO - 1.0;
                w.text_at(indent + 3.0, y, Font::Mono, MONO, BLACK, &bytes);
                w.y -= line_h + 1.0;
            }
        }
        w.gap(4.0);
        let y = w.y;
        w.rect(MARGIN, y, CONTENT_W, 0.5, RULE);
    }

    fn attackers(&self, w: &mut Writer, doc: &ReportDoc) {
        w.heading(self.t("attackers.heading"), H2);
        if doc.top_attackers.is_empty() {
            w.para(
                self.t("attackers.none"),
                MARGIN,
                CONTENT_W,
                Font::Regular,
                BODY,
                BLACK,
            );
            return;
        }
        let cols = [
            Col {
                width: 130.0,
                right: false,
                font: Font::Mono,
            },
            Col {
                width: 62.0,
                right: true,
                font: Font::Regular,
            },
            Col {
                width: 56.0,
                right: true,
                font: Font::Regular,
            },
            Col {
                width: 50.0,
                right: false,
                font: Font::Regular,
            },
            Col {
                width: CONTENT_W - 298.0,
                right: false,
                font: Font::Regular,
            },
        ];
        let header = [
            self.t("attackers.ip").to_string(),
            self.t("attackers.requests").to_string(),
            self.t("attackers.flagged").to_string(),
            self.t("attackers.blocked").to_string(),
            self.t("attackers.categories").to_string(),
        ];
        let rows: Vec<Vec<String>> = doc
            .top_attackers
            .iter()
            .map(|a| {
                let cats: Vec<String> =
                    a.categories.iter().map(|c| self.lang.category(c)).collect();
                vec![
                    clean(&a.ip),
                    self.lang.num(a.requests),
                    self.lang.num(a.flagged),
                    self.t(if a.blocked { "common.yes" } else { "common.no" })
                        .to_string(),
                    clean(&cats.join(", ")),
                ]
            })
            .collect();
        w.table(MARGIN, &cols, &header, &rows, BODY - 0.5);
    }

    /// The chart's rectangles scaled to `width` points, top at the cursor.
    fn draw_chart(&self, w: &mut Writer, chart: &Chart, width: f32) {
        let s = width / chart.width;
        let h = chart.height * s;
        w.ensure(h + 2.0);
        let top = w.y;
        w.rect(MARGIN - 0.5, top - h - 0.5, width + 1.0, h + 1.0, RULE);
        w.rect(MARGIN, top - h, width, h, charts::BACKGROUND);
        for sh in &chart.shapes {
            w.rect(
                MARGIN + sh.x * s,
                top - (sh.y + sh.h) * s,
                sh.w * s,
                sh.h * s,
                sh.color,
            );
        }
        w.y = top - h - 4.0;
    }

    /// Colour squares with labels on one line.
    fn legend(&self, w: &mut Writer, items: &[([u8; 3], String)]) {
        w.ensure(BODY * 1.6);
        let y = w.y - BODY;
        let mut x = MARGIN;
        for (color, label) in items {
            w.rect(x, y - 0.5, 7.0, 7.0, *color);
            let bytes = encode(label);
            w.text_at(x + 10.0, y, Font::Regular, SMALL + 0.5, BLACK, &bytes);
            x += 10.0 + Font::Regular.width(&bytes, SMALL + 0.5) + 14.0;
        }
        w.y -= BODY * 1.6;
    }

    fn charts(&self, w: &mut Writer, doc: &ReportDoc) {
        w.heading(self.t("charts.timeline"), H2);
        match charts::timeline_bars(&doc.timeline) {
            None => w.para(
                self.t("charts.no_data"),
                MARGIN,
                CONTENT_W,
                Font::Regular,
                BODY,
                BLACK,
            ),
            Some(bars) => {
                let chart = charts::timeline_chart(&bars);
                self.draw_chart(w, &chart, CONTENT_W);
                self.legend(
                    w,
                    &[
                        (charts::EVENTS, self.t("charts.legend_events").to_string()),
                        (charts::FLAGGED, self.t("charts.legend_flagged").to_string()),
                    ],
                );
                let range = self.lang.tf(
                    "charts.timeline_range",
                    &[
                        ("start", &format_time(bars.start_ms)),
                        ("end", &format_time(bars.end_ms)),
                        ("width", &self.lang.duration(bars.bucket_ms)),
                        ("max", &self.lang.num(bars.max)),
                    ],
                );
                w.para(&range, MARGIN, CONTENT_W, Font::Regular, SMALL + 0.5, MUTED);
            }
        }
        w.heading(self.t("charts.categories"), H2);
        match charts::categories_chart(&doc.categories) {
            None => w.para(
                self.t("charts.no_data"),
                MARGIN,
                CONTENT_W,
                Font::Regular,
                BODY,
                BLACK,
            ),
            Some(chart) => {
                // Bars on the right, names and counts on the left: here the
                // labels can sit beside their bars.
                let label_w = 170.0;
                let s = (CONTENT_W - label_w) / chart.width;
                let row_h =
                    chart.height * s / charts::category_legend(&doc.categories).len().max(1) as f32;
                w.ensure(chart.height * s + 4.0);
                let top = w.y;
                for sh in &chart.shapes {
                    w.rect(
                        MARGIN + label_w + sh.x * s,
                        top - (sh.y + sh.h) * s,
                        sh.w * s,
                        sh.h * s,
                        sh.color,
                    );
                }
                for (i, (c, _)) in charts::category_legend(&doc.categories).iter().enumerate() {
                    let y = top - (i as f32 + 0.5) * row_h - SMALL / 2.5;
                    let name = self.lang.category(&c.key);
                    w.text_at(
                        MARGIN,
                        y,
                        Font::Regular,
                        SMALL + 0.5,
                        BLACK,
                        &layout::fit(&clean(&name), Font::Regular, SMALL + 0.5, label_w - 50.0),
                    );
                    let n = encode(&self.lang.num(c.count));
                    let nx = MARGIN + label_w - 6.0 - Font::Regular.width(&n, SMALL + 0.5);
                    w.text_at(nx, y, Font::Regular, SMALL + 0.5, MUTED, &n);
                }
                w.y = top - chart.height * s - 6.0;
            }
        }
    }

    fn analytics(&self, w: &mut Writer, doc: &ReportDoc) {
        w.heading(self.t("analytics.heading"), H2);
        let sections = view::analytics_sections(doc, self.lang);
        for (key, rows, mono) in sections {
            w.gap(4.0);
            w.ensure(40.0);
            w.para(
                self.t(key),
                MARGIN,
                CONTENT_W,
                Font::Bold,
                BODY + 0.5,
                BLACK,
            );
            if rows.is_empty() {
                w.para(
                    self.t("analytics.none"),
                    MARGIN,
                    CONTENT_W,
                    Font::Regular,
                    BODY,
                    MUTED,
                );
                continue;
            }
            let cols = [
                Col {
                    width: CONTENT_W - 80.0,
                    right: false,
                    font: if mono { Font::Mono } else { Font::Regular },
                },
                Col {
                    width: 80.0,
                    right: true,
                    font: Font::Regular,
                },
            ];
            let header = [
                self.t("analytics.value").to_string(),
                self.t("analytics.count").to_string(),
            ];
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|c| vec![clean(&c.key), self.lang.num(c.count)])
                .collect();
            w.table(MARGIN, &cols, &header, &cells, BODY - 0.5);
        }
    }

    fn footer(&self, w: &mut Writer, doc: &ReportDoc) {
        w.gap(10.0);
        w.ensure(30.0);
        let y = w.y;
        w.rect(MARGIN, y, CONTENT_W, 0.5, RULE);
        w.gap(4.0);
        let generated = self.lang.tf(
            "footer.generated_by",
            &[("time", &format_time(doc.generated_ms))],
        );
        w.para(&generated, MARGIN, CONTENT_W, Font::Regular, SMALL, MUTED);
        w.para(
            self.t("footer.untrusted"),
            MARGIN,
            CONTENT_W,
            Font::Regular,
            SMALL,
            MUTED,
        );
    }
}

/// Write the PDF objects: catalog, page tree, the three standard fonts,
/// document info, and one page + compressed content stream per page, each
/// stamped with "page n of N" and the scope.
fn assemble(w: Writer, doc: &ReportDoc, lang: Lang) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [
        (Font::Regular, Ref::new(3), "Helvetica"),
        (Font::Bold, Ref::new(4), "Helvetica-Bold"),
        (Font::Mono, Ref::new(5), "Courier"),
    ];
    let info = Ref::new(6);
    let first_page = 10;

    let footer_left = layout::fit(
        &format!("secmo · {}", clean(&doc.scope)),
        Font::Regular,
        SMALL,
        CONTENT_W * 0.6,
    );
    let streams = w.finish(|c, n, total| {
        let label = lang.tf(
            "common.page",
            &[("page", &n.to_string()), ("pages", &total.to_string())],
        );
        let bytes = encode(&label);
        let x = PAGE_W - MARGIN - Font::Regular.width(&bytes, SMALL);
        c.set_fill_rgb(0.42, 0.45, 0.5);
        c.begin_text();
        c.set_font(Font::Regular.name(), SMALL);
        c.next_line(x, 30.0);
        c.show(Str(&bytes));
        c.end_text();
        c.begin_text();
        c.set_font(Font::Regular.name(), SMALL);
        c.next_line(MARGIN, 30.0);
        c.show(Str(&footer_left));
        c.end_text();
    });

    let page_refs: Vec<Ref> = (0..streams.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().copied())
        .count(page_refs.len() as i32);
    for (font, id, base) in fonts {
        let _ = font;
        pdf.type1_font(id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = format!("{} – {}", view::title(doc, lang), clean(&doc.scope));
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("secmo"));

    for (i, stream) in streams.iter().enumerate() {
        let page_id = page_refs[i];
        let content_id = Ref::new(first_page + 2 * i as i32 + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        let mut res = page.resources();
        let mut f = res.fonts();
        for (font, id, _) in fonts {
            f.pair(font.name(), id);
        }
        f.finish();
        res.finish();
        page.finish();
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(stream, 6);
        pdf.stream(content_id, &compressed)
            .filter(Filter::FlateDecode);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_win_ansi() {
        assert_eq!(
            encode("Añadir €5 – “ok”"),
            b"A\xf1adir \x805 \x96 \x93ok\x94".to_vec()
        );
        assert_eq!(encode("Größe"), b"Gr\xf6\xdfe".to_vec());
        assert_eq!(encode("日本\u{1b}▲"), b"????".to_vec());
    }

    #[test]
    fn renders_a_pdf() {
        let pdf = render_pdf(&ReportDoc::default(), Lang::De);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
        assert_eq!(
            pdf,
            render_pdf(&ReportDoc::default(), Lang::De),
            "deterministic"
        );
    }
}
