//! Behaviour of the tailer on real files in temporary directories: real renames, real
//! truncation, real inotify. Conditions are waited for with generous deadlines, never assumed
//! after a fixed sleep.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secmo_tail::{Checkpoint, FileState, FileStatus, LineBatch, SourceSpec, TailOptions, Tailer};

const DEADLINE: Duration = Duration::from_secs(15);

fn opts() -> TailOptions {
    TailOptions {
        poll_interval: Duration::from_millis(50),
        glob_rescan: Duration::from_millis(300),
        ..TailOptions::default()
    }
}

fn spec(patterns: &[&Path]) -> Vec<SourceSpec> {
    vec![SourceSpec {
        name: "web".into(),
        patterns: patterns
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    }]
}

/// Collects what the tailer delivers, checks per-stream line numbering, and "persists"
/// checkpoints the way the server does (key → last checkpoint).
struct Harness {
    tailer: Tailer,
    /// Delivered lines as text, in delivery order, with the path they came from.
    lines: Vec<(PathBuf, String)>,
    oversized: Vec<(String, u64)>,
    persisted: HashMap<String, Checkpoint>,
    next_line: HashMap<String, u64>,
}

impl Harness {
    fn new(
        patterns: &[&Path],
        persisted: HashMap<String, Checkpoint>,
        opts: TailOptions,
    ) -> Harness {
        let next_line = persisted
            .iter()
            .map(|(k, c)| (k.clone(), c.line() + 1))
            .collect();
        let cps = persisted
            .iter()
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        let tailer = Tailer::new(spec(patterns), cps, opts).expect("valid specs");
        Harness {
            tailer,
            lines: Vec::new(),
            oversized: Vec::new(),
            persisted,
            next_line,
        }
    }

    fn take(&mut self, batches: Vec<LineBatch>) {
        for b in batches {
            assert_eq!(b.source, 0);
            assert!(b.data.ends_with(b"\n"), "batch ends mid-line: {:?}", b.data);
            let text = String::from_utf8(b.data.clone()).expect("test lines are UTF-8");
            let n = text.lines().count() as u64;
            let expected = self.next_line.get(&b.checkpoint_key).copied().unwrap_or(1);
            assert_eq!(
                b.first_line, expected,
                "line numbering of stream {} has a gap or overlap",
                b.checkpoint_key
            );
            assert_eq!(
                b.checkpoint.line(),
                b.first_line + n - 1,
                "checkpoint line after the batch"
            );
            self.next_line
                .insert(b.checkpoint_key.clone(), b.first_line + n);
            for l in text.lines() {
                self.lines.push((b.path.clone(), l.to_owned()));
            }
            for o in &b.oversized {
                self.oversized.push((b.checkpoint_key.clone(), *o));
            }
            // The checkpoint must survive the server's JSON round trip.
            let json = serde_json::to_string(&b.checkpoint).expect("serialises");
            let back: Checkpoint = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, b.checkpoint);
            self.persisted.insert(b.checkpoint_key, back);
        }
    }

    fn poll_once(&mut self) {
        let mut out = Vec::new();
        self.tailer
            .poll(Duration::from_millis(100), &mut out)
            .expect("poll");
        self.take(out);
    }

    /// Polls until `cond` holds; panics with what was delivered after the deadline.
    fn until(&mut self, what: &str, cond: impl Fn(&Harness) -> bool) {
        let start = Instant::now();
        while !cond(self) {
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; delivered {:?}; status {:#?}",
                self.lines,
                self.tailer.status()
            );
            self.poll_once();
        }
    }

    /// Keeps polling for a while longer so that duplicates, if any, would show up.
    fn settle(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(1500) {
            self.poll_once();
        }
    }

    fn numbers(&self) -> Vec<u64> {
        self.lines.iter().map(|(_, l)| number(l)).collect()
    }

    fn status_of(&self, path: &Path) -> Option<FileStatus> {
        self.tailer.status().into_iter().find(|s| s.path == path)
    }
}

fn number(line: &str) -> u64 {
    line.strip_prefix("line ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
}

fn append(path: &Path, from: u64, to: u64) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    write_lines(&mut f, from, to);
}

fn write_lines(f: &mut File, from: u64, to: u64) {
    let mut s = String::new();
    for i in from..=to {
        s.push_str(&format!("line {i}\n"));
    }
    f.write_all(s.as_bytes()).expect("write");
}

fn range(from: u64, to: u64) -> Vec<u64> {
    (from..=to).collect()
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

fn gzip(path: &Path, data: &[u8]) {
    let f = File::create(path).expect("create gz");
    let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip finish");
}

fn lines_text(from: u64, to: u64) -> String {
    (from..=to).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn appended_lines_arrive_and_partial_lines_wait_for_their_newline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 3);
    let mut h = Harness::new(&[&log], HashMap::new(), opts());
    h.until("lines 1..3", |h| h.lines.len() >= 3);
    append(&log, 4, 5);
    h.until("appended lines 4..5", |h| h.lines.len() >= 5);

    // A partial line is not delivered however long we wait...
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"line 6 first half").unwrap();
    for _ in 0..6 {
        h.poll_once();
    }
    assert_eq!(
        h.numbers(),
        range(1, 5),
        "a line without its newline was delivered"
    );
    // ...and arrives whole once its newline does.
    f.write_all(b" second half\nline 7\n").unwrap();
    h.until("the completed line", |h| h.lines.len() >= 7);
    assert_eq!(h.lines[5].1, "line 6 first half second half");
    assert_eq!(h.lines[6].1, "line 7");
    h.settle();
    assert_eq!(h.lines.len(), 7);
    let st = h.status_of(&log).expect("status of the followed file");
    assert_eq!(
        (st.offset, st.size, st.lines, st.state),
        (st.size, st.size, 7, FileState::Following)
    );
}

#[test]
fn rename_rotation_drains_the_old_file_then_reads_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let old = dir.path().join("access.log.1");
    let mut writer = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    write_lines(&mut writer, 1, 10);
    let pattern = dir.path().join("access.log*");
    let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
    h.until("lines 1..10", |h| h.lines.len() >= 10);

    fs::rename(&log, &old).unwrap();
    // The writer (like nginx before it reopens) still writes to the renamed file.
    write_lines(&mut writer, 11, 15);
    drop(writer);
    append(&log, 16, 20);
    h.until("lines 1..20", |h| h.lines.len() >= 20);
    h.settle();
    assert_eq!(
        h.numbers(),
        range(1, 20),
        "old file drained first, then the new one, each line once"
    );
    // Lines read from the old file before the rename was noticed carry its former name.
    assert!(h.lines[10..15].iter().all(|(p, _)| *p == old || *p == log));
    assert!(h.lines[15..].iter().all(|(p, _)| *p == log));
    assert!(
        h.status_of(&old).is_some_and(|s| s.lines == 15),
        "the old file is followed under its new name"
    );
    assert_eq!(h.status_of(&log).map(|s| s.rotations), Some(1));
}

#[test]
fn rename_out_of_the_glob_is_drained_before_the_file_is_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut writer = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    write_lines(&mut writer, 1, 5);
    let mut h = Harness::new(&[&log], HashMap::new(), opts());
    h.until("lines 1..5", |h| h.lines.len() >= 5);
    let away = dir.path().join("access.log-20260101");
    fs::rename(&log, &away).unwrap();
    write_lines(&mut writer, 6, 8);
    append(&log, 9, 10);
    h.until("lines 1..10", |h| h.lines.len() >= 10);
    h.until("the renamed-away file to be forgotten", |h| {
        h.status_of(&away).is_none() && h.tailer.status().len() == 1
    });
    h.settle();
    assert_eq!(h.numbers(), range(1, 10));
}

#[test]
fn copytruncate_restarts_at_zero_and_the_copy_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let copy = dir.path().join("access.log.1");
    append(&log, 1, 10);
    let pattern = dir.path().join("access.log*");
    let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
    h.until("lines 1..10", |h| h.lines.len() >= 10);

    fs::copy(&log, &copy).unwrap();
    // Let the tailer see the copy while the original still holds the same content.
    h.until("the copy to be recognised", |h| {
        h.status_of(&copy).is_some()
    });
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, 11, 20);
    h.until("lines 1..20", |h| h.lines.len() >= 20);
    h.settle();
    assert_eq!(h.numbers(), range(1, 20));
    assert_eq!(h.status_of(&log).map(|s| s.truncations), Some(1));
    // The copy continues the old stream at its end: nothing in it is read again.
    let c = h.status_of(&copy).expect("status of the copy");
    assert_eq!((c.offset, c.size, c.lines), (71, 71, 10));
}

#[test]
fn copytruncate_of_unread_lines_takes_them_from_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let copy = dir.path().join("access.log.1");
    append(&log, 1, 10);
    let pattern = dir.path().join("access.log*");
    let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
    h.until("lines 1..10", |h| h.lines.len() >= 10);

    // Lines 11..13 are written and the file is copied and truncated before any poll reads them.
    append(&log, 11, 13);
    fs::copy(&log, &copy).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, 14, 20);
    h.until("lines 1..20", |h| h.lines.len() >= 20);
    h.settle();
    assert_eq!(sorted(h.numbers()), range(1, 20));
    assert!(
        h.lines
            .iter()
            .filter(|(p, _)| *p == copy)
            .map(|(_, l)| number(l))
            .eq(11..=13)
    );
}

#[test]
fn gzipped_rotation_of_read_data_is_skipped_and_new_gz_content_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    append(&log, 1, 10);
    let pattern = dir.path().join("access.log*");
    let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
    h.until("lines 1..10", |h| h.lines.len() >= 10);

    // logrotate: rename, create, later compress the rotated file and remove it.
    fs::rename(&log, &rotated).unwrap();
    append(&log, 11, 15);
    h.until("lines 1..15", |h| h.lines.len() >= 15);
    let gz = dir.path().join("access.log.1.gz");
    gzip(&gz, &fs::read(&rotated).unwrap());
    h.until("the gz to be recognised as a copy", |h| {
        h.status_of(&gz).is_some_and(|s| s.state == FileState::Copy)
    });
    fs::remove_file(&rotated).unwrap();
    // An archive of content never seen is read once, whole, including an unterminated last line.
    let other = dir.path().join("access.log.7.gz");
    gzip(
        &other,
        format!("{}line 103", lines_text(101, 102)).as_bytes(),
    );
    append(&log, 16, 17);
    h.until("all lines", |h| h.lines.len() >= 20);
    h.settle();
    assert_eq!(
        sorted(h.numbers()),
        [range(1, 17), range(101, 103)].concat()
    );
    let st = h.status_of(&other).expect("status of the new archive");
    assert_eq!((st.state, st.lines), (FileState::Finished, 3));
}

#[test]
fn rotated_set_at_first_start_is_read_oldest_first_each_once() {
    for equal_mtimes in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("access.log.2.gz");
        let one = dir.path().join("access.log.1");
        let log = dir.path().join("access.log");
        gzip(&gz, lines_text(1, 5).as_bytes());
        append(&one, 6, 10);
        append(&log, 11, 15);
        let base = std::time::SystemTime::now() - Duration::from_secs(3600);
        // Written newest first on purpose when mtimes differ, so that name order alone is wrong.
        for (i, p) in [&gz, &one, &log].iter().enumerate() {
            let t = if equal_mtimes {
                base
            } else {
                base + Duration::from_secs(60 * i as u64)
            };
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        let pattern = dir.path().join("access.log*");
        let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
        h.until("lines 1..15", |h| h.lines.len() >= 15);
        h.settle();
        assert_eq!(h.numbers(), range(1, 15), "equal mtimes: {equal_mtimes}");
    }
}

/// Runs the tailer until `upto` lines were delivered, returns what it persisted.
fn first_run(pattern: &Path, upto: usize) -> (Vec<u64>, HashMap<String, Checkpoint>) {
    let mut h = Harness::new(&[pattern], HashMap::new(), opts());
    h.until("first run", |h| h.lines.len() >= upto);
    // Batches handed out by a poll whose transaction never committed (a crash) are lost with
    // their checkpoints: simulate by polling once more and discarding, if anything came.
    (h.numbers(), h.persisted)
}

fn second_run(pattern: &Path, persisted: HashMap<String, Checkpoint>, total: u64, first: &[u64]) {
    let mut h = Harness::new(&[pattern], persisted, opts());
    h.until("second run", |h| {
        first.len() + h.lines.len() >= total as usize
    });
    h.settle();
    let all = sorted([first.to_vec(), h.numbers()].concat());
    assert_eq!(
        all,
        range(1, total),
        "every line exactly once across both runs"
    );
}

#[test]
fn restart_after_plain_append_and_a_partial_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 5);
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"line 6").unwrap();
    let (first, cps) = first_run(&log, 5);
    f.write_all(b"\n").unwrap();
    append(&log, 7, 10);
    second_run(&log, cps, 10, &first);
}

#[test]
fn restart_after_rename_rotation_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 10);
    let pattern = dir.path().join("access.log*");
    let (first, cps) = first_run(&pattern, 10);
    append(&log, 11, 15);
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, 16, 20);
    second_run(&pattern, cps, 20, &first);
}

#[test]
fn restart_after_copytruncate_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 10);
    let pattern = dir.path().join("access.log*");
    let (first, cps) = first_run(&pattern, 10);
    append(&log, 11, 13);
    fs::copy(&log, dir.path().join("access.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, 14, 20);
    second_run(&pattern, cps, 20, &first);
}

#[test]
fn restart_after_rotation_and_compression_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 10);
    let pattern = dir.path().join("access.log*");
    let (first, cps) = first_run(&pattern, 10);
    append(&log, 11, 12);
    gzip(
        &dir.path().join("access.log.1.gz"),
        &fs::read(&log).unwrap(),
    );
    fs::remove_file(&log).unwrap();
    append(&log, 13, 15);
    second_run(&pattern, cps, 15, &first);
}

#[test]
fn restart_from_older_checkpoints_redelivers_only_what_was_not_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 4);
    let mut h = Harness::new(&[&log], HashMap::new(), opts());
    h.until("lines 1..4", |h| h.lines.len() >= 4);
    let persisted = h.persisted.clone();
    let first = h.numbers();
    // These are delivered but their transaction "fails": not persisted.
    append(&log, 5, 8);
    h.until("lines 5..8", |h| h.lines.len() >= 8);
    drop(h);
    append(&log, 9, 10);
    second_run(&log, persisted, 10, &first);
}

#[test]
fn new_files_matching_a_glob_are_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("*.log");
    let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
    h.poll_once();
    assert!(
        h.tailer.status().is_empty(),
        "nothing matches yet: {:?}",
        h.tailer.status()
    );
    append(&dir.path().join("a.log"), 1, 3);
    append(&dir.path().join("b.log"), 4, 6);
    h.until("both files", |h| h.lines.len() >= 6);
    h.settle();
    assert_eq!(sorted(h.numbers()), range(1, 6));
    assert_eq!(h.tailer.status().len(), 2);
}

#[test]
fn empty_new_file_is_decided_once_it_has_content() {
    // `cp` creates its copy empty and writes it afterwards: an empty file must not be taken for
    // new content, or the copy's lines would be read a second time.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let copy = dir.path().join("access.log.1");
    append(&log, 1, 5);
    let pattern = dir.path().join("access.log*");
    let mut h = Harness::new(&[&pattern], HashMap::new(), opts());
    h.until("lines 1..5", |h| h.lines.len() >= 5);
    let mut f = File::create(&copy).unwrap();
    for _ in 0..10 {
        h.poll_once();
    }
    f.write_all(&fs::read(&log).unwrap()).unwrap();
    h.until("the copy to be recognised", |h| {
        h.status_of(&copy)
            .is_some_and(|s| s.state == FileState::Copy)
    });
    // A genuinely new file that starts empty is followed once it has lines.
    let other = dir.path().join("access.log.new");
    let mut g = File::create(&other).unwrap();
    h.poll_once();
    write_lines(&mut g, 6, 7);
    h.until("lines of the new file", |h| h.lines.len() >= 7);
    h.settle();
    assert_eq!(h.numbers(), range(1, 7));
}

#[test]
fn deleted_file_is_drained_then_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut writer = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    write_lines(&mut writer, 1, 3);
    let mut h = Harness::new(&[&log], HashMap::new(), opts());
    h.until("lines 1..3", |h| h.lines.len() >= 3);
    fs::remove_file(&log).unwrap();
    write_lines(&mut writer, 4, 5);
    writer.write_all(b"line 6").unwrap();
    drop(writer);
    // The last line never got its newline: once the file is gone for good it still counts.
    h.until("the deleted file to be drained and forgotten", |h| {
        h.tailer.status().is_empty()
    });
    h.settle();
    assert_eq!(h.numbers(), range(1, 6));
}

#[test]
fn missing_directory_and_directory_in_place_of_a_file_show_errors_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("nginx");
    let pattern = sub.join("access.log*");
    let literal = dir.path().join("app.log");
    fs::create_dir(&literal).unwrap();
    let specs = vec![SourceSpec {
        name: "web".into(),
        patterns: vec![
            pattern.to_string_lossy().into_owned(),
            literal.to_string_lossy().into_owned(),
        ],
    }];
    let mut t = Tailer::new(specs, Vec::new(), opts()).unwrap();
    let mut out = Vec::new();
    t.poll(Duration::from_millis(200), &mut out).unwrap();
    assert!(out.is_empty());
    let st = t.status();
    assert!(
        st.iter().any(|s| s.path == sub && s.last_error.is_some()),
        "{st:?}"
    );
    assert!(
        st.iter()
            .any(|s| s.path == literal && s.last_error.as_deref() == Some("not a regular file")),
        "{st:?}"
    );

    fs::create_dir(&sub).unwrap();
    append(&sub.join("access.log"), 1, 2);
    fs::remove_dir(&literal).unwrap();
    append(&literal, 3, 3);
    let start = Instant::now();
    let mut lines = 0;
    while lines < 3 {
        assert!(start.elapsed() < DEADLINE, "recovery: {:?}", t.status());
        let mut out = Vec::new();
        t.poll(Duration::from_millis(100), &mut out).unwrap();
        lines += out
            .iter()
            .map(|b| b.data.iter().filter(|&&c| c == b'\n').count())
            .sum::<usize>();
    }
    assert!(
        t.status().iter().all(|s| s.last_error.is_none()),
        "{:?}",
        t.status()
    );
}

#[test]
fn oversized_lines_are_cut_reported_and_skipped_to_their_newline_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let o = TailOptions {
        max_line_bytes: 100,
        max_batch_bytes: 64,
        ..opts()
    };
    append(&log, 1, 1);
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    // A long line arriving in pieces, no newline yet.
    f.write_all(&[b'x'; 150]).unwrap();
    let mut h = Harness::new(&[&log], HashMap::new(), o.clone());
    h.until("the cut line", |h| h.lines.len() >= 2);
    assert_eq!(h.lines[1].1, "x".repeat(100));
    assert_eq!(h.oversized.iter().map(|o| o.1).collect::<Vec<_>>(), vec![2]);
    let persisted = h.persisted.clone();
    drop(h);
    // More of the same line while down, then its newline and a normal line.
    f.write_all(&[b'y'; 300]).unwrap();
    f.write_all(b"\nline 3\n").unwrap();
    let mut h = Harness::new(&[&log], persisted, o);
    h.until("line 3", |h| !h.lines.is_empty());
    h.settle();
    assert_eq!(
        h.lines.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
        vec!["line 3"]
    );
    assert!(h.oversized.is_empty());
}

#[test]
fn start_at_end_reads_only_new_lines_of_an_unknown_source() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1, 5);
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"line 6 already begun").unwrap();
    let o = TailOptions {
        start_at_beginning: false,
        ..opts()
    };
    let specs = spec(&[&log]);
    let mut t = Tailer::new(specs, Vec::new(), o).unwrap();
    let mut out = Vec::new();
    t.poll(Duration::from_millis(200), &mut out).unwrap();
    assert!(out.is_empty(), "existing content delivered: {out:?}");
    f.write_all(b" and ended\nline 7\n").unwrap();
    let start = Instant::now();
    while out.is_empty() {
        assert!(start.elapsed() < DEADLINE);
        t.poll(Duration::from_millis(100), &mut out).unwrap();
    }
    assert_eq!(
        out[0].data, b"line 7\n",
        "the line begun before start is skipped whole"
    );
}

#[test]
fn invalid_specs_are_refused() {
    let bad = |specs: Vec<SourceSpec>| Tailer::new(specs, Vec::new(), opts()).is_err();
    let s = |name: &str, p: &str| SourceSpec {
        name: name.into(),
        patterns: vec![p.into()],
    };
    assert!(bad(vec![s("a", "/x/[")]));
    assert!(bad(vec![s("a", "/x/a"), s("a", "/x/b")]));
    assert!(bad(vec![s("", "/x/a")]));
    assert!(bad(vec![SourceSpec {
        name: "a".into(),
        patterns: vec![]
    }]));
    assert!(!bad(vec![s("a", "/nonexistent/dir/*.log")]));
}
