//! E-mail delivered for real: lettre → the SmtpSink → mail-parser.

use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use secmo_notify::testing::{ReceivedMail, SmtpSink, mime_tree};
use secmo_notify::{
    Attachment, Channels, Deliverer, DeliveryError, EmailMessage, InlineImage, OutboundMessage,
    SmtpSecurity, SmtpSettings,
};

const WAIT: Duration = Duration::from_secs(10);

fn smtp(sink: &SmtpSink, security: SmtpSecurity) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port(),
        security,
        username: None,
        password: None,
        from: "secmo alerts <alerts@secmo.test>".into(),
        timeout: Duration::from_secs(10),
        accept_invalid_certs: false,
    }
}

fn deliverer(settings: SmtpSettings) -> Deliverer {
    Deliverer::new(Channels {
        smtp: Some(settings),
        ..Channels::default()
    })
    .expect("valid settings")
}

fn simple(to: &str) -> OutboundMessage {
    OutboundMessage::Email(EmailMessage {
        to: vec![to.into()],
        subject: "test".into(),
        text: "hello".into(),
        ..EmailMessage::default()
    })
}

fn png(seed: u8) -> Vec<u8> {
    // Not a valid PNG: only the bytes' round trip matters here.
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..300u16).map(|i| (i as u8).wrapping_mul(seed)));
    bytes
}

#[test]
fn rich_email_arrives_as_mixed_alternative_related() {
    let sink = SmtpSink::start();
    let subject = "Informe diario: año nuevo, Müller ✓ — 3 incidents";
    let pdf = b"%PDF-1.7\n\x00\x01\x02binary\xff".to_vec();
    let email = EmailMessage {
        to: vec![
            "ana@example.test".into(),
            "Jörg Müller <joerg@example.test>".into(),
        ],
        subject: subject.into(),
        text: "3 incidents.\n.a line starting with a dot\nÑandú".into(),
        html: Some(r#"<p>3 incidents</p><img src="cid:chart-1"><img src="cid:chart-2">"#.into()),
        inline_images: vec![
            InlineImage {
                content_id: "chart-1".into(),
                mime: "image/png".into(),
                bytes: png(3),
            },
            InlineImage {
                content_id: "chart-2".into(),
                mime: "image/png".into(),
                bytes: png(7),
            },
        ],
        attachments: vec![Attachment {
            filename: "report.pdf".into(),
            mime: "application/pdf".into(),
            bytes: pdf.clone(),
        }],
    };
    deliverer(smtp(&sink, SmtpSecurity::None))
        .deliver(&OutboundMessage::Email(email))
        .expect("delivered");

    let mails = sink.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1);
    let ReceivedMail { from, to, data, .. } = &mails[0];
    assert_eq!(from, "alerts@secmo.test");
    assert_eq!(to, &["ana@example.test", "joerg@example.test"]);

    // The Subject header on the wire is ASCII (RFC 2047 encoded words).
    let raw_subject = data
        .lines()
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' ') || l.starts_with('\t'))
        .collect::<String>();
    assert!(
        raw_subject.is_ascii() && raw_subject.contains("=?utf-8?"),
        "{raw_subject}"
    );

    let message = MessageParser::default()
        .parse(data.as_bytes())
        .expect("parseable message");
    assert_eq!(message.subject(), Some(subject));
    let from = message.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("alerts@secmo.test"));
    assert_eq!(from.name(), Some("secmo alerts"));
    let to: Vec<_> = message
        .to()
        .and_then(|a| a.as_list())
        .expect("To")
        .iter()
        .map(|a| a.address().unwrap_or_default().to_string())
        .collect();
    assert_eq!(to, ["ana@example.test", "joerg@example.test"]);
    // Spam filters penalise mail without a Message-ID; ours names the
    // sender's domain.
    assert!(
        message
            .message_id()
            .is_some_and(|id| id.ends_with("@secmo.test")),
        "{:?}",
        message.message_id()
    );
    assert!(message.date().is_some());

    assert_eq!(
        mime_tree(&message, 0),
        "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png,image/png]],application/pdf]"
    );
    assert_eq!(
        message
            .body_text(0)
            .as_deref()
            .map(|t| t.replace("\r\n", "\n")),
        Some("3 incidents.\n.a line starting with a dot\nÑandú".to_string())
    );
    assert!(
        message
            .body_html(0)
            .is_some_and(|h| h.contains("cid:chart-1"))
    );

    let images: Vec<_> = message
        .parts
        .iter()
        .filter(|p| p.is_content_type("image", "png"))
        .collect();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0].content_id(), Some("chart-1"));
    assert_eq!(images[1].content_id(), Some("chart-2"));
    assert_eq!(images[0].contents(), png(3).as_slice());
    assert_eq!(images[1].contents(), png(7).as_slice());
    assert!(
        images[0]
            .content_disposition()
            .is_some_and(|d| d.ctype() == "inline")
    );

    let pdfs: Vec<_> = message
        .parts
        .iter()
        .filter(|p| p.is_content_type("application", "pdf"))
        .collect();
    assert_eq!(pdfs.len(), 1);
    assert_eq!(pdfs[0].attachment_name(), Some("report.pdf"));
    assert!(
        pdfs[0]
            .content_disposition()
            .is_some_and(|d| d.ctype() == "attachment")
    );
    assert_eq!(pdfs[0].contents(), pdf.as_slice());
}

#[test]
fn text_only_email_is_a_single_part() {
    let sink = SmtpSink::start();
    deliverer(smtp(&sink, SmtpSecurity::None))
        .deliver(&simple("ops@example.test"))
        .expect("delivered");
    let mails = sink.wait_for(1, WAIT);
    let message = MessageParser::default()
        .parse(mails[0].data.as_bytes())
        .expect("parseable");
    assert_eq!(mime_tree(&message, 0), "text/plain");
    assert_eq!(
        message.body_text(0).as_deref().map(str::trim_end),
        Some("hello")
    );
}

#[test]
fn starttls_with_auth() {
    let sink = SmtpSink::builder()
        .auth("alerts", "s3cret pass")
        .starttls()
        .start();
    let mut settings = smtp(&sink, SmtpSecurity::StartTls);
    settings.username = Some("alerts".into());
    settings.password = Some("s3cret pass".into());
    settings.accept_invalid_certs = true;
    deliverer(settings)
        .deliver(&simple("ops@example.test"))
        .expect("delivered over STARTTLS");
    let mails = sink.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls, "DATA went over TLS");
    assert_eq!(mails[0].authenticated_as.as_deref(), Some("alerts"));
}

#[test]
fn implicit_tls_with_auth() {
    let sink = SmtpSink::builder()
        .auth("alerts", "pw")
        .implicit_tls()
        .start();
    let mut settings = smtp(&sink, SmtpSecurity::Tls);
    settings.username = Some("alerts".into());
    settings.password = Some("pw".into());
    settings.accept_invalid_certs = true;
    deliverer(settings)
        .deliver(&simple("ops@example.test"))
        .expect("delivered over implicit TLS");
    let mails = sink.wait_for(1, WAIT);
    assert!(mails[0].tls);
    assert_eq!(mails[0].authenticated_as.as_deref(), Some("alerts"));
}

#[test]
fn self_signed_certificate_is_refused_unless_accepted() {
    let sink = SmtpSink::builder().starttls().start();
    let err = deliverer(smtp(&sink, SmtpSecurity::StartTls))
        .deliver(&simple("ops@example.test"))
        .expect_err("untrusted certificate");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("SMTP 127.0.0.1:{}: ", sink.port())),
        "{text}"
    );
    assert!(
        text.contains("TLS handshake failed") && text.contains("accept_invalid_certs"),
        "{text}"
    );
    assert!(sink.messages().is_empty());
}

#[test]
fn wrong_password_is_permanent_and_says_so() {
    let sink = SmtpSink::builder()
        .auth("alerts", "right")
        .starttls()
        .start();
    let mut settings = smtp(&sink, SmtpSecurity::StartTls);
    settings.username = Some("alerts".into());
    settings.password = Some("wrong".into());
    settings.accept_invalid_certs = true;
    let err = deliverer(settings)
        .deliver(&simple("ops@example.test"))
        .expect_err("bad credentials");
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("authentication failed"), "{text}");
    assert!(text.contains("535"), "{text}");
    assert!(!text.contains("wrong"), "the password leaked: {text}");
    assert!(sink.auth_failures() >= 1);
    assert!(sink.messages().is_empty());
}

#[test]
fn plain_auth_on_loopback_without_tls() {
    let sink = SmtpSink::builder().auth("local", "pw").start();
    let mut settings = smtp(&sink, SmtpSecurity::None);
    settings.username = Some("local".into());
    settings.password = Some("pw".into());
    deliverer(settings)
        .deliver(&simple("ops@example.test"))
        .expect("delivered");
    let mails = sink.wait_for(1, WAIT);
    assert_eq!(mails[0].authenticated_as.as_deref(), Some("local"));
    assert!(!mails[0].tls);
}

#[test]
fn server_down_is_transient_then_delivers_when_back() {
    let mut sink = SmtpSink::start();
    let port = sink.port();
    sink.stop();
    let deliverer = deliverer(smtp(&sink, SmtpSecurity::None));
    let err = deliverer
        .deliver(&simple("ops@example.test"))
        .expect_err("nobody listening");
    assert_eq!(
        err,
        DeliveryError::Transient(format!("SMTP 127.0.0.1:{port}: connection refused"))
    );
    assert!(err.is_retryable());
    assert!(err.retry_delay(1).is_some());

    let back = SmtpSink::start_on(port);
    deliverer
        .deliver(&simple("ops@example.test"))
        .expect("delivered once the relay is back");
    assert_eq!(back.wait_for(1, WAIT).len(), 1);
}

#[test]
fn recipient_rejections_follow_the_reply_class() {
    let sink = SmtpSink::builder()
        .reject_recipient("gone@example.test", 550)
        .reject_recipient("busy@example.test", 450)
        .start();
    let deliverer = deliverer(smtp(&sink, SmtpSecurity::None));

    let err = deliverer
        .deliver(&simple("gone@example.test"))
        .expect_err("550");
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("550"), "{err}");

    let err = deliverer
        .deliver(&simple("busy@example.test"))
        .expect_err("450");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("450"), "{err}");
    assert!(sink.messages().is_empty());
}

#[test]
fn invalid_recipient_is_permanent_without_connecting() {
    let sink = SmtpSink::start();
    let deliverer = deliverer(smtp(&sink, SmtpSecurity::None));
    let err = deliverer
        .deliver(&simple("not an address"))
        .expect_err("invalid");
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("not an address"), "{err}");
    let no_one = OutboundMessage::Email(EmailMessage::default());
    assert_eq!(
        deliverer.deliver(&no_one),
        Err(DeliveryError::Permanent("e-mail has no recipients".into()))
    );
}

#[test]
fn impossible_settings_are_refused_up_front() {
    let sink = SmtpSink::start();
    let mut bad_from = smtp(&sink, SmtpSecurity::None);
    bad_from.from = "alerts at example".into();
    let err = Deliverer::new(Channels {
        smtp: Some(bad_from),
        ..Channels::default()
    })
    .err()
    .expect("bad from");
    assert_eq!(err.channel, "smtp");
    assert!(err.to_string().contains("from"), "{err}");

    let mut half_credentials = smtp(&sink, SmtpSecurity::None);
    half_credentials.username = Some("alerts".into());
    assert!(
        Deliverer::new(Channels {
            smtp: Some(half_credentials),
            ..Channels::default()
        })
        .is_err()
    );
}

#[test]
fn several_messages_and_a_restart_keep_working() {
    let mut sink = SmtpSink::builder().auth("u", "p").starttls().start();
    let mut settings = smtp(&sink, SmtpSecurity::StartTls);
    settings.username = Some("u".into());
    settings.password = Some("p".into());
    settings.accept_invalid_certs = true;
    let deliverer = deliverer(settings);
    for i in 0..3 {
        deliverer
            .deliver(&simple(&format!("user{i}@example.test")))
            .expect("delivered");
    }
    assert_eq!(sink.wait_for(3, WAIT).len(), 3);
    let restarted = sink.restart();
    deliverer
        .deliver(&simple("again@example.test"))
        .expect("after restart");
    let mails = restarted.wait_for(1, WAIT);
    assert_eq!(mails[0].to, ["again@example.test"]);
}

#[test]
fn security_mismatches_are_explained() {
    let plain = SmtpSink::start();
    let err = deliverer(smtp(&plain, SmtpSecurity::StartTls))
        .deliver(&simple("ops@example.test"))
        .expect_err("no STARTTLS");
    assert_eq!(
        err.to_string(),
        format!(
            "SMTP 127.0.0.1:{}: the server does not offer STARTTLS (use security tls for an \
             implicit-TLS port, or none for a loopback relay)",
            plain.port()
        )
    );

    let err = deliverer(smtp(&plain, SmtpSecurity::Tls))
        .deliver(&simple("ops@example.test"))
        .expect_err("TLS to a plain port");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("may expect STARTTLS"), "{err}");
    assert!(plain.messages().is_empty());
}
