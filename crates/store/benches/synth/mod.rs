//! Deterministic, realistic event rows for the store's bench and `examples/bigdb.rs`:
//! combined-format access log lines (90 %), sshd auth lines (9 %), database
//! lines (0.1 %); 1 % flagged (SQL injection); one line in 100k carries a rare token.

use secmo_event::Category;
use secmo_store::EventRow;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

pub const RARE_TOKEN: &str = "needle-7f3a";
const PATHS: [&str; 12] = [
    "/",
    "/index.html",
    "/products",
    "/products/item",
    "/cart",
    "/api/v1/orders",
    "/static/app.js",
    "/static/site.css",
    "/login",
    "/search",
    "/blog/post",
    "/images/logo.png",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
];
const REFERRERS: [&str; 4] = [
    "-",
    "https://www.google.com/",
    "https://example.com/products",
    "-",
];
static SQLI: [&str; 1] = ["web-sqli"];
static SQLI_CAT: [Category; 1] = [Category::Sqli];

pub struct Owned {
    pub ts: i64,
    pub ip: IpAddr,
    pub kind: &'static str,
    pub user: String,
    pub path: String,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub referrer: &'static str,
    pub agent: &'static str,
    pub raw: String,
    pub flagged: bool,
    /// Where the request path, referrer and user agent are in `raw` (HTTP
    /// rows): rows borrow them from the line, as the server's parsers do.
    pub at: [usize; 3],
}

pub struct Synth {
    state: u64,
    pub n: u64,
    pub ts: i64,
}

impl Synth {
    pub fn new(start_ts: i64) -> Synth {
        Synth {
            state: 0x9E37_79B9_7F4A_7C15,
            n: 0,
            ts: start_ts,
        }
    }
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// Fill `out` with `count` rows (reusing its strings); `ms_per_row` advances the clock.
    pub fn fill(&mut self, out: &mut Vec<Owned>, count: usize, ms_per_row: f64) {
        out.truncate(count);
        while out.len() < count {
            out.push(Owned {
                ts: 0,
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                kind: "http",
                user: String::new(),
                path: String::new(),
                status: None,
                bytes: None,
                referrer: "-",
                agent: "",
                raw: String::new(),
                flagged: false,
                at: [0; 3],
            });
        }
        for o in out.iter_mut() {
            self.n += 1;
            self.ts = 1_700_000_000_000 + (self.n as f64 * ms_per_row) as i64;
            let r = self.next();
            let hot = !r.is_multiple_of(4);
            let ipn = if hot {
                (r >> 8) % 1000
            } else {
                (r >> 8) % 200_000
            };
            let ip = Ipv4Addr::from(0x0A00_0000u32 + ipn as u32);
            o.ts = self.ts;
            o.ip = IpAddr::V4(ip);
            o.user.clear();
            o.path.clear();
            o.raw.clear();
            o.flagged = self.n % 100 == 7;
            let sel = (r >> 40) % 1000;
            if sel < 900 || o.flagged {
                o.kind = "http";
                let p = PATHS[((r >> 20) % PATHS.len() as u64) as usize];
                o.path.push_str(p);
                if (r >> 30).is_multiple_of(3) {
                    let _ = write!(o.path, "/{}", (r >> 33) % 5000);
                }
                o.status = Some(match (r >> 50) % 20 {
                    0 => 404,
                    1 => 301,
                    2 => 500,
                    _ => 200,
                });
                o.bytes = Some((r >> 12) % 50_000);
                o.referrer = REFERRERS[((r >> 44) % 4) as usize];
                o.agent = AGENTS[((r >> 46) % 4) as usize];
                let q = if o.flagged {
                    "?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"
                } else {
                    ""
                };
                let _ = write!(
                    o.raw,
                    "{ip} - - [14/Nov/2023:22:13:20 +0000] \"GET {}{q} HTTP/1.1\" {} {} \"{}\" \"{}\"",
                    o.path,
                    o.status.unwrap_or(0),
                    o.bytes.unwrap_or(0),
                    o.referrer,
                    o.agent
                );
                let agent_at = o.raw.len() - 1 - o.agent.len();
                o.at = [
                    o.raw.find("GET ").map_or(0, |i| i + 4),
                    agent_at - 3 - o.referrer.len(),
                    agent_at,
                ];
            } else if sel < 999 {
                o.kind = "auth";
                let _ = write!(o.user, "user{}", (r >> 20) % 300);
                o.status = None;
                o.bytes = None;
                o.referrer = "";
                o.agent = "";
                let _ = write!(
                    o.raw,
                    "Nov 14 22:13:20 web1 sshd[{}]: Failed password for {} from {ip} port {} ssh2",
                    (r >> 10) % 30000,
                    o.user,
                    (r >> 24) % 60000
                );
            } else {
                o.kind = "db";
                o.status = None;
                o.bytes = None;
                o.referrer = "";
                o.agent = "";
                let _ = write!(
                    o.raw,
                    "2023-11-14 22:13:20 UTC [{}] ERROR: syntax error at or near \"FROM\"",
                    r % 9999
                );
            }
            if self.n % 100_000 == 50_000 {
                o.raw.push(' ');
                o.raw.push_str(RARE_TOKEN);
            }
        }
    }
}

pub fn rows(v: &[Owned]) -> Vec<EventRow<'_>> {
    v.iter()
        .map(|o| {
            let http = o.kind == "http";
            let at = |i: usize, len: usize| {
                if http {
                    &o.raw[o.at[i]..o.at[i] + len]
                } else {
                    ""
                }
            };
            (
                o,
                http,
                at(0, o.path.len()),
                at(1, o.referrer.len()),
                at(2, o.agent.len()),
            )
        })
        .map(|(o, http, path, referrer, user_agent)| EventRow {
            ts_ms: o.ts,
            source: if o.kind == "http" { "nginx" } else { "auth" },
            file: "/var/log/nginx/access.log",
            line: 1,
            kind: o.kind,
            action: if o.kind == "http" {
                "request"
            } else {
                "login_failure"
            },
            outcome: "unknown",
            source_ip: Some(o.ip),
            user: &o.user,
            method: if http {
                &o.raw[o.at[0] - 4..o.at[0] - 1]
            } else {
                ""
            },
            path,
            query: "",
            status: o.status,
            bytes: o.bytes,
            referrer,
            user_agent,
            raw: &o.raw,
            rules: if o.flagged { &SQLI } else { &[] },
            categories: if o.flagged { &SQLI_CAT } else { &[] },
            blocked: false,
        })
        .collect()
}
