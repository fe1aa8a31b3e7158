//! What can go wrong, sorted by what the outbox should do about it.

use std::time::Duration;

use crate::retry::backoff;

/// Why a message was not delivered. The `Display` text is shown to the
/// dashboard user as is, so it names the server and the cause in plain words
/// ("SMTP 127.0.0.1:2525: connection refused") and never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: connection refused, timeout, TLS failure, SMTP 4xx,
    /// HTTP 5xx.
    #[error("{0}")]
    Transient(String),
    /// The receiver asked us to slow down (HTTP 429, Telegram's
    /// `error_code: 429`): retry, but not before `retry_after`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// Retrying cannot help: SMTP 5xx (bad recipient, authentication
    /// failed), HTTP 4xx other than 408/429, an invalid address.
    #[error("{0}")]
    Permanent(String),
    /// The message is for a channel with no settings (`email`, `slack`,
    /// `telegram`, `webhook`). Not retried: the configuration has to change
    /// first, and the server starts a new `Deliverer` when it does.
    #[error("{0} notifications are not configured")]
    NotConfigured(&'static str),
}

impl DeliveryError {
    /// Whether the outbox should try the message again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            DeliveryError::Transient(_) | DeliveryError::RateLimited { .. }
        )
    }

    /// The delay the receiver asked for, if it asked.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DeliveryError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// When to try again after the `attempt`-th failure (1-based): the
    /// policy's [`backoff`], or longer if the receiver asked for longer.
    /// `None` when the message should not be retried.
    pub fn retry_delay(&self, attempt: u32) -> Option<Duration> {
        if !self.is_retryable() {
            return None;
        }
        let policy = backoff(attempt);
        Some(self.retry_after().map_or(policy, |asked| asked.max(policy)))
    }
}

/// A setting that cannot work, found by [`crate::Deliverer::new`] so that the
/// server refuses the configuration at start instead of failing every message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{channel}: {message}")]
pub struct ConfigError {
    /// `smtp`, `slack`, `telegram`, `webhook`.
    pub channel: &'static str,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(channel: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            channel,
            message: message.into(),
        }
    }
}
