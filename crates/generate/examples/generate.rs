//! `cargo run --release -p secmo-generate --example generate -- FORMAT LINES SEED [benign] > out.log 2> labels.tsv`
//! Prints lines/s to stderr after the labels when `SECMO_GEN_BENCH` is set.

use secmo_generate::{GenOptions, Generator, LABELS_HEADER, OutputFormat};
use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let format = args
        .get(1)
        .and_then(|f| OutputFormat::parse(f))
        .unwrap_or_default();
    let lines = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let seed = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
    let benign = args.get(4).is_some_and(|a| a == "benign");
    let mut g = Generator::new(GenOptions {
        lines,
        seed,
        attacks: !benign,
        ..GenOptions::new(format)
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut err = std::io::BufWriter::new(std::io::stderr().lock());
    writeln!(err, "{LABELS_HEADER}")?;
    let mut line = String::with_capacity(512);
    let started = std::time::Instant::now();
    while let Some(label) = g.next_line(&mut line) {
        line.push('\n');
        out.write_all(line.as_bytes())?;
        line.clear();
        if let Some(l) = label {
            writeln!(err, "{}", l.to_tsv())?;
        }
    }
    out.flush()?;
    if std::env::var_os("SECMO_GEN_BENCH").is_some() {
        let secs = started.elapsed().as_secs_f64();
        writeln!(
            err,
            "{lines} lines in {secs:.3} s: {:.0} lines/s",
            lines as f64 / secs
        )?;
    }
    Ok(())
}
