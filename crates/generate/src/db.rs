//! Database server logs: a MySQL 8 error log or a PostgreSQL stderr log
//! (`log_line_prefix = '%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '`,
//! `log_connections = on`). Benign: application connections, checkpoints,
//! slow queries, the odd constraint error and a rare mistyped password.
//! Attacks: password guessing from one address per campaign.

use crate::net;
use crate::rng::Rng;
use crate::sched::{Sched, campaign_gap};
use crate::text::{push_ip, push_mysql_time, push_pg_time, push_u64};
use crate::window::{NEVER, note, room};
use crate::{Ctx, GenOptions, OutputFormat, Pids, Truth};
use secmo_event::Category;
use std::net::IpAddr;

const APP_USERS: &[(&str, &str, &str)] = &[
    ("app", "shop", "rails"),
    ("app", "shop", "sidekiq"),
    ("report", "analytics", "metabase"),
    ("backup", "shop", "pg_dump"),
    ("grafana", "metrics", "grafana"),
];
const MYSQL_GUESSES: &[&str] = &[
    "root",
    "admin",
    "mysql",
    "test",
    "sa",
    "dbadmin",
    "backup",
    "user",
    "wordpress",
    "mysqladmin",
];
const PG_GUESSES: &[&str] = &[
    "postgres", "admin", "root", "test", "user", "odoo", "pgadmin", "sa", "dbuser", "guest",
];
const SLOW_QUERIES: &[&str] = &[
    "SELECT o.id, o.total FROM orders o WHERE o.customer_id = 4821 UNION ALL SELECT r.order_id, -r.amount FROM refunds r WHERE r.customer_id = 4821",
    "SELECT count(*) FROM events WHERE created_at > now() - interval '1 day'",
    "UPDATE products SET stock = stock - 1 WHERE id = 311 AND stock > 0",
    "SELECT p.name, sum(oi.qty) FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY p.name ORDER BY 2 DESC LIMIT 20",
    "DELETE FROM sessions WHERE expires_at < now()",
];

struct Client {
    ip: IpAddr,
    fails: [i64; 2],
}

struct Conn {
    client: u8,
    app: u8,
    pid: u32,
    port: u16,
    line: u32,
    step: u8,
    queries: u8,
    started: i64,
}

struct Brute {
    ip: IpAddr,
    attempts_left: u32,
    user: u8,
    pid: u32,
    port: u16,
    sub: u8,
    gap: (i64, i64),
    rotate_users: bool,
}

impl Brute {
    /// One password tried; some campaigns move on to the next user name.
    fn attempt_done(&mut self) {
        self.attempts_left -= 1;
        if self.rotate_users {
            self.user = self.user.wrapping_add(1);
        }
    }
}

enum Task {
    Arrivals,
    Conn(Conn),
    Checkpoint { start: bool },
    Planner,
    Brute(Brute),
}

pub struct Db {
    pg: bool,
    sched: Sched<Task>,
    clients: Vec<Client>,
    rate: f64,
    attack_rate: f64,
    pids: Pids,
    thread: u64,
    msg: String,
}

impl Db {
    pub fn new(opts: &GenOptions, ctx: &mut Ctx) -> Self {
        let rng = &mut ctx.rng;
        let clients = (0..6)
            .map(|_| {
                let c = rng.range(1, 4) as u8;
                Client {
                    ip: net::in_block(rng, 10, 0, c),
                    fails: [NEVER; 2],
                }
            })
            .collect();
        let mut sched = Sched::new();
        let start = opts.start_ms;
        sched.push(start, Task::Arrivals);
        sched.push(
            start + rng.range_i(0, 300_000),
            Task::Checkpoint { start: true },
        );
        let attack_rate = opts.attack_rate();
        if attack_rate > 0.0 {
            sched.push(start + rng.range_i(60_000, 600_000), Task::Planner);
        }
        Db {
            pg: opts.format == OutputFormat::Postgres,
            sched,
            clients,
            rate: opts.rate(),
            attack_rate,
            pids: Pids::new(10_000 + rng.below(50_000) as u32, 9),
            thread: 8 + rng.below(5_000),
            msg: String::with_capacity(256),
        }
    }

    pub fn next(&mut self, ctx: &mut Ctx, out: &mut String) -> Option<Truth> {
        loop {
            let (at, task) = self.sched.next(&mut ctx.now, || Task::Arrivals);
            match task {
                Task::Arrivals => {
                    let per_conn = if self.pg { 4.0 } else { 1.0 };
                    self.sched.push(
                        at + ctx.rng.exp_ms(1000.0 * per_conn / self.rate),
                        Task::Arrivals,
                    );
                    let pid = self.pids.next(&mut ctx.rng);
                    self.thread += 1;
                    let c = Conn {
                        client: ctx.rng.below(self.clients.len() as u64) as u8,
                        app: ctx.rng.below(APP_USERS.len() as u64) as u8,
                        pid,
                        port: ctx.rng.range(32_768, 60_999) as u16,
                        line: 1,
                        step: 0,
                        queries: ctx.rng.range(0, 2) as u8,
                        started: at,
                    };
                    self.sched.push(at, Task::Conn(c));
                }
                Task::Conn(c) => {
                    if self.conn_step(ctx, c, out) {
                        return None;
                    }
                }
                Task::Checkpoint { start } => {
                    self.msg.clear();
                    if self.pg {
                        if start {
                            self.msg.push_str("checkpoint starting: time");
                        } else {
                            self.msg.push_str("checkpoint complete: wrote ");
                            let buffers = ctx.rng.range(20, 4_000);
                            push_u64(&mut self.msg, buffers);
                            self.msg.push_str(" buffers (0.");
                            push_u64(&mut self.msg, ctx.rng.range(1, 9));
                            self.msg
                                .push_str("%); 0 WAL file(s) added, 0 removed, 1 recycled; write=");
                            push_u64(&mut self.msg, ctx.rng.range(1, 27));
                            self.msg.push('.');
                            push_u64(&mut self.msg, ctx.rng.range(100, 999));
                            self.msg.push_str(" s, sync=0.002 s, total=27.010 s; sync files=42, longest=0.001 s, average=0.001 s; distance=");
                            push_u64(&mut self.msg, buffers * 8);
                            self.msg.push_str(" kB, estimate=16384 kB");
                        }
                        pg_line(out, ctx, 812, 0, "", "", "", None, "LOG", &self.msg);
                    } else {
                        self.msg.push_str(if start {
                            "Plugin mysql_native_password reported: ''mysql_native_password' is deprecated and will be removed in a future release. Please use caching_sha2_password instead'"
                        } else {
                            "Page cleaner took 4132ms to flush 112 and evict 0 pages"
                        });
                        let (level, code, sub) = if start {
                            ("Warning", "MY-013360", "Server")
                        } else {
                            ("Note", "MY-011953", "InnoDB")
                        };
                        mysql_line(
                            out,
                            ctx,
                            if start { self.thread } else { 0 },
                            level,
                            code,
                            sub,
                            &self.msg,
                        );
                    }
                    let next = if start {
                        at + ctx.rng.range_i(20_000, 30_000)
                    } else {
                        at + 300_000 - 27_000
                    };
                    self.sched.push(next, Task::Checkpoint { start: !start });
                    return None;
                }
                Task::Planner => {
                    let b = self.new_brute(&mut ctx.rng);
                    let expected = f64::from(b.attempts_left) * if self.pg { 3.0 } else { 1.0 };
                    self.sched.push(at, Task::Brute(b));
                    let gap = campaign_gap(&mut ctx.rng, expected, self.attack_rate);
                    self.sched.push(at + gap, Task::Planner);
                }
                Task::Brute(b) => return Some(self.brute_step(ctx, b, out)),
            }
        }
    }

    /// One line of an application connection; false when it ended silently.
    fn conn_step(&mut self, ctx: &mut Ctx, mut c: Conn, out: &mut String) -> bool {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        let ci = usize::from(c.client);
        let ip = self.clients[ci].ip;
        let (user, db, app) = APP_USERS[usize::from(c.app) % APP_USERS.len()];
        self.msg.clear();
        if !self.pg {
            // The MySQL error log only hears of connections that go wrong.
            let r = rng.below(100);
            if r < 8 && room(&self.clients[ci].fails, now, 300_000) {
                note(&mut self.clients[ci].fails, now);
                self.mysql_access_denied(out, ctx, user, ip);
            } else if r < 70 {
                self.mysql_aborted(out, ctx, (user, db, ip), "an error");
            } else if r < 85 {
                self.msg.push_str("IP address '");
                push_ip(&mut self.msg, ip);
                self.msg
                    .push_str("' could not be resolved: Name or service not known");
                mysql_line(out, ctx, 0, "Warning", "MY-010055", "Server", &self.msg);
            } else {
                self.mysql_aborted(out, ctx, (user, db, ip), "timeout");
            }
            return true;
        }
        let mut next = Some(now + rng.range_i(1, 40));
        let mut severity = "LOG";
        let mut prefix_user = ("[unknown]", "[unknown]", "[unknown]");
        match c.step {
            0 => {
                push_connection_received(&mut self.msg, ip, c.port);
                c.step = 1;
            }
            1 => {
                prefix_user = (user, db, "[unknown]");
                if rng.chance(0.02) && room(&self.clients[ci].fails, now, 300_000) {
                    // A mistyped password in a console; the client retries on a new connection.
                    note(&mut self.clients[ci].fails, now);
                    severity = "FATAL";
                    push_password_failed(&mut self.msg, user);
                    next = None;
                } else {
                    self.msg.push_str("connection authorized: user=");
                    self.msg.push_str(user);
                    self.msg.push_str(" database=");
                    self.msg.push_str(db);
                    self.msg.push_str(" application_name=");
                    self.msg.push_str(app);
                    c.step = 2;
                    next = Some(now + rng.range_i(50, 20_000));
                }
            }
            2 if c.queries > 0 => {
                c.queries -= 1;
                prefix_user = (user, db, app);
                if rng.chance(0.3) {
                    severity = "ERROR";
                    self.msg.push_str(
                        "duplicate key value violates unique constraint \"users_email_key\"",
                    );
                } else {
                    self.msg.push_str("duration: ");
                    push_u64(&mut self.msg, rng.range(1_000, 9_000));
                    self.msg.push('.');
                    push_u64(&mut self.msg, rng.range(100, 999));
                    self.msg.push_str(" ms  statement: ");
                    self.msg
                        .push_str(SLOW_QUERIES[rng.below(SLOW_QUERIES.len() as u64) as usize]);
                }
                next = Some(now + rng.range_i(50, 20_000));
            }
            _ => {
                prefix_user = (user, db, app);
                let secs = ((now - c.started) / 1000).max(0) as u64;
                self.msg.push_str("disconnection: session time: 0:");
                push_pad2(&mut self.msg, secs / 60 % 60);
                self.msg.push(':');
                push_pad2(&mut self.msg, secs % 60);
                self.msg.push('.');
                push_u64(&mut self.msg, rng.range(100, 999));
                self.msg.push_str(" user=");
                self.msg.push_str(user);
                self.msg.push_str(" database=");
                self.msg.push_str(db);
                self.msg.push_str(" host=");
                push_ip(&mut self.msg, ip);
                self.msg.push_str(" port=");
                push_u64(&mut self.msg, u64::from(c.port));
                next = None;
            }
        }
        let line = c.line;
        c.line += 1;
        let client = Some(ip);
        pg_line(
            out,
            ctx,
            c.pid,
            line,
            prefix_user.0,
            prefix_user.1,
            prefix_user.2,
            client,
            severity,
            &self.msg,
        );
        if let Some(at) = next {
            self.sched.push(at, Task::Conn(c));
        }
        true
    }

    /// The user names password guessers try against this server.
    fn guesses(&self) -> &'static [&'static str] {
        if self.pg { PG_GUESSES } else { MYSQL_GUESSES }
    }

    /// `Access denied` for a failed login: the one failure MySQL logs by name.
    fn mysql_access_denied(&mut self, out: &mut String, ctx: &mut Ctx, user: &str, ip: IpAddr) {
        self.msg.push_str("Access denied for user '");
        self.msg.push_str(user);
        self.msg.push_str("'@'");
        push_ip(&mut self.msg, ip);
        self.msg.push_str("' (using password: YES)");
        mysql_line(
            out,
            ctx,
            self.thread,
            "Note",
            "MY-010926",
            "Server",
            &self.msg,
        );
    }

    /// A client connection that went away; `got` is what the server got
    /// (`an error`, `timeout`) while reading its packets.
    fn mysql_aborted(
        &mut self,
        out: &mut String,
        ctx: &mut Ctx,
        (user, db, ip): (&str, &str, IpAddr),
        got: &str,
    ) {
        self.msg.push_str("Aborted connection ");
        push_u64(&mut self.msg, self.thread);
        self.msg.push_str(" to db: '");
        self.msg.push_str(db);
        self.msg.push_str("' user: '");
        self.msg.push_str(user);
        self.msg.push_str("' host: '");
        push_ip(&mut self.msg, ip);
        self.msg.push_str("' (Got ");
        self.msg.push_str(got);
        self.msg.push_str(" reading communication packets).");
        mysql_line(
            out,
            ctx,
            self.thread,
            "Note",
            "MY-010914",
            "Server",
            &self.msg,
        );
    }

    fn new_brute(&mut self, rng: &mut Rng) -> Brute {
        let attempts = rng.range(20, 80);
        // Inside 1-4 minutes: at least 12 failures in any 5.
        let secs = rng.range(60, 240) as i64;
        let per = secs * 1000 / attempts as i64;
        let guesses = self.guesses().len();
        Brute {
            ip: net::attacker(rng),
            attempts_left: attempts as u32,
            user: rng.below(guesses as u64) as u8,
            pid: 0,
            port: 0,
            sub: 0,
            gap: (per / 2, per * 3 / 2),
            rotate_users: rng.chance(0.5),
        }
    }

    fn brute_step(&mut self, ctx: &mut Ctx, mut b: Brute, out: &mut String) -> Truth {
        let now = ctx.now;
        self.msg.clear();
        let mut gap = ctx.rng.range_i(b.gap.0, b.gap.1).max(20);
        let guesses = self.guesses();
        let user = guesses[usize::from(b.user) % guesses.len()];
        if !self.pg {
            self.thread += 1;
            self.mysql_access_denied(out, ctx, user, b.ip);
            b.attempt_done();
        } else {
            if b.sub == 0 {
                b.pid = self.pids.next(&mut ctx.rng);
                b.port = ctx.rng.range(1_024, 65_000) as u16;
            }
            let line = u32::from(b.sub) + 1;
            let (puser, pdb, severity) = match b.sub {
                0 => {
                    push_connection_received(&mut self.msg, b.ip, b.port);
                    b.sub = 1;
                    gap = ctx.rng.range_i(2, 30);
                    ("[unknown]", "[unknown]", "LOG")
                }
                1 => {
                    push_password_failed(&mut self.msg, user);
                    b.sub = 2;
                    gap = 0;
                    (user, "postgres", "FATAL")
                }
                _ => {
                    if user == "postgres" || user == "admin" {
                        self.msg.push_str("Connection matched file \"/etc/postgresql/16/main/pg_hba.conf\" line 102: \"host all all 0.0.0.0/0 scram-sha-256\"");
                    } else {
                        self.msg.push_str("Role \"");
                        self.msg.push_str(user);
                        self.msg.push_str("\" does not exist.");
                    }
                    b.sub = 0;
                    b.attempt_done();
                    (user, "postgres", "DETAIL")
                }
            };
            pg_line(
                out,
                ctx,
                b.pid,
                line,
                puser,
                pdb,
                "[unknown]",
                Some(b.ip),
                severity,
                &self.msg,
            );
        }
        let truth = Truth {
            category: Category::BruteForce,
            ip: b.ip.to_string(),
            user: Some(user.to_string()),
        };
        if b.attempts_left > 0 {
            self.sched.push(now + gap, Task::Brute(b));
        }
        truth
    }
}

fn push_pad2(out: &mut String, n: u64) {
    crate::text::push_pad(out, n, 2);
}

fn push_connection_received(msg: &mut String, ip: IpAddr, port: u16) {
    msg.push_str("connection received: host=");
    push_ip(msg, ip);
    msg.push_str(" port=");
    push_u64(msg, u64::from(port));
}

fn push_password_failed(msg: &mut String, user: &str) {
    msg.push_str("password authentication failed for user \"");
    msg.push_str(user);
    msg.push('"');
}

fn mysql_line(
    out: &mut String,
    ctx: &mut Ctx,
    thread: u64,
    level: &str,
    code: &str,
    subsystem: &str,
    msg: &str,
) {
    let micros = ctx.rng.below(1000) as u32;
    push_mysql_time(out, &ctx.stamp(), micros);
    out.push(' ');
    push_u64(out, thread);
    out.push_str(" [");
    out.push_str(level);
    out.push_str("] [");
    out.push_str(code);
    out.push_str("] [");
    out.push_str(subsystem);
    out.push_str("] ");
    out.push_str(msg);
}

#[allow(clippy::too_many_arguments)]
fn pg_line(
    out: &mut String,
    ctx: &mut Ctx,
    pid: u32,
    line: u32,
    user: &str,
    db: &str,
    app: &str,
    client: Option<IpAddr>,
    severity: &str,
    msg: &str,
) {
    push_pg_time(out, &ctx.stamp());
    out.push_str(" [");
    push_u64(out, u64::from(pid));
    out.push_str("]: [");
    push_u64(out, u64::from(line.max(1)));
    out.push_str("-1] user=");
    out.push_str(user);
    out.push_str(",db=");
    out.push_str(db);
    out.push_str(",app=");
    out.push_str(app);
    out.push_str(",client=");
    if let Some(ip) = client {
        push_ip(out, ip);
    }
    out.push(' ');
    out.push_str(severity);
    out.push_str(":  ");
    out.push_str(msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Generator;

    #[test]
    fn every_brute_force_line_names_the_client_and_a_user() {
        for format in [OutputFormat::Mysql, OutputFormat::Postgres] {
            let mut g = Generator::new(GenOptions {
                lines: 20_000,
                ..GenOptions::new(format)
            });
            let mut line = String::new();
            let mut seen = 0;
            while let Some(label) = g.next_line(&mut line) {
                if let Some(l) = label {
                    seen += 1;
                    let user = l.user.clone().unwrap_or_default();
                    assert!(!user.is_empty(), "{line}");
                    if format == OutputFormat::Postgres {
                        assert!(
                            line.contains(&format!("client={} ", l.attacker_ip)),
                            "{line}"
                        );
                    } else {
                        assert!(
                            line.contains(&format!(
                                "Access denied for user '{user}'@'{}'",
                                l.attacker_ip
                            )),
                            "{line}"
                        );
                    }
                }
                line.clear();
            }
            assert!(seen > 100, "{format}: {seen} attack lines");
        }
    }
}
