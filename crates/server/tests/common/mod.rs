//! A real server on loopback for each test: its own data directory, port 0,
//! the built-in rules, and blocking HTTP clients.
#![allow(dead_code)]

use reqwest::blocking::{Client, Response};
use secmo_detect::RuleSet;
use secmo_detect::engine::Detector;
use secmo_server::config::{Config, SourceConfig};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start(configure: impl FnOnce(&mut Config, &Path)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        cfg.auth.admin_password = Some(ADMIN_PASSWORD.into());
        configure(&mut cfg, dir.path());
        let detector =
            Arc::new(Detector::new(&RuleSet::builtin().expect("rules")).expect("detector"));
        let (tx, rx) = std::sync::mpsc::channel();
        let discover_root = dir.path().join("no-such-root");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let result = rt.block_on(secmo_server::serve(secmo_server::ServeOptions {
                config: cfg,
                detector,
                demo: false,
                discover_root,
                on_listen: Some(Box::new(move |addr| {
                    let _ = tx.send(addr);
                })),
            }));
            if let Err(e) = result {
                eprintln!("test server stopped: {e:#}");
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server did not start listening within 30 s");
        TestServer { addr, dir }
    }

    /// A server watching one file `web.log` (created empty) as an access log.
    pub fn with_log(name: &str, format: &str) -> (TestServer, PathBuf) {
        let mut log = PathBuf::new();
        let name = name.to_string();
        let format = format.to_string();
        let server = TestServer::start(|cfg, dir| {
            log = dir.join(format!("{name}.log"));
            std::fs::write(&log, "").expect("create log");
            cfg.sources.push(SourceConfig {
                name: name.clone(),
                paths: vec![log.display().to_string()],
                format: Some(format.clone()),
            });
        });
        (server, log)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn anonymous(&self) -> Api {
        Api {
            base: format!("http://{}", self.addr),
            client: Client::builder()
                .cookie_store(true)
                .build()
                .expect("client"),
            csrf: None,
            token: None,
        }
    }

    pub fn login(&self, user: &str, password: &str) -> Api {
        let mut api = self.anonymous();
        let resp = api.post(
            "/api/auth/login",
            &serde_json::json!({"username": user, "password": password}),
        );
        assert_eq!(resp.status(), 200, "login as {user} failed");
        let body: Value = resp.json().expect("json");
        api.csrf = body["csrf_token"].as_str().map(String::from);
        api
    }

    /// Log in with an X-Forwarded-For address (for servers trusting loopback as a proxy).
    pub fn login_from(&self, ip: &str, user: &str, password: &str) -> Api {
        let mut api = self.anonymous();
        let resp = api
            .client
            .post(self.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .expect("login");
        assert_eq!(resp.status(), 200, "login as {user} failed");
        let body: Value = resp.json().expect("json");
        api.csrf = body["csrf_token"].as_str().map(String::from);
        api
    }

    pub fn admin(&self) -> Api {
        self.login("admin", ADMIN_PASSWORD)
    }

    /// Create a user with `role` and log in as them.
    pub fn user(&self, name: &str, role: &str) -> Api {
        let admin = self.admin();
        let password = format!("{name}-password-123");
        let r = admin.post(
            "/api/users",
            &serde_json::json!({"name": name, "role": role, "password": password}),
        );
        assert_eq!(r.status(), 200, "create user {name}");
        self.login(name, &password)
    }
}

pub struct Api {
    pub base: String,
    pub client: Client,
    pub csrf: Option<String>,
    pub token: Option<String>,
}

impl Api {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let mut rb = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(c) = &self.csrf {
            rb = rb.header("x-csrf-token", c);
        }
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }
    pub fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().expect("GET")
    }
    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        let status = r.status();
        let text = r.text().expect("body");
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).expect("json")
    }
    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::POST, path)
            .json(body)
            .send()
            .expect("POST")
    }
    pub fn patch(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .expect("PATCH")
    }
    pub fn delete(&self, path: &str) -> Response {
        self.req(reqwest::Method::DELETE, path)
            .send()
            .expect("DELETE")
    }
}

/// Poll `f` until it returns Some, for at most `secs` seconds.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open log");
    f.write_all(text.as_bytes()).expect("append");
}

/// An access-log line at the current time.
pub fn access_line(ip: &str, method: &str, target: &str, status: u16, ua: &str) -> String {
    let now = secmo_event::format_rfc3339(secmo_server::now_ms());
    // 2026-11-22T03:11:05.123Z → 22/Nov/2026:03:11:05 +0000
    let (date, time) = now.split_at(10);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let y = &date[0..4];
    let m: usize = date[5..7].parse().expect("month");
    let d = &date[8..10];
    let hms = &time[1..9];
    format!(
        "{ip} - - [{d}/{}/{y}:{hms} +0000] \"{method} {target} HTTP/1.1\" {status} 512 \"-\" \"{ua}\"\n",
        months[m - 1]
    )
}
