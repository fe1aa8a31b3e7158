//! Synthetic log traffic with ground-truth labels, for demos and for
//! measuring detection: benign traffic that stays under every windowed
//! threshold, plus attack campaigns that exceed them (or carry signature
//! payloads), each from its own attacker address and labelled line by line.
//!
//! ```
//! use secmo_generate::{GenOptions, Generator, OutputFormat};
//! let mut g = Generator::new(GenOptions { lines: 3, ..GenOptions::new(OutputFormat::Access) });
//! let mut line = String::new();
//! while let Some(_label) = g.next_line(&mut line) {
//!     assert!(line.contains("HTTP/"));
//!     line.clear();
//! }
//! ```
//!
//! Time is simulated: lines are stamped from `start_ms` on, advancing at
//! about `rate_per_sec` benign lines per second (attacks and flash crowds
//! add to that). For live output (`--follow`), call [`Generator::set_clock`]
//! with the wall clock before writing each batch: the simulation is shifted
//! so the next lines carry that time, and timestamps never go backwards.

mod access;
mod app;
mod db;
mod net;
mod payloads;
mod rng;
mod sched;
mod syslog;
mod text;
mod window;

use secmo_event::Category;
use std::fmt;

/// The log format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OutputFormat {
    /// nginx/Apache combined access log.
    #[default]
    Access,
    /// RFC 3164 auth.log: sshd, sudo, su, CRON.
    Syslog,
    /// Application log, one JSON object per line.
    Json,
    /// MySQL 8 error log.
    Mysql,
    /// PostgreSQL stderr log.
    Postgres,
    /// Application log as CSV with a header line.
    Csv,
}

impl OutputFormat {
    pub const ALL: &'static [OutputFormat] = &[
        OutputFormat::Access,
        OutputFormat::Syslog,
        OutputFormat::Json,
        OutputFormat::Mysql,
        OutputFormat::Postgres,
        OutputFormat::Csv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Access => "access",
            OutputFormat::Syslog => "syslog",
            OutputFormat::Json => "json",
            OutputFormat::Mysql => "mysql",
            OutputFormat::Postgres => "postgres",
            OutputFormat::Csv => "csv",
        }
    }

    /// Parse a format name (case-insensitive; `auth`, `app`, `postgresql` accepted too).
    pub fn parse(s: &str) -> Option<OutputFormat> {
        let s = s.to_ascii_lowercase();
        Some(match s.as_str() {
            "access" | "combined" | "nginx" | "apache" => OutputFormat::Access,
            "syslog" | "auth" | "authlog" => OutputFormat::Syslog,
            "json" | "app" => OutputFormat::Json,
            "mysql" => OutputFormat::Mysql,
            "postgres" | "postgresql" | "pg" => OutputFormat::Postgres,
            "csv" => OutputFormat::Csv,
            _ => return None,
        })
    }

    /// Benign lines per second when [`GenOptions::rate_per_sec`] is 0.
    ///
    /// Access is 20/s so that 100k lines span over an hour: the traffic-spike
    /// rule needs 30 one-minute buckets of baseline before a spike counts.
    pub fn default_rate(self) -> f64 {
        match self {
            OutputFormat::Access => 20.0,
            OutputFormat::Syslog => 1.0,
            OutputFormat::Json | OutputFormat::Csv => 5.0,
            OutputFormat::Mysql => 0.5,
            OutputFormat::Postgres => 2.0,
        }
    }

    /// The attack categories this format's generator injects.
    pub fn categories(self) -> &'static [Category] {
        use Category::*;
        match self {
            OutputFormat::Access => &[
                Sqli,
                Xss,
                PathTraversal,
                CommandInjection,
                Log4shell,
                Scanner,
                SensitiveFile,
                BruteForce,
                Flood,
                Scraping,
                ErrorBurst,
                Exfiltration,
                TrafficSpike,
            ],
            OutputFormat::Syslog | OutputFormat::Mysql | OutputFormat::Postgres => &[BruteForce],
            OutputFormat::Json => &[BruteForce, Flood, SessionAbuse, BotPattern, Exfiltration],
            OutputFormat::Csv => &[BruteForce, Flood, SessionAbuse, BotPattern, Sqli, Xss],
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    pub format: OutputFormat,
    /// Same seed, same options: same bytes.
    pub seed: u64,
    /// Time of the first line, milliseconds since the epoch (UTC).
    pub start_ms: i64,
    /// Lines to write; 0 = unlimited (for `--follow`).
    pub lines: u64,
    /// False: benign traffic only, no labels.
    pub attacks: bool,
    /// Roughly the share of lines that belong to attacks (flash crowds excepted).
    pub attack_share: f64,
    /// Benign lines per second of simulated time; 0 = the format's default.
    pub rate_per_sec: f64,
}

impl GenOptions {
    /// Defaults: seed 1, start 2024-03-01T12:00:00Z, 100k lines, 3% attacks, default rate.
    pub fn new(format: OutputFormat) -> Self {
        GenOptions {
            format,
            seed: 1,
            start_ms: 1_709_294_400_000,
            lines: 100_000,
            attacks: true,
            attack_share: 0.03,
            rate_per_sec: 0.0,
        }
    }

    fn rate(&self) -> f64 {
        if self.rate_per_sec > 0.0 && self.rate_per_sec.is_finite() {
            self.rate_per_sec
        } else {
            self.format.default_rate()
        }
    }

    /// Expected attack lines per second of simulated time (0 when attacks are off).
    fn attack_rate(&self) -> f64 {
        let share = if self.attack_share.is_finite() {
            self.attack_share.clamp(0.0, 0.5)
        } else {
            0.0
        };
        if !self.attacks || share <= 0.0 {
            return 0.0;
        }
        share / (1.0 - share) * self.rate()
    }
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions::new(OutputFormat::Access)
    }
}

/// Ground truth for one line that belongs to an attack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// 1-based line number in the generated output.
    pub line: u64,
    pub category: Category,
    /// The attacker's address as written in the line; `-` for a traffic spike.
    pub attacker_ip: String,
    /// The account the attack targets or abuses, where there is one.
    pub user: Option<String>,
}

/// Header line of the labels file.
pub const LABELS_HEADER: &str = "line\tcategory\tattacker_ip\tuser";

impl Label {
    /// One TSV row (no newline): `line category attacker_ip user` (`-` for no user).
    pub fn to_tsv(&self) -> String {
        let mut s = String::with_capacity(48);
        self.push_tsv(&mut s);
        s
    }

    /// Append the TSV row (no newline) to `out`.
    pub fn push_tsv(&self, out: &mut String) {
        text::push_u64(out, self.line);
        out.push('\t');
        out.push_str(self.category.as_str());
        out.push('\t');
        out.push_str(&self.attacker_ip);
        out.push('\t');
        match &self.user {
            // Tabs or newlines in a user name would break the row.
            Some(u) if !u.is_empty() => {
                out.extend(u.chars().map(|c| if c.is_control() { '_' } else { c }))
            }
            _ => out.push('-'),
        }
    }
}

/// Write the labels header and a row per label, newline-terminated.
pub fn write_labels<W: std::io::Write>(mut w: W, labels: &[Label]) -> std::io::Result<()> {
    writeln!(w, "{LABELS_HEADER}")?;
    let mut row = String::new();
    for l in labels {
        row.clear();
        l.push_tsv(&mut row);
        row.push('\n');
        w.write_all(row.as_bytes())?;
    }
    Ok(())
}

/// Bytes in a (decimal) megabyte, for transfer sizes.
pub(crate) const MB: u64 = 1_000_000;

/// What a format's world hands back for a line: its category, attacker and user.
pub(crate) struct Truth {
    pub category: Category,
    pub ip: String,
    pub user: Option<String>,
}

/// State every format shares: randomness and the clock.
pub(crate) struct Ctx {
    pub rng: rng::Rng,
    /// Simulated time of the task being run.
    pub now: i64,
    /// Added to simulated time when stamping (moved by `set_clock`).
    pub shift: i64,
    pub last_stamp: i64,
}

impl Ctx {
    /// The time to write on the current line: never before the previous line's.
    pub fn stamp(&mut self) -> text::Civil {
        let ts = (self.now + self.shift).max(self.last_stamp);
        self.last_stamp = ts;
        text::Civil::from_ms(ts)
    }
}

/// Process ids on a busy host: each new process a few ids after the last,
/// wrapping round as the kernel does.
pub(crate) struct Pids {
    last: u32,
    max_step: u64,
}

impl Pids {
    /// Starting after `first`, each id 1 to `max_step` past the previous.
    pub fn new(first: u32, max_step: u64) -> Self {
        Pids {
            last: first,
            max_step,
        }
    }

    pub fn next(&mut self, rng: &mut rng::Rng) -> u32 {
        self.last += 1 + rng.below(self.max_step) as u32;
        if self.last > 4_000_000 {
            self.last = 1000;
        }
        self.last
    }
}

enum World {
    Access(Box<access::Access>),
    Syslog(Box<syslog::Syslog>),
    App(Box<app::App>),
    Db(Box<db::Db>),
}

/// A deterministic line generator (see the crate docs).
pub struct Generator {
    opts: GenOptions,
    ctx: Ctx,
    world: World,
    line: u64,
}

impl Generator {
    pub fn new(opts: GenOptions) -> Self {
        let mut ctx = Ctx {
            rng: rng::Rng::new(opts.seed ^ 0x5EC0_0000_0000_0000 ^ (opts.format as u64) << 48),
            now: opts.start_ms,
            shift: 0,
            last_stamp: i64::MIN,
        };
        let world = match opts.format {
            OutputFormat::Access => World::Access(Box::new(access::Access::new(&opts, &mut ctx))),
            OutputFormat::Syslog => World::Syslog(Box::new(syslog::Syslog::new(&opts, &mut ctx))),
            OutputFormat::Json | OutputFormat::Csv => {
                World::App(Box::new(app::App::new(&opts, &mut ctx)))
            }
            OutputFormat::Mysql | OutputFormat::Postgres => {
                World::Db(Box::new(db::Db::new(&opts, &mut ctx)))
            }
        };
        Generator {
            opts,
            ctx,
            world,
            line: 0,
        }
    }

    pub fn options(&self) -> &GenOptions {
        &self.opts
    }

    /// Lines produced so far.
    pub fn lines_written(&self) -> u64 {
        self.line
    }

    /// The simulated time of the next line (ms since the epoch).
    pub fn clock_ms(&self) -> i64 {
        self.ctx.now + self.ctx.shift
    }

    /// Shift simulated time so the next line is stamped `ms` (or later, as
    /// timestamps never go backwards). Relative timing inside attacks and
    /// sessions is unchanged.
    pub fn set_clock(&mut self, ms: i64) {
        self.ctx.shift = ms - self.ctx.now;
    }

    /// Append the next line (without newline) to `out`. Returns `None` once
    /// `lines` lines were produced, else `Some(label)` where the label is set
    /// when the line is part of an attack.
    pub fn next_line(&mut self, out: &mut String) -> Option<Option<Label>> {
        if self.opts.lines != 0 && self.line >= self.opts.lines {
            return None;
        }
        self.line += 1;
        let truth = match &mut self.world {
            World::Access(w) => w.next(&mut self.ctx, out),
            World::Syslog(w) => w.next(&mut self.ctx, out),
            World::App(w) => w.next(&mut self.ctx, out),
            World::Db(w) => w.next(&mut self.ctx, out),
        };
        Some(truth.map(|t| Label {
            line: self.line,
            category: t.category,
            attacker_ip: t.ip,
            user: t.user,
        }))
    }
}
