//! Per log format: lines/s and MB/s of parsing alone, and of parsing plus the
//! whole detection engine (every built-in rule, windows, alerts, analytics),
//! on one core, over generated traffic with attacks (`secmo generate`'s mix).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secmo_detect::engine::Detector;
use secmo_detect::{Engine, RuleSet};
use secmo_event::Origin;
use secmo_generate::{GenOptions, Generator, OutputFormat};
use secmo_parse::{Format, Parsed, ParserOptions, parser_for};
use std::hint::black_box;
use std::sync::Arc;

const LINES: u64 = 20_000;

fn generated(format: OutputFormat) -> String {
    let mut g = Generator::new(GenOptions {
        lines: LINES,
        seed: 7,
        ..GenOptions::new(format)
    });
    let mut text = String::new();
    while g.next_line(&mut text).is_some() {
        text.push('\n');
    }
    text
}

fn bench(c: &mut Criterion) {
    let detector = match RuleSet::builtin().and_then(|r| Detector::new(&r)) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("built-in rules must compile: {e}"),
    };
    let formats = [
        (OutputFormat::Access, Format::Access),
        (OutputFormat::Syslog, Format::Syslog),
        (OutputFormat::Json, Format::Json),
        (OutputFormat::Mysql, Format::Mysql),
        (OutputFormat::Postgres, Format::Postgres),
        (OutputFormat::Csv, Format::Csv),
    ];
    for (gen_format, format) in formats {
        let text = generated(gen_format);
        let lines: Vec<&str> = text.lines().collect();
        let opts = ParserOptions {
            year: 2024,
            ..ParserOptions::default()
        };
        let parser = parser_for(format, &opts, &lines);

        let mut group = c.benchmark_group(format.name());
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("parse", |b| {
            b.iter(|| {
                let mut n = 0u64;
                for line in &lines {
                    if let Ok(Parsed::Event(ev)) = parser.parse(black_box(line)) {
                        n += u64::from(ev.status) + 1;
                    }
                }
                n
            })
        });
        group.bench_function("parse+detect", |b| {
            b.iter(|| {
                let mut engine = Engine::new(Arc::clone(&detector));
                for (i, line) in lines.iter().enumerate() {
                    if let Ok(Parsed::Event(ev)) = parser.parse(line) {
                        let origin = Origin {
                            input: 0,
                            line: i as u64 + 1,
                        };
                        black_box(engine.process(&ev, origin, line).rules.len());
                    }
                }
                engine.finish(Vec::new()).alerts.len()
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
