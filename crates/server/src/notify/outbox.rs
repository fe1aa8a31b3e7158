//! The delivery worker: takes due messages from the store's outbox, sends
//! them, and records the outcome (sent, retry later with backoff, or dead).
//! One thread, one message at a time: delivery order follows the queue, and
//! an SMTP server that is down costs one timeout per poll, not one per message.

use super::{Notifier, Wake};
use crate::config::{Config, parse_duration_ms};
use crate::metrics::Metrics;
use secmo_notify::{
    Channels, Deliverer, OutboundMessage, SlackSettings, SmtpSecurity, SmtpSettings,
    TelegramSettings, WebhookSettings,
};
use secmo_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The delivery settings of a configuration.
pub fn channels(cfg: &Config) -> Channels {
    Channels {
        smtp: cfg.smtp.as_ref().map(|s| {
            let security = match s.security.as_str() {
                "tls" => SmtpSecurity::Tls,
                "none" => SmtpSecurity::None,
                _ => SmtpSecurity::StartTls,
            };
            SmtpSettings {
                host: s.host.clone(),
                port: s.port.unwrap_or(match security {
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::StartTls => 587,
                    SmtpSecurity::None => 25,
                }),
                security,
                username: s.username.clone(),
                password: s.password.clone(),
                from: s.from.clone(),
                timeout: Duration::from_millis(
                    parse_duration_ms(&s.timeout).unwrap_or(30_000) as u64
                ),
                accept_invalid_certs: s.accept_invalid_certs,
            }
        }),
        slack: cfg.notify.slack.as_ref().map(|s| SlackSettings {
            webhook_url: s.webhook_url.clone(),
        }),
        telegram: cfg.notify.telegram.as_ref().map(|t| TelegramSettings {
            api_base: t.api_base.clone(),
            bot_token: t.bot_token.clone(),
            chat_id: t.chat_id.clone(),
        }),
        webhook: cfg.notify.webhook.as_ref().map(|w| WebhookSettings {
            url: w.url.clone(),
            secret: w.secret.clone(),
            timeout: Duration::from_secs(15),
        }),
    }
}

/// Messages taken per poll.
const BATCH: u32 = 20;

/// Deliver one round of due messages. Returns how many were handled.
pub fn deliver_due(
    store: &dyn Store,
    deliverer: &Deliverer,
    metrics: &Metrics,
    now_ms: i64,
) -> usize {
    let due = match store.due_messages(now_ms, BATCH) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the outbox");
            return 0;
        }
    };
    let n = due.len();
    for (entry, payload) in due {
        let outcome = match serde_json::from_str::<OutboundMessage>(&payload) {
            Ok(msg) => deliverer.deliver(&msg),
            Err(e) => Err(secmo_notify::DeliveryError::Permanent(format!(
                "unreadable message in the outbox: {e}"
            ))),
        };
        let now = crate::now_ms();
        let recorded = match outcome {
            Ok(()) => {
                metrics.notifications_sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(id = entry.id, channel = %entry.channel, target = %entry.target, "delivered");
                store.mark_sent(entry.id, now)
            }
            Err(e) => {
                metrics.notifications_failed.fetch_add(1, Ordering::Relaxed);
                let attempt = entry.attempts + 1;
                let retry_at = e
                    .retry_delay(attempt)
                    .filter(|_| attempt < secmo_notify::MAX_ATTEMPTS)
                    .map(|d| now + d.as_millis() as i64);
                tracing::warn!(
                    id = entry.id, channel = %entry.channel, attempt, error = %e,
                    retry = retry_at.is_some(), "delivery failed"
                );
                store.mark_failed(entry.id, &e.to_string(), retry_at)
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(id = entry.id, error = %e, "cannot record the delivery outcome");
        }
    }
    n
}

/// The worker thread: delivers until `stop`, woken by new messages or every second
/// (which also closes the notifier's rate-limit windows on time).
pub fn spawn(
    store: Arc<dyn Store>,
    deliverer: Deliverer,
    notifier: Arc<Notifier>,
    metrics: Arc<Metrics>,
    wake: Arc<Wake>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("secmo-outbox".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                notifier.roll(crate::now_ms());
                let handled = deliver_due(&*store, &deliverer, &metrics, crate::now_ms());
                if handled < BATCH as usize {
                    wake.wait(Duration::from_secs(1));
                }
            }
        })
}
