//! One self-contained HTML page: no script, no external resource, a
//! Content-Security-Policy that forbids both, and every string not written by
//! secmo HTML-escaped (control characters made visible first). The timeline
//! chart is inline SVG whose attributes are numbers computed here.

use super::{
    RenderOptions, RuleGroup, human_bytes, percent, place, rule_groups, thousands, visible,
};
use secmo_detect::analytics::{AnalyticsReport, Timeline, TopList};
use secmo_detect::{Alert, Report, ThreatLevel};
use secmo_event::Severity;
use std::fmt::Write as _;
use std::io::{self, Write};

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 6px}
.banner{padding:18px 24px;color:#fff}.banner p{margin:4px 0 0}
.lvl-critical{background:#8b0000}.lvl-high{background:#c0392b}.lvl-medium{background:#b9770e}
.lvl-low{background:#2471a3}.lvl-info{background:#5d6d7e}.lvl-none{background:#1e8449}
.card{background:#fff;border-radius:6px;padding:12px 16px;margin:10px 0;border-left:6px solid #999}
.card.sev-critical{border-color:#8b0000}.card.sev-high{border-color:#c0392b}
.card.sev-medium{border-color:#b9770e}.card.sev-low{border-color:#2471a3}.card.sev-info{border-color:#5d6d7e}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:12px;margin-right:6px}
.b-critical{background:#8b0000}.b-high{background:#c0392b}.b-medium{background:#b9770e}
.b-low{background:#2471a3}.b-info{background:#5d6d7e}
ol{margin:0;padding-left:20px}
dl{display:grid;grid-template-columns:130px 1fr;gap:2px 10px;margin:6px 0}dt{color:#5d6d7e}dd{margin:0}
pre{background:#f0f1f4;padding:6px 8px;margin:2px 0;white-space:pre-wrap;word-break:break-all;font-size:12px}
table{border-collapse:collapse;background:#fff;margin:6px 0 14px;min-width:50%}
td,th{padding:3px 10px;border-bottom:1px solid #e3e5ea;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.v{word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:0 24px}
.muted{color:#5d6d7e}svg{background:#fff;border-radius:6px}
";

/// `s` safe as HTML text or a quoted attribute value.
fn esc(s: &str) -> String {
    let s = visible(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn threat_class(t: ThreatLevel) -> &'static str {
    t.as_str()
}

fn sev_class(s: Severity) -> &'static str {
    s.as_str()
}

pub(super) fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    page(report, opts, &mut h)
        .map_err(|_| io::Error::other("formatting the HTML report failed"))?;
    out.write_all(h.as_bytes())
}

fn page(report: &Report, opts: &RenderOptions, h: &mut String) -> std::fmt::Result {
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    h.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n");
    writeln!(
        h,
        "<title>secmo report — threat level {}</title>",
        report.threat_level.as_str()
    )?;
    writeln!(h, "<style>{STYLE}</style></head><body>")?;
    banner(report, h)?;
    h.push_str("<main>\n");
    alerts(report, opts, h)?;
    analytics(&report.analytics, h)?;
    inputs(report, h)?;
    h.push_str("</main></body></html>\n");
    Ok(())
}

fn banner(report: &Report, h: &mut String) -> std::fmt::Result {
    let level = report.threat_level;
    writeln!(
        h,
        "<header class=\"banner lvl-{}\"><h1>Threat level: {}</h1>",
        threat_class(level),
        level.as_str().to_ascii_uppercase()
    )?;
    let period = match (&report.period_start, &report.period_end) {
        (Some(a), Some(b)) => format!("{} → {}", esc(a), esc(b)),
        _ => "no timestamps".into(),
    };
    let lines: u64 = report.inputs.iter().map(|i| i.lines).sum();
    let counts: Vec<String> = report
        .alert_counts_by_severity()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    writeln!(
        h,
        "<p>Period {period} · {} input(s), {} lines · {} rules · {} alert(s){}</p></header>",
        report.inputs.len(),
        thousands(lines),
        report.rules_loaded,
        report.alerts.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        }
    )
}

fn alerts(report: &Report, opts: &RenderOptions, h: &mut String) -> std::fmt::Result {
    h.push_str("<h2>Alerts</h2>\n");
    if report.alerts.is_empty() {
        h.push_str("<p class=\"muted\">No alerts.</p>\n");
    }
    for g in rule_groups(report) {
        rule_card(&g, opts, h)?;
    }
    Ok(())
}

/// One card per rule: what it means once, then a row per attacker.
fn rule_card(g: &RuleGroup, opts: &RenderOptions, h: &mut String) -> std::fmt::Result {
    let Some(head) = g.head() else {
        return Ok(());
    };
    let sev = sev_class(head.severity);
    writeln!(
        h,
        "<section class=\"card sev-{sev}\"><h3><span class=\"badge b-{sev}\">{sev}</span>{} <span class=\"muted\">[{}] rule {} · {} attacker(s), {} event(s)</span></h3>",
        esc(&head.title),
        head.category.as_str(),
        esc(&head.rule_id),
        g.alerts.len(),
        thousands(g.events())
    )?;
    h.push_str("<dl>");
    writeln!(
        h,
        "<dt>What happened</dt><dd>{}</dd>",
        esc(&head.description)
    )?;
    writeln!(
        h,
        "<dt>Recommendation</dt><dd>{}</dd>",
        esc(&head.recommendation)
    )?;
    if !head.response.is_empty() {
        h.push_str("<dt>Response</dt><dd><ol>");
        for step in &head.response {
            writeln!(h, "<li>{}</li>", esc(step))?;
        }
        h.push_str("</ol></dd>");
    }
    h.push_str("</dl>\n<table><tr><th>Attacker</th><th>Count</th><th>First seen</th><th>Last seen</th><th>Evidence</th></tr>\n");
    for a in &g.alerts {
        attacker_row(a, opts, h)?;
    }
    h.push_str("</table></section>\n");
    Ok(())
}

fn attacker_row(a: &Alert, opts: &RenderOptions, h: &mut String) -> std::fmt::Result {
    let attacker = [
        a.source_ip.as_ref().map(|ip| format!("IP {}", esc(ip))),
        a.user.as_ref().map(|u| format!("user {}", esc(u))),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("<br>");
    writeln!(
        h,
        "<tr><td class=\"v\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>",
        if attacker.is_empty() {
            "unknown".into()
        } else {
            attacker
        },
        thousands(a.count),
        a.first_seen.as_deref().map(esc).unwrap_or_default(),
        a.last_seen.as_deref().map(esc).unwrap_or_default()
    )?;
    let shown = opts.max_evidence.max(1);
    for e in a.evidence.iter().take(shown) {
        writeln!(
            h,
            "<pre>{}  {}</pre>",
            esc(&place(e)),
            esc(&clip(&e.raw, 2000))
        )?;
    }
    let hidden = a.evidence.len().saturating_sub(shown);
    if hidden > 0 {
        writeln!(h, "<span class=\"muted\">+{hidden} more</span>")?;
    }
    h.push_str("</td></tr>\n");
    Ok(())
}

fn clip(s: &str, max_chars: usize) -> String {
    super::truncate_chars(s, max_chars).into_owned()
}

fn analytics(a: &AnalyticsReport, h: &mut String) -> std::fmt::Result {
    h.push_str("<h2>Traffic</h2>\n<table>");
    let t = &a.totals;
    let rows = [
        ("Events", thousands(t.events)),
        ("HTTP requests", thousands(t.http_requests)),
        (
            "HTTP errors (≥ 400)",
            format!(
                "{} ({})",
                thousands(t.http_errors),
                percent(t.http_errors, t.http_requests)
            ),
        ),
        (
            "Unique IPs",
            format!(
                "{}{}",
                if t.unique_ips_estimated { "≈ " } else { "" },
                thousands(t.unique_ips)
            ),
        ),
        ("Bytes sent", human_bytes(t.bytes_sent)),
        ("Logins succeeded", thousands(a.auth.login_successes)),
        ("Logins failed", thousands(a.auth.login_failures)),
    ];
    for (k, v) in rows {
        writeln!(h, "<tr><th>{k}</th><td class=\"n\">{v}</td></tr>")?;
    }
    h.push_str("</table>\n");
    let s = &a.status_classes;
    let answered =
        s.allowed + s.blocked + s.not_found + s.other_client_error + s.server_error + s.other;
    h.push_str("<h3>Responses</h3><table><tr><th>Class</th><th>Count</th><th>Share</th></tr>");
    for (k, n) in [
        ("Allowed (2xx, 3xx)", s.allowed),
        ("Blocked (401, 403, 429)", s.blocked),
        ("Not found (404)", s.not_found),
        ("Other client errors (4xx)", s.other_client_error),
        ("Server errors (5xx)", s.server_error),
        ("Other", s.other),
    ] {
        writeln!(
            h,
            "<tr><td>{k}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            thousands(n),
            percent(n, answered)
        )?;
    }
    h.push_str("</table>\n");
    timeline(&a.timeline, h)?;
    h.push_str("<div class=\"grid\">\n");
    let total = t.events;
    top("Top source IPs", &a.top_source_ips, total, h)?;
    top("Top pages", &a.top_pages, total, h)?;
    top("Top not-found pages", &a.top_not_found, total, h)?;
    top("Top referrer domains", &a.top_referrer_domains, total, h)?;
    top("Top user agents", &a.top_user_agents, total, h)?;
    top(
        "Users with failed logins",
        &a.auth.top_failed_users,
        total,
        h,
    )?;
    top("IPs with failed logins", &a.auth.top_failed_ips, total, h)?;
    h.push_str("</div>\n");
    Ok(())
}

fn top(title: &str, list: &TopList, total: u64, h: &mut String) -> std::fmt::Result {
    if list.entries.is_empty() {
        return Ok(());
    }
    writeln!(
        h,
        "<div><h3>{title}</h3><table><tr><th>#</th><th>Count</th><th>Share</th><th>Value</th></tr>"
    )?;
    for (i, e) in list.entries.iter().enumerate() {
        writeln!(
            h,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"v\">{}</td></tr>",
            i + 1,
            thousands(e.count),
            percent(e.count, total),
            esc(&e.value)
        )?;
    }
    h.push_str("</table>");
    if list.max_error > 0 {
        writeln!(
            h,
            "<p class=\"muted\">Counts may be up to {} low (too many distinct values to count exactly).</p>",
            thousands(list.max_error)
        )?;
    }
    h.push_str("</div>\n");
    Ok(())
}

/// Bars of events (grey) with HTTP errors (red) over them; only numbers go
/// into attributes, bucket times go into `<title>` text, escaped.
fn timeline(t: &Timeline, h: &mut String) -> std::fmt::Result {
    let (Some(first), Some(last)) = (t.buckets.first(), t.buckets.last()) else {
        return Ok(());
    };
    writeln!(
        h,
        "<h3>Timeline <span class=\"muted\">({} buckets, {} to {})</span></h3>",
        esc(&t.bucket),
        esc(&first.start),
        esc(&last.start)
    )?;
    const W: u64 = 1000;
    const H: u64 = 160;
    let n = t.buckets.len() as u64;
    let max = t.buckets.iter().map(|b| b.events).max().unwrap_or(0).max(1);
    let step = (W / n.max(1)).max(1);
    let bar = step.saturating_sub(1).max(1);
    writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{W}\" height=\"{}\" viewBox=\"0 0 {W} {}\">",
        H + 20,
        H + 20
    )?;
    for (i, b) in t.buckets.iter().enumerate() {
        let x = i as u64 * step;
        let eh = b.events * H / max;
        let rh = b.http_errors.min(b.events) * H / max;
        writeln!(
            h,
            "<g><title>{}: {} events, {} HTTP errors</title><rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{eh}\" fill=\"#95a5a6\"/><rect x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{rh}\" fill=\"#c0392b\"/></g>",
            esc(&b.start),
            b.events,
            b.http_errors,
            H - eh,
            H - rh
        )?;
    }
    writeln!(
        h,
        "<text x=\"0\" y=\"{}\" font-size=\"12\" fill=\"#5d6d7e\">peak {} events per bucket</text></svg>",
        H + 16,
        thousands(max)
    )?;
    if t.events_without_time > 0 {
        writeln!(
            h,
            "<p class=\"muted\">{} events had no timestamp.</p>",
            thousands(t.events_without_time)
        )?;
    }
    Ok(())
}

fn inputs(report: &Report, h: &mut String) -> std::fmt::Result {
    h.push_str("<h2>Inputs</h2>\n<table><tr><th>File</th><th>Format</th><th>Size</th><th>Lines</th><th>Parsed</th><th>Skipped</th><th>Unparsed</th></tr>\n");
    for i in &report.inputs {
        writeln!(
            h,
            "<tr><td class=\"v\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&i.file),
            esc(&i.format),
            human_bytes(i.bytes),
            thousands(i.lines),
            thousands(i.parsed),
            thousands(i.skipped),
            thousands(i.unparsed)
        )?;
    }
    h.push_str("</table>\n");
    for i in &report.inputs {
        if let Some(e) = &i.error {
            writeln!(
                h,
                "<p><strong>{}</strong>: read error: {}</p>",
                esc(&i.file),
                esc(e)
            )?;
        }
        if i.unparsed_samples.is_empty() {
            continue;
        }
        writeln!(h, "<h3>Unparsed lines in {}</h3>", esc(&i.file))?;
        for s in &i.unparsed_samples {
            writeln!(
                h,
                "<pre>line {}: {}: {}</pre>",
                s.line,
                esc(&s.reason),
                esc(&clip(&s.raw, 500))
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::hostile_report;

    fn rendered() -> String {
        let mut buf = Vec::new();
        render(&hostile_report(), &RenderOptions::default(), &mut buf).unwrap_or_default();
        String::from_utf8(buf).unwrap_or_default()
    }

    #[test]
    fn escapes_everything_from_logs() {
        let html = rendered();
        assert!(!html.contains("<script"), "script tag leaked");
        assert!(!html.contains("<img"), "img tag leaked");
        assert!(!html.contains("onerror=alert(1)>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains('\x1b'));
        assert!(html.contains("\\x1b[31mRED"));
        assert!(!html.chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn self_contained_without_script() {
        let html = rendered();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        ));
        let lower = html.to_ascii_lowercase();
        for banned in [
            "<script",
            "javascript:",
            "<link",
            "<iframe",
            "src=\"http",
            "href=\"http",
            "@import",
            "url(",
        ] {
            assert!(!lower.contains(banned), "{banned}");
        }
        // The only URL is the SVG namespace, which loads nothing.
        assert_eq!(lower.matches("http://").count(), 1);
        assert!(html.contains("class=\"banner lvl-critical\""));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn svg_attributes_are_numbers() {
        let html = rendered();
        let start = html.find("<svg").unwrap_or(0);
        let end = html.find("</svg>").unwrap_or(0);
        assert!(end > start);
        let svg = &html[start..end];
        assert_eq!(svg.matches("<rect").count(), 10);
        for tag in svg.split('<').filter(|t| t.starts_with("rect")) {
            for attr in tag.split_whitespace().skip(1) {
                let Some((name, value)) = attr.split_once('=') else {
                    continue;
                };
                let value = value.trim_end_matches("/>").trim_matches('"');
                if name == "fill" {
                    assert!(
                        value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
                    );
                } else {
                    assert!(value.parse::<u64>().is_ok(), "{name}={value}");
                }
            }
        }
    }

    #[test]
    fn alert_cards_in_severity_order() {
        let html = rendered();
        let c = html.find("card sev-critical").unwrap_or(usize::MAX);
        let hi = html.find("card sev-high").unwrap_or(usize::MAX);
        let m = html.find("card sev-medium").unwrap_or(usize::MAX);
        assert!(c < hi && hi < m && m < usize::MAX);
        assert!(html.contains("Block the source IP"));
        assert!(html.contains("access.log:17"));
        assert!(html.contains("+1 more"));
    }
}
