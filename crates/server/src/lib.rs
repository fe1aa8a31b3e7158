//! `secmo serve`: the engine running continuously, with storage, incidents,
//! blocking, authentication and an HTTP API.
//!
//! - [`ingest`]: tail the sources, parse, detect, store (one thread).
//! - [`respond`]: blocks, allowlist, policies, enforcers.
//! - [`auth`]: users, sessions, tokens, CSRF, throttling, the activity log.
//! - [`report`], [`notify`]: reports, notifications, and the outbox that delivers them.
//! - [`api`]: the HTTP front door.

pub mod api;
pub mod auth;
pub mod config;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod report;
pub mod respond;
pub mod state;

use crate::api::ApiError;
use crate::auth::activity::ActivityLog;
use crate::auth::ratelimit::LoginThrottle;
use crate::config::{Config, parse_duration_ms};
use crate::ingest::{Ingestor, SourceBoard, SourceDef};
use crate::state::AppState;
use anyhow::Context;
use secmo_detect::engine::Detector;
use secmo_store::{NewAuditEntry, SqliteStore, Store};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Run a store call off the async threads.
pub async fn blocking<T, E, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(e) => Err(ApiError::Internal(format!("task failed: {e}"))),
    }
}

/// Record a change made through the API. A failing audit write is logged, not fatal.
pub async fn audit(
    st: &Arc<AppState>,
    actor: &str,
    ip: Option<IpAddr>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let entry = NewAuditEntry {
        at_ms: now_ms(),
        actor: actor.to_string(),
        ip,
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.to_string(),
    };
    let s2 = Arc::clone(st);
    if let Err(e) = blocking(move || s2.store.audit(&entry)).await {
        tracing::warn!(error = %e, "cannot write the audit log");
    }
}

/// What `secmo serve` was asked to do, beyond the configuration file.
pub struct ServeOptions {
    pub config: Config,
    pub detector: Arc<Detector>,
    /// Generate demo traffic into `data_dir/demo` and watch it.
    pub demo: bool,
    /// Where to look for the standard logs (`/` except in tests).
    pub discover_root: PathBuf,
    /// Called with the bound address once listening (tests bind port 0).
    pub on_listen: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
}

/// Start everything and serve until Ctrl-C / SIGTERM.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let mut cfg = opts.config;
    cfg.apply_env();
    cfg.validate()?;
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            cfg.data_dir.display()
        )
    })?;
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&cfg.data_dir)
            .with_context(|| format!("cannot open the store in {}", cfg.data_dir.display()))?,
    );
    let activity = Arc::new(
        ActivityLog::open(&cfg.data_dir.join("activity.log")).with_context(|| {
            format!(
                "cannot open {}",
                cfg.data_dir.join("activity.log").display()
            )
        })?,
    );

    // Sources: configured, demo, or discovered; plus our own activity log.
    let stop = Arc::new(AtomicBool::new(false));
    let mut source_cfgs = cfg.sources.clone();
    let mut demo_thread = None;
    if opts.demo {
        // A newcomer should see a scheduled report without waiting an hour.
        if cfg.reports.schedule == config::ReportsConfig::default().schedule {
            cfg.reports.schedule = "5m".into();
            eprintln!("demo: a report every 5 minutes (reports.schedule)");
        }
        let dir = cfg.data_dir.join("demo");
        demo_thread = Some(ingest::demo::spawn(&dir, Arc::clone(&stop))?);
        source_cfgs.extend(ingest::demo::sources(&dir));
        eprintln!(
            "demo traffic: appending generated logs with attacks to {}",
            dir.display()
        );
    } else if source_cfgs.is_empty() {
        source_cfgs = ingest::discover::standard_sources(&opts.discover_root);
        if source_cfgs.is_empty() {
            eprintln!(
                "no standard log files found (nginx, apache, auth.log/secure, mysql, postgresql); \
                 add [[sources]] to a config file, or try `secmo serve --demo`"
            );
        }
    }
    for s in &source_cfgs {
        eprintln!(
            "watching {} ({}): {}",
            s.name,
            s.format.as_deref().unwrap_or("format sniffed"),
            s.paths.join(", ")
        );
    }
    let mut defs: Vec<SourceDef> = source_cfgs
        .iter()
        .map(|s| SourceDef {
            name: s.name.clone(),
            patterns: s.paths.clone(),
            format: s.format.as_deref().and_then(secmo_parse::Format::parse),
        })
        .collect();
    defs.push(SourceDef {
        name: "secmo".into(),
        patterns: vec![activity.path().display().to_string()],
        format: Some(secmo_parse::Format::Json),
    });

    let blocks = Arc::new(respond::BlockService::new(
        Arc::clone(&store),
        &cfg.blocking,
    )?);
    // Delivery: checked now, so a setting that can never work stops the start.
    let deliverer = secmo_notify::Deliverer::new(notify::outbox::channels(&cfg))
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let wake = Arc::new(notify::Wake::default());
    let reports = Arc::new(report::Reports::new(
        Arc::clone(&store),
        &cfg,
        Arc::clone(&wake),
    ));
    let notifier = Arc::new(notify::Notifier::new(
        Arc::clone(&store),
        &cfg,
        reports.scope.clone(),
        Arc::clone(&wake),
    ));
    // Bounded: a slow viewer misses messages (and is told), memory stays flat.
    let (live, _) = tokio::sync::broadcast::channel(256);
    let login_window = parse_duration_ms(&cfg.auth.login_window).unwrap_or(300_000);
    let state = Arc::new(AppState {
        throttle: LoginThrottle::new(cfg.auth.login_max_failures, login_window),
        user_throttle: LoginThrottle::new(
            cfg.auth.login_max_failures.saturating_mul(5),
            login_window,
        ),
        tls: cfg.tls.is_some(),
        store: Arc::clone(&store),
        detector: opts.detector,
        blocks,
        activity,
        live,
        sources: Arc::new(SourceBoard::default()),
        metrics: Arc::default(),
        started_ms: now_ms(),
        stats_cache: Default::default(),
        credentials: Default::default(),
        reports: Arc::clone(&reports),
        notifier: Arc::clone(&notifier),
        cfg,
    });

    if let Some(password) = auth::ensure_admin(&state)? {
        eprintln!(
            "created user {:?} with password {password}\n(shown once; set SECMO_ADMIN_PASSWORD to choose it)",
            state.cfg.auth.admin_user
        );
    }

    let tail_opts = secmo_tail::TailOptions {
        start_at_beginning: state.cfg.read_existing,
        ..secmo_tail::TailOptions::default()
    };
    let ingestor = Ingestor::new(Arc::clone(&state), defs, tail_opts)?;
    let ingest_stop = Arc::clone(&stop);
    let ingest_thread = std::thread::Builder::new()
        .name("secmo-ingest".into())
        .spawn(move || ingestor.run(ingest_stop))?;

    let outbox_thread = notify::outbox::spawn(
        Arc::clone(&store),
        deliverer,
        notifier,
        Arc::clone(&state.metrics),
        wake,
        Arc::clone(&stop),
    )?;
    let reports_thread = reports.spawn_scheduler(state.started_ms, Arc::clone(&stop))?;

    // Retention, every ten minutes.
    let retention_state = Arc::clone(&state);
    let retention_stop = Arc::clone(&stop);
    tokio::spawn(async move {
        let retention = secmo_store::Retention {
            max_age_days: retention_state.cfg.retention.max_age_days,
            max_events: retention_state.cfg.retention.max_events,
        };
        while !retention_stop.load(Ordering::Relaxed) {
            let s2 = Arc::clone(&retention_state);
            let r = retention.clone();
            match blocking(move || s2.store.prune(&r, now_ms())).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "retention"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention"),
            }
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
    });

    let app = api::router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>();
    let listen = state.cfg.listen;
    let handle = axum_server::Handle::new();
    let shutdown_handle = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown_handle.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    let on_listen = opts.on_listen;
    let listen_handle = handle.clone();
    let scheme = if state.tls { "https" } else { "http" };
    tokio::spawn(async move {
        if let Some(addr) = listen_handle.listening().await {
            eprintln!("secmo is listening on {scheme}://{addr}/");
            if let Some(f) = on_listen {
                f(addr);
            }
        }
    });
    let served = match &state.cfg.tls {
        Some(tls) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let rustls_cfg =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot load TLS certificate {} / key {}",
                            tls.cert.display(),
                            tls.key.display()
                        )
                    })?;
            axum_server::bind_rustls(listen, rustls_cfg)
                .handle(handle)
                .serve(app)
                .await
        }
        None => axum_server::bind(listen).handle(handle).serve(app).await,
    };
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || {
        let _ = ingest_thread.join();
        let _ = outbox_thread.join();
        let _ = reports_thread.join();
        if let Some(t) = demo_thread {
            let _ = t.join();
        }
    })
    .await;
    served.with_context(|| format!("cannot listen on {listen}"))?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
