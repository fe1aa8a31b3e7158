//! Where each channel delivers. Plain structs: the server's config file
//! (serde, `deny_unknown_fields`) maps onto them.

use std::fmt;
use std::time::Duration;

/// The Bot API's address; tests point `api_base` at a loopback receiver.
pub const DEFAULT_TELEGRAM_API: &str = "https://api.telegram.org";

/// How long a Slack or Telegram request may take, connect to last byte.
pub const CHAT_TIMEOUT: Duration = Duration::from_secs(15);

/// The configured channels; `None` means the channel is off and a message
/// for it fails with [`crate::DeliveryError::NotConfigured`].
#[derive(Clone, Debug, Default)]
pub struct Channels {
    pub smtp: Option<SmtpSettings>,
    pub slack: Option<SlackSettings>,
    pub telegram: Option<TelegramSettings>,
    pub webhook: Option<WebhookSettings>,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text throughout: only sensible for a relay on loopback.
    None,
    /// Plain connect, then STARTTLS, which must succeed (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// AUTH PLAIN or LOGIN (whichever the server offers) when both are set.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `alerts@example.com` or `secmo <alerts@example.com>`.
    pub from: String,
    /// Per network operation (connect, each command's reply).
    pub timeout: Duration,
    /// Accept any certificate (self-signed relays, tests). Off by default for
    /// a reason: it lets anyone on the path read the password.
    pub accept_invalid_certs: bool,
}

impl SmtpSettings {
    /// `host:port`, as error messages name the server.
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

// Hand-written so that logging the settings never prints the password.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

/// A Slack incoming webhook.
#[derive(Clone)]
pub struct SlackSettings {
    /// `https://hooks.slack.com/services/T…/B…/…`: the path is the secret.
    pub webhook_url: String,
}

impl fmt::Debug for SlackSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackSettings")
            .field("webhook_url", &redact_url(&self.webhook_url))
            .finish()
    }
}

/// A Telegram bot posting into one chat.
#[derive(Clone)]
pub struct TelegramSettings {
    /// [`DEFAULT_TELEGRAM_API`] unless testing.
    pub api_base: String,
    pub bot_token: String,
    /// A numeric id (`-1001234567890`) or a public `@channelname`.
    pub chat_id: String,
}

impl TelegramSettings {
    pub fn new(bot_token: impl Into<String>, chat_id: impl Into<String>) -> Self {
        TelegramSettings {
            api_base: DEFAULT_TELEGRAM_API.to_string(),
            bot_token: bot_token.into(),
            chat_id: chat_id.into(),
        }
    }
}

impl fmt::Debug for TelegramSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramSettings")
            .field("api_base", &self.api_base)
            .field("bot_token", &"<redacted>")
            .field("chat_id", &self.chat_id)
            .finish()
    }
}

/// The generic, HMAC-signed webhook (see [`crate::webhook`]).
#[derive(Clone)]
pub struct WebhookSettings {
    pub url: String,
    /// The HMAC key the receiver shares; must not be empty.
    pub secret: String,
    pub timeout: Duration,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `scheme://host[:port]/…`: enough to tell which service a message went to
/// without printing a path or query that may carry a token.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return "<invalid URL>".to_string(),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Drop `user:password@` too.
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if rest.len() > authority.len() {
        format!("{scheme}://{host}/…")
    } else {
        format!("{scheme}://{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let smtp = SmtpSettings {
            host: "mail.example.com".into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: Some("alerts".into()),
            password: Some("hunter2".into()),
            from: "alerts@example.com".into(),
            timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
        };
        let channels = Channels {
            smtp: Some(smtp),
            slack: Some(SlackSettings {
                webhook_url: "https://hooks.slack.com/services/T0/B0/slacksecret".into(),
            }),
            telegram: Some(TelegramSettings::new("123:telegramsecret", "42")),
            webhook: Some(WebhookSettings {
                url: "https://siem.example.com/in".into(),
                secret: "hmacsecret".into(),
                timeout: Duration::from_secs(5),
            }),
        };
        let text = format!("{channels:?}");
        for secret in ["hunter2", "slacksecret", "telegramsecret", "hmacsecret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("mail.example.com"));
        assert!(text.contains("https://hooks.slack.com/…"));
    }

    #[test]
    fn redact_url_keeps_scheme_and_host() {
        assert_eq!(
            redact_url("https://u:p@h.example:8443/x?y"),
            "https://h.example:8443/…"
        );
        assert_eq!(redact_url("http://127.0.0.1:9"), "http://127.0.0.1:9");
        assert_eq!(redact_url("nonsense"), "<invalid URL>");
    }
}
