//! The outbox's JSON form of a message.

use secmo_notify::{Attachment, EmailMessage, InlineImage, OutboundMessage};

#[test]
fn bytes_are_base64_in_json_and_round_trip() {
    let message = OutboundMessage::Email(EmailMessage {
        to: vec!["a@example.test".into()],
        subject: "s".into(),
        text: "t".into(),
        html: Some("<img src=\"cid:c\">".into()),
        inline_images: vec![InlineImage {
            content_id: "c".into(),
            mime: "image/png".into(),
            bytes: vec![0, 1, 2, 253, 254, 255],
        }],
        attachments: vec![Attachment {
            filename: "r.pdf".into(),
            mime: "application/pdf".into(),
            bytes: b"%PDF".to_vec(),
        }],
    });
    let json = serde_json::to_value(&message).expect("serialises");
    assert_eq!(json["channel"], "email");
    assert_eq!(json["inline_images"][0]["bytes"], "AAEC/f7/");
    assert_eq!(json["attachments"][0]["bytes"], "JVBERg==");
    let back: OutboundMessage = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, message);
}

#[test]
fn invalid_base64_is_an_error_not_garbage() {
    let json = serde_json::json!({
        "channel": "email",
        "to": [], "subject": "", "text": "", "html": null, "attachments": [],
        "inline_images": [{"content_id": "c", "mime": "image/png", "bytes": "not base64!"}],
    });
    let err = serde_json::from_value::<OutboundMessage>(json).expect_err("invalid");
    assert!(err.to_string().contains("invalid base64"), "{err}");
}
