//! One entry point for the server's delivery worker.

use crate::email::Mailer;
use crate::error::{ConfigError, DeliveryError};
use crate::http::{Slack, Telegram};
use crate::message::OutboundMessage;
use crate::settings::Channels;
use crate::webhook::Webhook;

/// Delivers outbox messages over the configured channels. Built once from
/// the settings (which it checks), then shared: `deliver` takes `&self` and
/// the type is `Send + Sync`, so one worker thread or several can use it.
pub struct Deliverer {
    mailer: Option<Mailer>,
    slack: Option<Slack>,
    telegram: Option<Telegram>,
    webhook: Option<Webhook>,
}

impl Deliverer {
    /// Checks every configured channel: an address, URL or combination of
    /// settings that could never work is a [`ConfigError`] now rather than a
    /// failure on each message later. Opens no connection.
    pub fn new(channels: Channels) -> Result<Deliverer, ConfigError> {
        Ok(Deliverer {
            mailer: channels.smtp.as_ref().map(Mailer::new).transpose()?,
            slack: channels.slack.as_ref().map(Slack::new).transpose()?,
            telegram: channels.telegram.as_ref().map(Telegram::new).transpose()?,
            webhook: channels.webhook.as_ref().map(Webhook::new).transpose()?,
        })
    }

    /// Whether messages for `channel` (`email`, `slack`, `telegram`,
    /// `webhook`, as [`OutboundMessage::channel`] names them) can be sent.
    pub fn is_configured(&self, channel: &str) -> bool {
        match channel {
            "email" => self.mailer.is_some(),
            "slack" => self.slack.is_some(),
            "telegram" => self.telegram.is_some(),
            "webhook" => self.webhook.is_some(),
            _ => false,
        }
    }

    /// Sends one message, blocking until the receiver has accepted it or
    /// failed (each channel's timeout bounds the wait). On error, ask
    /// [`DeliveryError::retry_delay`] when to try again.
    pub fn deliver(&self, message: &OutboundMessage) -> Result<(), DeliveryError> {
        let not_configured = || DeliveryError::NotConfigured(message.channel());
        match message {
            OutboundMessage::Email(email) => {
                self.mailer.as_ref().ok_or_else(not_configured)?.send(email)
            }
            OutboundMessage::Slack(chat) => self
                .slack
                .as_ref()
                .ok_or_else(not_configured)?
                .send(&chat.text),
            OutboundMessage::Telegram(chat) => self
                .telegram
                .as_ref()
                .ok_or_else(not_configured)?
                .send(&chat.text),
            OutboundMessage::Webhook(hook) => {
                self.webhook.as_ref().ok_or_else(not_configured)?.send(hook)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliverer_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Deliverer>();
    }

    #[test]
    fn unconfigured_channel_is_not_retryable() {
        let deliverer = Deliverer::new(Channels::default()).expect("empty settings are valid");
        let err = deliverer
            .deliver(&OutboundMessage::Slack(crate::ChatMessage {
                text: "x".into(),
            }))
            .expect_err("slack is off");
        assert_eq!(err, DeliveryError::NotConfigured("slack"));
        assert!(!err.is_retryable());
        assert_eq!(err.to_string(), "slack notifications are not configured");
    }
}
