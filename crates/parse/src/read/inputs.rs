//! Expanding command-line arguments into a list of inputs, rotated sets oldest first.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::ReadError;

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InputSource {
    Stdin,
    File(PathBuf),
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// Display name: the path as given (or as found in a directory or by a
    /// glob), or "stdin".
    pub name: String,
    pub source: InputSource,
}

impl InputSpec {
    pub fn stdin() -> Self {
        InputSpec {
            name: String::from("stdin"),
            source: InputSource::Stdin,
        }
    }

    pub fn file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        InputSpec {
            name: path.display().to_string(),
            source: InputSource::File(path),
        }
    }
}

/// Expand command-line arguments into inputs.
///
/// - `-` is stdin;
/// - a file is itself;
/// - a directory gives its regular files (not recursive, hidden files skipped);
/// - an argument that names nothing but holds `*`, `?` or `[` is a glob
///   pattern (`*` does not match a leading dot);
/// - files of one rotated set (same directory and base name, such as
///   `access.log`, `access.log.1`, `access.log.2.gz`, `access.log-20240101.gz`)
///   are put together, oldest first, where the first of them appeared:
///   date suffixes ascending, then numeric suffixes descending, then the live
///   file. Shell-expanded `access.log*` thus reads in time order.
/// - the same file named twice is read once.
///
/// Every argument that names nothing is reported in one error. No arguments
/// give an empty list: whether that means stdin is the caller's choice.
pub fn expand_inputs(args: &[String]) -> Result<Vec<InputSpec>, ReadError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for arg in args {
        if arg == "-" {
            found.push(InputSpec::stdin());
            continue;
        }
        let path = Path::new(arg);
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => found.extend(list_directory(arg)?),
            Ok(_) => found.push(InputSpec {
                name: arg.clone(),
                source: InputSource::File(path.to_path_buf()),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if is_glob(arg) {
                    found.extend(expand_glob(arg)?);
                } else {
                    missing.push(arg.clone());
                }
            }
            Err(error) => {
                return Err(ReadError::Open {
                    name: arg.clone(),
                    error,
                });
            }
        }
    }
    if !missing.is_empty() {
        return Err(ReadError::NotFound { paths: missing });
    }
    Ok(order_rotated(dedup(found)))
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

fn list_directory(dir: &str) -> Result<Vec<InputSpec>, ReadError> {
    let open_error = |error| ReadError::Open {
        name: dir.to_owned(),
        error,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(open_error)? {
        let entry = entry.map_err(open_error)?;
        let hidden = entry.file_name().as_encoded_bytes().starts_with(b".");
        let path = entry.path();
        // Follows symlinks: a link to a log file is read, a link to a directory is not.
        if !hidden && fs::metadata(&path).is_ok_and(|m| !m.is_dir()) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(ReadError::EmptyDirectory {
            path: dir.to_owned(),
        });
    }
    files.sort();
    Ok(files.into_iter().map(InputSpec::file).collect())
}

fn expand_glob(pattern: &str) -> Result<Vec<InputSpec>, ReadError> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(pattern, options).map_err(|e| ReadError::BadPattern {
        pattern: pattern.to_owned(),
        reason: e.msg,
    })?;
    let mut files = Vec::new();
    for path in paths {
        let path = path.map_err(|e| ReadError::Open {
            name: e.path().display().to_string(),
            error: e.into(),
        })?;
        if fs::metadata(&path).is_ok_and(|m| !m.is_dir()) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(ReadError::NoMatch {
            pattern: pattern.to_owned(),
        });
    }
    Ok(files.into_iter().map(InputSpec::file).collect())
}

/// Drop repeats of the same file, however it was named.
fn dedup(specs: Vec<InputSpec>) -> Vec<InputSpec> {
    let mut seen = HashSet::new();
    specs
        .into_iter()
        .filter(|spec| {
            let key = match &spec.source {
                InputSource::Stdin => InputSource::Stdin,
                InputSource::File(path) => {
                    InputSource::File(fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
                }
            };
            seen.insert(key)
        })
        .collect()
}

/// Where a file stands in its rotated set: oldest sorts first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// `name-20240101`, `name.2024-01-01`: the digits of the date.
    Dated(String),
    /// `name.3`: higher is older.
    Numbered(Reverse<u64>),
    /// `name`: the file being written to.
    Live,
}

impl InputSpec {
    /// The rotated set this input belongs to: its directory and the live file's
    /// name (`access.log.2.gz` → `access.log`). Stdin is a set of its own.
    pub fn rotated_set(&self) -> (PathBuf, String) {
        match &self.source {
            InputSource::Stdin => (PathBuf::new(), String::from("\0stdin")),
            InputSource::File(path) => {
                let (dir, base, _) = rotation(path);
                (dir, base)
            }
        }
    }
}

/// The rotated set a file belongs to (its directory and base name) and its age in it.
fn rotation(path: &Path) -> (PathBuf, String, Age) {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return (dir, path.display().to_string(), Age::Live);
    };
    let (base, age) = split_rotation(name);
    (dir, base.to_owned(), age)
}

fn split_rotation(name: &str) -> (&str, Age) {
    let name = [".gz", ".zst", ".zstd", ".bz2", ".xz", ".lz4"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(name);
    if let Some((base, digits)) = name.rsplit_once('.')
        && !base.is_empty()
        && (1..=6).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = digits.parse::<u64>()
    {
        return (base, Age::Numbered(Reverse(n)));
    }
    // A date suffix: the earliest separator after which only digits and
    // date punctuation follow, starting with a plausible year.
    for (i, sep) in name.char_indices() {
        if i == 0 || !matches!(sep, '-' | '.' | '_') {
            continue;
        }
        let rest = &name[i + 1..];
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let only_date_chars = rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | 'T' | ':'));
        let plausible = rest.starts_with("19") || rest.starts_with("20");
        if only_date_chars && plausible && digits.len() >= 8 {
            return (&name[..i], Age::Dated(digits));
        }
    }
    (name, Age::Live)
}

/// Put each rotated set together, oldest first, where its first file appeared.
fn order_rotated(specs: Vec<InputSpec>) -> Vec<InputSpec> {
    let mut family_rank: HashMap<(PathBuf, String), usize> = HashMap::new();
    let mut keyed: Vec<(usize, Age, usize, InputSpec)> = specs
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            let (family, age) = match &spec.source {
                InputSource::Stdin => ((PathBuf::new(), format!("\0stdin{index}")), Age::Live),
                InputSource::File(path) => {
                    let (dir, base, age) = rotation(path);
                    ((dir, base), age)
                }
            };
            let next = family_rank.len();
            let rank = *family_rank.entry(family).or_insert(next);
            (rank, age, index, spec)
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    keyed.into_iter().map(|(.., spec)| spec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_suffixes() {
        assert_eq!(
            split_rotation("access.log.2.gz"),
            ("access.log", Age::Numbered(Reverse(2)))
        );
        assert_eq!(
            split_rotation("access.log.10"),
            ("access.log", Age::Numbered(Reverse(10)))
        );
        assert_eq!(split_rotation("access.log"), ("access.log", Age::Live));
        assert_eq!(
            split_rotation("access.log-20240101.gz"),
            ("access.log", Age::Dated("20240101".into()))
        );
        assert_eq!(
            split_rotation("app.log.2024-01-02"),
            ("app.log", Age::Dated("20240102".into()))
        );
        assert_eq!(split_rotation("syslog"), ("syslog", Age::Live));
        assert_eq!(split_rotation(".gz"), (".gz", Age::Live));
        assert_eq!(split_rotation("2024-01-01"), ("2024-01-01", Age::Live));
    }

    #[test]
    fn unrelated_files_keep_their_order() {
        let specs = ["b.log", "a.log", "b.log.1", "c"]
            .iter()
            .map(|n| InputSpec::file(*n))
            .collect();
        let names: Vec<String> = order_rotated(specs).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["b.log.1", "b.log", "a.log", "c"]);
    }
}
