//! The server's own activity as JSON lines in the application log shape
//! (`timestamp, ip_address, username, action`), watched by the same rules as
//! every other source: a brute force against the dashboard raises an
//! incident (D-01) and can get the attacker blocked.
//!
//! Logged: LOGIN_SUCCESS, LOGIN_FAILURE, LOGOUT, PAGE_VISIT (dashboard page
//! loads) and API_REQUEST for API calls refused as unauthenticated. A signed-in
//! dashboard polls the API every few seconds; logging those calls would make
//! D-02 ("more than 10 API requests in 2 minutes") fire on every analyst.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct ActivityLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    ip_address: String,
    username: &'a str,
    action: &'a str,
}

impl ActivityLog {
    pub fn open(path: &Path) -> std::io::Result<ActivityLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(ActivityLog {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&self, ip: IpAddr, username: &str, action: &str) {
        let line = Line {
            timestamp: secmo_event::format_rfc3339(crate::now_ms()),
            ip_address: ip.to_string(),
            username,
            action,
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // Re-open after rotation or a failed write; one write_all per line keeps lines whole.
        if guard.is_none() {
            *guard = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok();
        }
        let failed = match guard.as_mut() {
            Some(f) => f.write_all(text.as_bytes()).is_err(),
            None => true,
        };
        if failed {
            tracing::warn!(path = %self.path.display(), "cannot write the activity log");
            *guard = None;
        }
    }

    pub fn login_success(&self, ip: IpAddr, user: &str) {
        self.write(ip, user, "LOGIN_SUCCESS");
    }
    pub fn login_failure(&self, ip: IpAddr, user: &str) {
        self.write(ip, user, "LOGIN_FAILURE");
    }
    pub fn logout(&self, ip: IpAddr, user: &str) {
        self.write(ip, user, "LOGOUT");
    }
    pub fn page_visit(&self, ip: IpAddr, user: &str) {
        self.write(ip, user, "PAGE_VISIT");
    }
    pub fn api_refused(&self, ip: IpAddr, user: &str) {
        self.write(ip, user, "API_REQUEST");
    }
}
