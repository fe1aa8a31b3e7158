//! The terminal report. Every string that is not secmo's own goes through
//! [`visible`] so that a log line cannot move the cursor, recolour, retitle
//! or hide text in the reader's terminal.

use super::{
    RenderOptions, RuleGroup, human_bytes, percent, place, rule_groups, thousands, truncate_chars,
    visible,
};
use secmo_detect::analytics::{AnalyticsReport, Timeline, TopList};
use secmo_detect::{Alert, Report, ThreatLevel};
use secmo_event::Severity;
use std::io::{self, Write};

const LABEL: usize = 12;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn severity_sgr(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;97;41",
        Severity::High => "1;31",
        Severity::Medium => "1;33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

fn threat_sgr(t: ThreatLevel) -> &'static str {
    match t {
        ThreatLevel::None => "1;32",
        ThreatLevel::Info => "2",
        ThreatLevel::Low => "36",
        ThreatLevel::Medium => "1;33",
        ThreatLevel::High => "1;31",
        ThreatLevel::Critical => "1;97;41",
    }
}

pub(super) fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let st = Style { color: opts.color };
    let width = opts.width.max(40);
    header(report, &st, out)?;
    alerts(report, opts, width, &st, out)?;
    analytics(&report.analytics, width, &st, out)?;
    inputs(report, width, &st, out)
}

fn header(report: &Report, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let level = report.threat_level.as_str().to_ascii_uppercase();
    writeln!(
        out,
        "{} {}",
        st.bold("secmo analysis — threat level:"),
        st.paint(threat_sgr(report.threat_level), &format!(" {level} "))
    )?;
    let period = match (&report.period_start, &report.period_end) {
        (Some(a), Some(b)) => format!("{} → {}", visible(a), visible(b)),
        _ => "no timestamps".into(),
    };
    writeln!(out, "{:LABEL$}{period}", "period")?;
    let (mut lines, mut parsed, mut skipped, mut unparsed, mut bytes) = (0, 0, 0, 0, 0);
    for i in &report.inputs {
        lines += i.lines;
        parsed += i.parsed;
        skipped += i.skipped;
        unparsed += i.unparsed;
        bytes += i.bytes;
    }
    let files = report.inputs.len();
    writeln!(
        out,
        "{:LABEL$}{files} {}, {} lines ({} parsed, {} skipped, {} unparsed), {}",
        "inputs",
        if files == 1 { "input" } else { "inputs" },
        thousands(lines),
        thousands(parsed),
        thousands(skipped),
        thousands(unparsed),
        human_bytes(bytes)
    )?;
    writeln!(out, "{:LABEL$}{} loaded", "rules", report.rules_loaded)?;
    let counts: Vec<String> = report
        .alert_counts_by_severity()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| st.paint(severity_sgr(*s), &format!("{n} {s}")))
        .collect();
    if counts.is_empty() {
        writeln!(out, "{:LABEL$}none", "alerts")?;
    } else {
        writeln!(
            out,
            "{:LABEL$}{}: {}",
            "alerts",
            report.alerts.len(),
            counts.join(", ")
        )?;
    }
    Ok(())
}

fn section(title: &str, width: usize, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let rule = "─".repeat(width.saturating_sub(title.chars().count() + 1).min(80));
    writeln!(out)?;
    writeln!(out, "{} {}", st.bold(title), st.dim(&rule))
}

/// Attackers listed in full per rule; the rest are counted.
const MAX_ATTACKERS: usize = 50;
/// Attackers of a rule whose evidence gets `max_evidence` lines; later ones get one.
const DETAILED_ATTACKERS: usize = 3;

fn alerts(
    report: &Report,
    opts: &RenderOptions,
    width: usize,
    st: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let groups = rule_groups(report);
    for sev in Severity::ALL.iter().rev() {
        let of_sev: Vec<&RuleGroup> = groups.iter().filter(|g| g.severity == *sev).collect();
        if of_sev.is_empty() {
            continue;
        }
        let n: usize = of_sev.iter().map(|g| g.alerts.len()).sum();
        let title = format!(
            "{} ({n} {})",
            sev.as_str().to_ascii_uppercase(),
            if n == 1 { "alert" } else { "alerts" }
        );
        section(&title, width, st, out)?;
        for g in of_sev {
            rule_group(g, opts, width, st, out)?;
        }
    }
    Ok(())
}

fn rule_group(
    g: &RuleGroup,
    opts: &RenderOptions,
    width: usize,
    st: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(head) = g.head() else {
        return Ok(());
    };
    writeln!(out)?;
    let tally = if g.alerts.len() > 1 {
        format!(
            "  {} attackers, {} events",
            g.alerts.len(),
            thousands(g.events())
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} {}  [{}]  {}{}",
        st.paint(severity_sgr(head.severity), "●"),
        st.bold(&visible(&head.title)),
        head.category,
        st.dim(&format!("rule {}", visible(&head.rule_id))),
        tally
    )?;
    field("what", &visible(&head.description), width, out)?;
    if !head.recommendation.is_empty() {
        field("do", &visible(&head.recommendation), width, out)?;
    }
    for (i, step) in head.response.iter().enumerate() {
        let label = if i == 0 { "response" } else { "" };
        let number = format!("{}. ", i + 1);
        let room = width.saturating_sub(2 + LABEL + number.len()).max(20);
        let pad = " ".repeat(number.len());
        for (j, line) in wrap(&visible(step), room).into_iter().enumerate() {
            let (label, lead) = if j == 0 { (label, &number) } else { ("", &pad) };
            writeln!(out, "  {label:LABEL$}{lead}{line}")?;
        }
    }
    for (i, a) in g.alerts.iter().take(MAX_ATTACKERS).enumerate() {
        let evidence = if i < DETAILED_ATTACKERS {
            opts.max_evidence
        } else {
            opts.max_evidence.min(1)
        };
        attacker(a, i == 0, evidence, width, st, out)?;
    }
    let hidden = g.alerts.len().saturating_sub(MAX_ATTACKERS);
    if hidden > 0 {
        writeln!(
            out,
            "  {:LABEL$}{}",
            "",
            st.dim(&format!("(+{hidden} more attackers; see --format json)"))
        )?;
    }
    Ok(())
}

/// One alert of a rule: who, how often, when, and evidence lines.
fn attacker(
    a: &Alert,
    first: bool,
    max_evidence: usize,
    width: usize,
    st: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut who = Vec::new();
    if let Some(ip) = &a.source_ip {
        who.push(format!("ip {}", visible(ip)));
    }
    if let Some(user) = &a.user {
        who.push(format!("user {}", visible(user)));
    }
    if who.is_empty() {
        who.push("unknown attacker".into());
    }
    let when = match (&a.first_seen, &a.last_seen) {
        (Some(f), Some(l)) if f == l => format!("at {}", visible(f)),
        (Some(f), Some(l)) => format!("{} → {}", visible(f), visible(l)),
        _ => "no timestamps".into(),
    };
    let line = format!(
        "{}  {} {}  {}",
        st.bold(&who.join(", ")),
        thousands(a.count),
        plural(a.count, "time", "times"),
        st.dim(&when)
    );
    let label = if first { "attackers" } else { "" };
    writeln!(out, "  {label:LABEL$}{line}")?;
    let room = width.saturating_sub(4 + LABEL).max(20);
    for e in a.evidence.iter().take(max_evidence) {
        let place = visible(&place(e)).into_owned();
        let raw_room = room.saturating_sub(place.chars().count() + 2).max(16);
        let raw = visible(&e.raw);
        writeln!(
            out,
            "  {:LABEL$}  {}  {}",
            "",
            st.dim(&place),
            truncate_chars(&raw, raw_room)
        )?;
    }
    let hidden = a.evidence.len().saturating_sub(max_evidence);
    if hidden > 0 && max_evidence > 0 {
        writeln!(
            out,
            "  {:LABEL$}  {}",
            "",
            st.dim(&format!("(+{hidden} more lines)"))
        )?;
    }
    Ok(())
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// `  label       text`, the text word-wrapped under itself.
fn field(label: &str, text: &str, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let room = width.saturating_sub(2 + LABEL).max(20);
    let mut lines = wrap(text, room).into_iter();
    writeln!(out, "  {label:LABEL$}{}", lines.next().unwrap_or_default())?;
    for l in lines {
        writeln!(out, "  {:LABEL$}{l}", "")?;
    }
    Ok(())
}

/// Greedy word wrap by characters; words longer than a line are cut.
fn wrap(text: &str, room: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut w: Vec<char> = word.chars().collect();
        while w.len() > room {
            if cur_len > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_len = 0;
            }
            lines.push(w.drain(..room).collect());
        }
        if w.is_empty() {
            continue;
        }
        if cur_len > 0 && cur_len + 1 + w.len() > room {
            lines.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        if cur_len > 0 {
            cur.push(' ');
            cur_len += 1;
        }
        cur_len += w.len();
        cur.extend(w);
    }
    if cur_len > 0 || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn analytics(a: &AnalyticsReport, width: usize, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    section("TRAFFIC", width, st, out)?;
    let t = &a.totals;
    let kinds: Vec<String> = a
        .by_kind
        .iter()
        .map(|k| format!("{} {}", k.kind, thousands(k.count)))
        .collect();
    let mut line = format!("  {} events", thousands(t.events));
    if !kinds.is_empty() {
        line.push_str(&format!(" ({})", kinds.join(", ")));
    }
    line.push_str(&format!(
        ", {}{} unique IPs",
        if t.unique_ips_estimated { "~" } else { "" },
        thousands(t.unique_ips)
    ));
    writeln!(out, "{line}")?;
    if t.http_requests > 0 {
        writeln!(
            out,
            "  {} HTTP requests, {} errors ({}), {} sent",
            thousands(t.http_requests),
            thousands(t.http_errors),
            percent(t.http_errors, t.http_requests),
            human_bytes(t.bytes_sent)
        )?;
    }
    let s = &a.status_classes;
    let answered =
        s.allowed + s.blocked + s.not_found + s.other_client_error + s.server_error + s.other;
    if answered > 0 {
        let parts = [
            ("allowed", s.allowed),
            ("blocked", s.blocked),
            ("not found", s.not_found),
            ("other 4xx", s.other_client_error),
            ("5xx", s.server_error),
            ("other", s.other),
        ];
        let text: Vec<String> = parts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| format!("{l} {} ({})", thousands(*n), percent(*n, answered)))
            .collect();
        writeln!(out, "  status: {}", text.join(", "))?;
    }
    let au = &a.auth;
    if au.login_successes + au.login_failures + au.invalid_users + au.privilege_changes > 0 {
        writeln!(
            out,
            "  logins: {} succeeded, {} failed, {} for invalid users, {} privilege changes",
            thousands(au.login_successes),
            thousands(au.login_failures),
            thousands(au.invalid_users),
            thousands(au.privilege_changes)
        )?;
    }
    let total = t.events.max(1);
    top("Top source IPs", &a.top_source_ips, total, width, st, out)?;
    top("Top pages", &a.top_pages, total, width, st, out)?;
    top(
        "Top not-found pages",
        &a.top_not_found,
        total,
        width,
        st,
        out,
    )?;
    top(
        "Top referrer domains",
        &a.top_referrer_domains,
        total,
        width,
        st,
        out,
    )?;
    top("Top user agents", &a.top_user_agents, total, width, st, out)?;
    top(
        "Top users with failed logins",
        &au.top_failed_users,
        total,
        width,
        st,
        out,
    )?;
    top(
        "Top IPs with failed logins",
        &au.top_failed_ips,
        total,
        width,
        st,
        out,
    )?;
    timeline(&a.timeline, width, st, out)
}

fn top(
    title: &str,
    list: &TopList,
    total: u64,
    width: usize,
    st: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    if list.entries.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let note = if list.max_error > 0 {
        format!(" (counts may be up to {} low)", thousands(list.max_error))
    } else {
        String::new()
    };
    writeln!(out, "  {}{}", st.bold(title), st.dim(&note))?;
    let max = list
        .entries
        .iter()
        .map(|e| e.count)
        .max()
        .unwrap_or(1)
        .max(1);
    const BAR: usize = 12;
    let room = width.saturating_sub(4 + 10 + 8 + BAR + 3).max(16);
    for (i, e) in list.entries.iter().enumerate() {
        let filled = ((e.count as f64 / max as f64) * BAR as f64).round() as usize;
        let bar = format!(
            "{}{}",
            "█".repeat(filled.min(BAR)),
            " ".repeat(BAR - filled.min(BAR))
        );
        let value = visible(&e.value);
        writeln!(
            out,
            "  {:>2}. {:>9} {:>7} {} {}",
            i + 1,
            thousands(e.count),
            percent(e.count, total),
            st.paint("36", &bar),
            truncate_chars(&value, room)
        )?;
    }
    Ok(())
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn spark(values: &[u64], max: u64) -> String {
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                let i = ((v as f64 / max.max(1) as f64) * 7.0).round() as usize;
                SPARKS[i.min(7)]
            }
        })
        .collect()
}

fn timeline(t: &Timeline, width: usize, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let (Some(first), Some(last)) = (t.buckets.first(), t.buckets.last()) else {
        return Ok(());
    };
    writeln!(out)?;
    writeln!(
        out,
        "  {} {}",
        st.bold("Timeline"),
        st.dim(&format!(
            "({} buckets from {} to {})",
            visible(&t.bucket),
            visible(&first.start),
            visible(&last.start)
        ))
    )?;
    let events: Vec<u64> = t.buckets.iter().map(|b| b.events).collect();
    let errors: Vec<u64> = t.buckets.iter().map(|b| b.http_errors).collect();
    let max = events.iter().copied().max().unwrap_or(0);
    let max_errors = errors.iter().copied().max().unwrap_or(0);
    // Up to 100 buckets (the most a timeline has) stay on one line rather than wrap a short tail.
    let room = width
        .saturating_sub(4 + LABEL)
        .max(10)
        .max(t.buckets.len().min(100));
    for (i, (ev, er)) in events.chunks(room).zip(errors.chunks(room)).enumerate() {
        let (l1, l2) = if i == 0 {
            ("events", "errors")
        } else {
            ("", "")
        };
        writeln!(out, "  {l1:LABEL$}{}", st.paint("36", &spark(ev, max)))?;
        if max_errors > 0 {
            writeln!(
                out,
                "  {l2:LABEL$}{}",
                st.paint("31", &spark(er, max_errors))
            )?;
        }
    }
    let peak = |v: &[u64]| {
        v.iter()
            .enumerate()
            .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
            .and_then(|(i, n)| Some((*n, &t.buckets.get(i)?.start)))
    };
    let mut notes = Vec::new();
    if let Some((n, at)) = peak(&events) {
        notes.push(format!("peak {} events at {}", thousands(n), visible(at)));
    }
    if let Some((n, at)) = peak(&errors).filter(|(n, _)| *n > 0) {
        notes.push(format!("{} HTTP errors at {}", thousands(n), visible(at)));
    }
    writeln!(out, "  {:LABEL$}{}", "", st.dim(&notes.join("; ")))?;
    if t.events_without_time > 0 {
        writeln!(
            out,
            "  {:LABEL$}{} events had no timestamp",
            "",
            thousands(t.events_without_time)
        )?;
    }
    Ok(())
}

fn inputs(report: &Report, width: usize, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    section("INPUTS", width, st, out)?;
    for i in &report.inputs {
        writeln!(
            out,
            "  {}  {}  {} lines: {} parsed, {} skipped, {} unparsed",
            st.bold(&visible(&i.file)),
            visible(&i.format),
            thousands(i.lines),
            thousands(i.parsed),
            thousands(i.skipped),
            thousands(i.unparsed)
        )?;
        for s in &i.unparsed_samples {
            let head = format!("line {}: {}: ", s.line, visible(&s.reason));
            let room = width.saturating_sub(6 + head.chars().count()).max(16);
            writeln!(
                out,
                "    {}{}",
                st.dim(&head),
                truncate_chars(&visible(&s.raw), room)
            )?;
        }
        if let Some(e) = &i.error {
            writeln!(out, "    {} {}", st.paint("1;31", "error:"), visible(e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::{SCRIPT, hostile_report};

    fn rendered(color: bool) -> String {
        let opts = RenderOptions {
            color,
            max_evidence: 3,
            width: 100,
        };
        let mut buf = Vec::new();
        render(&hostile_report(), &opts, &mut buf).unwrap_or_default();
        String::from_utf8(buf).unwrap_or_default()
    }

    #[test]
    fn no_escape_sequences_without_colour() {
        let text = rendered(false);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
        assert!(text.starts_with("secmo analysis — threat level:  CRITICAL \n"));
        // The hostile sequences are shown, escaped.
        assert!(text.contains("\\x1b[31mRED"));
        assert!(text.contains("\\x1b]0;title\\x07"));
        assert!(text.contains(SCRIPT));
    }

    #[test]
    fn colour_only_from_secmo() {
        let text = rendered(true);
        assert!(text.contains("\x1b[1;97;41m CRITICAL \x1b[0m"));
        // Every ESC in the output starts one of secmo's own SGR sequences.
        for (i, _) in text.match_indices('\x1b') {
            let rest = &text[i + 1..];
            let end = rest.find('m').unwrap_or(usize::MAX);
            assert!(
                end < 12,
                "ESC not followed by SGR: {:?}",
                &rest[..rest.len().min(20)]
            );
            assert!(
                rest[..end].starts_with('[')
                    && rest[1..end].chars().all(|c| c.is_ascii_digit() || c == ';')
            );
        }
        assert!(!text.contains("\x1b[31mRED"));
    }

    #[test]
    fn alerts_grouped_critical_first_with_details() {
        let text = rendered(false);
        let crit = text.find("CRITICAL (1 alert)").unwrap_or(usize::MAX);
        let high = text.find("HIGH (1 alert)").unwrap_or(usize::MAX);
        let medium = text.find("MEDIUM (1 alert)").unwrap_or(usize::MAX);
        assert!(crit < high && high < medium && medium < usize::MAX);
        assert!(text.contains("ip 203.0.113.9"));
        assert!(text.contains("42 times"));
        assert!(text.contains("access.log:17"));
        assert!(text.contains("(+1 more lines)"));
        assert!(text.contains("response    1. block_ip"));
        // The 5,000-byte evidence line is cut.
        assert!(text.lines().all(|l| l.chars().count() <= 130), "long line");
        // The forged newline did not start a line.
        assert!(!text.lines().any(|l| l.starts_with("forged line")));
        assert!(text.contains("Block the source IP"));
        assert!(text.contains("Top source IPs"));
        assert!(text.contains("Timeline"));
        assert!(text.contains("line 99: no request line"));
    }

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
    }

    #[test]
    fn sparkline_scales() {
        assert_eq!(spark(&[0, 1, 8], 8), " ▂█");
    }
}
