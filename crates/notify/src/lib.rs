//! Delivery of notifications and reports: e-mail over SMTP (lettre,
//! rustls), Slack incoming webhooks, Telegram bots and a generic
//! HMAC-signed webhook (ureq, rustls), plus the retry policy the server's
//! outbox follows.
//!
//! The server builds one [`Deliverer`] from [`Channels`] and calls
//! [`Deliverer::deliver`] from its worker thread for each outbox message; on
//! an error it either schedules the next attempt
//! ([`DeliveryError::retry_delay`], [`backoff`]) or marks the message dead
//! (not retryable, or [`MAX_ATTEMPTS`] reached).
//!
//! With the `test-smtp` feature, [`testing`] has a real SMTP server and an
//! HTTP receiver on loopback for end-to-end tests.

mod deliver;
mod email;
mod error;
mod http;
pub mod message;
mod retry;
pub mod settings;
pub mod webhook;

#[cfg(feature = "test-smtp")]
pub mod testing;

pub use deliver::Deliverer;
pub use error::{ConfigError, DeliveryError};
pub use http::{slack_escape, slack_payload};
pub use message::*;
pub use retry::{FIRST_DELAY, MAX_ATTEMPTS, MAX_DELAY, backoff};
pub use settings::{
    CHAT_TIMEOUT, Channels, DEFAULT_TELEGRAM_API, SlackSettings, SmtpSecurity, SmtpSettings,
    TelegramSettings, WebhookSettings,
};
pub use webhook::{sign, verify_signature};

/// The raw RFC 5322 message that would be sent for `email` with the given
/// From (for previews and tests); the same checks as delivery apply.
pub fn render_email(from: &str, email: &EmailMessage) -> Result<Vec<u8>, DeliveryError> {
    let from: lettre::message::Mailbox = from
        .parse()
        .map_err(|e| DeliveryError::Permanent(format!("invalid from address {from:?}: {e}")))?;
    Ok(email::build_message(&from, email)?.formatted())
}
