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
