//! RFC 3164 auth.log of one internet-facing host: administrators logging in
//! over SSH (mostly public keys, a rare mistyped password), sudo and su with
//! the odd wrong password, CRON sessions every minute, and SSH password
//! guessing campaigns, some of which get in.

use crate::net;
use crate::rng::Rng;
use crate::sched::{Sched, campaign_gap};
use crate::text::{push_ip, push_syslog_time, push_u64};
use crate::window::{NEVER, note, room};
use crate::{Ctx, GenOptions, Pids, Truth};
use secmo_event::Category;
use std::net::IpAddr;

const HOST: &str = "web1";
/// The program and pid that log session starts and ends.
const LOGIND: (&str, Option<u32>) = ("systemd-logind", Some(612));

struct Admin {
    name: &'static str,
    uid: u32,
    ips: [IpAddr; 2],
    fails: [i64; 2],
    active: bool,
}

const ADMINS: &[(&str, u32)] = &[
    ("alice", 1000),
    ("bob", 1001),
    ("deploy", 1002),
    ("carol", 1003),
    ("ci-runner", 1004),
    ("backup", 1005),
    ("dmitri", 1006),
    ("priya", 1007),
    ("marco", 1008),
    ("fatima", 1009),
    ("kenji", 1010),
    ("sofia", 1011),
    ("ansible", 1012),
    ("monitoring", 1013),
    ("olu", 1014),
    ("hannah", 1015),
    ("wei", 1016),
    ("lucas", 1017),
    ("nadia", 1018),
    ("tomasz", 1019),
];
const COMMANDS: &[&str] = &[
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/systemctl status postgresql",
    "/usr/bin/apt update",
    "/usr/bin/apt upgrade -y",
    "/usr/bin/journalctl -u nginx --since today",
    "/usr/bin/tail -n 200 /var/log/nginx/error.log",
    "/usr/bin/docker ps",
    "/usr/bin/docker compose pull",
    "/usr/sbin/nginx -t",
    "/usr/bin/certbot renew --dry-run",
    "/bin/cat /etc/nginx/sites-enabled/shop.conf",
    "/usr/bin/du -sh /var/lib/postgresql",
];
const GUESSED_USERS: &[&str] = &[
    "admin",
    "test",
    "oracle",
    "ubuntu",
    "pi",
    "git",
    "postgres",
    "user",
    "guest",
    "support",
    "ftpuser",
    "ec2-user",
    "minecraft",
    "hadoop",
    "ansible",
    "jenkins",
    "debian",
    "centos",
    "tomcat",
    "nagios",
    "www-data",
    "steam",
    "teamspeak",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Typo,
    Accept,
    Opened,
    Logind,
    Work,
    Disconnect,
    Closed,
    LoggedOut,
    Removed,
}

struct Ssh {
    admin: u8,
    ip: IpAddr,
    pid: u32,
    port: u16,
    session: u32,
    password: bool,
    phase: Phase,
    work_left: u8,
    /// Lines still owed by the current piece of work (sudo: command, open, close).
    sub: u8,
    sub_kind: u8,
    cmd: u8,
}

struct Brute {
    ip: IpAddr,
    attempts_left: u32,
    /// 0 invalid users, 1 root, 2 mixed.
    mode: u8,
    pid: u32,
    port: u16,
    in_conn: u8,
    sub: u8,
    user: u8,
    gap: (i64, i64),
    success: bool,
}

enum Task {
    Arrivals,
    Cron { pid: u32, open: bool },
    Ssh(Ssh),
    Planner,
    Brute(Brute),
}

/// Lines per administrator SSH session, on average.
const SESSION_LINES: f64 = 17.0;

pub struct Syslog {
    sched: Sched<Task>,
    admins: Vec<Admin>,
    rate: f64,
    attack_rate: f64,
    pids: Pids,
    session: u32,
    msg: String,
}

impl Syslog {
    pub fn new(opts: &GenOptions, ctx: &mut Ctx) -> Self {
        let rng = &mut ctx.rng;
        let admins = ADMINS
            .iter()
            .map(|&(name, uid)| {
                let office = rng.range(1, 9) as u8;
                Admin {
                    name,
                    uid,
                    ips: [net::benign(rng, 0.1), net::in_block(rng, 10, 0, office)],
                    fails: [NEVER; 2],
                    active: false,
                }
            })
            .collect();
        let mut sched = Sched::new();
        let start = opts.start_ms;
        sched.push(start, Task::Arrivals);
        let first_minute = (start / 60_000 + 1) * 60_000;
        sched.push(
            first_minute + rng.range_i(0, 900),
            Task::Cron { pid: 0, open: true },
        );
        let attack_rate = opts.attack_rate();
        if attack_rate > 0.0 {
            sched.push(start + rng.range_i(30_000, 300_000), Task::Planner);
        }
        Syslog {
            sched,
            admins,
            rate: opts.rate(),
            attack_rate,
            pids: Pids::new(2000 + rng.below(20_000) as u32, 40),
            session: 1 + rng.below(400) as u32,
            msg: String::with_capacity(256),
        }
    }

    pub fn next(&mut self, ctx: &mut Ctx, out: &mut String) -> Option<Truth> {
        loop {
            let (at, task) = self.sched.next(&mut ctx.now, || Task::Arrivals);
            match task {
                Task::Arrivals => {
                    // Cron writes two lines a minute; sessions fill the rest of the rate.
                    let session_rate =
                        (self.rate - 2.0 / 60.0).max(self.rate * 0.2) / SESSION_LINES;
                    self.sched
                        .push(at + ctx.rng.exp_ms(1000.0 / session_rate), Task::Arrivals);
                    let free: Vec<usize> = (0..self.admins.len())
                        .filter(|&i| !self.admins[i].active)
                        .collect();
                    if free.is_empty() {
                        continue;
                    }
                    let a = ctx.rng.pick(&free);
                    self.admins[a].active = true;
                    let ip = self.admins[a].ips[ctx.rng.below(2) as usize];
                    let password = ctx.rng.chance(0.15);
                    let pid = self.pids.next(&mut ctx.rng);
                    self.session += 1;
                    let typo =
                        password && ctx.rng.chance(0.3) && room(&self.admins[a].fails, at, 300_000);
                    let s = Ssh {
                        admin: a as u8,
                        ip,
                        pid,
                        port: ctx.rng.range(32_768, 60_999) as u16,
                        session: self.session,
                        password,
                        phase: if typo { Phase::Typo } else { Phase::Accept },
                        work_left: ctx.rng.range(0, 4) as u8,
                        sub: 0,
                        sub_kind: 0,
                        cmd: 0,
                    };
                    self.sched.push(at, Task::Ssh(s));
                }
                Task::Cron { pid, open } => {
                    self.msg.clear();
                    let (pid, next_at) = if open {
                        let pid = self.pids.next(&mut ctx.rng);
                        self.msg.push_str("pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)");
                        (pid, at + ctx.rng.range_i(200, 2_500))
                    } else {
                        self.msg
                            .push_str("pam_unix(cron:session): session closed for user root");
                        (pid, (at / 60_000 + 1) * 60_000 + ctx.rng.range_i(0, 900))
                    };
                    write_line(out, ctx, "CRON", Some(pid), &self.msg);
                    self.sched.push(next_at, Task::Cron { pid, open: !open });
                    return None;
                }
                Task::Ssh(s) => {
                    if self.ssh_step(ctx, s, out) {
                        return None;
                    }
                }
                Task::Planner => {
                    let b = self.new_brute(&mut ctx.rng);
                    let expected = f64::from(b.attempts_left) * 2.3;
                    self.sched.push(at, Task::Brute(b));
                    let gap = campaign_gap(&mut ctx.rng, expected, self.attack_rate);
                    self.sched.push(at + gap, Task::Planner);
                }
                Task::Brute(b) => return Some(self.brute_step(ctx, b, out)),
            }
        }
    }

    /// One line of an administrator session; false when it ended silently.
    fn ssh_step(&mut self, ctx: &mut Ctx, mut s: Ssh, out: &mut String) -> bool {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        let a = usize::from(s.admin);
        let name = self.admins[a].name;
        let uid = self.admins[a].uid;
        self.msg.clear();
        let mut program = "sshd";
        let mut pid = Some(s.pid);
        let mut gap = rng.range_i(5, 60);
        match s.phase {
            Phase::Typo => {
                note(&mut self.admins[a].fails, now);
                self.ssh_auth("Failed password for ", name, s.ip, s.port);
                s.phase = Phase::Accept;
                gap = rng.range_i(3_000, 9_000);
            }
            Phase::Accept => {
                let verdict = if s.password {
                    "Accepted password for "
                } else {
                    "Accepted publickey for "
                };
                self.ssh_auth(verdict, name, s.ip, s.port);
                if !s.password {
                    self.msg.push_str(": ED25519 SHA256:");
                    const B64: &[u8] =
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                    // The key fingerprint is stable per administrator.
                    let mut x = u64::from(uid).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    for _ in 0..43 {
                        x = x.rotate_left(7).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ 0x94D0;
                        self.msg.push(char::from(B64[(x >> 58) as usize]));
                    }
                }
                s.phase = Phase::Opened;
            }
            Phase::Opened => {
                self.msg
                    .push_str("pam_unix(sshd:session): session opened for user ");
                self.user_uid(name, uid);
                self.msg.push_str(" by (uid=0)");
                s.phase = Phase::Logind;
            }
            Phase::Logind => {
                (program, pid) = LOGIND;
                self.msg.push_str("New session ");
                push_u64(&mut self.msg, u64::from(s.session));
                self.msg.push_str(" of user ");
                self.msg.push_str(name);
                self.msg.push('.');
                s.phase = Phase::Work;
                gap = rng.range_i(3_000, 40_000);
            }
            Phase::Work => {
                if s.sub == 0 {
                    if s.work_left == 0 {
                        s.phase = Phase::Disconnect;
                        self.sched
                            .push(now + rng.range_i(5_000, 90_000), Task::Ssh(s));
                        return false;
                    }
                    s.work_left -= 1;
                    s.cmd = rng.below(COMMANDS.len() as u64) as u8;
                    s.sub_kind = rng.weighted(&[80, 8, 12]) as u8;
                    s.sub = 3;
                }
                let tty = 0;
                (program, pid) = if s.sub_kind < 2 {
                    ("sudo", None)
                } else {
                    ("su", Some(s.pid + 7))
                };
                match (s.sub_kind, s.sub) {
                    // sudo: command, session opened, session closed.
                    (0, 3) => {
                        self.sudo_line(name, tty, "", COMMANDS[usize::from(s.cmd)]);
                    }
                    (0, 2) => {
                        self.msg.push_str(
                            "pam_unix(sudo:session): session opened for user root(uid=0) by ",
                        );
                        self.user_uid(name, uid);
                    }
                    (0, _) => {
                        self.msg
                            .push_str("pam_unix(sudo:session): session closed for user root");
                    }
                    // A mistyped sudo password, then the retry succeeds later.
                    (1, 3) => {
                        self.msg
                            .push_str("pam_unix(sudo:auth): authentication failure; logname=");
                        self.msg.push_str(name);
                        self.msg.push_str(" uid=");
                        push_u64(&mut self.msg, u64::from(uid));
                        self.msg.push_str(" euid=0 tty=/dev/pts/0 ruser=");
                        self.msg.push_str(name);
                        self.msg.push_str(" rhost=  user=");
                        self.msg.push_str(name);
                    }
                    (1, 2) => {
                        self.sudo_line(
                            name,
                            tty,
                            "1 incorrect password attempt ; ",
                            COMMANDS[usize::from(s.cmd)],
                        );
                    }
                    (1, _) => {
                        self.sudo_line(name, tty, "", COMMANDS[usize::from(s.cmd)]);
                    }
                    // su to root.
                    (_, 3) => {
                        self.msg.push_str("(to root) ");
                        self.msg.push_str(name);
                        self.msg.push_str(" on pts/0");
                    }
                    (_, 2) => {
                        self.msg.push_str(
                            "pam_unix(su-l:session): session opened for user root(uid=0) by ",
                        );
                        self.user_uid(name, uid);
                    }
                    (_, _) => {
                        self.msg
                            .push_str("pam_unix(su-l:session): session closed for user root");
                    }
                }
                s.sub -= 1;
                gap = if s.sub == 0 {
                    rng.range_i(10_000, 90_000)
                } else {
                    rng.range_i(2, 3_000)
                };
            }
            Phase::Disconnect => {
                self.msg.push_str("Received disconnect from ");
                self.ip_port(s.ip, s.port);
                self.msg.push_str(":11: disconnected by user");
                s.phase = Phase::Closed;
            }
            Phase::Closed => {
                self.msg
                    .push_str("pam_unix(sshd:session): session closed for user ");
                self.msg.push_str(name);
                s.phase = Phase::LoggedOut;
            }
            Phase::LoggedOut => {
                (program, pid) = LOGIND;
                self.msg.push_str("Session ");
                push_u64(&mut self.msg, u64::from(s.session));
                self.msg
                    .push_str(" logged out. Waiting for processes to exit.");
                s.phase = Phase::Removed;
            }
            Phase::Removed => {
                (program, pid) = LOGIND;
                self.msg.push_str("Removed session ");
                push_u64(&mut self.msg, u64::from(s.session));
                self.msg.push('.');
                self.admins[a].active = false;
                write_line(out, ctx, program, pid, &self.msg);
                return true;
            }
        }
        write_line(out, ctx, program, pid, &self.msg);
        self.sched.push(now + gap, Task::Ssh(s));
        true
    }

    /// `<verdict><user> from <ip> port <port> ssh2`: sshd's line for a password or key check.
    fn ssh_auth(&mut self, verdict: &str, user: &str, ip: IpAddr, port: u16) {
        self.msg.push_str(verdict);
        self.msg.push_str(user);
        self.from(ip, port);
        self.msg.push_str(" ssh2");
    }

    fn from(&mut self, ip: IpAddr, port: u16) {
        self.msg.push_str(" from ");
        self.ip_port(ip, port);
    }

    fn ip_port(&mut self, ip: IpAddr, port: u16) {
        push_ip(&mut self.msg, ip);
        self.msg.push_str(" port ");
        push_u64(&mut self.msg, u64::from(port));
    }

    fn user_uid(&mut self, name: &str, uid: u32) {
        self.msg.push_str(name);
        self.msg.push_str("(uid=");
        push_u64(&mut self.msg, u64::from(uid));
        self.msg.push(')');
    }

    fn sudo_line(&mut self, name: &str, tty: u32, note: &str, cmd: &str) {
        // `sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=...`
        for _ in name.len()..8 {
            self.msg.push(' ');
        }
        self.msg.push_str(name);
        self.msg.push_str(" : ");
        self.msg.push_str(note);
        self.msg.push_str("TTY=pts/");
        push_u64(&mut self.msg, u64::from(tty));
        self.msg.push_str(" ; PWD=/home/");
        self.msg.push_str(name);
        self.msg.push_str(" ; USER=root ; COMMAND=");
        self.msg.push_str(cmd);
    }

    fn new_brute(&mut self, rng: &mut Rng) -> Brute {
        let attempts = rng.range(20, 60);
        // Attempts paced over 30-90 s (plus the per-line delays): well over
        // 15 failures in some 2 minutes.
        let secs = rng.range(30, 90) as i64;
        let per = secs * 1000 / attempts as i64;
        Brute {
            ip: net::attacker(rng),
            attempts_left: attempts as u32,
            mode: rng.below(3) as u8,
            pid: 0,
            port: 0,
            in_conn: 0,
            sub: 0,
            user: rng.below(GUESSED_USERS.len() as u64) as u8,
            gap: (per / 2, per * 3 / 2),
            success: rng.chance(0.25),
        }
    }

    fn brute_step(&mut self, ctx: &mut Ctx, mut b: Brute, out: &mut String) -> Truth {
        let now = ctx.now;
        if b.in_conn == 0 && b.sub == 0 {
            // A new TCP connection: up to six password tries on it.
            b.pid = self.pids.next(&mut ctx.rng);
            b.port = ctx.rng.range(1_024, 65_000) as u16;
            b.in_conn = ctx.rng.range(1, 6) as u8;
        }
        let rng = &mut ctx.rng;
        let root = b.mode == 1 || (b.mode == 2 && b.user.is_multiple_of(2));
        let user = GUESSED_USERS[usize::from(b.user) % GUESSED_USERS.len()];
        self.msg.clear();
        let mut next_gap = rng.range_i(b.gap.0, b.gap.1).max(50);
        let last = b.attempts_left <= 1;
        let mut compromised_user = None;
        if last && b.success && b.sub == 0 {
            let name = if root { "root" } else { "admin" };
            compromised_user = Some(name);
            self.ssh_auth("Accepted password for ", name, b.ip, b.port);
            b.attempts_left = 0;
        } else if root {
            match b.sub {
                0 => {
                    self.ssh_auth("Failed password for ", "root", b.ip, b.port);
                    b.attempts_left = b.attempts_left.saturating_sub(1);
                    b.in_conn -= 1;
                    if b.in_conn == 0 {
                        b.sub = 1;
                        next_gap = rng.range_i(5, 200);
                    }
                }
                1 => {
                    self.msg.push_str("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=");
                    push_ip(&mut self.msg, b.ip);
                    self.msg.push_str("  user=root");
                    b.sub = 2;
                    next_gap = rng.range_i(5, 200);
                }
                _ => {
                    self.msg.push_str("Disconnecting authenticating user root ");
                    self.ip_port(b.ip, b.port);
                    self.msg
                        .push_str(": Too many authentication failures [preauth]");
                    b.sub = 0;
                }
            }
        } else {
            match b.sub {
                0 => {
                    self.msg.push_str("Invalid user ");
                    self.msg.push_str(user);
                    self.from(b.ip, b.port);
                    b.sub = 1;
                    next_gap = rng.range_i(100, 2_000);
                }
                1 => {
                    self.ssh_auth("Failed password for invalid user ", user, b.ip, b.port);
                    b.attempts_left = b.attempts_left.saturating_sub(1);
                    b.sub = 2;
                    next_gap = rng.range_i(5, 400);
                }
                _ => {
                    self.msg.push_str("Connection closed by invalid user ");
                    self.msg.push_str(user);
                    self.msg.push(' ');
                    self.ip_port(b.ip, b.port);
                    self.msg.push_str(" [preauth]");
                    b.sub = 0;
                    b.in_conn = 0;
                    b.user = b.user.wrapping_add(1 + rng.below(5) as u8);
                }
            }
        }
        write_line(out, ctx, "sshd", Some(b.pid), &self.msg);
        let truth = Truth {
            category: Category::BruteForce,
            ip: b.ip.to_string(),
            user: compromised_user.map(String::from),
        };
        if b.attempts_left > 0 || b.sub != 0 {
            self.sched.push(now + next_gap, Task::Brute(b));
        }
        truth
    }
}

fn write_line(out: &mut String, ctx: &mut Ctx, program: &str, pid: Option<u32>, msg: &str) {
    push_syslog_time(out, &ctx.stamp());
    out.push(' ');
    out.push_str(HOST);
    out.push(' ');
    out.push_str(program);
    if let Some(pid) = pid {
        out.push('[');
        push_u64(out, u64::from(pid));
        out.push(']');
    }
    out.push_str(": ");
    out.push_str(msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn a_brute_force_campaign_fails_often_and_fast() {
        let opts = GenOptions::new(crate::OutputFormat::Syslog);
        let mut ctx = Ctx {
            rng: Rng::new(5),
            now: opts.start_ms,
            shift: 0,
            last_stamp: i64::MIN,
        };
        let mut world = Syslog::new(&opts, &mut ctx);
        // Only the campaign under test in the queue.
        world.sched = Sched::new();
        for _ in 0..20 {
            let mut b = world.new_brute(&mut ctx.rng);
            let ip = b.ip.to_string();
            let mut fails = Vec::new();
            let mut out = String::new();
            loop {
                out.clear();
                let more = b.attempts_left > 0 || b.sub != 0;
                if !more {
                    break;
                }
                b = {
                    let t = world.brute_step(&mut ctx, b, &mut out);
                    assert!(out.contains(&ip), "{out}");
                    assert_eq!(t.category, Category::BruteForce);
                    if out.contains("Failed password") {
                        fails.push(ctx.now);
                    }
                    match world.sched.pop() {
                        Some((at, Task::Brute(next))) => {
                            ctx.now = at;
                            next
                        }
                        _ => break,
                    }
                };
            }
            let in_two_minutes = (0..fails.len())
                .map(|i| {
                    fails[i..]
                        .iter()
                        .take_while(|&&t| t - fails[i] < 120_000)
                        .count()
                })
                .max()
                .unwrap_or(0);
            assert!(
                in_two_minutes >= 15,
                "{in_two_minutes} failures in 2 minutes of {}",
                fails.len()
            );
        }
    }
}
