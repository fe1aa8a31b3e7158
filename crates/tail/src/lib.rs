//! Follows log files live and hands out batches of complete lines with checkpoints.
//!
//! The tailer knows nothing of parsing, detection or storage. It watches the directories of its
//! sources with inotify (through `notify`) to wake up early, and polls every `poll_interval`
//! regardless, because inotify misses events on NFS and some container mounts.
//!
//! ## Identity
//! A *stream* is the content of one log file from its first byte. It is identified by a
//! fingerprint — SHA-256 over its first bytes (up to [`FP_MAX`](crate) = 1024, decompressed for
//! `.gz`) — and the (device, inode) it was last seen on. A stream's checkpoint key is made once,
//! when the stream is first seen, and stays with it across renames, copies and compression, so
//! the server keeps exactly one checkpoint per stream. On restart, and whenever a new file
//! appears, the file's head is compared with the known streams:
//! - same fingerprint as a stream whose file is gone or was truncated → the file is that stream's
//!   continuation (a renamed file, a copytruncate copy, a compressed rotation): reading resumes at
//!   the stream's offset, so lines are neither lost nor repeated;
//! - same fingerprint as a stream still being followed → the file is a copy: it is not read
//!   (a `.gz` copy is skipped for good; a plain copy waits, in case the original is truncated
//!   before its last lines were read — then the copy supplies them);
//! - otherwise it is new content, read from its start.
//!
//! Nothing is kept between polls that a crash could lose: persisting the checkpoints of the
//! batches handed out is all a restart needs.

mod ident;
mod lines;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::read::MultiGzDecoder;
use notify::Watcher;
use serde::{Deserialize, Serialize};

use ident::{
    Compression, FP_MAX, FileId, compression_of, fingerprint, has_glob_meta, head_matches,
    literal_dir, read_head_gz, read_head_plain, rotation_number,
};
use lines::{LineState, Pending};

/// One log source: a name (unique among sources) and the paths or globs of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub name: String,
    /// Paths or globs, e.g. `/var/log/nginx/access.log*`.
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TailOptions {
    /// For files found at start that no checkpoint covers, in a source with no checkpoint at
    /// all: read them from the beginning (`true`) or only what is appended from now on. Files
    /// that appear later, and new files of a source that had checkpoints, are always read from
    /// their beginning (otherwise a rotation while the server was down would lose lines).
    pub start_at_beginning: bool,
    /// How often files are checked even when inotify says nothing.
    pub poll_interval: Duration,
    /// A batch is handed out once it holds at least this many bytes.
    pub max_batch_bytes: usize,
    /// Longer lines are cut to this many bytes, reported in [`LineBatch::oversized`], and the
    /// rest of them skipped: never buffered without bound.
    pub max_line_bytes: usize,
    /// How often the globs are expanded again to find new and rotated files.
    pub glob_rescan: Duration,
}

impl Default for TailOptions {
    fn default() -> Self {
        TailOptions {
            start_at_beginning: true,
            poll_interval: Duration::from_millis(250),
            max_batch_bytes: 1 << 20,
            max_line_bytes: 1 << 20,
            glob_rescan: Duration::from_secs(2),
        }
    }
}

/// Where a stream's reading stands. Persist it (as JSON) together with the lines of the batch
/// that carried it; pass it back to [`Tailer::new`] with its key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Name of the source ([`SourceSpec::name`]) the stream belongs to.
    source: String,
    /// Device and inode the stream was last read from.
    dev: u64,
    ino: u64,
    /// SHA-256 (first 128 bits, hex) of the stream's first `fp_len` bytes; `fp_len` 0: no
    /// content yet, identity by inode only.
    fp_len: u32,
    fp: String,
    /// Bytes done (decompressed bytes for a compressed file).
    offset: u64,
    /// Lines delivered.
    line: u64,
    /// `offset` lies inside an oversized line already delivered (cut): skip to its newline.
    #[serde(default)]
    skipping: bool,
    #[serde(default)]
    compressed: bool,
}

impl Checkpoint {
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Bytes of the stream done (decompressed bytes for a compressed file).
    pub fn offset(&self) -> u64 {
        self.offset
    }
    /// Lines of the stream delivered.
    pub fn line(&self) -> u64 {
        self.line
    }
}

/// Complete lines read from one file.
#[derive(Debug, Clone, PartialEq)]
pub struct LineBatch {
    /// Index into the specs given to [`Tailer::new`].
    pub source: usize,
    /// The file as currently named.
    pub path: PathBuf,
    /// 1-based number, within its stream, of the first line in `data`. (When a source started
    /// at the end of existing files, lines are counted from that point.)
    pub first_line: u64,
    /// Complete lines, each ending in `b'\n'`, bytes as read (may be invalid UTF-8).
    pub data: Vec<u8>,
    /// Line numbers of lines cut to `max_line_bytes` (their first `max_line_bytes` bytes are in
    /// `data`).
    pub oversized: Vec<u64>,
    /// Stable key of the stream's checkpoint.
    pub checkpoint_key: String,
    /// The position just after `data`: persisting it means "everything up to here is done".
    pub checkpoint: Checkpoint,
}

/// What one followed file (or one failing path) looks like now.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStatus {
    pub source: usize,
    pub path: PathBuf,
    /// Bytes done (decompressed for a compressed file).
    pub offset: u64,
    /// Size of the file (for a compressed file: what has been decompressed so far); lag is
    /// `size - offset`.
    pub size: u64,
    /// Lines delivered from the file's stream.
    pub lines: u64,
    pub bytes_per_sec: f64,
    pub lines_per_sec: f64,
    pub state: FileState,
    pub last_error: Option<String>,
    /// Times this path was found holding a new file (rename rotation, re-creation).
    pub rotations: u64,
    /// Times the file at this path was truncated (copytruncate).
    pub truncations: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Read and followed.
    Following,
    /// A compressed file read to its end.
    Finished,
    /// A copy of content already known: not read.
    Copy,
    /// Could not be read (see `last_error`); retried.
    Error,
}

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("source #{index} has an empty name")]
    EmptyName { index: usize },
    #[error("two sources are named {0:?}")]
    DuplicateSource(String),
    #[error("source {name:?} has no path or glob")]
    NoPatterns { name: String },
    #[error("source {name:?}: invalid glob {pattern:?}: {message}")]
    Pattern {
        name: String,
        pattern: String,
        message: String,
    },
}

/// Follows the files of a set of sources. See the crate documentation.
pub struct Tailer {
    specs: Vec<SourceSpec>,
    opts: TailOptions,
    files: Vec<Tracked>,
    /// Per source: streams whose file is gone or lost their content (truncated), and loaded
    /// checkpoints not yet matched to a file. Newest last; bounded.
    retired: Vec<Vec<Stream>>,
    had_checkpoints: Vec<bool>,
    /// Per source: errors of paths and patterns found at the last rescan.
    path_errors: Vec<Vec<(PathBuf, String)>>,
    /// (source, path) → (rotations, truncations), and the file last seen at the path.
    path_counts: HashMap<(usize, PathBuf), (u64, u64)>,
    path_owner: HashMap<(usize, PathBuf), FileId>,
    watcher: Option<notify::RecommendedWatcher>,
    events: Receiver<notify::Result<notify::Event>>,
    watched: HashMap<PathBuf, FileId>,
    last_rescan: Instant,
    rescan_requested: bool,
    next_seq: u64,
    /// The last poll stopped at its read budget: the next one must not wait.
    more_pending: bool,
    buf: Vec<u8>,
}

/// Retired streams kept per source for recognising copies of content already read.
const RETIRED_MAX: usize = 256;
/// Bytes read per system call.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone)]
struct Stream {
    key: String,
    id: FileId,
    fp_len: u32,
    fp: String,
    st: LineState,
    compressed: bool,
}

impl Stream {
    fn from_checkpoint(key: String, cp: &Checkpoint) -> Stream {
        Stream {
            key,
            id: FileId {
                dev: cp.dev,
                ino: cp.ino,
            },
            fp_len: cp.fp_len,
            fp: cp.fp.clone(),
            st: LineState {
                consumed: cp.offset,
                line: cp.line,
                skipping: cp.skipping,
                carry: Vec::new(),
            },
            compressed: cp.compressed,
        }
    }

    fn checkpoint(&self, source: &str) -> Checkpoint {
        Checkpoint {
            source: source.to_owned(),
            dev: self.id.dev,
            ino: self.id.ino,
            fp_len: self.fp_len,
            fp: self.fp.clone(),
            offset: self.st.consumed,
            line: self.st.line,
            skipping: self.st.skipping,
            compressed: self.compressed,
        }
    }

    /// Forget the unread partial line: a retired stream resumes at `consumed`.
    fn retire(mut self) -> Stream {
        self.st.carry = Vec::new();
        self
    }
}

/// (size, mtime in ns): a file not held open is re-examined when this changes.
type Sig = (u64, i128);

fn sig_of(meta: &std::fs::Metadata) -> Sig {
    (
        meta.len(),
        i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
    )
}

enum Reader {
    Plain {
        file: File,
        /// Size when the head was last verified.
        checked_size: Option<u64>,
    },
    Gz {
        file: File,
        dec: Option<Box<MultiGzDecoder<BufReader<File>>>>,
        done: bool,
        /// Set after a decoding error: retried when the file changes.
        failed_sig: Option<Sig>,
    },
}

enum State {
    Active {
        stream: Stream,
        reader: Reader,
    },
    /// A plain copy of a followed stream: read only if the original loses content first.
    Dormant {
        file: File,
    },
    /// Known content (compressed copy) or unsupported format: not read unless it changes.
    Skipped {
        sig: Sig,
    },
}

struct Tracked {
    source: usize,
    id: FileId,
    path: PathBuf,
    seq: u64,
    state: State,
    size: u64,
    gone_since: Option<Instant>,
    last_error: Option<String>,
    rate: Rate,
}

#[derive(Default)]
struct Rate {
    bytes: u64,
    lines: u64,
    samples: VecDeque<(Instant, u64, u64)>,
}

impl Rate {
    fn sample(&mut self, now: Instant) {
        let due = self
            .samples
            .back()
            .is_none_or(|(t, _, _)| now.duration_since(*t) >= Duration::from_secs(1));
        if due {
            self.samples.push_back((now, self.bytes, self.lines));
            while self.samples.len() > 11 {
                self.samples.pop_front();
            }
        }
    }

    fn per_sec(&self) -> (f64, f64) {
        match (self.samples.front(), self.samples.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                let dt = b.0.duration_since(a.0).as_secs_f64();
                ((b.1 - a.1) as f64 / dt, (b.2 - a.2) as f64 / dt)
            }
            _ => (0.0, 0.0),
        }
    }
}

struct Found {
    path: PathBuf,
    id: FileId,
    meta: std::fs::Metadata,
}

impl Tailer {
    /// `checkpoints`: key → checkpoint as returned earlier by
    /// [`LineBatch::checkpoint_key`]/[`LineBatch::checkpoint`]. Checkpoints of sources no longer
    /// configured are ignored. Files are found at once; reading starts with [`Tailer::poll`].
    pub fn new(
        specs: Vec<SourceSpec>,
        checkpoints: Vec<(String, Checkpoint)>,
        opts: TailOptions,
    ) -> Result<Tailer, TailError> {
        let mut names = HashSet::new();
        for (index, s) in specs.iter().enumerate() {
            if s.name.is_empty() {
                return Err(TailError::EmptyName { index });
            }
            if !names.insert(s.name.as_str()) {
                return Err(TailError::DuplicateSource(s.name.clone()));
            }
            if s.patterns.is_empty() {
                return Err(TailError::NoPatterns {
                    name: s.name.clone(),
                });
            }
            for p in &s.patterns {
                if let Err(e) = glob::Pattern::new(p) {
                    return Err(TailError::Pattern {
                        name: s.name.clone(),
                        pattern: p.clone(),
                        message: e.to_string(),
                    });
                }
            }
        }
        let mut retired: Vec<Vec<Stream>> = vec![Vec::new(); specs.len()];
        for (key, cp) in checkpoints {
            match specs.iter().position(|s| s.name == cp.source) {
                Some(i) => retired[i].push(Stream::from_checkpoint(key, &cp)),
                None => tracing::warn!(
                    key,
                    source = cp.source,
                    "checkpoint of an unknown source ignored"
                ),
            }
        }
        let had_checkpoints = retired.iter().map(|r| !r.is_empty()).collect();

        let (tx, rx) = std::sync::mpsc::sync_channel(1024);
        let watcher = make_watcher(tx);
        let n = specs.len();
        let mut t = Tailer {
            specs,
            opts,
            files: Vec::new(),
            retired,
            had_checkpoints,
            path_errors: vec![Vec::new(); n],
            path_counts: HashMap::new(),
            path_owner: HashMap::new(),
            watcher,
            events: rx,
            watched: HashMap::new(),
            last_rescan: Instant::now(),
            rescan_requested: false,
            next_seq: 0,
            more_pending: false,
            buf: vec![0u8; CHUNK],
        };
        t.rescan(true);
        Ok(t)
    }

    /// Waits up to `timeout` for new complete lines and appends their batches to `out`.
    /// Returns as soon as there is something, or at `timeout` (checking the files every
    /// `poll_interval` meanwhile). Errors on single files never fail the call: they show in
    /// [`Tailer::status`] and are retried.
    pub fn poll(&mut self, timeout: Duration, out: &mut Vec<LineBatch>) -> Result<(), TailError> {
        let start = Instant::now();
        let deadline = start + timeout;
        let before = out.len();
        loop {
            self.drain_events();
            let now = Instant::now();
            let since = now.duration_since(self.last_rescan);
            let min_gap = self.opts.poll_interval.min(Duration::from_millis(100));
            if since >= self.opts.glob_rescan || (self.rescan_requested && since >= min_gap) {
                self.rescan(false);
            }
            self.more_pending = self.read_all(out);
            let now = Instant::now();
            for f in &mut self.files {
                f.rate.sample(now);
            }
            if out.len() > before || self.more_pending || now >= deadline {
                return Ok(());
            }
            let wait = (deadline - now).min(self.opts.poll_interval);
            match self.events.recv_timeout(wait) {
                Ok(ev) => self.note_event(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The watcher is gone (it failed to start): polling alone remains.
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// One entry per file matched (followed, finished or recognised as a copy) and per path or
    /// pattern that currently fails.
    pub fn status(&self) -> Vec<FileStatus> {
        let mut v = Vec::new();
        let mut files: Vec<&Tracked> = self.files.iter().collect();
        files.sort_by_key(|f| (f.source, f.seq));
        for f in files {
            let (rotations, truncations) = self
                .path_counts
                .get(&(f.source, f.path.clone()))
                .copied()
                .unwrap_or_default();
            let (bytes_per_sec, lines_per_sec) = f.rate.per_sec();
            let (offset, lines, state) = match &f.state {
                State::Active { stream, reader } => {
                    let done = matches!(reader, Reader::Gz { done: true, .. });
                    let state = if f.last_error.is_some() {
                        FileState::Error
                    } else if done {
                        FileState::Finished
                    } else {
                        FileState::Following
                    };
                    (stream.st.consumed, stream.st.line, state)
                }
                State::Dormant { .. } => (f.size, 0, FileState::Copy),
                State::Skipped { .. } if f.last_error.is_some() => (f.size, 0, FileState::Error),
                State::Skipped { .. } => (f.size, 0, FileState::Copy),
            };
            v.push(FileStatus {
                source: f.source,
                path: f.path.clone(),
                offset,
                size: f.size.max(offset),
                lines,
                bytes_per_sec,
                lines_per_sec,
                state,
                last_error: f.last_error.clone(),
                rotations,
                truncations,
            });
        }
        for (source, errs) in self.path_errors.iter().enumerate() {
            for (path, e) in errs {
                v.push(FileStatus {
                    source,
                    path: path.clone(),
                    offset: 0,
                    size: 0,
                    lines: 0,
                    bytes_per_sec: 0.0,
                    lines_per_sec: 0.0,
                    state: FileState::Error,
                    last_error: Some(e.clone()),
                    rotations: 0,
                    truncations: 0,
                });
            }
        }
        v
    }

    fn drain_events(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(ev) => self.note_event(ev),
                Err(_) => return,
            }
        }
    }

    fn note_event(&mut self, ev: notify::Result<notify::Event>) {
        use notify::EventKind;
        use notify::event::ModifyKind;
        match ev {
            Ok(ev) => {
                // Activity on a file not followed yet (a new file getting its first bytes).
                let unknown = ev.paths.iter().any(|p| {
                    !self.files.iter().any(|f| f.path == *p) && !self.watched.contains_key(p)
                });
                if unknown {
                    self.rescan_requested = true;
                }
                if matches!(
                    ev.kind,
                    EventKind::Create(_)
                        | EventKind::Remove(_)
                        | EventKind::Modify(ModifyKind::Name(_))
                        | EventKind::Any
                        | EventKind::Other
                ) {
                    self.rescan_requested = true;
                }
            }
            Err(e) => {
                // Typically an event queue overflow: look at everything again.
                tracing::debug!(error = %e, "file watcher error");
                self.rescan_requested = true;
            }
        }
    }

    // ----- discovery -----

    fn rescan(&mut self, initial: bool) {
        self.last_rescan = Instant::now();
        self.rescan_requested = false;
        for s in 0..self.specs.len() {
            self.rescan_source(s, initial);
        }
        self.update_watches();
    }

    fn rescan_source(&mut self, s: usize, initial: bool) {
        let now = Instant::now();
        let mut errors: Vec<(PathBuf, String)> = Vec::new();
        let mut found: Vec<Found> = Vec::new();
        let mut seen: HashSet<FileId> = HashSet::new();
        let patterns = self.specs[s].patterns.clone();
        for pat in &patterns {
            let dir = literal_dir(pat);
            match std::fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    errors.push((dir, "not a directory".into()));
                    continue;
                }
                Err(e) => {
                    errors.push((dir, format!("directory: {e}")));
                    continue;
                }
            }
            if !has_glob_meta(pat) {
                let path = PathBuf::from(pat);
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => push_found(&mut found, &mut seen, path, m),
                    Ok(_) => errors.push((path, "not a regular file".into())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => errors.push((path, e.to_string())),
                }
                continue;
            }
            let paths = match glob::glob(pat) {
                Ok(p) => p,
                Err(e) => {
                    errors.push((PathBuf::from(pat), e.to_string()));
                    continue;
                }
            };
            for entry in paths {
                match entry {
                    Ok(path) => match std::fs::metadata(&path) {
                        Ok(m) if m.is_file() => push_found(&mut found, &mut seen, path, m),
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => errors.push((path, e.to_string())),
                    },
                    Err(e) => errors.push((e.path().to_path_buf(), e.error().to_string())),
                }
            }
        }

        // Files already tracked: follow renames, notice disappearances and changed copies.
        let by_id: HashMap<FileId, usize> =
            found.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
        let mut drop_ids: Vec<FileId> = Vec::new();
        for f in self.files.iter_mut().filter(|f| f.source == s) {
            match by_id.get(&f.id) {
                Some(&i) => {
                    let fd = &found[i];
                    if f.path != fd.path {
                        tracing::debug!(from = %f.path.display(), to = %fd.path.display(), "file renamed");
                        f.path = fd.path.clone();
                    }
                    f.gone_since = None;
                    let sig = sig_of(&fd.meta);
                    match &mut f.state {
                        State::Skipped { sig: old } if *old != sig => drop_ids.push(f.id),
                        State::Active {
                            reader:
                                Reader::Gz {
                                    failed_sig, dec, ..
                                },
                            ..
                        } if failed_sig.is_some_and(|old| old != sig) => {
                            // A compressed file that failed to decode has changed: try again.
                            *dec = None;
                            *failed_sig = None;
                            f.last_error = None;
                        }
                        _ => {}
                    }
                }
                None => {
                    if f.gone_since.is_none() {
                        f.gone_since = Some(now);
                    }
                }
            }
        }
        // Not followed (no descriptor held): forget at once when gone or changed.
        self.files.retain(|f| {
            f.source != s
                || !(drop_ids.contains(&f.id)
                    || (f.gone_since.is_some()
                        && matches!(f.state, State::Skipped { .. } | State::Dormant { .. })))
        });

        // Paths now holding another file than before: rotations.
        for fd in &found {
            let key = (s, fd.path.clone());
            if let Some(old) = self.path_owner.insert(key.clone(), fd.id)
                && old != fd.id
            {
                self.path_counts.entry(key).or_default().0 += 1;
            }
        }

        // New files, oldest first: by mtime, then by rotation number (higher is older).
        let tracked: HashSet<FileId> = self
            .files
            .iter()
            .filter(|f| f.source == s)
            .map(|f| f.id)
            .collect();
        let mut new: Vec<Found> = found
            .into_iter()
            .filter(|f| !tracked.contains(&f.id))
            .collect();
        new.sort_by(|a, b| {
            let ma = sig_of(&a.meta).1;
            let mb = sig_of(&b.meta).1;
            ma.cmp(&mb)
                .then(rotation_number(&b.path).cmp(&rotation_number(&a.path)))
                .then(a.path.cmp(&b.path))
        });
        for fd in new {
            if let Err(e) = self.discover(s, &fd, initial) {
                errors.push((fd.path.clone(), e));
            }
        }
        self.path_errors[s] = errors;
        self.attach_dormant(s);
    }

    /// Decides what a newly found file is (see the crate documentation) and starts tracking it.
    fn discover(&mut self, s: usize, fd: &Found, initial: bool) -> Result<(), String> {
        let comp = compression_of(&fd.path);
        let sig = sig_of(&fd.meta);
        if comp == Compression::Unsupported {
            self.track(
                s,
                fd,
                State::Skipped { sig },
                Some("compressed format not supported: not read".into()),
            );
            return Ok(());
        }
        let file = File::open(&fd.path).map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if FileId::of(&meta) != fd.id {
            // Replaced between the listing and the open: the next rescan sees the new file.
            self.rescan_requested = true;
            return Ok(());
        }
        let gz = comp == Compression::Gzip;
        let head = if gz {
            read_head_gz(&file)
        } else {
            read_head_plain(&file)
        }
        .map_err(|e| format!("reading the head: {e}"))?;

        if !gz && head.is_empty() {
            // Nothing to identify it by yet: `cp` creates its copy empty before writing, and an
            // empty copy taken for new content would be read twice. Decided once it has content
            // (inotify on the directory makes that prompt).
            return Ok(());
        }
        let retired = &mut self.retired[s];
        // 1. The stream last read on this very inode, content unchanged (restart).
        let same = retired.iter().rposition(|r| {
            r.id == fd.id
                && r.compressed == gz
                && (head_matches(&head, r.fp_len, &r.fp) || (r.fp_len == 0 && r.st.consumed == 0))
        });
        // 2. A copy of a stream being followed.
        let copy_of_live = same.is_none()
            && self.files.iter().any(|f| {
                f.source == s
                    && matches!(&f.state, State::Active { stream, .. } if head_matches(&head, stream.fp_len, &stream.fp))
            });
        if copy_of_live {
            tracing::debug!(path = %fd.path.display(), "copy of a followed file: not read");
            let state = if gz {
                State::Skipped { sig }
            } else {
                State::Dormant { file }
            };
            self.track(s, fd, state, None);
            return Ok(());
        }
        // 3. The continuation of a stream whose file is gone or truncated (longest fingerprint).
        let cont = same.or_else(|| {
            retired
                .iter()
                .enumerate()
                .filter(|(_, r)| head_matches(&head, r.fp_len, &r.fp))
                .max_by_key(|(i, r)| (r.fp_len, *i))
                .map(|(i, _)| i)
        });
        if let Some(i) = cont {
            let r = &retired[i];
            if !gz && meta.len() < r.st.consumed {
                if r.id == fd.id {
                    // Same inode, shorter than what was read: truncated while we were away.
                    self.path_counts.entry((s, fd.path.clone())).or_default().1 += 1;
                } else {
                    // An older copy of content already read.
                    self.track(s, fd, State::Dormant { file }, None);
                    return Ok(());
                }
            } else {
                let mut stream = retired.remove(i);
                stream.id = fd.id;
                stream.compressed = gz;
                tracing::debug!(path = %fd.path.display(), offset = stream.st.consumed, "resuming a known stream");
                let reader = make_reader(file, gz);
                self.track(s, fd, State::Active { stream, reader }, None);
                return Ok(());
            }
        }
        // 4. New content.
        let mut st = LineState::default();
        if initial && !self.opts.start_at_beginning && !self.had_checkpoints[s] && !gz {
            st.consumed = meta.len();
            if meta.len() > 0 {
                let mut last = [0u8; 1];
                if file
                    .read_at(&mut last, meta.len() - 1)
                    .map_err(|e| e.to_string())?
                    == 1
                {
                    st.skipping = last[0] != b'\n';
                }
            }
        }
        let fp_len = head.len().min(FP_MAX);
        let stream = Stream {
            key: new_key(&self.specs[s].name, fd.id),
            id: fd.id,
            fp_len: u32::try_from(fp_len).unwrap_or(0),
            fp: fingerprint(&head[..fp_len]),
            st,
            compressed: gz,
        };
        let reader = make_reader(file, gz);
        self.track(s, fd, State::Active { stream, reader }, None);
        Ok(())
    }

    fn track(&mut self, source: usize, fd: &Found, state: State, last_error: Option<String>) {
        self.next_seq += 1;
        self.files.push(Tracked {
            source,
            id: fd.id,
            path: fd.path.clone(),
            seq: self.next_seq,
            state,
            size: fd.meta.len(),
            gone_since: None,
            last_error,
            rate: Rate::default(),
        });
    }

    /// Copies waiting in case their original lost content: those whose original stream was
    /// retired (truncated or gone) now continue it.
    fn attach_dormant(&mut self, s: usize) {
        if self.retired[s].is_empty() {
            return;
        }
        for f in self.files.iter_mut().filter(|f| f.source == s) {
            let State::Dormant { file } = &f.state else {
                continue;
            };
            let Ok(head) = read_head_plain(file) else {
                continue;
            };
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let retired = &mut self.retired[s];
            let found = retired
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    !r.compressed && head_matches(&head, r.fp_len, &r.fp) && size >= r.st.consumed
                })
                .max_by_key(|(i, r)| (r.fp_len, *i))
                .map(|(i, _)| i);
            if let Some(i) = found {
                let mut stream = retired.remove(i);
                stream.id = f.id;
                tracing::debug!(path = %f.path.display(), offset = stream.st.consumed, "copy continues a truncated stream");
                let State::Dormant { file } =
                    std::mem::replace(&mut f.state, State::Skipped { sig: (0, 0) })
                else {
                    continue;
                };
                f.state = State::Active {
                    stream,
                    reader: Reader::Plain {
                        file,
                        checked_size: None,
                    },
                };
            }
        }
    }

    fn update_watches(&mut self) {
        let Some(w) = self.watcher.as_mut() else {
            return;
        };
        let mut want: HashSet<PathBuf> = self
            .specs
            .iter()
            .flat_map(|s| s.patterns.iter().map(|p| literal_dir(p)))
            .collect();
        for f in &self.files {
            if let Some(p) = f.path.parent() {
                want.insert(p.to_path_buf());
            }
        }
        self.watched.retain(|dir, _| want.contains(dir));
        for dir in want {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            let id = FileId::of(&meta);
            if self.watched.get(&dir) == Some(&id) {
                continue;
            }
            let _ = w.unwatch(&dir);
            match w.watch(&dir, notify::RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir, id);
                }
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "cannot watch; polling covers it")
                }
            }
        }
    }

    // ----- reading -----

    /// Reads every followed file, oldest first, within this poll's budget. Returns whether the
    /// budget ran out with data left.
    fn read_all(&mut self, out: &mut Vec<LineBatch>) -> bool {
        let mut budget = self.opts.max_batch_bytes.max(CHUNK).saturating_mul(4);
        self.files.sort_by_key(|f| (f.source, f.seq));
        let grace = self.opts.glob_rescan.max(self.opts.poll_interval * 4);
        let mut retire: Vec<usize> = Vec::new();
        let mut truncated_sources: Vec<usize> = Vec::new();
        // Two passes: first every file gets a fair share of the budget, so a
        // busy file cannot starve a quiet one (an attack line in a second file
        // must not wait until the first catches up); then what is left goes
        // to files in order, oldest first.
        let active = self
            .files
            .iter()
            .filter(|f| matches!(f.state, State::Active { .. }))
            .count()
            .max(1);
        let share = (budget / active).max(CHUNK);
        let order: Vec<(usize, bool)> = (0..self.files.len())
            .map(|i| (i, true))
            .chain((0..self.files.len()).map(|i| (i, false)))
            .collect();
        for (idx, fair_pass) in order {
            if budget == 0 {
                break;
            }
            let source_name = self.specs[self.files[idx].source].name.clone();
            let f = &mut self.files[idx];
            let mut allowed = if fair_pass { share.min(budget) } else { budget };
            let before = allowed;
            let res = match &mut f.state {
                State::Active { stream, reader } => read_active(
                    f.source,
                    &source_name,
                    &f.path,
                    stream,
                    reader,
                    &self.opts,
                    &mut self.buf,
                    &mut allowed,
                    out,
                ),
                _ => continue,
            };
            budget -= before - allowed;
            match res {
                Ok(r) => {
                    f.last_error = None;
                    f.size = r.size;
                    f.rate.bytes += r.bytes;
                    f.rate.lines += r.lines;
                    if let Some(old) = r.truncated {
                        let s = f.source;
                        let path = f.path.clone();
                        self.path_counts.entry((s, path)).or_default().1 += 1;
                        push_retired(&mut self.retired[s], old);
                        truncated_sources.push(s);
                    }
                    if r.at_end && f.gone_since.is_some_and(|t| t.elapsed() >= grace) {
                        retire.push(idx);
                    }
                }
                Err(e) => {
                    if f.last_error.as_deref() != Some(e.as_str()) {
                        tracing::warn!(path = %f.path.display(), error = %e, "reading a followed file");
                    }
                    f.last_error = Some(e);
                    if f.gone_since.is_some_and(|t| t.elapsed() >= grace) {
                        retire.push(idx);
                    }
                }
            }
        }
        // Files gone for good: their last partial line is a line; their stream is retired so a
        // compressed copy of it is recognised.
        retire.sort_unstable();
        retire.dedup();
        for idx in retire.into_iter().rev() {
            let f = self.files.remove(idx);
            if let State::Active { mut stream, .. } = f.state {
                let mut pending = Pending::default();
                lines::finish(&mut stream.st, &mut pending);
                if !pending.data.is_empty() {
                    let source_name = &self.specs[f.source].name;
                    out.push(make_batch(f.source, &f.path, &stream, source_name, pending));
                }
                tracing::debug!(path = %f.path.display(), "file gone: forgotten");
                push_retired(&mut self.retired[f.source], stream.retire());
            }
        }
        truncated_sources.dedup();
        for s in truncated_sources {
            self.attach_dormant(s);
        }
        budget == 0
    }
}

/// A key no other stream has had: source, inode, wall-clock nanoseconds and a counter.
fn new_key(source_name: &str, id: FileId) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{source_name}#{}:{}:{nanos:x}.{n}", id.dev, id.ino)
}

fn push_found(
    found: &mut Vec<Found>,
    seen: &mut HashSet<FileId>,
    path: PathBuf,
    meta: std::fs::Metadata,
) {
    let id = FileId::of(&meta);
    if seen.insert(id) {
        found.push(Found { path, id, meta });
    }
}

fn push_retired(list: &mut Vec<Stream>, s: Stream) {
    list.push(s);
    if list.len() > RETIRED_MAX {
        list.remove(0);
    }
}

fn make_reader(file: File, gz: bool) -> Reader {
    if gz {
        Reader::Gz {
            file,
            dec: None,
            done: false,
            failed_sig: None,
        }
    } else {
        Reader::Plain {
            file,
            checked_size: None,
        }
    }
}

fn make_watcher(
    tx: SyncSender<notify::Result<notify::Event>>,
) -> Option<notify::RecommendedWatcher> {
    let handler = move |ev: notify::Result<notify::Event>| {
        // Events only wake the poll loop up: when the queue is full a wake-up is already due.
        match tx.try_send(ev) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "no file system notifications; polling only");
            None
        }
    }
}

fn make_batch(
    source: usize,
    path: &Path,
    stream: &Stream,
    source_name: &str,
    p: Pending,
) -> LineBatch {
    LineBatch {
        source,
        path: path.to_path_buf(),
        first_line: p.first_line,
        data: p.data,
        oversized: p.oversized,
        checkpoint_key: stream.key.clone(),
        checkpoint: stream.checkpoint(source_name),
    }
}

struct ReadResult {
    size: u64,
    bytes: u64,
    lines: u64,
    /// Everything available was read.
    at_end: bool,
    /// The file lost its content: the stream that was read from it, now retired.
    truncated: Option<Stream>,
}

#[allow(clippy::too_many_arguments)]
fn read_active(
    source: usize,
    source_name: &str,
    path: &Path,
    stream: &mut Stream,
    reader: &mut Reader,
    opts: &TailOptions,
    buf: &mut [u8],
    budget: &mut usize,
    out: &mut Vec<LineBatch>,
) -> Result<ReadResult, String> {
    let mut r = ReadResult {
        size: 0,
        bytes: 0,
        lines: 0,
        at_end: false,
        truncated: None,
    };
    // A plain file is first checked for lost content (copytruncate): that replaces the stream,
    // and with it the key the batches below carry.
    let mut plain_size = 0;
    if let Reader::Plain { file, checked_size } = reader {
        let meta = file.metadata().map_err(|e| e.to_string())?;
        let size = meta.len();
        plain_size = size;
        r.size = size;
        if *checked_size != Some(size) {
            let head = read_head_plain(file).map_err(|e| e.to_string())?;
            let lost = size < stream.st.read_pos()
                || (stream.fp_len > 0 && !head_matches(&head, stream.fp_len, &stream.fp));
            if lost {
                tracing::info!(path = %path.display(), "file truncated: reading it again from its start");
                let fresh = Stream {
                    key: new_key(source_name, stream.id),
                    id: stream.id,
                    fp_len: 0,
                    fp: String::new(),
                    st: LineState::default(),
                    compressed: false,
                };
                let old = std::mem::replace(stream, fresh);
                r.truncated = Some(old.retire());
            }
            if (stream.fp_len as usize) < FP_MAX && head.len() > stream.fp_len as usize {
                let n = head.len().min(FP_MAX);
                stream.fp_len = u32::try_from(n).unwrap_or(0);
                stream.fp = fingerprint(&head[..n]);
            }
            *checked_size = Some(size);
        }
    }
    let line_before = stream.st.line;
    let mut pending = Pending::default();
    let max_line = opts.max_line_bytes.max(1);
    let max_batch = opts.max_batch_bytes.max(1);
    // Batches are made by a closure that sees the stream's identity but gets positions from `st`.
    let key = stream.key.clone();
    let mut emit =
        |p: &mut Pending, st: &LineState, id: FileId, fp_len: u32, fp: &str, compressed: bool| {
            out.push(LineBatch {
                source,
                path: path.to_path_buf(),
                first_line: p.first_line,
                data: std::mem::take(&mut p.data),
                oversized: std::mem::take(&mut p.oversized),
                checkpoint_key: key.clone(),
                checkpoint: Checkpoint {
                    source: source_name.to_owned(),
                    dev: id.dev,
                    ino: id.ino,
                    fp_len,
                    fp: fp.to_owned(),
                    offset: st.consumed,
                    line: st.line,
                    skipping: st.skipping,
                    compressed,
                },
            });
        };
    match reader {
        Reader::Plain { file, .. } => {
            let size = plain_size;
            let (id, fp_len, fp) = (stream.id, stream.fp_len, stream.fp.clone());
            while stream.st.read_pos() < size && *budget > 0 {
                let want = buf.len().min(*budget);
                let n = match file.read_at(&mut buf[..want], stream.st.read_pos()) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.to_string()),
                };
                *budget -= n;
                r.bytes += n as u64;
                lines::feed(
                    &mut stream.st,
                    &buf[..n],
                    max_line,
                    max_batch,
                    &mut pending,
                    &mut |p, st| emit(p, st, id, fp_len, &fp, false),
                );
            }
            r.at_end = stream.st.read_pos() >= size;
            if !pending.data.is_empty() {
                emit(&mut pending, &stream.st, id, fp_len, &fp, false);
            }
        }
        Reader::Gz {
            file,
            dec,
            done,
            failed_sig,
        } => {
            r.size = stream.st.read_pos();
            if failed_sig.is_some() {
                return Err("gzip: cannot be decoded; retried when the file changes".into());
            }
            if *done {
                r.at_end = true;
                return Ok(r);
            }
            if dec.is_none() {
                let mut f2 = file.try_clone().map_err(|e| e.to_string())?;
                // The clone shares the descriptor's position, which the head read moved.
                f2.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
                let mut d = Box::new(MultiGzDecoder::new(BufReader::new(f2)));
                // Resume: skip what was done before.
                stream.st.carry.clear();
                let mut skip = stream.st.consumed;
                while skip > 0 {
                    let want = buf.len().min(usize::try_from(skip).unwrap_or(usize::MAX));
                    match d.read(&mut buf[..want]) {
                        Ok(0) => break,
                        Ok(n) => skip -= n as u64,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            *failed_sig = file.metadata().ok().map(|m| sig_of(&m));
                            return Err(format!("gzip: {e}"));
                        }
                    }
                }
                if skip > 0 {
                    // Shorter than what was already read from this stream: nothing new.
                    *done = true;
                    r.at_end = true;
                    return Ok(r);
                }
                *dec = Some(d);
            }
            let (id, fp_len, fp) = (stream.id, stream.fp_len, stream.fp.clone());
            let Some(d) = dec.as_mut() else {
                return Ok(r);
            };
            let mut result = Ok(());
            while *budget > 0 {
                let want = buf.len().min(*budget);
                match d.read(&mut buf[..want]) {
                    Ok(0) => {
                        lines::finish(&mut stream.st, &mut pending);
                        *done = true;
                        break;
                    }
                    Ok(n) => {
                        *budget -= n;
                        r.bytes += n as u64;
                        lines::feed(
                            &mut stream.st,
                            &buf[..n],
                            max_line,
                            max_batch,
                            &mut pending,
                            &mut |p, st| emit(p, st, id, fp_len, &fp, true),
                        );
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        result = Err(format!("gzip: {e}"));
                        break;
                    }
                }
            }
            if *done {
                *dec = None;
            }
            if !pending.data.is_empty() {
                emit(&mut pending, &stream.st, id, fp_len, &fp, true);
            }
            r.size = stream.st.read_pos();
            r.at_end = *done;
            if let Err(e) = result {
                // Keep what was delivered; the partial line is read again on the retry.
                stream.st.carry.clear();
                *dec = None;
                *failed_sig = file.metadata().ok().map(|m| sig_of(&m));
                r.lines = stream.st.line - line_before;
                return Err(e);
            }
        }
    }
    r.lines = stream.st.line - line_before;
    Ok(r)
}
