//! `secmo analyze`: read logs, detect threats, print a report.

use super::{EXIT_THREATS, load_rules};
use crate::progress::ProgressDisplay;
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use secmo::output::{self, OutputFormat, RenderOptions};
use secmo_detect::engine::Detector;
use secmo_detect::{MatchRecord, ThreatLevel};
use secmo_event::Severity;
use secmo_parse::read::expand_inputs;
use secmo_parse::{Format, ParserOptions};
use secmo_pipeline::{Analysis, AnalyzeOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Ndjson,
    Csv,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Log files, directories, glob patterns, or `-` for stdin. Rotated sets are read oldest first.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    format: FormatArg,
    /// Input format, instead of recognising each file from its first lines:
    /// access (combined/common/vhost_combined), json, syslog, mysql, postgres, csv.
    #[arg(long = "format-in", value_parser = parse_format)]
    format_in: Option<Format>,
    /// JSON field mapping override, FIELD=KEY[,KEY...] with dotted paths for nested keys
    /// (e.g. `--json-field user=account.login`); repeatable. Defaults cover the
    /// application log shape, ECS, nginx/caddy JSON and bunyan/pino.
    #[arg(long = "json-field", value_name = "FIELD=KEYS")]
    json_field: Vec<String>,
    /// Extra rule files or directories (*.yml); a rule with a built-in id replaces it.
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
    /// Exit with status 3 when any alert is at or above this severity (info, low, medium, high, critical).
    #[arg(long = "fail-on", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Add one record per flagged event (file, line, rule_ids, categories, source_ip);
    /// with `--format ndjson` they stream as they are found.
    #[arg(long)]
    matches: bool,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Lines longer than this many bytes are reported and skipped.
    #[arg(long = "max-line-bytes", default_value_t = 1 << 20)]
    max_line_bytes: usize,
    /// Evidence lines shown per alert in text output.
    #[arg(long = "evidence", default_value_t = 3)]
    evidence: usize,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        format!("unknown input format `{s}` (access, json, syslog, mysql, postgres, csv)")
    })
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity `{s}` (info, low, medium, high, critical)"))
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    let detector = Arc::new(Detector::new(&rules).context("invalid rules")?);
    let inputs = expand_inputs(&args.inputs)?;
    if inputs.is_empty() {
        bail!("no input files matched {:?}", args.inputs);
    }
    let format = match args.format {
        FormatArg::Text => OutputFormat::Text,
        FormatArg::Json => OutputFormat::Json,
        FormatArg::Ndjson => OutputFormat::Ndjson,
        FormatArg::Csv => OutputFormat::Csv,
        FormatArg::Html => OutputFormat::Html,
    };
    let streaming = args.matches && matches!(format, OutputFormat::Ndjson);
    let mut parser = ParserOptions::default();
    for spec in &args.json_field {
        parser.json = parser
            .json
            .with_spec(spec)
            .with_context(|| format!("--json-field {spec}"))?;
    }
    let opts = AnalyzeOptions {
        format: args.format_in,
        parser,
        threads: args.threads,
        max_line: args.max_line_bytes,
        collect_matches: args.matches && !streaming,
        ..AnalyzeOptions::default()
    };
    let analysis = Analysis::new(detector, opts);

    let mut out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )),
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();

    let progress = ProgressDisplay::start(analysis.progress());
    let mut write_error: Option<std::io::Error> = None;
    let report = if streaming {
        let mut sink = |rec: &MatchRecord| {
            if write_error.is_none()
                && let Err(e) = output::write_match_ndjson(rec, &mut out)
            {
                write_error = Some(e);
            }
        };
        analysis.run(&inputs, Some(&mut sink))
    } else {
        analysis.run(&inputs, None)
    };
    progress.finish();
    let report = report?;
    if let Some(e) = write_error {
        return Err(e).context("cannot write output");
    }

    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let render_opts = RenderOptions {
        color,
        max_evidence: args.evidence,
        width: 100,
    };
    output::render(&report, format, &render_opts, &mut out).context("cannot write output")?;
    out.flush().context("cannot write output")?;

    // Problems with inputs go to stderr too, so a piped run still shows them.
    if !matches!(format, OutputFormat::Text) || !to_terminal {
        for input in &report.inputs {
            if let Some(err) = &input.error {
                eprintln!("secmo: warning: {}: {err}", input.file);
            }
        }
    }

    if let Some(min) = args.fail_on
        && report.threat_level >= ThreatLevel::from_severity(min)
    {
        return Ok(ExitCode::from(EXIT_THREATS));
    }
    Ok(ExitCode::SUCCESS)
}
