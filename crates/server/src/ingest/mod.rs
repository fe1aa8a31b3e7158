//! The live pipeline: tail files → parse → detect → store, one batch at a
//! time, in two stages: the ingest thread tails, parses and detects; the
//! store thread builds rows and commits them (the slower stage), so the next
//! poll is parsed while the last one is written. Batches commit in order. Each committed batch carries the sources' checkpoints, so a crash
//! loses nothing and counts nothing twice (ingestion resumes from the last
//! committed checkpoint; detection windows restart empty).
//!
//! The same parsers and the same engine as `secmo analyze`: one engine per
//! source (as analyze uses one per rotated set), alerts drained after every
//! batch and merged by the store into alerts and incidents.

pub mod demo;
pub mod discover;

use crate::live::LiveMessage;
use crate::state::AppState;
use secmo_detect::Engine;
use secmo_detect::engine::Detector;
use secmo_detect::signatures::{Hit, Scratch};
use secmo_event::{Category, Origin};
use secmo_parse::{Format, LineParser, Parsed, ParserOptions, parser_for, sniff_format};
use secmo_store::{AlertDelta, EventRecord, EventRow, IngestBatch, StoreError};
use secmo_tail::{LineBatch, SourceSpec, TailOptions, Tailer};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest raw line kept in the store.
const MAX_STORED_RAW: usize = 8192;
/// Events per message sent to live viewers, and the least time between two
/// messages: a browser shows a few hundred lines a second at most, whatever
/// the ingestion rate (flagged events go first).
const LIVE_SAMPLE: usize = 100;
const LIVE_INTERVAL: Duration = Duration::from_millis(250);
/// Unparsed examples kept per source.
const UNPARSED_SAMPLES: usize = 5;

/// One configured source, resolved.
#[derive(Debug, Clone)]
pub struct SourceDef {
    pub name: String,
    pub patterns: Vec<String>,
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileView {
    pub path: String,
    pub format: String,
    pub offset: u64,
    pub size: u64,
    pub lag_bytes: u64,
    pub lines: u64,
    pub rotations: u64,
    pub truncations: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UnparsedView {
    pub file: String,
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

/// Per-source health for the API and the dashboard.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceView {
    pub name: String,
    pub patterns: Vec<String>,
    pub format: Option<String>,
    pub lines: u64,
    pub events: u64,
    pub unparsed: u64,
    pub lines_per_sec: f64,
    pub lag_bytes: u64,
    pub last_error: Option<String>,
    pub last_line_ms: Option<i64>,
    pub files: Vec<FileView>,
    pub unparsed_samples: Vec<UnparsedView>,
}

#[derive(Default)]
pub struct SourceBoard {
    pub sources: Mutex<Vec<SourceView>>,
    /// A store write is failing (disk full…): ingestion waits and retries.
    pub store_error: Mutex<Option<String>>,
    /// Bytes read from each source but not committed to the store yet
    /// (reading runs up to a poll or two ahead of the store): part of the lag.
    pub in_flight: Mutex<HashMap<usize, u64>>,
}

impl SourceBoard {
    /// Count `batches` as read but not stored (`add`), or as stored.
    fn settle(&self, batches: &[LineBatch], add: bool) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for b in batches {
            let n = map.entry(b.source).or_default();
            let len = b.data.len() as u64;
            *n = if add { *n + len } else { n.saturating_sub(len) };
        }
    }

    pub fn snapshot(&self) -> Vec<SourceView> {
        self.sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

struct FileState {
    parser: Box<dyn LineParser>,
    format: Format,
    /// Index into the source's file names (evidence `input`).
    input: u32,
}

struct SourceState {
    engine: Engine,
    files: HashMap<PathBuf, FileState>,
    names: Vec<String>,
    /// Rate estimate: lines in the current one-second window.
    window_start: Instant,
    window_lines: u64,
}

pub struct Ingestor {
    state: Arc<AppState>,
    defs: Vec<SourceDef>,
    tailer: Tailer,
    sources: Vec<SourceState>,
    scratch: Scratch,
    hits: Vec<Hit>,
    incident_window_ms: i64,
}

/// The store stage: builds rows, commits them with the alerts and checkpoints
/// in one transaction, then does what follows (metrics, board, live view,
/// incidents → blocks).
struct Writer {
    state: Arc<AppState>,
    defs: Vec<SourceDef>,
    incident_window_ms: i64,
    last_live: Option<Instant>,
    /// Events waiting for the next live message (flagged first, bounded).
    live_pending: Vec<EventRecord>,
}

/// One poll's lines, parsed and detected, on their way to the store.
struct Work {
    batches: Vec<LineBatch>,
    pending: Vec<Pending>,
    /// The parsed fields of the `Kind::Event` lines, in order (events borrow
    /// the batch buffers: their text is carried as ranges of them).
    fields: Vec<Fields>,
    rule_arena: Vec<u32>,
    unparsed_samples: Vec<(usize, UnparsedView)>,
    deltas: Vec<AlertDelta>,
    read_at: Instant,
    detected_at: Instant,
    now: i64,
}

/// One parsed line waiting to be written (indexes into the batch's arenas).
struct Pending {
    source: usize,
    batch: usize,
    start: usize,
    end: usize,
    line: u64,
    kind: Kind,
    rules: (usize, usize),
}

enum Kind {
    Event,
    Unparsed(&'static str),
}

/// What the store needs of a parsed event, without borrowing the batch: so
/// the store thread does not parse each line a second time.
struct Fields {
    ts_ms: Option<i64>,
    kind: &'static str,
    action: &'static str,
    outcome: &'static str,
    source_ip: Option<IpAddr>,
    status: u16,
    bytes: u64,
    /// user, method, path, query, referrer, user agent.
    text: [Text; 6],
}

/// A field as a byte range of its batch's data (the parser's slice of the
/// line), or owned when the parser made it.
enum Text {
    Span(u32, u32),
    Owned(Box<str>),
}

impl Text {
    fn of(data: &[u8], field: &str) -> Text {
        if field.is_empty() {
            return Text::Span(0, 0);
        }
        let off = (field.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
        match off.checked_add(field.len()) {
            Some(end) if end <= data.len() => match (u32::try_from(off), u32::try_from(end)) {
                (Ok(a), Ok(b)) => Text::Span(a, b),
                _ => Text::Owned(field.into()),
            },
            _ => Text::Owned(field.into()),
        }
    }

    fn get<'a>(&'a self, text: &'a str) -> &'a str {
        match self {
            Text::Span(a, b) => text.get(*a as usize..*b as usize).unwrap_or(""),
            Text::Owned(s) => s,
        }
    }
}

impl Fields {
    fn of(data: &[u8], ev: &secmo_event::Event<'_>) -> Fields {
        Fields {
            ts_ms: ev.timestamp_ms,
            kind: ev.kind.as_str(),
            action: ev.action.as_str(),
            outcome: ev.outcome.as_str(),
            source_ip: ev.source_ip,
            status: ev.status,
            bytes: ev.bytes,
            text: [
                Text::of(data, &ev.user),
                Text::of(data, &ev.method),
                Text::of(data, &ev.path),
                Text::of(data, &ev.query),
                Text::of(data, &ev.referrer),
                Text::of(data, &ev.user_agent),
            ],
        }
    }
}

impl Ingestor {
    pub fn new(
        state: Arc<AppState>,
        defs: Vec<SourceDef>,
        opts: TailOptions,
    ) -> anyhow::Result<Ingestor> {
        let mut checkpoints = Vec::new();
        for (key, value) in state.store.checkpoints()? {
            match serde_json::from_str(&value) {
                Ok(cp) => checkpoints.push((key, cp)),
                Err(e) => tracing::warn!(%key, error = %e, "ignoring an unreadable checkpoint"),
            }
        }
        let specs = defs
            .iter()
            .map(|d| SourceSpec {
                name: d.name.clone(),
                patterns: d.patterns.clone(),
            })
            .collect();
        let tailer = Tailer::new(specs, checkpoints, opts)?;
        let sources = defs
            .iter()
            .map(|_| SourceState {
                engine: Engine::new(Arc::clone(&state.detector)),
                files: HashMap::new(),
                names: Vec::new(),
                window_start: Instant::now(),
                window_lines: 0,
            })
            .collect();
        {
            let mut board = state
                .sources
                .sources
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *board = defs
                .iter()
                .map(|d| SourceView {
                    name: d.name.clone(),
                    patterns: d.patterns.clone(),
                    format: d.format.map(|f| f.name().to_string()),
                    ..SourceView::default()
                })
                .collect();
        }
        Ok(Ingestor {
            incident_window_ms: state.cfg.incident_window_ms(),
            state,
            defs,
            tailer,
            sources,
            scratch: Scratch::default(),
            hits: Vec::new(),
        })
    }

    /// Run until `stop` is set.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        // One poll may wait while another is written: memory stays bounded.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Work>(1);
        let mut writer = Writer {
            state: Arc::clone(&self.state),
            defs: self.defs.clone(),
            incident_window_ms: self.incident_window_ms,
            last_live: None,
            live_pending: Vec::new(),
        };
        let writer_stop = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("secmo-store".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(LIVE_INTERVAL) {
                        Ok(work) => writer.write(work, &writer_stop),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                    writer.flush_live();
                }
            });
        let writer_thread = match spawned {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the store thread; nothing is ingested");
                return;
            }
        };
        let mut last_tick = Instant::now();
        while !stop.load(Relaxed) {
            let mut batches: Vec<LineBatch> = Vec::new();
            if let Err(e) = self.tailer.poll(Duration::from_millis(200), &mut batches) {
                tracing::warn!(error = %e, "tailing");
            }
            let read_at = Instant::now();
            // In flight before the board shows the new read offsets, so the
            // lag never reads 0 while lines wait for the store.
            self.state.sources.settle(&batches, true);
            self.update_board();
            if !batches.is_empty() {
                let work = self.process(batches, read_at);
                if tx.send(work).is_err() {
                    tracing::error!("the store thread stopped; ingestion stops");
                    break;
                }
            }
            if last_tick.elapsed() >= Duration::from_secs(2) {
                last_tick = Instant::now();
                self.tick();
            }
        }
        // What was read is still written (its checkpoints with it).
        drop(tx);
        let _ = writer_thread.join();
    }

    fn tick(&self) {
        match self.state.blocks.tick() {
            Ok(expired) => {
                for b in expired {
                    let _ = self.state.live.send(LiveMessage::Unblock(b));
                }
            }
            Err(e) => tracing::warn!(error = %e, "block expiry"),
        }
    }

    /// Make sure `path` has a parser: the configured format, or sniffed from the file's head.
    fn ensure_file(
        src: &mut SourceState,
        format: Option<Format>,
        path: &Path,
        data: &[u8],
        first_line: u64,
    ) {
        if src.files.contains_key(path) {
            return;
        }
        // The batch may start mid-file after a restart: sniff from the file's head then.
        let head: Vec<u8> = if first_line <= 1 {
            data.iter().take(64 * 1024).copied().collect()
        } else {
            read_head(path).unwrap_or_else(|| data.iter().take(64 * 1024).copied().collect())
        };
        let head = String::from_utf8_lossy(&head);
        let lines: Vec<&str> = head.lines().take(50).collect();
        let opts = ParserOptions {
            year: this_year(),
            reference_ms: Some(crate::now_ms()),
            ..ParserOptions::default()
        };
        let format = format
            .or_else(|| sniff_format(&lines, &opts).map(|(f, _)| f))
            .unwrap_or(Format::Access);
        let parser = parser_for(format, &opts, &lines);
        let input = src.names.len() as u32;
        src.names.push(path.display().to_string());
        src.files.insert(
            path.to_path_buf(),
            FileState {
                parser,
                format,
                input,
            },
        );
    }

    /// Parse and detect one poll's batches.
    fn process(&mut self, mut batches: Vec<LineBatch>, read_at: Instant) -> Work {
        let now = crate::now_ms();
        for b in batches.iter_mut() {
            secmo_pipeline::utf8::repair_in_place(&mut b.data);
        }
        // Parse and detect every line, remembering where each is.
        let detector: Arc<Detector> = Arc::clone(&self.state.detector);
        let mut pending: Vec<Pending> = Vec::new();
        let mut fields: Vec<Fields> = Vec::new();
        let mut rule_arena: Vec<u32> = Vec::new();
        let mut unparsed_samples: Vec<(usize, UnparsedView)> = Vec::new();
        for (bi, b) in batches.iter().enumerate() {
            let format = self.defs.get(b.source).and_then(|d| d.format);
            let Some(src) = self.sources.get_mut(b.source) else {
                continue;
            };
            Self::ensure_file(src, format, &b.path, &b.data, b.first_line);
            let Some(fs) = src.files.get(&b.path) else {
                continue;
            };
            let input = fs.input;
            let parser: &dyn LineParser = fs.parser.as_ref();
            let Ok(text) = std::str::from_utf8(&b.data) else {
                continue;
            };
            let mut pos = 0usize;
            for (this_line, raw_line) in (b.first_line..).zip(text.split_inclusive('\n')) {
                let start = pos;
                pos += raw_line.len();
                let line = raw_line.trim_end_matches(['\n', '\r']);
                let end = start + line.len();
                src.window_lines += 1;
                if b.oversized.contains(&this_line) {
                    pending.push(Pending {
                        source: b.source,
                        batch: bi,
                        start,
                        end,
                        line: this_line,
                        kind: Kind::Unparsed("line longer than the limit (cut)"),
                        rules: (0, 0),
                    });
                    continue;
                }
                match parser.parse(line) {
                    Ok(Parsed::Event(ev)) => {
                        detector.matches(&ev, &mut self.scratch, &mut self.hits);
                        let origin = Origin {
                            input,
                            line: this_line,
                        };
                        let verdict = src.engine.process_hits(&ev, origin, line, &self.hits);
                        let r0 = rule_arena.len();
                        rule_arena.extend_from_slice(verdict.rules);
                        fields.push(Fields::of(&b.data, &ev));
                        pending.push(Pending {
                            source: b.source,
                            batch: bi,
                            start,
                            end,
                            line: this_line,
                            kind: Kind::Event,
                            rules: (r0, rule_arena.len()),
                        });
                    }
                    Ok(Parsed::Skip) => {}
                    Err(e) => {
                        if unparsed_samples
                            .iter()
                            .filter(|(s, _)| *s == b.source)
                            .count()
                            < UNPARSED_SAMPLES
                        {
                            unparsed_samples.push((
                                b.source,
                                UnparsedView {
                                    file: b.path.display().to_string(),
                                    line: this_line,
                                    reason: e.reason.to_string(),
                                    raw: cut(line, 500).to_string(),
                                },
                            ));
                        }
                        pending.push(Pending {
                            source: b.source,
                            batch: bi,
                            start,
                            end,
                            line: this_line,
                            kind: Kind::Unparsed(e.reason),
                            rules: (0, 0),
                        });
                    }
                }
            }
        }

        // Alerts since the last batch, per source.
        let mut deltas: Vec<AlertDelta> = Vec::new();
        for (si, src) in self.sources.iter_mut().enumerate() {
            for mut alert in src.engine.drain_alerts() {
                for e in &mut alert.evidence {
                    e.file = src.names.get(e.input as usize).cloned().unwrap_or_default();
                }
                deltas.push(AlertDelta::new(&self.defs[si].name, alert, now));
            }
        }

        Work {
            batches,
            pending,
            fields,
            rule_arena,
            unparsed_samples,
            deltas,
            read_at,
            detected_at: Instant::now(),
            now,
        }
    }

    fn update_board(&mut self) {
        let status = self.tailer.status();
        let in_flight = self
            .state
            .sources
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut board = self
            .state
            .sources
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (si, src) in self.sources.iter_mut().enumerate() {
            let Some(view) = board.get_mut(si) else {
                continue;
            };
            let elapsed = src.window_start.elapsed().as_secs_f64();
            if elapsed >= 1.0 {
                view.lines_per_sec = src.window_lines as f64 / elapsed;
                src.window_lines = 0;
                src.window_start = Instant::now();
            }
            view.files = status
                .iter()
                .filter(|f| f.source == si)
                .map(|f| FileView {
                    path: f.path.display().to_string(),
                    format: src
                        .files
                        .get(&f.path)
                        .map(|fs| fs.format.name().to_string())
                        .unwrap_or_default(),
                    offset: f.offset,
                    size: f.size,
                    lag_bytes: f.size.saturating_sub(f.offset),
                    lines: f.lines,
                    rotations: f.rotations,
                    truncations: f.truncations,
                    last_error: f.last_error.clone(),
                })
                .collect();
            // Read but not yet stored counts as lag: "caught up" means committed.
            view.lag_bytes = view.files.iter().map(|f| f.lag_bytes).sum::<u64>()
                + in_flight.get(&si).copied().unwrap_or(0);
            view.last_error = view.files.iter().find_map(|f| f.last_error.clone());
        }
    }
}

impl Writer {
    /// Send the waiting live events if the last message is old enough.
    fn flush_live(&mut self) {
        if self.live_pending.is_empty()
            || self.last_live.is_some_and(|t| t.elapsed() < LIVE_INTERVAL)
        {
            return;
        }
        self.last_live = Some(Instant::now());
        let mut sample = std::mem::take(&mut self.live_pending);
        sample.sort_by_key(|e| e.id);
        let _ = self.state.live.send(LiveMessage::Events(sample));
    }

    /// Build rows, commit them, then do what follows from the batch.
    fn write(&mut self, work: Work, stop: &AtomicBool) {
        let Work {
            batches,
            pending,
            fields,
            rule_arena,
            unparsed_samples,
            deltas,
            read_at,
            detected_at,
            now,
        } = work;
        let write_at = Instant::now();
        let meta = self.state.detector.rules();
        let rule_ids: Vec<&str> = meta.iter().map(|m| m.id.as_str()).collect();
        let rule_cats: Vec<Category> = meta.iter().map(|m| m.category).collect();
        let mut id_arena: Vec<&str> = Vec::with_capacity(rule_arena.len());
        let mut cat_arena: Vec<Category> = Vec::with_capacity(rule_arena.len());
        for r in &rule_arena {
            id_arena.push(rule_ids.get(*r as usize).copied().unwrap_or(""));
            cat_arena.push(
                rule_cats
                    .get(*r as usize)
                    .copied()
                    .unwrap_or(Category::TrafficSpike),
            );
        }
        let file_names: Vec<String> = batches
            .iter()
            .map(|b| b.path.display().to_string())
            .collect();
        let texts: Vec<&str> = batches
            .iter()
            .map(|b| std::str::from_utf8(&b.data).unwrap_or(""))
            .collect();
        let mut rows: Vec<EventRow<'_>> = Vec::with_capacity(pending.len());
        let mut flagged = 0u64;
        let mut fields = fields.iter();
        for p in &pending {
            let text = texts[p.batch];
            let raw = cut(text.get(p.start..p.end).unwrap_or(""), MAX_STORED_RAW);
            let source = self.defs.get(p.source).map_or("", |d| d.name.as_str());
            let file = file_names[p.batch].as_str();
            let row = match p.kind {
                Kind::Event => {
                    let Some(f) = fields.next() else { continue };
                    let rules = &id_arena[p.rules.0..p.rules.1];
                    if !rules.is_empty() {
                        flagged += 1;
                    }
                    let [user, method, path, query, referrer, user_agent] =
                        f.text.each_ref().map(|t| t.get(text));
                    EventRow {
                        ts_ms: f.ts_ms.unwrap_or(now),
                        source,
                        file,
                        line: p.line,
                        kind: f.kind,
                        action: f.action,
                        outcome: f.outcome,
                        source_ip: f.source_ip,
                        user,
                        method,
                        path,
                        query,
                        status: (f.status != 0).then_some(f.status),
                        bytes: (f.bytes != 0).then_some(f.bytes),
                        referrer,
                        user_agent,
                        raw,
                        rules,
                        categories: &cat_arena[p.rules.0..p.rules.1],
                        blocked: f
                            .source_ip
                            .is_some_and(|ip| self.state.blocks.is_blocked(ip)),
                    }
                }
                Kind::Unparsed(reason) => EventRow {
                    ts_ms: now,
                    source,
                    file,
                    line: p.line,
                    kind: "unparsed",
                    action: reason,
                    outcome: "unknown",
                    raw,
                    ..EventRow::default()
                },
            };
            rows.push(row);
        }

        let checkpoints: Vec<(String, String)> = last_checkpoints(&batches);
        let rows_at = Instant::now();
        let batch = IngestBatch {
            events: &rows,
            alerts: &deltas,
            checkpoints: &checkpoints,
            incident_window_ms: self.incident_window_ms,
            now_ms: now,
        };
        let outcome = loop {
            match self.state.store.ingest(&batch) {
                Ok(o) => {
                    *self
                        .state
                        .sources
                        .store_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = None;
                    self.state.sources.settle(&batches, false);
                    break Some(o);
                }
                Err(e) => {
                    self.state.metrics.store_errors.fetch_add(1, Relaxed);
                    tracing::error!(error = %e, "cannot store a batch; retrying");
                    *self
                        .state
                        .sources
                        .store_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    if stop.load(Relaxed) {
                        break None;
                    }
                    // Disk full or locked: wait and retry the same batch, losing nothing.
                    let wait = if matches!(e, StoreError::Unavailable(_)) {
                        2000
                    } else {
                        1000
                    };
                    std::thread::sleep(Duration::from_millis(wait));
                }
            }
        };
        let Some(outcome) = outcome else { return };
        let stored_at = Instant::now();
        tracing::debug!(
            lines = pending.len(),
            detect_ms = (detected_at - read_at).as_secs_f64() * 1e3,
            wait_ms = (write_at - detected_at).as_secs_f64() * 1e3,
            rows_ms = (rows_at - write_at).as_secs_f64() * 1e3,
            store_ms = (stored_at - rows_at).as_secs_f64() * 1e3,
            "batch timings"
        );

        // Bookkeeping and what follows from the batch.
        let m = &self.state.metrics;
        let lines = pending.len() as u64;
        let unparsed = pending
            .iter()
            .filter(|p| matches!(p.kind, Kind::Unparsed(_)))
            .count() as u64;
        m.lines.fetch_add(lines, Relaxed);
        m.unparsed.fetch_add(unparsed, Relaxed);
        m.events.fetch_add(lines - unparsed, Relaxed);
        m.flagged.fetch_add(flagged, Relaxed);
        m.alerts.fetch_add(deltas.len() as u64, Relaxed);
        m.batches.fetch_add(1, Relaxed);
        let latency = read_at.elapsed().as_millis() as u64;
        m.latency_ms_sum.fetch_add(latency, Relaxed);
        m.latency_count.fetch_add(1, Relaxed);
        m.latency_ms_max.fetch_max(latency, Relaxed);
        {
            let mut board = self
                .state
                .sources
                .sources
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for p in &pending {
                if let Some(v) = board.get_mut(p.source) {
                    v.lines += 1;
                    match p.kind {
                        Kind::Event => v.events += 1,
                        Kind::Unparsed(_) => v.unparsed += 1,
                    }
                    v.last_line_ms = Some(now);
                }
            }
            for (s, sample) in unparsed_samples {
                if let Some(v) = board.get_mut(s) {
                    v.unparsed_samples.push(sample);
                    let n = v.unparsed_samples.len();
                    if n > UNPARSED_SAMPLES {
                        v.unparsed_samples.drain(..n - UNPARSED_SAMPLES);
                    }
                }
            }
        }
        if self.state.live.receiver_count() > 0 {
            // Keep the flagged and the newest of this batch and what waits
            // already; sent by `flush_live` at most every LIVE_INTERVAL.
            let mut order: Vec<usize> = (0..rows.len()).collect();
            order.sort_by_key(|i| (rows[*i].rules.is_empty(), std::cmp::Reverse(*i)));
            for i in order.into_iter().take(LIVE_SAMPLE) {
                self.live_pending
                    .push(record(&rows[i], outcome.first_event_id + i as i64));
            }
            if self.live_pending.len() > LIVE_SAMPLE {
                self.live_pending
                    .sort_by_key(|e| (e.rules.is_empty(), std::cmp::Reverse(e.id)));
                self.live_pending.truncate(LIVE_SAMPLE);
            }
        }
        for touch in outcome.incidents {
            if touch.created {
                m.incidents_created.fetch_add(1, Relaxed);
            }
            self.state.notifier.on_incident(&touch, now);
            if let Some(block) = self.state.blocks.on_incident(&touch) {
                m.blocks_automatic.fetch_add(1, Relaxed);
                let _ = self.state.store.update_incident(
                    touch.incident_id,
                    &secmo_store::IncidentChange {
                        activity: Some((
                            "block".into(),
                            format!("{} blocked by policy", block.net),
                        )),
                        ..Default::default()
                    },
                    "secmo",
                    now,
                );
                let _ = self.state.live.send(LiveMessage::Block(block));
            }
            let _ = self.state.live.send(LiveMessage::Incident(touch));
        }
    }
}

/// The last checkpoint of every file in the batches (later ones supersede).
fn last_checkpoints(batches: &[LineBatch]) -> Vec<(String, String)> {
    let mut by_key: Vec<(String, String)> = Vec::new();
    for b in batches {
        let Ok(json) = serde_json::to_string(&b.checkpoint) else {
            continue;
        };
        match by_key.iter_mut().find(|(k, _)| *k == b.checkpoint_key) {
            Some(slot) => slot.1 = json,
            None => by_key.push((b.checkpoint_key.clone(), json)),
        }
    }
    by_key
}

fn record(r: &EventRow<'_>, id: i64) -> EventRecord {
    EventRecord {
        id,
        ts_ms: r.ts_ms,
        source: r.source.into(),
        file: r.file.into(),
        line: r.line,
        kind: r.kind.into(),
        action: r.action.into(),
        outcome: r.outcome.into(),
        source_ip: r.source_ip,
        user: r.user.into(),
        method: r.method.into(),
        path: r.path.into(),
        query: r.query.into(),
        status: r.status,
        bytes: r.bytes,
        referrer: r.referrer.into(),
        user_agent: r.user_agent.into(),
        raw: cut(r.raw, 2000).into(),
        rules: r.rules.iter().map(|s| s.to_string()).collect(),
        categories: r.categories.to_vec(),
        blocked: r.blocked,
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn read_head(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(64 * 1024).read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn this_year() -> i32 {
    secmo_event::format_rfc3339(crate::now_ms())
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2026)
}
