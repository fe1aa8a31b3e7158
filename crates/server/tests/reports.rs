//! Reports and notifications end to end: a real server on loopback, a real
//! SMTP server ([`SmtpSink`]) and real HTTP receivers ([`HttpSink`]) standing
//! in for Slack, Telegram and a webhook; nothing mocked. The scheduler is
//! driven directly against a real SQLite store with synthetic clock values.

mod common;

use common::*;
use mail_parser::{MessageParser, MimeHeaders};
use secmo_notify::testing::{HttpReply, HttpSink, RecordedRequest, SmtpSink, mime_tree};
use secmo_notify::{OutboundMessage, verify_signature};
use secmo_report::{Lang, ReportDoc};
use secmo_server::config::{
    Config, Recipient, ReportsConfig, SlackConfig, SmtpConfig, SourceConfig, TelegramConfig,
    WebhookConfig,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SQLI: &str = "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--";
const SQLI_TITLE: &str = "SQL injection attempt in the request";
const UA: &str = "Mozilla/5.0";

/// A server watching `web.log` (created empty), configured further by `configure`.
fn server_with_log(configure: impl FnOnce(&mut Config, &Path)) -> (TestServer, PathBuf) {
    let mut log = PathBuf::new();
    let server = TestServer::start(|cfg, dir| {
        log = dir.join("web.log");
        std::fs::write(&log, "").expect("create log");
        cfg.sources.push(SourceConfig {
            name: "web".into(),
            paths: vec![log.display().to_string()],
            format: Some("access".into()),
        });
        configure(cfg, dir);
    });
    (server, log)
}

fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: "none".into(),
        username: None,
        password: None,
        from: "secmo <secmo@example.com>".into(),
        timeout: "10s".into(),
        accept_invalid_certs: false,
    }
}

/// Append a harmless line and wait until it is stored: the tailer is
/// reading the file (it starts at the end, so earlier lines could be missed).
fn wait_until_tailing(admin: &Api, log: &Path) {
    append(log, &access_line("198.51.100.1", "GET", "/ready", 200, UA));
    wait_for(20, "the first line to be ingested", || {
        let v = admin.get_json("/api/events?ip=198.51.100.1");
        v["items"].as_array()?.first().cloned()
    });
}

fn incidents_for(api: &Api, ip: &str) -> Vec<Value> {
    let v = api.get_json(&format!("/api/incidents?ip={ip}"));
    v["items"].as_array().cloned().unwrap_or_default()
}

fn wait_incident(api: &Api, ip: &str, rule: &str) -> Value {
    wait_for(20, &format!("the {rule} incident of {ip}"), || {
        incidents_for(api, ip)
            .into_iter()
            .find(|i| i["rule_id"] == rule)
    })
}

fn outbox(api: &Api) -> Vec<Value> {
    let v = api.get_json("/api/notifications/outbox?limit=200");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn outbox_entry(api: &Api, id: i64) -> Value {
    outbox(api)
        .into_iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("outbox entry {id} not listed"))
}

fn report_meta(api: &Api, id: i64) -> Value {
    let v = api.get_json("/api/reports");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("report {id} not listed: {v}"))
}

fn post_ok(api: &Api, path: &str, body: &Value) -> Value {
    let r = api.post(path, body);
    let status = r.status();
    let text = r.text().expect("body");
    assert_eq!(status, 200, "POST {path}: {text}");
    serde_json::from_str(&text).expect("json")
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn report_on_demand_arrives_by_mail_in_german_with_charts_and_pdf() {
    let sink = SmtpSink::builder()
        .auth("alerts", "mail-password")
        .starttls()
        .start();
    let port = sink.port();
    let (server, log) = server_with_log(|cfg, _| {
        cfg.smtp = Some(SmtpConfig {
            security: "starttls".into(),
            username: Some("alerts".into()),
            password: Some("mail-password".into()),
            accept_invalid_certs: true,
            ..smtp_config(port)
        });
    });
    let admin = server.admin();
    wait_until_tailing(&admin, &log);
    let attacker = "203.0.113.7";
    let guesser = "198.51.100.23";
    let mut lines = access_line(attacker, "GET", SQLI, 200, UA);
    for _ in 0..7 {
        lines.push_str(&access_line(guesser, "POST", "/login", 401, UA));
    }
    append(&log, &lines);
    wait_incident(&admin, attacker, "web-sqli");
    wait_incident(&admin, guesser, "web-bruteforce");

    let created = post_ok(
        &admin,
        "/api/reports",
        &json!({"since": "24h", "language": "de", "send_to": ["ops@example.com"]}),
    );
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["language"], "de");
    assert_eq!(created["trigger"], "manual");
    assert!(created["incidents"].as_u64().expect("incidents") >= 2);
    assert_eq!(created["queued"].as_array().expect("queued").len(), 1);

    let mails = sink.wait_for(1, Duration::from_secs(20));
    assert_eq!(mails.len(), 1, "one mail");
    let mail = &mails[0];
    assert_eq!(mail.to, ["ops@example.com"]);
    assert!(mail.tls, "sent under STARTTLS");
    assert_eq!(mail.authenticated_as.as_deref(), Some("alerts"));

    let view = admin.get_json(&format!("/api/reports/{id}"));
    let doc: ReportDoc = serde_json::from_value(view["doc"].clone()).expect("report doc");
    let message = MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("parseable mail");
    let subject = message.subject().expect("subject");
    assert_eq!(subject, secmo_report::subject(&doc, Lang::De));
    assert!(
        subject.contains("Bedrohungsstufe") && subject.contains("Vorfälle"),
        "{subject}"
    );
    let to: Vec<&str> = message
        .to()
        .and_then(|a| a.as_list())
        .expect("To")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["ops@example.com"]);

    let structure = mime_tree(&message, 0);
    assert!(
        structure.starts_with(
            "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png"
        ) && structure.ends_with("]],application/pdf]"),
        "{structure}"
    );
    let html = message.body_html(0).expect("html part");
    assert!(html.contains(SQLI_TITLE), "incident title in the HTML");
    assert!(html.contains(attacker), "attacker IP in the HTML");
    assert!(html.contains("lang=\"de\""), "German HTML");
    let text = message.body_text(0).expect("text part");
    assert!(text.contains(attacker), "attacker IP in the text part");
    let images: Vec<_> = message
        .parts
        .iter()
        .filter(|p| p.is_content_type("image", "png"))
        .collect();
    assert!(!images.is_empty(), "inline charts");
    for image in &images {
        let cid = image.content_id().expect("Content-ID");
        assert!(html.contains(&format!("cid:{cid}")), "{cid} is referenced");
        assert!(image.contents().starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        assert!(
            image
                .content_disposition()
                .is_some_and(|d| d.ctype() == "inline")
        );
    }
    let pdfs: Vec<_> = message
        .parts
        .iter()
        .filter(|p| p.is_content_type("application", "pdf"))
        .collect();
    assert_eq!(pdfs.len(), 1);
    let expected_name = format!("secmo-report-{id}.pdf");
    assert_eq!(pdfs[0].attachment_name(), Some(expected_name.as_str()));
    assert!(pdfs[0].contents().starts_with(b"%PDF"));

    // The report records who got it (once the server has marked it sent).
    let meta = wait_for(20, "delivered_to on the report", || {
        let m = report_meta(&admin, id);
        (m["delivered_to"] == json!(["ops@example.com"])).then_some(m)
    });
    assert_eq!(meta["requested_by"], "admin");
    let entry = outbox_entry(&admin, created["queued"][0].as_i64().expect("id"));
    assert_eq!(entry["status"], "sent");
    assert_eq!(entry["report_id"], id);
    assert_eq!(entry["subject"], subject);

    // Sending the same report again to the same address is a new request: it goes out again.
    let resp = admin.post(
        &format!("/api/reports/{id}/send"),
        &json!({"to": ["ops@example.com"], "language": "en"}),
    );
    assert_eq!(resp.status(), 200);
    let again: Value = resp.json().expect("json");
    assert_eq!(again["queued"].as_array().map(Vec::len), Some(1), "{again}");
    let mails = sink.wait_for(2, Duration::from_secs(20));
    assert_eq!(mails.len(), 2, "the explicit re-send arrives");
}

#[test]
fn mail_server_down_then_back_delivers_each_copy_exactly_once() {
    // A port with nothing listening: a sink started and stopped.
    let mut gone = SmtpSink::start();
    let port = gone.port();
    gone.stop();
    drop(gone);
    let server = TestServer::start(|cfg, _| cfg.smtp = Some(smtp_config(port)));
    let admin = server.admin();
    let created = post_ok(
        &admin,
        "/api/reports",
        &json!({"since": "1h", "send_to": ["a@example.com", "b@example.com"]}),
    );
    let report = created["id"].as_i64().expect("id");
    let ids: Vec<i64> = created["queued"]
        .as_array()
        .expect("queued")
        .iter()
        .map(|v| v.as_i64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2);

    let counts = wait_for(20, "both deliveries to fail", || {
        let v = admin.get_json("/api/notifications");
        (v["outbox_counts"]["failing"].as_u64()? >= 2).then_some(v)
    });
    assert_eq!(counts["outbox_counts"]["sent"], 0);
    assert_eq!(counts["settings"]["channels"]["email"]["configured"], true);
    // Monitoring sees it too.
    let metrics = admin.get("/metrics").text().expect("metrics text");
    assert!(
        metrics.lines().any(|l| l == "secmo_outbox_failing 2"),
        "{metrics}"
    );
    let now = secmo_server::now_ms();
    for id in &ids {
        let e = outbox_entry(&admin, *id);
        assert_eq!(e["status"], "pending", "{e}");
        assert_eq!(e["attempts"], 1, "{e}");
        let error = e["last_error"].as_str().expect("last_error");
        assert!(error.contains("connection refused"), "{error}");
        // The automatic retry waits (≥ 15 s backoff) rather than spinning.
        let next = e["next_attempt_ms"].as_i64().expect("next_attempt_ms");
        assert!(next > now + 5_000, "next attempt {next} vs now {now}");
    }
    let pending = admin.get_json("/api/notifications/outbox?status=pending");
    assert_eq!(pending["items"].as_array().expect("items").len(), 2);
    assert!(
        report_meta(&admin, report)["delivered_to"]
            .as_array()
            .expect("delivered_to")
            .is_empty()
    );

    // The relay comes back; the dashboard's retry makes the messages due now.
    let sink = SmtpSink::start_on(port);
    let analyst = server.user("ana", "analyst");
    assert_eq!(
        analyst
            .post(
                &format!("/api/notifications/outbox/{}/retry", ids[0]),
                &json!({})
            )
            .status(),
        403,
        "retry is for admins"
    );
    for id in &ids {
        let e = post_ok(
            &admin,
            &format!("/api/notifications/outbox/{id}/retry"),
            &json!({}),
        );
        assert_eq!(e["status"], "pending");
    }
    let mails = sink.wait_for(2, Duration::from_secs(20));
    assert_eq!(mails.len(), 2);
    wait_for(20, "both messages marked sent", || {
        ids.iter()
            .all(|id| outbox_entry(&admin, *id)["status"] == "sent")
            .then_some(())
    });
    // Nothing is sent twice, even after the backoff would have come round.
    std::thread::sleep(Duration::from_secs(3));
    let mails = sink.messages();
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["a@example.com", "b@example.com"], "one copy each");
    // A delivered message cannot be retried.
    assert_eq!(
        admin
            .post(
                &format!("/api/notifications/outbox/{}/retry", ids[0]),
                &json!({})
            )
            .status(),
        409
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sink.messages().len(), 2);
    let counts = admin.get_json("/api/notifications")["outbox_counts"].clone();
    assert_eq!(counts["failing"], 0);
    assert_eq!(counts["sent"], 2);
    let mut delivered: Vec<String> = report_meta(&admin, report)["delivered_to"]
        .as_array()
        .expect("delivered_to")
        .iter()
        .map(|v| v.as_str().expect("address").to_owned())
        .collect();
    delivered.sort();
    assert_eq!(delivered, ["a@example.com", "b@example.com"]);
}

fn chat_text(r: &RecordedRequest) -> String {
    collapse_ws(r.json()["text"].as_str().unwrap_or_default())
}

fn is_digest_chat(r: &RecordedRequest) -> bool {
    chat_text(r).contains("more incidents since")
}

#[test]
fn incidents_notify_slack_telegram_and_webhook_with_rate_limit_and_digest() {
    const SECRET: &str = "whsec-end-to-end";
    const TOKEN: &str = "123456:ABC-test-token";
    const WINDOW_MS: u64 = 4_000;
    let slack = HttpSink::start();
    let telegram = HttpSink::with_replies(vec![HttpReply::new(
        200,
        r#"{"ok":true,"result":{"message_id":1}}"#,
    )]);
    let webhook = HttpSink::start();
    let (slack_url, telegram_url, webhook_url) = (
        format!("{}/services/T0/B0/slack-secret", slack.url()),
        telegram.url(),
        format!("{}/hooks/secmo", webhook.url()),
    );
    let (server, log) = server_with_log(|cfg, _| {
        cfg.public_url = Some("https://secmo.example.com/".into());
        cfg.notify.min_severity = secmo_event::Severity::High;
        cfg.notify.max_per_window = 2;
        cfg.notify.window = format!("{}s", WINDOW_MS / 1000);
        cfg.notify.slack = Some(SlackConfig {
            webhook_url: slack_url,
        });
        cfg.notify.telegram = Some(TelegramConfig {
            bot_token: TOKEN.into(),
            chat_id: "-100123".into(),
            api_base: telegram_url,
        });
        cfg.notify.webhook = Some(WebhookConfig {
            url: webhook_url,
            secret: SECRET.into(),
        });
        // No automatic blocks: the ingest loop only creates and notifies.
        cfg.blocking.policies.clear();
    });
    let admin = server.admin();
    let settings = admin.get_json("/api/notifications")["settings"].clone();
    assert_eq!(settings["incidents"]["max_per_window"], 2);
    assert_eq!(settings["incidents"]["window_ms"], WINDOW_MS);
    assert_eq!(settings["channels"]["telegram"]["chat_id"], "-100123");
    let shown = settings.to_string();
    assert!(
        !shown.contains(SECRET) && !shown.contains("slack-secret") && !shown.contains(TOKEN),
        "settings leak a secret: {shown}"
    );
    wait_until_tailing(&admin, &log);

    // Five distinct high-severity incidents in one write (one ingest batch).
    // The user agent tries a Slack mention.
    let ips: Vec<String> = (11..=15).map(|n| format!("203.0.113.{n}")).collect();
    let ua = "Mozilla/5.0 <!channel> <@U024BE7LH>";
    let lines: String = ips
        .iter()
        .map(|ip| access_line(ip, "GET", SQLI, 200, ua))
        .collect();
    append(&log, &lines);
    for ip in &ips {
        wait_incident(&admin, ip, "web-sqli");
    }

    // Two incident messages per channel, then the digest of the other three
    // when the window ends.
    let wait = Duration::from_secs(20);
    let hooks = webhook.wait_for(3, wait);
    let slacks = slack.wait_for(3, wait);
    let telegrams = telegram.wait_for(3, wait);
    std::thread::sleep(Duration::from_millis(1500));
    let hooks_now = webhook.requests();
    assert_eq!(hooks_now.len(), 3, "webhook: {hooks_now:#?}");
    assert_eq!(slack.requests().len(), 3);
    assert_eq!(telegram.requests().len(), 3);

    // Webhook: signed, incidents first, digest last.
    let mut notified = Vec::new();
    for (n, r) in hooks.iter().enumerate() {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hooks/secmo");
        let ts = r.header("x-secmo-timestamp").expect("timestamp");
        let sig = r.header("x-secmo-signature").expect("signature");
        assert!(verify_signature(SECRET, ts, &r.body, sig), "signature");
        assert!(!verify_signature("wrong-secret", ts, &r.body, sig));
        let body = r.json();
        let event = if n < 2 { "incident" } else { "digest" };
        assert_eq!(r.header("x-secmo-event"), Some(event), "{body}");
        assert_eq!(body["event"], event);
        let data = &body["data"];
        if n < 2 {
            let inc = &data["incident"];
            assert_eq!(inc["rule_id"], "web-sqli");
            assert_eq!(inc["severity"], "high");
            assert_eq!(inc["title"], SQLI_TITLE);
            let ip = inc["source_ip"].as_str().expect("source_ip").to_owned();
            assert!(ips.contains(&ip), "{ip}");
            let id = inc["id"].as_i64().expect("incident id");
            assert_eq!(
                data["link"],
                format!("https://secmo.example.com/incidents/{id}")
            );
            notified.push(ip);
        } else {
            let held: Vec<&str> = data["incidents"]
                .as_array()
                .expect("held incidents")
                .iter()
                .map(|i| i["source_ip"].as_str().expect("source_ip"))
                .collect();
            assert_eq!(held.len(), 3, "{data}");
            assert_eq!(data["more"], 0);
            for ip in &ips {
                assert_eq!(
                    held.contains(&ip.as_str()),
                    !notified.contains(ip),
                    "{ip}: notified {notified:?}, held {held:?}"
                );
            }
        }
    }
    notified.sort();
    notified.dedup();
    assert_eq!(notified.len(), 2);
    let held: Vec<&String> = ips.iter().filter(|ip| !notified.contains(ip)).collect();

    // Slack: {"text": …} only, `<` and `>` from the log line escaped.
    for r in &slacks {
        assert_eq!(r.path, "/services/T0/B0/slack-secret");
        let body = r.json();
        let object = body.as_object().expect("JSON object");
        assert_eq!(object.len(), 1, "{body}");
        let text = object["text"].as_str().expect("text");
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
    }
    let slack_incidents: Vec<&RecordedRequest> =
        slacks.iter().filter(|r| !is_digest_chat(r)).collect();
    assert_eq!(slack_incidents.len(), 2);
    for r in &slack_incidents {
        let text = chat_text(r);
        assert!(text.contains(SQLI_TITLE), "{text}");
        assert!(text.contains("&lt;"), "the evidence's `<` escaped: {text}");
        assert!(
            notified.iter().any(|ip| text.contains(ip.as_str())),
            "{text}"
        );
    }
    assert!(is_digest_chat(&slacks[2]), "digest last");
    let digest = chat_text(&slacks[2]);
    assert!(digest.contains("3 more incidents"), "{digest}");
    for ip in &held {
        assert!(digest.contains(ip.as_str()), "{ip} in {digest}");
    }

    // Telegram: the Bot API's sendMessage with the chat id.
    for r in &telegrams {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, format!("/bot{TOKEN}/sendMessage"));
        let body = r.json();
        assert_eq!(body["chat_id"], -100123);
        assert!(body["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    assert_eq!(
        telegrams.iter().filter(|r| !is_digest_chat(r)).count(),
        2,
        "two incident messages"
    );
    assert!(is_digest_chat(&telegrams[2]));

    // The outbox: 2 incidents + 1 digest per channel, all sent.
    let entries = outbox(&admin);
    assert_eq!(entries.len(), 9, "{entries:#?}");
    assert!(
        entries.iter().all(|e| e["status"] == "sent"),
        "{entries:#?}"
    );
    assert_eq!(entries.iter().filter(|e| e["kind"] == "digest").count(), 3);

    // More lines from an attacker already notified touch the same incident:
    // no new message.
    let again = &notified[0];
    let before = wait_incident(&admin, again, "web-sqli");
    let count = before["count"].as_u64().expect("count");
    let more: String = (0..2)
        .map(|_| access_line(again, "GET", SQLI, 200, UA))
        .collect();
    append(&log, &more);
    wait_for(20, "the incident to count the new lines", || {
        let list = incidents_for(&admin, again);
        let i = list.iter().find(|i| i["rule_id"] == "web-sqli")?;
        (i["count"].as_u64()? > count).then_some(())
    });
    assert_eq!(incidents_for(&admin, again).len(), 1, "the same incident");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(webhook.requests().len(), 3);
    assert_eq!(slack.requests().len(), 3);
    assert_eq!(telegram.requests().len(), 3);
    assert_eq!(outbox(&admin).len(), 9);
}

#[test]
fn webhook_answering_503_is_retried_and_delivered_once() {
    const SECRET: &str = "whsec-retry";
    let hook = HttpSink::with_replies(vec![
        HttpReply::new(503, "upstream unavailable"),
        HttpReply::ok(),
    ]);
    let url = format!("{}/hook", hook.url());
    let (server, log) = server_with_log(|cfg, _| {
        cfg.notify.webhook = Some(WebhookConfig {
            url,
            secret: SECRET.into(),
        });
    });
    let admin = server.admin();
    wait_until_tailing(&admin, &log);
    let ip = "203.0.113.99";
    append(&log, &access_line(ip, "GET", SQLI, 200, UA));
    let incident = wait_incident(&admin, ip, "web-sqli");

    let first = hook.wait_for(1, Duration::from_secs(20));
    assert_eq!(first.len(), 1);
    let entry = wait_for(20, "the failed attempt recorded", || {
        outbox(&admin)
            .into_iter()
            .find(|e| e["channel"] == "webhook" && e["attempts"] == 1)
    });
    assert_eq!(entry["status"], "pending");
    assert_eq!(entry["kind"], "incident");
    let error = entry["last_error"].as_str().expect("last_error");
    assert!(error.contains("503"), "{error}");
    assert!(!error.contains(SECRET));
    let next = entry["next_attempt_ms"].as_i64().expect("next_attempt_ms");
    assert!(next > secmo_server::now_ms() + 5_000, "backoff: {next}");
    assert_eq!(
        admin.get_json("/api/notifications")["outbox_counts"]["failing"],
        1
    );

    let id = entry["id"].as_i64().expect("id");
    post_ok(
        &admin,
        &format!("/api/notifications/outbox/{id}/retry"),
        &json!({}),
    );
    let requests = hook.wait_for(2, Duration::from_secs(20));
    assert_eq!(requests.len(), 2);
    wait_for(20, "the message marked sent", || {
        (outbox_entry(&admin, id)["status"] == "sent").then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(hook.requests().len(), 2, "delivered once");
    let e = outbox_entry(&admin, id);
    assert_eq!(e["attempts"], 2);
    assert!(e["sent_ms"].as_i64().is_some());

    // Both attempts are signed; the retry carries the same data.
    for r in &requests {
        let ts = r.header("x-secmo-timestamp").expect("timestamp");
        let sig = r.header("x-secmo-signature").expect("signature");
        assert!(verify_signature(SECRET, ts, &r.body, sig));
    }
    let (a, b) = (requests[0].json(), requests[1].json());
    assert_eq!(a["data"], b["data"]);
    assert_eq!(b["data"]["incident"]["id"], incident["id"]);
    assert_eq!(b["data"]["incident"]["source_ip"], ip);
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = match std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("pdftotext is missing: apt-get install -y poppler-utils")
        }
        Err(e) => panic!("pdftotext: {e}"),
    };
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 text")
}

#[test]
fn report_downloads_in_every_format_with_roles() {
    let (server, log) = server_with_log(|_, _| {});
    let admin = server.admin();
    wait_until_tailing(&admin, &log);
    let ip = "203.0.113.7";
    append(&log, &access_line(ip, "GET", SQLI, 200, UA));
    wait_incident(&admin, ip, "web-sqli");
    let created = post_ok(&admin, "/api/reports", &json!({"since": "1h"}));
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["threat_level"], "high");
    assert!(created["queued"].as_array().expect("queued").is_empty());
    let download = |api: &Api, query: &str| api.get(&format!("/api/reports/{id}/download?{query}"));

    let r = download(&admin, "format=pdf");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .expect("disposition")
        .to_owned();
    assert!(
        disposition.contains(&format!("secmo-report-{id}-en.pdf")),
        "{disposition}"
    );
    let pdf = r.bytes().expect("pdf");
    assert!(pdf.starts_with(b"%PDF"), "PDF magic");
    let text = collapse_ws(&pdftotext(&pdf));
    assert!(text.contains(SQLI_TITLE), "title in the PDF: {text}");
    assert!(text.contains(ip), "IP in the PDF: {text}");

    let r = download(&admin, "format=csv");
    assert_eq!(r.status(), 200);
    let csv = r.text().expect("csv");
    let header = csv.lines().next().expect("header row");
    assert_eq!(header, secmo_report::CSV_COLUMNS.join(","));
    assert!(
        csv.lines()
            .any(|l| l.contains("web-sqli") && l.contains(ip)),
        "{csv}"
    );

    let r = download(&admin, "format=json");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().expect("json");
    assert_eq!(v["threat_level"], "high");
    assert_eq!(v["anomalies_detected"][0]["type"], "sqli");

    let r = download(&admin, "format=html&lang=es");
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html")
    );
    let html = r.text().expect("html");
    assert!(html.contains("lang=\"es\"") && html.contains("Informe de seguridad"));
    assert!(html.contains(ip));

    assert_eq!(download(&admin, "format=docx").status(), 400);
    assert_eq!(download(&admin, "format=pdf&lang=fr").status(), 400);
    assert_eq!(
        admin
            .get("/api/reports/999999/download?format=pdf")
            .status(),
        404
    );

    // Viewers read and download, but do not make or send reports.
    let viewer = server.user("vera", "viewer");
    assert_eq!(viewer.post("/api/reports", &json!({})).status(), 403);
    assert_eq!(
        viewer
            .post(
                &format!("/api/reports/{id}/send"),
                &json!({"to": ["x@example.com"]})
            )
            .status(),
        403
    );
    assert_eq!(viewer.get("/api/reports").status(), 200);
    assert_eq!(viewer.get(&format!("/api/reports/{id}")).status(), 200);
    assert_eq!(download(&viewer, "format=csv").status(), 200);
    // Without [smtp], asking for e-mail is a conflict, not a silent no-op.
    assert_eq!(
        admin
            .post("/api/reports", &json!({"send_to": ["x@example.com"]}))
            .status(),
        409
    );
    // Anonymous: nothing.
    let anon = server.anonymous();
    assert_eq!(anon.get("/api/reports").status(), 401);
    assert_eq!(anon.get(&format!("/api/reports/{id}")).status(), 401);
    assert_eq!(download(&anon, "format=pdf").status(), 401);
    assert_eq!(anon.post("/api/reports", &json!({})).status(), 401);
}

// ---- the scheduler, against a real store with a synthetic clock -------------

mod scheduler {
    use super::*;
    use secmo_detect::report::{Alert, Evidence};
    use secmo_event::{Category, Severity};
    use secmo_server::notify::Wake;
    use secmo_server::report::Reports;
    use secmo_store::{AlertDelta, IngestBatch, OutboxQuery, ReportTrigger, SqliteStore, Store};
    use std::sync::Arc;

    const HOUR: i64 = 3_600_000;
    const MIN: i64 = 60_000;
    /// An hour boundary in the past.
    const T0: i64 = 1_767_225_600_000;

    fn open_store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("data")).expect("open store");
        (dir, Arc::new(store))
    }

    fn config(always_send: bool, smtp: bool) -> Config {
        Config {
            smtp: smtp.then(|| smtp_config(2525)),
            reports: ReportsConfig {
                enabled: true,
                schedule: "1h".into(),
                always_send,
                language: "en".into(),
                recipients: vec![
                    Recipient::Address("ops@example.com".into()),
                    Recipient::WithLanguage {
                        address: "leitung@example.de".into(),
                        language: "de".into(),
                    },
                ],
                attach_pdf: true,
            },
            ..Config::default()
        }
    }

    fn incident_at(store: &dyn Store, ip: &str, at_ms: i64) {
        let alert = Alert {
            rule_id: "web-sqli".into(),
            title: SQLI_TITLE.into(),
            category: Category::Sqli,
            severity: Severity::High,
            source_ip: Some(ip.into()),
            user: None,
            first_seen: None,
            last_seen: None,
            count: 1,
            evidence: vec![Evidence {
                input: 0,
                file: "access.log".into(),
                line: 1,
                raw: format!("{ip} - - \"GET {SQLI} HTTP/1.1\" 200 512"),
            }],
            description: "SQL syntax in the query string".into(),
            recommendation: "Block the source".into(),
            response: vec!["Block the source IP".into()],
        };
        store
            .ingest(&IngestBatch {
                alerts: &[AlertDelta {
                    source: "web".into(),
                    alert,
                    first_ms: at_ms,
                    last_ms: at_ms,
                }],
                incident_window_ms: HOUR,
                now_ms: at_ms,
                ..Default::default()
            })
            .expect("ingest");
    }

    fn queued(store: &dyn Store) -> Vec<(secmo_store::OutboxEntry, OutboundMessage)> {
        store
            .due_messages(i64::MAX / 2, 100)
            .expect("due")
            .into_iter()
            .map(|(e, p)| (e, serde_json::from_str(&p).expect("payload")))
            .collect()
    }

    fn outbox_len(store: &dyn Store) -> usize {
        store
            .outbox(&OutboxQuery::default())
            .expect("outbox")
            .items
            .len()
    }

    #[test]
    fn scheduled_reports_cover_the_period_since_the_last_and_mail_each_recipient() {
        let (_dir, store) = open_store();
        let reports = Reports::new(Arc::clone(&store), &config(false, true), Arc::default());
        let started = T0 + 5 * MIN;

        // Not due before an hour has passed.
        assert!(
            reports
                .run_due(started, started + 30 * MIN)
                .expect("run")
                .is_none()
        );
        assert_eq!(reports.next_run_ms(), Some(started + HOUR));
        assert!(
            store
                .reports(&Default::default())
                .expect("list")
                .items
                .is_empty()
        );

        // Due, nothing detected: stored, not sent.
        let first_end = started + HOUR + 2_000;
        let first = reports
            .run_due(started, first_end)
            .expect("run")
            .expect("a report");
        assert_eq!(first.trigger, ReportTrigger::Schedule);
        assert_eq!(first.requested_by, "schedule");
        assert_eq!(
            (first.period_start_ms, first.period_end_ms),
            (started, first_end)
        );
        assert_eq!(first.incidents, 0);
        assert_eq!(first.threat_level, "none");
        assert_eq!(outbox_len(&*store), 0, "nothing to report, nothing sent");
        assert_eq!(reports.last_run_ms(), Some(first_end));
        assert_eq!(reports.next_run_ms(), Some(first_end + HOUR));
        // Not again until the next period ends.
        assert!(
            reports
                .run_due(started, first_end + 10 * MIN)
                .expect("run")
                .is_none()
        );

        // An incident in the next period.
        incident_at(&*store, "203.0.113.7", first_end + 20 * MIN);
        let second_end = first_end + HOUR + 1_000;
        let second = reports
            .run_due(started, second_end)
            .expect("run")
            .expect("a report");
        assert_eq!(
            (second.period_start_ms, second.period_end_ms),
            (first_end, second_end),
            "covers the time since the last report"
        );
        assert_eq!(second.incidents, 1);
        assert_eq!(second.threat_level, "high");
        let (_, json) = store.report(second.id).expect("read").expect("stored");
        let mut doc: ReportDoc = serde_json::from_str(&json).expect("doc");
        doc.id = Some(second.id);
        assert_eq!(doc.incidents[0].source_ip.as_deref(), Some("203.0.113.7"));

        // One e-mail per recipient, in their language, with the PDF.
        let mails = queued(&*store);
        assert_eq!(mails.len(), 2, "{mails:#?}");
        for (entry, msg) in &mails {
            assert_eq!(entry.channel, "email");
            assert_eq!(entry.kind, "report");
            assert_eq!(entry.report_id, Some(second.id));
            let OutboundMessage::Email(email) = msg else {
                panic!("not an e-mail: {msg:?}");
            };
            assert_eq!(email.to, std::slice::from_ref(&entry.target));
            let lang = if entry.target == "leitung@example.de" {
                Lang::De
            } else {
                Lang::En
            };
            assert_eq!(email.subject, secmo_report::subject(&doc, lang));
            assert_eq!(entry.subject, email.subject);
            assert!(
                email
                    .html
                    .as_deref()
                    .is_some_and(|h| h.contains("203.0.113.7"))
            );
            assert_eq!(email.attachments.len(), 1);
            assert!(email.attachments[0].bytes.starts_with(b"%PDF"));
            assert!(!email.inline_images.is_empty());
        }
        let mut targets: Vec<&str> = mails.iter().map(|(e, _)| e.target.as_str()).collect();
        targets.sort();
        assert_eq!(targets, ["leitung@example.de", "ops@example.com"]);
        let german = &mails
            .iter()
            .find(|(e, _)| e.target == "leitung@example.de")
            .expect("German copy")
            .1;
        let OutboundMessage::Email(german) = german else {
            unreachable!()
        };
        assert!(
            german.subject.contains("Bedrohungsstufe"),
            "{}",
            german.subject
        );

        // Run again at the same instant: nothing new.
        assert!(reports.run_due(started, second_end).expect("run").is_none());
        assert_eq!(outbox_len(&*store), 2);

        // A restarted server (new Reports, new start time) continues from the
        // last scheduled report, not from its own start.
        let restarted = Reports::new(Arc::clone(&store), &config(false, true), Arc::default());
        let third = restarted
            .run_due(second_end + 30 * MIN, second_end + HOUR)
            .expect("run")
            .expect("a report");
        assert_eq!(third.period_start_ms, second_end);
        assert_eq!(third.incidents, 0);
        assert_eq!(outbox_len(&*store), 2, "quiet period: not sent");
    }

    #[test]
    fn always_send_mails_quiet_reports_and_no_smtp_mails_nothing() {
        let (_dir, store) = open_store();
        let wake = Arc::new(Wake::default());
        let reports = Reports::new(Arc::clone(&store), &config(true, true), wake);
        let report = reports
            .run_due(T0, T0 + HOUR)
            .expect("run")
            .expect("a report");
        assert_eq!(report.incidents, 0);
        let mails = queued(&*store);
        assert_eq!(mails.len(), 2, "always_send: sent though quiet");
        let OutboundMessage::Email(email) = &mails[0].1 else {
            panic!("not an e-mail");
        };
        assert!(
            email.subject.contains("No incidents") || email.subject.contains("Keine Vorfälle"),
            "{}",
            email.subject
        );

        // Without [smtp] the report is still made and stored, never queued.
        let (_dir2, store2) = open_store();
        incident_at(&*store2, "203.0.113.8", T0 + 10 * MIN);
        let no_mail = Reports::new(Arc::clone(&store2), &config(true, false), Arc::default());
        let report = no_mail
            .run_due(T0, T0 + HOUR)
            .expect("run")
            .expect("a report");
        assert_eq!(report.incidents, 1);
        assert_eq!(outbox_len(&*store2), 0);
        assert_eq!(
            store2
                .last_report(ReportTrigger::Schedule)
                .expect("last")
                .map(|r| r.id),
            Some(report.id)
        );
    }

    #[test]
    fn schedules_shorter_than_a_minute_are_refused() {
        let mut cfg = config(false, true);
        cfg.reports.schedule = "30s".into();
        let err = cfg.validate().expect_err("too short");
        assert!(err.to_string().contains("reports.schedule"), "{err}");
        // An unusable schedule never runs.
        let (_dir, store) = open_store();
        let reports = Reports::new(Arc::clone(&store), &cfg, Arc::default());
        assert!(reports.run_due(T0, T0 + 10 * HOUR).expect("run").is_none());
        assert!(
            store
                .reports(&Default::default())
                .expect("list")
                .items
                .is_empty()
        );
    }
}

#[test]
fn test_messages_reach_every_configured_channel() {
    let sink = SmtpSink::start();
    let port = sink.port();
    let hook = HttpSink::start();
    let url = format!("{}/hook", hook.url());
    let server = TestServer::start(|cfg, _| {
        cfg.smtp = Some(smtp_config(port));
        cfg.notify.webhook = Some(WebhookConfig {
            url,
            secret: "whsec-test".into(),
        });
    });
    let admin = server.admin();
    post_ok(
        &admin,
        "/api/notifications/test",
        &json!({"channel": "email", "to": ["ops@example.com"]}),
    );
    post_ok(
        &admin,
        "/api/notifications/test",
        &json!({"channel": "webhook"}),
    );
    let mails = sink.wait_for(1, Duration::from_secs(20));
    assert_eq!(mails[0].to, ["ops@example.com"]);
    assert!(mails[0].data.contains("test message"));
    let hooks = hook.wait_for(1, Duration::from_secs(20));
    assert_eq!(hooks[0].header("x-secmo-event"), Some("test"));
    // Not configured, unknown channel, not an admin.
    assert_eq!(
        admin
            .post("/api/notifications/test", &json!({"channel": "slack"}))
            .status(),
        409
    );
    assert_eq!(
        admin
            .post("/api/notifications/test", &json!({"channel": "pager"}))
            .status(),
        400
    );
    let analyst = server.user("ana", "analyst");
    assert_eq!(
        analyst
            .post("/api/notifications/test", &json!({"channel": "webhook"}))
            .status(),
        403
    );
    wait_for(20, "both test messages marked sent", || {
        let v = admin.get_json("/api/notifications");
        (v["outbox_counts"]["sent"] == 2).then_some(())
    });
}
