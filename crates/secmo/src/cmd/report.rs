//! `secmo report`: a report as a file or an e-mail, from the store of
//! `secmo serve` (a period of live data) or straight from log files.

use super::load_rules;
use anyhow::{Context, bail};
use clap::Args;
use secmo_detect::engine::Detector;
use secmo_notify::Deliverer;
use secmo_parse::read::expand_inputs;
use secmo_pipeline::{Analysis, AnalyzeOptions};
use secmo_report::{Lang, ReportDoc, ReportFormat};
use secmo_server::config::{Config, parse_duration_ms, valid_address};
use secmo_store::{NewOutboxMessage, ReportTrigger, SqliteStore, Store};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct ReportArgs {
    /// Build the report from these log files (globs, directories, `-`) instead of the store.
    #[arg(long, short = 'i', num_args = 1..)]
    input: Vec<String>,
    /// The period, ending now, when reading the store: 1h, 24h, 7d.
    #[arg(long, default_value = "24h")]
    since: String,
    /// Write the report here; the format follows the extension (.html, .pdf, .csv, .json, .txt).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Format for stdout or to override the extension: html, pdf, csv, json, text.
    #[arg(long, short = 'f')]
    format: Option<String>,
    /// E-mail the report to these addresses (uses [smtp] of the configuration); repeatable.
    #[arg(long)]
    to: Vec<String>,
    /// Language: en, es, de (default: reports.language of the configuration).
    #[arg(long)]
    lang: Option<String>,
    /// Configuration file of `secmo serve` (data directory, [smtp], language).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// The data directory of `secmo serve` (overrides the configuration).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Extra rules (with --input), as for `secmo analyze`.
    #[arg(long)]
    rules: Vec<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
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
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    config.apply_env();
    let lang = match args.lang.as_deref() {
        Some(l) => match Lang::parse(l) {
            Some(l) => l,
            None => {
                eprintln!("secmo: unknown language {l:?} (en, es, de)");
                return Ok(ExitCode::from(super::EXIT_USAGE));
            }
        },
        None => Lang::parse(&config.reports.language).unwrap_or(Lang::En),
    };
    let format = match (&args.format, &args.out) {
        (Some(f), _) => ReportFormat::from_name(f)
            .with_context(|| format!("unknown format {f:?} (html, pdf, csv, json, text)"))?,
        (None, Some(out)) => ReportFormat::from_extension(out).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension (.html, .pdf, .csv, .json, .txt); add --format",
                out.display()
            )
        })?,
        (None, None) => ReportFormat::Text,
    };
    for a in &args.to {
        if !valid_address(a) {
            bail!("{a:?} is not an e-mail address");
        }
    }
    if !args.to.is_empty() && config.smtp.is_none() {
        bail!("--to needs an [smtp] section in the configuration (--config secmo.toml)");
    }

    let now = secmo_server::now_ms();
    // From files, or from the store (which keeps the report).
    let (doc, store): (ReportDoc, Option<Arc<dyn Store>>) = if !args.input.is_empty() {
        let rules = load_rules(&args.rules)?;
        let detector = Arc::new(Detector::new(&rules).context("invalid rules")?);
        let inputs = expand_inputs(&args.input)?;
        if inputs.is_empty() {
            bail!("no input files matched {:?}", args.input);
        }
        let report = Analysis::new(detector, AnalyzeOptions::default()).run(&inputs, None)?;
        let scope: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        (
            secmo_report::from_analysis(&report, &scope.join(", "), now),
            None,
        )
    } else {
        let db = config.data_dir.join(secmo_store::sqlite::DB_FILE);
        if !db.exists() {
            bail!(
                "no secmo database at {} (give --data-dir or --config of `secmo serve`, or --input FILES)",
                db.display()
            );
        }
        let since = parse_duration_ms(&args.since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&config.data_dir).with_context(|| {
                format!("cannot open the store in {}", config.data_dir.display())
            })?);
        let reports = secmo_server::report::Reports::new(
            Arc::clone(&store),
            &config,
            Arc::new(secmo_server::notify::Wake::default()),
        );
        let (meta, doc) =
            reports.generate(now - since, now, ReportTrigger::Manual, "cli", lang, now)?;
        eprintln!(
            "report {} stored ({} incidents)",
            meta.id, doc.summary.incidents
        );
        (doc, Some(store))
    };

    let bytes = secmo_report::render(&doc, format, lang);
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
        None if args.to.is_empty() => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).context("cannot write output")?;
            out.flush().context("cannot write output")?;
        }
        None => {}
    }

    let mut failed = 0;
    if !args.to.is_empty() {
        let deliverer = Deliverer::new(secmo_server::notify::outbox::channels(&config))
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        for to in &args.to {
            let msg = secmo_server::report::report_email(
                &doc,
                lang,
                std::slice::from_ref(to),
                config.reports.attach_pdf,
            );
            match deliverer.deliver(&msg) {
                Ok(()) => eprintln!("sent to {to}"),
                Err(e) => {
                    failed += 1;
                    // With a store, the server's outbox takes over and retries.
                    let queued = store.as_ref().and_then(|s| {
                        let payload = serde_json::to_string(&msg).ok()?;
                        s.enqueue(&NewOutboxMessage {
                            created_ms: now,
                            channel: "email".into(),
                            kind: "report".into(),
                            target: to.clone(),
                            subject: secmo_report::subject(&doc, lang),
                            payload,
                            dedupe_key: doc.id.map(|id| format!("report:{id}:{to}")),
                            report_id: doc.id,
                        })
                        .ok()
                        .flatten()
                    });
                    match queued {
                        Some(_) => eprintln!(
                            "secmo: cannot send to {to}: {e} (queued: a running `secmo serve` retries it)"
                        ),
                        None => eprintln!("secmo: cannot send to {to}: {e}"),
                    }
                }
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(super::EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
