//! `secmo serve`: continuous monitoring with the HTTP API.

use super::load_rules;
use anyhow::Context;
use clap::Args;
use secmo_detect::engine::Detector;
use secmo_server::config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Without one: watch the standard logs found on this host.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the config), e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Where the database, checkpoints and activity log live (overrides the config).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Extra rules: a YAML file or a directory of them (overrides the config).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Generate live demo traffic with attacks and watch it.
    #[arg(long)]
    demo: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("secmo: {e}");
                return Ok(ExitCode::from(super::EXIT_USAGE));
            }
        },
        None => Config::default(),
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = args.data_dir {
        config.data_dir = d;
    }
    if let Some(r) = args.rules {
        config.rules = Some(r);
    }
    config.apply_env();
    if let Err(e) = config.validate() {
        eprintln!("secmo: {e}");
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let dirs: Vec<PathBuf> = config.rules.iter().cloned().collect();
    let rules = load_rules(&dirs)?;
    let detector = Arc::new(Detector::new(&rules).context("invalid rules")?);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SECMO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(secmo_server::serve(secmo_server::ServeOptions {
        config,
        detector,
        demo: args.demo,
        discover_root: PathBuf::from("/"),
        on_listen: None,
    }))?;
    Ok(ExitCode::SUCCESS)
}
