//! `Store::stats` from the rollups only (never `events`).
//!
//! Resolution: event counts per minute (the range's start is rounded down to
//! its minute); top lists per hour (every hour overlapping the range). When
//! the bucket width is a whole number of hours the hourly rollup rows are used
//! for the whole hours of the range, so a 30-day dashboard reads ~7k rows per
//! table instead of ~430k.

use super::ingest::{DIM_ATTACKER, DIM_IP, DIM_PATH, DIM_REFERRER, HOUR_MS, MINUTE_MS};
use super::{SqlResult, floor_to, severity_of, status_of, status_rank};
use crate::Result;
use crate::model::*;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// Timeline widths to choose from (minutes), then whole days.
const NICE_MINUTES: [i64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
const MAX_POINTS: i64 = 120;

pub(crate) fn bucket_width(since: i64, until: i64, asked: i64) -> i64 {
    let span = (until - since).max(1);
    if asked > 0 {
        // Whole minutes, and never more than ~20k points.
        let w = asked.max(span / 20_000 + 1);
        return (w.saturating_add(MINUTE_MS - 1) / MINUTE_MS * MINUTE_MS).max(MINUTE_MS);
    }
    let min_width = (span + MAX_POINTS - 1) / MAX_POINTS;
    for m in NICE_MINUTES {
        if m * MINUTE_MS >= min_width {
            return m * MINUTE_MS;
        }
    }
    let day = 1440 * MINUTE_MS;
    (min_width + day - 1) / day * day
}

fn sorted(map: BTreeMap<String, i64>) -> Vec<Counted> {
    let mut v: Vec<Counted> = map
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(key, n)| Counted {
            key,
            count: u64::try_from(n).unwrap_or(0),
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

fn class_name(c: i64) -> &'static str {
    match c {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "none",
    }
}

pub(crate) fn stats(conn: &Connection, q: &StatsQuery) -> Result<Stats> {
    // Clamped so that differences of the bounds cannot overflow.
    let since = q.since_ms.clamp(i64::MIN / 4, i64::MAX / 4);
    let until = q.until_ms.clamp(i64::MIN / 4, i64::MAX / 4).max(since);
    let bucket = bucket_width(since, until, q.bucket_ms);
    let top = match q.top {
        0 => 10,
        n => i64::from(n.min(1000)),
    };
    let m0 = floor_to(since, MINUTE_MS);
    // (gran, from, to) ranges of rollup rows covering [m0, until).
    let mut ranges: Vec<(i64, i64, i64)> = Vec::new();
    let h0 = floor_to(m0, HOUR_MS)
        + if m0.rem_euclid(HOUR_MS) == 0 {
            0
        } else {
            HOUR_MS
        };
    let h1 = floor_to(until, HOUR_MS);
    if bucket % HOUR_MS == 0 && h1 > h0 {
        ranges.push((0, m0, h0));
        ranges.push((1, h0, h1));
        ranges.push((0, h1, until));
    } else {
        ranges.push((0, m0, until));
    }

    let start = floor_to(m0, bucket);
    let n_buckets = usize::try_from((until - start + bucket - 1) / bucket)
        .unwrap_or(0)
        .max(1);
    let mut timeline: Vec<TimelinePoint> = (0..n_buckets)
        .map(|i| TimelinePoint {
            t_ms: start + i as i64 * bucket,
            ..Default::default()
        })
        .collect();
    let idx = |t: i64| -> usize {
        usize::try_from((t - start) / bucket)
            .unwrap_or(0)
            .min(n_buckets - 1)
    };

    let (mut events, mut flagged, mut bytes) = (0i64, 0i64, 0i64);
    let mut by_kind: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_class: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_cat: BTreeMap<String, i64> = BTreeMap::new();
    let mut bucket_cats: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); n_buckets];
    {
        let mut st = conn
            .prepare_cached(
                "SELECT t, kind, class, events, flagged, bytes FROM roll WHERE gran = ?1 AND t >= ?2 AND t < ?3",
            )
            .db()?;
        let mut cst = conn
            .prepare_cached(
                "SELECT t, category, count FROM roll_cat WHERE gran = ?1 AND t >= ?2 AND t < ?3",
            )
            .db()?;
        for &(gran, from, to) in &ranges {
            if to <= from {
                continue;
            }
            let mut rows = st.query(params![gran, from, to]).db()?;
            while let Some(r) = rows.next().db()? {
                let t: i64 = r.get(0).db()?;
                let kind: String = r.get(1).db()?;
                let class: i64 = r.get(2).db()?;
                let (e, f, b): (i64, i64, i64) = (r.get(3).db()?, r.get(4).db()?, r.get(5).db()?);
                events += e;
                flagged += f;
                bytes = bytes.saturating_add(b);
                *by_kind.entry(kind).or_default() += e;
                *by_class.entry(class_name(class).to_owned()).or_default() += e;
                let p = &mut timeline[idx(t)];
                p.events += u64::try_from(e).unwrap_or(0);
                p.flagged += u64::try_from(f).unwrap_or(0);
            }
            let mut rows = cst.query(params![gran, from, to]).db()?;
            while let Some(r) = rows.next().db()? {
                let t: i64 = r.get(0).db()?;
                let cat: String = r.get(1).db()?;
                let n: i64 = r.get(2).db()?;
                *by_cat.entry(cat.clone()).or_default() += n;
                *bucket_cats[idx(t)].entry(cat).or_default() += n;
            }
        }
    }
    for (p, cats) in timeline.iter_mut().zip(bucket_cats) {
        p.categories = sorted(cats);
    }

    let top_of = |dim: i64| -> Result<Vec<Counted>> {
        let mut st = conn
            .prepare_cached(
                "SELECT key, sum(count) AS c FROM roll_top WHERE hour >= ?1 AND hour < ?2 AND dim = ?3 \
                 GROUP BY key ORDER BY c DESC, key LIMIT ?4",
            )
            .db()?;
        let rows = st
            .query_map(params![floor_to(since, HOUR_MS), until, dim, top], |r| {
                Ok(Counted {
                    key: r.get(0)?,
                    count: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                })
            })
            .db()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().db()
    };

    let grouped = |sql: &str, p: &[i64], name: &dyn Fn(i64) -> String| -> Result<Vec<Counted>> {
        let mut st = conn.prepare_cached(sql).db()?;
        let rows = st
            .query_map(rusqlite::params_from_iter(p.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .db()?;
        let mut map = BTreeMap::new();
        for row in rows {
            let (k, n) = row.db()?;
            *map.entry(name(k)).or_default() += n;
        }
        Ok(sorted(map))
    };
    let sev_name = |k: i64| severity_of(k).as_str().to_owned();
    let alerts_by_severity = grouped(
        "SELECT severity, count(*) FROM alerts WHERE last_seen_ms >= ?1 AND last_seen_ms < ?2 GROUP BY severity",
        &[since, until],
        &sev_name,
    )?;
    let alerts_by_category = {
        let mut st = conn
            .prepare_cached(
                "SELECT category, count(*) FROM alerts WHERE last_seen_ms >= ?1 AND last_seen_ms < ?2 GROUP BY category",
            )
            .db()?;
        let rows = st
            .query_map(params![since, until], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .db()?;
        let mut map = BTreeMap::new();
        for row in rows {
            let (k, n) = row.db()?;
            *map.entry(k).or_default() += n;
        }
        sorted(map)
    };
    let incidents_by_status = grouped(
        "SELECT status, count(*) FROM incidents GROUP BY status",
        &[],
        &|k| status_of(k).as_str().to_owned(),
    )?;
    let open_incidents_by_severity = grouped(
        "SELECT severity, count(*) FROM incidents WHERE status < ?1 GROUP BY severity",
        &[status_rank(IncidentStatus::Resolved)],
        &sev_name,
    )?;
    // "Current state": blocks in force now (wall clock).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let active_blocks: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM blocks WHERE lifted_ms IS NULL AND (expires_ms IS NULL OR expires_ms > ?1)",
        )
        .db()?
        .query_row([now], |r| r.get(0))
        .db()?;

    Ok(Stats {
        since_ms: since,
        until_ms: until,
        bucket_ms: bucket,
        events: u64::try_from(events).unwrap_or(0),
        flagged_events: u64::try_from(flagged).unwrap_or(0),
        bytes: u64::try_from(bytes).unwrap_or(0),
        by_kind: sorted(by_kind),
        by_status_class: sorted(by_class),
        by_category: sorted(by_cat),
        timeline,
        top_ips: top_of(DIM_IP)?,
        top_paths: top_of(DIM_PATH)?,
        top_referrers: top_of(DIM_REFERRER)?,
        top_attackers: top_of(DIM_ATTACKER)?,
        alerts_by_severity,
        alerts_by_category,
        incidents_by_status,
        open_incidents_by_severity,
        active_blocks: u64::try_from(active_blocks).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_width_gives_at_most_120_points_and_at_least_a_minute() {
        for span in [
            1,
            59_000,
            3_600_000,
            86_400_000,
            7 * 86_400_000,
            400 * 86_400_000i64,
        ] {
            let w = bucket_width(0, span, 0);
            assert!(w >= MINUTE_MS, "span {span}: {w}");
            assert!(
                span / w <= MAX_POINTS,
                "span {span}: {w} gives {} points",
                span / w
            );
        }
        assert_eq!(bucket_width(0, 3_600_000, 0), MINUTE_MS);
        assert_eq!(bucket_width(0, 86_400_000, 0), 15 * MINUTE_MS);
        assert_eq!(bucket_width(0, 3_600_000, 90_000), 2 * MINUTE_MS);
        assert_eq!(bucket_width(0, 3_600_000, 60_000), MINUTE_MS);
        assert_eq!(bucket_width(0, 3_600_000, 1), MINUTE_MS);
    }
}
