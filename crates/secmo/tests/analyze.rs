//! End-to-end tests of the `secmo` binary: generate labelled logs, analyse them,
//! and check what a user would see.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn secmo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_secmo"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the secmo binary runs")
}

fn generate(dir: &Path, format: &str, lines: u64, seed: u64, benign: bool) -> (PathBuf, PathBuf) {
    let log = dir.join(format!("{format}-{seed}.log"));
    let labels = dir.join(format!("{format}-{seed}.tsv"));
    let mut cmd = secmo();
    cmd.args([
        "generate",
        "--format",
        format,
        "--lines",
        &lines.to_string(),
        "--seed",
        &seed.to_string(),
    ])
    .arg("--labels")
    .arg(&labels)
    .stdout(Stdio::from(
        std::fs::File::create(&log).expect("create log"),
    ));
    if benign {
        cmd.arg("--benign");
    }
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (log, labels)
}

fn analyze_json(args: &[&str]) -> (Value, Output) {
    let out = run(secmo()
        .arg("analyze")
        .arg("--format")
        .arg("json")
        .args(args));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "analyze printed no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out)
}

/// category -> attacker IPs, from a labels file (`line\tcategory\tattacker_ip\tuser`).
fn labelled_attackers(labels: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(labels).expect("labels file");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 3 {
            out.entry(cols[1].to_string())
                .or_default()
                .insert(cols[2].to_string());
        }
    }
    out
}

fn alerts(report: &Value) -> &Vec<Value> {
    report["alerts"].as_array().expect("alerts array")
}

/// Every injected attacker is found in its category.
fn assert_every_attacker_found(format: &str, lines: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, labels) = generate(dir.path(), format, lines, 11, false);
    let (report, out) = analyze_json(&[log.to_str().expect("utf-8 path")]);
    assert!(out.status.success());
    let expected = labelled_attackers(&labels);
    assert!(
        !expected.is_empty(),
        "the generator injected no attacks in {format}"
    );
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in alerts(&report) {
        let cat = a["category"].as_str().unwrap_or_default().to_string();
        let entry = found.entry(cat).or_default();
        for who in [a["source_ip"].as_str(), a["user"].as_str()]
            .into_iter()
            .flatten()
        {
            entry.insert(who.to_string());
        }
    }
    let mut missing = Vec::new();
    for (cat, ips) in &expected {
        for ip in ips {
            // "-" labels a whole-traffic anomaly (a spike): no attacker, only the category.
            let hit = found.get(cat).is_some_and(|f| ip == "-" || f.contains(ip));
            if !hit {
                missing.push(format!("{cat}:{ip}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{format}: attackers not found in their category: {missing:?}\nfound: {found:?}"
    );
    assert_eq!(
        report["inputs"][0]["unparsed"], 0,
        "{format}: generated lines all parse"
    );
}

#[test]
fn every_injected_access_log_attacker_is_found() {
    assert_every_attacker_found("access", 100_000);
}

#[test]
fn every_injected_auth_log_attacker_is_found() {
    assert_every_attacker_found("syslog", 30_000);
}

#[test]
fn every_injected_app_log_attacker_is_found() {
    assert_every_attacker_found("json", 30_000);
}

#[test]
fn every_injected_database_attacker_is_found() {
    assert_every_attacker_found("mysql", 10_000);
    assert_every_attacker_found("postgres", 10_000);
}

#[test]
fn every_injected_csv_attacker_is_found() {
    assert_every_attacker_found("csv", 20_000);
}

#[test]
fn benign_traffic_raises_nothing_above_low() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, labels) = generate(dir.path(), "access", 100_000, 5, true);
    assert!(
        labelled_attackers(&labels).is_empty(),
        "benign mode labels no line"
    );
    let (report, _) = analyze_json(&[log.to_str().expect("utf-8 path")]);
    let loud: Vec<String> = alerts(&report)
        .iter()
        .filter(|a| !matches!(a["severity"].as_str(), Some("info" | "low")))
        .map(|a| format!("{} {} x{}", a["rule_id"], a["source_ip"], a["count"]))
        .collect();
    assert!(loud.is_empty(), "benign traffic raised: {loud:?}");
    assert_eq!(report["inputs"][0]["lines"], 100_000);
    assert_eq!(report["inputs"][0]["parsed"], 100_000);
}

#[test]
fn fail_on_sets_exit_code_three() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = generate(dir.path(), "access", 20_000, 3, false);
    let out = run(secmo()
        .args(["analyze", "--format", "json", "--fail-on", "high"])
        .arg(&log));
    assert_eq!(out.status.code(), Some(3), "high alerts present");
    let (benign, _) = generate(dir.path(), "access", 5_000, 4, true);
    let out = run(secmo()
        .args(["analyze", "--format", "json", "--fail-on", "high"])
        .arg(&benign));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn stdin_and_file_give_the_same_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = generate(dir.path(), "access", 20_000, 8, false);
    let (from_file, _) = analyze_json(&[log.to_str().expect("utf-8 path")]);
    let mut child = secmo()
        .args(["analyze", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let data = std::fs::read(&log).expect("read log");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&data)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let from_stdin: Value = serde_json::from_slice(&out.stdout).expect("json");
    let key = |r: &Value| -> Vec<(String, String, u64)> {
        alerts(r)
            .iter()
            .map(|a| {
                (
                    a["rule_id"].as_str().unwrap_or_default().to_string(),
                    a["source_ip"].to_string(),
                    a["count"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    assert!(!key(&from_file).is_empty());
    assert_eq!(key(&from_file), key(&from_stdin));
}

#[test]
fn json_report_has_the_documented_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = generate(dir.path(), "access", 10_000, 9, false);
    let (report, _) = analyze_json(&[log.to_str().expect("utf-8 path"), "--matches"]);
    for key in ["threat_level", "alerts", "analytics", "inputs", "matches"] {
        assert!(report.get(key).is_some(), "missing top-level key {key}");
    }
    let a = &alerts(&report)[0];
    for key in [
        "rule_id",
        "title",
        "category",
        "severity",
        "source_ip",
        "user",
        "first_seen",
        "last_seen",
        "count",
        "evidence",
        "recommendation",
    ] {
        assert!(a.get(key).is_some(), "alert lacks {key}: {a}");
    }
    let ev = &a["evidence"][0];
    assert!(ev["file"].as_str().is_some_and(|f| f.ends_with(".log")));
    assert!(ev["line"].as_u64().is_some_and(|l| l >= 1));
    assert!(
        a["first_seen"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.contains('T'))
    );
    let m = &report["matches"][0];
    for key in ["file", "line", "rule_ids", "categories", "source_ip"] {
        assert!(m.get(key).is_some(), "match record lacks {key}");
    }
}

#[test]
fn ndjson_matches_stream_one_record_per_flagged_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, labels) = generate(dir.path(), "access", 20_000, 12, false);
    let out = run(secmo()
        .args(["analyze", "--format", "ndjson", "--matches"])
        .arg(&log));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut flagged = BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("every line is JSON");
        if let Some(n) = v.get("line").and_then(Value::as_u64) {
            flagged.insert(n);
        }
    }
    // Signature attacks are flagged line by line: most labelled lines appear.
    let labelled: BTreeSet<u64> = std::fs::read_to_string(&labels)
        .expect("labels")
        .lines()
        .skip(1)
        .filter(|l| {
            l.contains("\tsqli\t") || l.contains("\txss\t") || l.contains("\tpath_traversal\t")
        })
        .filter_map(|l| l.split('\t').next()?.parse().ok())
        .collect();
    assert!(!labelled.is_empty());
    let seen = labelled.intersection(&flagged).count();
    assert!(
        seen * 100 >= labelled.len() * 95,
        "only {seen} of {} labelled web-attack lines were streamed as matches",
        labelled.len()
    );
}

#[test]
fn bad_inputs_are_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A truncated gzip: the lines before the cut are analysed, the error is shown.
    let (log, _) = generate(dir.path(), "access", 5_000, 2, false);
    let data = std::fs::read(&log).expect("read");
    let mut gz = flate2_gzip(&data);
    gz.truncate(gz.len() / 2);
    let cut = dir.path().join("access.log.1.gz");
    std::fs::write(&cut, &gz).expect("write gz");
    // A 10 MB line between two good lines.
    let huge = dir.path().join("huge.log");
    let mut f = std::fs::File::create(&huge).expect("create");
    let good = "203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8.0\"\n";
    f.write_all(good.as_bytes()).expect("write");
    f.write_all(&vec![b'A'; 10 << 20]).expect("write");
    f.write_all(b"\n").expect("write");
    f.write_all(good.as_bytes()).expect("write");
    drop(f);
    // Binary garbage.
    let junk = dir.path().join("junk.bin");
    std::fs::write(
        &junk,
        (0..65_536u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("write junk");

    let (report, out) = analyze_json(&[
        cut.to_str().unwrap_or_default(),
        huge.to_str().unwrap_or_default(),
        junk.to_str().unwrap_or_default(),
    ]);
    assert!(
        out.status.success(),
        "bad inputs do not fail the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inputs = report["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 3);
    let gz_in = &inputs[0];
    assert!(
        gz_in["error"].as_str().is_some_and(|e| !e.is_empty()),
        "truncated gzip is reported: {gz_in}"
    );
    assert!(
        gz_in["parsed"].as_u64().is_some_and(|n| n > 100),
        "lines before the cut are analysed"
    );
    let huge_in = &inputs[1];
    assert_eq!(huge_in["parsed"], 2);
    assert_eq!(huge_in["unparsed"], 1);
    assert!(
        huge_in["unparsed_samples"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("long"))
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("access.log.1.gz"),
        "the read error also goes to stderr"
    );
}

fn flate2_gzip(data: &[u8]) -> Vec<u8> {
    // The binary's own dependency tree has flate2; the test shells out to gzip to stay independent.
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    let mut stdin = child.stdin.take().expect("stdin");
    let owned = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&owned));
    let out = child.wait_with_output().expect("gzip output");
    let _ = writer.join();
    out.stdout
}

#[test]
fn rotated_set_is_read_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = |sec: u32| {
        format!(
            "198.51.100.7 - - [10/Oct/2024:13:55:{sec:02} +0000] \"GET /p{sec} HTTP/1.1\" 200 1 \"-\" \"x\"\n"
        )
    };
    std::fs::write(dir.path().join("access.log.2"), line(1)).expect("write");
    std::fs::write(dir.path().join("access.log.1"), line(2)).expect("write");
    std::fs::write(dir.path().join("access.log"), line(3)).expect("write");
    let pattern = format!("{}/access.log*", dir.path().display());
    let (report, _) = analyze_json(&[&pattern]);
    let files: Vec<String> = report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            i["file"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(files, ["access.log.2", "access.log.1", "access.log"]);
    assert_eq!(report["period_start"], "2024-10-10T13:55:01Z");
    assert_eq!(report["period_end"], "2024-10-10T13:55:03Z");
}

#[test]
fn text_output_is_readable_and_piped_output_has_no_progress_or_colour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = generate(dir.path(), "access", 20_000, 13, false);
    let out = run(secmo().arg("analyze").arg(&log));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\u{1b}'), "no escape codes when piped");
    let lower = text.to_lowercase();
    for needle in ["threat level", "recommendation", "sqli", "top"] {
        assert!(lower.contains(needle), "text output lacks {needle:?}");
    }
    assert!(
        out.stderr.is_empty(),
        "nothing on stderr for a clean piped run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_rules_add_and_override() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(
        rules.join("custom.yml"),
        "id: custom-admin-probe\ntitle: Admin console probe\ncategory: scanner\nseverity: critical\nkinds: [http]\n\
         detection:\n  sel:\n    url.path|startswith: /secret-admin\n  condition: sel\n",
    )
    .expect("write rule");
    let log = dir.path().join("a.log");
    std::fs::write(
        &log,
        "192.0.2.44 - - [10/Oct/2024:13:55:36 +0000] \"GET /secret-admin/x HTTP/1.1\" 404 1 \"-\" \"x\"\n",
    )
    .expect("write log");
    let (report, _) = analyze_json(&[
        "--rules",
        rules.to_str().unwrap_or_default(),
        log.to_str().unwrap_or_default(),
    ]);
    assert_eq!(report["threat_level"], "critical");
    assert_eq!(alerts(&report)[0]["rule_id"], "custom-admin-probe");
    assert_eq!(alerts(&report)[0]["source_ip"], "192.0.2.44");

    std::fs::write(rules.join("broken.yml"), "id: [unclosed").expect("write");
    let out = run(secmo().args(["analyze", "--rules"]).arg(&rules).arg(&log));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.yml"),
        "the error names the bad file"
    );
}

#[test]
fn generate_follow_appends_live_lines_stamped_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("live.log");
    std::fs::write(&log, "").expect("create");
    let mut child = secmo()
        .args([
            "generate", "--format", "access", "--rate", "200", "--follow",
        ])
        .arg(&log)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn generate --follow");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).expect("read live log");
    let lines = text.lines().count();
    assert!(
        (100..=600).contains(&lines),
        "about 200 lines/s for 1.5 s, got {lines}"
    );
    assert!(text.ends_with('\n'), "only whole lines are appended");
    // The lines carry the wall clock: the analysed period ends within a minute of now.
    let (report, _) = analyze_json(&[log.to_str().expect("utf-8 path")]);
    let end = report["period_end"].as_str().expect("period_end");
    let (end_ms, _) = secmo_event::parse_rfc3339(end).expect("RFC 3339");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    assert!(
        (now_ms - end_ms).abs() < 60_000,
        "last line stamped {end}, not now"
    );
    assert_eq!(report["inputs"][0]["unparsed"], 0);
}
