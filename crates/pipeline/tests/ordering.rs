//! The report does not depend on how the input is cut or how many workers
//! parse it: chunks finished out of turn are recorded in input order.

use secmo_detect::engine::Detector;
use secmo_detect::{MatchRecord, RuleSet};
use secmo_generate::{GenOptions, Generator, OutputFormat};
use secmo_parse::read::InputSpec;
use secmo_pipeline::{Analysis, AnalyzeOptions};
use std::sync::Arc;

fn report_json(path: &std::path::Path, threads: usize, chunk_size: usize) -> (String, Vec<u64>) {
    let detector = match RuleSet::builtin().and_then(|r| Detector::new(&r)) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("built-in rules must compile: {e}"),
    };
    let analysis = Analysis::new(
        detector,
        AnalyzeOptions {
            threads,
            chunk_size,
            collect_matches: true,
            ..AnalyzeOptions::default()
        },
    );
    let mut streamed = Vec::new();
    let mut sink = |m: &MatchRecord| streamed.push(m.line);
    let report = match analysis.run(&[InputSpec::file(path)], Some(&mut sink)) {
        Ok(r) => r,
        Err(e) => panic!("analysis failed: {e}"),
    };
    match serde_json::to_string_pretty(&report) {
        Ok(json) => (json, streamed),
        Err(e) => panic!("report does not serialise: {e}"),
    }
}

#[test]
fn threads_and_chunk_sizes_give_the_same_report() {
    let mut g = Generator::new(GenOptions {
        lines: 30_000,
        seed: 11,
        ..GenOptions::new(OutputFormat::Access)
    });
    let mut text = String::new();
    while g.next_line(&mut text).is_some() {
        text.push('\n');
    }
    // A malformed line and a binary one, so unparsed samples are ordered too.
    text.push_str("not a log line at all\n\u{16}\u{3}\u{1}\u{0}garbage\n");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("access.log");
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("write: {e}"));

    let (one, one_streamed) = report_json(&path, 1, 1 << 18);
    assert!(
        one.contains("\"alerts\""),
        "a report: {}",
        &one[..200.min(one.len())]
    );
    assert!(one_streamed.len() > 100, "generated attacks are matched");
    assert!(
        one_streamed.windows(2).all(|w| w[0] < w[1]),
        "matches stream in line order"
    );
    // 4 KiB chunks: hundreds of chunks, many finished out of turn.
    for (threads, chunk) in [(2, 4096), (4, 4096), (3, 65_536)] {
        let (many, streamed) = report_json(&path, threads, chunk);
        assert!(
            one == many,
            "{threads} threads with {chunk}-byte chunks changed the report"
        );
        assert_eq!(
            streamed, one_streamed,
            "{threads} threads, {chunk}-byte chunks"
        );
    }
}
