//! The signed generic webhook against a loopback HTTP receiver.

use std::net::TcpListener;
use std::time::Duration;

use secmo_notify::testing::{HttpReply, HttpSink};
use secmo_notify::{
    Channels, Deliverer, DeliveryError, OutboundMessage, WebhookMessage, WebhookSettings,
    verify_signature,
};

const WAIT: Duration = Duration::from_secs(5);
const SECRET: &str = "whsec_5f1c0ffee";

fn webhook(url: String, timeout: Duration) -> Deliverer {
    Deliverer::new(Channels {
        webhook: Some(WebhookSettings {
            url,
            secret: SECRET.into(),
            timeout,
        }),
        ..Channels::default()
    })
    .expect("valid settings")
}

fn incident() -> OutboundMessage {
    OutboundMessage::Webhook(WebhookMessage {
        event: "incident".into(),
        body: serde_json::json!({"id": 42, "rule": {"id": "sqli-1"}, "source": {"ip": "203.0.113.9"}}),
    })
}

#[test]
fn webhook_is_signed_and_verifiable() {
    let sink = HttpSink::start();
    webhook(
        format!("{}/hooks/secmo", sink.url()),
        Duration::from_secs(5),
    )
    .deliver(&incident())
    .expect("delivered");

    let requests = sink.wait_for(1, WAIT);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/secmo");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-secmo-event"), Some("incident"));
    let timestamp = request
        .header("x-secmo-timestamp")
        .expect("timestamp header");
    let signature = request
        .header("x-secmo-signature")
        .expect("signature header");
    assert!(signature.starts_with("sha256="), "{signature}");

    assert!(verify_signature(
        SECRET,
        timestamp,
        &request.body,
        signature
    ));
    assert!(!verify_signature(
        "wrong secret",
        timestamp,
        &request.body,
        signature
    ));
    let mut tampered = request.body.clone();
    tampered.push(b' ');
    assert!(!verify_signature(SECRET, timestamp, &tampered, signature));
    assert!(!verify_signature(SECRET, "0", &request.body, signature));

    let body = request.json();
    assert_eq!(body["event"], "incident");
    assert_eq!(body["data"]["rule"]["id"], "sqli-1");
    let sent_at: jiff::Timestamp = body["sent_at"]
        .as_str()
        .expect("sent_at string")
        .parse()
        .expect("RFC 3339");
    let unix: i64 = timestamp.parse().expect("unix seconds");
    assert_eq!(sent_at.as_second(), unix);
    let now = jiff::Timestamp::now().as_second();
    assert!((now - unix).abs() < 60);
}

#[test]
fn webhook_statuses_are_classified() {
    let sink = HttpSink::with_replies(vec![
        HttpReply::new(500, "boom"),
        HttpReply::new(400, r#"{"error":"bad signature"}"#),
        HttpReply::new(204, ""),
    ]);
    let deliverer = webhook(sink.url(), Duration::from_secs(5));

    let err = deliverer.deliver(&incident()).expect_err("500");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("HTTP 500: boom"), "{err}");

    let err = deliverer.deliver(&incident()).expect_err("400");
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("bad signature"), "{err}");

    deliverer.deliver(&incident()).expect("204 is success");
}

#[test]
fn webhook_receiver_down_is_transient() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let err = webhook(
        format!("http://127.0.0.1:{port}/in"),
        Duration::from_secs(5),
    )
    .deliver(&incident())
    .expect_err("nothing listens");
    assert_eq!(
        err,
        DeliveryError::Transient(format!(
            "webhook http://127.0.0.1:{port}/…: connection refused"
        ))
    );
}

#[test]
fn webhook_that_never_answers_times_out() {
    // Accepts the connection (the kernel does) and never replies.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/slow", listener.local_addr().expect("addr"));
    let err = webhook(url, Duration::from_millis(300))
        .deliver(&incident())
        .expect_err("timeout");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[test]
fn webhook_settings_are_checked() {
    let refused = |url: &str, secret: &str, timeout: Duration| {
        Deliverer::new(Channels {
            webhook: Some(WebhookSettings {
                url: url.into(),
                secret: secret.into(),
                timeout,
            }),
            ..Channels::default()
        })
        .err()
    };
    let five = Duration::from_secs(5);
    let err = refused("https://siem.test/in", "", five).expect("empty secret");
    assert_eq!(err.to_string(), "webhook: secret must not be empty");
    assert!(refused("siem.test/in", "s", five).is_some());
    assert!(refused("https://siem.test/in", "s", Duration::ZERO).is_some());
    assert!(refused("https://siem.test/in", "s", five).is_none());
}
