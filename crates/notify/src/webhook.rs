//! The generic webhook and its signature.
//!
//! Each message is one `POST` to the configured URL with the body
//!
//! ```json
//! {"event": "incident", "sent_at": "2026-11-20T08:15:00Z", "data": { … }}
//! ```
//!
//! and the headers
//!
//! | header | value |
//! |---|---|
//! | `Content-Type` | `application/json` |
//! | `X-Secmo-Event` | the `event` (`incident`, `digest`, `report`, `test`) |
//! | `X-Secmo-Timestamp` | the send time, Unix seconds (the same instant as `sent_at`) |
//! | `X-Secmo-Signature` | `sha256=` + lowercase hex of HMAC-SHA256(secret, `"{timestamp}.{body}"`) |
//!
//! The signed string is the timestamp header's exact text, a dot, and the
//! raw body bytes as received (verify before parsing the JSON: re-serialising
//! changes the bytes). Binding the timestamp into the MAC lets a receiver
//! refuse replays: check the signature with [`verify_signature`] and then
//! reject timestamps more than a few minutes from its clock. A retried
//! message is signed again with a fresh timestamp; its `data` is the same.
//!
//! A 2xx reply is success; 408, 429 and 5xx are retried; any other 4xx, and
//! redirects (never followed), are permanent failures.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::error::{ConfigError, DeliveryError};
use crate::http::{agent, check_url, classify_status, post_json};
use crate::message::WebhookMessage;
use crate::settings::{WebhookSettings, redact_url};

type HmacSha256 = Hmac<Sha256>;

/// The `X-Secmo-Signature` value for a body sent at `timestamp` (the
/// `X-Secmo-Timestamp` text).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mac = mac(secret, timestamp, body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

/// Whether `header` (the `X-Secmo-Signature` value) is the signature of
/// `body` sent at `timestamp` with `secret`. The comparison takes the same
/// time wherever the first difference is, so a receiver using it does not
/// leak how much of a forged signature was right. Does not judge the
/// timestamp's age: do that after.
pub fn verify_signature(secret: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&expected).is_ok()
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: new_from_slice cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// The configured webhook.
pub(crate) struct Webhook {
    agent: ureq::Agent,
    url: String,
    secret: String,
    what: String,
}

impl Webhook {
    pub(crate) fn new(settings: &WebhookSettings) -> Result<Webhook, ConfigError> {
        check_url("webhook", "url", &settings.url)?;
        if settings.secret.is_empty() {
            // An unsigned webhook would let anyone who finds the receiver's
            // URL post fake incidents to it.
            return Err(ConfigError::new("webhook", "secret must not be empty"));
        }
        if settings.timeout.is_zero() {
            return Err(ConfigError::new(
                "webhook",
                "timeout must be longer than zero",
            ));
        }
        Ok(Webhook {
            agent: agent(settings.timeout),
            url: settings.url.clone(),
            secret: settings.secret.clone(),
            what: format!("webhook {}", redact_url(&settings.url)),
        })
    }

    pub(crate) fn send(&self, message: &WebhookMessage) -> Result<(), DeliveryError> {
        let now = jiff::Timestamp::now().as_second();
        let sent_at = jiff::Timestamp::from_second(now)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let body = json!({
            "event": message.event,
            "sent_at": sent_at,
            "data": message.body,
        })
        .to_string();
        let timestamp = now.to_string();
        let signature = sign(&self.secret, &timestamp, body.as_bytes());
        let headers = [
            ("X-Secmo-Event", message.event.clone()),
            ("X-Secmo-Timestamp", timestamp),
            ("X-Secmo-Signature", signature),
        ];
        let reply = post_json(
            &self.agent,
            &self.url,
            &headers,
            body.as_bytes(),
            &self.what,
        )?;
        classify_status(&self.what, &reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trips_and_rejects_tampering() {
        let body = br#"{"event":"test"}"#;
        let header = sign("s3cret", "1700000000", body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(verify_signature("s3cret", "1700000000", body, &header));
        assert!(verify_signature(
            "s3cret",
            "1700000000",
            body,
            &header.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify_signature("other", "1700000000", body, &header));
        assert!(!verify_signature("s3cret", "1700000001", body, &header));
        assert!(!verify_signature(
            "s3cret",
            "1700000000",
            br#"{"event":"tesT"}"#,
            &header
        ));
        assert!(!verify_signature(
            "s3cret",
            "1700000000",
            body,
            &header[7..]
        ));
        assert!(!verify_signature("s3cret", "1700000000", body, "sha256=zz"));
        assert!(!verify_signature("s3cret", "1700000000", body, "sha256="));
    }

    #[test]
    fn matches_an_independent_implementation() {
        // Python: hmac.new(b"whsec", b'1700000000.{"event":"test"}', sha256).hexdigest()
        assert_eq!(
            sign("whsec", "1700000000", br#"{"event":"test"}"#),
            "sha256=58f2e19ae0eace62a4d51030f1280f3cce2367ab441d2c351512668c75f2c4e5"
        );
    }
}
