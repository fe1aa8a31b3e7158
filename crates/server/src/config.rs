//! `secmo.toml`: what to watch, where to keep data, how to respond. Every
//! key has a default, so no file at all is a valid configuration. Unknown
//! keys are errors (a typo must not silently disable a policy).

use ipnet::IpNet;
use secmo_event::{Category, Severity};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value that parsed but makes no sense; `key` is the dotted path.
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Log sources; empty means "the standard log files found on this host".
    pub sources: Vec<SourceConfig>,
    /// A directory of extra rule files (added to, or overriding, the built-in rules).
    pub rules: Option<PathBuf>,
    pub retention: RetentionConfig,
    pub incidents: IncidentConfig,
    pub blocking: BlockingConfig,
    pub auth: AuthConfig,
    pub tls: Option<TlsConfig>,
    /// Largest log accepted by the upload analysis endpoint, in MiB.
    pub upload_limit_mb: u64,
    /// Start reading files that have no checkpoint from their beginning (true)
    /// or only follow what is appended from now on (false).
    pub read_existing: bool,
    /// The dashboard's address as users reach it (links in e-mails and chat messages).
    pub public_url: Option<String>,
    /// Outgoing mail for reports and notifications.
    pub smtp: Option<SmtpConfig>,
    pub reports: ReportsConfig,
    pub notify: NotifyConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("secmo-data"),
            sources: Vec::new(),
            rules: None,
            retention: RetentionConfig::default(),
            incidents: IncidentConfig::default(),
            blocking: BlockingConfig::default(),
            auth: AuthConfig::default(),
            tls: None,
            upload_limit_mb: 64,
            read_existing: true,
            public_url: None,
            smtp: None,
            reports: ReportsConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    /// Paths or globs (`/var/log/nginx/access.log*`).
    pub paths: Vec<String>,
    /// A format name (`access`, `syslog`, `json`, `mysql`, `postgres`, `csv`);
    /// sniffed per file when absent.
    pub format: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub max_age_days: Option<u32>,
    pub max_events: Option<u64>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_age_days: Some(30),
            max_events: Some(50_000_000),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// Alerts of the same rule and attacker within this long update one incident.
    pub window: String,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            window: "1h".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockingConfig {
    /// Automatic blocking; the first policy that matches an incident decides.
    pub policies: Vec<BlockPolicy>,
    /// Never blocked, by hand or by policy.
    pub allowlist: Vec<IpNet>,
    /// Add 127.0.0.0/8 and ::1 to the allowlist.
    pub allow_loopback: bool,
    /// Keep this file listing active blocks, one `deny NET;` line each (nginx include).
    pub nginx_deny_file: Option<PathBuf>,
    /// Keep this file listing active blocks, one network per line.
    pub plain_file: Option<PathBuf>,
    /// Run a program on every block and unblock (argument vector, no shell).
    pub hook: Option<HookConfig>,
}

impl Default for BlockingConfig {
    fn default() -> Self {
        BlockingConfig {
            policies: vec![BlockPolicy {
                min_severity: Some(Severity::High),
                category: None,
                rule: None,
                duration: "1h".into(),
            }],
            allowlist: Vec::new(),
            allow_loopback: true,
            nginx_deny_file: None,
            plain_file: None,
            hook: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockPolicy {
    pub min_severity: Option<Severity>,
    pub category: Option<Category>,
    pub rule: Option<String>,
    /// How long the block lasts (`30m`, `1h`, `7d`); `never` blocks for good.
    #[serde(default = "one_hour")]
    pub duration: String,
}

fn one_hour() -> String {
    "1h".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Program and arguments; `{net}`, `{reason}`, `{expires}` in arguments are replaced.
    pub block: Vec<String>,
    pub unblock: Vec<String>,
    /// Seconds before the program is killed.
    #[serde(default = "ten")]
    pub timeout_secs: u64,
}

fn ten() -> u64 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub admin_user: String,
    /// Prefer the environment variable SECMO_ADMIN_PASSWORD.
    pub admin_password: Option<String>,
    pub session_hours: u64,
    /// Failed logins allowed per client IP within `login_window` before 429.
    pub login_max_failures: u32,
    pub login_window: String,
    /// Serve /metrics without authentication (scrapers rarely log in).
    pub public_metrics: bool,
    /// Reverse proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            admin_user: "admin".into(),
            admin_password: None,
            session_hours: 12,
            login_max_failures: 10,
            login_window: "5m".into(),
            public_metrics: true,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (only for a relay on loopback).
    #[serde(default = "starttls")]
    pub security: String,
    pub username: Option<String>,
    /// Prefer the environment variable SECMO_SMTP_PASSWORD.
    pub password: Option<String>,
    /// `secmo <secmo@example.com>`
    pub from: String,
    #[serde(default = "thirty_seconds")]
    pub timeout: String,
    /// Accept a certificate that does not verify (self-signed relay). Avoid.
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

fn starttls() -> String {
    "starttls".into()
}

fn thirty_seconds() -> String {
    "30s".into()
}

/// An e-mail address, with the language of what it receives.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Recipient {
    Address(String),
    WithLanguage { address: String, language: String },
}

impl Recipient {
    pub fn address(&self) -> &str {
        match self {
            Recipient::Address(a) => a,
            Recipient::WithLanguage { address, .. } => address,
        }
    }
    pub fn language(&self) -> Option<&str> {
        match self {
            Recipient::Address(_) => None,
            Recipient::WithLanguage { language, .. } => Some(language),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Make scheduled reports.
    pub enabled: bool,
    /// An interval (`15m`, `1h`, `1d`) or a cron expression (`0 7 * * *`, UTC).
    pub schedule: String,
    /// Send scheduled reports even when nothing was detected.
    pub always_send: bool,
    pub recipients: Vec<Recipient>,
    /// `en`, `es` or `de`: the default language of reports and notifications.
    pub language: String,
    /// Attach the PDF to report e-mails.
    pub attach_pdf: bool,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            enabled: true,
            schedule: "1h".into(),
            always_send: false,
            recipients: Vec::new(),
            language: "en".into(),
            attach_pdf: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Incidents at or above this severity are notified as soon as they open.
    pub min_severity: Severity,
    /// E-mail recipients of incident notifications.
    pub email: Vec<Recipient>,
    /// At most this many notifications per channel within `window`; the
    /// rest are summed up in one digest when the window ends.
    pub max_per_window: u32,
    pub window: String,
    pub slack: Option<SlackConfig>,
    pub telegram: Option<TelegramConfig>,
    pub webhook: Option<WebhookConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            min_severity: Severity::High,
            email: Vec::new(),
            max_per_window: 10,
            window: "10m".into(),
            slack: None,
            telegram: None,
            webhook: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Prefer the environment variable SECMO_SLACK_WEBHOOK_URL.
    #[serde(default)]
    pub webhook_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Prefer the environment variable SECMO_TELEGRAM_BOT_TOKEN.
    #[serde(default)]
    pub bot_token: String,
    pub chat_id: String,
    #[serde(default = "telegram_api")]
    pub api_base: String,
}

fn telegram_api() -> String {
    "https://api.telegram.org".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// HMAC-SHA256 key; prefer the environment variable SECMO_WEBHOOK_SECRET.
    #[serde(default)]
    pub secret: String,
}

/// When scheduled reports are made.
#[derive(Debug, Clone)]
pub enum Schedule {
    Every(i64),
    Cron(Box<croner::Cron>),
}

impl Schedule {
    pub fn parse(s: &str) -> Result<Schedule, String> {
        if let Ok(ms) = parse_duration_ms(s) {
            if ms < 60_000 {
                return Err(format!("{s:?} is shorter than a minute"));
            }
            return Ok(Schedule::Every(ms));
        }
        s.trim()
            .parse::<croner::Cron>()
            .map(|c| Schedule::Cron(Box::new(c)))
            .map_err(|e| {
                format!(
                    "{s:?} is neither an interval (1h, 1d) nor a cron expression (0 7 * * *): {e}"
                )
            })
    }

    /// The first run strictly after `after_ms`.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        match self {
            Schedule::Every(ms) => after_ms.checked_add(*ms),
            Schedule::Cron(c) => {
                let t = jiff::Timestamp::from_millisecond(after_ms)
                    .ok()?
                    .to_zoned(jiff::tz::TimeZone::UTC);
                c.find_next_occurrence(&t, false)
                    .ok()
                    .map(|d| d.timestamp().as_millisecond())
            }
        }
    }
}

fn is_language(s: &str) -> bool {
    secmo_report::Lang::parse(s).is_some()
}

impl Config {
    /// Read and validate a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Secrets from the environment win over the file.
    pub fn apply_env(&mut self) {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(p) = env("SECMO_ADMIN_PASSWORD") {
            self.auth.admin_password = Some(p);
        }
        if let (Some(p), Some(smtp)) = (env("SECMO_SMTP_PASSWORD"), self.smtp.as_mut()) {
            smtp.password = Some(p);
        }
        if let Some(url) = env("SECMO_SLACK_WEBHOOK_URL") {
            self.notify
                .slack
                .get_or_insert_with(|| SlackConfig {
                    webhook_url: String::new(),
                })
                .webhook_url = url;
        }
        if let (Some(t), Some(tg)) = (
            env("SECMO_TELEGRAM_BOT_TOKEN"),
            self.notify.telegram.as_mut(),
        ) {
            tg.bot_token = t;
        }
        if let (Some(s), Some(wh)) = (env("SECMO_WEBHOOK_SECRET"), self.notify.webhook.as_mut()) {
            wh.secret = s;
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: String, message: String| Err(ConfigError::Invalid { key, message });
        for (i, s) in self.sources.iter().enumerate() {
            if s.name.trim().is_empty() {
                return bad(format!("sources[{i}].name"), "must not be empty".into());
            }
            if s.paths.is_empty() {
                return bad(
                    format!("sources[{i}].paths"),
                    "needs at least one path or glob".into(),
                );
            }
            if let Some(f) = &s.format
                && secmo_parse::Format::parse(f).is_none()
            {
                return bad(
                    format!("sources[{i}].format"),
                    format!("unknown format {f:?} (access, syslog, json, mysql, postgres, csv)"),
                );
            }
        }
        let mut names: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return bad(
                "sources".into(),
                format!("two sources are named {:?}", w[0]),
            );
        }
        if let Err(e) = parse_duration_ms(&self.incidents.window) {
            return bad("incidents.window".into(), e);
        }
        if let Err(e) = parse_duration_ms(&self.auth.login_window) {
            return bad("auth.login_window".into(), e);
        }
        for (i, p) in self.blocking.policies.iter().enumerate() {
            if p.duration != "never"
                && let Err(e) = parse_duration_ms(&p.duration)
            {
                return bad(format!("blocking.policies[{i}].duration"), e);
            }
        }
        if let Some(h) = &self.blocking.hook {
            if h.block.is_empty() {
                return bad("blocking.hook.block".into(), "needs a program".into());
            }
            if h.unblock.is_empty() {
                return bad("blocking.hook.unblock".into(), "needs a program".into());
            }
        }
        if self.auth.session_hours == 0 {
            return bad("auth.session_hours".into(), "must be at least 1".into());
        }
        if self.upload_limit_mb == 0 {
            return bad("upload_limit_mb".into(), "must be at least 1".into());
        }
        if let Some(smtp) = &self.smtp {
            if smtp.host.trim().is_empty() {
                return bad("smtp.host".into(), "must not be empty".into());
            }
            if !["starttls", "tls", "none"].contains(&smtp.security.as_str()) {
                return bad(
                    "smtp.security".into(),
                    format!("{:?} is not starttls, tls or none", smtp.security),
                );
            }
            if !smtp.from.contains('@') {
                return bad(
                    "smtp.from".into(),
                    format!("{:?} is not an e-mail address", smtp.from),
                );
            }
            if let Err(e) = parse_duration_ms(&smtp.timeout) {
                return bad("smtp.timeout".into(), e);
            }
        }
        if let Err(e) = Schedule::parse(&self.reports.schedule) {
            return bad("reports.schedule".into(), e);
        }
        if !is_language(&self.reports.language) {
            return bad(
                "reports.language".into(),
                format!(
                    "{:?} is not a known language (en, es, de)",
                    self.reports.language
                ),
            );
        }
        for (key, list) in [
            ("reports.recipients", &self.reports.recipients),
            ("notify.email", &self.notify.email),
        ] {
            for (i, r) in list.iter().enumerate() {
                if !valid_address(r.address()) {
                    return bad(
                        format!("{key}[{i}]"),
                        format!("{:?} is not an e-mail address", r.address()),
                    );
                }
                if let Some(l) = r.language()
                    && !is_language(l)
                {
                    return bad(
                        format!("{key}[{i}].language"),
                        format!("{l:?} is not a known language (en, es, de)"),
                    );
                }
            }
            if !list.is_empty() && self.smtp.is_none() {
                return bad(
                    key.into(),
                    "e-mail recipients need an [smtp] section".into(),
                );
            }
        }
        if let Err(e) = parse_duration_ms(&self.notify.window) {
            return bad("notify.window".into(), e);
        }
        if self.notify.max_per_window == 0 {
            return bad("notify.max_per_window".into(), "must be at least 1".into());
        }
        if let Some(t) = &self.notify.telegram
            && t.chat_id.trim().is_empty()
        {
            return bad("notify.telegram.chat_id".into(), "must not be empty".into());
        }
        for (key, url) in [
            (
                "notify.slack.webhook_url",
                self.notify.slack.as_ref().map(|s| &s.webhook_url),
            ),
            (
                "notify.webhook.url",
                self.notify.webhook.as_ref().map(|w| &w.url),
            ),
            (
                "notify.telegram.api_base",
                self.notify.telegram.as_ref().map(|t| &t.api_base),
            ),
            ("public_url", self.public_url.as_ref()),
        ] {
            if let Some(u) = url
                && !(u.starts_with("https://") || u.starts_with("http://"))
            {
                return bad(key.into(), format!("{u:?} is not an http(s) URL"));
            }
        }
        Ok(())
    }

    pub fn incident_window_ms(&self) -> i64 {
        parse_duration_ms(&self.incidents.window).unwrap_or(3_600_000)
    }
}

/// A plausible address: one `@`, something on both sides, no spaces or
/// header-breaking characters. (The SMTP library checks the rest.)
pub fn valid_address(a: &str) -> bool {
    let a = a.trim();
    match a.split_once('@') {
        Some((user, host)) => {
            !user.is_empty()
                && host.contains('.')
                && !host.contains('@')
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        }
        None => false,
    }
}

/// `90s`, `5m`, `1h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 5m, 1h, 7d"))?;
    let mult = match unit.trim() {
        "" | "s" => 1_000,
        "ms" => 1,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(format!("{s:?} has an unknown unit (use ms, s, m, h, d, w)")),
    };
    if n <= 0 {
        return Err(format!("{s:?} must be positive"));
    }
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        let cfg: Config = toml::from_str("").expect("empty config");
        cfg.validate().expect("default is valid");
        assert_eq!(cfg.listen.port(), 8080);
        assert_eq!(cfg.blocking.policies.len(), 1);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = toml::from_str::<Config>("[retention]\nmax_age_dayz = 3\n").unwrap_err();
        assert!(err.to_string().contains("max_age_dayz"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cfg: Config =
            toml::from_str("[[sources]]\nname = \"web\"\npaths = [\"/x\"]\nformat = \"apache2\"\n")
                .expect("parses");
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("sources[0].format"), "{err}");

        let cfg: Config = toml::from_str("[incidents]\nwindow = \"5 parsecs\"\n").expect("parses");
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("incidents.window"), "{err}");

        let err = toml::from_str::<Config>("listen = \"nowhere\"\n").unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
    }

    #[test]
    fn the_documented_example_is_valid() {
        let cfg: Config = toml::from_str(include_str!("../../../docs/secmo.example.toml"))
            .expect("docs/secmo.example.toml parses");
        cfg.validate().expect("and is valid");
        assert_eq!(cfg.sources.len(), 2);
        assert_eq!(cfg.blocking.policies[0].min_severity, Some(Severity::High));
    }

    #[test]
    fn report_schedules_and_recipients() {
        let every = Schedule::parse("1h").expect("interval");
        assert_eq!(every.next_after(0), Some(3_600_000));
        assert!(Schedule::parse("30s").is_err(), "below a minute");
        // 07:00 UTC every day: from 2026-11-22 06:30 UTC the next is 07:00 that day.
        let cron = Schedule::parse("0 7 * * *").expect("cron");
        let t = 1_795_329_000_000; // 2026-11-22T06:30:00Z
        assert_eq!(cron.next_after(t), Some(t + 1_800_000));
        let err = Schedule::parse("every tuesday").unwrap_err();
        assert!(err.contains("cron"), "{err}");

        let cfg: Config = toml::from_str(
            "[smtp]\nhost = \"mail\"\nfrom = \"s@example.com\"\n[reports]\nschedule = \"0 7 * * 1\"\n\
             recipients = [\"a@example.com\", { address = \"b@example.es\", language = \"es\" }]\n",
        )
        .expect("parses");
        cfg.validate().expect("valid");
        assert_eq!(cfg.reports.recipients[1].language(), Some("es"));

        for (text, key) in [
            ("[reports]\nschedule = \"sometimes\"\n", "reports.schedule"),
            ("[reports]\nlanguage = \"tlh\"\n", "reports.language"),
            (
                "[reports]\nrecipients = [\"ops@example.com\"]\n",
                "reports.recipients",
            ),
            (
                "[notify]\nemail = [\"not an address\"]\n",
                "notify.email[0]",
            ),
            (
                "[smtp]\nhost = \"m\"\nfrom = \"s@example.com\"\nsecurity = \"ssl\"\n",
                "smtp.security",
            ),
            (
                "[notify.webhook]\nurl = \"ftp://x\"\nsecret = \"k\"\n",
                "notify.webhook.url",
            ),
            ("[notify]\nwindow = \"soon\"\n", "notify.window"),
        ] {
            let cfg: Config = toml::from_str(text).expect("parses");
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("7d"), Ok(7 * 86_400_000));
        assert!(parse_duration_ms("0s").is_err());
        assert!(parse_duration_ms("h").is_err());
        assert!(parse_duration_ms("3 fortnights").is_err());
    }
}
