//! Inputs from the file system: expansion, rotated sets, decompression, chunking.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

use flate2::Compression as GzLevel;
use flate2::write::GzEncoder;
use secmo_parse::read::{
    Chunk, Compression, InputSource, InputSpec, LineChunker, ReadError, expand_inputs, open_input,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), GzLevel::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// Numbered lines that compress poorly, so a cut file still holds many of them.
fn sample_lines(count: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for n in 1..=count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        writeln!(
            out,
            "line {n} 10.0.{}.{} GET /x?{state:016x}",
            n % 256,
            state % 256
        )
        .unwrap();
    }
    out
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

fn names(specs: &[InputSpec]) -> Vec<String> {
    specs
        .iter()
        .map(|s| match &s.source {
            InputSource::File(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
            InputSource::Stdin => "-".to_owned(),
        })
        .collect()
}

/// Everything a file yields: its lines, then the error that ended it, if any.
fn read_file(path: &Path, chunk_size: usize) -> (Compression, Vec<Vec<u8>>, Option<ReadError>) {
    let spec = InputSpec::file(path);
    let opened = open_input(&spec).unwrap();
    let compressed = opened.compressed;
    let mut chunker = LineChunker::new(opened.reader, chunk_size, 1 << 20).with_name(&spec.name);
    let mut chunk = Chunk::new();
    let mut lines = Vec::new();
    loop {
        match chunker.fill(&mut chunk) {
            Ok(true) => {
                for (n, line) in chunk.lines() {
                    assert_eq!(n, lines.len() as u64 + 1);
                    lines.push(line.to_vec());
                }
            }
            Ok(false) => return (compressed, lines, None),
            Err(e) => return (compressed, lines, Some(e)),
        }
    }
}

fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn plain_file_round_trip_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.log");
    let data = sample_lines(5000);
    fs::write(&path, &data).unwrap();

    let opened = open_input(&InputSpec::file(&path)).unwrap();
    assert_eq!(opened.compressed, Compression::None);
    assert_eq!(opened.size, Some(data.len() as u64));
    assert!(opened.modified_ms.is_some_and(|ms| ms > 1_600_000_000_000));
    let progress = opened.progress.clone();
    let mut chunker = LineChunker::new(opened.reader, 4096, 4096);
    let mut chunk = Chunk::new();
    let mut total = Vec::new();
    while chunker.fill(&mut chunk).unwrap() {
        assert!(chunk.data.len() <= 4096);
        total.extend_from_slice(&chunk.data);
    }
    assert_eq!(total, data);
    assert_eq!(progress.load(Ordering::Relaxed), data.len() as u64);
}

#[test]
fn empty_file_has_no_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    fs::write(&path, b"").unwrap();
    let (compressed, lines, error) = read_file(&path, 1024);
    assert_eq!(compressed, Compression::None);
    assert!(lines.is_empty());
    assert!(error.is_none());
}

#[test]
fn gzip_is_detected_by_magic_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("looks-plain.log");
    let data = sample_lines(3000);
    fs::write(&path, gzip(&data)).unwrap();
    let (compressed, lines, error) = read_file(&path, 1000);
    assert_eq!(compressed, Compression::Gzip);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines, split_lines(&data));
}

#[test]
fn multi_member_gzip_reads_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cat.gz");
    let first = sample_lines(100);
    let second = b"after the first member\nlast\n";
    let mut bytes = gzip(&first);
    bytes.extend(gzip(second));
    fs::write(&path, bytes).unwrap();
    let (_, lines, error) = read_file(&path, 1 << 16);
    assert!(error.is_none(), "{error:?}");
    let mut want = split_lines(&first);
    want.extend(split_lines(second));
    assert_eq!(lines, want);
}

#[test]
fn zstd_single_and_multi_frame_with_skippable_frame() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample_lines(4000);
    let one = dir.path().join("one.log.zst");
    fs::write(&one, zstd(&data)).unwrap();
    let (compressed, lines, error) = read_file(&one, 1 << 14);
    assert_eq!(compressed, Compression::Zstd);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines, split_lines(&data));

    let many = dir.path().join("many.zst");
    // A skippable frame (magic 0x184D2A50, 3 bytes of payload) first, then two data frames.
    let mut bytes = vec![0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3];
    bytes.extend(zstd(b"a\nb\n"));
    bytes.extend(zstd(b"c\n"));
    fs::write(&many, bytes).unwrap();
    let (compressed, lines, error) = read_file(&many, 1 << 14);
    assert_eq!(compressed, Compression::Zstd);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

#[test]
fn truncated_gzip_gives_good_lines_then_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.log.gz");
    let data = sample_lines(20_000);
    let full = gzip(&data);
    fs::write(&path, &full[..full.len() / 2]).unwrap();
    let (_, lines, error) = read_file(&path, 1 << 16);
    let want = split_lines(&data);
    assert!(lines.len() > 1000, "only {} lines", lines.len());
    assert!(lines.len() < want.len());
    assert_eq!(lines[..], want[..lines.len()]);
    let message = error.expect("truncation is an error").to_string();
    assert!(message.contains("cut.log.gz"), "{message}");
    assert!(message.contains("gzip"), "{message}");
    assert!(
        message.contains(&format!("after {} lines", lines.len())),
        "{message}"
    );
}

#[test]
fn truncated_zstd_gives_good_lines_then_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.zst");
    let data = sample_lines(50_000);
    let full = zstd(&data);
    fs::write(&path, &full[..full.len() / 2]).unwrap();
    let (_, lines, error) = read_file(&path, 1 << 16);
    let want = split_lines(&data);
    assert!(lines.len() > 1000, "only {} lines", lines.len());
    assert_eq!(lines[..], want[..lines.len()]);
    let message = error.expect("truncation is an error").to_string();
    assert!(
        message.contains("cut.zst") && message.contains("zstd"),
        "{message}"
    );
}

#[test]
fn zstd_checksum_catches_corrupt_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.zst");
    let data = b"first line\nsecond line\n";
    let mut bytes = ruzstd::encoding::compress_to_vec(
        &data[..],
        ruzstd::encoding::CompressionLevel::Uncompressed,
    );
    let at = bytes
        .windows(6)
        .position(|w| w == b"second")
        .expect("raw block holds the text");
    bytes[at] = b'S';
    fs::write(&path, bytes).unwrap();
    let (_, _, error) = read_file(&path, 1024);
    let message = error.expect("a checksum error").to_string();
    assert!(message.contains("checksum"), "{message}");
}

#[test]
fn zstd_window_over_the_limit_is_refused() {
    // A frame declaring a 1 GiB window (descriptor 0xA0) around a 3-byte raw block:
    // decoding it could hold a gigabyte of output, so it must be refused up front.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-window.zst");
    let bytes = [
        0x28, 0xB5, 0x2F, 0xFD, 0x00, 0xA0, 0x19, 0x00, 0x00, b'h', b'i', b'\n',
    ];
    fs::write(&path, bytes).unwrap();
    let (compressed, lines, error) = read_file(&path, 1024);
    assert_eq!(compressed, Compression::Zstd);
    assert!(lines.is_empty());
    let message = error.expect("window too big").to_string();
    assert!(message.to_lowercase().contains("window"), "{message}");

    // The same block under a 1 MiB window (descriptor 0x50) decodes.
    let ok = dir.path().join("small-window.zst");
    let mut bytes = bytes;
    bytes[5] = 0x50;
    fs::write(&ok, bytes).unwrap();
    let (_, lines, error) = read_file(&ok, 1024);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines, [b"hi".to_vec()]);
}

#[test]
fn corrupt_gzip_header_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gz");
    fs::write(&path, [0x1f, 0x8b, 0xff, 0xff, 0, 1, 2, 3]).unwrap();
    let (compressed, lines, error) = read_file(&path, 1024);
    assert_eq!(compressed, Compression::Gzip);
    assert!(lines.is_empty());
    assert!(error.is_some());
}

#[test]
fn binary_garbage_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.bin");
    let mut state = 1u32;
    let garbage: Vec<u8> = (0..300_000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    fs::write(&path, &garbage).unwrap();
    let (_, lines, error) = read_file(&path, 4096);
    assert!(error.is_none());
    let newlines = garbage.iter().filter(|&&b| b == b'\n').count();
    assert!(lines.len() == newlines || lines.len() == newlines + 1);
}

#[test]
fn directory_gives_its_visible_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b.log", "a.log", ".hidden"] {
        fs::write(dir.path().join(name), b"x\n").unwrap();
    }
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/c.log"), b"x\n").unwrap();
    let specs = expand_inputs(&[arg(dir.path())]).unwrap();
    assert_eq!(names(&specs), ["a.log", "b.log"]);

    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        expand_inputs(&[arg(empty.path())]),
        Err(ReadError::EmptyDirectory { .. })
    ));
    let opened = open_input(&InputSpec::file(dir.path()));
    assert!(matches!(opened, Err(ReadError::IsDirectory { .. })));
}

#[test]
fn glob_patterns_expand() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["web1.log", "web2.log", "db.log", ".web3.log"] {
        fs::write(dir.path().join(name), b"x\n").unwrap();
    }
    let specs = expand_inputs(&[arg(&dir.path().join("web*.log"))]).unwrap();
    assert_eq!(names(&specs), ["web1.log", "web2.log"]);
    assert_eq!(specs[0].name, arg(&dir.path().join("web1.log")));

    let error = expand_inputs(&[arg(&dir.path().join("nothing*"))]).unwrap_err();
    assert!(matches!(error, ReadError::NoMatch { .. }));
    assert!(error.to_string().contains("nothing*"));
}

#[test]
fn rotated_sets_read_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        "access.log",
        "access.log.1",
        "access.log.2.gz",
        "access.log.10.gz",
        "error.log",
        "error.log-20240102",
        "error.log-20240101.gz",
        "error.log-20231231.gz",
    ];
    for name in files {
        fs::write(dir.path().join(name), b"x\n").unwrap();
    }
    let want = [
        "access.log.10.gz",
        "access.log.2.gz",
        "access.log.1",
        "access.log",
        "error.log-20231231.gz",
        "error.log-20240101.gz",
        "error.log-20240102",
        "error.log",
    ];
    let by_glob = expand_inputs(&[arg(&dir.path().join("*.log*"))]).unwrap();
    assert_eq!(names(&by_glob), want);
    let by_dir = expand_inputs(&[arg(dir.path())]).unwrap();
    assert_eq!(names(&by_dir), want);
    // As a shell expands `access.log*`: alphabetical.
    let shell: Vec<String> = [
        "access.log",
        "access.log.1",
        "access.log.10.gz",
        "access.log.2.gz",
    ]
    .iter()
    .map(|n| arg(&dir.path().join(n)))
    .collect();
    assert_eq!(names(&expand_inputs(&shell).unwrap()), want[..4]);
}

#[test]
fn duplicates_are_read_once_and_stdin_is_dash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    fs::write(&path, b"x\n").unwrap();
    let dotted = arg(&dir.path().join(".").join("a.log"));
    let specs = expand_inputs(&[arg(&path), "-".into(), dotted, arg(&path), "-".into()]).unwrap();
    assert_eq!(names(&specs), ["a.log", "-"]);
    assert_eq!(specs[1].source, InputSource::Stdin);
    assert_eq!(specs[1].name, "stdin");
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("here.log"), b"x\n").unwrap();
    let error = expand_inputs(&[
        arg(&dir.path().join("gone.log")),
        arg(&dir.path().join("here.log")),
        arg(&dir.path().join("also-gone.log")),
    ])
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("gone.log"), "{message}");
    assert!(message.contains("also-gone.log"), "{message}");
    assert!(!message.contains("here.log"), "{message}");
}

fn corpus_dir() -> std::path::PathBuf {
    std::env::var_os("SECMO_CORPUS").map_or_else(
        || concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus").into(),
        Into::into,
    )
}

fn corpus_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            corpus_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every real file of the corpus comes out line for line, plain and gzipped,
/// with chunk boundaries falling everywhere.
#[test]
fn corpus_files_read_exactly() {
    let mut files = Vec::new();
    corpus_files(&corpus_dir(), &mut files);
    assert!(files.len() > 50, "corpus not found at {:?}", corpus_dir());
    let scratch = tempfile::tempdir().unwrap();
    let mut total_lines = 0;
    for path in files {
        let data = fs::read(&path).unwrap();
        let mut want: Vec<Vec<u8>> = data
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect();
        if data.is_empty() || data.ends_with(b"\n") {
            want.pop();
        }
        let (compressed, lines, error) = read_file(&path, 997);
        assert_eq!(compressed, Compression::None, "{path:?}");
        assert!(error.is_none(), "{path:?}: {error:?}");
        assert_eq!(lines, want, "{path:?}");

        let gz = scratch.path().join("copy.gz");
        fs::write(&gz, gzip(&data)).unwrap();
        let (compressed, lines, error) = read_file(&gz, 1 << 16);
        assert_eq!(compressed, Compression::Gzip);
        assert!(error.is_none(), "{path:?}: {error:?}");
        assert_eq!(lines, want, "{path:?} gzipped");
        total_lines += want.len();
    }
    assert!(total_lines > 10_000, "{total_lines}");
}
