//! Immediate notifications of incidents (e-mail, Slack, Telegram, webhook)
//! and the outbox worker that delivers everything queued.
//!
//! An incident is notified once per channel when it opens at or above the
//! configured severity (the outbox's dedupe key makes that hold across
//! restarts too). At most `max_per_window` incidents are notified per window;
//! the rest are held and summed up in one digest when the window ends, so an
//! attack storm yields a handful of messages, not thousands.

pub mod outbox;

use crate::config::{Config, parse_duration_ms};
use crate::report::recipients_with_language;
use secmo_event::Severity;
use secmo_notify::{ChatMessage, EmailMessage, OutboundMessage, WebhookMessage};
use secmo_report::{Lang, NotificationText, ReportIncident};
use secmo_store::{IncidentTouch, NewOutboxMessage, Store, StoreError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Wakes the outbox worker when something was queued.
#[derive(Default)]
pub struct Wake {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    pub fn wake(&self) {
        if let Ok(mut f) = self.flag.lock() {
            *f = true;
            self.cv.notify_all();
        }
    }

    /// Wait until woken or `timeout`.
    pub fn wait(&self, timeout: Duration) {
        if let Ok(f) = self.flag.lock()
            && let Ok((mut f, _)) = self.cv.wait_timeout_while(f, timeout, |f| !*f)
        {
            *f = false;
        }
    }
}

/// Held-back incidents kept for a digest; the rest are only counted.
const HELD_MAX: usize = 100;

#[derive(Default)]
struct Window {
    start_ms: i64,
    notified: u32,
    held: Vec<ReportIncident>,
    held_more: u64,
}

pub struct Notifier {
    store: Arc<dyn Store>,
    min_severity: Severity,
    max_per_window: u32,
    window_ms: i64,
    emails: Vec<(String, Lang)>,
    slack: bool,
    telegram: bool,
    webhook: bool,
    language: Lang,
    scope: String,
    public_url: Option<String>,
    window: Mutex<Window>,
    wake: Arc<Wake>,
}

impl Notifier {
    pub fn new(store: Arc<dyn Store>, cfg: &Config, scope: String, wake: Arc<Wake>) -> Notifier {
        let language = Lang::parse(&cfg.reports.language).unwrap_or(Lang::En);
        Notifier {
            store,
            min_severity: cfg.notify.min_severity,
            max_per_window: cfg.notify.max_per_window.max(1),
            window_ms: parse_duration_ms(&cfg.notify.window).unwrap_or(600_000),
            emails: if cfg.smtp.is_some() {
                recipients_with_language(&cfg.notify.email, language)
            } else {
                Vec::new()
            },
            slack: cfg.notify.slack.is_some(),
            telegram: cfg.notify.telegram.is_some(),
            webhook: cfg.notify.webhook.is_some(),
            language,
            scope,
            public_url: cfg
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            window: Mutex::new(Window::default()),
            wake,
        }
    }

    pub fn wake(&self) -> &Arc<Wake> {
        &self.wake
    }

    /// Any channel to notify on?
    pub fn enabled(&self) -> bool {
        !self.emails.is_empty() || self.slack || self.telegram || self.webhook
    }

    fn link(&self, incident_id: Option<i64>) -> Option<String> {
        let base = self.public_url.as_ref()?;
        Some(match incident_id {
            Some(id) => format!("{base}/incidents/{id}"),
            None => format!("{base}/incidents"),
        })
    }

    /// Called by the ingest loop for every incident touched.
    pub fn on_incident(&self, touch: &IncidentTouch, now_ms: i64) {
        if !touch.created || touch.severity < self.min_severity || !self.enabled() {
            return;
        }
        self.roll(now_ms);
        let admit = match self.window.lock() {
            Ok(mut w) => {
                if w.notified < self.max_per_window {
                    w.notified += 1;
                    true
                } else {
                    if w.held.len() < HELD_MAX {
                        w.held.push(minimal(touch, now_ms));
                    } else {
                        w.held_more += 1;
                    }
                    false
                }
            }
            Err(_) => false,
        };
        if admit && let Err(e) = self.notify_incident(touch, now_ms) {
            tracing::warn!(incident = touch.incident_id, error = %e, "cannot queue the notification");
        }
    }

    fn notify_incident(&self, touch: &IncidentTouch, now_ms: i64) -> Result<(), StoreError> {
        let mut inc = minimal(touch, now_ms);
        if let Some(d) = self.store.incident(touch.incident_id)? {
            crate::report::build::add_detail(&mut inc, d, 3);
        }
        let link = self.link(Some(touch.incident_id));
        let text =
            |lang| secmo_report::incident_notification(&inc, &self.scope, lang, link.as_deref());
        let body = serde_json::json!({ "scope": self.scope, "link": link, "incident": inc });
        self.send_all(
            "incident",
            &format!("incident:{}", touch.incident_id),
            text,
            body,
            now_ms,
        )
    }

    /// Close the window if it is over, sending the digest of what was held.
    pub fn roll(&self, now_ms: i64) {
        let finished = match self.window.lock() {
            Ok(mut w) => {
                if w.start_ms == 0 {
                    w.start_ms = now_ms;
                }
                if now_ms < w.start_ms + self.window_ms {
                    return;
                }
                let old = std::mem::take(&mut *w);
                w.start_ms = now_ms;
                old
            }
            Err(_) => return,
        };
        if finished.held.is_empty() {
            return;
        }
        let link = self.link(None);
        let text = |lang| {
            secmo_report::digest_notification(
                &finished.held,
                finished.held_more,
                &self.scope,
                lang,
                link.as_deref(),
            )
        };
        let body = serde_json::json!({
            "scope": self.scope,
            "link": link,
            "incidents": finished.held,
            "more": finished.held_more,
        });
        if let Err(e) = self.send_all(
            "digest",
            &format!("digest:{}", finished.start_ms),
            text,
            body,
            now_ms,
        ) {
            tracing::warn!(error = %e, "cannot queue the digest");
        }
    }

    /// Queue one message per channel (and per e-mail recipient, in their language).
    fn send_all(
        &self,
        kind: &str,
        key: &str,
        text: impl Fn(Lang) -> NotificationText,
        body: serde_json::Value,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let queue = |channel: &str, target: &str, subject: &str, msg: OutboundMessage| {
            let payload =
                serde_json::to_string(&msg).map_err(|e| StoreError::Invalid(e.to_string()))?;
            self.store.enqueue(&NewOutboxMessage {
                created_ms: now_ms,
                channel: channel.into(),
                kind: kind.into(),
                target: target.into(),
                subject: subject.into(),
                payload,
                dedupe_key: Some(format!("{key}:{channel}:{target}")),
                report_id: None,
            })?;
            Ok::<(), StoreError>(())
        };
        for (address, lang) in &self.emails {
            let t = text(*lang);
            let msg = OutboundMessage::Email(EmailMessage {
                to: vec![address.clone()],
                subject: t.subject.clone(),
                text: t.text,
                html: Some(t.html),
                ..Default::default()
            });
            queue("email", address, &t.subject, msg)?;
        }
        let t = text(self.language);
        if self.slack {
            let msg = OutboundMessage::Slack(ChatMessage {
                text: t.text.clone(),
            });
            queue("slack", "slack", &t.subject, msg)?;
        }
        if self.telegram {
            let msg = OutboundMessage::Telegram(ChatMessage {
                text: t.text.clone(),
            });
            queue("telegram", "telegram", &t.subject, msg)?;
        }
        if self.webhook {
            let msg = OutboundMessage::Webhook(WebhookMessage {
                event: kind.into(),
                body,
            });
            queue("webhook", "webhook", &t.subject, msg)?;
        }
        self.wake.wake();
        Ok(())
    }
}

/// What the ingest loop knows of an incident without asking the store
/// (its times are when it was touched).
fn minimal(t: &IncidentTouch, now_ms: i64) -> ReportIncident {
    ReportIncident {
        id: Some(t.incident_id),
        rule_id: t.rule_id.clone(),
        title: t.title.clone(),
        category: t.category.as_str().to_owned(),
        severity: t.severity.as_str().to_owned(),
        source_ip: t.source_ip.map(|ip| ip.to_string()),
        user: t.user.clone(),
        status: Some(t.status.as_str().to_owned()),
        count: t.count,
        first_seen_ms: now_ms,
        last_seen_ms: now_ms,
        ..Default::default()
    }
}
