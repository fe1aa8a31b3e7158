//! Slack and Telegram against a loopback HTTP receiver.

use std::time::Duration;

use secmo_notify::testing::{HttpReply, HttpSink};
use secmo_notify::{
    Channels, ChatMessage, Deliverer, DeliveryError, OutboundMessage, SlackSettings,
    TelegramSettings,
};

const WAIT: Duration = Duration::from_secs(5);
const SLACK_PATH: &str = "/services/T000/B000/slack-secret-part";
const TOKEN: &str = "123456:ABC-telegram-secret";

fn slack(sink: &HttpSink) -> Deliverer {
    Deliverer::new(Channels {
        slack: Some(SlackSettings {
            webhook_url: format!("{}{SLACK_PATH}", sink.url()),
        }),
        ..Channels::default()
    })
    .expect("valid settings")
}

fn telegram(sink: &HttpSink, chat_id: &str) -> Deliverer {
    Deliverer::new(Channels {
        telegram: Some(TelegramSettings {
            // A trailing slash is a common way to write a base URL.
            api_base: format!("{}/", sink.url()),
            bot_token: TOKEN.into(),
            chat_id: chat_id.into(),
        }),
        ..Channels::default()
    })
    .expect("valid settings")
}

fn slack_text(text: &str) -> OutboundMessage {
    OutboundMessage::Slack(ChatMessage { text: text.into() })
}

fn telegram_text(text: &str) -> OutboundMessage {
    OutboundMessage::Telegram(ChatMessage { text: text.into() })
}

#[test]
fn slack_posts_escaped_text_that_cannot_mention_anyone() {
    let sink = HttpSink::start();
    let attack =
        "Login failed for user <!channel> & <@U024BE7LH> from <https://evil.test|your bank> >_<";
    slack(&sink)
        .deliver(&slack_text(attack))
        .expect("delivered");

    let requests = sink.wait_for(1, WAIT);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, SLACK_PATH);
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    let object = body.as_object().expect("a JSON object");
    assert_eq!(object.len(), 1, "only `text`, no link_names: {body}");
    let text = object["text"].as_str().expect("text is a string");
    assert_eq!(
        text,
        "Login failed for user &lt;!channel&gt; &amp; &lt;@U024BE7LH&gt; from \
         &lt;https://evil.test|your bank&gt; &gt;_&lt;"
    );
    // Slack's control sequences all start with `<`: none can be formed.
    assert!(!text.contains('<') && !text.contains('>'));
}

#[test]
fn slack_server_error_is_transient_then_succeeds() {
    let sink = HttpSink::with_replies(vec![
        HttpReply::new(503, "upstream unavailable"),
        HttpReply::ok(),
    ]);
    let deliverer = slack(&sink);
    let err = deliverer.deliver(&slack_text("hi")).expect_err("503");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("HTTP 503") && text.contains("upstream unavailable"),
        "{text}"
    );
    assert!(
        !text.contains("slack-secret-part"),
        "URL secret leaked: {text}"
    );
    deliverer
        .deliver(&slack_text("hi"))
        .expect("second try succeeds");
    assert_eq!(sink.requests().len(), 2);
}

#[test]
fn slack_client_errors_are_permanent() {
    let sink = HttpSink::with_replies(vec![
        HttpReply::new(400, "invalid_payload"),
        HttpReply::new(404, "no_service"),
    ]);
    let deliverer = slack(&sink);
    for expected in ["HTTP 400: invalid_payload", "HTTP 404: no_service"] {
        let err = deliverer.deliver(&slack_text("hi")).expect_err("4xx");
        assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn slack_rate_limit_honours_retry_after() {
    let sink = HttpSink::with_replies(vec![
        HttpReply::new(429, "rate_limited").header("Retry-After", "120"),
        HttpReply::new(429, "rate_limited"),
    ]);
    let deliverer = slack(&sink);
    let err = deliverer.deliver(&slack_text("hi")).expect_err("429");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    // The receiver's wish beats the policy's 15 s…
    assert_eq!(err.retry_delay(1), Some(Duration::from_secs(120)));
    // …but never shortens it.
    assert!(
        err.retry_delay(10)
            .is_some_and(|d| d >= Duration::from_secs(1800))
    );

    let err = deliverer
        .deliver(&slack_text("hi"))
        .expect_err("429 without header");
    assert!(err.is_retryable());
    assert!(
        err.retry_delay(1)
            .is_some_and(|d| d >= Duration::from_secs(15))
    );
}

#[test]
fn redirects_are_not_followed() {
    let target = HttpSink::start();
    let sink = HttpSink::with_replies(vec![
        HttpReply::new(302, "").header("Location", format!("{}/elsewhere?token=x", target.url())),
    ]);
    let err = slack(&sink).deliver(&slack_text("hi")).expect_err("302");
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert!(!err.to_string().contains("token=x"), "{err}");
    assert!(
        target.requests().is_empty(),
        "the body went to the redirect target"
    );
}

#[test]
fn telegram_posts_plain_text_to_send_message() {
    let sink = HttpSink::with_replies(vec![HttpReply::new(
        200,
        r#"{"ok":true,"result":{"message_id":1}}"#,
    )]);
    let text = "<b>not bold</b> [link](https://evil.test) *x*";
    telegram(&sink, "-1001234567890")
        .deliver(&telegram_text(text))
        .expect("delivered");

    let requests = sink.wait_for(1, WAIT);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(
        body,
        serde_json::json!({
            "chat_id": -1001234567890i64,
            "text": text,
            "disable_web_page_preview": true,
        })
    );
    assert!(body.get("parse_mode").is_none());
}

#[test]
fn telegram_channel_names_go_as_strings() {
    let sink = HttpSink::with_replies(vec![HttpReply::new(200, r#"{"ok":true}"#)]);
    telegram(&sink, "@secmo_alerts")
        .deliver(&telegram_text("hi"))
        .expect("delivered");
    assert_eq!(sink.wait_for(1, WAIT)[0].json()["chat_id"], "@secmo_alerts");
}

#[test]
fn telegram_429_is_rate_limited_with_its_retry_after() {
    let sink = HttpSink::with_replies(vec![HttpReply::new(
        429,
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 37","parameters":{"retry_after":37}}"#,
    )]);
    let err = telegram(&sink, "42")
        .deliver(&telegram_text("hi"))
        .expect_err("429");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(37)));
    let text = err.to_string();
    assert!(text.contains("Too Many Requests"), "{text}");
    assert!(!text.contains("telegram-secret"), "token leaked: {text}");
}

#[test]
fn telegram_errors_are_classified() {
    let sink = HttpSink::with_replies(vec![
        HttpReply::new(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        ),
        HttpReply::new(
            502,
            r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#,
        ),
        // A proxy's HTML error page, not the Bot API.
        HttpReply::new(503, "<html>down</html>"),
    ]);
    let deliverer = telegram(&sink, "42");

    let err = deliverer.deliver(&telegram_text("hi")).expect_err("400");
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("chat not found"), "{err}");

    let err = deliverer.deliver(&telegram_text("hi")).expect_err("502");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");

    let err = deliverer.deliver(&telegram_text("hi")).expect_err("503");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("HTTP 503"), "{err}");
}

#[test]
fn telegram_settings_are_checked() {
    for (base, token, chat) in [
        ("ftp://api.telegram.org", TOKEN, "1"),
        ("https://api.telegram.org", "", "1"),
        ("https://api.telegram.org", "12/../x", "1"),
        ("https://api.telegram.org", TOKEN, " "),
    ] {
        let result = Deliverer::new(Channels {
            telegram: Some(TelegramSettings {
                api_base: base.into(),
                bot_token: token.into(),
                chat_id: chat.into(),
            }),
            ..Channels::default()
        });
        let err = result.err().expect("refused");
        assert_eq!(err.channel, "telegram");
    }
    assert_eq!(
        TelegramSettings::new(TOKEN, "1").api_base,
        "https://api.telegram.org"
    );
}
