//! E-mail over SMTP with lettre (rustls, blocking transport).
//!
//! The message is built as
//!
//! ```text
//! multipart/mixed                  (only when there are attachments)
//! ├── multipart/alternative        (only when there is HTML)
//! │   ├── text/plain
//! │   └── multipart/related        (only when there are inline images)
//! │       ├── text/html            (refers to images as cid:<content_id>)
//! │       └── image/* …            (Content-ID: <content_id>, inline)
//! └── attachment …
//! ```
//!
//! so that every client shows something sensible: text-only clients the
//! plain part, HTML clients the page with its charts, and everyone the
//! attached report.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use lettre::Transport as _;
use lettre::message::header::ContentType;
use lettre::message::{Attachment as MimeAttachment, Mailbox, Message, MultiPart, SinglePart};
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};

use crate::error::{ConfigError, DeliveryError};
use crate::message::EmailMessage;
use crate::settings::{SmtpSecurity, SmtpSettings};

/// A configured SMTP relay. lettre's blocking transport opens one connection
/// per message: alerts are rare enough that pooling would mostly keep idle
/// connections that the relay closes anyway.
pub(crate) struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    endpoint: String,
    timeout: Duration,
}

impl Mailer {
    pub(crate) fn new(settings: &SmtpSettings) -> Result<Mailer, ConfigError> {
        let err = |m: String| ConfigError::new("smtp", m);
        if settings.host.trim().is_empty() {
            return Err(err("host is empty".into()));
        }
        if settings.port == 0 {
            return Err(err("port 0 is not a port".into()));
        }
        if settings.timeout.is_zero() {
            return Err(err("timeout must be longer than zero".into()));
        }
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| err(format!("invalid from address {:?}: {e}", settings.from)))?;

        let tls = match settings.security {
            SmtpSecurity::None => Tls::None,
            security => {
                let parameters = TlsParameters::builder(settings.host.clone())
                    .dangerous_accept_invalid_certs(settings.accept_invalid_certs)
                    .dangerous_accept_invalid_hostnames(settings.accept_invalid_certs)
                    .build_rustls()
                    .map_err(|e| err(format!("TLS setup failed: {e}")))?;
                if security == SmtpSecurity::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    // Required, not Opportunistic: a relay (or someone in
                    // the path) that drops STARTTLS must not get the
                    // password in clear.
                    Tls::Required(parameters)
                }
            }
        };

        let mut builder = SmtpTransport::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.clone()))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            (None, None) => {}
            _ => return Err(err("username and password must be given together".into())),
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            endpoint: settings.endpoint(),
            timeout: settings.timeout,
        })
    }

    pub(crate) fn send(&self, email: &EmailMessage) -> Result<(), DeliveryError> {
        let message = build_message(&self.from, email)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| classify(&self.endpoint, self.timeout, &e))
    }
}

/// The RFC 5322 message for `email`, From `from`. Public to the crate's
/// tests through [`crate::render_email`].
pub(crate) fn build_message(
    from: &Mailbox,
    email: &EmailMessage,
) -> Result<Message, DeliveryError> {
    if email.to.is_empty() {
        return Err(DeliveryError::Permanent(
            "e-mail has no recipients".to_string(),
        ));
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(email.subject.clone())
        .message_id(Some(message_id(from)));
    for to in &email.to {
        let mailbox: Mailbox = to.parse().map_err(|e| {
            DeliveryError::Permanent(format!("invalid recipient address {to:?}: {e}"))
        })?;
        builder = builder.to(mailbox);
    }

    let text = SinglePart::plain(email.text.clone());
    let body = match &email.html {
        None => Body::Single(text),
        Some(html) => {
            let html = SinglePart::html(html.clone());
            let html_part = if email.inline_images.is_empty() {
                Body::Single(html)
            } else {
                let mut related = MultiPart::related().singlepart(html);
                for image in &email.inline_images {
                    related = related.singlepart(
                        MimeAttachment::new_inline(image.content_id.clone())
                            .body(image.bytes.clone(), content_type(&image.mime)),
                    );
                }
                Body::Multi(related)
            };
            let alternative = MultiPart::alternative().singlepart(text);
            Body::Multi(match html_part {
                Body::Single(part) => alternative.singlepart(part),
                Body::Multi(part) => alternative.multipart(part),
            })
        }
    };
    let body = if email.attachments.is_empty() {
        body
    } else {
        let mut mixed = match body {
            Body::Single(part) => MultiPart::mixed().singlepart(part),
            Body::Multi(part) => MultiPart::mixed().multipart(part),
        };
        for attachment in &email.attachments {
            mixed = mixed.singlepart(
                MimeAttachment::new(attachment.filename.clone())
                    .body(attachment.bytes.clone(), content_type(&attachment.mime)),
            );
        }
        Body::Multi(mixed)
    };
    match body {
        Body::Single(part) => builder.singlepart(part),
        Body::Multi(part) => builder.multipart(part),
    }
    .map_err(|e| DeliveryError::Permanent(format!("cannot build the e-mail: {e}")))
}

/// `<random.time@sender-domain>`: unique without a hostname lookup, and in
/// the sender's domain as receivers expect.
fn message_id(from: &Mailbox) -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = std::hash::RandomState::new().build_hasher().finish();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("<{random:016x}.{now:x}@{}>", from.email.domain())
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

/// A MIME type from the outbox; a malformed one still delivers the bytes,
/// labelled as opaque, rather than losing the whole e-mail.
fn content_type(mime: &str) -> ContentType {
    ContentType::parse(mime).unwrap_or_else(|_| {
        ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
    })
}

/// Sorts lettre's error into retry or give up, and words it for a person
/// who has to fix the settings or the relay.
fn classify(
    endpoint: &str,
    timeout: Duration,
    error: &lettre::transport::smtp::Error,
) -> DeliveryError {
    if let Some(code) = error.status() {
        // lettre's source for a reply error is the server's own text.
        let reply = error.source().map(|s| s.to_string()).unwrap_or_default();
        let reply = format!("{code} {reply}").trim().to_string();
        if error.is_permanent() {
            let hint = if code.to_string() == "535" {
                "authentication failed (check the SMTP username and password)"
            } else {
                "the server refused the message"
            };
            return DeliveryError::Permanent(format!("SMTP {endpoint}: {hint}: {reply}"));
        }
        return DeliveryError::Transient(format!(
            "SMTP {endpoint}: temporary failure, will retry: {reply}"
        ));
    }
    if let Some(io) = find_io_error(error) {
        let what = match io.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                format!("timed out after {} s", timeout.as_secs_f64())
            }
            io::ErrorKind::ConnectionReset => "connection reset by the server".to_string(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof => {
                "the server closed the connection".to_string()
            }
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                "host unreachable".to_string()
            }
            _ => io.to_string(),
        };
        return DeliveryError::Transient(format!("SMTP {endpoint}: {what}"));
    }
    // lettre's own Display starts with its error kind ("internal client
    // error", "network error"), which tells a user nothing: use the causes.
    let detail = causes(error);
    let what = if detail.contains("certificate") {
        format!(
            "TLS handshake failed: {detail} (for a relay with a self-signed certificate, \
             set accept_invalid_certs)"
        )
    } else if detail.contains("corrupt message") || detail.contains("InvalidContentType") {
        format!(
            "TLS handshake failed: {detail} (the port may expect STARTTLS rather than TLS \
             from the first byte)"
        )
    } else if detail.contains("STARTTLS is not supported") {
        "the server does not offer STARTTLS (use security tls for an implicit-TLS port, \
         or none for a loopback relay)"
            .to_string()
    } else if detail.contains("No compatible authentication mechanism") {
        "the server offers no authentication mechanism secmo supports (PLAIN, LOGIN), \
         or none at all: remove the username and password if it needs none"
            .to_string()
    } else if detail.contains("failed to lookup address") {
        format!("cannot resolve the host name ({detail})")
    } else if error.is_tls() {
        format!("TLS failed: {detail}")
    } else {
        detail
    };
    DeliveryError::Transient(format!("SMTP {endpoint}: {what}"))
}

fn find_io_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            // An io::Error may itself wrap the real cause (rustls puts its
            // certificate error inside one): prefer the deepest io::Error
            // whose kind says something.
            if io.kind() != io::ErrorKind::Other && io.kind() != io::ErrorKind::InvalidData {
                return Some(io);
            }
        }
        current = e.source();
    }
    None
}

/// The error's causes, `cause: cause`, each text once; lettre's own text
/// only when it has none.
fn causes(error: &lettre::transport::smtp::Error) -> String {
    let mut text = String::new();
    let mut current = error.source();
    while let Some(e) = current {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        current = e.source();
    }
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}
