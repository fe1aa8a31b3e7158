//! Slack and Telegram over HTTPS (ureq, rustls), and the POST the signed
//! webhook shares with them.

use std::io;
use std::time::Duration;

use serde_json::json;

use crate::error::{ConfigError, DeliveryError};
use crate::settings::{CHAT_TIMEOUT, SlackSettings, TelegramSettings, redact_url};

/// What came back, read before the connection is let go.
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds (the HTTP-date form is rare enough for
    /// webhooks to be ignored; the policy's backoff applies then).
    pub retry_after: Option<Duration>,
    pub location: Option<String>,
}

/// A ureq agent that never follows redirects (a 3xx is reported instead:
/// the POST body must not wander to another host), reads error statuses as
/// replies rather than errors, and gives up after `timeout` overall.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("secmo-notify/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

pub(crate) fn check_url(channel: &'static str, field: &str, url: &str) -> Result<(), ConfigError> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| {
            ConfigError::new(
                channel,
                format!("{field} must start with https:// or http://"),
            )
        })?;
    if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
        return Err(ConfigError::new(channel, format!("{field} has no host")));
    }
    if url.parse::<ureq::http::Uri>().is_err() {
        return Err(ConfigError::new(
            channel,
            format!("{field} is not a valid URL"),
        ));
    }
    Ok(())
}

/// POSTs `body` as JSON. `what` names the receiver in errors
/// ("Slack webhook https://hooks.slack.com/…"), never the full URL, which
/// may carry a token.
pub(crate) fn post_json(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
    what: &str,
) -> Result<Reply, DeliveryError> {
    let mut request = agent.post(url).header("Content-Type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let mut response = request.send(body).map_err(|e| transport_error(what, &e))?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let location = header("location");
    // Replies are small (Slack: "ok", Telegram: a JSON object); a limit keeps
    // a misbehaving receiver from filling memory.
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    Ok(Reply {
        status,
        body,
        retry_after,
        location,
    })
}

fn transport_error(what: &str, error: &ureq::Error) -> DeliveryError {
    let cause = match error {
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".to_string(),
            io::ErrorKind::ConnectionReset => "connection reset by the server".to_string(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionAborted => {
                "the server closed the connection".to_string()
            }
            _ => io.to_string(),
        },
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            return DeliveryError::Permanent(format!("{what}: invalid URL"));
        }
        other => other.to_string(),
    };
    DeliveryError::Transient(format!("{what}: {cause}"))
}

/// The usual meaning of an HTTP status for a POST that we would repeat.
pub(crate) fn classify_status(what: &str, reply: &Reply) -> Result<(), DeliveryError> {
    let status = reply.status;
    let detail = snippet(&reply.body);
    let said = if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    };
    match status {
        200..=299 => Ok(()),
        429 => Err(rate_limited(what, &said, reply.retry_after)),
        // Request timeout and server errors: the receiver may be fine later.
        408 | 500..=599 => Err(DeliveryError::Transient(format!("{what}: {said}"))),
        300..=399 => {
            let target = reply
                .location
                .as_deref()
                .map(|l| format!(" to {}", redact_url(l)))
                .unwrap_or_default();
            Err(DeliveryError::Permanent(format!(
                "{what}: HTTP {status}: redirect{target} not followed; configure the final URL"
            )))
        }
        400..=499 => Err(DeliveryError::Permanent(format!("{what}: {said}"))),
        _ => Err(DeliveryError::Transient(format!("{what}: {said}"))),
    }
}

pub(crate) fn rate_limited(what: &str, said: &str, retry_after: Option<Duration>) -> DeliveryError {
    match retry_after {
        Some(delay) => DeliveryError::RateLimited {
            message: format!(
                "{what}: rate limited ({said}), retry after {} s",
                delay.as_secs()
            ),
            retry_after: delay,
        },
        None => DeliveryError::RateLimited {
            message: format!("{what}: rate limited ({said})"),
            retry_after: Duration::ZERO,
        },
    }
}

/// The start of a reply body on one line, for error messages.
fn snippet(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Slack incoming webhook.
pub(crate) struct Slack {
    agent: ureq::Agent,
    url: String,
    what: String,
}

impl Slack {
    pub(crate) fn new(settings: &SlackSettings) -> Result<Slack, ConfigError> {
        check_url("slack", "webhook_url", &settings.webhook_url)?;
        Ok(Slack {
            agent: agent(CHAT_TIMEOUT),
            url: settings.webhook_url.clone(),
            what: format!("Slack webhook {}", redact_url(&settings.webhook_url)),
        })
    }

    pub(crate) fn send(&self, text: &str) -> Result<(), DeliveryError> {
        let payload = slack_payload(text);
        let reply = post_json(&self.agent, &self.url, &[], payload.as_bytes(), &self.what)?;
        classify_status(&self.what, &reply)
    }
}

/// The JSON for a Slack incoming webhook. No `link_names`, and `&`, `<`, `>`
/// escaped as Slack requires: text from a log line can then never form
/// `<!channel>`, `<@U123>` or `<https://evil|innocent text>`.
pub fn slack_payload(text: &str) -> String {
    json!({ "text": slack_escape(text) }).to_string()
}

/// Slack's three control characters, escaped
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>).
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Telegram Bot API `sendMessage`.
pub(crate) struct Telegram {
    agent: ureq::Agent,
    url: String,
    chat_id: serde_json::Value,
    what: String,
}

/// Telegram refuses longer messages (counted in UTF-16 code units).
const TELEGRAM_MAX_TEXT: usize = 4096;

impl Telegram {
    pub(crate) fn new(settings: &TelegramSettings) -> Result<Telegram, ConfigError> {
        check_url("telegram", "api_base", &settings.api_base)?;
        let token = settings.bot_token.trim();
        if token.is_empty() || token.contains(['/', '?', '#', ' ']) {
            return Err(ConfigError::new(
                "telegram",
                "bot_token is empty or malformed (expected 123456:ABC…)",
            ));
        }
        let chat = settings.chat_id.trim();
        if chat.is_empty() {
            return Err(ConfigError::new("telegram", "chat_id is empty"));
        }
        // Numeric ids go as numbers, `@channel` names as strings: both are
        // what the Bot API documents.
        let chat_id = chat
            .parse::<i64>()
            .map(serde_json::Value::from)
            .unwrap_or_else(|_| serde_json::Value::from(chat));
        let base = settings.api_base.trim_end_matches('/');
        Ok(Telegram {
            agent: agent(CHAT_TIMEOUT),
            url: format!("{base}/bot{token}/sendMessage"),
            chat_id,
            // The URL holds the token: errors name only the API host.
            what: format!("Telegram {}", redact_url(base)),
        })
    }

    pub(crate) fn send(&self, text: &str) -> Result<(), DeliveryError> {
        // Plain text, no parse_mode: nothing in the text is markup, so an
        // attacker's log line cannot inject links or formatting.
        let payload = json!({
            "chat_id": self.chat_id,
            "text": truncate_utf16(text, TELEGRAM_MAX_TEXT),
            "disable_web_page_preview": true,
        })
        .to_string();
        let reply = post_json(&self.agent, &self.url, &[], payload.as_bytes(), &self.what)?;
        telegram_outcome(&self.what, &reply)
    }
}

/// Telegram answers `{"ok":true,…}` or
/// `{"ok":false,"error_code":429,"description":"…","parameters":{"retry_after":5}}`.
fn telegram_outcome(what: &str, reply: &Reply) -> Result<(), DeliveryError> {
    let Ok(answer) = serde_json::from_str::<serde_json::Value>(&reply.body) else {
        // Not the Bot API talking (a proxy's error page): go by the status.
        return classify_status(what, reply);
    };
    if answer.get("ok").and_then(|v| v.as_bool()) == Some(true)
        && (200..300).contains(&reply.status)
    {
        return Ok(());
    }
    let code = answer
        .get("error_code")
        .and_then(|v| v.as_u64())
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(reply.status);
    let description = answer
        .get("description")
        .and_then(|v| v.as_str())
        .unwrap_or("no description");
    let said = format!("error {code}: {description}");
    match code {
        429 => {
            let retry_after = answer
                .pointer("/parameters/retry_after")
                .and_then(|v| v.as_u64())
                .map(Duration::from_secs)
                .or(reply.retry_after);
            Err(rate_limited(what, &said, retry_after))
        }
        500..=599 => Err(DeliveryError::Transient(format!("{what}: {said}"))),
        // "chat not found", "bot was blocked by the user", "Unauthorized":
        // someone has to change the settings.
        _ => Err(DeliveryError::Permanent(format!("{what}: {said}"))),
    }
}

fn truncate_utf16(text: &str, max_units: usize) -> String {
    if text.encode_utf16().count() <= max_units {
        return text.to_string();
    }
    // Keep whole characters, leaving one unit for the ellipsis.
    let mut units = 0;
    let mut out = String::new();
    for c in text.chars() {
        units += c.len_utf16();
        if units > max_units.saturating_sub(1) {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_the_limit_and_char_boundaries() {
        assert_eq!(truncate_utf16("hello", 5), "hello");
        assert_eq!(truncate_utf16("hello!", 5), "hell…");
        let long = "ñ".repeat(5000);
        let cut = truncate_utf16(&long, TELEGRAM_MAX_TEXT);
        assert_eq!(cut.encode_utf16().count(), TELEGRAM_MAX_TEXT);
        let emoji = "😀".repeat(3000); // two UTF-16 units each
        assert!(
            truncate_utf16(&emoji, TELEGRAM_MAX_TEXT)
                .encode_utf16()
                .count()
                <= TELEGRAM_MAX_TEXT
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("slack", "webhook_url", "https://hooks.slack.com/services/x").is_ok());
        assert!(check_url("slack", "webhook_url", "ftp://x").is_err());
        assert!(check_url("slack", "webhook_url", "https:///x").is_err());
    }
}
