//! `secmo generate`: synthetic traffic with labelled attacks, to a file or
//! stdout, or appended live (`--follow`) for demos of live monitoring.

use anyhow::{Context, bail};
use clap::Args;
use secmo_generate::{GenOptions, Generator, LABELS_HEADER, OutputFormat};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Args)]
pub struct GenerateArgs {
    /// Log format: access, syslog, json, mysql, postgres, csv.
    #[arg(long, short = 'f', default_value = "access", value_parser = parse_format)]
    format: OutputFormat,
    /// Number of lines (ignored with --follow).
    #[arg(long, default_value_t = 100_000)]
    lines: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the ground truth (line, category, attacker IP, user) as TSV to this file.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Benign traffic only, no attacks.
    #[arg(long)]
    benign: bool,
    /// Share of lines that belong to attacks (0 – 0.5).
    #[arg(long = "attack-share", default_value_t = 0.03)]
    attack_share: f64,
    /// First timestamp, RFC 3339 (default 2024-03-01T12:00:00Z; with --follow, now).
    #[arg(long)]
    start: Option<String>,
    /// Append to FILE forever at --rate lines per second, stamped with the wall clock.
    #[arg(long, value_name = "FILE")]
    follow: Option<PathBuf>,
    /// Lines per second with --follow.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
}

fn parse_format(s: &str) -> Result<OutputFormat, String> {
    OutputFormat::parse(s)
        .ok_or_else(|| format!("unknown format `{s}` (access, syslog, json, mysql, postgres, csv)"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut opts = GenOptions::new(args.format);
    opts.seed = args.seed;
    opts.attacks = !args.benign;
    opts.attack_share = args.attack_share;
    opts.lines = if args.follow.is_some() { 0 } else { args.lines };
    if let Some(start) = &args.start {
        let (ms, used) = secmo_event::parse_rfc3339(start)
            .with_context(|| format!("--start {start:?} is not an RFC 3339 time"))?;
        if used != start.len() {
            bail!("--start {start:?} is not an RFC 3339 time");
        }
        opts.start_ms = ms;
    } else if args.follow.is_some() {
        opts.start_ms = now_ms();
    }
    if args.follow.is_some() {
        // Simulated time then runs at wall-clock pace, so attack pacing stays realistic.
        opts.rate_per_sec = args.rate;
    }
    let mut generator = Generator::new(opts);
    let mut labels = match &args.labels {
        Some(path) => {
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            );
            writeln!(w, "{LABELS_HEADER}")?;
            Some(w)
        }
        None => None,
    };
    let mut line = String::with_capacity(512);
    let mut row = String::with_capacity(64);

    let Some(path) = &args.follow else {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        while let Some(label) = generator.next_line(&mut line) {
            line.push('\n');
            out.write_all(line.as_bytes())
                .context("cannot write output")?;
            line.clear();
            if let (Some(w), Some(l)) = (labels.as_mut(), label) {
                row.clear();
                l.push_tsv(&mut row);
                row.push('\n');
                w.write_all(row.as_bytes())?;
            }
        }
        out.flush().context("cannot write output")?;
        if let Some(w) = labels.as_mut() {
            w.flush()?;
        }
        return Ok(ExitCode::SUCCESS);
    };

    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number of lines per second");
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))?;
    eprintln!(
        "appending {} lines/s to {} (Ctrl-C to stop)",
        args.rate,
        path.display()
    );
    let tick = Duration::from_millis(100);
    let started = Instant::now();
    let mut written: u64 = 0;
    let mut batch = String::with_capacity(64 * 1024);
    loop {
        let due = (started.elapsed().as_secs_f64() * args.rate) as u64;
        generator.set_clock(now_ms());
        batch.clear();
        while written < due {
            let Some(label) = generator.next_line(&mut batch) else {
                break;
            };
            batch.push('\n');
            written += 1;
            if let (Some(w), Some(l)) = (labels.as_mut(), label) {
                row.clear();
                l.push_tsv(&mut row);
                row.push('\n');
                w.write_all(row.as_bytes())?;
            }
        }
        // One write per batch, so a tailer never sees half a line from us.
        file.write_all(batch.as_bytes())
            .with_context(|| format!("cannot append to {}", path.display()))?;
        if let Some(w) = labels.as_mut() {
            w.flush()?;
        }
        std::thread::sleep(tick);
    }
}
