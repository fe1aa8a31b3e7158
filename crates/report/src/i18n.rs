//! Languages, translation catalogues and the formatting of times and numbers.
//!
//! The catalogues are TOML files in `locales/`, embedded at build time so the
//! binary needs no files at run time, and parsed once on first use. Sections
//! flatten to dotted keys (`[severity] high = …` is `severity.high`). A key
//! missing from a language falls back to English, then to the key itself, so a
//! half-translated catalogue never breaks a report.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
    De,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Es, Lang::De];

    /// `en`, `en-US`, `es_ES`, `DE`, … (the primary subtag, case-insensitive).
    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or("");
        Lang::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::De => "de",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../locales/en.toml"),
            Lang::Es => include_str!("../locales/es.toml"),
            Lang::De => include_str!("../locales/de.toml"),
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Es => 1,
            Lang::De => 2,
        }
    }

    /// The text for `key`, falling back to English, then to the key.
    pub fn t(self, key: &str) -> &'static str {
        let cats = catalogues();
        if let Some(s) = cats[self.index()].get(key) {
            return s;
        }
        if let Some(s) = cats[Lang::En.index()].get(key) {
            return s;
        }
        // The key itself: visible in the output, so a typo shows up in review
        // instead of silently printing nothing.
        leak_key(key)
    }

    /// [`Lang::t`] with `{name}` placeholders replaced by `args`. Values are
    /// inserted verbatim (escaping is the renderer's job) and are not scanned
    /// again, so a value containing `{count}` stays as it is.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.t(key), args)
    }

    /// The name of a severity (`high` → "High"); unknown values as they are.
    pub fn severity(self, s: &str) -> String {
        self.vocab("severity", s)
    }

    /// The name of a threat level (`none` … `critical`).
    pub fn threat(self, s: &str) -> String {
        self.vocab("threat", s)
    }

    /// The name of an attack category (`sqli` → "SQL injection").
    pub fn category(self, s: &str) -> String {
        self.vocab("category", s)
    }

    /// The name of an HTTP status class (`4xx`, `none`).
    pub fn status_class(self, s: &str) -> String {
        self.vocab("status_class", s)
    }

    /// The name of an incident workflow status (`new`, `triaged`, …).
    pub fn incident_status(self, s: &str) -> String {
        self.vocab("incident_status", s)
    }

    /// The name of an event kind (`http`, `auth`, …).
    pub fn kind(self, s: &str) -> String {
        self.vocab("kind", s)
    }

    /// Vocabulary values come from the document (the store, rules): a value
    /// we have no name for is shown as it is rather than as a dotted key.
    fn vocab(self, section: &str, value: &str) -> String {
        let key = format!("{section}.{}", value.to_ascii_lowercase());
        let cats = catalogues();
        cats[self.index()]
            .get(&key)
            .or_else(|| cats[Lang::En.index()].get(&key))
            .map_or_else(|| value.to_string(), |s| s.clone())
    }

    /// `12345` → `12,345` (en) or `12.345` (es, de).
    pub fn num(self, n: u64) -> String {
        let sep = match self {
            Lang::En => ',',
            Lang::Es | Lang::De => '.',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// A bucket width in words (`300000` → "5 min").
    pub fn duration(self, ms: i64) -> String {
        let minutes = (ms / 60_000).max(1);
        if minutes % 1440 == 0 {
            self.tf("common.days", &[("n", &(minutes / 1440).to_string())])
        } else if minutes % 60 == 0 {
            self.tf("common.hours", &[("n", &(minutes / 60).to_string())])
        } else {
            self.tf("common.minutes", &[("n", &minutes.to_string())])
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

type Catalogue = HashMap<String, String>;

fn catalogues() -> &'static [Catalogue; 3] {
    static CATS: OnceLock<[Catalogue; 3]> = OnceLock::new();
    CATS.get_or_init(|| Lang::ALL.map(|l| parse_catalogue(l.source()).unwrap_or_default()))
}

/// Keys not in any catalogue, kept so [`Lang::t`] can hand out `&'static str`.
/// Bounded by the number of distinct keys in the code.
fn leak_key(key: &str) -> &'static str {
    static MISSING: OnceLock<std::sync::Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let m = MISSING.get_or_init(Default::default);
    let mut m = match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(s) = m.get(key) {
        return s;
    }
    let s: &'static str = Box::leak(key.to_string().into_boxed_str());
    m.insert(key.to_string(), s);
    s
}

/// Parse a catalogue: nested tables flatten to dotted keys; non-string values
/// are an error (a catalogue holds only texts).
pub(crate) fn parse_catalogue(src: &str) -> Result<Catalogue, String> {
    let table: toml::Table = toml::from_str(src).map_err(|e| e.to_string())?;
    let mut out = Catalogue::new();
    flatten("", &table, &mut out)?;
    Ok(out)
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalogue) -> Result<(), String> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out)?,
            _ => return Err(format!("{key}: not a string")),
        }
    }
    Ok(())
}

/// Replace `{name}` by its value; unknown placeholders stay as they are.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}` placeholders of a template, sorted.
#[cfg(test)]
fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(after[..close].to_string());
        rest = &after[close + 1..];
    }
    out.sort();
    out
}

/// `YYYY-MM-DD HH:MM UTC`. Times outside jiff's range (bogus data) are shown
/// as the raw millisecond count rather than failing the whole report.
pub fn format_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => format!("@{ms} ms"),
    }
}

/// Only the `HH:MM` of a time (UTC), for times within a known day.
pub fn format_clock(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%H:%M").to_string(),
        Err(_) => format!("@{ms} ms"),
    }
}

/// RFC 3339 UTC with seconds (`2026-11-22T06:00:00Z`), for machine formats.
pub fn format_rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => String::new(),
    }
}

/// A period: `2026-11-22 06:00–07:00 UTC` within one day,
/// `2026-11-22 06:00 – 2026-11-23 06:00 UTC` otherwise.
pub fn format_period(start_ms: i64, end_ms: i64) -> String {
    let (Ok(a), Ok(b)) = (
        jiff::Timestamp::from_millisecond(start_ms),
        jiff::Timestamp::from_millisecond(end_ms),
    ) else {
        return format!("{} – {}", format_time(start_ms), format_time(end_ms));
    };
    let day_a = a.strftime("%Y-%m-%d").to_string();
    let day_b = b.strftime("%Y-%m-%d").to_string();
    if day_a == day_b {
        format!(
            "{day_a} {}–{} UTC",
            format_clock(start_ms),
            format_clock(end_ms)
        )
    } else {
        format!(
            "{} – {}",
            a.strftime("%Y-%m-%d %H:%M"),
            b.strftime("%Y-%m-%d %H:%M UTC")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_language_tags() {
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("ES"), Some(Lang::Es));
        assert_eq!(Lang::parse("de_AT"), Some(Lang::De));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn catalogues_agree_with_english() {
        let en = parse_catalogue(Lang::En.source()).expect("en.toml parses");
        assert!(en.len() > 100, "en has {} keys", en.len());
        for lang in [Lang::Es, Lang::De] {
            let cat = parse_catalogue(lang.source())
                .unwrap_or_else(|e| panic!("{lang}.toml does not parse: {e}"));
            for (k, v) in &en {
                let Some(t) = cat.get(k) else {
                    panic!("{lang}.toml lacks {k}");
                };
                assert_eq!(
                    placeholders(v),
                    placeholders(t),
                    "{lang}.toml {k}: placeholders differ"
                );
                assert!(!t.trim().is_empty(), "{lang}.toml {k} is empty");
            }
            for k in cat.keys() {
                assert!(
                    en.contains_key(k),
                    "{lang}.toml has {k}, unknown to en.toml"
                );
            }
        }
    }

    #[test]
    fn every_vocabulary_value_is_named() {
        let cats = [
            "sqli",
            "xss",
            "path_traversal",
            "command_injection",
            "scanner",
            "sensitive_file",
            "log4shell",
            "brute_force",
            "flood",
            "scraping",
            "error_burst",
            "exfiltration",
            "session_abuse",
            "bot_pattern",
            "traffic_spike",
        ];
        // The categories the detector knows are exactly the ones translated.
        let known: Vec<&str> = secmo_event::Category::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(known, cats);
        let en = parse_catalogue(Lang::En.source()).expect("en parses");
        for c in cats {
            assert!(en.contains_key(&format!("category.{c}")), "{c}");
        }
        for s in secmo_event::Severity::ALL {
            assert!(en.contains_key(&format!("severity.{}", s.as_str())));
            assert!(en.contains_key(&format!("threat.{}", s.as_str())));
            assert!(en.contains_key(&format!("threat.hint_{}", s.as_str())));
        }
        for k in secmo_event::EventKind::ALL {
            assert!(en.contains_key(&format!("kind.{}", k.as_str())));
        }
        for s in [
            "new",
            "triaged",
            "investigating",
            "contained",
            "resolved",
            "closed",
        ] {
            assert!(en.contains_key(&format!("incident_status.{s}")));
        }
        assert_eq!(Lang::De.category("brute_force"), "Brute-Force-Anmeldung");
        assert_eq!(Lang::Es.severity("HIGH"), "Alta");
        assert_eq!(Lang::De.incident_status("made_up"), "made_up");
    }

    #[test]
    fn fills_placeholders_once() {
        assert_eq!(
            Lang::En.tf("incidents.omitted", &[("count", "{count}")]),
            "{count} more incidents are not listed here."
        );
        assert_eq!(fill("a {x} {y} {", &[("x", "1")]), "a 1 {y} {");
        assert_eq!(Lang::Es.t("no.such.key"), "no.such.key");
    }

    #[test]
    fn formats_numbers_and_times() {
        assert_eq!(Lang::En.num(0), "0");
        assert_eq!(Lang::En.num(1234567), "1,234,567");
        assert_eq!(Lang::De.num(12345), "12.345");
        assert_eq!(Lang::En.num(999), "999");
        // 2026-11-22 06:00 UTC
        let t = 1_795_327_200_000;
        assert_eq!(format_time(t), "2026-11-22 06:00 UTC");
        assert_eq!(format_rfc3339(t), "2026-11-22T06:00:00Z");
        assert_eq!(
            format_period(t, t + 3_600_000),
            "2026-11-22 06:00–07:00 UTC"
        );
        assert_eq!(
            format_period(t, t + 86_400_000),
            "2026-11-22 06:00 – 2026-11-23 06:00 UTC"
        );
        assert_eq!(format_time(i64::MAX), format!("@{} ms", i64::MAX));
        assert_eq!(Lang::En.duration(300_000), "5 min");
        assert_eq!(Lang::De.duration(3_600_000), "1 Std.");
    }
}
