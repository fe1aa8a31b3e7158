//! Which inputs belong to one stream: the files of a rotated set share an
//! engine (an attack that spans a rotation is still one window), other logs
//! get their own.

use secmo_parse::read::InputSpec;

/// The live file's name for a rotated or compressed file:
/// `access.log.2.gz` → `access.log`, `auth.log-20240101.zst` → `auth.log`.
pub fn stream_key(name: &str) -> &str {
    let mut s = name;
    for ext in [".gz", ".zst", ".zstd"] {
        if let Some(stripped) = s.strip_suffix(ext) {
            s = stripped;
            break;
        }
    }
    // `.N` numeric rotation suffix.
    if let Some(dot) = s.rfind('.') {
        let suffix = &s[dot + 1..];
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return &s[..dot];
        }
    }
    // `-YYYYMMDD` (optionally with more digits, as dateext with hours writes).
    if let Some(dash) = s.rfind('-') {
        let suffix = &s[dash + 1..];
        if suffix.len() >= 8 && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return &s[..dash];
        }
    }
    s
}

/// Indices of `inputs` grouped by stream, in first-appearance order; within a
/// group the inputs keep their (oldest-first) order.
pub fn group_streams(inputs: &[InputSpec]) -> Vec<Vec<usize>> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, spec) in inputs.iter().enumerate() {
        let key = stream_key(&spec.name);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_share_a_key() {
        assert_eq!(
            stream_key("/var/log/nginx/access.log.2.gz"),
            "/var/log/nginx/access.log"
        );
        assert_eq!(
            stream_key("/var/log/nginx/access.log.1"),
            "/var/log/nginx/access.log"
        );
        assert_eq!(
            stream_key("/var/log/nginx/access.log"),
            "/var/log/nginx/access.log"
        );
        assert_eq!(stream_key("auth.log-20240101.zst"), "auth.log");
        assert_eq!(stream_key("app-v2.log"), "app-v2.log");
        assert_eq!(stream_key("-"), "-");
    }
}
