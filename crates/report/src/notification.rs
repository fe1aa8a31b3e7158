//! Short texts for instant incident alerts (e-mail, Slack, Telegram) and for
//! the digest sent when rate limiting held alerts back, plus the report's
//! e-mail subject. The channel picks `text` or `html`; `subject` is a single
//! line safe for a mail header (no control characters, bounded length).

use crate::escape;
use crate::i18n::{Lang, format_clock, format_period, format_time};
use crate::model::{ReportDoc, ReportIncident};
use crate::{html, text, view};
use std::fmt::Write;

/// What a channel sends for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationText {
    pub subject: String,
    /// Plain text (Telegram, Slack fallback, `text/plain` part).
    pub text: String,
    /// An HTML fragment (e-mail), every document string escaped.
    pub html: String,
}

/// Incidents listed in a digest; the rest are counted.
pub const DIGEST_LIST: usize = 20;
/// Subjects longer than this are cut (mail headers, chat previews).
const SUBJECT_MAX: usize = 200;

/// One line, no control characters (a newline in a header would let an
/// attacker's title inject headers), bounded.
fn one_line(s: &str) -> String {
    escape::truncate(escape::inline(s).trim(), SUBJECT_MAX)
}

/// The report's subject, e.g. `[secmo] High threat level: 4 incidents on
/// web-1 (2026-11-22 06:00–07:00 UTC)`.
pub fn subject(doc: &ReportDoc, lang: Lang) -> String {
    let period = format_period(doc.period_start_ms, doc.period_end_ms);
    // The summary counts every incident of the period; the list may be capped.
    let count = doc
        .summary
        .incidents
        .max(doc.incidents.len() as u64 + doc.incidents_omitted);
    let level = lang.threat(&doc.threat_level);
    let key = match count {
        0 => "subject.none",
        1 => "subject.one",
        _ => "subject.many",
    };
    one_line(&lang.tf(
        key,
        &[
            ("level", &level),
            ("count", &lang.num(count)),
            ("scope", &doc.scope),
            ("period", &period),
        ],
    ))
}

/// Only `http(s)` links are put in messages: the link comes from
/// configuration, but a `javascript:` URL must never become a clickable href.
fn safe_link(link: Option<&str>) -> Option<&str> {
    let l = link?.trim();
    let lower = l.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(l)
}

fn link_html(out: &mut String, lang: Lang, link: Option<&str>) {
    if let Some(l) = safe_link(link) {
        let _ = write!(
            out,
            "<p style=\"margin:10px 0 0 0;\"><a href=\"{}\" style=\"color:#2563eb;\">{}</a></p>",
            escape::html(l),
            escape::html(lang.t("notify.open"))
        );
    }
}

fn wrap_html(inner: &str) -> String {
    format!(
        "<div style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#111827;max-width:680px;\">{inner}</div>"
    )
}

/// The alert for one new incident.
pub fn incident_notification(
    inc: &ReportIncident,
    scope: &str,
    lang: Lang,
    link: Option<&str>,
) -> NotificationText {
    let subject = one_line(&lang.tf(
        "notify.incident_subject",
        &[
            ("severity", &lang.severity(&inc.severity)),
            ("title", &inc.title),
            ("scope", scope),
        ],
    ));
    let intro = lang.tf("notify.intro", &[("scope", scope)]);

    let mut text = String::new();
    for l in text::wrap(&escape::inline(&intro), text::WIDTH, "", "") {
        text.push_str(&l);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&text::incident_text(inc, lang));
    if let Some(l) = safe_link(link) {
        let _ = write!(text, "\n{}: {}\n", lang.t("notify.open"), escape::inline(l));
    }

    let mut h = String::new();
    let _ = write!(
        h,
        "<p style=\"margin:0 0 10px 0;\">{}</p>",
        escape::html(&intro)
    );
    h.push_str(&html::incident_html(inc, lang));
    link_html(&mut h, lang, link);
    NotificationText {
        subject,
        text,
        html: wrap_html(&h),
    }
}

/// The digest of incidents held back by rate limiting: `incidents` as loaded
/// (up to [`DIGEST_LIST`] are listed), `more` held back but not loaded.
pub fn digest_notification(
    incidents: &[ReportIncident],
    more: u64,
    scope: &str,
    lang: Lang,
    link: Option<&str>,
) -> NotificationText {
    let total = (incidents.len() as u64).saturating_add(more);
    let since_ms = incidents.iter().map(|i| i.first_seen_ms).min();
    let until_ms = incidents.iter().map(|i| i.last_seen_ms).max();
    // "since 06:10 UTC" when the digest stays within one day, else the date too.
    let since = match (since_ms, until_ms) {
        (Some(a), Some(b)) if format_time(a).get(..10) == format_time(b).get(..10) => {
            format!("{} UTC", format_clock(a))
        }
        (Some(a), _) => format_time(a),
        (None, _) => "?".to_string(),
    };
    let count = lang.num(total);
    let subject = one_line(&lang.tf(
        "notify.digest_subject",
        &[("count", &count), ("scope", scope)],
    ));
    let intro = lang.tf(
        "notify.digest_intro",
        &[("count", &count), ("time", &since)],
    );
    let held = lang.t("notify.digest_held");
    let shown = &incidents[..incidents.len().min(DIGEST_LIST)];
    let rest = total - shown.len() as u64;
    let more_line =
        (rest > 0).then(|| lang.tf("notify.digest_more", &[("count", &lang.num(rest))]));

    let line_of = |inc: &ReportIncident| {
        let mut s = view::incident_heading(inc, lang);
        if let Some(ip) = &inc.source_ip {
            let _ = write!(s, " ({ip})");
        }
        let _ = write!(
            s,
            " × {} · {}",
            lang.num(inc.count),
            format_time(inc.last_seen_ms)
        );
        s
    };

    let mut text = String::new();
    for l in text::wrap(
        &escape::inline(&format!("{scope}: {intro}")),
        text::WIDTH,
        "",
        "",
    ) {
        text.push_str(&l);
        text.push('\n');
    }
    for inc in shown {
        for l in text::wrap(&escape::inline(&line_of(inc)), text::WIDTH, "- ", "  ") {
            text.push_str(&l);
            text.push('\n');
        }
    }
    if let Some(m) = &more_line {
        text.push_str(m);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(held);
    text.push('\n');
    if let Some(l) = safe_link(link) {
        let _ = write!(text, "\n{}: {}\n", lang.t("notify.open"), escape::inline(l));
    }

    let mut h = String::new();
    let _ = write!(
        h,
        "<p style=\"margin:0 0 8px 0;\"><strong>{}</strong>: {}</p><ul style=\"margin:0 0 8px 0;padding-left:20px;\">",
        escape::html(scope),
        escape::html(&intro)
    );
    for inc in shown {
        let color = view::hex(view::severity_color(&inc.severity));
        let _ = write!(
            h,
            "<li style=\"margin:0 0 3px 0;\"><span style=\"color:{color};font-weight:bold;\">{}</span></li>",
            escape::html(&line_of(inc))
        );
    }
    h.push_str("</ul>");
    if let Some(m) = &more_line {
        let _ = write!(h, "<p style=\"margin:0 0 8px 0;\">{}</p>", escape::html(m));
    }
    let _ = write!(
        h,
        "<p style=\"margin:0;color:#6b7280;font-size:12px;\">{}</p>",
        escape::html(held)
    );
    link_html(&mut h, lang, link);
    NotificationText {
        subject,
        text,
        html: wrap_html(&h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn inc(i: i64) -> ReportIncident {
        ReportIncident {
            id: Some(i),
            rule_id: "web.sqli".into(),
            title: format!("SQL injection <b>{i}</b>\r\nBcc: victim@example.com"),
            category: "sqli".into(),
            severity: "high".into(),
            source_ip: Some("203.0.113.9".into()),
            count: 3,
            first_seen_ms: 1_795_327_800_000 + i * 60_000,
            last_seen_ms: 1_795_327_800_000 + i * 60_000,
            response: vec!["Block the IP".into()],
            ..Default::default()
        }
    }

    #[test]
    fn incident_alert_is_translated_and_safe() {
        let n = incident_notification(
            &inc(7),
            "web-1",
            Lang::Es,
            Some("https://secmo.example/incidents/7"),
        );
        assert!(
            n.subject.starts_with("[secmo] Alta: SQL injection"),
            "{}",
            n.subject
        );
        assert!(!n.subject.contains('\n') && !n.subject.contains('\r'));
        assert!(n.text.contains("Nuevo incidente en web-1."));
        assert!(n.text.contains("1. Block the IP"));
        assert!(
            n.text
                .contains("Abrir en secmo: https://secmo.example/incidents/7")
        );
        assert!(!n.html.contains("<b>"));
        assert!(n.html.contains("&lt;b&gt;"));
        assert!(
            n.html
                .contains("href=\"https://secmo.example/incidents/7\"")
        );

        let n = incident_notification(&inc(7), "web-1", Lang::En, Some("javascript:alert(1)"));
        assert!(!n.html.contains("href"));
        assert!(!n.text.contains("javascript:"));
    }

    #[test]
    fn digest_lists_twenty_and_counts_the_rest() {
        let incs: Vec<_> = (0..25).map(inc).collect();
        let n = digest_notification(&incs, 5, "web-1", Lang::En, None);
        assert_eq!(n.subject, "[secmo] 30 more incidents on web-1");
        assert!(
            n.text.contains("30 more incidents since 06:10 UTC:"),
            "{}",
            n.text
        );
        assert_eq!(n.text.matches("\n- #").count(), DIGEST_LIST);
        assert!(n.text.contains("…and 10 more."));
        assert_eq!(n.html.matches("<li").count(), DIGEST_LIST);
        let n = digest_notification(&incs[..2], 0, "web-1", Lang::De, None);
        assert!(!n.text.contains("weitere."), "{}", n.text);
        assert!(n.text.contains("2 weitere Vorfälle seit 06:10 UTC:"));
        let n = digest_notification(&[], 0, "web-1", Lang::En, None);
        assert!(n.text.contains("0 more incidents"));
    }

    #[test]
    fn report_subject() {
        let doc = ReportDoc {
            scope: "web-1".into(),
            threat_level: "high".into(),
            period_start_ms: 1_795_327_200_000,
            period_end_ms: 1_795_330_800_000,
            summary: PeriodSummary {
                incidents: 4,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            subject(&doc, Lang::En),
            "[secmo] High threat level: 4 incidents on web-1 (2026-11-22 06:00–07:00 UTC)"
        );
        assert_eq!(
            subject(&doc, Lang::De),
            "[secmo] Bedrohungsstufe Hoch: 4 Vorfälle auf web-1 (2026-11-22 06:00–07:00 UTC)"
        );
        let none = ReportDoc {
            threat_level: "none".into(),
            ..doc
        };
        let none = ReportDoc {
            summary: PeriodSummary::default(),
            ..none
        };
        assert!(subject(&none, Lang::En).starts_with("[secmo] No incidents on web-1"));
    }
}
