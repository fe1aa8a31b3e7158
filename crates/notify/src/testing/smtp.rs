//! A small, honest SMTP server (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH
//! with PLAIN and LOGIN) that records every message it accepts.

use super::lock;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The message as transmitted (RFC 5322, CRLF line ends), dot-unstuffed.
    pub data: String,
    /// Whether the session was under TLS (STARTTLS or implicit) at `DATA`.
    pub tls: bool,
    /// The user name that authenticated, if the session did.
    pub authenticated_as: Option<String>,
}

/// How the sink offers TLS, with a self-signed certificate for `localhost`
/// and `127.0.0.1` (clients need `accept_invalid_certs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinkTls {
    /// Plain SMTP; STARTTLS is not offered.
    #[default]
    None,
    /// Plain at first, STARTTLS offered; AUTH only after it.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// Options for an [`SmtpSink`]; see [`SmtpSink::builder`].
#[derive(Debug, Clone, Default)]
pub struct SmtpSinkBuilder {
    port: u16,
    credentials: Option<(String, String)>,
    tls: SinkTls,
    rejected: Vec<(String, u16)>,
}

impl SmtpSinkBuilder {
    /// Listen on this port (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Offer AUTH PLAIN and LOGIN, accept only these credentials (535
    /// otherwise), and require authentication before `MAIL`.
    pub fn auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((username.into(), password.into()));
        self
    }

    pub fn tls(mut self, tls: SinkTls) -> Self {
        self.tls = tls;
        self
    }

    /// Shorthand for `tls(SinkTls::StartTls)`.
    pub fn starttls(self) -> Self {
        self.tls(SinkTls::StartTls)
    }

    /// Shorthand for `tls(SinkTls::Implicit)`.
    pub fn implicit_tls(self) -> Self {
        self.tls(SinkTls::Implicit)
    }

    /// Answer `RCPT TO:<address>` with `code` (e.g. 550 for "no such user",
    /// 450 for "try later") instead of accepting it.
    pub fn reject_recipient(mut self, address: impl Into<String>, code: u16) -> Self {
        self.rejected
            .push((address.into().to_ascii_lowercase(), code));
        self
    }

    /// Binds 127.0.0.1 and starts serving. Panics if it cannot (a test
    /// helper: the test cannot go on anyway); see [`Self::try_start`].
    pub fn start(self) -> SmtpSink {
        match self.try_start() {
            Ok(sink) => sink,
            Err(e) => panic!("SmtpSink: cannot start: {e}"),
        }
    }

    pub fn try_start(self) -> io::Result<SmtpSink> {
        let tls = match self.tls {
            SinkTls::None => None,
            SinkTls::StartTls | SinkTls::Implicit => Some(self_signed_config()?),
        };
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        // Polled rather than blocking so that stop() needs no wake-up trick.
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let config = Arc::new(Config {
            options: self.clone(),
            tls,
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("smtp-sink-{}", addr.port()))
            .spawn(move || accept_loop(listener, config, accept_shared))?;
        Ok(SmtpSink {
            addr,
            options: self,
            shared,
            accept_thread: Some(accept_thread),
        })
    }
}

/// A real SMTP server on 127.0.0.1 for tests. Stops on [`SmtpSink::stop`]
/// or drop, releasing its port.
///
/// ```no_run
/// use secmo_notify::testing::SmtpSink;
/// use std::time::Duration;
/// let sink = SmtpSink::builder().auth("alerts", "pw").starttls().start();
/// // … point SmtpSettings at sink.addr() with security StartTls,
/// // accept_invalid_certs: true, username/password set …
/// let mails = sink.wait_for(1, Duration::from_secs(10));
/// ```
pub struct SmtpSink {
    addr: SocketAddr,
    options: SmtpSinkBuilder,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    messages: Mutex<Vec<ReceivedMail>>,
    arrived: Condvar,
    /// Clones of open sessions' sockets (by peer address), shut down by
    /// stop().
    sessions: Mutex<Vec<(SocketAddr, TcpStream)>>,
    auth_failures: AtomicUsize,
}

struct Config {
    options: SmtpSinkBuilder,
    tls: Option<Arc<ServerConfig>>,
}

impl SmtpSink {
    /// Plain SMTP, no authentication, on a free port.
    pub fn start() -> SmtpSink {
        SmtpSink::builder().start()
    }

    /// Plain SMTP, no authentication, on `port` (e.g. the port of a sink
    /// just stopped, to test a relay coming back).
    pub fn start_on(port: u16) -> SmtpSink {
        SmtpSink::builder().port(port).start()
    }

    pub fn builder() -> SmtpSinkBuilder {
        SmtpSinkBuilder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.messages).clone()
    }

    /// How many AUTH attempts were refused.
    pub fn auth_failures(&self) -> usize {
        self.shared.auth_failures.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages have arrived or `timeout` passed,
    /// and returns what has arrived (check its length).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        super::wait_for_items(&self.shared.messages, &self.shared.arrived, n, timeout)
    }

    /// Stops listening, closes open sessions and releases the port. The
    /// received messages stay readable. Idempotent.
    pub fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        for (_, session) in lock(&self.shared.sessions).drain(..) {
            let _ = session.shutdown(std::net::Shutdown::Both);
        }
    }

    /// A new sink with the same options on the same port (after
    /// [`Self::stop`]); it starts with no messages.
    pub fn restart(&mut self) -> SmtpSink {
        self.stop();
        self.options.clone().port(self.addr.port()).start()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn self_signed_config() -> io::Result<Arc<ServerConfig>> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(io::Error::other)?;
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    // An explicit provider: the process may have none installed as default.
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(io::Error::other)?;
    Ok(Arc::new(config))
}

fn accept_loop(listener: TcpListener, config: Arc<Config>, shared: Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if stream.set_nonblocking(false).is_err() {
                    continue;
                }
                if let Ok(clone) = stream.try_clone() {
                    lock(&shared.sessions).push((peer, clone));
                }
                let config = Arc::clone(&config);
                let shared = Arc::clone(&shared);
                let _ = thread::Builder::new()
                    .name("smtp-sink-session".to_string())
                    .spawn(move || {
                        // A session's I/O error only ends that session.
                        let _ = Session::run(stream, &config, &shared);
                        lock(&shared.sessions).retain(|(p, _)| *p != peer);
                    });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Longest command or text line accepted (RFC 5321 allows 1000 octets; a
/// little slack for clients that are not careful).
const MAX_LINE: u64 = 64 * 1024;
/// Largest message accepted, advertised as SIZE.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
const MAX_RECIPIENTS: usize = 100;
const NAME: &str = "localhost";

struct Session<'a> {
    reader: BufReader<Stream>,
    config: &'a Config,
    shared: &'a Shared,
    tls: bool,
    greeted: bool,
    user: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

impl<'a> Session<'a> {
    fn run(tcp: TcpStream, config: &'a Config, shared: &'a Shared) -> io::Result<()> {
        // A client that stalls mid-session must not keep the thread forever.
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(30)))?;
        let implicit = config.options.tls == SinkTls::Implicit;
        let stream = match (&config.tls, implicit) {
            (Some(tls), true) => Stream::Tls(Box::new(StreamOwned::new(
                ServerConnection::new(Arc::clone(tls)).map_err(io::Error::other)?,
                tcp,
            ))),
            _ => Stream::Plain(tcp),
        };
        let mut session = Session {
            reader: BufReader::new(stream),
            config,
            shared,
            tls: implicit,
            greeted: false,
            user: None,
            from: None,
            to: Vec::new(),
        };
        session.reply(&format!("220 {NAME} ESMTP secmo test sink ready"))?;
        session.serve()
    }

    fn serve(&mut self) -> io::Result<()> {
        loop {
            let Some(line) = self.read_line()? else {
                return Ok(());
            };
            let line = line.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match line.split_once(' ') {
                Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
                None => (line.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "EHLO" => self.ehlo()?,
                "HELO" => {
                    self.greeted = true;
                    self.reset();
                    self.reply(&format!("250 {NAME}"))?;
                }
                "STARTTLS" => {
                    if !self.starttls()? {
                        continue;
                    }
                }
                "AUTH" => self.auth(arg)?,
                "MAIL" => self.mail(arg)?,
                "RCPT" => self.rcpt(arg)?,
                "DATA" => self.data()?,
                "RSET" => {
                    self.reset();
                    self.reply("250 2.0.0 OK")?;
                }
                "NOOP" => self.reply("250 2.0.0 OK")?,
                "VRFY" => self.reply("252 2.5.2 Cannot VRFY user")?,
                "QUIT" => {
                    self.reply("221 2.0.0 Bye")?;
                    return Ok(());
                }
                _ => self.reply("502 5.5.2 Command not recognized")?,
            }
        }
    }

    fn auth_offered(&self) -> bool {
        // Credentials only over TLS when TLS is on offer, as real servers do.
        self.config.options.credentials.is_some()
            && (self.tls || self.config.options.tls == SinkTls::None)
    }

    fn ehlo(&mut self) -> io::Result<()> {
        self.greeted = true;
        self.reset();
        let mut lines = vec![
            format!("{NAME} greets you"),
            "8BITMIME".into(),
            "ENHANCEDSTATUSCODES".into(),
        ];
        lines.push(format!("SIZE {MAX_MESSAGE}"));
        if self.config.options.tls == SinkTls::StartTls && !self.tls {
            lines.push("STARTTLS".into());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        let last = lines.len() - 1;
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' }))
            .collect();
        self.write_raw(text.as_bytes())
    }

    /// Returns false when the session cannot go on.
    fn starttls(&mut self) -> io::Result<bool> {
        let Some(tls) = self.config.tls.clone().filter(|_| !self.tls) else {
            self.reply("502 5.5.1 STARTTLS not available")?;
            return Ok(true);
        };
        self.reply("220 2.0.0 Ready to start TLS")?;
        let placeholder = BufReader::new(Stream::Plain(self.placeholder()?));
        let reader = std::mem::replace(&mut self.reader, placeholder);
        // Anything the client pipelined after STARTTLS is dropped, as RFC
        // 3207 requires (it was sent in clear).
        let Stream::Plain(tcp) = reader.into_inner() else {
            return Ok(false);
        };
        let connection = ServerConnection::new(tls).map_err(io::Error::other)?;
        self.reader = BufReader::new(Stream::Tls(Box::new(StreamOwned::new(connection, tcp))));
        self.tls = true;
        // RFC 3207: forget everything learnt before the handshake.
        self.greeted = false;
        self.user = None;
        self.reset();
        Ok(true)
    }

    /// A stand-in stream while the real one is being wrapped.
    fn placeholder(&self) -> io::Result<TcpStream> {
        match self.reader.get_ref() {
            Stream::Plain(s) => s.try_clone(),
            Stream::Tls(s) => s.sock.try_clone(),
        }
    }

    fn auth(&mut self, arg: &str) -> io::Result<()> {
        if self.config.options.credentials.is_none() {
            return self.reply("502 5.5.1 AUTH not available");
        }
        if !self.auth_offered() {
            return self.reply("530 5.7.0 Must issue a STARTTLS command first");
        }
        if self.user.is_some() {
            return self.reply("503 5.5.1 Already authenticated");
        }
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_string())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let attempt = match mechanism.as_str() {
            "PLAIN" => {
                let Some(response) = self.challenge(initial, "")? else {
                    return Ok(());
                };
                let Some(decoded) = decode(&response) else {
                    return self.reply("501 5.5.2 Cannot decode response");
                };
                let mut parts = decoded.splitn(3, |&b| b == 0);
                let (_authzid, user, password) = (parts.next(), parts.next(), parts.next());
                match (user, password) {
                    (Some(user), Some(password)) => (
                        String::from_utf8_lossy(user).into_owned(),
                        String::from_utf8_lossy(password).into_owned(),
                    ),
                    _ => return self.reply("501 5.5.2 Malformed PLAIN response"),
                }
            }
            "LOGIN" => {
                let Some(user) = self.challenge(initial, "VXNlcm5hbWU6")? else {
                    return Ok(());
                };
                let Some(password) = self.challenge(None, "UGFzc3dvcmQ6")? else {
                    return Ok(());
                };
                match (decode(&user), decode(&password)) {
                    (Some(user), Some(password)) => (
                        String::from_utf8_lossy(&user).into_owned(),
                        String::from_utf8_lossy(&password).into_owned(),
                    ),
                    _ => return self.reply("501 5.5.2 Cannot decode response"),
                }
            }
            _ => return self.reply("504 5.5.4 Unrecognized authentication type"),
        };
        let expected = self.config.options.credentials.as_ref();
        if expected.is_some_and(|(user, password)| *user == attempt.0 && *password == attempt.1) {
            self.user = Some(attempt.0);
            self.reply("235 2.7.0 Authentication successful")
        } else {
            self.shared.auth_failures.fetch_add(1, Ordering::SeqCst);
            self.reply("535 5.7.8 Authentication credentials invalid")
        }
    }

    /// The client's base64 answer: `initial` if it sent one with the
    /// command, else after a `334 prompt`. `None` when the client cancelled
    /// (already answered).
    fn challenge(&mut self, initial: Option<String>, prompt: &str) -> io::Result<Option<String>> {
        let response = match initial {
            Some(i) if i != "=" => i,
            Some(_) => String::new(),
            None => {
                self.reply(&format!("334 {prompt}"))?;
                match self.read_line()? {
                    Some(line) => line.trim().to_string(),
                    None => return Err(io::ErrorKind::UnexpectedEof.into()),
                }
            }
        };
        if response == "*" {
            self.reply("501 5.7.0 Authentication cancelled")?;
            return Ok(None);
        }
        Ok(Some(response))
    }

    fn mail(&mut self, arg: &str) -> io::Result<()> {
        if !self.greeted {
            return self.reply("503 5.5.1 Send EHLO first");
        }
        if self.config.options.credentials.is_some() && self.user.is_none() {
            return self.reply("530 5.7.0 Authentication required");
        }
        if self.from.is_some() {
            return self.reply("503 5.5.1 Nested MAIL command");
        }
        let Some(address) = path_argument(arg, "FROM:") else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        self.from = Some(address);
        self.reply("250 2.1.0 OK")
    }

    fn rcpt(&mut self, arg: &str) -> io::Result<()> {
        if self.from.is_none() {
            return self.reply("503 5.5.1 Need MAIL first");
        }
        let Some(address) = path_argument(arg, "TO:") else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if self.to.len() >= MAX_RECIPIENTS {
            return self.reply("452 4.5.3 Too many recipients");
        }
        let lower = address.to_ascii_lowercase();
        if let Some((_, code)) = self
            .config
            .options
            .rejected
            .iter()
            .find(|(a, _)| *a == lower)
        {
            let text = if *code >= 500 {
                "5.1.1 Mailbox unavailable"
            } else {
                "4.2.1 Mailbox busy, try later"
            };
            return self.reply(&format!("{code} {text}"));
        }
        self.to.push(address);
        self.reply("250 2.1.5 OK")
    }

    fn data(&mut self) -> io::Result<()> {
        if self.to.is_empty() {
            return self.reply("503 5.5.1 Need RCPT first");
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>")?;
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let Some(line) = self.read_raw_line()? else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            // Dot-unstuffing (RFC 5321 4.5.2).
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() + line.len() > MAX_MESSAGE {
                too_big = true;
            } else {
                data.extend_from_slice(line);
            }
        }
        if too_big {
            self.reset();
            return self.reply("552 5.3.4 Message too big");
        }
        let mail = ReceivedMail {
            from: self.from.take().unwrap_or_default(),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&data).into_owned(),
            tls: self.tls,
            authenticated_as: self.user.clone(),
        };
        let queued = {
            let mut messages = lock(&self.shared.messages);
            messages.push(mail);
            messages.len()
        };
        self.shared.arrived.notify_all();
        self.reply(&format!("250 2.0.0 OK: queued as {queued}"))
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    fn read_raw_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let read = self
            .reader
            .by_ref()
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            if read as u64 >= MAX_LINE {
                self.reply("500 5.5.6 Line too long")?;
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            // EOF in the middle of a line: the client is gone.
            return Ok(None);
        }
        Ok(Some(line))
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        Ok(self
            .read_raw_line()?
            .map(|l| String::from_utf8_lossy(&l).into_owned()))
    }

    fn reply(&mut self, line: &str) -> io::Result<()> {
        self.write_raw(format!("{line}\r\n").as_bytes())
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }
}

/// `<address>` after `FROM:` / `TO:` (case-insensitive, optional space),
/// ignoring ESMTP parameters such as `BODY=8BITMIME` or `SIZE=…`.
fn path_argument(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_argument_parses_envelope_addresses() {
        assert_eq!(
            path_argument("FROM:<a@b.c>", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(
            path_argument("from: <a@b.c> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(path_argument("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_argument("TO:a@b.c", "TO:"), None);
        assert_eq!(path_argument("T", "TO:"), None);
    }
}
