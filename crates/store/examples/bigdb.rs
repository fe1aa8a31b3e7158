//! Build a large store and time `query_events` per filter (run by hand, release):
//!
//!     cargo run --release -p secmo-store --example bigdb -- DIR 10000000
//!     cargo run --release -p secmo-store --example bigdb -- DIR 0        # query an existing DIR only
//!     cargo run --release -p secmo-store --example bigdb -- DIR fts 1000000  # FTS5 trigram cost
//!
//! Rows come from `benches/synth` (the bench's generator), one per 2 ms.

#[path = "../benches/synth/mod.rs"]
mod synth;

use rusqlite::{Connection, params};
use secmo_event::Category;
use secmo_store::*;
use std::time::Instant;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(args.first().ok_or("usage: bigdb DIR N | DIR fts N")?);
    if args.get(1).map(String::as_str) == Some("fts") {
        let n: usize = args.get(2).ok_or("N")?.parse()?;
        return fts(&dir, n);
    }
    let n: u64 = args.get(1).ok_or("N")?.parse()?;
    let store = SqliteStore::open(&dir)?;
    let mut synth = synth::Synth::new(0);
    synth.n = store.event_count()?;
    let mut owned = Vec::new();
    let t = Instant::now();
    let mut ingest_time = std::time::Duration::ZERO;
    let mut done = 0u64;
    while done < n {
        let b = (n - done).min(4096) as usize;
        synth.fill(&mut owned, b, 2.0);
        let rows = synth::rows(&owned);
        let t1 = Instant::now();
        store.ingest(&IngestBatch {
            events: &rows,
            now_ms: synth.ts,
            incident_window_ms: 1_800_000,
            ..Default::default()
        })?;
        ingest_time += t1.elapsed();
        done += b as u64;
        if done % 1_048_576 < 4096 {
            eprintln!(
                "{done} rows, {:.0} rows/s in ingest",
                done as f64 / ingest_time.as_secs_f64()
            );
        }
    }
    if n > 0 {
        println!(
            "built {n} rows in {:.1}s wall; ingest alone {:.0} rows/s",
            t.elapsed().as_secs_f64(),
            n as f64 / ingest_time.as_secs_f64()
        );
    }
    let total = store.event_count()?;
    let last_ts = 1_700_000_000_000 + total as i64 * 2;
    println!(
        "{total} events stored; db {} MB",
        std::fs::metadata(store.path())?.len() >> 20
    );

    let base = EventQuery::default();
    let hot_ip = "10.0.0.5".parse()?;
    let cases: Vec<(&str, EventQuery)> = vec![
        ("no filter", base.clone()),
        (
            "ip (hot)",
            EventQuery {
                ip: Some(hot_ip),
                ..base.clone()
            },
        ),
        (
            "ip (rare)",
            EventQuery {
                ip: Some("10.2.255.1".parse()?),
                ..base.clone()
            },
        ),
        (
            "ip absent",
            EventQuery {
                ip: Some("192.0.2.1".parse()?),
                ..base.clone()
            },
        ),
        (
            "user",
            EventQuery {
                user: Some("user42".into()),
                ..base.clone()
            },
        ),
        (
            "user absent",
            EventQuery {
                user: Some("nobody".into()),
                ..base.clone()
            },
        ),
        (
            "kind=auth",
            EventQuery {
                kind: Some("auth".into()),
                ..base.clone()
            },
        ),
        (
            "kind=db (0.1%)",
            EventQuery {
                kind: Some("db".into()),
                ..base.clone()
            },
        ),
        (
            "kind absent",
            EventQuery {
                kind: Some("app".into()),
                ..base.clone()
            },
        ),
        (
            "flagged",
            EventQuery {
                flagged: true,
                ..base.clone()
            },
        ),
        (
            "category sqli",
            EventQuery {
                category: Some(Category::Sqli),
                ..base.clone()
            },
        ),
        (
            "category xss (absent)",
            EventQuery {
                category: Some(Category::Xss),
                ..base.clone()
            },
        ),
        (
            "status 500",
            EventQuery {
                status: Some(500),
                ..base.clone()
            },
        ),
        (
            "source=auth",
            EventQuery {
                source: Some("auth".into()),
                ..base.clone()
            },
        ),
        (
            "time range (1h, middle)",
            EventQuery {
                since_ms: Some(last_ts - total as i64),
                until_ms: Some(last_ts - total as i64 + 3_600_000),
                ..base.clone()
            },
        ),
        (
            "time range, 1000 per page",
            EventQuery {
                since_ms: Some(last_ts - total as i64),
                until_ms: Some(last_ts - total as i64 + 3_600_000),
                page: PageRequest {
                    cursor: None,
                    limit: 1000,
                },
                ..base.clone()
            },
        ),
        (
            "text common 'wp-login'",
            EventQuery {
                text: Some("/LOGIN".into()),
                ..base.clone()
            },
        ),
        (
            "text rare token",
            EventQuery {
                text: Some(synth::RARE_TOKEN.into()),
                ..base.clone()
            },
        ),
        (
            "text absent",
            EventQuery {
                text: Some("zzz-not-there".into()),
                ..base.clone()
            },
        ),
        (
            "text + ip",
            EventQuery {
                text: Some("union".into()),
                ip: Some(hot_ip),
                ..base.clone()
            },
        ),
        (
            "text + 1h range",
            EventQuery {
                text: Some("zzz-not-there".into()),
                since_ms: Some(last_ts - total as i64),
                until_ms: Some(last_ts - total as i64 + 3_600_000),
                ..base.clone()
            },
        ),
    ];
    println!(
        "{:<28} {:>10} {:>10} {:>6} next",
        "query (first page, limit 50)", "cold ms", "warm ms", "items"
    );
    for (name, q) in cases {
        let t = Instant::now();
        let p = store.query_events(&q)?;
        let cold = t.elapsed();
        let mut warm = std::time::Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            store.query_events(&q)?;
            warm = warm.min(t.elapsed());
        }
        println!(
            "{name:<28} {:>10.2} {:>10.2} {:>6} {}",
            cold.as_secs_f64() * 1e3,
            warm.as_secs_f64() * 1e3,
            p.items.len(),
            if p.next_cursor.is_some() {
                "more"
            } else {
                "end"
            }
        );
    }
    let t = Instant::now();
    let s = store.ip_summary(hot_ip)?;
    println!(
        "ip_summary (hot ip, {} events): {:.2} ms",
        s.events,
        t.elapsed().as_secs_f64() * 1e3
    );
    for (name, span) in [
        ("stats 1h", 3_600_000i64),
        ("stats 24h", 86_400_000),
        ("stats 7d", 7 * 86_400_000),
    ] {
        let q = StatsQuery {
            since_ms: last_ts - span,
            until_ms: last_ts,
            bucket_ms: 0,
            top: 10,
        };
        store.stats(&q)?;
        let t = Instant::now();
        let s = store.stats(&q)?;
        println!(
            "{name}: {:.2} ms ({} events, {} points)",
            t.elapsed().as_secs_f64() * 1e3,
            s.events,
            s.timeline.len()
        );
    }
    Ok(())
}

/// What an FTS5 trigram index on `raw` would cost: insert the same raw lines
/// in 4096-row transactions into a plain table, and into the same table plus a
/// contentless trigram index; then time substring queries on it.
fn fts(dir: &std::path::Path, n: usize) -> std::result::Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut per_row = Vec::new();
    for with_fts in [false, true] {
        let path = dir.join(if with_fts { "fts.db" } else { "plain.db" });
        let _ = std::fs::remove_file(&path);
        let mut c = Connection::open(&path)?;
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id INTEGER PRIMARY KEY, raw TEXT);",
        )?;
        if with_fts {
            c.execute_batch("CREATE VIRTUAL TABLE f USING fts5(raw, content='', tokenize='trigram case_sensitive 0');")?;
        }
        let mut synth = synth::Synth::new(0);
        let mut owned = Vec::new();
        let t = Instant::now();
        let mut done = 0;
        while done < n {
            synth.fill(&mut owned, 4096, 2.0);
            let tx = c.transaction()?;
            {
                let mut ins = tx.prepare_cached("INSERT INTO t (raw) VALUES (?1)")?;
                let mut fins = tx.prepare_cached(if with_fts {
                    "INSERT INTO f (rowid, raw) VALUES (?1, ?2)"
                } else {
                    "SELECT ?1, ?2"
                })?;
                for o in &owned {
                    ins.execute([&o.raw])?;
                    if with_fts {
                        fins.execute(params![tx.last_insert_rowid(), o.raw])?;
                    }
                }
            }
            tx.commit()?;
            done += 4096;
        }
        let secs = t.elapsed().as_secs_f64();
        per_row.push(secs / done as f64);
        println!(
            "{}: {done} rows in {secs:.1}s = {:.0} rows/s, db {} MB",
            if with_fts {
                "raw + fts5 trigram"
            } else {
                "raw only"
            },
            done as f64 / secs,
            std::fs::metadata(&path)?.len() >> 20
        );
        if with_fts {
            for needle in ["login", synth::RARE_TOKEN, "zzz-not-there"] {
                let t = Instant::now();
                let ids: Vec<i64> = c
                    .prepare("SELECT rowid FROM f WHERE f MATCH ?1 ORDER BY rowid DESC LIMIT 50")?
                    .query_map([format!("\"{needle}\"")], |r| r.get(0))?
                    .collect::<std::result::Result<_, _>>()?;
                println!(
                    "  fts query {needle:?}: {} hits in {:.2} ms",
                    ids.len(),
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        }
    }
    println!(
        "fts5 trigram adds {:.2} us per row (raw-only insert {:.2} us/row)",
        (per_row[1] - per_row[0]) * 1e6,
        per_row[0] * 1e6
    );
    Ok(())
}
