//! Reports of `secmo serve`: built from the store for a period, stored, and
//! e-mailed through the outbox; on demand or on the configured schedule.

pub mod build;

use crate::config::{Config, Recipient, Schedule};
use crate::notify::Wake;
use secmo_notify::{Attachment, EmailMessage, InlineImage, OutboundMessage};
use secmo_report::{ImageMode, Lang, ReportDoc};
use secmo_store::{NewOutboxMessage, NewReport, ReportMeta, ReportTrigger, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

pub struct Reports {
    store: Arc<dyn Store>,
    schedule: Option<Schedule>,
    always_send: bool,
    recipients: Vec<(String, Lang)>,
    pub language: Lang,
    attach_pdf: bool,
    /// Whether e-mail can be sent at all ([smtp] configured).
    pub smtp: bool,
    /// What the reports are about (this host's name).
    pub scope: String,
    wake: Arc<Wake>,
    /// When the scheduler runs next / ran last (ms; 0 = unknown).
    next_run: AtomicI64,
    last_run: AtomicI64,
}

/// The language of each recipient (their own, else the default).
pub fn recipients_with_language(list: &[Recipient], default: Lang) -> Vec<(String, Lang)> {
    list.iter()
        .map(|r| {
            (
                r.address().trim().to_owned(),
                r.language().and_then(Lang::parse).unwrap_or(default),
            )
        })
        .collect()
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "secmo".into())
}

impl Reports {
    pub fn new(store: Arc<dyn Store>, cfg: &Config, wake: Arc<Wake>) -> Reports {
        let language = Lang::parse(&cfg.reports.language).unwrap_or(Lang::En);
        Reports {
            store,
            schedule: if cfg.reports.enabled {
                Schedule::parse(&cfg.reports.schedule).ok()
            } else {
                None
            },
            always_send: cfg.reports.always_send,
            recipients: recipients_with_language(&cfg.reports.recipients, language),
            language,
            attach_pdf: cfg.reports.attach_pdf,
            smtp: cfg.smtp.is_some(),
            scope: host_name(),
            wake,
            next_run: AtomicI64::new(0),
            last_run: AtomicI64::new(0),
        }
    }

    pub fn recipients(&self) -> &[(String, Lang)] {
        &self.recipients
    }

    pub fn next_run_ms(&self) -> Option<i64> {
        Some(self.next_run.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    pub fn last_run_ms(&self) -> Option<i64> {
        Some(self.last_run.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// Build and store the report of `[since_ms, until_ms)`.
    pub fn generate(
        &self,
        since_ms: i64,
        until_ms: i64,
        trigger: ReportTrigger,
        requested_by: &str,
        language: Lang,
        now_ms: i64,
    ) -> Result<(ReportMeta, ReportDoc), StoreError> {
        let mut doc = build::build(&*self.store, since_ms, until_ms, &self.scope, now_ms)?;
        let doc_json =
            serde_json::to_string(&doc).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let meta = self.store.save_report(&NewReport {
            created_ms: now_ms,
            period_start_ms: since_ms,
            period_end_ms: until_ms,
            trigger,
            requested_by: requested_by.to_owned(),
            threat_level: doc.threat_level.clone(),
            incidents: doc.summary.incidents,
            events: doc.summary.events,
            flagged_events: doc.summary.flagged_events,
            language: language.as_str().to_owned(),
            doc_json,
        })?;
        doc.id = Some(meta.id);
        Ok((meta, doc))
    }

    /// Queue the report for each recipient, in their language. Returns the
    /// outbox ids. The scheduler's copies are queued once per report and
    /// recipient (`request` None: a repeated run adds nothing); an explicit
    /// send is its own request and is always queued.
    pub fn queue_email(
        &self,
        doc: &ReportDoc,
        recipients: &[(String, Lang)],
        request: Option<i64>,
        now_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if !self.smtp {
            return Err(StoreError::Conflict(
                "e-mail is not configured: add an [smtp] section to secmo.toml".into(),
            ));
        }
        let mut ids = Vec::new();
        for (address, lang) in recipients {
            let msg = report_email(doc, *lang, std::slice::from_ref(address), self.attach_pdf);
            let subject = secmo_report::subject(doc, *lang);
            let payload =
                serde_json::to_string(&msg).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let queued = self.store.enqueue(&NewOutboxMessage {
                created_ms: now_ms,
                channel: "email".into(),
                kind: "report".into(),
                target: address.clone(),
                subject,
                payload,
                dedupe_key: doc.id.map(|id| match request {
                    None => format!("report:{id}:{address}"),
                    Some(r) => format!("report:{id}:{address}:request:{r}"),
                }),
                report_id: doc.id,
            })?;
            if let Some(e) = queued {
                ids.push(e.id);
            }
        }
        self.wake.wake();
        Ok(ids)
    }

    /// One step of the scheduler: make the report if it is due. Returns the
    /// report made (stored whether or not it was sent).
    pub fn run_due(&self, started_ms: i64, now_ms: i64) -> Result<Option<ReportMeta>, StoreError> {
        let Some(schedule) = &self.schedule else {
            return Ok(None);
        };
        let last = self.store.last_report(ReportTrigger::Schedule)?;
        let (period_start, due) = match &last {
            Some(l) => (l.period_end_ms, schedule.next_after(l.period_end_ms)),
            None => {
                let first = schedule.next_after(started_ms);
                let start = match (schedule, first) {
                    (Schedule::Every(ms), Some(f)) => f - ms,
                    _ => started_ms,
                };
                (start, first)
            }
        };
        if let Some(l) = &last {
            self.last_run.store(l.created_ms, Ordering::Relaxed);
        }
        let Some(due) = due else {
            return Ok(None);
        };
        self.next_run.store(due, Ordering::Relaxed);
        if now_ms < due {
            return Ok(None);
        }
        let (meta, doc) = self.generate(
            period_start,
            now_ms,
            ReportTrigger::Schedule,
            "schedule",
            self.language,
            now_ms,
        )?;
        self.last_run.store(now_ms, Ordering::Relaxed);
        if let Some(next) = schedule.next_after(now_ms) {
            self.next_run.store(next, Ordering::Relaxed);
        }
        let threats = doc.summary.incidents > 0;
        if (threats || self.always_send) && self.smtp && !self.recipients.is_empty() {
            self.queue_email(&doc, &self.recipients, None, now_ms)?;
        }
        tracing::info!(
            report = meta.id,
            incidents = doc.summary.incidents,
            threat_level = %doc.threat_level,
            "scheduled report"
        );
        Ok(Some(meta))
    }

    /// The scheduler thread: checks every few seconds until `stop`.
    pub fn spawn_scheduler(
        self: Arc<Self>,
        started_ms: i64,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("secmo-reports".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = self.run_due(started_ms, crate::now_ms()) {
                        tracing::warn!(error = %e, "scheduled report failed; retrying in a minute");
                        sleep_unless(&stop, Duration::from_secs(60));
                    }
                    sleep_unless(&stop, Duration::from_secs(2));
                }
            })
    }
}

fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let end = std::time::Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The e-mail carrying a report: text and HTML alternatives, charts as inline
/// images, the PDF attached.
pub fn report_email(
    doc: &ReportDoc,
    lang: Lang,
    to: &[String],
    attach_pdf: bool,
) -> OutboundMessage {
    let html = secmo_report::render_html(doc, lang, ImageMode::Cid);
    let mut attachments = Vec::new();
    if attach_pdf {
        attachments.push(Attachment {
            filename: match doc.id {
                Some(id) => format!("secmo-report-{id}.pdf"),
                None => "secmo-report.pdf".into(),
            },
            mime: "application/pdf".into(),
            bytes: secmo_report::render_pdf(doc, lang),
        });
    }
    OutboundMessage::Email(EmailMessage {
        to: to.to_vec(),
        subject: secmo_report::subject(doc, lang),
        text: secmo_report::render_text(doc, lang),
        html: Some(html.html),
        inline_images: html
            .images
            .into_iter()
            .map(|i| InlineImage {
                content_id: i.content_id,
                mime: i.mime.to_owned(),
                bytes: i.bytes,
            })
            .collect(),
        attachments,
    })
}
