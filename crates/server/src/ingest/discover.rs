//! With no configured sources: the standard log files that exist on this host.

use crate::config::SourceConfig;
use std::path::Path;

/// (source name, format, candidate globs). Checked in this order.
const CANDIDATES: &[(&str, &str, &[&str])] = &[
    ("nginx", "access", &["/var/log/nginx/access.log*"]),
    (
        "apache",
        "access",
        &[
            "/var/log/apache2/access.log*",
            "/var/log/apache2/*access*.log",
            "/var/log/httpd/access_log*",
        ],
    ),
    (
        "auth",
        "syslog",
        &["/var/log/auth.log*", "/var/log/secure*"],
    ),
    (
        "mysql",
        "mysql",
        &[
            "/var/log/mysql/error.log*",
            "/var/log/mysql/mysql.log*",
            "/var/log/mariadb/mariadb.log*",
            "/var/log/mysqld.log*",
        ],
    ),
    (
        "postgres",
        "postgres",
        &["/var/log/postgresql/postgresql-*.log*"],
    ),
];

/// Sources for the candidates with at least one existing file under `root`
/// (`/` normally; tests pass a temporary directory).
pub fn standard_sources(root: &Path) -> Vec<SourceConfig> {
    let mut out = Vec::new();
    for (name, format, globs) in CANDIDATES {
        let rooted: Vec<String> = globs
            .iter()
            .map(|g| root.join(g.trim_start_matches('/')).display().to_string())
            .collect();
        let found = rooted.iter().any(|g| {
            glob::glob(g)
                .map(|mut paths| paths.any(|p| p.is_ok_and(|p| p.is_file())))
                .unwrap_or(false)
        });
        if found {
            out.push(SourceConfig {
                name: (*name).into(),
                paths: rooted,
                format: Some((*format).into()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_existing_logs() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(standard_sources(dir.path()).is_empty());
        std::fs::create_dir_all(dir.path().join("var/log/nginx")).expect("mkdir");
        std::fs::write(dir.path().join("var/log/nginx/access.log"), "").expect("write");
        std::fs::write(dir.path().join("var/log/auth.log"), "").expect("write");
        let found = standard_sources(dir.path());
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["nginx", "auth"]);
        assert_eq!(found[0].format.as_deref(), Some("access"));
    }
}
