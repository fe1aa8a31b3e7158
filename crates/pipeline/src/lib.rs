//! Drives secmo's stages over a set of inputs and builds the [`Report`].
//!
//! Per input: worker threads take turns cutting the (decompressed) stream into
//! chunks of whole lines (each into its own buffer, see `Source`); each then
//! repairs its chunk's invalid UTF-8 in place, parses every line, matches
//! signatures and records analytics — all in parallel;
//! then the chunk's events are fed, in chunk order, to the stream's [`Engine`]
//! for correlation and alert grouping (see `Handoff`: a chunk finished out of
//! turn is left for whichever worker is recording, so no core waits). Events
//! borrow from their chunk's buffer, so nothing is copied per line.
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
use secmo_event::Origin;
use secmo_parse::read::{Chunk, InputSpec, LineChunker, open_input};
use secmo_parse::{
    Format, LineParser, ParseError, Parsed, ParserOptions, parser_for, sniff_format,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

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
        let handoff = Handoff::new(workers);
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

        let analytics =
            std::thread::scope(|scope| -> Result<Vec<Analytics>, PipelineError> {
                let mut handles = Vec::with_capacity(workers);
                for _ in 0..workers {
                    let detector = &self.detector;
                    let (handoff, shared, source) = (&handoff, &shared, &source);
                    handles.push(scope.spawn(move || {
                        worker_loop(input, parser, detector, source, handoff, shared)
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
        if !handoff.lock().ready.is_empty() {
            return Err(PipelineError::Internal(
                "parsed chunks were left unrecorded",
            ));
        }
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

/// The per-stream state the recording worker changes.
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

/// What the lines of a chunk became; borrows the chunk's text.
struct Outcomes<'a> {
    lines: Vec<LineOutcome<'a>>,
    /// Signature hits of all lines; each event names its range.
    hits: Vec<Hit>,
}

self_cell::self_cell!(
    /// A chunk with what its lines became, waiting to be recorded in order.
    struct ParsedChunk {
        owner: Chunk,
        #[covariant]
        dependent: Outcomes,
    }
);

impl ParsedChunk {
    /// The buffers, emptied of lines, for another chunk.
    fn into_buffers(mut self) -> Buffers {
        let hits = self.with_dependent_mut(|_, out| std::mem::take(&mut out.hits));
        Buffers {
            chunk: self.into_owner(),
            hits,
        }
    }
}

/// A chunk buffer and a hit list, reused from chunk to chunk.
#[derive(Default)]
struct Buffers {
    chunk: Chunk,
    hits: Vec<Hit>,
}

/// Puts parsed chunks back in sequence for recording.
///
/// A worker that finishes a chunk out of turn leaves it here and goes on with
/// the next one, instead of waiting for the earlier chunk to be recorded;
/// whichever worker finds the chunk next in sequence records chunks until the
/// next one is missing. (Waiting at a turnstile left a core idle 130–370 ms
/// per gigabyte.) At most `max_ready` chunks wait, so memory stays bounded
/// when recording is the slower part.
struct Handoff {
    pending: Mutex<Pending>,
    /// Signalled when a chunk was recorded or a worker failed.
    room: Condvar,
    max_ready: usize,
}

#[derive(Default)]
struct Pending {
    /// Sequence number of the next chunk to record.
    next: u64,
    ready: BTreeMap<u64, ParsedChunk>,
    /// A worker is recording.
    recording: bool,
    /// Buffers of recorded chunks.
    spare: Vec<Buffers>,
    /// A worker panicked; the others stop instead of waiting for its chunk.
    failed: bool,
}

impl Handoff {
    fn new(workers: usize) -> Handoff {
        Handoff {
            pending: Mutex::default(),
            room: Condvar::new(),
            max_ready: 2 * workers.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leave chunk `seq`; if no worker is recording, record every chunk that
    /// is next in sequence. Returns buffers for the caller's next chunk, or
    /// `None` when another worker failed.
    fn submit(
        &self,
        seq: u64,
        parsed: ParsedChunk,
        record: &mut dyn FnMut(&ParsedChunk),
    ) -> Option<Buffers> {
        let mut p = self.lock();
        // The chunk next in sequence is always taken, or nothing could move.
        while p.ready.len() >= self.max_ready && seq != p.next && !p.failed {
            p = self.room.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        if p.failed {
            return None;
        }
        p.ready.insert(seq, parsed);
        if !p.recording {
            p.recording = true;
            loop {
                let next = p.next;
                let Some(chunk) = p.ready.remove(&next) else {
                    break;
                };
                drop(p);
                record(&chunk);
                let buffers = chunk.into_buffers();
                p = self.lock();
                p.next += 1;
                p.spare.push(buffers);
                self.room.notify_all();
            }
            // Cleared under the same lock as the check above, so a chunk left
            // after it finds no one recording and its worker records it.
            p.recording = false;
        }
        Some(p.spare.pop().unwrap_or_default())
    }
}

/// Marks the handoff failed when its worker panics, so no other worker waits for it.
struct FailOnPanic<'h>(&'h Handoff);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().failed = true;
            self.0.room.notify_all();
        }
    }
}

/// The input, read in turns by the workers themselves: a worker that needs
/// lines takes the lock, refills its own buffer and gets the chunk's sequence
/// number. With no reader thread, nothing else competes with the workers for
/// the two cores (a reader thread preempting the worker in the ordered section
/// stalled the other one).
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
    /// at the end of the input. Every number handed out must be submitted to the `Handoff`.
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
/// (one allocation per chunk). The parser's result is kept as returned, so
/// the ~300-byte event is copied once, into the vector, rather than once
/// more per wrapper it would otherwise be moved into.
struct LineOutcome<'a> {
    line: u64,
    /// The line as read; empty when it could not be kept (invalid or too long).
    raw: &'a str,
    /// An event's signature hits, in the chunk's hit list.
    hits: std::ops::Range<usize>,
    parsed: Result<Parsed<'a>, ParseError>,
}

const E_INVALID_UTF8: ParseError = ParseError::new("invalid UTF-8");
const E_TOO_LONG: ParseError = ParseError::new("line too long");
const E_NO_FORMAT: ParseError = ParseError::new("unrecognised log format (use --format-in)");

// Kept out of line (it runs once per thread) so profilers can name it:
// `valgrind --tool=callgrind --toggle-collect='secmo_pipeline::worker_loop*'`.
#[inline(never)]
fn worker_loop<R: std::io::Read>(
    input: u32,
    parser: Option<&dyn LineParser>,
    detector: &Arc<Detector>,
    source: &Mutex<Source<'_, R>>,
    handoff: &Handoff,
    shared: &Mutex<Shared<'_, '_, '_>>,
) -> Analytics {
    let _fail = FailOnPanic(handoff);
    let mut analytics = Analytics::default();
    let mut scratch = Scratch::default();
    let mut hit_buf: Vec<Hit> = Vec::new();
    let mut buffers = Buffers::default();
    loop {
        let Buffers {
            mut chunk,
            mut hits,
        } = buffers;
        let next = source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next(&mut chunk);
        let Some(seq) = next else {
            break;
        };
        utf8::repair_in_place(&mut chunk.data);
        hits.clear();
        let parsed = ParsedChunk::new(chunk, |chunk| {
            let mut out = Outcomes {
                lines: Vec::with_capacity(chunk.data.len() / 128 + 1),
                hits,
            };
            parse_chunk(
                chunk,
                parser,
                detector,
                &mut analytics,
                &mut scratch,
                &mut hit_buf,
                &mut out,
            );
            out
        });
        let mut record = |parsed: &ParsedChunk| record_chunk(input, parsed, shared);
        match handoff.submit(seq, parsed, &mut record) {
            Some(b) => buffers = b,
            None => break,
        }
    }
    analytics
}

/// Parse, match and observe every line of `chunk` (the parallel part).
/// Fills `out` in place: returning the outcomes by value instead measured
/// one more copy of every event (`memcpy` 25.6 M → 38.2 M on a 50 MB slice).
fn parse_chunk<'a>(
    chunk: &'a Chunk,
    parser: Option<&dyn LineParser>,
    detector: &Detector,
    analytics: &mut Analytics,
    scratch: &mut Scratch,
    hit_buf: &mut Vec<Hit>,
    out: &mut Outcomes<'a>,
) {
    let Outcomes {
        lines: outcomes,
        hits,
    } = out;
    let oversized = &chunk.oversized;
    // Validated once per chunk; each line is then a slice of this text.
    let text = utf8::as_str(&chunk.data);
    let base = chunk.data.as_ptr() as usize;
    for (line_no, bytes) in chunk.lines() {
        let not_parsed = |raw, parsed| LineOutcome {
            line: line_no,
            raw,
            hits: 0..0,
            parsed,
        };
        // Repaired before, so this cannot fail; treat a failure as unparsed rather than panic.
        let Some(line) = text.and_then(|t| utf8::line_str(t, base, bytes)) else {
            outcomes.push(not_parsed("", Err(E_INVALID_UTF8)));
            continue;
        };
        if line.is_empty() {
            if oversized.iter().any(|o| o.line == line_no) {
                outcomes.push(not_parsed("", Err(E_TOO_LONG)));
            } else {
                outcomes.push(not_parsed("", Ok(Parsed::Skip)));
            }
            continue;
        }
        let Some(parser) = parser else {
            outcomes.push(not_parsed(line, Err(E_NO_FORMAT)));
            continue;
        };
        outcomes.push(LineOutcome {
            line: line_no,
            raw: line,
            hits: 0..0,
            parsed: parser.parse(line),
        });
        if let Some(LineOutcome {
            parsed: Ok(Parsed::Event(ev)),
            hits: range,
            ..
        }) = outcomes.last_mut()
        {
            analytics.observe(ev);
            detector.matches(ev, scratch, hit_buf);
            let start = hits.len();
            hits.extend_from_slice(hit_buf);
            *range = start..hits.len();
        }
    }
}

/// Feed a parsed chunk to the stream's engine and the input's summary (the ordered part).
fn record_chunk(input: u32, parsed: &ParsedChunk, shared: &Mutex<Shared<'_, '_, '_>>) {
    let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
    let Shared { state, summary } = &mut *guard;
    let detector = Arc::clone(state.engine.detector());
    summary.bytes += parsed.borrow_owner().data.len() as u64;
    let Outcomes {
        lines: outcomes,
        hits,
    } = parsed.borrow_dependent();
    for outcome in outcomes {
        summary.lines += 1;
        let line = &outcome.line;
        match &outcome.parsed {
            Ok(Parsed::Event(ev)) => {
                summary.parsed += 1;
                let origin = Origin { input, line: *line };
                let verdict =
                    state
                        .engine
                        .process_hits(ev, origin, outcome.raw, &hits[outcome.hits.clone()]);
                if !verdict.rules.is_empty() && (state.matches.is_some() || state.sink.is_some()) {
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
            Ok(Parsed::Skip) => summary.skipped += 1,
            Err(e) => {
                summary.unparsed += 1;
                if summary.unparsed_samples.len() < MAX_UNPARSED_SAMPLES {
                    summary.unparsed_samples.push(UnparsedSample {
                        line: *line,
                        reason: e.reason.to_string(),
                        raw: outcome.raw.chars().take(SAMPLE_CHARS).collect(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(seq: u64) -> ParsedChunk {
        let chunk = Chunk {
            first_line: seq,
            ..Chunk::default()
        };
        ParsedChunk::new(chunk, |_| Outcomes {
            lines: Vec::new(),
            hits: Vec::new(),
        })
    }

    #[test]
    fn chunks_left_out_of_turn_are_recorded_in_sequence() {
        let handoff = Handoff::new(2);
        let order = std::cell::RefCell::new(Vec::new());
        let mut record = |c: &ParsedChunk| order.borrow_mut().push(c.borrow_owner().first_line);
        for seq in [2, 1, 3] {
            assert!(handoff.submit(seq, parsed(seq), &mut record).is_some());
        }
        assert!(order.borrow().is_empty(), "nothing recorded before chunk 0");
        assert!(handoff.submit(0, parsed(0), &mut record).is_some());
        assert_eq!(*order.borrow(), vec![0, 1, 2, 3]);
        let p = handoff.lock();
        assert!(p.ready.is_empty());
        assert_eq!(p.next, 4);
        assert!(!p.recording);
        assert_eq!(p.spare.len(), 3, "the caller took one of the four buffers");
    }

    #[test]
    fn workers_in_any_order_record_every_chunk_once_in_sequence_and_bounded() {
        const CHUNKS: u64 = 2_000;
        let handoff = Handoff::new(3);
        let source = Mutex::new(0u64);
        let order = Mutex::new(Vec::new());
        let most_ready = AtomicU64::new(0);
        std::thread::scope(|s| {
            for w in 0..3u64 {
                let (handoff, source, order, most_ready) = (&handoff, &source, &order, &most_ready);
                s.spawn(move || {
                    let mut record = |c: &ParsedChunk| {
                        let waiting = handoff.lock().ready.len() as u64;
                        most_ready.fetch_max(waiting, Ordering::Relaxed);
                        order
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(c.borrow_owner().first_line);
                    };
                    loop {
                        let seq = {
                            let mut next = source.lock().unwrap_or_else(|p| p.into_inner());
                            if *next == CHUNKS {
                                break;
                            }
                            *next += 1;
                            *next - 1
                        };
                        // Uneven work, so chunks finish out of turn.
                        if (seq * 7 + w) % 5 == 0 {
                            std::thread::yield_now();
                        }
                        assert!(handoff.submit(seq, parsed(seq), &mut record).is_some());
                    }
                });
            }
        });
        let order = order.into_inner().unwrap_or_else(|p| p.into_inner());
        assert_eq!(order, (0..CHUNKS).collect::<Vec<_>>());
        assert!(
            most_ready.load(Ordering::Relaxed) <= handoff.max_ready as u64,
            "at most max_ready chunks wait ({} did)",
            most_ready.load(Ordering::Relaxed)
        );
        assert!(handoff.lock().ready.is_empty());
    }

    #[test]
    fn a_panicked_worker_stops_the_others_instead_of_leaving_them_waiting() {
        let handoff = Handoff::new(1);
        let joined = std::thread::scope(|s| {
            s.spawn(|| {
                let _fail = FailOnPanic(&handoff);
                panic!("worker dies holding chunk 0");
            })
            .join()
        });
        assert!(joined.is_err());
        let mut record = |_: &ParsedChunk| panic!("chunk 0 never came, nothing may be recorded");
        // Chunks 1 and 2 fill the room; chunk 3 would wait for chunk 0 forever.
        assert!(handoff.submit(1, parsed(1), &mut record).is_none());
        assert!(handoff.submit(3, parsed(3), &mut record).is_none());
    }
}
