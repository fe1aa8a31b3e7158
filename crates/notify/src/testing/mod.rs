//! Loopback servers for end-to-end tests (feature `test-smtp`): a real SMTP
//! server ([`SmtpSink`]) and an HTTP receiver ([`HttpSink`]). Both bind
//! 127.0.0.1, record what they receive, and stop (releasing the port) on
//! [`SmtpSink::stop`] / [`HttpSink::stop`] or drop.
//!
//! Why our own SMTP server rather than `mailin-embedded`: its server runs
//! forever on its listener (no way to stop it and release the port, which
//! the "relay down, then back" tests need), and it sets up TLS from PEM
//! files with the process-default rustls provider. This one implements the
//! RFC 5321 commands a client uses (EHLO/HELO, STARTTLS, AUTH PLAIN/LOGIN,
//! MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), with a
//! self-signed certificate made by rcgen for STARTTLS or implicit TLS.

mod http;
mod smtp;

pub use http::{HttpReply, HttpSink, RecordedRequest};
pub use smtp::{ReceivedMail, SinkTls, SmtpSink, SmtpSinkBuilder};

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Lock, ignoring poisoning: a panicking session thread must not take the
/// test's assertions down with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Wait until `list` holds at least `n` items (signalled on `arrived`) or
/// `timeout` passed; returns what has arrived.
fn wait_for_items<T: Clone>(
    list: &Mutex<Vec<T>>,
    arrived: &Condvar,
    n: usize,
    timeout: Duration,
) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    let mut items = lock(list);
    while items.len() < n {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        items = match arrived.wait_timeout(items, deadline - now) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
    items.clone()
}

/// The MIME tree of a parsed message as `type[child,child]`
/// (`multipart/mixed[multipart/alternative[text/plain,text/html],application/pdf]`),
/// to assert a message's structure in one line. Start with `id` 0.
pub fn mime_tree(message: &mail_parser::Message<'_>, id: usize) -> String {
    use mail_parser::{MimeHeaders, PartType};
    let Some(part) = message.parts.get(id) else {
        return String::new();
    };
    let ctype = part
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        .unwrap_or_else(|| "text/plain".into());
    match &part.body {
        PartType::Multipart(children) => {
            let inner: Vec<String> = children
                .iter()
                .map(|&c| mime_tree(message, c as usize))
                .collect();
            format!("{ctype}[{}]", inner.join(","))
        }
        _ => ctype,
    }
}
