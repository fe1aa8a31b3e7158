//! Drives secmo's stages over a set of inputs and builds the [`Report`].
//!
//! Per input: a reader thread cuts the (decompressed) stream into chunks of whole
//! lines; worker threads each take a chunk, repair invalid UTF-8 in place,
//! parse every line, match signatures and record analytics — all in parallel;
//! then, in chunk order (a turnstile), the worker feeds the chunk's events to
//! the stream's [`Engine`] for correlation and alert grouping. Events borrow
//! from the chunk the worker owns, so nothing is copied per line.
//!
//! Inputs of one rotated set (`access.log.2.gz access.log.1 access.log`) form
//! one stream with one engine, so windows span rotations; separate logs get
//! separate engines (their clocks are unrelated) and their alerts are merged.

mod merge;
mod stream;
pub mod utf8;

use crossbeam_channel::{Receiver, Sender, bounded};
use secmo_detect::analytics::Analytics;
use secmo_detect::engine::Detector;
use secmo_detect::report::UnparsedSample;
use secmo_detect::signatures::{Hit, Scratch};
use secmo_detect::{Engine, InputSummary, MatchRecord, Report, ThreatLevel};
use secmo_event::{Event, Origin};
use secmo_parse::read::{Chunk, InputSpec, LineChunker, open_input};
use secmo_parse::{Format, LineParser, Parsed, ParserOptions, parser_for, sniff_format};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Unparsed lines kept as examples per input.
const MAX_UNPARSED_SAMPLES: usize = 5;
/// Longest raw text kept in an unparsed sample.
const SAMPLE_CHARS: usize = 300;
/// Lines looked at to recognise a format.
const SNIFF_LINES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Read(#[from] secmo_parse::read::ReadError),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// How to run an analysis.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Force a format instead of sniffing each input.
    pub format: Option<Format>,
    pub parser: ParserOptions,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    pub chunk_size: usize,
    /// Lines longer than this are reported and skipped.
    pub max_line: usize,
    /// Keep a [`MatchRecord`] per flagged event in the report.
    pub collect_matches: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            format: None,
            parser: ParserOptions::default(),
            threads: 0,
            chunk_size: 1 << 18,
            max_line: 1 << 20,
            collect_matches: false,
        }
    }
}

/// Bytes read so far and in all, for a progress display.
#[derive(Debug, Default)]
pub struct ProgressState {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

/// Receives each flagged event's record, in input order, as soon as it is known.
pub type MatchSink<'s> = &'s mut (dyn FnMut(&MatchRecord) + Send);

/// One analysis run over a list of inputs.
pub struct Analysis {
    detector: Arc<Detector>,
    opts: AnalyzeOptions,
    progress: Arc<ProgressState>,
}

impl Analysis {
    pub fn new(detector: Arc<Detector>, opts: AnalyzeOptions) -> Analysis {
        Analysis {
            detector,
            opts,
            progress: Arc::new(ProgressState::default()),
        }
    }

    pub fn progress(&self) -> Arc<ProgressState> {
        Arc::clone(&self.progress)
    }

    /// Analyse `inputs` (already expanded and ordered) and build the report.
    /// A read error ends that input (and is shown in its summary), not the run.
    pub fn run(
        &self,
        inputs: &[InputSpec],
        mut sink: Option<MatchSink<'_>>,
    ) -> Result<Report, PipelineError> {
        let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
        let mut summaries = Vec::with_capacity(inputs.len());
        let mut analytics = Analytics::default();
        let mut alerts = Vec::new();
        let mut matches = self.opts.collect_matches.then(Vec::new);
        let mut first_ts: Option<i64> = None;
        let mut last_ts: Option<i64> = None;

        for group in stream::group_streams(inputs) {
            let mut engine = Engine::new(Arc::clone(&self.detector));
            for idx in group {
                let spec = &inputs[idx];
                let mut state = StreamState {
                    engine,
                    names: &names,
                    matches: matches.as_mut(),
                    sink: match sink.as_mut() {
                        Some(s) => Some(&mut **s),
                        None => None,
                    },
                };
                let (summary, worker_analytics) = self.run_input(idx as u32, spec, &mut state)?;
                engine = state.engine;
                summaries.push(summary);
                for a in worker_analytics {
                    analytics.merge(a);
                }
            }
            let (start, end) = engine.period();
            first_ts = first_ts.into_iter().chain(start).min();
            last_ts = last_ts.into_iter().chain(end).max();
            alerts.extend(engine.finish_alerts());
        }
        let mut alerts = merge::merge_alerts(alerts);
        for a in &mut alerts {
            for e in &mut a.evidence {
                e.file = names.get(e.input as usize).cloned().unwrap_or_default();
            }
        }
        Ok(Report {
            threat_level: ThreatLevel::of(&alerts),
            period_start: first_ts.map(secmo_event::format_rfc3339),
            period_end: last_ts.map(secmo_event::format_rfc3339),
            rules_loaded: self.detector.rules().len(),
            alerts,
            analytics: analytics.finish(),
            inputs: summaries,
            matches,
        })
    }

    fn run_input(
        &self,
        input: u32,
        spec: &InputSpec,
        state: &mut StreamState<'_, '_>,
    ) -> Result<(InputSummary, Vec<Analytics>), PipelineError> {
        let mut summary = InputSummary {
            file: spec.name.clone(),
            ..InputSummary::default()
        };
        let opened = match open_input(spec) {
            Ok(o) => o,
            Err(e) => {
                summary.error = Some(e.to_string());
                return Ok((summary, Vec::new()));
            }
        };
        if let Some(size) = opened.size {
            self.progress.total.fetch_add(size, Ordering::Relaxed);
        }
        let mut parser_opts = self.opts.parser.clone();
        if parser_opts.reference_ms.is_none() {
            parser_opts.reference_ms = opened.modified_ms;
        }
        let progress_base = self.progress.done.load(Ordering::Relaxed);
        let input_progress = Arc::clone(&opened.progress);
        let mut chunker = LineChunker::new(opened.reader, self.opts.chunk_size, self.opts.max_line);

        // The first chunk decides the format.
        let mut first = Chunk::default();
        let mut read_error = None;
        let has_data = match chunker.fill(&mut first) {
            Ok(more) => more,
            Err(e) => {
                read_error = Some(e.to_string());
                false
            }
        };
        utf8::repair_in_place(&mut first.data);
        let (format, parser) = {
            let text = std::str::from_utf8(&first.data).unwrap_or("");
            let sample: Vec<&str> = text.lines().take(SNIFF_LINES).collect();
            let format = self
                .opts
                .format
                .or_else(|| sniff_format(&sample, &parser_opts).map(|(f, _)| f));
            (format, format.map(|f| parser_for(f, &parser_opts, &sample)))
        };
        summary.format = format.map_or("unknown", Format::name).to_string();

        let workers = if self.opts.threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.opts.threads
        };
        let (work_tx, work_rx) = bounded::<(u64, Chunk)>(workers * 2);
        let (free_tx, free_rx) = bounded::<Chunk>(workers * 3);
        let turnstile = Turnstile::default();
        let shared = Mutex::new(Shared {
            state,
            summary: &mut summary,
        });
        let parser: Option<&dyn LineParser> = parser.as_deref();

        let analytics = std::thread::scope(|scope| -> Result<Vec<Analytics>, PipelineError> {
            // The reader owns the only sender: when it returns, the workers' queue closes.
            let reader = scope.spawn(|| {
                let work_tx = work_tx;
                reader_loop(
                    chunker,
                    first,
                    has_data,
                    &work_tx,
                    &free_rx,
                    &self.progress,
                    progress_base,
                    &input_progress,
                )
            });
            let mut handles = Vec::with_capacity(workers);
            for _ in 0..workers {
                let rx = work_rx.clone();
                let free = free_tx.clone();
                let detector = &self.detector;
                let turnstile = &turnstile;
                let shared = &shared;
                handles.push(scope.spawn(move || {
                    worker_loop(input, parser, detector, rx, free, turnstile, shared)
                }));
            }
            drop(work_rx);
            drop(free_tx);
            let mut out = Vec::with_capacity(workers);
            for h in handles {
                out.push(
                    h.join()
                        .map_err(|_| PipelineError::Internal("a parser worker panicked"))?,
                );
            }
            let reader_error = reader
                .join()
                .map_err(|_| PipelineError::Internal("the reader panicked"))?;
            if read_error.is_none() {
                read_error = reader_error;
            }
            Ok(out)
        })?;
        summary.error = read_error;
        if let Some(size) = opened.size {
            self.progress
                .done
                .store(progress_base + size, Ordering::Relaxed);
        }
        Ok((summary, analytics))
    }
}

/// The per-stream state the turnstile protects.
struct StreamState<'n, 's> {
    engine: Engine,
    names: &'n [String],
    matches: Option<&'n mut Vec<MatchRecord>>,
    sink: Option<&'n mut (dyn FnMut(&MatchRecord) + Send + 's)>,
}

struct Shared<'a, 'n, 's> {
    state: &'a mut StreamState<'n, 's>,
    summary: &'a mut InputSummary,
}

/// Lets chunks enter the ordered section in sequence.
#[derive(Default)]
struct Turnstile {
    next: Mutex<u64>,
    turn: Condvar,
}

impl Turnstile {
    fn wait_for(&self, seq: u64) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        while *next != seq {
            next = self.turn.wait(next).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn done(&self, seq: u64) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *next = seq + 1;
        self.turn.notify_all();
    }
}

#[allow(clippy::too_many_arguments)]
fn reader_loop<R: std::io::Read>(
    mut chunker: LineChunker<R>,
    first: Chunk,
    has_data: bool,
    work: &Sender<(u64, Chunk)>,
    free: &Receiver<Chunk>,
    progress: &ProgressState,
    base: u64,
    input_progress: &AtomicU64,
) -> Option<String> {
    if !has_data {
        // The first chunk may still hold lines when an error followed them.
        if !first.data.is_empty() || !first.oversized.is_empty() {
            let _ = work.send((0, first));
        }
        return None;
    }
    let mut seq = 0u64;
    if work.send((seq, first)).is_err() {
        return None;
    }
    loop {
        progress.done.store(
            base + input_progress.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut chunk = free.try_recv().unwrap_or_default();
        match chunker.fill(&mut chunk) {
            Ok(true) => {
                seq += 1;
                if work.send((seq, chunk)).is_err() {
                    return None;
                }
            }
            Ok(false) => return None,
            Err(e) => {
                if !chunk.data.is_empty() {
                    seq += 1;
                    let _ = work.send((seq, chunk));
                }
                return Some(e.to_string());
            }
        }
    }
}

/// What one line became, in chunk order. Kept by value in a per-chunk vector
/// (one allocation per chunk), so the size difference costs nothing per line.
#[allow(clippy::large_enum_variant)]
enum LineOutcome<'a> {
    Event {
        ev: Event<'a>,
        raw: &'a str,
        line: u64,
        hits: std::ops::Range<usize>,
    },
    Skipped,
    Unparsed {
        line: u64,
        reason: &'static str,
        raw: &'a str,
    },
}

fn worker_loop(
    input: u32,
    parser: Option<&dyn LineParser>,
    detector: &Arc<Detector>,
    rx: Receiver<(u64, Chunk)>,
    free: Sender<Chunk>,
    turnstile: &Turnstile,
    shared: &Mutex<Shared<'_, '_, '_>>,
) -> Analytics {
    let mut analytics = Analytics::default();
    let mut scratch = Scratch::default();
    let mut hit_buf: Vec<Hit> = Vec::new();
    let mut hits: Vec<Hit> = Vec::new();
    for (seq, mut chunk) in rx {
        utf8::repair_in_place(&mut chunk.data);
        hits.clear();
        let mut outcomes = Vec::with_capacity(chunk.data.len() / 128 + 1);
        {
            let oversized = &chunk.oversized;
            // Validated once per chunk; each line is then a slice of this text.
            let text = utf8::as_str(&chunk.data);
            let base = chunk.data.as_ptr() as usize;
            for (line_no, bytes) in chunk.lines() {
                // Repaired above, so this cannot fail; treat a failure as unparsed rather than panic.
                let Some(line) = text.and_then(|t| utf8::line_str(t, base, bytes)) else {
                    outcomes.push(LineOutcome::Unparsed {
                        line: line_no,
                        reason: "invalid UTF-8",
                        raw: "",
                    });
                    continue;
                };
                if line.is_empty() {
                    if oversized.iter().any(|o| o.line == line_no) {
                        outcomes.push(LineOutcome::Unparsed {
                            line: line_no,
                            reason: "line too long",
                            raw: "",
                        });
                    } else {
                        outcomes.push(LineOutcome::Skipped);
                    }
                    continue;
                }
                let Some(parser) = parser else {
                    outcomes.push(LineOutcome::Unparsed {
                        line: line_no,
                        reason: "unrecognised log format (use --format-in)",
                        raw: line,
                    });
                    continue;
                };
                match parser.parse(line) {
                    Ok(Parsed::Event(ev)) => {
                        analytics.observe(&ev);
                        detector.matches(&ev, &mut scratch, &mut hit_buf);
                        let start = hits.len();
                        hits.extend_from_slice(&hit_buf);
                        outcomes.push(LineOutcome::Event {
                            ev,
                            raw: line,
                            line: line_no,
                            hits: start..hits.len(),
                        });
                    }
                    Ok(Parsed::Skip) => outcomes.push(LineOutcome::Skipped),
                    Err(e) => outcomes.push(LineOutcome::Unparsed {
                        line: line_no,
                        reason: e.reason,
                        raw: line,
                    }),
                }
            }
        }
        turnstile.wait_for(seq);
        {
            let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
            let Shared { state, summary } = &mut *guard;
            let detector = Arc::clone(state.engine.detector());
            summary.bytes += chunk.data.len() as u64;
            for outcome in &outcomes {
                summary.lines += 1;
                match outcome {
                    LineOutcome::Event {
                        ev,
                        raw,
                        line,
                        hits: range,
                    } => {
                        summary.parsed += 1;
                        let origin = Origin { input, line: *line };
                        let verdict =
                            state
                                .engine
                                .process_hits(ev, origin, raw, &hits[range.clone()]);
                        if !verdict.rules.is_empty()
                            && (state.matches.is_some() || state.sink.is_some())
                        {
                            let rules = detector.rules();
                            let mut rule_ids = Vec::with_capacity(verdict.rules.len());
                            let mut categories = Vec::with_capacity(verdict.rules.len());
                            for &r in verdict.rules {
                                if let Some(meta) = rules.get(r as usize) {
                                    if !rule_ids.contains(&meta.id) {
                                        rule_ids.push(meta.id.clone());
                                    }
                                    if !categories.contains(&meta.category) {
                                        categories.push(meta.category);
                                    }
                                }
                            }
                            let record = MatchRecord {
                                file: state.names.get(input as usize).cloned().unwrap_or_default(),
                                line: *line,
                                rule_ids,
                                categories,
                                source_ip: ev.source_ip.map(|ip| ip.to_string()),
                            };
                            if let Some(sink) = state.sink.as_mut() {
                                sink(&record);
                            }
                            if let Some(m) = state.matches.as_mut() {
                                m.push(record);
                            }
                        }
                    }
                    LineOutcome::Skipped => summary.skipped += 1,
                    LineOutcome::Unparsed { line, reason, raw } => {
                        summary.unparsed += 1;
                        if summary.unparsed_samples.len() < MAX_UNPARSED_SAMPLES {
                            summary.unparsed_samples.push(UnparsedSample {
                                line: *line,
                                reason: (*reason).to_string(),
                                raw: raw.chars().take(SAMPLE_CHARS).collect(),
                            });
                        }
                    }
                }
            }
        }
        turnstile.done(seq);
        drop(outcomes);
        let _ = free.try_send(chunk);
    }
    analytics
}
