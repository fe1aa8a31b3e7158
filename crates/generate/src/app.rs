//! Application log of a web app with accounts, as JSON lines or CSV rows:
//! users log in, browse and call APIs at human pace and log out minutes
//! later; attacks are login brute force (D-01), API floods (D-02), login and
//! logout within seconds (D-03), page/API bot loops (D-04), bulk uploads
//! (exfiltration) and, in CSV, injection in the request path.

use crate::net;
use crate::payloads::{self, Enc, Sig};
use crate::rng::{Deck, Rng};
use crate::sched::{Sched, campaign_gap};
use crate::text::{
    push_csv_field, push_ip, push_iso_millis, push_iso_secs, push_json_escaped, push_u64,
};
use crate::window::{NEVER, note, room};
use crate::{Ctx, GenOptions, MB, OutputFormat, Truth};
use secmo_event::Category;
use std::net::IpAddr;

pub const CSV_HEADER: &str = "timestamp,ip,user,action,method,path,status,bytes,user_agent";

const FIRST: &[&str] = &[
    "maria", "james", "li", "fatima", "john", "aisha", "wei", "olga", "pedro", "sara", "tom",
    "yuki", "ahmed", "emma", "noah", "ines", "raj", "chloe", "igor", "zoe", "kofi", "lena", "omar",
    "ana",
];
const LAST: &[&str] = &[
    "garcia", "smith", "chen", "khan", "o'brien", "nguyen", "ivanova", "silva", "muller", "rossi",
    "tanaka", "okafor", "dubois", "kowalski", "patel", "jensen",
];
const APP_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36",
    "AcmeApp/3.4.1 (iOS 17.3; iPhone14,2)",
];
const ATTACK_UAS: &[&str] = &[
    "python-httpx/0.27.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.51 Safari/537.36",
    "Go-http-client/2.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
];
const PAGES: &[&str] = &[
    "/dashboard",
    "/orders",
    "/orders/",
    "/invoices",
    "/settings",
    "/reports/monthly",
    "/messages",
    "/profile",
    "/projects/",
    "/team",
    "/billing",
    "/help",
];
const APIS: &[(&str, &str)] = &[
    ("GET", "/api/v1/orders?page="),
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/projects/"),
    ("POST", "/api/v1/messages"),
    ("PUT", "/api/v1/profile"),
    ("GET", "/api/v1/reports/summary?month="),
    ("POST", "/api/v1/orders"),
];
const STATIC: &[&str] = &[
    "/static/app.css",
    "/static/app.js",
    "/favicon.ico",
    "/img/logo.png",
    "/static/fonts/inter.woff2",
];
const SPRAY_USERS: &[&str] = &[
    "admin",
    "root",
    "test",
    "administrator",
    "support",
    "info",
    "sales",
    "demo",
    "guest",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Action {
    LoginSuccess,
    LoginFailure,
    Logout,
    PageVisit,
    ApiRequest,
    /// A plain HTTP request row (CSV only): not an application action, so
    /// readers treat it as web traffic.
    HttpRequest,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::LoginSuccess => "LOGIN_SUCCESS",
            Action::LoginFailure => "LOGIN_FAILURE",
            Action::Logout => "LOGOUT",
            Action::PageVisit => "PAGE_VISIT",
            Action::ApiRequest => "API_REQUEST",
            Action::HttpRequest => "HTTP_REQUEST",
        }
    }
}

/// One application event, ready to render.
struct Record<'a> {
    ip: IpAddr,
    user: &'a str,
    action: Action,
    method: &'a str,
    path: &'a str,
    status: u16,
    bytes: u64,
    request_bytes: u64,
    ua: &'a str,
}

struct User {
    name: String,
    client: u32,
    ua: u8,
    active: bool,
    last_end: i64,
}

struct Client {
    ip: IpAddr,
    api: [i64; 3],
    fails: [i64; 2],
}

struct Session {
    user: u32,
    started: i64,
    logged_in: bool,
    steps_left: u8,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Camp {
    Brute,
    Flood,
    SessionAbuse,
    BotLoop,
    Upload,
    Sig(Sig),
}

struct Campaign {
    camp: Camp,
    ip: IpAddr,
    user: u32,
    left: u32,
    step: u32,
    ua: u8,
    success: bool,
    sub: u8,
    visits: u8,
}

enum Task {
    Arrivals,
    Session(Session),
    Planner,
    Campaign(Campaign),
}

const SESSION_LINES: f64 = 12.0;

pub struct App {
    csv: bool,
    header_pending: bool,
    sched: Sched<Task>,
    users: Vec<User>,
    clients: Vec<Client>,
    rate: f64,
    attack_rate: f64,
    rotation: Deck<Camp>,
    path: String,
    raw: String,
    scratch: String,
}

impl App {
    pub fn new(opts: &GenOptions, ctx: &mut Ctx) -> Self {
        let rng = &mut ctx.rng;
        let rate = opts.rate();
        let n_users = ((rate * 120.0) as usize).clamp(400, 50_000);
        let n_clients = n_users * 2 / 3;
        let clients: Vec<Client> = (0..n_clients)
            .map(|_| Client {
                ip: net::benign(rng, 0.15),
                api: [NEVER; 3],
                fails: [NEVER; 2],
            })
            .collect();
        let users = (0..n_users)
            .map(|i| {
                let mut name = String::new();
                name.push_str(FIRST[i % FIRST.len()]);
                name.push('.');
                name.push_str(LAST[(i / FIRST.len()) % LAST.len()]);
                if i >= FIRST.len() * LAST.len() {
                    push_u64(&mut name, (i / (FIRST.len() * LAST.len())) as u64);
                }
                User {
                    name,
                    client: rng.below(n_clients as u64) as u32,
                    ua: rng.below(APP_UAS.len() as u64) as u8,
                    active: false,
                    last_end: NEVER,
                }
            })
            .collect();
        let csv = opts.format == OutputFormat::Csv;
        let mut round = vec![
            Camp::Brute,
            Camp::Brute,
            Camp::Flood,
            Camp::SessionAbuse,
            Camp::BotLoop,
        ];
        if csv {
            round.extend([
                Camp::Sig(Sig::Sqli),
                Camp::Sig(Sig::Sqli),
                Camp::Sig(Sig::Xss),
            ]);
        } else {
            round.push(Camp::Upload);
        }
        let mut sched = Sched::new();
        let start = opts.start_ms;
        sched.push(start, Task::Arrivals);
        let attack_rate = opts.attack_rate();
        if attack_rate > 0.0 {
            sched.push(start + rng.range_i(20_000, 120_000), Task::Planner);
        }
        App {
            csv,
            header_pending: csv,
            sched,
            users,
            clients,
            rate,
            attack_rate,
            rotation: Deck::new(round),
            path: String::with_capacity(256),
            raw: String::with_capacity(256),
            scratch: String::with_capacity(256),
        }
    }

    pub fn next(&mut self, ctx: &mut Ctx, out: &mut String) -> Option<Truth> {
        if self.header_pending {
            self.header_pending = false;
            out.push_str(CSV_HEADER);
            return None;
        }
        loop {
            let (at, task) = self.sched.next(&mut ctx.now, || Task::Arrivals);
            match task {
                Task::Arrivals => {
                    self.sched.push(
                        at + ctx.rng.exp_ms(1000.0 * SESSION_LINES / self.rate),
                        Task::Arrivals,
                    );
                    // One session per user at a time, and a pause between sessions.
                    for _ in 0..8 {
                        let u = ctx.rng.below(self.users.len() as u64) as usize;
                        let user = &mut self.users[u];
                        if !user.active && at - user.last_end > 180_000 {
                            user.active = true;
                            let steps = ctx.rng.range(6, 18) as u8;
                            let s = Session {
                                user: u as u32,
                                started: at,
                                logged_in: false,
                                steps_left: steps,
                            };
                            self.sched.push(at, Task::Session(s));
                            break;
                        }
                    }
                }
                Task::Session(s) => {
                    if self.session_step(ctx, s, out) {
                        return None;
                    }
                }
                Task::Planner => {
                    let c = self.new_campaign(&mut ctx.rng);
                    let expected = f64::from(c.left)
                        * if c.camp == Camp::SessionAbuse {
                            3.0
                        } else {
                            1.0
                        };
                    self.sched.push(at, Task::Campaign(c));
                    let gap = campaign_gap(&mut ctx.rng, expected, self.attack_rate);
                    self.sched.push(at + gap, Task::Planner);
                }
                Task::Campaign(c) => {
                    if let Some(t) = self.campaign_step(ctx, c, out) {
                        return Some(t);
                    }
                }
            }
        }
    }

    /// One event of a benign session; false when it ended without a line.
    fn session_step(&mut self, ctx: &mut Ctx, mut s: Session, out: &mut String) -> bool {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        let u = s.user as usize;
        let ci = self.users[u].client as usize;
        self.path.clear();
        let (action, method, status, mut request_bytes);
        let next;
        request_bytes = 0;
        if !s.logged_in {
            self.path.push_str("/login");
            method = "POST";
            if rng.chance(0.07) && room(&self.clients[ci].fails, now, 300_000) {
                note(&mut self.clients[ci].fails, now);
                action = Action::LoginFailure;
                status = 401;
                next = Some(now + rng.range_i(4_000, 20_000));
            } else {
                action = Action::LoginSuccess;
                status = 200;
                s.logged_in = true;
                next = Some(now + rng.range_i(1_000, 8_000));
            }
        } else if s.steps_left == 0 && now - s.started >= 180_000 {
            self.users[u].active = false;
            self.users[u].last_end = now;
            if rng.chance(0.3) {
                // Closed the tab: the session just expires.
                return false;
            }
            self.path.push_str("/logout");
            action = Action::Logout;
            method = "POST";
            status = 302;
            next = None;
        } else {
            s.steps_left = s.steps_left.saturating_sub(1);
            // APIs at most three times per ten minutes per address: well under D-02 and D-04.
            if rng.chance(0.3) && room(&self.clients[ci].api, now, 600_000) {
                note(&mut self.clients[ci].api, now);
                let (m, p) = rng.pick(APIS);
                method = m;
                self.path.push_str(p);
                if p.ends_with('=') || p.ends_with('/') {
                    push_u64(&mut self.path, rng.range(1, 40));
                }
                if m != "GET" {
                    request_bytes = rng.range(200, 60_000);
                }
                action = Action::ApiRequest;
                status = if m == "POST" { 201 } else { 200 };
            } else if self.csv && rng.chance(0.25) {
                self.path.push_str(rng.pick(STATIC));
                method = "GET";
                action = Action::HttpRequest;
                status = if rng.chance(0.6) { 304 } else { 200 };
            } else {
                let p = rng.pick(PAGES);
                self.path.push_str(p);
                if p.ends_with('/') {
                    push_u64(&mut self.path, rng.range(100, 9_999));
                }
                method = "GET";
                action = Action::PageVisit;
                status = if rng.chance(0.01) { 404 } else { 200 };
            }
            next = Some(now + 4_000 + rng.exp_ms(25_000.0));
        }
        let bytes = match action {
            Action::PageVisit if status == 200 => rng.range(8_000, 80_000),
            Action::HttpRequest if status == 304 => 0,
            Action::HttpRequest => rng.range(1_000, 120_000),
            Action::ApiRequest => rng.range(200, 12_000),
            _ => rng.range(0, 400),
        };
        let rec = Record {
            ip: self.clients[ci].ip,
            user: &self.users[u].name,
            action,
            method,
            path: &self.path,
            status,
            bytes,
            request_bytes,
            ua: APP_UAS[usize::from(self.users[u].ua) % APP_UAS.len()],
        };
        render(out, ctx, self.csv, &rec);
        if let Some(at) = next {
            self.sched.push(at, Task::Session(s));
        }
        true
    }

    fn new_campaign(&mut self, rng: &mut Rng) -> Campaign {
        let camp = self.rotation.deal(rng).unwrap_or(Camp::Brute);
        // The account the attack uses: one not in a benign session now.
        let mut user = 0;
        for _ in 0..16 {
            user = rng.below(self.users.len() as u64) as u32;
            if !self.users[user as usize].active {
                break;
            }
        }
        let left = match camp {
            Camp::Brute => rng.range(10, 40),
            Camp::Flood => rng.range(30, 80),
            // Cycles of login, a visit or two, logout.
            Camp::SessionAbuse => rng.range(3, 6),
            // Page/API pairs.
            Camp::BotLoop => rng.range(10, 16) * 2,
            Camp::Upload => rng.range(8, 14) + 1,
            Camp::Sig(_) => rng.range(6, 15),
        };
        if matches!(camp, Camp::SessionAbuse | Camp::BotLoop | Camp::Upload) {
            let u = &mut self.users[user as usize];
            u.active = true;
        }
        Campaign {
            camp,
            ip: net::attacker(rng),
            user,
            left: left as u32,
            step: 0,
            ua: rng.below(ATTACK_UAS.len() as u64) as u8,
            success: rng.chance(0.2),
            sub: 0,
            visits: 0,
        }
    }

    fn campaign_step(&mut self, ctx: &mut Ctx, mut c: Campaign, out: &mut String) -> Option<Truth> {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        self.path.clear();
        let u = c.user as usize;
        let mut user: &str = &self.users[u].name;
        let mut method = "GET";
        let mut status = 200;
        let mut request_bytes = 0;
        let mut bytes = rng.range(200, 12_000);
        let attacker = c.ip.to_string();
        let mut label_user = true;
        let (action, category, gap) = match c.camp {
            Camp::Brute => {
                method = "POST";
                self.path.push_str("/login");
                // Half the campaigns spray common names, half hammer one account.
                if c.user.is_multiple_of(2) {
                    user = SPRAY_USERS[(c.step as usize + c.user as usize) % SPRAY_USERS.len()];
                    label_user = false;
                }
                if c.left == 1 && c.success {
                    (Action::LoginSuccess, Category::BruteForce, 0)
                } else {
                    status = 401;
                    (
                        Action::LoginFailure,
                        Category::BruteForce,
                        rng.range_i(1_500, 6_000),
                    )
                }
            }
            Camp::Flood => {
                let (m, p) = APIS[(c.step as usize) % 3];
                method = m;
                self.path.push_str(p);
                push_u64(&mut self.path, u64::from(c.step % 50 + 1));
                (Action::ApiRequest, Category::Flood, rng.range_i(500, 2_500))
            }
            Camp::SessionAbuse => {
                // Per cycle: login, 0-2 visits, logout, all inside half a minute.
                if c.sub == 0 {
                    method = "POST";
                    self.path.push_str("/login");
                    c.sub = 1;
                    c.visits = rng.range(0, 2) as u8;
                    (
                        Action::LoginSuccess,
                        Category::SessionAbuse,
                        rng.range_i(3_000, 12_000),
                    )
                } else if c.visits > 0 {
                    c.visits -= 1;
                    self.path.push_str(
                        PAGES[(c.step as usize * 5 + usize::from(c.visits)) % PAGES.len()],
                    );
                    (
                        Action::PageVisit,
                        Category::SessionAbuse,
                        rng.range_i(2_000, 10_000),
                    )
                } else {
                    method = "POST";
                    self.path.push_str("/logout");
                    status = 302;
                    c.sub = 0;
                    (
                        Action::Logout,
                        Category::SessionAbuse,
                        rng.range_i(30_000, 90_000),
                    )
                }
            }
            Camp::BotLoop => {
                if c.step.is_multiple_of(2) {
                    self.path
                        .push_str(PAGES[(c.step as usize / 2) % PAGES.len()]);
                    (
                        Action::PageVisit,
                        Category::BotPattern,
                        rng.range_i(800, 3_000),
                    )
                } else {
                    let (m, p) = APIS[(c.step as usize / 2) % 3];
                    method = m;
                    self.path.push_str(p);
                    push_u64(&mut self.path, u64::from(c.step));
                    (
                        Action::ApiRequest,
                        Category::BotPattern,
                        rng.range_i(20_000, 35_000),
                    )
                }
            }
            Camp::Upload => {
                if c.step == 0 {
                    method = "POST";
                    self.path.push_str("/login");
                    (
                        Action::LoginSuccess,
                        Category::Exfiltration,
                        rng.range_i(5_000, 20_000),
                    )
                } else {
                    method = if c.step.is_multiple_of(2) {
                        "PUT"
                    } else {
                        "POST"
                    };
                    self.path.push_str("/api/v1/files/upload?name=export-");
                    push_u64(&mut self.path, u64::from(c.step));
                    self.path.push_str(".zip");
                    request_bytes = rng.range(30 * MB, 60 * MB);
                    status = 201;
                    (
                        Action::ApiRequest,
                        Category::Exfiltration,
                        rng.range_i(15_000, 30_000),
                    )
                }
            }
            Camp::Sig(sig) => {
                payloads::random(sig, rng, &attacker, &mut self.raw);
                let enc = rng.pick(&[Enc::Plain, Enc::Percent, Enc::Plus, Enc::MixedCase]);
                self.path.push_str(if sig == Sig::Sqli {
                    "/orders?id="
                } else {
                    "/messages?subject="
                });
                payloads::encode(
                    enc,
                    &self.raw,
                    false,
                    rng,
                    &mut self.scratch,
                    &mut self.path,
                );
                status = rng.pick(&[200, 200, 400, 500]);
                // Probing is not a logged-in action: a plain request, no account.
                user = "-";
                label_user = false;
                (
                    Action::HttpRequest,
                    sig.category(),
                    rng.range_i(1_000, 8_000),
                )
            }
        };
        // A session-abuse cycle counts once, at its logout.
        if c.camp != Camp::SessionAbuse || action == Action::Logout {
            c.left = c.left.saturating_sub(1);
        }
        c.step += 1;
        if request_bytes > 0 {
            bytes = rng.range(100, 400);
        }
        let rec = Record {
            ip: c.ip,
            user,
            action,
            method,
            path: &self.path,
            status,
            bytes,
            request_bytes,
            ua: ATTACK_UAS[usize::from(c.ua) % ATTACK_UAS.len()],
        };
        render(out, ctx, self.csv, &rec);
        let truth = Truth {
            category,
            ip: attacker,
            user: label_user.then(|| user.to_string()),
        };
        if c.left > 0 {
            self.sched.push(now + gap.max(1), Task::Campaign(c));
        } else if matches!(c.camp, Camp::SessionAbuse | Camp::BotLoop | Camp::Upload) {
            self.users[u].active = false;
            self.users[u].last_end = now;
        }
        Some(truth)
    }
}

fn render(out: &mut String, ctx: &mut Ctx, csv: bool, r: &Record<'_>) {
    let t = ctx.stamp();
    if csv {
        push_iso_secs(out, &t);
        out.push(',');
        push_ip(out, r.ip);
        out.push(',');
        push_csv_field(out, r.user);
        out.push(',');
        out.push_str(r.action.as_str());
        out.push(',');
        out.push_str(r.method);
        out.push(',');
        push_csv_field(out, r.path);
        out.push(',');
        push_u64(out, u64::from(r.status));
        out.push(',');
        push_u64(out, r.bytes);
        out.push(',');
        push_csv_field(out, r.ua);
        return;
    }
    out.push_str("{\"timestamp\":\"");
    push_iso_millis(out, &t);
    out.push_str("\",\"ip_address\":\"");
    push_ip(out, r.ip);
    out.push_str("\",\"username\":\"");
    push_json_escaped(out, r.user);
    out.push_str("\",\"action\":\"");
    out.push_str(r.action.as_str());
    out.push_str("\",\"method\":\"");
    out.push_str(r.method);
    out.push_str("\",\"path\":\"");
    push_json_escaped(out, r.path);
    out.push_str("\",\"status\":");
    push_u64(out, u64::from(r.status));
    out.push_str(",\"bytes\":");
    push_u64(out, r.bytes);
    if r.request_bytes > 0 {
        out.push_str(",\"request_bytes\":");
        push_u64(out, r.request_bytes);
    }
    out.push_str(",\"user_agent\":\"");
    push_json_escaped(out, r.ua);
    out.push_str("\"}");
}

#[cfg(test)]
mod tests {
    use crate::{Category, GenOptions, Generator, OutputFormat};
    use std::collections::HashMap;

    #[test]
    fn csv_starts_with_its_header_and_session_abuse_is_quick() {
        let mut g = Generator::new(GenOptions {
            lines: 60_000,
            ..GenOptions::new(OutputFormat::Csv)
        });
        let mut line = String::new();
        assert_eq!(g.next_line(&mut line), Some(None));
        assert_eq!(line, super::CSV_HEADER);
        let mut login: HashMap<String, i64> = HashMap::new();
        let mut quick = 0;
        loop {
            line.clear();
            let Some(label) = g.next_line(&mut line) else {
                break;
            };
            let Some(l) = label.filter(|l| l.category == Category::SessionAbuse) else {
                continue;
            };
            let ms = secmo_event::parse_rfc3339(&line)
                .map(|(ms, _)| ms)
                .unwrap_or(0);
            let user = l.user.unwrap_or_default();
            if line.contains(",LOGIN_SUCCESS,") {
                login.insert(user, ms);
            } else if line.contains(",LOGOUT,") {
                let at = login.get(&user).copied().unwrap_or(i64::MIN / 2);
                assert!(ms - at < 60_000, "{line}");
                quick += 1;
            }
        }
        assert!(quick >= 3, "{quick} quick logouts");
    }
}
