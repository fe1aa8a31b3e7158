//! Ingest throughput per CPU-second (load-independent), store alone:
//!
//!     cargo run --release -p secmo-store --example ingest_cpu -- DIR ROWS BATCH
//!
//! Rows come from `benches/synth` (one per 2 ms). Generation runs on the main
//! thread and is subtracted (its own thread CPU time); the figure includes
//! the background checkpoint thread (process CPU time).

#[path = "../benches/synth/mod.rs"]
mod synth;

use secmo_store::*;
use std::time::Instant;

/// CPU seconds from /proc (`schedstat` first field: ns on CPU).
fn cpu(path: &str) -> f64 {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    s.split_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1e9
}

/// Whole-process CPU seconds (all threads, including exited ones).
fn process_cpu() -> f64 {
    let mut total = 0.0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            total += cpu(&format!("{}/schedstat", t.path().display()));
        }
    }
    total
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(args.first().ok_or("usage: ingest_cpu DIR ROWS BATCH")?);
    let n: u64 = args.get(1).ok_or("ROWS")?.parse()?;
    let batch: u64 = args.get(2).map_or(Ok(4096), |s| s.parse())?;
    let store = SqliteStore::open(&dir)?;
    // Experiments only: DROP_INDEX=a,b drops indexes before ingesting (what each costs).
    if let Ok(v) = std::env::var("DROP_INDEX") {
        let c = rusqlite::Connection::open(store.path())?;
        for ix in v.split(',').filter(|s| !s.is_empty()) {
            c.execute_batch(&format!("DROP INDEX IF EXISTS \"{ix}\""))?;
        }
    }
    let mut synth = synth::Synth::new(0);
    synth.n = store.event_count()?;
    let mut owned = Vec::new();
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let mut gen_cpu = 0.0;
    let mut done = 0u64;
    while done < n {
        let b = (n - done).min(batch) as usize;
        let g = cpu("/proc/thread-self/schedstat");
        synth.fill(&mut owned, b, 2.0);
        let rows = synth::rows(&owned);
        gen_cpu += cpu("/proc/thread-self/schedstat") - g;
        store.ingest(&IngestBatch {
            events: &rows,
            now_ms: synth.ts,
            incident_window_ms: 1_800_000,
            ..Default::default()
        })?;
        done += b as u64;
    }
    drop(store);
    let wall = t0.elapsed().as_secs_f64();
    // Exited threads (the checkpointer) are no longer in /proc/self/task: use getrusage-like totals.
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .map(|x| x.1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = (f[11].parse::<f64>()? + f[12].parse::<f64>()?) / 100.0;
    let live = process_cpu() - cpu0;
    let total = ticks.max(live) - gen_cpu;
    println!(
        "{n} rows, batch {batch}: ingest {total:.2} CPU-s => {:.0} rows per CPU-s (wall {wall:.1}s, gen {gen_cpu:.2}s)",
        n as f64 / total
    );
    Ok(())
}
