//! Traffic analytics like a web log analyser's: top IPs, pages, referrer
//! domains, user agents, status classes, logins and a timeline. Mergeable, so
//! parallel workers can each keep one.
//! CONTRACT (used by engine.rs): Default, observe, merge, finish.
//!
//! Memory is bounded whatever the input: every "top" list is a heavy-hitters
//! summary ([`heavy`]) over keys clipped to [`MAX_KEY_BYTES`], the distinct-IP
//! count turns into a HyperLogLog past [`IP_KEEP`]` * 2` IPs, and the timeline
//! coarsens its buckets. Counts are exact until a summary first overflows; after
//! that each list reports `max_error`, how far below the true count its counts
//! may be (at most events / (capacity / 2 + 1)).
//!
//! `observe` runs for every line: it allocates only when it meets a key it has
//! not counted yet, and looks keys up by `&str`.

mod heavy;
mod ips;
mod timeline;

pub use timeline::{Timeline, TimelineBucket};

use heavy::HeavyHitters;
use ips::IpStats;
use secmo_event::{Action, Event, EventKind};
use serde::Serialize;
use std::net::IpAddr;
use timeline::TimelineCounter;

/// Entries shown per top list.
pub const TOP_N: usize = 10;
/// Longer keys (paths, user agents) are cut to this many bytes before counting.
pub const MAX_KEY_BYTES: usize = 256;
/// Heavy-hitter capacities: a summary counts up to twice this many keys exactly
/// and keeps this many after pruning.
pub const IP_KEEP: usize = 32_768;
const PAGE_KEEP: usize = 4_096;
const NOT_FOUND_KEEP: usize = 1_024;
const REFERRER_KEEP: usize = 2_048;
const USER_AGENT_KEEP: usize = 2_048;
const AUTH_KEEP: usize = 1_024;

const KINDS: usize = 5;
const STATUS_SLOTS: usize = 1000;

fn kind_index(k: EventKind) -> usize {
    match k {
        EventKind::Http => 0,
        EventKind::Auth => 1,
        EventKind::App => 2,
        EventKind::Db => 3,
        EventKind::System => 4,
    }
}

const KIND_ORDER: [EventKind; KINDS] = [
    EventKind::Http,
    EventKind::Auth,
    EventKind::App,
    EventKind::Db,
    EventKind::System,
];

/// One stream's (or one worker's share of) traffic statistics.
#[derive(Debug, Clone)]
pub struct Analytics {
    events: u64,
    http_requests: u64,
    bytes_sent: u64,
    by_kind: [u64; KINDS],
    /// Index = HTTP status 0-999; status 0 (absent) is never counted.
    status: Box<[u64; STATUS_SLOTS]>,
    status_out_of_range: u64,
    ips: IpStats,
    pages: HeavyHitters<Box<str>>,
    not_found: HeavyHitters<Box<str>>,
    referrers: HeavyHitters<Box<str>>,
    user_agents: HeavyHitters<Box<str>>,
    auth: AuthCounter,
    timeline: TimelineCounter,
}

#[derive(Debug, Clone)]
struct AuthCounter {
    /// Per event kind: [successes, failures].
    logins: [[u64; 2]; KINDS],
    invalid_users: u64,
    too_many_failures: u64,
    privilege_changes: u64,
    failed_users: HeavyHitters<Box<str>>,
    failed_ips: HeavyHitters<IpAddr>,
}

impl Default for Analytics {
    fn default() -> Self {
        Analytics {
            events: 0,
            http_requests: 0,
            bytes_sent: 0,
            by_kind: [0; KINDS],
            status: Box::new([0; STATUS_SLOTS]),
            status_out_of_range: 0,
            ips: IpStats::new(IP_KEEP),
            pages: HeavyHitters::new(PAGE_KEEP),
            not_found: HeavyHitters::new(NOT_FOUND_KEEP),
            referrers: HeavyHitters::new(REFERRER_KEEP),
            user_agents: HeavyHitters::new(USER_AGENT_KEEP),
            auth: AuthCounter {
                logins: [[0; 2]; KINDS],
                invalid_users: 0,
                too_many_failures: 0,
                privilege_changes: 0,
                failed_users: HeavyHitters::new(AUTH_KEEP),
                failed_ips: HeavyHitters::new(AUTH_KEEP),
            },
            timeline: TimelineCounter::default(),
        }
    }
}

/// Traffic statistics of an analysis (`analytics` in the JSON output).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AnalyticsReport {
    pub totals: Totals,
    /// Events per `event.kind` (`http`, `auth`, `app`, `db`, `system`), kinds with no event left out.
    pub by_kind: Vec<KindCount>,
    /// Source IPs by number of events (HTTP requests, login attempts, ...).
    pub top_source_ips: TopList,
    /// Request paths without the query string, by number of events.
    pub top_pages: TopList,
    /// Paths answered with 404, by number of requests (what scanners probe for).
    pub top_not_found: TopList,
    /// Host part of the referrer URL, lower-cased; empty and `-` referrers left out.
    pub top_referrer_domains: TopList,
    pub top_user_agents: TopList,
    pub status_classes: StatusClasses,
    /// Every HTTP status seen, by code.
    pub status_codes: Vec<StatusCount>,
    pub auth: AuthSummary,
    pub timeline: Timeline,
}

/// Overall counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Every event (parsed line).
    pub events: u64,
    /// Events of kind `http`.
    pub http_requests: u64,
    /// Events with a status of 400 or more.
    pub http_errors: u64,
    /// Distinct source IPs over all events.
    pub unique_ips: u64,
    /// True when `unique_ips` is a HyperLogLog estimate (standard error about
    /// 0.4 %) rather than an exact count: more than 65,536 distinct IPs.
    pub unique_ips_estimated: bool,
    /// Sum of response sizes (`http.response.body.bytes`).
    pub bytes_sent: u64,
}

/// Events of one kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KindCount {
    pub kind: EventKind,
    pub count: u64,
}

/// A ranked list of values with counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TopList {
    /// 0 when the counts are exact. Otherwise too many distinct values were
    /// seen to count them all in bounded memory, and each count may be up to
    /// this much below the true count (never above it).
    pub max_error: u64,
    /// Largest count first; ties ordered by value. At most 10 entries.
    pub entries: Vec<TopEntry>,
}

/// One value of a top list.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TopEntry {
    /// The value as logged (attacker-controlled text; cut to 256 bytes).
    pub value: String,
    pub count: u64,
}

/// HTTP responses by class.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StatusClasses {
    /// 2xx and 3xx.
    pub allowed: u64,
    /// 401, 403 and 429: the server refused.
    pub blocked: u64,
    /// 404.
    pub not_found: u64,
    /// Other 4xx.
    pub other_client_error: u64,
    /// 5xx.
    pub server_error: u64,
    /// 1xx and codes outside 100-599.
    pub other: u64,
}

/// Responses with one status code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatusCount {
    pub status: u16,
    pub count: u64,
}

/// Authentication events.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AuthSummary {
    /// Events with `event.action` `login_success`.
    pub login_successes: u64,
    /// Events with `event.action` `login_failure`.
    pub login_failures: u64,
    /// Login attempts for users that do not exist (`invalid_user`).
    pub invalid_users: u64,
    /// Sessions closed after too many failures (`too_many_failures`).
    pub too_many_failures: u64,
    /// sudo / su (`privilege_change`).
    pub privilege_changes: u64,
    /// Successes and failures per event kind (`auth`: sshd, sudo; `app`: application logins), kinds with none left out.
    pub by_kind: Vec<LoginCount>,
    /// Users with the most failed logins.
    pub top_failed_users: TopList,
    /// Source IPs with the most failed logins.
    pub top_failed_ips: TopList,
}

/// Logins of one event kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoginCount {
    pub kind: EventKind,
    pub successes: u64,
    pub failures: u64,
}

fn own_str(s: &str) -> Box<str> {
    Box::from(s)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// The host of a referrer URL (`https://User@Example.com:8080/x` -> `Example.com`).
/// Byte searches (memchr) rather than `str` searches or byte loops: this runs
/// for every line.
fn referrer_host(r: &str) -> Option<&str> {
    let b = r.as_bytes();
    // Referrers are rarely padded: look at the ends before scanning.
    let mut start = if b.first()?.is_ascii_whitespace() {
        b.iter().position(|c| !c.is_ascii_whitespace())?
    } else {
        0
    };
    let end = if b.last()?.is_ascii_whitespace() {
        b.iter().rposition(|c| !c.is_ascii_whitespace())? + 1
    } else {
        b.len()
    };
    let s = b.get(start..end)?;
    if s == b"-" {
        return None;
    }
    let scheme = if s.starts_with(b"https://") {
        5
    } else if s.starts_with(b"http://") {
        4
    } else {
        s.iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
            .count()
    };
    if scheme > 0 && s.get(scheme..)?.starts_with(b"://") {
        start += scheme + 3;
    } else if s.starts_with(b"//") {
        start += 2;
    }
    let rest = b.get(start..end)?;
    // One pass to the end of the authority (a few dozen bytes: a plain loop
    // beats setting up vector searches), noting the last `@` and the first `:`
    // after it.
    let (mut host_from, mut colon) = (0, None);
    let mut authority_len = rest.len();
    for (i, &c) in rest.iter().enumerate() {
        match c {
            b'/' | b'?' | b'#' => {
                authority_len = i;
                break;
            }
            b'@' => (host_from, colon) = (i + 1, None),
            b':' if colon.is_none() => colon = Some(i),
            _ => {}
        }
    }
    let host = rest.get(host_from..authority_len)?;
    let mut host_len = if host.first() == Some(&b'[') {
        // IPv6 literal: keep the brackets, drop the port.
        memchr::memchr(b']', host).map_or(host.len(), |i| i + 1)
    } else {
        colon.map_or(host.len(), |c| c - host_from)
    };
    while host_len > 0 && host.get(host_len - 1) == Some(&b'.') {
        host_len -= 1;
    }
    if host_len == 0 {
        return None;
    }
    let from = start + host_from;
    // Every cut is next to an ASCII byte, so on a char boundary.
    r.get(from..from + host_len)
}

impl Analytics {
    /// Count one event. Called for every line.
    #[inline]
    pub fn observe(&mut self, ev: &Event) {
        self.events += 1;
        let kind = kind_index(ev.kind);
        if let Some(n) = self.by_kind.get_mut(kind) {
            *n += 1;
        }
        if ev.kind == EventKind::Http {
            self.http_requests += 1;
        }
        self.bytes_sent = self.bytes_sent.saturating_add(ev.bytes);
        if ev.status != 0 {
            match self.status.get_mut(usize::from(ev.status)) {
                Some(n) => *n += 1,
                None => self.status_out_of_range += 1,
            }
        }
        self.timeline.observe(ev.timestamp_ms, ev.status >= 400);
        if let Some(ip) = ev.source_ip {
            self.ips.add(ip);
        }
        if !ev.path.is_empty() {
            let path = clip(&ev.path, MAX_KEY_BYTES);
            self.pages.add(path, own_str);
            if ev.status == 404 {
                self.not_found.add(path, own_str);
            }
        }
        if let Some(host) = referrer_host(&ev.referrer) {
            self.add_referrer(host);
        }
        if !ev.user_agent.is_empty() {
            self.user_agents
                .add(clip(&ev.user_agent, MAX_KEY_BYTES), own_str);
        }
        match ev.action {
            Action::LoginSuccess | Action::LoginFailure => self.observe_login(ev, kind),
            Action::InvalidUser => self.auth.invalid_users += 1,
            Action::TooManyFailures => self.auth.too_many_failures += 1,
            Action::PrivilegeChange => self.auth.privilege_changes += 1,
            _ => {}
        }
    }

    fn add_referrer(&mut self, host: &str) {
        let host = clip(host, MAX_KEY_BYTES);
        if !host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.referrers.add(host, own_str);
            return;
        }
        // Lower-case on the stack; ASCII changes keep the bytes valid UTF-8.
        let mut buf = [0u8; MAX_KEY_BYTES];
        let Some(dst) = buf.get_mut(..host.len()) else {
            return;
        };
        dst.copy_from_slice(host.as_bytes());
        dst.make_ascii_lowercase();
        if let Ok(lower) = std::str::from_utf8(dst) {
            self.referrers.add(lower, own_str);
        }
    }

    fn observe_login(&mut self, ev: &Event, kind: usize) {
        let failed = ev.action == Action::LoginFailure;
        if let Some(slot) = self.auth.logins.get_mut(kind) {
            slot[usize::from(failed)] += 1;
        }
        if failed {
            if !ev.user.is_empty() {
                self.auth
                    .failed_users
                    .add(clip(&ev.user, MAX_KEY_BYTES), own_str);
            }
            if let Some(ip) = ev.source_ip {
                self.auth.failed_ips.add(&ip, |ip| *ip);
            }
        }
    }

    /// Add another share of the same stream. The result equals observing both
    /// shares in one `Analytics` (top-list counts exactly so while no list
    /// overflowed; within `max_error` after).
    pub fn merge(&mut self, other: Analytics) {
        self.events = self.events.saturating_add(other.events);
        self.http_requests = self.http_requests.saturating_add(other.http_requests);
        self.bytes_sent = self.bytes_sent.saturating_add(other.bytes_sent);
        for (a, b) in self.by_kind.iter_mut().zip(other.by_kind) {
            *a = a.saturating_add(b);
        }
        for (a, b) in self.status.iter_mut().zip(other.status.iter()) {
            *a = a.saturating_add(*b);
        }
        self.status_out_of_range = self
            .status_out_of_range
            .saturating_add(other.status_out_of_range);
        self.ips.merge(other.ips);
        self.pages.merge(other.pages);
        self.not_found.merge(other.not_found);
        self.referrers.merge(other.referrers);
        self.user_agents.merge(other.user_agents);
        let (a, b) = (&mut self.auth, other.auth);
        for (x, y) in a.logins.iter_mut().zip(b.logins) {
            x[0] = x[0].saturating_add(y[0]);
            x[1] = x[1].saturating_add(y[1]);
        }
        a.invalid_users = a.invalid_users.saturating_add(b.invalid_users);
        a.too_many_failures = a.too_many_failures.saturating_add(b.too_many_failures);
        a.privilege_changes = a.privilege_changes.saturating_add(b.privilege_changes);
        a.failed_users.merge(b.failed_users);
        a.failed_ips.merge(b.failed_ips);
        self.timeline.merge(other.timeline);
    }

    pub fn finish(self) -> AnalyticsReport {
        let mut classes = StatusClasses::default();
        let mut status_codes = Vec::new();
        let mut http_errors = 0u64;
        for (code, &n) in self.status.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let class = match code {
                200..=399 => &mut classes.allowed,
                401 | 403 | 429 => &mut classes.blocked,
                404 => &mut classes.not_found,
                400..=499 => &mut classes.other_client_error,
                500..=599 => &mut classes.server_error,
                _ => &mut classes.other,
            };
            *class += n;
            if code >= 400 {
                http_errors += n;
            }
            status_codes.push(StatusCount {
                status: code as u16,
                count: n,
            });
        }
        classes.other += self.status_out_of_range;
        http_errors += self.status_out_of_range;
        let (unique_ips, unique_ips_estimated) = self.ips.distinct();
        AnalyticsReport {
            totals: Totals {
                events: self.events,
                http_requests: self.http_requests,
                http_errors,
                unique_ips,
                unique_ips_estimated,
                bytes_sent: self.bytes_sent,
            },
            by_kind: KIND_ORDER
                .iter()
                .zip(self.by_kind)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| KindCount { kind: *k, count: n })
                .collect(),
            top_source_ips: top_ips(self.ips.counts()),
            top_pages: top_strings(&self.pages),
            top_not_found: top_strings(&self.not_found),
            top_referrer_domains: top_strings(&self.referrers),
            top_user_agents: top_strings(&self.user_agents),
            status_classes: classes,
            status_codes,
            auth: AuthSummary {
                login_successes: self.auth.logins.iter().map(|l| l[0]).sum(),
                login_failures: self.auth.logins.iter().map(|l| l[1]).sum(),
                invalid_users: self.auth.invalid_users,
                too_many_failures: self.auth.too_many_failures,
                privilege_changes: self.auth.privilege_changes,
                by_kind: KIND_ORDER
                    .iter()
                    .zip(self.auth.logins)
                    .filter(|(_, l)| l[0] + l[1] > 0)
                    .map(|(k, l)| LoginCount {
                        kind: *k,
                        successes: l[0],
                        failures: l[1],
                    })
                    .collect(),
                top_failed_users: top_strings(&self.auth.failed_users),
                top_failed_ips: top_ips(&self.auth.failed_ips),
            },
            timeline: self.timeline.finish(),
        }
    }
}

fn top_strings(h: &HeavyHitters<Box<str>>) -> TopList {
    TopList {
        max_error: h.max_error(),
        entries: h
            .top(TOP_N)
            .into_iter()
            .map(|(k, count)| TopEntry {
                value: k.to_string(),
                count,
            })
            .collect(),
    }
}

fn top_ips(h: &HeavyHitters<IpAddr>) -> TopList {
    TopList {
        max_error: h.max_error(),
        entries: h
            .top(TOP_N)
            .into_iter()
            .map(|(ip, count)| TopEntry {
                value: ip.to_string(),
                count,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
