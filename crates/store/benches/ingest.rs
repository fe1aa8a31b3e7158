//! `Store::ingest` throughput: batches of 4096 realistic rows (1 % flagged)
//! into a file-backed SQLite store (WAL, synchronous=NORMAL), growing as it runs.
//! `cargo bench -p secmo-store --bench ingest`
//!
//! Figures: see `examples/ingest_cpu.rs` for the load-independent measure
//! (rows per CPU-second, 1M realistic rows into a new store). Before the
//! segmented IP/user indexes: 101k at 4096-row batches. After (IP and user
//! indexes by 65536-event segment, top lists written once a second):
//! 4096-row batches 193k, 16384-row batches 197-201k, 65536-row 200-205k.
//! Without any secondary index the table alone takes 348k: the rest is the
//! five indexes (about 0.3-0.5 us per row each) and the WAL/checkpoint writes.
//!
//! Schema version 3 (2026-11-22, `ingest_cpu DIR 1000000 16384`, load 4-5, two
//! runs each): 142-146k rows per CPU-s before (6.8-7.0 us/row), 181-189k after
//! the smaller rows, multi-row INSERTs (5.3-5.5 us/row), then segments of 16384
//! events: 179-181k vs 146-161k for 65536 in the same (busier) minute. Without
//! any secondary index the v3 table takes 3.4 us/row; the IP index about 1.

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
