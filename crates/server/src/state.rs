//! What every request handler and the ingest loop share.

use crate::auth::activity::ActivityLog;
use crate::auth::ratelimit::LoginThrottle;
use crate::config::Config;
use crate::ingest::SourceBoard;
use crate::live::LiveMessage;
use crate::metrics::Metrics;
use crate::respond::BlockService;
use secmo_detect::engine::Detector;
use secmo_store::Store;
use std::sync::Arc;
use tokio::sync::broadcast;

pub struct AppState {
    pub cfg: Config,
    pub store: Arc<dyn Store>,
    pub detector: Arc<Detector>,
    pub blocks: Arc<BlockService>,
    pub activity: Arc<ActivityLog>,
    /// Failed logins per client IP.
    pub throttle: LoginThrottle,
    /// Failed logins per user name, with a higher limit: a distributed guess
    /// at one account slows down, while one attacker cannot lock the admin out.
    pub user_throttle: LoginThrottle,
    pub live: broadcast::Sender<LiveMessage>,
    pub sources: Arc<SourceBoard>,
    pub metrics: Arc<Metrics>,
    pub started_ms: i64,
    /// Served over TLS (session cookies get `Secure`).
    pub tls: bool,
    pub stats_cache: crate::api::stats::StatsCache,
    pub credentials: crate::auth::CredentialCache,
    pub reports: Arc<crate::report::Reports>,
    pub notifier: Arc<crate::notify::Notifier>,
}
