//! The HTML report, written for the strictest reader: mail clients. Table
//! layout, inline `style=""` only (Gmail drops `<style>` blocks, Outlook
//! ignores most CSS), no scripts, no external resources, at most 680 px wide,
//! and every number written as text so it reads with images blocked. Every
//! document string goes through [`esc`]: log lines are attacker-controlled.

use crate::charts;
use crate::escape;
use crate::i18n::{Lang, format_period, format_time};
use crate::model::{Count, ReportDoc, ReportIncident};
use crate::view::{self, hex};
use base64::Engine as _;
use std::fmt::Write;

/// How the charts are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageMode {
    /// Images inline as `data:` URIs: one self-contained file for a browser.
    DataUri,
    /// Images referenced as `cid:…` and returned in [`RenderedHtml::images`],
    /// for a `multipart/related` e-mail (many clients block `data:` images).
    Cid,
}

/// An image to attach inline to an e-mail (`Content-ID: <{content_id}>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportImage {
    /// Without angle brackets, e.g. `timeline@secmo`.
    pub content_id: String,
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedHtml {
    pub html: String,
    /// Empty in [`ImageMode::DataUri`].
    pub images: Vec<ReportImage>,
}

pub const TIMELINE_CID: &str = "timeline@secmo";
pub const CATEGORIES_CID: &str = "categories@secmo";

/// Pixels per chart unit in the PNGs: sharp on high-density screens, still
/// a few kilobytes.
const PNG_SCALE: u32 = 2;

const TEXT: &str = "#111827";
const MUTED: &str = "#6b7280";
const BORDER: &str = "#e5e7eb";
const FONT: &str = "Arial,Helvetica,sans-serif";
const MONO: &str = "Consolas,Menlo,'Courier New',monospace";

fn esc(s: &str) -> String {
    escape::html(s)
}

/// Render the report as HTML.
pub fn render_html(doc: &ReportDoc, lang: Lang, mode: ImageMode) -> RenderedHtml {
    let mut h = Html {
        out: String::with_capacity(32 * 1024),
        lang,
        mode,
        images: Vec::new(),
    };
    h.document(doc);
    RenderedHtml {
        html: h.out,
        images: h.images,
    }
}

/// One incident's block as in the report, for notifications.
pub(crate) fn incident_html(inc: &ReportIncident, lang: Lang) -> String {
    let mut h = Html {
        out: String::new(),
        lang,
        mode: ImageMode::DataUri,
        images: Vec::new(),
    };
    h.incident(inc);
    h.out
}

struct Html {
    out: String,
    lang: Lang,
    mode: ImageMode,
    images: Vec<ReportImage>,
}

impl Html {
    fn t(&self, key: &str) -> String {
        esc(self.lang.t(key))
    }

    fn document(&mut self, doc: &ReportDoc) {
        let title = esc(&view::title(doc, self.lang));
        let _ = write!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} – {scope}</title></head>\n\
             <body style=\"margin:0;padding:0;background:#f3f4f6;\">\n\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"background:#f3f4f6;\"><tr><td align=\"center\" style=\"padding:16px 8px;\">\n\
             <table role=\"presentation\" width=\"680\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"width:100%;max-width:680px;background:#ffffff;border:1px solid {BORDER};font-family:{FONT};font-size:14px;line-height:1.45;color:{TEXT};\">\n",
            lang = self.lang.as_str(),
            scope = esc(&doc.scope),
        );
        self.header(doc, &title);
        self.banner(doc);
        self.summary(doc);
        self.changes(doc);
        self.incidents(doc);
        self.attackers(doc);
        self.charts(doc);
        self.analytics(doc);
        self.footer(doc);
        self.out
            .push_str("</table>\n</td></tr></table>\n</body></html>\n");
    }

    fn header(&mut self, doc: &ReportDoc, title: &str) {
        let _ = write!(
            self.out,
            "<tr><td style=\"padding:20px 24px;background:#111827;color:#ffffff;\">\
             <h1 style=\"margin:0 0 8px 0;font-size:22px;line-height:1.2;color:#ffffff;\">{title}</h1>\
             <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"color:#e5e7eb;font-size:13px;\">",
        );
        for (k, v) in [
            ("report.scope", doc.scope.clone()),
            (
                "report.period",
                format_period(doc.period_start_ms, doc.period_end_ms),
            ),
            ("report.generated", format_time(doc.generated_ms)),
        ] {
            let _ = write!(
                self.out,
                "<tr><td style=\"padding:1px 12px 1px 0;color:#9ca3af;\">{}</td><td style=\"padding:1px 0;\">{}</td></tr>",
                self.t(k),
                esc(&v)
            );
        }
        self.out.push_str("</table></td></tr>\n");
    }

    fn banner(&mut self, doc: &ReportDoc) {
        let level = self.lang.threat(&doc.threat_level);
        let text = self.lang.tf("threat.banner", &[("level", &level)]);
        let _ = writeln!(
            self.out,
            "<tr><td style=\"padding:14px 24px;background:{bg};color:#ffffff;\">\
             <div style=\"font-size:18px;font-weight:bold;\">{}</div>\
             <div style=\"font-size:13px;\">{}</div></td></tr>",
            esc(&text),
            esc(&view::threat_hint(doc, self.lang)),
            bg = hex(view::severity_color(&doc.threat_level)),
        );
    }

    fn section_start(&mut self, heading_key: &str) {
        let _ = write!(
            self.out,
            "<tr><td style=\"padding:18px 24px 4px 24px;\">\
             <h2 style=\"margin:0 0 10px 0;font-size:17px;line-height:1.3;color:{TEXT};border-bottom:2px solid {BORDER};padding-bottom:4px;\">{}</h2>",
            self.t(heading_key)
        );
    }

    fn section_end(&mut self) {
        self.out.push_str("</td></tr>\n");
    }

    fn summary(&mut self, doc: &ReportDoc) {
        self.section_start("summary.heading");
        self.out.push_str(
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">",
        );
        let nums = view::summary_numbers(&doc.summary);
        for row in nums.chunks(3) {
            self.out.push_str("<tr>");
            for (k, v) in row {
                let _ = write!(
                    self.out,
                    "<td width=\"33%\" style=\"padding:6px 8px 10px 0;vertical-align:top;\">\
                     <div style=\"font-size:22px;font-weight:bold;\">{}</div>\
                     <div style=\"font-size:12px;color:{MUTED};\">{}</div></td>",
                    esc(&self.lang.num(*v)),
                    self.t(k)
                );
            }
            self.out.push_str("</tr>");
        }
        self.out.push_str("</table>");
        if !doc.summary.by_severity.is_empty() {
            let _ = write!(
                self.out,
                "<p style=\"margin:4px 0 8px 0;font-size:13px;\"><strong>{}:</strong> {}</p>",
                self.t("summary.by_severity"),
                esc(&view::by_severity_line(&doc.summary, self.lang))
            );
        }
        self.section_end();
    }

    fn changes(&mut self, doc: &ReportDoc) {
        let Some(rows) = view::changes(doc) else {
            return;
        };
        self.section_start("changes.heading");
        self.table_start(&[
            ("changes.metric", false),
            ("changes.previous", true),
            ("changes.current", true),
            ("changes.change", true),
        ]);
        for c in rows {
            let _ = write!(
                self.out,
                "<tr><td style=\"{td}\">{}</td><td style=\"{td}text-align:right;\">{}</td>\
                 <td style=\"{td}text-align:right;\">{}</td>\
                 <td style=\"{td}text-align:right;color:{color};font-weight:bold;\">{}</td></tr>",
                self.t(c.label),
                esc(&self.lang.num(c.previous)),
                esc(&self.lang.num(c.current)),
                esc(&c.delta_text(self.lang, true)),
                td = TD,
                color = hex(c.color()),
            );
        }
        self.out.push_str("</table>");
        self.section_end();
    }

    fn table_start(&mut self, headers: &[(&str, bool)]) {
        self.out.push_str(
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse;font-size:13px;margin:0 0 8px 0;\"><tr>",
        );
        for (k, right) in headers {
            let _ = write!(
                self.out,
                "<th style=\"{TH}{}\">{}</th>",
                if *right {
                    "text-align:right;"
                } else {
                    "text-align:left;"
                },
                self.t(k)
            );
        }
        self.out.push_str("</tr>");
    }

    fn incidents(&mut self, doc: &ReportDoc) {
        self.section_start("incidents.heading");
        if doc.incidents.is_empty() {
            let _ = write!(
                self.out,
                "<p style=\"margin:0 0 8px 0;\">{}</p>",
                self.t("incidents.none")
            );
        }
        for inc in &doc.incidents {
            self.incident(inc);
        }
        if doc.incidents_omitted > 0 {
            let _ = write!(
                self.out,
                "<p style=\"margin:0 0 8px 0;color:{MUTED};\">{}</p>",
                esc(&self.lang.tf(
                    "incidents.omitted",
                    &[("count", &self.lang.num(doc.incidents_omitted))]
                ))
            );
        }
        self.section_end();
    }

    fn incident(&mut self, inc: &ReportIncident) {
        let color = hex(view::severity_color(&inc.severity));
        let _ = write!(
            self.out,
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"border:1px solid {BORDER};border-left:4px solid {color};margin:0 0 14px 0;\">\
             <tr><td style=\"padding:10px 12px;\">\
             <div style=\"margin:0 0 6px 0;\"><span style=\"background:{color};color:#ffffff;font-size:11px;font-weight:bold;padding:2px 6px;text-transform:uppercase;\">{sev}</span> \
             <strong style=\"font-size:15px;\">{id}{title}</strong></div>",
            sev = esc(&self.lang.severity(&inc.severity)),
            id = inc.id.map(|i| format!("#{i} ")).unwrap_or_default(),
            title = esc(&inc.title),
        );
        self.out.push_str(
            "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"font-size:13px;margin:0 0 6px 0;\">",
        );
        for (k, v) in view::incident_facts(inc, self.lang) {
            let _ = write!(
                self.out,
                "<tr><td style=\"padding:1px 12px 1px 0;color:{MUTED};vertical-align:top;white-space:nowrap;\">{}</td><td style=\"padding:1px 0;word-break:break-all;\">{}</td></tr>",
                self.t(k),
                esc(&v)
            );
        }
        self.out.push_str("</table>");
        for (k, v) in [
            ("incidents.description", &inc.description),
            ("incidents.recommendation", &inc.recommendation),
        ] {
            if !v.trim().is_empty() {
                let _ = write!(
                    self.out,
                    "<p style=\"margin:6px 0;\"><strong>{}</strong><br>{}</p>",
                    self.t(k),
                    esc(v)
                );
            }
        }
        if !inc.response.is_empty() {
            let _ = write!(
                self.out,
                "<p style=\"margin:6px 0 2px 0;\"><strong>{}</strong></p><ol style=\"margin:0 0 6px 0;padding-left:22px;\">",
                self.t("incidents.response")
            );
            for step in &inc.response {
                let _ = write!(
                    self.out,
                    "<li style=\"margin:0 0 2px 0;\">{}</li>",
                    esc(step)
                );
            }
            self.out.push_str("</ol>");
        }
        if !inc.evidence.is_empty() {
            let _ = write!(
                self.out,
                "<p style=\"margin:6px 0 2px 0;\"><strong>{}</strong></p>\
                 <div style=\"font-family:{MONO};font-size:12px;line-height:1.4;background:#f9fafb;border:1px solid {BORDER};padding:6px 8px;word-break:break-all;\">",
                self.t("incidents.evidence")
            );
            for (i, e) in inc.evidence.iter().enumerate() {
                if i > 0 {
                    self.out.push_str("<br>");
                }
                let _ = write!(
                    self.out,
                    "<span style=\"color:{MUTED};\">{}:{}</span> {}",
                    esc(&e.file),
                    e.line,
                    esc(&escape::visible(&e.raw))
                );
            }
            self.out.push_str("</div>");
        }
        self.out.push_str("</td></tr></table>");
    }

    fn attackers(&mut self, doc: &ReportDoc) {
        self.section_start("attackers.heading");
        if doc.top_attackers.is_empty() {
            let _ = write!(
                self.out,
                "<p style=\"margin:0 0 8px 0;\">{}</p>",
                self.t("attackers.none")
            );
            self.section_end();
            return;
        }
        self.table_start(&[
            ("attackers.ip", false),
            ("attackers.requests", true),
            ("attackers.flagged", true),
            ("attackers.categories", false),
            ("attackers.blocked", false),
        ]);
        for a in &doc.top_attackers {
            let cats: Vec<String> = a.categories.iter().map(|c| self.lang.category(c)).collect();
            let _ = write!(
                self.out,
                "<tr><td style=\"{TD}font-family:{MONO};word-break:break-all;\">{}</td>\
                 <td style=\"{TD}text-align:right;\">{}</td><td style=\"{TD}text-align:right;\">{}</td>\
                 <td style=\"{TD}\">{}</td><td style=\"{TD}\">{}</td></tr>",
                esc(&a.ip),
                esc(&self.lang.num(a.requests)),
                esc(&self.lang.num(a.flagged)),
                esc(&cats.join(", ")),
                self.t(if a.blocked { "common.yes" } else { "common.no" }),
            );
        }
        self.out.push_str("</table>");
        self.section_end();
    }

    /// Attach or inline one PNG and return the `src` for it.
    fn image_src(&mut self, cid: &str, png: Vec<u8>) -> String {
        match self.mode {
            ImageMode::DataUri => format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&png)
            ),
            ImageMode::Cid => {
                self.images.push(ReportImage {
                    content_id: cid.to_string(),
                    mime: "image/png",
                    bytes: png,
                });
                format!("cid:{cid}")
            }
        }
    }

    fn charts(&mut self, doc: &ReportDoc) {
        self.section_start("charts.timeline");
        match charts::timeline_bars(&doc.timeline) {
            None => {
                let _ = write!(
                    self.out,
                    "<p style=\"margin:0 0 8px 0;\">{}</p>",
                    self.t("charts.no_data")
                );
            }
            Some(bars) => {
                let chart = charts::timeline_chart(&bars);
                if let Ok(png) = charts::to_png(&chart, PNG_SCALE) {
                    let src = self.image_src(TIMELINE_CID, png);
                    let alt = self.t("charts.timeline");
                    self.img(&src, &alt, chart.width, chart.height);
                }
                self.swatch_legend(&[
                    (
                        charts::EVENTS,
                        self.lang.t("charts.legend_events").to_string(),
                    ),
                    (
                        charts::FLAGGED,
                        self.lang.t("charts.legend_flagged").to_string(),
                    ),
                ]);
                let range = self.lang.tf(
                    "charts.timeline_range",
                    &[
                        ("start", &format_time(bars.start_ms)),
                        ("end", &format_time(bars.end_ms)),
                        ("width", &self.lang.duration(bars.bucket_ms)),
                        ("max", &self.lang.num(bars.max)),
                    ],
                );
                let _ = write!(
                    self.out,
                    "<p style=\"margin:2px 0 8px 0;font-size:12px;color:{MUTED};\">{}</p>",
                    esc(&range)
                );
            }
        }
        self.section_end();

        self.section_start("charts.categories");
        match charts::categories_chart(&doc.categories) {
            None => {
                let _ = write!(
                    self.out,
                    "<p style=\"margin:0 0 8px 0;\">{}</p>",
                    self.t("charts.no_data")
                );
            }
            Some(chart) => {
                if let Ok(png) = charts::to_png(&chart, PNG_SCALE) {
                    let src = self.image_src(CATEGORIES_CID, png);
                    let alt = self.t("charts.categories");
                    self.img(&src, &alt, chart.width, chart.height);
                }
                // The legend is the data: name and count beside each colour.
                self.out.push_str(
                    "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"font-size:13px;margin:6px 0 8px 0;\">",
                );
                for (c, color) in charts::category_legend(&doc.categories) {
                    let _ = write!(
                        self.out,
                        "<tr><td style=\"padding:2px 6px 2px 0;\"><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr><td width=\"12\" height=\"12\" bgcolor=\"{col}\" style=\"width:12px;height:12px;background:{col};font-size:1px;line-height:1px;\">&nbsp;</td></tr></table></td>\
                         <td style=\"padding:2px 12px 2px 0;\">{}</td><td style=\"padding:2px 0;text-align:right;\">{}</td></tr>",
                        esc(&self.lang.category(&c.key)),
                        esc(&self.lang.num(c.count)),
                        col = hex(color),
                    );
                }
                self.out.push_str("</table>");
            }
        }
        self.section_end();
    }

    fn img(&mut self, src: &str, alt: &str, w: f32, h: f32) {
        let _ = write!(
            self.out,
            "<img src=\"{src}\" width=\"{w}\" height=\"{h}\" alt=\"{alt}\" style=\"display:block;width:100%;max-width:{w}px;height:auto;border:1px solid {BORDER};\">",
            w = w as u32,
            h = h as u32,
        );
    }

    fn swatch_legend(&mut self, items: &[([u8; 3], String)]) {
        self.out.push_str(
            "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"font-size:12px;margin:6px 0 0 0;\"><tr>",
        );
        for (color, label) in items {
            let _ = write!(
                self.out,
                "<td width=\"12\" height=\"12\" bgcolor=\"{col}\" style=\"width:12px;height:12px;background:{col};font-size:1px;line-height:1px;\">&nbsp;</td>\
                 <td style=\"padding:0 14px 0 6px;\">{}</td>",
                esc(label),
                col = hex(*color),
            );
        }
        self.out.push_str("</tr></table>");
    }

    fn analytics(&mut self, doc: &ReportDoc) {
        let a = &doc.analytics;
        self.section_start("analytics.heading");
        let lang = self.lang;
        self.count_table("analytics.top_pages", &a.top_pages, |s| s.to_string(), true);
        self.count_table(
            "analytics.top_referrers",
            &a.top_referrers,
            |s| s.to_string(),
            true,
        );
        self.count_table(
            "analytics.status_classes",
            &a.status_classes,
            |s| lang.status_class(s),
            false,
        );
        self.count_table("analytics.by_kind", &a.by_kind, |s| lang.kind(s), false);
        self.section_end();
    }

    fn count_table(
        &mut self,
        heading: &str,
        rows: &[Count],
        name: impl Fn(&str) -> String,
        mono: bool,
    ) {
        let _ = write!(
            self.out,
            "<h3 style=\"margin:10px 0 4px 0;font-size:14px;\">{}</h3>",
            self.t(heading)
        );
        if rows.is_empty() {
            let _ = write!(
                self.out,
                "<p style=\"margin:0 0 6px 0;color:{MUTED};\">{}</p>",
                self.t("analytics.none")
            );
            return;
        }
        self.table_start(&[("analytics.value", false), ("analytics.count", true)]);
        let font = if mono {
            format!("font-family:{MONO};")
        } else {
            String::new()
        };
        for c in rows {
            let _ = write!(
                self.out,
                "<tr><td style=\"{TD}{font}word-break:break-all;\">{}</td><td style=\"{TD}text-align:right;white-space:nowrap;\">{}</td></tr>",
                esc(&name(&c.key)),
                esc(&self.lang.num(c.count))
            );
        }
        self.out.push_str("</table>");
    }

    fn footer(&mut self, doc: &ReportDoc) {
        let mut lines = vec![
            self.lang.tf(
                "footer.generated_by",
                &[("time", &format_time(doc.generated_ms))],
            ),
            self.lang.t("footer.untrusted").to_string(),
        ];
        if self.mode == ImageMode::Cid {
            lines.push(self.lang.t("report.images_note").to_string());
        }
        let _ = write!(
            self.out,
            "<tr><td style=\"padding:14px 24px 18px 24px;border-top:1px solid {BORDER};font-size:12px;color:{MUTED};\">"
        );
        for l in lines {
            let _ = write!(self.out, "<p style=\"margin:0 0 4px 0;\">{}</p>", esc(&l));
        }
        self.out.push_str("</td></tr>\n");
    }
}

const TD: &str = "padding:4px 6px;border-bottom:1px solid #e5e7eb;vertical-align:top;";
const TH: &str = "padding:4px 6px;border-bottom:2px solid #d1d5db;font-size:12px;color:#374151;";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn doc() -> ReportDoc {
        ReportDoc {
            version: REPORT_VERSION,
            scope: "web-1 <b>".into(),
            threat_level: "high".into(),
            incidents: vec![ReportIncident {
                title: "x\"><img src=x onerror=alert(1)>".into(),
                severity: "high".into(),
                category: "xss".into(),
                evidence: vec![EvidenceLine {
                    file: "a.log".into(),
                    line: 3,
                    raw: "GET /?q=<script>alert(1)</script> \u{1b}[2J".into(),
                }],
                ..Default::default()
            }],
            timeline: Timeline {
                bucket_ms: 60_000,
                points: vec![TimelinePoint {
                    t_ms: 0,
                    events: 5,
                    flagged: 1,
                }],
            },
            categories: vec![Count {
                key: "xss".into(),
                count: 1,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn escapes_and_attaches() {
        let r = render_html(&doc(), Lang::En, ImageMode::Cid);
        assert!(!r.html.contains("<script>"));
        assert!(!r.html.contains("<img src=x"));
        assert!(!r.html.contains("<b>"));
        assert!(!r.html.contains('\u{1b}'));
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(r.html.contains("src=\"cid:timeline@secmo\""));
        assert!(r.html.contains("src=\"cid:categories@secmo\""));
        assert_eq!(r.images.len(), 2);
        assert!(r.images.iter().all(|i| i.bytes.starts_with(b"\x89PNG")));

        let r = render_html(&doc(), Lang::De, ImageMode::DataUri);
        assert!(r.images.is_empty());
        assert_eq!(r.html.matches("src=\"data:image/png;base64,").count(), 2);
        assert!(r.html.contains("lang=\"de\""));
        assert!(r.html.contains("Vorfälle"));
    }

    #[test]
    fn says_plainly_when_there_is_nothing() {
        let r = render_html(&ReportDoc::default(), Lang::En, ImageMode::Cid);
        assert!(r.html.contains("No incidents in this period."));
        assert!(r.html.contains("No data for this chart."));
        assert!(r.images.is_empty());
        assert!(!r.html.contains("What changed"));
    }
}
