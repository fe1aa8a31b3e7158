//! Throughput of `Analytics::observe`, the per-line cost of traffic analytics.
//! Events mimic an access log: a few hundred IPs and pages that repeat, the
//! odd scanner with unique paths, referrers and user agents from a small set.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secmo_detect::analytics::Analytics;
use secmo_detect::{Event, EventKind};
use std::borrow::Cow;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

const T0: i64 = 1_709_251_200_000;

fn events(n: usize) -> Vec<Event<'static>> {
    let uas = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "curl/8.5.0",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
    ];
    let refs = [
        "-",
        "https://www.google.com/",
        "https://Example.org/blog/post?id=3",
        "-",
    ];
    let statuses = [200, 200, 200, 304, 404, 200, 301, 500];
    (0..n)
        .map(|i| {
            let path = if i % 50 == 0 {
                format!("/scan/{i}.php")
            } else {
                format!("/page/{}", (i * 31) % 400)
            };
            Event {
                timestamp_ms: Some(T0 + (i as i64) * 40),
                kind: EventKind::Http,
                source_ip: Some(IpAddr::V4(Ipv4Addr::from(
                    0x0a00_0000 + ((i * 17) % 700) as u32,
                ))),
                method: Cow::Borrowed("GET"),
                path: Cow::Owned(path),
                status: statuses[i % statuses.len()],
                bytes: 512 + (i as u64 % 4096),
                referrer: Cow::Borrowed(refs[i % refs.len()]),
                user_agent: Cow::Borrowed(uas[(i / 3) % uas.len()]),
                ..Event::default()
            }
        })
        .collect()
}

fn observe(c: &mut Criterion) {
    let evs = events(100_000);
    let mut g = c.benchmark_group("analytics");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function("observe_100k_http", |b| {
        b.iter(|| {
            let mut a = Analytics::default();
            for ev in &evs {
                a.observe(black_box(ev));
            }
            black_box(a)
        })
    });
    g.bench_function("observe_merge_finish_2x50k", |b| {
        b.iter(|| {
            let (x, y) = evs.split_at(evs.len() / 2);
            let mut a = Analytics::default();
            let mut other = Analytics::default();
            x.iter().for_each(|ev| a.observe(ev));
            y.iter().for_each(|ev| other.observe(ev));
            a.merge(other);
            black_box(a.finish())
        })
    });
    g.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);
