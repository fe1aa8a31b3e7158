//! End-to-end properties of the generator: determinism, label truth, line
//! shapes, category coverage, and benign traffic under the thresholds of
//! helper-notes/thresholds.md (attacks over them).

use regex::Regex;
use secmo_event::{Category, civil_to_unix, month_from_abbrev, parse_rfc3339};
use secmo_generate::{GenOptions, Generator, LABELS_HEADER, Label, OutputFormat};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

fn generate(
    format: OutputFormat,
    seed: u64,
    lines: u64,
    attacks: bool,
) -> (Vec<String>, Vec<Label>) {
    let mut g = Generator::new(GenOptions {
        seed,
        lines,
        attacks,
        ..GenOptions::new(format)
    });
    let mut out = Vec::with_capacity(lines as usize);
    let mut labels = Vec::new();
    let mut line = String::new();
    while let Some(label) = g.next_line(&mut line) {
        out.push(std::mem::take(&mut line));
        if let Some(l) = label {
            labels.push(l);
        }
    }
    (out, labels)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for &format in OutputFormat::ALL {
        let (a, la) = generate(format, 7, 5_000, true);
        let (b, lb) = generate(format, 7, 5_000, true);
        let (c, _) = generate(format, 8, 5_000, true);
        assert_eq!(a.len(), 5_000, "{format}");
        assert!(a == b && la == lb, "{format}: same seed differs");
        assert_ne!(a, c, "{format}: seeds 7 and 8 gave the same lines");
    }
}

#[test]
fn labels_point_at_lines_with_the_attacker() {
    for &format in OutputFormat::ALL {
        let (lines, labels) = generate(format, 3, 100_000, true);
        assert!(!labels.is_empty(), "{format}: no attacks");
        let mut seen = BTreeSet::new();
        for l in &labels {
            assert!(
                l.line >= 1 && l.line <= lines.len() as u64,
                "{format}: {l:?}"
            );
            assert!(
                seen.insert(l.line),
                "{format}: line {} labelled twice",
                l.line
            );
            let text = &lines[(l.line - 1) as usize];
            if l.attacker_ip == "-" {
                assert_eq!(l.category, Category::TrafficSpike);
            } else {
                assert!(
                    text.contains(&l.attacker_ip),
                    "{format}: {l:?} not in {text}"
                );
            }
            if let (Some(u), OutputFormat::Json | OutputFormat::Csv) = (&l.user, format) {
                assert!(
                    text.contains(u.as_str()) || text.contains(&u.replace('\'', "''")),
                    "{format}: user {u} not in {text}"
                );
            }
        }
        // Attack lines are a small minority, as configured (flash crowds aside).
        let attack = labels
            .iter()
            .filter(|l| l.category != Category::TrafficSpike)
            .count();
        let share = attack as f64 / lines.len() as f64;
        assert!(
            (0.01..0.06).contains(&share),
            "{format}: attack share {share}"
        );
    }
}

#[test]
fn every_category_of_each_format_appears_in_100k_lines() {
    for &format in OutputFormat::ALL {
        let (_, labels) = generate(format, 1, 100_000, true);
        let seen: HashSet<Category> = labels.iter().map(|l| l.category).collect();
        for c in format.categories() {
            assert!(seen.contains(c), "{format}: no {c} in 100k lines");
        }
        assert!(
            seen.iter().all(|c| format.categories().contains(c)),
            "{format}: {seen:?}"
        );
    }
}

#[test]
fn lines_look_like_their_format() {
    let shapes: &[(OutputFormat, &str)] = &[
        (
            OutputFormat::Access,
            r#"^[0-9a-f.:]+ - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "[A-Z]+ /[!-~]* HTTP/[0-9.]+" \d{3} \d+ "[ -~]*" "[ -~]*"$"#,
        ),
        (
            OutputFormat::Syslog,
            r"^[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d web1 (sshd|sudo|su|CRON|systemd-logind)(\[\d+\])?: .",
        ),
        (
            OutputFormat::Json,
            r#"^\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","ip_address":"[0-9a-f.:]+","username":"[^"]+","action":"(LOGIN_SUCCESS|LOGIN_FAILURE|LOGOUT|PAGE_VISIT|API_REQUEST)",.*\}$"#,
        ),
        (
            OutputFormat::Mysql,
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \d+ \[(Note|Warning|System|ERROR)\] \[MY-\d{6}\] \[(Server|InnoDB)\] \S",
        ),
        (
            OutputFormat::Postgres,
            r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\]: \[\d+-1\] user=[^,]*,db=[^,]*,app=[^,]*,client=[0-9a-f.:]* (LOG|ERROR|FATAL|DETAIL):  \S",
        ),
        (
            OutputFormat::Csv,
            r#"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,[0-9a-f.:]+,[^,]+,(LOGIN_SUCCESS|LOGIN_FAILURE|LOGOUT|PAGE_VISIT|API_REQUEST|HTTP_REQUEST),(GET|POST|PUT),("([^"]|"")*"|[^,"]*),\d{3},\d+,("([^"]|"")*"|[^,"]*)$"#,
        ),
    ];
    for (format, shape) in shapes {
        let re = Regex::new(shape).expect("test regex");
        let (lines, _) = generate(*format, 5, 30_000, true);
        let body = if *format == OutputFormat::Csv {
            assert_eq!(
                lines[0],
                "timestamp,ip,user,action,method,path,status,bytes,user_agent"
            );
            &lines[1..]
        } else {
            &lines[..]
        };
        for l in body {
            assert!(re.is_match(l), "{format}: {l}");
            assert!(!l.contains('\n') && !l.contains('\r'), "{format}: {l:?}");
        }
        if *format == OutputFormat::Json {
            for l in body.iter().take(2_000) {
                let v: serde_json::Value = serde_json::from_str(l).expect("valid JSON");
                assert!(
                    v.get("timestamp")
                        .and_then(|t| t.as_str())
                        .and_then(parse_rfc3339)
                        .is_some(),
                    "{l}"
                );
            }
        }
    }
}

#[test]
fn timestamps_never_go_backwards_and_set_clock_moves_them() {
    let mut g = Generator::new(GenOptions {
        lines: 0,
        ..GenOptions::new(OutputFormat::Json)
    });
    let mut line = String::new();
    let mut last = 0;
    for i in 0..3_000 {
        if i == 1_500 {
            g.set_clock(1_800_000_000_000);
        }
        line.clear();
        assert!(
            g.next_line(&mut line).is_some(),
            "unlimited generator stopped"
        );
        let ts = line
            .get(14..)
            .and_then(parse_rfc3339)
            .map(|(ms, _)| ms)
            .expect("timestamp");
        assert!(ts >= last, "{line}");
        if i == 1_500 {
            assert!(ts >= 1_800_000_000_000, "{line}");
        }
        last = ts;
    }
    assert_eq!(g.lines_written(), 3_000);
}

#[test]
fn labels_tsv() {
    let l = Label {
        line: 12,
        category: Category::BruteForce,
        attacker_ip: "203.0.113.7".into(),
        user: None,
    };
    assert_eq!(l.to_tsv(), "12\tbrute_force\t203.0.113.7\t-");
    let l = Label {
        user: Some("a\tb".into()),
        ..l
    };
    assert_eq!(l.to_tsv(), "12\tbrute_force\t203.0.113.7\ta_b");
    let mut buf = Vec::new();
    secmo_generate::write_labels(&mut buf, &[l]).expect("write");
    assert_eq!(
        String::from_utf8(buf).ok().as_deref(),
        Some("line\tcategory\tattacker_ip\tuser\n12\tbrute_force\t203.0.113.7\ta_b\n")
    );
    assert_eq!(LABELS_HEADER.split('\t').count(), 4);
}

/// A parsed access-log line: (ms, ip, method, path, status, bytes).
type AccessFields<'a> = (i64, &'a str, &'a str, &'a str, u16, u64);

fn access_fields(line: &str) -> AccessFields<'_> {
    let ip = line.split(' ').next().unwrap_or("");
    let t0 = line.find('[').expect("[") + 1;
    let t = &line[t0..t0 + 20];
    let n = |a: usize, b: usize| t[a..b].parse::<u32>().expect("digits");
    let ms = civil_to_unix(
        i64::from(n(7, 11)),
        month_from_abbrev(&t.as_bytes()[3..6]).expect("month"),
        n(0, 2),
        n(12, 14),
        n(15, 17),
        n(18, 20),
        0,
        0,
    )
    .expect("time");
    let q0 = line.find('"').expect("quote") + 1;
    let q1 = q0 + line[q0..].find('"').expect("quote");
    let mut req = line[q0..q1].split(' ');
    let method = req.next().unwrap_or("");
    let target = req.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let mut rest = line[q1 + 2..].split(' ');
    let status = rest.next().and_then(|s| s.parse().ok()).expect("status");
    let bytes = rest.next().and_then(|s| s.parse().ok()).expect("bytes");
    (ms, ip, method, path, status, bytes)
}

/// Largest number of `times` (sorted) inside any window of `window` ms.
fn max_in_window(times: &[i64], window: i64) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= window {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

fn is_login_path(p: &str) -> bool {
    [
        "login",
        "signin",
        "sign-in",
        "wp-login.php",
        "xmlrpc.php",
        "/auth",
        "/session",
        "/user/login",
        "/admin",
    ]
    .iter()
    .any(|k| p.contains(k))
}

#[test]
fn benign_access_traffic_stays_under_every_threshold() {
    let (lines, labels) = generate(OutputFormat::Access, 9, 100_000, false);
    assert!(labels.is_empty());
    let mut all: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut nf: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    let mut login_fail: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut too_many: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut errors: HashMap<(&str, u16), Vec<i64>> = HashMap::new();
    let mut bytes: HashMap<&str, Vec<(i64, u64)>> = HashMap::new();
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    for l in &lines {
        let (ms, ip, method, path, status, size) = access_fields(l);
        all.entry(ip).or_default().push(ms);
        *per_minute.entry(ms / 60_000).or_default() += 1;
        if status == 404 {
            nf.entry(ip).or_default().push((ms, path));
        }
        if method == "POST" && is_login_path(path) && (status == 401 || status == 403) {
            login_fail.entry(ip).or_default().push(ms);
        }
        if status == 429 {
            too_many.entry(ip).or_default().push(ms);
        }
        if status >= 400 {
            errors.entry((ip, status)).or_default().push(ms);
        }
        bytes.entry(ip).or_default().push((ms, size));
        assert!(
            !l.contains("${") && !l.contains("<script") && !l.contains("../"),
            "{l}"
        );
    }
    for (ip, t) in &all {
        assert!(max_in_window(t, 1_000) <= 8, "{ip}: burst");
        assert!(
            max_in_window(t, 60_000) <= 180,
            "{ip}: over 3 requests/s for a minute"
        );
    }
    for (ip, v) in &nf {
        for (i, &(t, _)) in v.iter().enumerate() {
            let distinct: HashSet<&str> = v[i..]
                .iter()
                .take_while(|(u, _)| u - t < 300_000)
                .map(|(_, p)| *p)
                .collect();
            assert!(
                distinct.len() <= 5,
                "{ip}: {} distinct 404s in 5 min",
                distinct.len()
            );
        }
    }
    for (ip, t) in &login_fail {
        assert!(max_in_window(t, 300_000) <= 2, "{ip}: login failures");
    }
    for (ip, t) in &too_many {
        assert!(max_in_window(t, 300_000) <= 3, "{ip}: 429s");
    }
    for (key, t) in &errors {
        assert!(max_in_window(t, 60_000) <= 15, "{key:?}: error burst");
    }
    for (ip, v) in &bytes {
        let mut lo = 0;
        let mut sum = 0u64;
        for hi in 0..v.len() {
            sum += v[hi].1;
            while v[hi].0 - v[lo].0 >= 600_000 {
                sum -= v[lo].1;
                lo += 1;
            }
            assert!(sum < 50_000_000, "{ip}: {sum} bytes in 10 min");
        }
    }
    // Smooth totals: every full minute at most 2x the mean of up to 30 before it.
    let counts: Vec<u64> = per_minute.values().copied().collect();
    assert!(
        counts.len() > 60,
        "100k lines should span over an hour, got {} minutes",
        counts.len()
    );
    for i in 1..counts.len() - 1 {
        let from = i.saturating_sub(30);
        let mean = counts[from..i].iter().sum::<u64>() as f64 / (i - from) as f64;
        assert!(
            (counts[i] as f64) <= 2.0 * mean,
            "minute {i}: {} vs mean {mean}",
            counts[i]
        );
    }
    // The mix is realistic: mostly 2xx/3xx, some crawlers, many clients.
    assert!(all.len() > 1_000, "{} clients", all.len());
    assert!(
        lines.iter().any(|l| l.contains("Googlebot"))
            && lines.iter().any(|l| l.contains("bingbot"))
    );
    assert!(
        lines.iter().any(|l| l.contains("q=select+running+shoes"))
            && lines.iter().any(|l| l.contains("%3C3"))
    );
}

#[test]
fn access_attacks_exceed_their_thresholds() {
    let (lines, labels) = generate(OutputFormat::Access, 2, 100_000, true);
    let mut by_ip: HashMap<(&str, Category), Vec<usize>> = HashMap::new();
    for l in &labels {
        if l.attacker_ip != "-" {
            by_ip
                .entry((l.attacker_ip.as_str(), l.category))
                .or_default()
                .push((l.line - 1) as usize);
        }
    }
    let mut checked = HashSet::new();
    for ((ip, cat), idx) in &by_ip {
        let f: Vec<_> = idx.iter().map(|&i| access_fields(&lines[i])).collect();
        let times = |keep: &dyn Fn(&AccessFields) -> bool| -> Vec<i64> {
            f.iter().filter(|x| keep(x)).map(|x| x.0).collect()
        };
        match cat {
            Category::Flood => assert!(max_in_window(&times(&|_| true), 1_000) > 20, "{ip} flood"),
            Category::BruteForce => {
                let t = times(&|x| x.2 == "POST" && (x.4 == 401 || x.4 == 403));
                assert!(max_in_window(&t, 300_000) > 10, "{ip} brute force");
            }
            Category::Scraping => assert!(
                max_in_window(&times(&|x| x.4 == 429), 300_000) > 20,
                "{ip} scraping"
            ),
            Category::ErrorBurst => assert!(
                max_in_window(&times(&|x| x.4 >= 400), 60_000) > 60,
                "{ip} error burst"
            ),
            Category::Exfiltration => {
                let total: u64 = f.iter().map(|x| x.5).sum();
                let span = f.last().map_or(0, |x| x.0) - f.first().map_or(0, |x| x.0);
                assert!(
                    total > 1_000_000_000 && span < 600_000,
                    "{ip} exfiltration {total} in {span} ms"
                );
            }
            _ => {}
        }
        checked.insert(*cat);
    }
    // A 404 scanner: over 40 distinct missing paths within 5 minutes from one address.
    let wide_404 = by_ip
        .iter()
        .filter(|((_, c), _)| *c == Category::Scanner)
        .any(|(_, idx)| {
            let f: Vec<_> = idx
                .iter()
                .map(|&i| access_fields(&lines[i]))
                .filter(|x| x.4 == 404)
                .collect();
            (0..f.len()).any(|i| {
                let distinct: HashSet<&str> = f[i..]
                    .iter()
                    .take_while(|x| x.0 - f[i].0 < 300_000)
                    .map(|x| x.3)
                    .collect();
                distinct.len() > 40
            })
        });
    assert!(wide_404, "no 404 scanner over 40 distinct paths");
    for c in [
        Category::Flood,
        Category::BruteForce,
        Category::Scraping,
        Category::ErrorBurst,
        Category::Exfiltration,
    ] {
        assert!(checked.contains(&c), "no {c} campaign");
    }
    // The flash crowd: one minute over 5x (here about 8x) the mean of the 30 before it.
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    for l in &lines {
        *per_minute.entry(access_fields(l).0 / 60_000).or_default() += 1;
    }
    let counts: Vec<u64> = per_minute.values().copied().collect();
    let spike = (30..counts.len()).any(|i| {
        let mean = counts[i - 30..i].iter().sum::<u64>() as f64 / 30.0;
        counts[i] as f64 > 6.0 * mean && counts[i] > 600
    });
    assert!(spike, "no traffic spike in {counts:?}");
}

#[test]
fn benign_auth_app_and_db_logs_stay_under_thresholds() {
    // sshd: at most 2 failures per address per 5 minutes.
    let (lines, labels) = generate(OutputFormat::Syslog, 4, 50_000, false);
    assert!(labels.is_empty());
    let fail = Regex::new(r"(Failed password|Invalid user).* from ([0-9a-f.:]+) port").expect("re");
    let mut by_ip: HashMap<String, Vec<i64>> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(c) = fail.captures(l) {
            by_ip.entry(c[2].to_string()).or_default().push(i as i64);
        }
    }
    // Line order is time order; use the text time for windows.
    let syslog_ms = |l: &str| -> i64 {
        let b = l.as_bytes();
        let day: i64 = l[4..6].trim().parse().expect("day");
        let h: i64 = l[7..9].parse().expect("h");
        let m: i64 = l[10..12].parse().expect("m");
        let s: i64 = l[13..15].parse().expect("s");
        let month = i64::from(month_from_abbrev(&b[0..3]).expect("month"));
        ((month * 31 + day) * 86_400 + h * 3600 + m * 60 + s) * 1000
    };
    for (ip, idx) in &by_ip {
        let t: Vec<i64> = idx.iter().map(|&i| syslog_ms(&lines[i as usize])).collect();
        assert!(
            max_in_window(&t, 300_000) <= 2,
            "{ip}: {} ssh failures",
            t.len()
        );
    }

    // App log: failures, API rate, page/API pairs, and sessions over a minute.
    let (lines, labels) = generate(OutputFormat::Json, 4, 50_000, false);
    assert!(labels.is_empty());
    let mut fails: HashMap<String, Vec<i64>> = HashMap::new();
    let mut apis: HashMap<String, Vec<i64>> = HashMap::new();
    let mut login_at: HashMap<String, i64> = HashMap::new();
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let ms = parse_rfc3339(&s("timestamp")).expect("time").0;
        let ip = s("ip_address");
        let user = s("username");
        match s("action").as_str() {
            "LOGIN_FAILURE" => fails.entry(ip).or_default().push(ms),
            "API_REQUEST" => {
                apis.entry(ip).or_default().push(ms);
                assert!(
                    v.get("request_bytes").and_then(|b| b.as_u64()).unwrap_or(0) <= 1_000_000,
                    "{l}"
                );
            }
            "LOGIN_SUCCESS" => {
                login_at.insert(user, ms);
            }
            "LOGOUT" => {
                let at = login_at.get(&user).copied().unwrap_or(i64::MIN / 2);
                assert!(
                    ms - at >= 60_000,
                    "{user} logged out {} ms after login",
                    ms - at
                );
            }
            _ => {}
        }
    }
    for (ip, t) in &fails {
        assert!(max_in_window(t, 300_000) <= 2, "{ip}: login failures");
    }
    for (ip, t) in &apis {
        assert!(max_in_window(t, 120_000) <= 5, "{ip}: API flood");
        assert!(
            max_in_window(t, 600_000) <= 4,
            "{ip}: API requests that could pair with visits"
        );
    }

    // Databases: at most 2 failed logins per client per 5 minutes.
    let fail = Regex::new(r"^(\S+ ?\S*).*(Access denied for user '[^']*'@'([0-9a-f.:]+)'|client=([0-9a-f.:]+) FATAL:  password authentication failed)").expect("re");
    for format in [OutputFormat::Mysql, OutputFormat::Postgres] {
        let (lines, labels) = generate(format, 4, 30_000, false);
        assert!(labels.is_empty());
        let mut by_ip: HashMap<String, Vec<i64>> = HashMap::new();
        for l in &lines {
            if let Some(c) = fail.captures(l) {
                let ip = c.get(3).or(c.get(4)).map_or("", |m| m.as_str()).to_string();
                let ms = parse_rfc3339(l).expect("time").0;
                by_ip.entry(ip).or_default().push(ms);
            }
        }
        for (ip, t) in &by_ip {
            assert!(max_in_window(t, 300_000) <= 2, "{format} {ip}: failures");
        }
    }
}

#[test]
fn auth_and_app_attacks_exceed_their_thresholds() {
    let (lines, labels) = generate(OutputFormat::Syslog, 6, 100_000, true);
    let mut fails: HashMap<&str, usize> = HashMap::new();
    for l in &labels {
        let text = &lines[(l.line - 1) as usize];
        if text.contains("Failed password") {
            *fails.entry(l.attacker_ip.as_str()).or_default() += 1;
        }
    }
    assert!(fails.len() >= 5, "{} ssh campaigns", fails.len());
    assert!(fails.values().all(|&n| n >= 15), "{fails:?}");

    let (lines, labels) = generate(OutputFormat::Json, 6, 100_000, true);
    // Uploads: over 200 MB of request bodies from one address within 10 minutes.
    let mut uploads: HashMap<&str, (u64, i64, i64)> = HashMap::new();
    for l in labels
        .iter()
        .filter(|l| l.category == Category::Exfiltration)
    {
        let v: serde_json::Value =
            serde_json::from_str(&lines[(l.line - 1) as usize]).expect("json");
        let ms = v
            .get("timestamp")
            .and_then(|t| t.as_str())
            .and_then(parse_rfc3339)
            .map_or(0, |t| t.0);
        let e = uploads.entry(l.attacker_ip.as_str()).or_insert((0, ms, ms));
        e.0 += v.get("request_bytes").and_then(|b| b.as_u64()).unwrap_or(0);
        e.2 = ms;
    }
    assert!(!uploads.is_empty());
    for (ip, (bytes, first, last)) in &uploads {
        assert!(
            *bytes > 200_000_000 && last - first < 600_000,
            "{ip}: {bytes} bytes in {} ms",
            last - first
        );
    }
    let mut per: HashMap<(Category, &str), usize> = HashMap::new();
    for l in &labels {
        *per.entry((l.category, l.attacker_ip.as_str())).or_default() += 1;
    }
    for ((cat, ip), n) in &per {
        let min = match cat {
            Category::BruteForce => 8,
            Category::Flood => 22,
            Category::BotPattern => 20,
            _ => 1,
        };
        assert!(*n >= min, "{cat} from {ip}: {n} lines");
    }
}
