//! What every human-readable renderer (HTML, text, PDF, notifications) derives
//! from the document the same way: the "what changed" rows, severity colours,
//! headings. Kept here so the formats cannot drift apart.

use crate::i18n::{Lang, format_time};
use crate::model::{Count, PeriodSummary, ReportDoc, ReportIncident};

/// One row of "what changed since the previous period".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// Catalogue key of the measure's name.
    pub label: &'static str,
    pub previous: u64,
    pub current: u64,
    /// Whether a rise is bad news (every measure but plain traffic): decides
    /// the colour, never the arrow.
    pub rise_is_bad: bool,
}

/// How a measure moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delta {
    Same,
    /// Zero before, something now: a percentage would be infinite.
    New,
    Up(u64),
    Down(u64),
}

impl Change {
    pub fn delta(&self) -> Delta {
        let (p, c) = (self.previous, self.current);
        if p == c {
            Delta::Same
        } else if p == 0 {
            Delta::New
        } else {
            // u128: no overflow whatever the counts.
            let diff = u128::from(p.abs_diff(c));
            let pct = (diff * 100 + u128::from(p) / 2) / u128::from(p);
            let pct = u64::try_from(pct).unwrap_or(u64::MAX);
            if c > p {
                Delta::Up(pct)
            } else {
                Delta::Down(pct)
            }
        }
    }

    /// `▲ 25%`, `▼ 10%`, `new`, `no change`; with `arrows` false (fonts
    /// without the triangles) `+25%` and `-10%`.
    pub fn delta_text(&self, lang: Lang, arrows: bool) -> String {
        match self.delta() {
            Delta::Same => lang.t("changes.same").to_string(),
            Delta::New => lang.t("changes.new").to_string(),
            Delta::Up(p) if arrows => format!("▲ {}%", lang.num(p)),
            Delta::Down(p) if arrows => format!("▼ {}%", lang.num(p)),
            Delta::Up(p) => format!("+{}%", lang.num(p)),
            Delta::Down(p) => format!("-{}%", lang.num(p)),
        }
    }

    /// Red for worse, green for better, grey for neutral or unchanged.
    pub fn color(&self) -> [u8; 3] {
        if !self.rise_is_bad {
            return GREY;
        }
        match self.delta() {
            Delta::Same => GREY,
            Delta::New | Delta::Up(_) => RED,
            Delta::Down(_) => GREEN,
        }
    }
}

const GREY: [u8; 3] = [0x6b, 0x72, 0x80];
const RED: [u8; 3] = [0xb9, 0x1c, 0x1c];
const GREEN: [u8; 3] = [0x04, 0x78, 0x57];

/// The rows of "what changed", when the document has a previous period.
pub(crate) fn changes(doc: &ReportDoc) -> Option<Vec<Change>> {
    let prev = doc.previous.as_ref()?;
    let cur = &doc.summary;
    let row = |label, f: fn(&PeriodSummary) -> u64, rise_is_bad| Change {
        label,
        previous: f(prev),
        current: f(cur),
        rise_is_bad,
    };
    Some(vec![
        row("summary.events", |s| s.events, false),
        row("summary.flagged", |s| s.flagged_events, true),
        row("summary.incidents", |s| s.incidents, true),
        row("summary.attackers", |s| s.attackers, true),
        row("summary.high_or_worse", |s| s.high_or_worse, true),
    ])
}

/// The summary numbers, in display order: (catalogue key, value).
pub(crate) fn summary_numbers(s: &PeriodSummary) -> [(&'static str, u64); 6] {
    [
        ("summary.events", s.events),
        ("summary.flagged", s.flagged_events),
        ("summary.incidents", s.incidents),
        ("summary.high_or_worse", s.high_or_worse),
        ("summary.attackers", s.attackers),
        ("summary.blocked", s.blocked_ips),
    ]
}

/// The colour of a severity or threat level (unknown values grey).
pub(crate) fn severity_color(s: &str) -> [u8; 3] {
    match s.to_ascii_lowercase().as_str() {
        "critical" => [0x7f, 0x1d, 0x1d],
        "high" => [0xdc, 0x26, 0x26],
        "medium" => [0xd9, 0x77, 0x06],
        "low" => [0x25, 0x63, 0xeb],
        "info" => [0x6b, 0x72, 0x80],
        "none" => [0x04, 0x78, 0x57],
        _ => GREY,
    }
}

pub(crate) fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// The report's title: with its number once stored.
pub(crate) fn title(doc: &ReportDoc, lang: Lang) -> String {
    match doc.id {
        Some(id) => lang.tf("report.title_id", &[("id", &id.to_string())]),
        None => lang.t("report.title").to_string(),
    }
}

/// The hint under the threat banner ("act now", …); empty for unknown levels.
pub(crate) fn threat_hint(doc: &ReportDoc, lang: Lang) -> String {
    let level = doc.threat_level.to_ascii_lowercase();
    match level.as_str() {
        "none" | "info" | "low" | "medium" | "high" | "critical" => {
            lang.t(&format!("threat.hint_{level}")).to_string()
        }
        _ => String::new(),
    }
}

/// "Critical 1 · High 3" (the incidents by severity).
pub(crate) fn by_severity_line(s: &PeriodSummary, lang: Lang) -> String {
    s.by_severity
        .iter()
        .map(|c| format!("{} {}", lang.severity(&c.key), lang.num(c.count)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The facts of an incident as (catalogue key of the label, value), the
/// absent ones left out. Values are raw document text: escape per format.
pub(crate) fn incident_facts(inc: &ReportIncident, lang: Lang) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(8);
    if let Some(ip) = &inc.source_ip {
        out.push(("incidents.attacker", ip.clone()));
    }
    if let Some(u) = &inc.user {
        out.push(("incidents.user", u.clone()));
    }
    if let Some(s) = &inc.status {
        out.push(("incidents.status", lang.incident_status(s)));
    }
    out.push(("incidents.count", lang.num(inc.count)));
    out.push(("incidents.first_seen", format_time(inc.first_seen_ms)));
    out.push(("incidents.last_seen", format_time(inc.last_seen_ms)));
    out.push(("incidents.category", lang.category(&inc.category)));
    out.push(("incidents.rule", inc.rule_id.clone()));
    out
}

/// The heading of an incident: `#12 High: SQL injection attempt`.
pub(crate) fn incident_heading(inc: &ReportIncident, lang: Lang) -> String {
    let sev = lang.severity(&inc.severity);
    match inc.id {
        Some(id) => format!("#{id} {sev}: {}", inc.title),
        None => format!("{sev}: {}", inc.title),
    }
}

/// The analytics tables of text and PDF: catalogue key of the heading, rows
/// (status classes and kinds translated), and whether the keys are raw log
/// values (pages, referrers: set in a fixed-width font).
pub(crate) fn analytics_sections(
    doc: &ReportDoc,
    lang: Lang,
) -> [(&'static str, Vec<Count>, bool); 4] {
    let a = &doc.analytics;
    let translated = |list: &[Count], f: &dyn Fn(&str) -> String| -> Vec<Count> {
        list.iter()
            .map(|c| Count {
                key: f(&c.key),
                count: c.count,
            })
            .collect()
    };
    [
        ("analytics.top_pages", a.top_pages.clone(), true),
        ("analytics.top_referrers", a.top_referrers.clone(), true),
        (
            "analytics.status_classes",
            translated(&a.status_classes, &|k| lang.status_class(k)),
            false,
        ),
        (
            "analytics.by_kind",
            translated(&a.by_kind, &|k| lang.kind(k)),
            false,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(previous: u64, current: u64, rise_is_bad: bool) -> Change {
        Change {
            label: "summary.events",
            previous,
            current,
            rise_is_bad,
        }
    }

    #[test]
    fn deltas() {
        assert_eq!(ch(4, 5, true).delta(), Delta::Up(25));
        assert_eq!(ch(10, 9, true).delta(), Delta::Down(10));
        assert_eq!(ch(0, 3, true).delta(), Delta::New);
        assert_eq!(ch(3, 3, true).delta(), Delta::Same);
        assert_eq!(ch(3, 0, true).delta(), Delta::Down(100));
        assert_eq!(ch(1, u64::MAX, true).delta(), Delta::Up(u64::MAX));
        assert_eq!(ch(4, 5, true).delta_text(Lang::En, true), "▲ 25%");
        assert_eq!(ch(10, 9, true).delta_text(Lang::En, false), "-10%");
        assert_eq!(ch(0, 9, true).delta_text(Lang::De, true), "neu");
        assert_eq!(ch(4, 5, true).color(), RED);
        assert_eq!(ch(5, 4, true).color(), GREEN);
        assert_eq!(ch(4, 5, false).color(), GREY);
        assert_eq!(ch(5, 5, true).color(), GREY);
    }
}
