//! `secmo report` end to end: from log files to HTML/PDF/JSON/CSV files, by
//! e-mail through a real SMTP server on loopback, and from the store a
//! `secmo serve` filled.

use secmo_notify::testing::SmtpSink;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn secmo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secmo"));
    cmd.env_remove("SECMO_LOG")
        .env("SECMO_ADMIN_PASSWORD", "report-test-password-1")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run secmo")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// 3000 generated access-log lines with attacks, stamped from two hours ago.
fn attack_log(dir: &Path) -> std::path::PathBuf {
    let start_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        - 7_200;
    let start = jiff::Timestamp::from_second(start_s as i64)
        .expect("timestamp")
        .to_string();
    let out = run(secmo().args([
        "generate",
        "--lines",
        "3000",
        "--attack-share",
        "0.2",
        "--start",
        &start,
    ]));
    assert!(
        out.status.success(),
        "generate failed: {}",
        text(&out.stderr)
    );
    let path = dir.join("access.log");
    std::fs::write(&path, &out.stdout).expect("write log");
    path
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!("pdftotext is needed for this test ({e}): apt-get install -y poppler-utils")
        });
    assert!(
        out.status.success(),
        "pdftotext refused the PDF: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn report_from_files_in_every_format_and_language() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = attack_log(dir.path());
    let log_s = log.display().to_string();

    let json_path = dir.path().join("r.json");
    let out = run(secmo()
        .args(["report", "--input", &log_s, "--out"])
        .arg(&json_path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&std::fs::read(&json_path).expect("json written"))
        .expect("valid JSON");
    let anomalies = json["anomalies_detected"]
        .as_array()
        .expect("anomalies_detected[]");
    assert!(
        !anomalies.is_empty(),
        "the generated attacks are reported: {json}"
    );
    for a in anomalies {
        for key in ["type", "severity", "description", "recommendation"] {
            assert!(a[key].is_string(), "{key} in {a}");
        }
    }
    assert!(
        ["low", "medium", "high", "critical"]
            .contains(&json["threat_level"].as_str().unwrap_or("")),
        "{}",
        json["threat_level"]
    );
    let title = anomalies[0]["title"].as_str().expect("title").to_owned();

    let pdf_path = dir.path().join("r.pdf");
    let out = run(secmo()
        .args(["report", "--input", &log_s, "--lang", "de", "--out"])
        .arg(&pdf_path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pdf = pdftotext(&pdf_path);
    assert!(
        pdf.contains(&title),
        "the PDF holds the incident {title:?}:\n{pdf}"
    );

    let html_path = dir.path().join("r.html");
    let out = run(secmo()
        .args(["report", "--input", &log_s, "--lang", "es", "--out"])
        .arg(&html_path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&html_path).expect("html");
    assert!(
        html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
        "{}",
        &html[..80.min(html.len())]
    );
    assert!(html.contains("lang=\"es\""), "Spanish document");
    assert!(
        html.contains("data:image/png;base64,"),
        "charts embedded in the file"
    );
    assert!(!html.contains("<script"), "no scripts in a report");

    let out = run(secmo().args(["report", "--input", &log_s, "--format", "csv"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.lines().count() > 1, "a header and rows: {csv}");
    assert!(
        csv.lines().next().unwrap_or("").contains("rule_id"),
        "{csv}"
    );

    // Usage errors: exit 2 for a bad language; an unknown extension is refused.
    let out = run(secmo().args(["report", "--input", &log_s, "--lang", "tlh"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(secmo()
        .args(["report", "--input", &log_s, "--out"])
        .arg(dir.path().join("r.docx")));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("extension"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn report_by_email_through_a_real_smtp_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = attack_log(dir.path());
    let mut sink = SmtpSink::start();
    let config = dir.path().join("secmo.toml");
    std::fs::write(
        &config,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"secmo <secmo@example.com>\"\n",
            sink.port()
        ),
    )
    .expect("config");
    let out = run(secmo()
        .args(["report", "--config"])
        .arg(&config)
        .args(["--input"])
        .arg(&log)
        .args([
            "--to",
            "ops@example.com",
            "--to",
            "cto@example.com",
            "--lang",
            "de",
        ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mails = sink.wait_for(2, Duration::from_secs(20));
    assert_eq!(mails.len(), 2, "one message per recipient");
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, vec!["cto@example.com", "ops@example.com"]);
    let raw = &mails[0].data;
    assert!(raw.contains("multipart/alternative"), "text and HTML parts");
    assert!(raw.contains("text/plain") && raw.contains("text/html"));
    assert!(raw.contains("application/pdf"), "the PDF is attached");
    assert!(raw.contains("image/png"), "charts as inline images");

    // The SMTP server gone: a clear error and a failing exit status.
    sink.stop();
    let out = run(secmo()
        .args(["report", "--config"])
        .arg(&config)
        .args(["--input"])
        .arg(&log)
        .args(["--to", "ops@example.com"]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot send to ops@example.com") && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn report_from_the_store_of_secmo_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No database yet: a clear error.
    let out = run(secmo()
        .args(["report", "--data-dir"])
        .arg(dir.path().join("none")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no secmo database"),
        "{}",
        text(&out.stderr)
    );

    let log = attack_log(dir.path());
    let config = dir.path().join("secmo.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[[sources]]\nname = \"web\"\npaths = [{:?}]\nformat = \"access\"\n",
            dir.path().join("data").display().to_string(),
            log.display().to_string()
        ),
    )
    .expect("config");
    let stderr_path = dir.path().join("serve.stderr");
    let mut child = secmo()
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("start serve");
    // Wait until the whole log is stored (the source's lines reach 3000).
    let deadline = Instant::now() + Duration::from_secs(60);
    let report_json = dir.path().join("store.json");
    let doc = loop {
        assert!(
            Instant::now() < deadline,
            "no incidents: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
        let out = run(secmo()
            .args(["report", "--config"])
            .arg(&config)
            .args(["--since", "1d", "--out"])
            .arg(&report_json));
        if !out.status.success() {
            continue;
        }
        assert!(
            text(&out.stderr).contains("stored"),
            "{}",
            text(&out.stderr)
        );
        let doc: Value =
            serde_json::from_slice(&std::fs::read(&report_json).expect("json")).expect("JSON");
        if doc["anomalies_detected"]
            .as_array()
            .is_some_and(|a| a.len() >= 3)
        {
            break doc;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        doc["report"]["id"].is_i64(),
        "stored reports have an id: {}",
        doc["report"]
    );
    assert!(
        doc["anomalies_detected"][0]["status"].is_string(),
        "incidents carry their workflow status"
    );
    assert!(doc["summary"]["events"].as_u64().unwrap_or(0) > 0);
}
