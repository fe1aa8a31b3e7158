//! File identity: (device, inode) plus a fingerprint of the first bytes, and the small helpers
//! that order a rotated set and find the directories to watch.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// How many leading bytes the fingerprint covers once a file is that long. A shorter file's
/// fingerprint covers all of it and grows with it.
pub(crate) const FP_MAX: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Hex of the first 128 bits of SHA-256 over `bytes` (a collision-resistant hash: log heads are
/// attacker-influenced, and a collision would make us skip a file as already read).
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(32);
    for b in &digest[..16] {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether a file whose first bytes are `head` starts with the content fingerprinted as
/// (`fp_len`, `fp`). An empty fingerprint matches nothing (identity then rests on the inode).
pub(crate) fn head_matches(head: &[u8], fp_len: u32, fp: &str) -> bool {
    let n = fp_len as usize;
    n > 0 && head.len() >= n && fingerprint(&head[..n]) == fp
}

/// The first `FP_MAX` bytes of a plain file (fewer if it is shorter).
pub(crate) fn read_head_plain(file: &File) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; FP_MAX];
    let mut got = 0;
    while got < FP_MAX {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// The first `FP_MAX` decompressed bytes of a gzip file. A decoding error after some bytes still
/// yields them (an archive being written is a prefix of the final one).
pub(crate) fn read_head_gz(file: &File) -> std::io::Result<Vec<u8>> {
    let mut dec = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut buf = vec![0u8; FP_MAX];
    let mut got = 0;
    while got < FP_MAX {
        match dec.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if got > 0 => {
                tracing::debug!(error = %e, "gzip head cut short");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    /// A compressed format this crate does not decode: never read as text.
    Unsupported,
}

pub(crate) fn compression_of(path: &Path) -> Compression {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".gz") {
        Compression::Gzip
    } else if [".zst", ".bz2", ".xz", ".lz4", ".zip", ".7z", ".lzma"]
        .iter()
        .any(|ext| name.ends_with(ext))
    {
        Compression::Unsupported
    } else {
        Compression::None
    }
}

/// The rotation number of a rotated name: `access.log.2.gz` → 2, `access.log.1` → 1,
/// `access.log` → 0, `access.log-20260101.gz` → 20260101 (dates order like numbers).
pub(crate) fn rotation_number(path: &Path) -> u64 {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut stem = name.as_str();
    for ext in [".gz", ".zst", ".bz2", ".xz"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    let digits: String = stem
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let before = stem.len() - digits.len();
    let separated =
        before > 0 && matches!(stem.as_bytes().get(before - 1), Some(b'.' | b'-' | b'_'));
    if separated {
        digits.parse().unwrap_or(0)
    } else {
        0
    }
}

pub(crate) fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The deepest directory of `pattern` that contains no glob characters: the one to watch and
/// whose absence is an error worth showing.
pub(crate) fn literal_dir(pattern: &str) -> PathBuf {
    let path = Path::new(pattern);
    let mut dir = PathBuf::new();
    let comps: Vec<Component> = path.components().collect();
    let n = comps.len();
    for (i, c) in comps.into_iter().enumerate() {
        let is_last = i + 1 == n;
        if is_last || has_glob_meta(&c.as_os_str().to_string_lossy()) {
            break;
        }
        dir.push(c);
    }
    if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_numbers() {
        assert_eq!(rotation_number(Path::new("/l/access.log")), 0);
        assert_eq!(rotation_number(Path::new("/l/access.log.1")), 1);
        assert_eq!(rotation_number(Path::new("/l/access.log.12.gz")), 12);
        assert_eq!(rotation_number(Path::new("/l/a.log-20260101.gz")), 20260101);
        assert_eq!(rotation_number(Path::new("/l/log2")), 0);
    }

    #[test]
    fn literal_dirs() {
        assert_eq!(
            literal_dir("/var/log/nginx/access.log*"),
            Path::new("/var/log/nginx")
        );
        assert_eq!(literal_dir("/var/log/*/access.log"), Path::new("/var/log"));
        assert_eq!(literal_dir("/var/log/auth.log"), Path::new("/var/log"));
        assert_eq!(literal_dir("auth.log"), Path::new("."));
    }

    #[test]
    fn fingerprints_match_prefixes_only() {
        let fp = fingerprint(b"hello");
        assert!(head_matches(b"hello world", 5, &fp));
        assert!(!head_matches(b"hell", 5, &fp));
        assert!(!head_matches(b"jello world", 5, &fp));
        assert!(!head_matches(b"anything", 0, &fingerprint(b"")));
        assert_eq!(fp.len(), 32);
    }

    #[test]
    fn compression_by_name() {
        assert_eq!(compression_of(Path::new("a.log.1.gz")), Compression::Gzip);
        assert_eq!(compression_of(Path::new("a.log.1.GZ")), Compression::Gzip);
        assert_eq!(
            compression_of(Path::new("a.log.1.zst")),
            Compression::Unsupported
        );
        assert_eq!(compression_of(Path::new("a.log.1")), Compression::None);
    }
}
