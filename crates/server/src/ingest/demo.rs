//! `secmo serve --demo`: generated traffic with attacks, appended live to
//! log files the server watches, so a newcomer sees detections at once.

use crate::config::SourceConfig;
use secmo_generate::{GenOptions, Generator, OutputFormat};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// (source name, format, lines per second)
const FEEDS: &[(&str, OutputFormat, f64)] = &[
    ("demo-web", OutputFormat::Access, 40.0),
    ("demo-auth", OutputFormat::Syslog, 4.0),
    ("demo-app", OutputFormat::Json, 6.0),
];
/// History written at start, so the dashboard has a past to show.
const BACKFILL_MS: i64 = 30 * 60_000;

pub fn sources(dir: &Path) -> Vec<SourceConfig> {
    FEEDS
        .iter()
        .map(|(name, fmt, _)| SourceConfig {
            name: (*name).into(),
            paths: vec![dir.join(format!("{name}.log")).display().to_string()],
            format: Some(fmt.as_str().into()),
        })
        .collect()
}

/// Write the backfill, then append at each feed's rate until `stop`.
pub fn spawn(dir: &Path, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::fs::create_dir_all(dir)?;
    let now = crate::now_ms();
    let mut feeds = Vec::new();
    for (i, (name, fmt, rate)) in FEEDS.iter().enumerate() {
        let path = dir.join(format!("{name}.log"));
        let mut opts = GenOptions::new(*fmt);
        opts.seed = now as u64 ^ i as u64;
        opts.lines = 0;
        opts.attack_share = 0.08;
        opts.rate_per_sec = *rate;
        opts.start_ms = now - BACKFILL_MS;
        let mut generator = Generator::new(opts);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        // Backfill: simulated time runs from 30 minutes ago up to now.
        let mut buf = String::new();
        while generator.clock_ms() < now {
            if generator.next_line(&mut buf).is_none() {
                break;
            }
            buf.push('\n');
        }
        file.write_all(buf.as_bytes())?;
        feeds.push((generator, file, *rate));
    }
    std::thread::Builder::new()
        .name("secmo-demo".into())
        .spawn(move || {
            let started = Instant::now();
            let mut written = vec![0u64; feeds.len()];
            let mut buf = String::new();
            while !stop.load(Ordering::Relaxed) {
                let elapsed = started.elapsed().as_secs_f64();
                for (k, (generator, file, rate)) in feeds.iter_mut().enumerate() {
                    let due = (elapsed * *rate) as u64;
                    generator.set_clock(crate::now_ms());
                    buf.clear();
                    while written[k] < due {
                        if generator.next_line(&mut buf).is_none() {
                            break;
                        }
                        buf.push('\n');
                        written[k] += 1;
                    }
                    if !buf.is_empty() && file.write_all(buf.as_bytes()).is_err() {
                        tracing::warn!("demo traffic: cannot append to its log");
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
}
