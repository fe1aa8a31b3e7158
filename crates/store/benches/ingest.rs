//! `Store::ingest` throughput: batches of 4096 realistic rows (1 % flagged)
//! into a file-backed SQLite store (WAL, synchronous=NORMAL), growing as it runs.
//! `cargo bench -p secmo-store --bench ingest`
//!
//! Figures (2-core box shared with two other builds, load average 7-8, so
//! wall-clock throughput is roughly a third of an idle core's): 4096-row
//! batches 30-40k rows/s, 32768-row batches 43k rows/s. Load-independent:
//! `examples/bigdb` ingesting 1M rows used 14.7 CPU-s including generation and
//! queries, i.e. about 85k rows per CPU-second. Most of it is the per-event IP
//! index (random keys: one dirty page per address per commit); without it the
//! same bench ran ~3x faster. 8 KiB pages gave +25-35 % over 4 KiB.

mod synth;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secmo_store::{IngestBatch, SqliteStore, Store};

const BATCH: usize = 4096;

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    for batch in [BATCH, 8 * BATCH] {
        let mut synth = synth::Synth::new(0);
        let mut owned = Vec::new();
        // Pre-generate a set of batches so the measurement is the store alone.
        let batches: Vec<Vec<synth::Owned>> = (0..(256 * 1024 / batch))
            .map(|_| {
                synth.fill(&mut owned, batch, 2.0);
                std::mem::take(&mut owned)
            })
            .collect();
        g.throughput(Throughput::Elements(batch as u64));
        let mut i = 0usize;
        g.bench_function(format!("ingest_{batch}"), |b| {
            b.iter(|| {
                let rows = synth::rows(&batches[i % batches.len()]);
                i += 1;
                store
                    .ingest(&IngestBatch {
                        events: &rows,
                        now_ms: 1_700_000_000_000,
                        incident_window_ms: 1_800_000,
                        ..Default::default()
                    })
                    .expect("ingest")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
