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
        if let Ok(p) = std::env::var("SECMO_ADMIN_PASSWORD")
            && !p.is_empty()
        {
            self.auth.admin_password = Some(p);
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
        Ok(())
    }

    pub fn incident_window_ms(&self) -> i64 {
        parse_duration_ms(&self.incidents.window).unwrap_or(3_600_000)
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
    fn durations() {
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("7d"), Ok(7 * 86_400_000));
        assert!(parse_duration_ms("0s").is_err());
        assert!(parse_duration_ms("h").is_err());
        assert!(parse_duration_ms("3 fortnights").is_err());
    }
}
