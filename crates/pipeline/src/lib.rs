//! Drives secmo's stages over a set of inputs and builds the [`Report`].
//!
//! Per input: worker threads take turns cutting the (decompressed) stream into
//! chunks of whole lines (each into its own buffer, see `Source`); each then
//! repairs its chunk's invalid UTF-8 in place, parses every line, matches
//! signatures and records analytics — all in parallel;
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
        let turnstile = Turnstile::default();
        let shared = Mutex::new(Shared {
            state,
            summary: &mut summary,
        });
        let parser: Option<&dyn LineParser> = parser.as_deref();
        let source = Mutex::new(Source {
            chunker,
            first: (has_data || !first.data.is_empty() || !first.oversized.is_empty())
                .then_some(first),
            more: has_data,
            next_seq: 0,
            error: None,
            progress: &self.progress,
            base: progress_base,
            input_progress: &input_progress,
        });

        let analytics = std::thread::scope(|scope| -> Result<Vec<Analytics>, PipelineError> {
            let mut handles = Vec::with_capacity(workers);
            for _ in 0..workers {
                let detector = &self.detector;
                let (turnstile, shared, source) = (&turnstile, &shared, &source);
                handles.push(scope.spawn(move || {
                    worker_loop(input, parser, detector, source, turnstile, shared)
                }));
            }
            let mut out = Vec::with_capacity(workers);
            for h in handles {
                out.push(
                    h.join()
                        .map_err(|_| PipelineError::Internal("a parser worker panicked"))?,
                );
            }
            Ok(out)
        })?;
        let reader_error = source.into_inner().unwrap_or_else(|p| p.into_inner()).error;
        if read_error.is_none() {
            read_error = reader_error;
        }
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

/// The input, read in turns by the workers themselves: a worker that needs
/// lines takes the lock, refills its own buffer and gets the chunk's sequence
/// number. With no reader thread, nothing else competes with the workers for
/// the two cores (a reader thread preempting the worker in the ordered section
/// stalled the other one at the turnstile).
struct Source<'p, R: std::io::Read> {
    chunker: LineChunker<R>,
    /// The chunk read to recognise the format, handed out first.
    first: Option<Chunk>,
    /// False once the input ended or failed.
    more: bool,
    next_seq: u64,
    /// The read error that ended the input.
    error: Option<String>,
    progress: &'p ProgressState,
    base: u64,
    input_progress: &'p AtomicU64,
}

impl<R: std::io::Read> Source<'_, R> {
    /// Refill `chunk` with the next lines; their sequence number, or `None`
    /// at the end of the input. Every number handed out must pass the turnstile.
    fn next(&mut self, chunk: &mut Chunk) -> Option<u64> {
        if let Some(first) = self.first.take() {
            *chunk = first;
            return Some(self.take_seq());
        }
        if !self.more {
            return None;
        }
        self.progress.done.store(
            self.base + self.input_progress.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        match self.chunker.fill(chunk) {
            Ok(true) => Some(self.take_seq()),
            Ok(false) => {
                self.more = false;
                None
            }
            Err(e) => {
                self.more = false;
                self.error = Some(e.to_string());
                // Lines read before the error are still analysed.
                (!chunk.data.is_empty()).then(|| self.take_seq())
            }
        }
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
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

// Kept out of line (it runs once per thread) so profilers can name it:
// `valgrind --tool=callgrind --toggle-collect='secmo_pipeline::worker_loop*'`.
#[inline(never)]
fn worker_loop<R: std::io::Read>(
    input: u32,
    parser: Option<&dyn LineParser>,
    detector: &Arc<Detector>,
    source: &Mutex<Source<'_, R>>,
    turnstile: &Turnstile,
    shared: &Mutex<Shared<'_, '_, '_>>,
) -> Analytics {
    let mut analytics = Analytics::default();
    let mut scratch = Scratch::default();
    let mut hit_buf: Vec<Hit> = Vec::new();
    let mut hits: Vec<Hit> = Vec::new();
    // This worker's buffer, refilled for every chunk it takes.
    let mut chunk = Chunk::default();
    loop {
        let next = source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next(&mut chunk);
        let Some(seq) = next else {
            break;
        };
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
    }
    analytics
}
