//! Prometheus text exposition of the server's own counters.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Metrics {
    pub lines: AtomicU64,
    pub events: AtomicU64,
    pub unparsed: AtomicU64,
    pub flagged: AtomicU64,
    pub alerts: AtomicU64,
    pub incidents_created: AtomicU64,
    pub batches: AtomicU64,
    pub store_errors: AtomicU64,
    pub blocks_automatic: AtomicU64,
    pub http_requests: AtomicU64,
    pub logins_failed: AtomicU64,
    pub notifications_sent: AtomicU64,
    pub notifications_failed: AtomicU64,
    /// Sum and count of line-to-commit latencies, in ms.
    pub latency_ms_sum: AtomicU64,
    pub latency_count: AtomicU64,
    pub latency_ms_max: AtomicU64,
}

impl Metrics {
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 14] = [
            (
                "secmo_lines_read_total",
                "Log lines read from all sources.",
                &self.lines,
            ),
            (
                "secmo_events_total",
                "Lines parsed into events.",
                &self.events,
            ),
            (
                "secmo_lines_unparsed_total",
                "Lines no parser understood.",
                &self.unparsed,
            ),
            (
                "secmo_events_flagged_total",
                "Events some rule flagged.",
                &self.flagged,
            ),
            ("secmo_alerts_total", "Alert updates written.", &self.alerts),
            (
                "secmo_incidents_created_total",
                "Incidents opened.",
                &self.incidents_created,
            ),
            (
                "secmo_ingest_batches_total",
                "Batches committed to the store.",
                &self.batches,
            ),
            (
                "secmo_store_errors_total",
                "Failed store writes (retried).",
                &self.store_errors,
            ),
            (
                "secmo_blocks_automatic_total",
                "Blocks made by policy.",
                &self.blocks_automatic,
            ),
            (
                "secmo_http_requests_total",
                "HTTP requests served.",
                &self.http_requests,
            ),
            (
                "secmo_logins_failed_total",
                "Failed dashboard logins.",
                &self.logins_failed,
            ),
            (
                "secmo_notifications_sent_total",
                "Messages (reports, notifications) delivered.",
                &self.notifications_sent,
            ),
            (
                "secmo_notifications_failed_total",
                "Delivery attempts that failed (retried or given up).",
                &self.notifications_failed,
            ),
            (
                "secmo_ingest_latency_ms_sum",
                "Sum of read-to-commit latencies of batches (ms).",
                &self.latency_ms_sum,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP secmo_ingest_latency_ms_count Batches measured.\n# TYPE secmo_ingest_latency_ms_count counter\nsecmo_ingest_latency_ms_count {}",
            self.latency_count.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP secmo_ingest_latency_ms_max Longest read-to-commit latency (ms).\n# TYPE secmo_ingest_latency_ms_max gauge\nsecmo_ingest_latency_ms_max {}",
            self.latency_ms_max.load(Relaxed)
        );
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
