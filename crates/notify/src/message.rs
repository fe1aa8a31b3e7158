//! What the outbox holds: one message for one channel, serialisable so it
//! survives a restart in the store until it is delivered.

use serde::{Deserialize, Serialize};

/// One message to deliver. Stored as JSON in the outbox; delivery is retried
/// with backoff until it succeeds or fails permanently.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum OutboundMessage {
    Email(EmailMessage),
    Slack(ChatMessage),
    Telegram(ChatMessage),
    Webhook(WebhookMessage),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EmailMessage {
    pub to: Vec<String>,
    pub subject: String,
    /// The plain-text alternative (always present).
    pub text: String,
    /// The HTML part; images referenced as `cid:<content_id>`.
    pub html: Option<String>,
    pub inline_images: Vec<InlineImage>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InlineImage {
    pub content_id: String,
    /// e.g. `image/png`
    pub mime: String,
    /// Base64 (standard alphabet) in the outbox's JSON.
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    pub filename: String,
    pub mime: String,
    /// Base64 (standard alphabet) in the outbox's JSON.
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

/// Text for a chat channel (Slack incoming webhook, Telegram bot).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ChatMessage {
    /// Plain text; the sender escapes it for the channel's markup.
    pub text: String,
}

/// A JSON document POSTed to the generic webhook, signed with HMAC-SHA256.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WebhookMessage {
    /// `incident`, `digest`, `report`, `test`.
    pub event: String,
    pub body: serde_json::Value,
}

impl OutboundMessage {
    /// `email`, `slack`, `telegram`, `webhook`.
    pub fn channel(&self) -> &'static str {
        match self {
            OutboundMessage::Email(_) => "email",
            OutboundMessage::Slack(_) => "slack",
            OutboundMessage::Telegram(_) => "telegram",
            OutboundMessage::Webhook(_) => "webhook",
        }
    }
}

/// Byte fields as base64 strings: JSON arrays of numbers would make a
/// report's PDF four times larger in the outbox than base64 does.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}
