//! End-to-end tests of `secmo serve`: the real binary as a child process on
//! loopback, driven over HTTP as a user or a script would. Crashes are real
//! (SIGKILL), rotations are done on real files, and every server is killed
//! when its test ends, pass or fail.

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "e2e-admin-password-123";

fn secmo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secmo"));
    cmd.env("SECMO_ADMIN_PASSWORD", PASSWORD)
        .env_remove("SECMO_LOG")
        .stdin(Stdio::null());
    cmd
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Poll `f` every 100 ms until it returns Some, for at most `secs` seconds.
fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- time --------------------------------------------------------------------

/// (year, month 1-12, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn split_time(ms: i64) -> (i64, u32, u32, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    (y, m, d, sod / 3600, sod % 3600 / 60, sod % 60)
}

fn rfc3339(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = split_time(ms);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `22/Nov/2026:03:11:05 +0000`
fn clf_time(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, ss) = split_time(ms);
    format!(
        "{d:02}/{}/{y:04}:{hh:02}:{mm:02}:{ss:02} +0000",
        MONTHS[m as usize - 1]
    )
}

fn access_line(ip: &str, target: &str, status: u16) -> String {
    format!(
        "{ip} - - [{}] \"GET {target} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0 (e2e)\"\n",
        clf_time(now_ms())
    )
}

/// Line `n` of the exactly-once tests: a benign request for `/item/n`, spread over many IPs.
fn item_line(n: usize) -> String {
    let ip = format!("10.{}.{}.{}", n / 62_500 % 250, n / 250 % 250, n % 250 + 1);
    access_line(&ip, &format!("/item/{n}"), 200)
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}

fn append_items(path: &Path, range: std::ops::Range<usize>) {
    let text: String = range.map(item_line).collect();
    append(path, &text);
}

/// A small deterministic generator (xorshift64*), seeded from the clock and printed,
/// so kill points vary between runs and a failing run can be told apart.
struct Rng(u64);

impl Rng {
    fn from_clock(what: &str) -> Rng {
        let seed = (now_ms() as u64) | 1;
        eprintln!("{what}: seed {seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

// ---- the server as a child process --------------------------------------------

/// A running `secmo serve`; killed (SIGKILL) and reaped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

impl Server {
    /// Start `secmo <args>`, with stderr going to `stderr`, and wait for it to listen.
    fn spawn(args: &[&str], cwd: &Path, stderr: PathBuf) -> Server {
        let err = File::create(&stderr).expect("create the stderr file");
        let child = secmo()
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start secmo serve");
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
        };
        server.addr = wait_for(30, "secmo serve to print its address", || {
            let text = std::fs::read_to_string(&server.stderr).unwrap_or_default();
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("secmo serve exited early ({status}):\n{text}");
            }
            text.lines().find_map(|l| {
                l.strip_prefix("secmo is listening on http://")
                    .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            })
        });
        let health = format!("http://{}/api/health", server.addr);
        let probe = Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        wait_for(30, "/api/health", || {
            probe
                .get(&health)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        server
    }

    /// `secmo serve --config <config>`.
    fn start(config: &Path, run: usize) -> Server {
        let dir = config.parent().expect("config dir");
        let stderr = dir.join(format!("serve-{run}.stderr"));
        Server::spawn(
            &["serve", "--config", &config.display().to_string()],
            dir,
            stderr,
        )
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    fn login(&self) -> Session {
        let client = Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let base = format!("http://{}", self.addr);
        let resp = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .expect("login request");
        let status = resp.status();
        let body: Value = resp.json().expect("login answers JSON");
        assert_eq!(status, 200, "login failed: {body}");
        let csrf = body["csrf_token"]
            .as_str()
            .expect("login returns csrf_token")
            .to_string();
        Session { base, client, csrf }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A signed-in admin: the session cookie, and the CSRF token for changes.
struct Session {
    base: String,
    client: Client,
    csrf: String,
}

impl Session {
    fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        let text = resp.text().expect("body");
        assert_eq!(status, 200, "GET {path} {query:?}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"))
    }

    /// Every item of a paginated list (keyset pagination with `cursor`).
    fn all_pages(&self, path: &str, query: &[(&str, &str)]) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100_000 {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", "1000"));
            if let Some(c) = &cursor {
                q.push(("cursor", c));
            }
            let page = self.get(path, &q);
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return items,
            }
        }
        panic!("{path}: pagination does not end");
    }

    /// A multipart upload with one file part. The body is built here and sent whole
    /// (reqwest's blocking multipart streams through a channel and reports an early
    /// answer such as 413 as a send error instead of the answer).
    fn post_multipart(&self, path: &str, name: &str, data: &[u8]) -> Response {
        let boundary = "secmo-e2e-boundary-7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e:?}"))
    }
}

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = dir.join("secmo.toml");
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra}",
        dir.join("data").display().to_string()
    );
    std::fs::write(&config, text).expect("write config");
    config
}

fn source_toml(name: &str, paths: &[&Path], format: &str) -> String {
    let paths: Vec<String> = paths
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    format!(
        "\n[[sources]]\nname = {name:?}\npaths = [{}]\nformat = {format:?}\n",
        paths.join(", ")
    )
}

// ---- exactly once ---------------------------------------------------------------

/// `/item/<n>` → how many stored events of `source` have it, and every other path seen.
fn stored_items(api: &Session, source: &str) -> (BTreeMap<usize, usize>, Vec<String>) {
    let mut counts = BTreeMap::new();
    let mut other = Vec::new();
    for ev in api.all_pages("/api/events", &[("source", source)]) {
        let n = ev["path"]
            .as_str()
            .and_then(|p| p.strip_prefix("/item/"))
            .and_then(|n| n.parse::<usize>().ok());
        match n {
            Some(n) => *counts.entry(n).or_insert(0) += 1,
            None => other.push(format!("{} {}", ev["kind"], ev["raw"])),
        }
    }
    (counts, other)
}

/// Wait until items `0..n` are all stored, give a late duplicate the time to show
/// (the tailer rescans globs every 2 s), then assert each is stored exactly once.
fn assert_exactly_once(api: &Session, source: &str, n: usize, stage: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (counts, _) = stored_items(api, source);
        if counts.len() >= n {
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<usize> = (0..n).filter(|i| !counts.contains_key(i)).collect();
            panic!(
                "{stage}: after 60 s, {} of {n} lines are stored; missing {} (first: {:?})",
                counts.len(),
                missing.len(),
                &missing[..missing.len().min(20)]
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    wait_for(30, "every file of the source to be read to its end", || {
        let sources = api.get("/api/sources", &[]);
        let src = sources
            .as_array()?
            .iter()
            .find(|s| s["name"] == source)?
            .clone();
        (src["lag_bytes"] == 0).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    let (counts, other) = stored_items(api, source);
    let missing: Vec<usize> = (0..n).filter(|i| !counts.contains_key(i)).collect();
    let twice: Vec<(usize, usize)> = counts
        .iter()
        .filter(|(_, c)| **c != 1)
        .map(|(i, c)| (*i, *c))
        .collect();
    let unexpected: Vec<&usize> = counts.keys().filter(|i| **i >= n).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && unexpected.is_empty() && other.is_empty(),
        "{stage}: {} lines missing (first {:?}), {} stored more than once (first {:?}), \
         {} unexpected, other events: {:?}",
        missing.len(),
        &missing[..missing.len().min(20)],
        twice.len(),
        &twice[..twice.len().min(20)],
        unexpected.len(),
        &other[..other.len().min(5)]
    );
}

#[test]
fn kill_9_while_writing_and_restart_count_every_line_exactly_once() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").expect("create log");
    let config = write_config(dir.path(), &source_toml("web", &[&log], "access"));
    let mut rng = Rng::from_clock("kill -9 test");

    let mut server = Server::start(&config, 0);
    // The writer: bursts of whole lines, often ending in half a line finished by the next burst.
    let written = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, done, log) = (Arc::clone(&written), Arc::clone(&done), log.clone());
        let mut rng = Rng(rng.below(u64::MAX) | 1);
        std::thread::spawn(move || {
            let mut f = OpenOptions::new().append(true).open(&log).expect("open");
            let mut next = 0usize;
            let mut carry = String::new();
            while next < N {
                let burst = 20 + rng.below(180) as usize;
                let end = (next + burst).min(N);
                let mut text = std::mem::take(&mut carry);
                text.extend((next..end).map(item_line));
                if end < N && rng.below(2) == 0 {
                    // Hold back the tail of the last line.
                    let cut = text.len() - 1 - rng.below(40) as usize;
                    carry = text.split_off(cut);
                }
                f.write_all(text.as_bytes()).expect("write");
                f.flush().expect("flush");
                next = end;
                written.store(next, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10 + rng.below(30)));
            }
            f.write_all(carry.as_bytes()).expect("write");
            done.store(true, Ordering::SeqCst);
        })
    };

    // Two crashes at random points while the writer runs, each followed by a restart.
    let mut kills = Vec::new();
    for (run, share) in [(1usize, 20 + rng.below(25)), (2, 55 + rng.below(25))] {
        let at = N * share as usize / 100;
        // The process to kill has committed lines (and checkpoints) of its own.
        let api = server.login();
        wait_for(30, "the server to store lines before it is killed", || {
            let page = api.get("/api/events", &[("source", "web"), ("limit", "1")]);
            (!page["items"].as_array()?.is_empty()).then_some(())
        });
        wait_for(120, "the writer to get there", || {
            (written.load(Ordering::SeqCst) >= at).then_some(())
        });
        kills.push(written.load(Ordering::SeqCst));
        server.kill9();
        server = Server::start(&config, run);
    }
    writer.join().expect("writer");
    assert!(done.load(Ordering::SeqCst));
    eprintln!("killed with SIGKILL after {kills:?} lines had been written");
    assert!(
        kills.iter().all(|k| *k < N),
        "both kills must happen while the writer runs: {kills:?}"
    );

    let api = server.login();
    assert_exactly_once(&api, "web", N, "after two kill -9 and restarts");
    // The crashes left nothing for the new process to report as an error.
    let sources = api.get("/api/sources", &[]);
    let web = sources
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "web"))
        .expect("source web");
    assert_eq!(web["unparsed"], 0, "{web}");
    assert!(web["last_error"].is_null(), "{web}");
}

fn gzip_file(from: &Path, to: &Path) {
    let data = std::fs::read(from).expect("read file to compress");
    let mut gz = flate2::write::GzEncoder::new(
        File::create(to).expect("create .gz"),
        flate2::Compression::default(),
    );
    gz.write_all(&data).expect("compress");
    gz.finish().expect("finish gzip");
    std::fs::remove_file(from).expect("remove the compressed original");
}

#[test]
fn rotation_by_rename_copytruncate_and_gzip_while_down_counts_each_line_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = d.join("app.log");
    let at = |name: &str| d.join(name);
    std::fs::write(&log, "").expect("create log");
    let glob = d.join("app.log*");
    let config = write_config(d, &source_toml("web", &[&glob], "access"));
    let server = Server::start(&config, 0);
    let api = server.login();

    // Live, before any rotation.
    for chunk in (0..2000).step_by(250) {
        append_items(&log, chunk..chunk + 250);
    }

    // Rename rotation: lines written just before the rename may not have been read yet.
    append_items(&log, 2000..2500);
    std::fs::rename(&log, at("app.log.1")).expect("mv app.log app.log.1");
    std::fs::write(&log, "").expect("new app.log");
    append_items(&log, 2500..4000);
    assert_exactly_once(&api, "web", 4000, "after a rename rotation");

    // Copytruncate (logrotate's order: shift the old files, copy, truncate in place).
    append_items(&log, 4000..4500);
    std::fs::rename(at("app.log.1"), at("app.log.2")).expect("mv app.log.1 app.log.2");
    std::fs::copy(&log, at("app.log.1")).expect("cp app.log app.log.1");
    OpenOptions::new()
        .write(true)
        .open(&log)
        .and_then(|f| f.set_len(0))
        .expect("truncate app.log");
    append_items(&log, 4500..5000);
    assert_exactly_once(&api, "web", 5000, "after a copytruncate rotation");

    // Crash; while down, more lines arrive and a compressing rotation runs:
    // app.log.2 → app.log.3.gz, app.log.1 → app.log.2, app.log (with unread lines)
    // → app.log.1 → app.log.1.gz, and a new app.log.
    server.kill9();
    append_items(&log, 5000..5600);
    gzip_file(&at("app.log.2"), &at("app.log.3.gz"));
    std::fs::rename(at("app.log.1"), at("app.log.2")).expect("mv app.log.1 app.log.2");
    std::fs::rename(&log, at("app.log.1")).expect("mv app.log app.log.1");
    gzip_file(&at("app.log.1"), &at("app.log.1.gz"));
    append_items(&log, 5600..6000);

    let server = Server::start(&config, 1);
    let api = server.login();
    assert_exactly_once(
        &api,
        "web",
        6000,
        "after a restart that found a gzip-compressed rotation with unread lines",
    );
    drop(server);
}

// ---- analyze and serve agree ------------------------------------------------------

type AlertSums = BTreeMap<(String, String), u64>;

fn attacker(alert: &Value) -> String {
    match (alert["source_ip"].as_str(), alert["user"].as_str()) {
        (Some(ip), _) => format!("ip {ip}"),
        (None, Some(user)) => format!("user {user}"),
        (None, None) => "none".into(),
    }
}

fn sum_alerts<'a>(alerts: impl IntoIterator<Item = &'a Value>) -> AlertSums {
    let mut sums = AlertSums::new();
    for a in alerts {
        let rule = a["rule_id"].as_str().expect("rule_id").to_string();
        *sums.entry((rule, attacker(a))).or_insert(0) += a["count"].as_u64().expect("count");
    }
    sums
}

fn diff(a: &AlertSums, b: &AlertSums) -> Vec<String> {
    let mut keys: Vec<&(String, String)> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k:?}: analyze {:?}, serve {:?}", a.get(k), b.get(k)))
        .collect()
}

#[test]
fn analyze_and_serve_raise_the_same_alerts_for_the_same_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let start = rfc3339(now_ms() - 3_600_000);
    let mut files = Vec::new();
    for format in ["access", "syslog", "json"] {
        let path = d.join(format!("{format}.log"));
        let out = secmo()
            .args([
                "generate", "--format", format, "--lines", "20000", "--seed", "7", "--start",
            ])
            .arg(&start)
            .stdout(Stdio::from(File::create(&path).expect("create log")))
            .stderr(Stdio::piped())
            .output()
            .expect("secmo generate");
        assert!(
            out.status.success(),
            "generate {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        files.push((format, path));
    }

    let mut expected: BTreeMap<&str, AlertSums> = BTreeMap::new();
    for (format, path) in &files {
        let out = secmo()
            .args(["analyze", "--format", "json"])
            .arg(path)
            .output()
            .expect("secmo analyze");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "analyze {format}: no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let sums = sum_alerts(report["alerts"].as_array().expect("alerts"));
        assert!(!sums.is_empty(), "analyze found no alert in {format}");
        expected.insert(format, sums);
    }

    let sources: String = files.iter().map(|(f, p)| source_toml(f, &[p], f)).collect();
    let config = write_config(d, &sources);
    let server = Server::start(&config, 0);
    let api = server.login();
    for (format, path) in &files {
        let size = std::fs::metadata(path).expect("stat").len();
        wait_for(60, &format!("{format} to be read to its end"), || {
            let all = api.get("/api/sources", &[]);
            let src = all.as_array()?.iter().find(|s| s["name"] == *format)?;
            let offset: u64 = src["files"]
                .as_array()?
                .iter()
                .filter_map(|f| f["offset"].as_u64())
                .sum();
            (offset == size && src["lag_bytes"] == 0).then_some(())
        });
    }
    let alerts = api.all_pages("/api/alerts", &[]);
    let mut failures = Vec::new();
    for (format, want) in &expected {
        let got = sum_alerts(alerts.iter().filter(|a| a["source"] == *format));
        let d = diff(want, &got);
        if !d.is_empty() {
            failures.push(format!(
                "{format}: {} of {} (rule, attacker) groups differ:\n  {}",
                d.len(),
                want.len().max(got.len()),
                d.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "secmo analyze and secmo serve disagree:\n{}",
        failures.join("\n")
    );
}

// ---- configuration errors ----------------------------------------------------------

/// Run `secmo serve --config <file>` and wait (at most 20 s) for it to exit.
fn serve_with_config(dir: &Path, config: &Path) -> (ExitStatus, String) {
    let stderr = dir.join("config-test.stderr");
    let mut child = secmo()
        .args(["serve", "--config"])
        .arg(config)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&stderr).expect("stderr file")))
        .spawn()
        .expect("start secmo serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "secmo serve --config {} did not exit within 20 s:\n{}",
                config.display(),
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, std::fs::read_to_string(&stderr).unwrap_or_default())
}

#[test]
fn invalid_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = d.join("web.log");
    std::fs::write(&log, "").expect("log");
    let source = source_toml("web", &[&log], "access");
    for (text, key) in [
        ("[incidents]\nwindow = \"soon\"\n", "incidents.window"),
        ("[retention]\nmax_age_dayz = 3\n", "max_age_dayz"),
        ("upload_limit_mb = 0\n", "upload_limit_mb"),
        (
            "[[blocking.policies]]\nmin_severity = \"high\"\nduration = \"a while\"\n",
            "blocking.policies[0].duration",
        ),
    ] {
        let config = write_config(d, &format!("{source}\n{text}"));
        let (status, stderr) = serve_with_config(d, &config);
        assert_eq!(
            status.code(),
            Some(2),
            "{text:?}: {status}; stderr: {stderr}"
        );
        assert!(
            stderr.contains(key),
            "{text:?}: stderr must name {key}: {stderr}"
        );
    }
    let config = write_config(
        d,
        "\n[[sources]]\nname = \"web\"\npaths = [\"/x\"]\nformat = \"apache2\"\n",
    );
    let (status, stderr) = serve_with_config(d, &config);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sources[0].format"), "{stderr}");

    let missing = d.join("no-such-secmo.toml");
    let (status, stderr) = serve_with_config(d, &missing);
    assert!(
        !status.success(),
        "a missing config file must fail: {stderr}"
    );
    assert!(
        stderr.contains("no-such-secmo.toml") && stderr.contains("cannot read"),
        "the message must say which file cannot be read: {stderr}"
    );
    assert!(
        !d.join("data").exists(),
        "an invalid configuration must not create the data directory"
    );
}

// ---- demo ---------------------------------------------------------------------------

#[test]
fn demo_shows_incidents_within_seconds_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::spawn(
        &[
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data.display().to_string(),
        ],
        dir.path(),
        dir.path().join("demo.stderr"),
    );
    let api = server.login();
    let incidents = wait_for(20, "the demo's first incident", || {
        let v = api.get("/api/incidents", &[]);
        let items = v["items"].as_array()?.clone();
        (!items.is_empty()).then_some(items)
    });
    assert!(
        incidents[0]["rule_id"].as_str().is_some(),
        "{:?}",
        incidents[0]
    );
    let events = wait_for(20, "demo events in /api/stats", || {
        let v = api.get("/api/stats", &[]);
        v["events"].as_u64().filter(|n| *n > 0)
    });
    assert!(events > 0);

    // Graceful shutdown on SIGTERM, exit code 0.
    let mut server = server;
    let pid = server.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "secmo serve --demo did not stop within 10 s of SIGTERM:\n{}",
            server.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        server.stderr_text()
    );
}

// ---- upload analysis ------------------------------------------------------------------

const SQLI: &str = "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--";
const XSS: &str = "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E";
const TRAVERSAL: &str = "/download?file=../../../../etc/passwd";

fn attack_log() -> String {
    let mut text = String::new();
    text.push_str(&access_line("198.51.100.1", "/index.html", 200));
    text.push_str(&access_line("203.0.113.7", SQLI, 200));
    text.push_str(&access_line("203.0.113.8", XSS, 200));
    text.push_str(&access_line("203.0.113.9", TRAVERSAL, 200));
    text
}

#[test]
fn upload_analysis_reports_keeps_on_request_and_refuses_large_bodies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("web.log");
    std::fs::write(&log, "").expect("log");
    let config = write_config(
        dir.path(),
        &format!(
            "upload_limit_mb = 1\n{}",
            source_toml("web", &[&log], "access")
        ),
    );
    let server = Server::start(&config, 0);
    let api = server.login();
    let want = [
        ("web-sqli", "203.0.113.7"),
        ("web-xss", "203.0.113.8"),
        ("web-path-traversal", "203.0.113.9"),
    ];

    let resp = api.post_multipart("/api/analyze", "attack.log", attack_log().as_bytes());
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().expect("JSON report");
    assert_eq!(report["kept"], false, "{report}");
    assert_eq!(report["incident_ids"], json!([]), "{report}");
    let alerts = report["alerts"].as_array().expect("alerts");
    for (rule, ip) in want {
        assert!(
            alerts
                .iter()
                .any(|a| a["rule_id"] == rule && a["source_ip"] == ip),
            "no {rule} alert for {ip}: {report}"
        );
    }
    let listed = api.all_pages("/api/incidents", &[]);
    assert!(
        listed.is_empty(),
        "an analysis that was not kept must not create incidents: {listed:?}"
    );

    let resp = api.post_multipart(
        "/api/analyze?keep=true",
        "attack.log",
        attack_log().as_bytes(),
    );
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().expect("JSON report");
    assert_eq!(report["kept"], true, "{report}");
    let ids: Vec<i64> = report["incident_ids"]
        .as_array()
        .expect("incident_ids")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert!(ids.len() >= want.len(), "{report}");
    let listed = api.all_pages("/api/incidents", &[]);
    for id in &ids {
        assert!(
            listed.iter().any(|i| i["id"] == *id),
            "kept incident {id} is not in /api/incidents: {listed:?}"
        );
    }
    for (rule, ip) in want {
        assert!(
            listed.iter().any(|i| i["rule_id"] == rule
                && i["source_ip"] == ip
                && ids.contains(&i["id"].as_i64().unwrap_or(-1))),
            "no kept {rule} incident for {ip}: {listed:?}"
        );
    }

    // Over the 1 MiB limit.
    let mut big = String::new();
    while big.len() < 2 << 20 {
        big.push_str(&access_line("198.51.100.2", "/index.html", 200));
    }
    let resp = api.post_multipart("/api/analyze", "big.log", big.as_bytes());
    assert_eq!(resp.status(), 413, "{:?}", resp.text());
}

// ---- live stream ----------------------------------------------------------------------

#[test]
fn the_event_stream_announces_a_new_incident() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("web.log");
    std::fs::write(&log, "").expect("log");
    let config = write_config(dir.path(), &source_toml("web", &[&log], "access"));
    let server = Server::start(&config, 0);
    let api = server.login();

    let resp = api
        .client
        .get(format!("{}/api/stream", api.base))
        .header("accept", "text/event-stream")
        .send()
        .expect("open /api/stream");
    assert_eq!(resp.status(), 200);
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");

    append(&log, &access_line("203.0.113.77", SQLI, 200));
    let deadline = Instant::now() + Duration::from_secs(10);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(resp);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line.trim_end().to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut seen = Vec::new();
    let mut in_incident = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(_) => panic!(
                "no `event: incident` within 10 s; the stream said: {:?}",
                seen.iter()
                    .map(|l: &String| l.chars().take(120).collect::<String>())
                    .collect::<Vec<_>>()
            ),
        };
        if line == "event: incident" {
            in_incident = true;
        } else if in_incident && let Some(data) = line.strip_prefix("data:") {
            let msg: Value = serde_json::from_str(data.trim()).expect("incident data is JSON");
            let touch = &msg["data"];
            if touch["rule_id"] == "web-sqli" && touch["source_ip"] == "203.0.113.77" {
                assert!(touch["incident_id"].as_i64().is_some(), "{msg}");
                break;
            }
            in_incident = false;
        }
        seen.push(line);
    }
}
