//! A loopback HTTP/1.1 receiver that records requests and answers from a
//! script (e.g. 503 then 200), for Slack, Telegram and webhook tests.

use super::lock;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// One answer the sink gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        HttpReply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `200 ok`, what Slack answers.
    pub fn ok() -> Self {
        HttpReply::new(200, "ok")
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as in the request line (`/bot123:abc/sendMessage`).
    pub path: String,
    /// In arrival order; names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Records every request on 127.0.0.1 and answers with the scripted
/// replies in order; once they run out, the last one is repeated (`200 ok`
/// if none were given). Stops on [`HttpSink::stop`] or drop.
pub struct HttpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

struct Shared {
    stopping: AtomicBool,
    requests: Mutex<Vec<RecordedRequest>>,
    arrived: Condvar,
    script: Mutex<VecDeque<HttpReply>>,
    last: Mutex<HttpReply>,
}

impl HttpSink {
    /// Always answers `200 ok`.
    pub fn start() -> HttpSink {
        HttpSink::with_replies(Vec::new())
    }

    /// Answers with `replies` in order, then repeats the last.
    pub fn with_replies(replies: Vec<HttpReply>) -> HttpSink {
        match HttpSink::try_start(replies) {
            Ok(sink) => sink,
            Err(e) => panic!("HttpSink: cannot start: {e}"),
        }
    }

    pub fn try_start(replies: Vec<HttpReply>) -> io::Result<HttpSink> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let last = replies.last().cloned().unwrap_or_else(HttpReply::ok);
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            script: Mutex::new(replies.into()),
            last: Mutex::new(last),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("http-sink-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(HttpSink {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the replies still to come.
    pub fn set_replies(&self, replies: Vec<HttpReply>) {
        if let Some(last) = replies.last() {
            *lock(&self.shared.last) = last.clone();
        }
        *lock(&self.shared.script) = replies.into();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Waits until at least `n` requests have arrived or `timeout` passed.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        super::wait_for_items(&self.shared.requests, &self.shared.arrived, n, timeout)
    }

    /// Stops listening and releases the port. Idempotent.
    pub fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                let _ = thread::Builder::new()
                    .name("http-sink-conn".to_string())
                    .spawn(move || {
                        let _ = serve(stream, &shared);
                    });
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

const MAX_HEAD: u64 = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request per connection (`Connection: close`): the clients under
/// test make one POST per message anyway.
fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let read = reader
            .by_ref()
            .take(MAX_HEAD)
            .read_until(b'\n', &mut head)?;
        if read == 0 {
            return Ok(());
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if head.len() as u64 > MAX_HEAD {
            return respond(stream, &HttpReply::new(431, "header too large"));
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return respond(stream, &HttpReply::new(413, "too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    // Pick the reply before recording, so that a test that waited for the
    // request sees the script already advanced.
    let reply = lock(&shared.script)
        .pop_front()
        .unwrap_or_else(|| lock(&shared.last).clone());
    lock(&shared.requests).push(RecordedRequest {
        method,
        path,
        headers,
        body,
    });
    shared.arrived.notify_all();
    respond(stream, &reply)
}

fn respond(mut stream: TcpStream, reply: &HttpReply) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    let has_type = reply
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if !has_type {
        let looks_json = reply.body.trim_start().starts_with(['{', '[']);
        out.push_str(if looks_json {
            "Content-Type: application/json\r\n"
        } else {
            "Content-Type: text/plain; charset=utf-8\r\n"
        });
    }
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
